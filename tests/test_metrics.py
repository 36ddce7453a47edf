import json

import numpy as np
import pytest

from kgen.data.mnist import load_mnist
from kgen.metrics import class_coverage, classifier, frechet_distance, kid, precision_recall
from kgen.metrics.distances import statistics


def test_frechet_distance_closed_forms():
    # 1-d: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(4.0 + 1.0)
    # diagonal: sum over dimensions of the same
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 4.0, 1.0])
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(np.diag(s1)) - np.sqrt(np.diag(s2))) ** 2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want)
    # a rotated covariance: the distance is rotation-invariant
    rot = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    assert frechet_distance(rot @ mu1, rot @ s1 @ rot.T, rot @ mu2, rot @ s2 @ rot.T) == pytest.approx(want)


def test_identical_sets_score_perfectly():
    x = np.random.default_rng(1).normal(size=(600, 8))
    assert frechet_distance(*statistics(x), *statistics(x)) == pytest.approx(0.0, abs=1e-8)
    assert precision_recall(x, x) == (1.0, 1.0)
    # KID is unbiased: two independent draws of one distribution score 0 within noise
    y = np.random.default_rng(7).normal(size=(600, 8))
    k, se = kid(x, y, subsets=10, subset_size=300)
    assert abs(k) < 3 * se + 1e-3


def test_kid_sees_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(500, 8)), rng.normal(size=(500, 8)) + 1.0
    same, _ = kid(a, rng.normal(size=(500, 8)), subsets=20, subset_size=200)
    shifted, se = kid(a, b, subsets=20, subset_size=200)
    assert shifted > 10 * max(abs(same), se)


@pytest.fixture(scope="module")
def sample_digits():
    arrays, _ = load_mnist("mnist_sample")
    return arrays["x_test"][..., None] / 255.0, arrays["y_test"]


def test_shipped_classifier_classifies_the_bundled_sample(sample_digits):
    x, y = sample_digits
    probs, feats = classifier.predict(classifier.load(), x)
    assert (probs.argmax(1) == y).mean() >= 0.98
    assert feats.shape == (1000, 128)


def test_one_class_has_low_coverage_and_recall(sample_digits):
    x, y = sample_digits
    model = classifier.load()
    probs_all, feats_all = classifier.predict(model, x)
    ones = x[y == 1]
    probs_one, feats_one = classifier.predict(model, ones)
    full, collapsed = class_coverage(probs_all), class_coverage(probs_one)
    assert full["coverage"] > 0.95 and full["classes_seen"] == 10
    assert collapsed["coverage"] < 0.2 and collapsed["top_class_share"] > 0.9
    precision, recall = precision_recall(feats_all, feats_one)
    assert precision > 0.8 and recall < 0.3  # real-looking ones, but most digits never produced


def test_evaluate_end_to_end_on_a_tiny_exported_model(tmp_path, monkeypatch, capsys):
    from kgen import evaluate, train

    from helpers.recipes import tiny

    result = train.run(tiny("vae", tmp_path, **{"train.epochs": "1", "train.steps_per_epoch": "2"}))
    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path / "cache"))
    capsys.readouterr()
    # evaluate.main is what `python -m kgen.evaluate` calls (the results table's test runs that)
    assert evaluate.main([str(result.run_dir), "--num_samples=300", "--reference=mnist_sample"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads(out[out.index("{"):])
    assert metrics["num_samples"] == 300 and metrics["reference_images"] == 1000
    assert metrics["fid"] > 0 and 0 <= metrics["precision"] <= 1 and 0 <= metrics["coverage"] <= 1
    saved = json.loads((result.run_dir / "metrics.json").read_text())
    assert saved["fid"] == pytest.approx(metrics["fid"]) and "neg_elbo_cross_entropy_nats" in saved  # merged
    assert list((tmp_path / "cache" / "cache").glob("mnist_sample_test_features_*.npz"))


def test_evaluate_rejects_a_bad_path(tmp_path, capsys):
    from kgen import evaluate

    assert evaluate.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: neither a SavedModel (no saved_model.pb) nor a run directory (no config.json)" in err


def test_periodic_kid_reaches_tensorboard(tmp_path):
    from kgen import train

    from helpers.recipes import tiny
    from helpers.files import event_tags

    result = train.run(tiny("vae", tmp_path, **{"train.kid_every": "1", "train.steps_per_epoch": "2"}),
                       export_model=False)
    tags = event_tags(result.run_dir / "train")
    assert tags["eval/kid"] == [1, 2] and tags["eval/kid_std"] == [1, 2]


def test_kid_deviation_is_a_spread_even_when_the_sets_are_no_larger_than_a_subset():
    # 1,000 samples against 1,000 references with the default subset of 1,000: subsets of the whole
    # set would all be identical (deviation 0, as the evaluator once reported); half-size subsets differ
    rng = np.random.default_rng(3)
    k, std = kid(rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)) + 0.1, subsets=10)
    assert std > 1e-4 * abs(k) and std > 0


def test_feature_networks_stay_float32_under_a_mixed_policy():
    """A training run in the same process sets mixed_bfloat16; the classifier (and so every FID
    and the reference cache) must still compute in float32, and the policy comes back."""
    import keras

    from kgen.metrics import classifier

    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        probs, feats = classifier.predict(classifier.load(), np.zeros((2, 28, 28, 1), np.float32))
        assert feats.dtype == np.float32 and probs.dtype == np.float32
        assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_non_finite_samples_are_scored_black_and_counted():
    """A young flow's overflowing samples (NaN) crashed FID; they now count against the model."""
    import numpy as np

    from kgen.evaluate import finite

    images = np.random.default_rng(0).uniform(size=(5, 4, 4, 1)).astype(np.float32)
    images[1, 0, 0, 0], images[3, 2, 1, 0] = np.nan, np.inf
    fixed, bad = finite(images)
    assert bad == 2 and np.isfinite(fixed).all() and fixed.dtype == np.float32
    assert fixed[1, 0, 0, 0] == 0 and fixed[3, 2, 1, 0] == 0
    keep = np.isfinite(images)
    np.testing.assert_array_equal(fixed[keep], images[keep])
    assert finite(fixed)[1] == 0 and finite(fixed)[0] is fixed
