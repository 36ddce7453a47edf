"""Face images: a folder of jpg/png files (e.g. CelebA's img_align_celeba/) or TFDS `celeb_a`.

Images are centre-cropped to a square (`--data.crop`, default the largest one), resized to the
recipe's size, and decoded once, in parallel inside tf.data, into memory. Unreadable files are
skipped, counted and named; the set is topped up from the remaining files so that `--data.limit`
images are used whenever the folder has them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgen.config import Data
from kgen.errors import DataError

EXTENSIONS = {".jpg", ".jpeg", ".png"}
CELEBA_HELP = (
    "To train on CelebA, download img_align_celeba.zip (202,599 aligned faces) from the CelebA "
    "page (mmlab.ie.cuhk.edu.hk/projects/CelebA.html), unzip it and pass "
    "--data.path=/path/to/img_align_celeba; or use --data.name=celeb_a for tensorflow-datasets "
    "(with --data.path=DIR as its manual_dir if the download fails). --quick runs on the bundled "
    "MNIST sample instead."
)
MAX_TEST = 500


def list_images(folder: Path) -> tuple[list[Path], int]:
    """(image files sorted by path, number of other files), recursively."""
    images, others = [], 0
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            if p.suffix.lower() in EXTENSIONS:
                images.append(p)
            else:
                others += 1
    return images, others


def crop_and_resize(image, size: int, crop: int):
    """Centre square crop (`crop` pixels, or the largest square when 0), then an antialiased resize."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(h, w) if crop == 0 else tf.minimum(tf.minimum(h, w), crop)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top : top + side, left : left + side]
    image = tf.image.resize(tf.cast(image, tf.float32), (size, size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def decode_files(files: list[Path], cfg: Data) -> tuple[np.ndarray, list[Path]]:
    """Decodes `files` in parallel; returns (images [N, S, S, C] uint8, the files that failed)."""
    if not files:
        return np.zeros((0, cfg.image_size, cfg.image_size, cfg.channels), np.uint8), []

    def decode(i, path):
        raw = tf.io.read_file(path)
        image = tf.io.decode_image(raw, channels=cfg.channels, expand_animations=False)
        return i, crop_and_resize(image, cfg.image_size, cfg.crop)

    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(files)), [str(f) for f in files]))
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.ignore_errors().batch(256).prefetch(2)
    indices, images = [], []
    for i, x in ds:
        indices.append(i.numpy())
        images.append(x.numpy())
    got = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    bad = sorted(set(range(len(files))) - set(got.tolist()))
    out = np.concatenate(images) if images else np.zeros((0, cfg.image_size, cfg.image_size, cfg.channels), np.uint8)
    return out, [files[i] for i in bad]


def shuffled_images(folder: Path, seed: int, option: str) -> list[Path]:
    files, others = list_images(folder)
    if not files:
        raise DataError(
            f"{option}={folder}: no .jpg/.jpeg/.png images found (recursively; {others} other files). " + CELEBA_HELP
        )
    order = np.random.default_rng(seed).permutation(len(files))
    return [files[i] for i in order]


def load_folder(cfg: Data, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(train images, test images, origin) from a folder, uint8 at the recipe's size."""
    if not cfg.path:
        raise DataError("this recipe reads a folder of face images and no --data.path was given. " + CELEBA_HELP)
    folder = Path(cfg.path).expanduser()
    if not folder.is_dir():
        raise DataError(f"--data.path={cfg.path}: not a folder. " + CELEBA_HELP)
    files = shuffled_images(folder, seed, "--data.path")
    if cfg.test_path:
        test_folder = Path(cfg.test_path).expanduser()
        if not test_folder.is_dir():
            raise DataError(f"--data.test_path={cfg.test_path}: not a folder (a folder of held-out images, or "
                            "leave it empty to hold out images of --data.path)")
        test_files, pool = shuffled_images(test_folder, seed, "--data.test_path")[:MAX_TEST], files
    else:
        n_test = min(MAX_TEST, len(files) // 10)
        test_files, pool = files[:n_test], files[n_test:]
    want = min(cfg.limit, len(pool)) if cfg.limit else len(pool)
    kept, bad, start = [], [], 0
    began = time.time()
    print(f"kgen: decoding {want:,} + {len(test_files):,} held-out images from {folder} "
          f"({cfg.image_size}x{cfg.image_size}x{cfg.channels})", flush=True)
    while sum(len(k) for k in kept) < want and start < len(pool):
        need = want - sum(len(k) for k in kept)
        images, failed = decode_files(pool[start : start + need], cfg)
        kept.append(images)
        bad += failed
        start += need
    test_images, test_failed = decode_files(test_files, cfg)
    bad += test_failed
    train_images = np.concatenate(kept)
    if len(train_images) == 0:
        raise DataError(f"{folder}: none of the {len(bad)} image files could be decoded, e.g. {bad[0]}")
    if len(test_images) == 0:  # a tiny folder: validate on training images rather than on nothing
        test_images = train_images[: min(len(train_images), MAX_TEST)]
    print(f"kgen: decoded {len(train_images) + len(test_images):,} images in {time.time() - began:.1f} s", flush=True)
    origin = f"{len(train_images)} images from {folder}"
    if cfg.test_path:
        origin += f", {len(test_images)} held out from {cfg.test_path}"
    if bad:
        named = ", ".join(str(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        print(f"kgen: skipped {len(bad)} unreadable image file(s): {named}")
        origin += f" ({len(bad)} unreadable skipped)"
    return train_images, test_images, origin


def load_celeb_a(cfg: Data) -> tuple[np.ndarray, np.ndarray, str]:
    """(train images, test images, origin) from tensorflow-datasets `celeb_a`."""
    try:
        import tensorflow_datasets as tfds

        kwargs = {}
        if cfg.path:
            kwargs["download_and_prepare_kwargs"] = {
                "download_config": tfds.download.DownloadConfig(manual_dir=str(Path(cfg.path).expanduser()))
            }
        train_split = f"train[:{cfg.limit}]" if cfg.limit else "train"
        train, test = tfds.load("celeb_a", split=[train_split, f"test[:{MAX_TEST}]"], **kwargs)
    except Exception as e:  # noqa: BLE001 - offline, missing manual files, quota: all reported
        raise DataError(
            f"tensorflow-datasets 'celeb_a' could not be loaded ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:300] if str(e) else ''}). " + CELEBA_HELP
        ) from e

    def arrays(ds):
        ds = ds.map(lambda ex: crop_and_resize(ex["image"], cfg.image_size, cfg.crop),
                    num_parallel_calls=tf.data.AUTOTUNE).batch(256)
        return np.concatenate([x.numpy() for x in ds])

    x_train, x_test = arrays(train), arrays(test)
    if cfg.limit:  # the split slice already limits; this holds for readers that ignore slices too
        x_train = x_train[: cfg.limit]
    return x_train, x_test, f"tensorflow-datasets 'celeb_a' ({len(x_train)} images)"
