"""The face metric (MTCNN, weights from the mtcnn wheel: nothing downloaded) on images the tests
make; no photograph of a face enters a test."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kgen import evaluate, train
from kgen.errors import ConfigError
from kgen.metrics import faces

from helpers.recipes import tiny
from helpers.files import make_folder


@pytest.fixture(scope="module")
def metric():
    return faces.FaceMetric()


def test_features_are_the_output_network_layer_its_heads_read(metric):
    rng = np.random.default_rng(0)
    images = rng.random((6, 40, 40, 3)).astype(np.float32)
    feats = metric.features(images, batch=4)
    assert feats.shape == (6, 256) and np.isfinite(feats).all()
    # batch-independent (inference): float32 round-off of a small net, relative to the scale
    np.testing.assert_allclose(metric.features(images, batch=6), feats, atol=1e-5 * np.abs(feats).max())
    # the face/non-face head of ONet applied to these features gives what ONet itself outputs
    onet = metric.detector.get_stage(stage_id=3)._model
    x = tf.image.resize(images, (faces.SIZE, faces.SIZE), antialias=True) * 255.0
    _, _, face_prob = onet((x - 127.5) / 128.0)
    np.testing.assert_allclose(onet.fc6_3(tf.constant(feats, tf.float32)).numpy(), face_prob.numpy(), atol=1e-5)


def test_detection_counts_images_with_a_face_and_their_best_probability(metric, monkeypatch):
    noise = np.random.default_rng(1).random((5, 64, 64, 3)).astype(np.float32)
    assert metric.detection(noise) == {"face_detection_rate": 0.0, "mean_face_probability": 0.0}
    # the aggregation, with the cascade's answers given: the best face per image, 0 for none
    answers = [[{"confidence": 0.9}, {"confidence": 0.99}], [], [{"confidence": 0.8}], [], []]
    monkeypatch.setattr(metric.detector, "detect_faces", lambda batch: answers[: len(batch)])
    out = metric.detection(noise)
    assert out["face_detection_rate"] == pytest.approx(2 / 5)
    assert out["mean_face_probability"] == pytest.approx((0.99 + 0.8) / 5)


def test_evaluate_scores_a_face_shaped_run_against_a_reference_folder(tmp_path, capsys):
    folder = make_folder(tmp_path / "faces")
    recipe = tiny("gan", tmp_path, **{"data.name": "image_folder", "data.path": str(folder),
                                          "data.channels": "3", "train.epochs": "1", "train.steps_per_epoch": "1",
                                          "train.batch_size": "8"})
    result = train.run(recipe)
    capsys.readouterr()
    assert evaluate.main([str(result.run_dir), "--num-samples=16", f"--reference={folder}"]) == 0
    out = capsys.readouterr().out
    m = json.loads(out[out.index("{"):])
    assert m["reference_images"] == 24 and m["num_samples"] == 16 and m["pr_points"] == 16  # equal sets
    assert m["features"] == faces.FEATURES and m["fid"] > 0
    assert 0 <= m["face_detection_rate"] <= 1 and 0 <= m["mean_face_probability"] <= m["face_detection_rate"]
    # options that do not fit a face model are refused with the fix
    with pytest.raises(ConfigError, match="not digits"):
        evaluate.evaluate(str(result.run_dir), 8, reference="mnist")
    with pytest.raises(ConfigError, match="--weights is InceptionV3's"):
        evaluate.evaluate(str(result.run_dir), 8, reference=str(folder), weights="w.h5", features="face")
