"""The tf.data input pipeline: an epoch-indexed shuffle so that a resumed run sees the same order.

Images travel as uint8 until the last moment and are scaled per batch (one vectorised op), so the
pipeline stays far ahead of the model; prefetch overlaps it with the training step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from kgen.config import ConfigError, Data


@dataclass
class DataBundle:
    """uint8 images [N, H, W, C] at the recipe's size, int32 labels (-1 when unlabelled)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    origin: str

    @property
    def num_train(self) -> int:
        return len(self.train_images)


def load(cfg: Data, seed: int = 0) -> DataBundle:
    """Reads the recipe's data into memory once (the seeds' sets fit: 10,000 faces at 128x128x3
    are 0.5 GB), so every epoch is a fresh full shuffle served by batched gathers."""
    if cfg.name in ("mnist", "mnist_sample"):
        from kgen.data.mnist import load_mnist

        arrays, origin = load_mnist(cfg.name, cfg.path)
        x_train, y_train = arrays["x_train"][..., None], arrays["y_train"]
        if cfg.limit:
            x_train, y_train = x_train[: cfg.limit], y_train[: cfg.limit]
        return DataBundle(
            adapt_images(x_train, cfg), y_train, adapt_images(arrays["x_test"][..., None], cfg),
            arrays["y_test"], origin,
        )
    if cfg.name in ("image_folder", "celeb_a"):
        from kgen.data.images import load_images

        return load_images(cfg, seed)
    raise ConfigError(f"unknown data.name {cfg.name!r}")


def adapt_images(x: np.ndarray, cfg: Data, chunk: int = 2048) -> np.ndarray:
    """Resizes uint8 images to cfg.image_size and repeats grey into cfg.channels (MNIST -> RGB)."""
    if x.shape[1:3] != (cfg.image_size, cfg.image_size):
        parts = []
        for i in range(0, len(x), chunk):
            r = tf.image.resize(tf.cast(x[i : i + chunk], tf.float32), (cfg.image_size, cfg.image_size), antialias=True)
            parts.append(tf.cast(tf.clip_by_value(tf.round(r), 0, 255), tf.uint8).numpy())
        x = np.concatenate(parts) if parts else x
    if x.shape[-1] != cfg.channels:
        if x.shape[-1] != 1:
            raise ConfigError(f"cannot turn {x.shape[-1]}-channel images into {cfg.channels} channels")
        x = np.repeat(x, cfg.channels, axis=-1)
    return x


def scale(x, mode: str):
    """uint8 -> float32 in [0, 1] ('unit') or [-1, 1] ('symmetric')."""
    x = tf.cast(x, tf.float32)
    return x / 255.0 if mode == "unit" else x / 127.5 - 1.0


def unscale(x, mode: str):
    """Model range -> [0, 1] for display."""
    return x if mode == "unit" else (x + 1.0) / 2.0


def steps_per_epoch(num_train: int, batch_size: int, requested: int = 0) -> int:
    full = num_train // batch_size
    if full == 0:
        raise ConfigError(
            f"train.batch_size={batch_size} is larger than the {num_train} training images; "
            "lower --train.batch_size or raise --data.limit"
        )
    return min(requested, full) if requested else full


def train_dataset(
    bundle: DataBundle, cfg: Data, batch_size: int, seed: int, first_epoch: int, epochs: int, steps: int
) -> tf.data.Dataset:
    """`steps` batches for each epoch in [first_epoch, epochs); epoch e is a stateless permutation
    keyed on (seed, e).

    Keying the order on the epoch index (not on how often the dataset was iterated) is what lets
    `--resume` continue with exactly the batches an uninterrupted run would have seen. Batches are
    gathered from the in-memory arrays in one op each, and scaled to float32 only then.
    """
    images, labels = tf.constant(bundle.train_images), tf.constant(bundle.train_labels, tf.int32)
    n = bundle.num_train

    def epoch_batches(e):
        keys = tf.random.stateless_uniform([n], seed=tf.stack([tf.constant(seed, tf.int64), e]))
        order = tf.argsort(keys, stable=True)[: steps * batch_size]
        # drop_remainder by construction: static per-replica shapes for tf.distribute and XLA
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [steps, batch_size]))

    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches)
    ds = ds.map(
        lambda idx: (scale(tf.gather(images, idx), cfg.scale), tf.gather(labels, idx)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def test_dataset(bundle: DataBundle, cfg: Data, batch_size: int) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((bundle.test_images, bundle.test_labels.astype(np.int32)))
    ds = ds.batch(batch_size)  # keep the last partial batch: evaluation covers every test image
    return ds.map(lambda x, y: (scale(x, cfg.scale), y)).prefetch(tf.data.AUTOTUNE)
