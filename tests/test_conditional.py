"""Class-conditional models on tiny shapes: the label changes the samples, classifier-free
guidance is the formula, the trainer's contract holds (mirrored step, run, export), and the CAS and
augmentation pipeline runs end to end on a tiny generator and a tiny classifier."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgen import augment, runs, train
from kgen.data.mnist import load_mnist
from kgen.errors import ConfigError

from helpers.processes import plain_tf_each
from helpers.recipes import tiny
from helpers.steps import mirrored_matches_single

SHAPES = {"cgan": (28, 28, 1), "cvae": (28, 28, 1), "cddpm": (8, 8, 1)}


def model_of(tmp_path, family, **overrides):
    return runs.build_model(tiny(family, tmp_path, **overrides), SHAPES[family])


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_the_label_changes_the_sample_and_the_seed_fixes_it(tmp_path, family):
    model = model_of(tmp_path, family)
    zeros = model.sample_class(tf.constant([0, 0, 0]), 7).numpy()
    again = model.sample_class(tf.constant([0, 0, 0]), 7).numpy()
    threes = model.sample_class(tf.constant([3, 3, 3]), 7).numpy()
    assert zeros.shape == (3, *SHAPES[family]) and 0 <= zeros.min() and zeros.max() <= 1
    np.testing.assert_array_equal(zeros, again)
    # same noise, other class: an untrained network's label weights are random, so any effect
    # of the label shows; 1e-4 is far above float32 round-off of [0, 1] images
    assert np.abs(zeros - threes).max() > 1e-4


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_generate_without_labels_gives_one_row_per_class(tmp_path, family):
    model = model_of(tmp_path, family)
    assert model.grid_labels(100).numpy().tolist() == [k for k in range(10) for _ in range(10)]
    z = model.prior_noise(20, 3)
    by_rows = model.generate(z).numpy()
    explicit = model.sample_class(tf.constant(np.repeat(np.arange(10), 2).astype(np.int32)), 3).numpy()
    np.testing.assert_allclose(by_rows, explicit, atol=1e-6)


def test_uniform_labels_cover_the_classes(tmp_path):
    model = model_of(tmp_path, "cgan")
    labels = model.uniform_labels(10_000, 1).numpy()
    counts = np.bincount(labels, minlength=10)
    # each count is Binomial(10,000, 0.1): mean 1,000, deviation 30; 5 deviations either side
    assert labels.min() == 0 and labels.max() == 9 and np.all(np.abs(counts - 1000) < 150), counts


def test_guidance_is_the_classifier_free_formula(tmp_path):
    model = model_of(tmp_path, "cddpm")
    x = tf.random.stateless_normal((4, 8, 8, 1), seed=(1, 1))
    t = tf.constant([3, 10, 25, 49])
    y = tf.constant([0, 1, 2, 9])
    cond = model.eps(x, t, labels=y).numpy()
    uncond = model.eps(x, t).numpy()  # no labels: the null label
    assert np.abs(cond - uncond).max() > 1e-4  # the label embedding reaches the output
    # w = 0 is the conditional prediction alone; the guided pass batches both halves together,
    # which may regroup float32 sums in the convolutions: round-off of order 1e-6 of the values
    scale = np.abs(cond).max()
    np.testing.assert_allclose(model.guided_eps(x, t, y, 0.0).numpy(), cond, atol=1e-5 * scale)
    for w in (0.5, 2.0):
        np.testing.assert_allclose(model.guided_eps(x, t, y, w).numpy(), (1 + w) * cond - w * uncond,
                                   atol=1e-5 * (1 + 2 * w) * scale)


def test_label_dropout_rate(tmp_path):
    model = model_of(tmp_path, "cddpm", **{"model.p_uncond": "0.3"})
    y = tf.zeros(4000, tf.int32)
    dropped = model.dropped(y, training=True)
    share = float(np.mean(dropped.numpy() == 10))
    # Binomial(4,000, 0.3) / 4,000: deviation 0.0072; 5 deviations either side
    assert abs(share - 0.3) < 0.036
    kept = model.dropped(y, training=False)
    assert np.all(kept.numpy() == 0)  # evaluation keeps the labels


@pytest.mark.parametrize("family,overrides", [("cgan", {}), ("cgan", {"model.aux_weight": "1"}), ("cddpm", {})])
def test_mirrored_step_equals_single_device(tmp_path, family, overrides, mirrored):
    shape = SHAPES[family]
    x = tf.random.stateless_uniform((16, *shape), seed=(4, 2), minval=-1.0, maxval=1.0)
    y = tf.constant(np.arange(16) % 10, tf.int32)
    mirrored_matches_single(tiny(family, tmp_path, **overrides), shape, (x, y), mirrored)


def test_the_auxiliary_classifier_adds_its_cross_entropy_on_real_and_asked_for_classes(tmp_path):
    """AC-GAN's terms: D's loss gains w * CE(D's classes of the real digits, their labels), G's
    gains w * CE(D's classes of the fakes, the labels they were asked for); w = 0 builds no head."""
    plain = model_of(tmp_path, "cgan")
    assert len(plain.discriminator.outputs) == 1
    model = model_of(tmp_path, "cgan", **{"model.aux_weight": "0.5"})
    real = tf.random.stateless_uniform((8, 28, 28, 1), seed=(1, 3), minval=-1.0, maxval=1.0)
    fake = tf.random.stateless_uniform((8, 28, 28, 1), seed=(2, 3), minval=-1.0, maxval=1.0)
    y = tf.constant([0, 1, 2, 3, 4, 5, 6, 9])
    (real_logits, real_classes), (fake_logits, fake_classes) = (model.D_and_classes((v, y), True) for v in (real, fake))

    def ce(logits):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits).numpy()

    from kgen import losses

    d, _, _ = model.d_loss((real, y), (fake, y))
    want = losses.discriminator_loss(real_logits, fake_logits).numpy() + 0.5 * ce(real_classes)
    np.testing.assert_allclose(d.numpy(), want, rtol=1e-5)
    g = model.g_loss((fake, y))
    np.testing.assert_allclose(g.numpy(), losses.generator_loss(fake_logits).numpy() + 0.5 * ce(fake_classes), rtol=1e-5)
    assert {"class_acc_real", "class_acc_fake"} <= set(model.trackers)


def test_validation_scores_the_auxiliary_classifier_once_on_the_batch_and_its_fakes(tmp_path):
    """test_step's class accuracies are over this batch's real digits and one fake per digit (no
    second fake batch), and its d_loss carries the auxiliary term as training's does."""
    from kgen import losses

    model = model_of(tmp_path, "cgan", **{"model.aux_weight": "0.5"})
    real = tf.random.stateless_uniform((8, 28, 28, 1), seed=(5, 3), minval=-1.0, maxval=1.0)
    y = tf.constant([0, 1, 2, 3, 4, 5, 6, 9])
    start = model.eval_noise.state.numpy()
    out = model.test_step((real, y))
    model.eval_noise.state.assign(start)  # the same fakes again
    fake = model.G(model.latent_like((real, y), model.eval_noise), False)
    (real_logits, real_classes), (fake_logits, _) = (model.D_and_classes(v, False) for v in ((real, y), fake))
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=real_classes)
    want = np.mean(losses.discriminator_loss(real_logits, fake_logits).numpy() + 0.5 * ce.numpy())
    np.testing.assert_allclose(float(out["d_loss"]), want, rtol=1e-5)  # float32 sums of 8 terms
    accuracy = np.mean(np.argmax(real_classes.numpy(), -1) == y.numpy())
    np.testing.assert_allclose(float(out["class_acc_real"]), accuracy, atol=1e-6)  # a mean of 8 exact 0/1
    assert [float(model.trackers[k].count) for k in ("class_acc_real", "class_acc_fake", "d_loss")] == [8.0] * 3


def test_unlabelled_data_is_refused_with_the_fix(tmp_path, monkeypatch):
    from kgen.data import bundle as bundle_lib

    real_load = bundle_lib.load

    def unlabelled(cfg, seed=0):
        b = real_load(cfg, seed)
        b.train_labels = np.full(len(b.train_labels), -1, np.int32)
        return b

    monkeypatch.setattr(train.data_lib, "load", unlabelled)
    with pytest.raises(ConfigError, match="class-conditional with 10 classes.*-1: unlabelled"):
        train.run(tiny("cgan", tmp_path), export_model=False)


def test_runs_export_sample_class_for_plain_tensorflow(tmp_path):
    """All three families, their SavedModels checked in one plain-TensorFlow interpreter."""
    checks = []
    for family in ("cgan", "cvae", "cddpm"):
        recipe = tiny(family, tmp_path / family, **{"train.epochs": "1", "train.steps_per_epoch": "2"})
        result = train.run(recipe)
        assert (result.run_dir / "class_grid.png").stat().st_size > 100, family
        extra = ", guidance=tf.constant(2.0)" if family == "cddpm" else ""
        checks.append((result.export_dir, (
            f"a = m.sample_class(labels=tf.constant([0, 1, 2]), seed=tf.constant(4){extra}).numpy()\n"
            f"b = m.sample_class(labels=tf.constant([0, 1, 2]), seed=tf.constant(4){extra}).numpy()\n"
            f"c = m.sample_class(labels=tf.constant([5, 5, 5]), seed=tf.constant(4){extra}).numpy()\n"
            "s = m.sample(num_samples=tf.constant(5), seed=tf.constant(1)).numpy()\n"
            "out = [list(a.shape), bool(np.array_equal(a, b)), float(np.abs(a - c).max()), list(s.shape),"
            " float(a.min()), float(a.max())]"
        )))
    for family, found in zip(("cgan", "cvae", "cddpm"), plain_tf_each(checks)):
        shape, same, diff, shape_s, lo, hi, imported = found
        assert shape == [3, *SHAPES[family]] and same and diff > 1e-4 and shape_s == [5, *SHAPES[family]], family
        assert 0 <= lo and hi <= 1 and not imported, family


def tiny_classifier():
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, [keras.layers.Dense(10)(features), features])


def test_cas_and_augmentation_pipeline_end_to_end():
    arrays, _ = load_mnist("mnist_sample")
    x, y = arrays["x_train"][..., None] / 255.0, arrays["y_train"].astype(np.int32)
    test = (arrays["x_test"][..., None] / 255.0, arrays["y_test"].astype(np.int32))
    by_class = [x[y == k] for k in range(10)]

    def faithful(labels, seed):  # a "generator" that returns real digits of the class asked for
        rng = np.random.default_rng(seed)
        return np.stack([by_class[k][rng.integers(len(by_class[k]))] for k in labels])

    def label_blind(labels, seed):  # one that ignores the label
        return x[np.random.default_rng(seed).integers(len(x), size=len(labels))]

    good = augment.classification_accuracy_score(faithful, test, 2000, 150, build_fn=tiny_classifier)
    blind = augment.classification_accuracy_score(label_blind, test, 2000, 150, build_fn=tiny_classifier)
    # a dense net trained 150 steps on right labels reaches well above 0.6 on MNIST; with labels
    # independent of the images it can only learn the label prior: chance, 0.1, within noise
    assert good > 0.6 and blind < 0.25, (good, blind)

    # small data: the same 100 real digits in every arm and seed (the generator's own subset)
    per_seed = augment.augmentation_gain(faithful, (x[:100], y[:100]), test, [200], [0, 1], 60,
                                         build_fn=tiny_classifier)
    assert set(per_seed) == {"real", "real+200"} and all(len(v) == 2 for v in per_seed.values())
    summary = augment.summarise(per_seed)
    assert 0 <= summary["augment/real_accuracy"] <= 1 and summary["augment/seeds"] == 2
    gains = np.array(per_seed["real+200"]) - np.array(per_seed["real"])
    assert summary["augment/200_gain"] == pytest.approx(gains.mean())
    lo, hi = summary["augment/200_gain_interval"]
    assert lo <= gains.mean() <= hi


def test_augmentation_verdicts_need_an_interval_above_zero():
    base = [0.80, 0.81, 0.79, 0.80, 0.82]
    steady = {"real": base, "real+1000": [b + 0.02 + 0.001 * i for i, b in enumerate(base)]}
    assert augment.summarise(steady)["augment/1000_verdict"] == "helped"
    worse = {"real": base, "real+1000": [b - 0.03 + 0.002 * i for i, b in enumerate(base)]}
    assert augment.summarise(worse)["augment/1000_verdict"] == "hurt"
    # three seeds that share a sign by chance (the old rule's "helped") are not a verdict
    lucky = {"real": base[:3], "real+1000": [0.801, 0.86, 0.792]}
    assert augment.summarise(lucky)["augment/1000_verdict"] == "inconclusive"


def test_the_experiment_follows_what_the_generator_saw(tmp_path):
    from kgen import runs as runs_lib
    from kgen.recipes import mnist_cgan

    small = tmp_path / "small"
    small.mkdir()
    runs_lib.write_config(small, runs_lib.resolve(mnist_cgan.RECIPE, {"data.limit": "1000"})[0])
    assert augment.experiment(small, None, 60_000) == ("small data", 1000)
    with pytest.raises(ConfigError, match="first 1,000 digits.*leave --real empty"):
        augment.experiment(small, 500, 60_000)
    full = tmp_path / "full"
    full.mkdir()
    runs_lib.write_config(full, mnist_cgan.RECIPE)
    assert augment.experiment(full, None, 60_000) == ("distilling the full set", 1000)


def test_added_data_leaves_the_real_digits_exposure_unchanged():
    """With generated digits added, every step still holds a full batch of real digits, in the
    same order as the real-only arm's: the arms differ only by what is added."""
    from kgen.metrics import classifier

    x, y = np.zeros((300, 28, 28, 1), np.float32), np.arange(300)  # labels name the real digits
    xg, yg = np.ones((50, 28, 28, 1), np.float32), np.full(50, -1)
    alone = [b[1].numpy() for b in classifier.training_batches(x, y, 7, seed=3, batch_size=32)]
    mixed = [b[1].numpy() for b in classifier.training_batches(x, y, 7, seed=3, batch_size=32, extra=(xg, yg))]
    assert len(alone) == len(mixed) == 7
    for a, m in zip(alone, mixed):
        np.testing.assert_array_equal(m[: len(a)], a)  # the real part, unchanged
        assert (m[len(a):] == -1).sum() == 32  # plus one batch of the added ones
    # over the 7 steps (224 real draws of 300, reshuffled each pass) no real digit is repeated
    # before every other has been seen once
    assert len(set(np.concatenate(alone)[:300])) == len(np.concatenate(alone)[:300])


def test_augment_refuses_an_unconditional_model(tmp_path):
    from helpers.recipes import tiny

    result = train.run(tiny("gan", tmp_path, **{"train.epochs": "1", "train.steps_per_epoch": "1"}))
    with pytest.raises(ConfigError, match="no sample_class endpoint.*mnist_cgan"):
        augment.saved_model_sampler(result.export_dir, None)


def test_the_label_code_starts_as_loud_as_what_it_joins(tmp_path):
    """The cause of issue 25's label-blind CDDPM: Keras' Embedding starts uniform in +-0.05 (RMS
    0.03), ten times quieter than the time embedding it is added to; 1,560 quick steps then left
    the label at 44% agreement. N(0, 1) codes start at the time embedding's scale."""
    import keras

    model = model_of(tmp_path, "cddpm")
    net = model.network
    codes = next(v for v in net.weights if "label_embedding" in v.path).numpy()
    temb = keras.Model(net.inputs, net.get_layer("time_mlp2").output)
    t = tf.cast(tf.linspace(0.0, 49.0, 64), tf.int32)
    time_rms = float(tf.sqrt(tf.reduce_mean(tf.square(temb([tf.zeros((64, 8, 8, 1)), t, tf.zeros(64, tf.int32)])))))
    # 11 x 32 draws of N(0, 1): their RMS is within 0.1 of 1 (standard error 1/sqrt(2 * 352) = 0.04)
    assert abs(np.sqrt(np.mean(codes**2)) - 1.0) < 0.12
    assert np.sqrt(np.mean(codes**2)) > 0.5 * time_rms  # Keras' default gave 0.03 against 0.25


def test_a_trained_model_draws_the_class_it_is_asked_for(tmp_path):
    """At fixed noise, changing only the label changes what the project's classifier sees: a tiny
    CVAE trained 256 steps on 2,048 digits (20 s), 20 noise vectors x 10 labels."""
    from kgen.metrics import classifier

    recipe = tiny("cvae", tmp_path, **{
        "data.limit": "2048", "train.epochs": "4", "model.latent_dim": "8", "model.eval_images": "0",
        "model.encoder.filters": "16,16", "model.decoder.filters": "16,16", "optimizer.learning_rate": "3e-3"})
    model = train.run(recipe, export_model=False).model
    labels = np.tile(np.arange(10, dtype=np.int32), 20)
    z = np.repeat(model.prior_noise(20, 3).numpy(), 10, axis=0)  # each noise vector with every label
    probs, _ = classifier.predict(classifier.load(), model.generate(tf.constant(z), tf.constant(labels)).numpy())
    predicted = probs.argmax(1)
    distinct = np.mean([len(set(predicted[i * 10 : (i + 1) * 10])) for i in range(20)])
    # measured 0.60 and 6.4; a label-blind model gives chance, 0.1 (standard error 0.02 over 200
    # samples), and one class per noise vector
    assert (predicted == labels).mean() > 0.4 and distinct > 4, ((predicted == labels).mean(), distinct)


def test_guidance_works_with_dpm_solver(tmp_path):
    """Classifier-free guidance is a property of the noise prediction, not of the sampler: with
    DPM-Solver++(2M) as the model's sampler, `sample_class` is seeded, follows the label, and at
    w = 0 equals a solve with the conditional prediction alone."""
    model = model_of(tmp_path, "cddpm", **{"model.sampler": "dpm++2m", "model.eta": "0", "model.sample_steps": "4"})
    labels = tf.constant([0, 3, 7])
    a = model.sample_class(labels, 5, 0.0).numpy()
    np.testing.assert_array_equal(a, model.sample_class(labels, 5, 0.0).numpy())
    assert np.abs(a - model.sample_class(tf.constant([1, 1, 1]), 5, 0.0).numpy()).max() > 1e-4
    z = model.prior_noise(3, 5)
    conditional = model.ddim.sample(lambda x, t: model.eps(x, t, labels=labels), z, tf.constant(5), tf.constant(4))
    # the guided pass batches the conditional and null halves together: round-off of order 1e-6
    np.testing.assert_allclose(a, model._to_unit(conditional).numpy(), atol=1e-4)
    assert np.abs(model.sample_class(labels, 5, 2.0).numpy() - a).max() > 1e-4  # w changes the solve
