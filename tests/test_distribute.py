"""One training step of the runner's loop over two replicas (two logical CPUs) equals one step
on one device."""

import tensorflow as tf

from conftest import mirrored_matches_single, tiny_vae_recipe


def test_mirrored_step_equals_single_device_step(tmp_path, mirrored):
    assert len(tf.config.list_logical_devices("CPU")) == 2
    assert mirrored.num_replicas_in_sync == 2
    x = tf.random.stateless_uniform([16, 28, 28, 1], seed=[5, 5])
    mirrored_matches_single(tiny_vae_recipe(tmp_path), (28, 28, 1), (x, tf.zeros(16, tf.int32)), mirrored)
