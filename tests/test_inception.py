"""Inception-v3 features for the face recipes' FID, on randomly initialised weights saved to a
temporary file (nothing is downloaded)."""

import keras
import numpy as np
import pytest

from kgen import evaluate
from kgen.errors import ConfigError
from kgen.metrics import inception


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("inception") / "random.weights.h5"
    keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                   input_shape=(inception.SIZE, inception.SIZE, 3)).save_weights(str(path))
    return str(path)


@pytest.fixture(scope="module")
def model(weights_file):
    return inception.build(weights_file)


def test_features_of_any_size_and_channels(model):
    rng = np.random.default_rng(0)
    images = rng.random((3, 40, 40, 3))
    rgb = inception.features(model, images, batch=2)
    grey = rng.random((2, 28, 28, 1))
    assert rgb.shape == (3, 2048) and inception.features(model, grey).shape == (2, 2048)
    assert np.isfinite(rgb).all()
    # a grey image is the colour image with three equal channels
    np.testing.assert_array_equal(inception.features(model, grey), inception.features(model, np.repeat(grey, 3, -1)))
    # inference mode: an image's features do not depend on the batch it came in (BatchNorm uses
    # its moving statistics); float32 round-off of a deep net, relative to the features' scale
    whole = inception.features(model, images, batch=3)
    assert np.abs(whole - rgb).max() <= 1e-4 * np.abs(whole).max()


def test_fid_zero_against_itself_and_positive_against_other_images(model, weights_file):
    rng = np.random.default_rng(1)
    faces = rng.random((8, 32, 32, 3)).astype(np.float32) * 0.5
    feats = inception.features(model, faces)
    same = evaluate.distances_of(feats, feats, 0)
    other = evaluate.evaluate_inception(np.clip(faces + 0.5, 0, 1), faces, "test", weights_file, model=model)
    # identical feature sets: the mean term is 0 and Tr(S + S - 2 (S S)^(1/2)) is 0 but for the
    # square roots of the round-off eigenvalues (about eps * trace) of the 2041 null directions of a
    # rank-7 2048-d covariance: at most 2048 * sqrt(eps * trace)
    bound = 2048 * np.sqrt(np.finfo(np.float64).eps * np.trace(np.cov(feats, rowvar=False)))
    assert abs(same["fid"]) <= bound
    assert other["fid"] > 100 * bound
    assert other["num_samples"] == 8 and other["reference_images"] == 8
    assert weights_file in other["features"]


def test_missing_weights_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="no such file.*save_weights"):
        inception.build(str(tmp_path / "absent.weights.h5"))
