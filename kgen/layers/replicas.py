"""Randomness that does not depend on the number of replicas, and dropout built on it.

MirroredStrategy and MultiWorkerMirroredStrategy split each global batch into contiguous slices
in replica order. Noise drawn for the whole global batch from the same (mirrored) seed state and
sliced the same way meets example i with the same values on 1 device or on 8, so a step on N
replicas computes what one device computes on the same global batch.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def replica_context():
    """(number of replicas, this replica's index); (1, 0) outside tf.distribute."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context
        return 1, 0
    return ctx.num_replicas_in_sync, ctx.replica_id_in_sync_group


def global_normal(local_batch, shape, seed_generator, dtype="float32"):
    """N(0, I) noise [local_batch, *shape] that does not depend on the number of replicas.

    Every replica draws the noise of the whole global batch from the same (mirrored) seed state
    and keeps its own slice; MirroredStrategy splits each global batch into contiguous slices in
    replica order, so example i meets the same noise on 1 device or on 8.
    """
    n, i = replica_context()
    eps = keras.random.normal((local_batch * n, *shape), seed=seed_generator, dtype=dtype)
    return eps if n == 1 else eps[i * local_batch : (i + 1) * local_batch]


def global_uniform(local_batch, shape, seed_generator, minval=0.0, maxval=1.0, dtype="float32"):
    """Uniform noise with the same replica-count invariance as `global_normal`."""
    n, i = replica_context()
    u = keras.random.uniform((local_batch * n, *shape), minval, maxval, seed=seed_generator, dtype=dtype)
    return u if n == 1 else u[i * local_batch : (i + 1) * local_batch]


@keras.saving.register_keras_serializable(package="kgen")
class ReplicaDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` whose mask is drawn for the global batch and sliced per replica.

    Keras' Dropout draws each replica's mask from the same mirrored seed state, so every replica
    drops the same units of its own examples (masks correlated across replicas, and unlike one
    device's on the same global batch). Here the mask of the whole global batch is drawn and each
    replica keeps its slice, as `global_uniform` does for noise. Same arguments, same variables
    (its seed generator), same inverted scaling by 1 / (1 - rate).
    """

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        dims = self.noise_shape if self.noise_shape is not None else (None,) * len(inputs.shape)
        tail = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(dims))[1:]
        u = global_uniform(tf.shape(inputs)[0], tail, self.seed_generator)
        keep = tf.cast(u >= self.rate, inputs.dtype)
        return inputs * keep / tf.cast(1.0 - self.rate, inputs.dtype)
