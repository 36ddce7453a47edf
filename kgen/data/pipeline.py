"""The tf.data input pipeline: an epoch-indexed shuffle so that a resumed run sees the same order.

Images travel as uint8 until the last moment and are scaled per batch (one vectorised op), so the
pipeline stays far ahead of the model; prefetch overlaps it with the training step.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kgen.config import ConfigError, Data
from kgen.data.bundle import DataBundle


def scale(x, mode: str):
    """uint8 -> float32 in [0, 1] ('unit') or [-1, 1] ('symmetric')."""
    x = tf.cast(x, tf.float32)
    return x / 255.0 if mode == "unit" else x / 127.5 - 1.0


def to_unit(x) -> np.ndarray:
    """uint8 images -> float32 NumPy in [0, 1]: what the metrics and the restorations read."""
    return np.asarray(x, np.float32) / 255.0


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


def index_batches(num_train: int, batch_size: int, seed: int, first_epoch: int, epochs: int, steps: int,
                  skip: int = 0) -> tf.data.Dataset:
    """Global batches of training-image indices: `steps` for each epoch in [first_epoch, epochs),
    less the first `skip` of the first one. Epoch e is a stateless permutation keyed on (seed, e).

    Keying the order on the epoch index (not on how often the dataset was iterated) is what lets
    a resumed run, also one resumed mid-epoch, continue with exactly the batches an uninterrupted
    run would have seen.
    """

    def epoch_batches(e):
        keys = tf.random.stateless_uniform([num_train], seed=tf.stack([tf.constant(seed, tf.int64), e]))
        order = tf.argsort(keys, stable=True)[: steps * batch_size]
        # drop_remainder by construction: static per-replica shapes for tf.distribute and XLA
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [steps, batch_size]))

    return tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches).skip(skip)


def train_dataset(
    bundle: DataBundle, cfg: Data, batch_size: int, seed: int, first_epoch: int, epochs: int, steps: int
) -> tf.data.Dataset:
    """(images, labels) batches of `index_batches`, gathered from memory and scaled, for
    `model.fit` and benchmarks; the runner distributes `index_batches` itself."""
    images, labels = tf.constant(bundle.train_images), tf.constant(bundle.train_labels, tf.int32)
    ds = index_batches(bundle.num_train, batch_size, seed, first_epoch, epochs, steps)
    ds = ds.map(
        lambda idx: (scale(tf.gather(images, idx), cfg.scale), tf.gather(labels, idx)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def test_dataset(bundle: DataBundle, cfg: Data, batch_size: int) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((bundle.test_images, bundle.test_labels.astype(np.int32)))
    ds = ds.batch(batch_size)  # keep the last partial batch: evaluation covers every test image
    return ds.map(lambda x, y: (scale(x, cfg.scale), y)).prefetch(tf.data.AUTOTUNE)


def distributed_dataset(strategy, make_index_batches, lookup):
    """Each replica gets a contiguous slice of every global batch, in replica order.

    `make_index_batches()` gives global batches of example indices (the caller keys them on the
    epoch, so a resumed run sees the same order); `lookup(idx)` turns a slice into (images,
    labels). Noise drawn for the global batch and sliced the same way (models.base) then makes a
    step on N replicas compute what one device computes.
    """

    def dataset_fn(ctx: tf.distribute.InputContext):
        per_pipeline = strategy.num_replicas_in_sync // ctx.num_input_pipelines
        first = ctx.input_pipeline_id * per_pipeline

        def slices(idx):
            # ceil, so that a partial last (evaluation) batch leaves the last replicas short or empty
            local = -(-tf.shape(idx)[0] // strategy.num_replicas_in_sync)
            starts = (first + tf.range(per_pipeline)) * local
            return tf.data.Dataset.from_tensor_slices(starts).map(lambda s: idx[s : s + local])

        ds = make_index_batches()
        if strategy.num_replicas_in_sync > 1:
            ds = ds.flat_map(slices)
        return ds.map(lookup, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(dataset_fn)


def in_memory(images, labels, scale_mode: str):
    """`lookup` for uint8 images held in memory: a batched gather, scaled to float only then."""
    images, labels = tf.constant(images), tf.constant(labels, tf.int32)
    return lambda idx: (scale(tf.gather(images, idx), scale_mode), tf.gather(labels, idx))
