"""One training step of the runner's loop over two replicas (two logical CPUs) equals one step
on one device."""

import tensorflow as tf

from helpers.recipes import tiny
from helpers.steps import mirrored_matches_single


def test_mirrored_step_equals_single_device_step(tmp_path, mirrored):
    assert len(tf.config.list_logical_devices("CPU")) == 2
    assert mirrored.num_replicas_in_sync == 2
    x = tf.random.stateless_uniform([16, 28, 28, 1], seed=[5, 5])
    mirrored_matches_single(tiny("vae", tmp_path), (28, 28, 1), (x, tf.zeros(16, tf.int32)), mirrored)


def test_dropout_masks_do_not_depend_on_the_replicas(tmp_path, mirrored):
    """With dropout on (mnist_dcgan's discriminator has 0.3 after every convolution), two
    replicas still compute one device's step: each replica keeps its slice of the global batch's
    mask instead of drawing the same mask as the other replica."""
    from helpers.recipes import tiny

    x = tf.random.stateless_uniform([16, 28, 28, 1], seed=[5, 6]) * 2.0 - 1.0
    recipe = tiny("gan", tmp_path, **{"model.discriminator.dropout": "0.3"})
    mirrored_matches_single(recipe, (28, 28, 1), (x, tf.zeros(16, tf.int32)), mirrored)


def test_replica_dropout_drops_at_the_rate_and_keeps_the_mean():
    import keras
    import numpy as np

    from kgen.layers.replicas import ReplicaDropout

    layer = ReplicaDropout(0.3, seed=1)
    x = tf.ones([64, 8, 8, 4])
    y = layer(x, training=True).numpy()
    kept = (y > 0).mean()
    # 16,384 units: a kept share has binomial sd sqrt(0.21 / 16384) = 0.0036, so 0.02 is 5.6 sd
    assert abs(kept - 0.7) < 0.02
    np.testing.assert_allclose(y[y > 0], 1 / 0.7, rtol=1e-6)  # inverted dropout, as Keras scales
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    assert isinstance(layer, keras.layers.Dropout)
