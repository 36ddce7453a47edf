import gzip

import numpy as np
import pytest

from kgen import data
from kgen.config import Data
from kgen.data import mnist
from kgen.errors import DataError


def fake_mnist(n_train=64, n_test=16, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def write_idx(path, array, gz):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def test_bundled_sample_is_real_mnist():
    arrays, origin = mnist.load_mnist("mnist_sample")
    assert arrays["x_train"].shape == (5000, 28, 28) and arrays["x_test"].shape == (1000, 28, 28)
    assert arrays["x_train"].dtype == np.uint8
    assert set(np.unique(arrays["y_train"])) == set(range(10))
    # real digits: mostly black background, a bright stroke in the middle
    assert arrays["x_train"][:, 0, :].mean() < 1 and arrays["x_train"][:, 10:18, 10:18].mean() > 60


def test_npz_path(tmp_path):
    arrays = fake_mnist()
    np.savez(tmp_path / "m.npz", **arrays)
    got, origin = mnist.load_mnist("mnist", str(tmp_path / "m.npz"))
    assert np.array_equal(got["x_train"], arrays["x_train"]) and origin.endswith("m.npz")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    arrays = fake_mnist()
    for key, stems in mnist.IDX_NAMES.items():
        write_idx(tmp_path / (stems[0] + (".gz" if gz else "")), arrays[key], gz)
    got, _ = mnist.load_mnist("mnist", str(tmp_path))
    for key in arrays:
        assert np.array_equal(got[key], arrays[key])


def test_kgen_data_dir_is_searched(tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", **fake_mnist())
    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path))
    _, origin = mnist.load_mnist("mnist")
    assert origin == str(tmp_path / "mnist.npz")


def test_missing_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path / "empty"))

    def offline():
        raise ConnectionError("no network")

    monkeypatch.setattr(mnist, "_load_tfds", offline)
    with pytest.raises(DataError) as e:
        mnist.load_mnist("mnist")
    msg = str(e.value)
    assert str(tmp_path / "empty" / "mnist.npz") in msg
    assert "tensorflow-datasets" in msg and "no network" in msg
    assert "--data.path" in msg and "--data.name=mnist_sample" in msg


def test_explicit_missing_path_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path))
    np.savez(tmp_path / "mnist.npz", **fake_mnist())  # would be found if we fell back
    with pytest.raises(DataError, match="nope.npz: no such file"):
        mnist.load_mnist("mnist", str(tmp_path / "nope.npz"))


def test_corrupt_npz_names_the_file(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(DataError, match="broken.npz: cannot be read"):
        mnist.load_mnist("mnist", str(bad))


def test_wrong_shape_names_the_file(tmp_path):
    arrays = fake_mnist()
    arrays["x_train"] = arrays["x_train"][:, :20]
    np.savez(tmp_path / "odd.npz", **arrays)
    with pytest.raises(DataError, match=r"odd.npz: x_train has shape \(64, 20, 28\)"):
        mnist.load_mnist("mnist", str(tmp_path / "odd.npz"))


def test_missing_key_and_truncated_idx(tmp_path):
    arrays = fake_mnist()
    del arrays["y_test"]
    np.savez(tmp_path / "k.npz", **arrays)
    with pytest.raises(DataError, match="k.npz: missing arrays \\['y_test'\\]"):
        mnist.load_mnist("mnist", str(tmp_path / "k.npz"))
    arrays = fake_mnist()
    for key, stems in mnist.IDX_NAMES.items():
        write_idx(tmp_path / stems[0], arrays[key], False)
    p = tmp_path / mnist.IDX_NAMES["x_test"][0]
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: header says"):
        mnist.load_mnist("mnist", str(tmp_path))


def _batches(bundle, cfg, first, epochs, steps, batch=8):
    ds = data.train_dataset(bundle, cfg, batch, seed=3, first_epoch=first, epochs=epochs, steps=steps)
    return [y.numpy() for _, y in ds]


def test_epoch_order_is_keyed_on_seed_and_epoch():
    cfg = Data(name="mnist_sample", limit=64)
    bundle = data.load(cfg)
    bundle.train_labels = np.arange(64, dtype=np.int32)  # labels = indices, to read the order
    full = _batches(bundle, cfg, 0, 3, 8)
    assert len(full) == 24 and all(b.shape == (8,) for b in full)
    for e in range(3):  # each epoch is a permutation of the whole set
        assert sorted(np.concatenate(full[8 * e : 8 * e + 8])) == list(range(64))
    assert not np.array_equal(np.concatenate(full[:8]), np.concatenate(full[8:16]))
    # a run resumed at epoch 1 sees exactly the batches of the uninterrupted run
    resumed = _batches(bundle, cfg, 1, 3, 8)
    assert all(np.array_equal(a, b) for a, b in zip(resumed, full[8:]))


def test_scaling_and_rgb_adaptation():
    cfg = Data(name="mnist_sample", limit=32, image_size=16, channels=3, scale="symmetric")
    bundle = data.load(cfg)
    assert bundle.train_images.shape == (32, 16, 16, 3) and bundle.test_images.shape == (1000, 16, 16, 3)
    x, _ = next(iter(data.train_dataset(bundle, cfg, 8, 0, 0, 1, 4)))
    assert x.dtype.name == "float32" and x.shape == (8, 16, 16, 3)
    assert float(x.numpy().min()) == -1.0 and float(x.numpy().max()) <= 1.0
    assert np.array_equal(x.numpy()[..., 0], x.numpy()[..., 2])  # grey tiled to RGB
