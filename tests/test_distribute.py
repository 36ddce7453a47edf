"""One training step over two replicas (two logical CPUs) equals one step on one device."""

import numpy as np
import pytest
import tensorflow as tf

from kgen import models

from conftest import tiny_vae_recipe


def one_step(recipe, strategy, weights, x):
    with strategy.scope():
        model = models.build(recipe, (28, 28, 1))
        model.build_optimizers()
    model.set_weights(weights)
    ds = tf.data.Dataset.from_tensors((x, tf.zeros(len(x), tf.int32)))
    logs = model.fit(ds, epochs=1, verbose=0, shuffle=False).history
    return model, logs


def test_mirrored_step_equals_single_device_step(tmp_path, mirrored):
    assert len(tf.config.list_logical_devices("CPU")) == 2
    recipe = tiny_vae_recipe(tmp_path)
    x = tf.random.stateless_uniform([16, 28, 28, 1], seed=[5, 5])
    ref = models.build(recipe, (28, 28, 1))
    weights = ref.get_weights()
    single, logs1 = one_step(recipe, tf.distribute.get_strategy(), weights, x)
    mirrored_strategy = mirrored
    assert mirrored_strategy.num_replicas_in_sync == 2
    mirrored, logs2 = one_step(recipe, mirrored_strategy, weights, x)
    moved = max(np.abs(a - b).max() for a, b in zip(single.get_weights(), weights))
    assert moved > 1e-4  # the step did something
    for a, b in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert logs1["loss"][0] == pytest.approx(logs2["loss"][0], rel=1e-5)
