"""Inception-v3 pool features for the face recipes' FID, KID and precision/recall.

The features are the 2048-d global average pool of `keras.applications.InceptionV3` with its
ImageNet weights, images resized to 299x299 (bilinear) and scaled to [-1, 1] as the network was
trained. This is the feature space of Heusel et al.'s FID, but Keras' port of the weights and
TensorFlow's resize are not bit-identical to the TF1 graph pytorch-fid and torch-fidelity use, so
kgen's face FIDs are comparable only with FIDs computed the same way: the same weights file, the
same resize, the same reference set and the same number of samples.

Weights: `weights=None` takes them from Keras' cache (~/.keras/models), which Keras fills by
downloading once, saying so; `weights=PATH` reads a saved weights file for offline machines (e.g.
`keras.applications.InceptionV3(include_top=False, pooling="avg").save_weights("inception.weights.h5")`
on a machine that is online).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgen.errors import ConfigError
from kgen.metrics import float32

SIZE = 299
CACHE_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def build(weights: str | None = None) -> keras.Model:
    with float32.policy():
        return _build(weights)


def _build(weights: str | None) -> keras.Model:
    if weights:
        path = Path(weights).expanduser()
        if not path.exists():
            raise ConfigError(f"--weights={weights}: no such file. Save the ImageNet weights on a machine that is "
                              "online: keras.applications.InceptionV3(include_top=False, pooling='avg')"
                              ".save_weights('inception.weights.h5')")
        model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                               input_shape=(SIZE, SIZE, 3))
        model.load_weights(str(path))
        return model
    cached = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models" / CACHE_FILE
    if not cached.exists():
        print(f"kgen: downloading the InceptionV3 ImageNet weights into {cached.parent} (once); offline, pass "
              "--weights=PATH", flush=True)
    return keras.applications.InceptionV3(include_top=False, pooling="avg", weights="imagenet",
                                          input_shape=(SIZE, SIZE, 3))


def features(model: keras.Model, images: np.ndarray, batch: int = 50) -> np.ndarray:
    """images [N, H, W, C] in [0, 1] (C = 1 or 3) -> pool features [N, 2048]."""
    embed = getattr(model, "_kgen_embed", None)
    if embed is None:
        # traced once per model (kept on it) for any image size and batch: a trace of
        # InceptionV3 takes seconds, and every new batch shape would take another
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def embed(x):
            x = tf.image.resize(x, (SIZE, SIZE), method="bilinear", antialias=False)
            return model(x * 2.0 - 1.0, training=False)

        model._kgen_embed = embed

    def rgb(x):
        return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x

    out = [embed(tf.constant(rgb(images[i : i + batch]), tf.float32)).numpy() for i in range(0, len(images), batch)]
    return np.concatenate(out).astype(np.float64)
