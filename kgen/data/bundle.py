"""Assembles a DataBundle from the readers (MNIST sources, image folders, TFDS), which return
arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from kgen.config import ConfigError, Data
from kgen.data import images
from kgen.data.mnist import load_mnist


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
    check(cfg)
    if cfg.name in ("mnist", "mnist_sample"):
        arrays, origin = load_mnist(cfg.name, cfg.path)
        x_train, y_train = arrays["x_train"][..., None], arrays["y_train"]
        if cfg.limit:
            x_train, y_train = x_train[: cfg.limit], y_train[: cfg.limit]
        return DataBundle(
            adapt_images(x_train, cfg), y_train, adapt_images(arrays["x_test"][..., None], cfg),
            arrays["y_test"], origin,
        )
    if cfg.name in ("image_folder", "celeb_a"):
        x_train, x_test, origin = images.load_celeb_a(cfg) if cfg.name == "celeb_a" else images.load_folder(cfg, seed)
        unlabelled = lambda x: np.full(len(x), -1, np.int32)  # noqa: E731
        return DataBundle(x_train, unlabelled(x_train), x_test, unlabelled(x_test), origin)
    raise ConfigError(f"unknown data.name {cfg.name!r}")


def check(cfg: Data) -> None:
    """Refuses paths that the chosen source would not read (an option given is never ignored)."""
    if cfg.name == "mnist_sample" and cfg.path:
        raise ConfigError(
            f"--data.path={cfg.path} would not be read: data.name=mnist_sample (what --quick selects) is the sample "
            "bundled in the package. Drop --data.path, or train on your data with --data.name=image_folder (a "
            "folder of images) or --data.name=mnist (an .npz or a folder of IDX files)")
    if cfg.test_path and cfg.name != "image_folder":
        raise ConfigError(f"--data.test_path={cfg.test_path} is read only with data.name=image_folder, not "
                          f"{cfg.name}: drop it, or set --data.name=image_folder")


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
