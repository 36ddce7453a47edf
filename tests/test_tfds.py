"""The tensorflow-datasets paths, offline through tfds.testing.mock_data: a dependency TFDS needs
at load time that the package does not install fails here, not on a user's machine."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from kgen import data  # noqa: E402
from kgen.config import Data  # noqa: E402


def test_mnist_through_tfds(tmp_path, monkeypatch):
    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path))  # nothing local: TFDS is the source
    with tfds.testing.mock_data(num_examples=40):
        bundle = data.load(Data(name="mnist"))
    assert bundle.origin == "tensorflow-datasets 'mnist'"
    assert bundle.train_images.shape == (40, 28, 28, 1) and bundle.train_images.dtype == np.uint8
    assert bundle.test_images.shape == (40, 28, 28, 1)
    assert set(np.unique(bundle.train_labels)) <= set(range(10))


def test_celeb_a_through_tfds_is_cropped_and_resized():
    with tfds.testing.mock_data(num_examples=12):
        bundle = data.load(Data(name="celeb_a", image_size=32, channels=3, limit=10))
    assert bundle.train_images.shape == (10, 32, 32, 3) and bundle.train_images.dtype == np.uint8
    assert 1 <= len(bundle.test_images) <= 12
    assert (bundle.train_labels == -1).all()  # unlabelled for the generators
    assert bundle.train_images.std() > 0  # decoded pixels, not a blank placeholder
