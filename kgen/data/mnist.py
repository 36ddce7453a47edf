"""MNIST from an .npz, a folder of IDX files, the $KGEN_DATA_DIR cache, TFDS, or the bundled sample.

Search order for `--data.name=mnist` (never a silent substitute): `--data.path`, then
`$KGEN_DATA_DIR` (default `~/.kgen/datasets`), then tensorflow-datasets `mnist`.
"""

from __future__ import annotations

import gzip
import os
from importlib import resources
from pathlib import Path

import numpy as np

from kgen.errors import ConfigError, DataError


KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
FIX = (
    "To fix: pass --data.path=/path/to/mnist.npz (keys x_train, y_train, x_test, y_test) or a folder "
    "of the four IDX files, or copy mnist.npz into $KGEN_DATA_DIR (default ~/.kgen/datasets), or "
    "run online once so tensorflow-datasets can download 'mnist'; or use the bundled 5,000-digit "
    "sample with --data.name=mnist_sample."
)


def data_dir() -> Path:
    return Path(os.environ.get("KGEN_DATA_DIR", "~/.kgen/datasets")).expanduser()


def bundled_sample_path() -> Path:
    return Path(str(resources.files("kgen.data") / "bundled" / "mnist_sample.npz"))


def load_mnist(name: str, path: str = "") -> tuple[dict[str, np.ndarray], str]:
    """Returns ({x_train, y_train, x_test, y_test}, where it came from)."""
    if name == "mnist_sample":
        return read_npz(bundled_sample_path()), "bundled MNIST sample (5,000 train / 1,000 test)"
    if name != "mnist":
        raise ConfigError(f"load_mnist got data.name={name!r}; expected mnist or mnist_sample")
    if path:  # an explicit path that fails is an error, not a reason to look elsewhere
        p = Path(path).expanduser()
        if not p.exists():
            raise DataError(f"--data.path={path}: no such file or folder. {FIX}")
        return read_path(p), str(p)
    tried = []
    cache = data_dir()
    for candidate in (cache / "mnist.npz", cache / "mnist"):
        if candidate.exists():
            return read_path(candidate), str(candidate)
        tried.append(f"{candidate} (not found)")
    try:
        return _load_tfds(), "tensorflow-datasets 'mnist'"
    except Exception as e:  # noqa: BLE001 - any TFDS failure (offline, not installed) is reported
        tried.append(f"tensorflow-datasets 'mnist' ({type(e).__name__}: {str(e).splitlines()[0][:200]})")
    raise DataError("Full MNIST was not found. Looked in:\n  " + "\n  ".join(tried) + "\n" + FIX)


def read_path(p: Path) -> dict[str, np.ndarray]:
    return read_idx_folder(p) if p.is_dir() else read_npz(p)


def read_npz(p: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(p, allow_pickle=False) as f:
            missing = [k for k in KEYS if k not in f.files]
            if missing:
                raise DataError(
                    f"{p}: missing arrays {missing}; an MNIST .npz needs {', '.join(KEYS)} "
                    f"(it has {', '.join(f.files) or 'none'})"
                )
            arrays = {k: f[k] for k in KEYS}
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - zip/pickle/format errors all mean a corrupt file
        raise DataError(f"{p}: cannot be read as an .npz file ({type(e).__name__}: {e})") from e
    return check_arrays(arrays, str(p))


def check_arrays(arrays: dict[str, np.ndarray], origin: str) -> dict[str, np.ndarray]:
    """Validates shapes and dtypes: images [N, 28, 28] (or [N, 28, 28, 1]) uint8, labels [N]."""
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{origin}: x_{split} has shape {x.shape}; MNIST images are [N, 28, 28]")
        if y.shape != (x.shape[0],):
            raise DataError(
                f"{origin}: y_{split} has shape {y.shape}; expected one label per image ({x.shape[0]},)"
            )
        if x.dtype != np.uint8:
            if np.issubdtype(x.dtype, np.floating) and x.max() <= 1.0:
                raise DataError(
                    f"{origin}: x_{split} is {x.dtype} in [0, 1]; kgen expects raw uint8 pixels 0-255"
                )
            x = x.astype(np.uint8)
        out[f"x_{split}"], out[f"y_{split}"] = x, y.astype(np.int32)
    return out


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stems in IDX_NAMES.items():
        candidates = [folder / (s + ext) for s in stems for ext in ("", ".gz")]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise DataError(
                f"{folder}: no {stems[0]}[.gz] in this folder; an IDX folder needs the four MNIST "
                f"files ({', '.join(s[0] for s in IDX_NAMES.values())}), gzipped or not"
            )
        arrays[key] = read_idx(found)
    return check_arrays(arrays, str(folder))


def read_idx(p: Path) -> np.ndarray:
    """Reads one IDX file (ubyte data only, as MNIST uses), gzipped or not."""
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError) as e:
        raise DataError(f"{p}: cannot be read ({e})") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{p}: not an unsigned-byte IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{p}: header says {dims} ({expected} bytes) but the file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _load_tfds() -> dict[str, np.ndarray]:
    import tensorflow_datasets as tfds

    def arrays(ds):
        # batched reads rather than batch_size=-1, which tfds' mock data aborts on
        parts = list(tfds.as_numpy(ds.batch(10_000)))
        return np.concatenate([p["image"] for p in parts]), np.concatenate([p["label"] for p in parts])

    train, test = tfds.load("mnist", split=["train", "test"])
    (x_train, y_train), (x_test, y_test) = arrays(train), arrays(test)
    images = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return check_arrays(images, "tensorflow-datasets 'mnist'")
