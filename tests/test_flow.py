"""The normalizing flow: invertible to round-off, its log-determinant the Jacobian's, its
likelihood in the units the literature reports, and the trainer's contract (mirrored step, run,
export to plain TensorFlow)."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from kgen import config as config_lib
from kgen import runs, train
from kgen.errors import ConfigError
from kgen.models.flow import bits_per_dim
from kgen.networks.flow import Glow, glow

from helpers.processes import plain_tf
from helpers.recipes import tiny
from helpers.steps import mirrored_matches_single


def scrambled(levels=2, steps=2, hidden=8, shape=(8, 8, 1), seed=3):
    """A flow away from its identity start (zero-initialised couplings, identity ActNorm), so that
    every layer's inverse and log-determinant is exercised."""
    net = glow(Glow(levels, steps, hidden), shape, seed)
    rng = np.random.default_rng(seed)
    for v in net.trainable_weights:
        v.assign(v.numpy() + 0.2 * rng.normal(size=v.shape).astype(np.float32))
    return net


def test_the_flow_inverts_to_float32_round_off():
    net = scrambled()
    x = tf.random.stateless_uniform((5, 8, 8, 1), seed=(1, 2)) - 0.5
    latents, _ = net.forward(x)
    back = net.inverse(latents)
    # 12 layers each rounding values of order 1 (eps32 = 1.2e-7), and the 1x1 convolutions'
    # inverses solved in float32: 1e-5 is ~100 eps32 of error growth, far below any real mismatch
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-5)
    z = net.flatten(latents)
    assert z.shape == (5, 64)
    np.testing.assert_array_equal(net.flatten(net.unflatten(z)).numpy(), z.numpy())


def test_the_log_determinant_is_the_brute_force_jacobians():
    net = scrambled()
    x = tf.random.stateless_uniform((2, 8, 8, 1), seed=(3, 4)) - 0.5
    _, logdet = net(x)
    for i in range(2):
        flat = tf.reshape(x[i], [-1])
        with tf.GradientTape() as tape:
            tape.watch(flat)
            z = net(tf.reshape(flat, (1, 8, 8, 1)))[0][0]
        jacobian = tape.jacobian(z, flat)  # [64, 64]
        _, brute = np.linalg.slogdet(jacobian.numpy().astype(np.float64))
        # a sum of 64 log-scales against a float64 determinant of a float32 Jacobian: both are
        # exact to ~1e-6 relative per entry; 1e-3 absolute on a value of order 10 is generous
        # and far below the change of any single layer's term
        assert float(logdet[i]) == pytest.approx(brute, abs=1e-3)


def test_bits_per_dim_of_the_uniform_density_is_the_bit_depth():
    # the uniform density on [0, 1]^D (log p = 0) spreads mass evenly over the 256^D levels
    assert float(bits_per_dim(tf.constant(0.0), 784)) == pytest.approx(8.0)
    assert float(bits_per_dim(tf.constant(784 * math.log(2.0)), 784)) == pytest.approx(7.0)


def test_log_prob_is_the_change_of_variables(tmp_path):
    model = runs.build_model(tiny("flow", tmp_path), (8, 8, 1))
    for v, w in zip(model.network.trainable_weights, scrambled(seed=0, hidden=16).trainable_weights):
        v.assign(w)
    y = tf.random.stateless_uniform((3, 8, 8, 1), seed=(5, 6))
    z, logdet = model.network(y - 0.5)
    gauss = -0.5 * np.sum(z.numpy().astype(np.float64) ** 2, 1) - 32 * math.log(2 * math.pi)
    np.testing.assert_allclose(model.log_prob(y).numpy(), gauss + logdet.numpy(), rtol=1e-5)
    # generate inverts encode (the images' latents give the images back)
    np.testing.assert_allclose(model.generate(model.encode(y)).numpy(), y.numpy(), atol=1e-5)


def test_dequantisation_keeps_each_pixel_in_its_own_bin(tmp_path):
    model = runs.build_model(tiny("flow", tmp_path), (8, 8, 1))
    levels = tf.constant(np.arange(64, dtype=np.float32).reshape(1, 8, 8, 1) * 4)  # 0, 4, ..., 252
    y = model.dequantise(levels / 255.0, model.noise)
    # y = (level + u) / 256, u in [0, 1): the level is recovered by flooring 256 y
    np.testing.assert_array_equal(np.floor(y.numpy() * 256), levels.numpy())


def test_levels_that_do_not_squeeze_evenly_are_refused_with_the_fix(tmp_path):
    recipe = config_lib.apply_overrides(tiny("flow", tmp_path), {"model.network.levels": "3"})
    with pytest.raises(ConfigError, match="levels=3: level 3 squeezes 3x3 images.*even.*at most 2 levels for 12x12"):
        runs.build_model(config_lib.apply_overrides(recipe, {"data.image_size": "12"}), (12, 12, 1))


def test_mirrored_step_equals_single_device(tmp_path, mirrored):
    x = tf.random.stateless_uniform((16, 8, 8, 1), seed=(4, 2))
    mirrored_matches_single(tiny("flow", tmp_path), (8, 8, 1), (x, tf.zeros(16, tf.int32)), mirrored,
                            learning_rate=0.01)


def test_a_run_learns_and_exports_log_prob_and_sample_for_plain_tensorflow(tmp_path):
    result = train.run(tiny("flow", tmp_path, **{"train.steps_per_epoch": "8"}))
    bpd = result.history["bits_per_dim"]
    assert bpd[-1] < bpd[0]  # 16 Adam steps at 1e-3 from the identity flow lower the likelihood's cost
    found = plain_tf(result.export_dir, (
        "y = tf.random.stateless_uniform((4, 8, 8, 1), seed=(1, 1))\n"
        "lp = m.log_prob(images=y).numpy()\n"
        "a = m.sample(num_samples=tf.constant(3), seed=tf.constant(2)).numpy()\n"
        "b = m.sample(num_samples=tf.constant(3), seed=tf.constant(2), temperature=tf.constant(1.0)).numpy()\n"
        "c = m.sample(num_samples=tf.constant(3), seed=tf.constant(2), temperature=tf.constant(0.5)).numpy()\n"
        "z = m.encode(images=y).numpy()\n"
        "back = m.generate(z=tf.constant(z)).numpy()\n"
        "out = [lp.tolist(), bool(np.array_equal(a, b)), float(np.abs(a - c).max()), list(z.shape),"
        " float(np.abs(back - y.numpy()).max())]"))
    lp, same, diff, z_shape, round_trip, imported = found
    assert same and diff > 1e-3 and z_shape == [4, 64] and round_trip < 1e-4 and not imported
    y = tf.random.stateless_uniform((4, 8, 8, 1), seed=(1, 1))
    np.testing.assert_allclose(lp, result.model.log_prob(y).numpy(), rtol=1e-5)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert 0 < metrics["test_bits_per_dim"] < bpd[0] + 1


def test_actnorm_starts_from_the_data(tmp_path):
    """Glow's data-dependent initialisation: every ActNorm's outputs on the initialisation batch
    have zero mean and unit variance per channel, so the flow starts at the data's scale."""
    from kgen.networks.flow import ActNorm, squeeze

    model = runs.build_model(tiny("flow", tmp_path), (8, 8, 1))
    images = np.random.default_rng(0).integers(0, 256, (64, 8, 8, 1)).astype(np.float32) / 255.0
    model.initialize_from_data(images)
    net = model.network
    first = net.level_layers(0)[0]
    assert isinstance(first, ActNorm)
    x = np.round(images * 255)
    h = squeeze(tf.constant((x + 0.5) / 256.0 - 0.5, tf.float32))  # the midpoints of the dequantised bins
    out, _ = first.forward(h)
    # the statistics were taken on (x + u) / 256 with u ~ U[0, 1); on the bin midpoints the mean and
    # variance differ by the noise's share, 1/12 / 256^2 of a unit: far below the 0.05 allowed
    np.testing.assert_allclose(tf.reduce_mean(out, [0, 1, 2]).numpy(), 0.0, atol=0.05)
    np.testing.assert_allclose(tf.math.reduce_std(out, [0, 1, 2]).numpy(), 1.0, atol=0.05)
