import numpy as np
import pytest
import tensorflow as tf

from kgen import losses
from kgen.config import apply_overrides

from helpers.recipes import tiny
from helpers.steps import runs_build


def test_gaussian_log_density_closed_form():
    x = tf.constant([[0.5, -1.0]])
    lv = tf.constant([[np.log(4.0), 0.0]], tf.float32)
    got = float(losses.gaussian_log_density(x, 0.0, lv)[0])
    want = -0.5 * (2 * np.log(2 * np.pi) + np.log(4.0) + 0.25 / 4.0 + 1.0)
    assert got == pytest.approx(want, rel=1e-6)


def test_monte_carlo_kl_matches_analytic_in_expectation():
    mean = tf.constant([[0.7, -1.2]])
    log_var = tf.constant([[-1.0, 0.5]])
    eps = tf.random.stateless_normal([200_000, 2], seed=[4, 2])
    z = mean + tf.exp(0.5 * log_var) * eps
    mc = losses.gaussian_log_density(z, mean, log_var) - losses.gaussian_log_density(z, 0.0, 0.0)
    analytic = float(losses.gaussian_kl_standard_normal(mean, log_var)[0])
    assert float(tf.reduce_mean(mc)) == pytest.approx(analytic, abs=0.02)


def test_bernoulli_log_likelihood_matches_formula():
    x = tf.constant([[[[0.0]], [[1.0]], [[0.3]]]])  # one image of 3 pixels, [1, 3, 1, 1]
    logits = tf.constant([[[[0.2]], [[-1.0]], [[2.0]]]])
    p = tf.sigmoid(logits).numpy().ravel()
    xs = x.numpy().ravel()
    want = np.sum(xs * np.log(p) + (1 - xs) * np.log(1 - p))
    assert float(losses.bernoulli_log_likelihood(x, logits)[0]) == pytest.approx(want, rel=1e-5)


def test_terms_add_up_and_training_lowers_the_loss(tmp_path):
    recipe = tiny("vae", tmp_path, **{"optimizer.learning_rate": "3e-3"})
    model = runs_build(recipe, (28, 28, 1))
    from kgen import data

    bundle = data.load(recipe.data)
    x = tf.constant(bundle.train_images[:64] / 255.0, tf.float32)
    terms = model.terms(x, training=False)
    np.testing.assert_allclose(terms["loss"], terms["reconstruction"] + terms["kl"], rtol=1e-6)
    np.testing.assert_allclose(terms["kl"], terms["log_qz_x"] - terms["log_pz"], rtol=1e-5, atol=1e-5)
    before = float(tf.reduce_mean(model.terms(x, training=False)["reconstruction"]))
    ds = tf.data.Dataset.from_tensors((x, tf.zeros(64, tf.int32))).repeat(60)
    model.fit(ds, epochs=1, verbose=0, shuffle=False)
    after = float(tf.reduce_mean(model.terms(x, training=False)["reconstruction"]))
    assert after < 0.8 * before, (before, after)


def test_analytic_kl_option(tmp_path):
    recipe = apply_overrides(tiny("vae", tmp_path), {"model.kl": "analytic", "model.beta": "0.5"})
    model = runs_build(recipe, (28, 28, 1))
    x = tf.random.stateless_uniform([4, 28, 28, 1], seed=[1, 1])
    t = model.terms(x, training=False)
    mean, log_var = model.encode(x)
    np.testing.assert_allclose(t["kl"], losses.gaussian_kl_standard_normal(mean, log_var), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(t["loss"], t["reconstruction"] + 0.5 * t["kl"], rtol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_losses_float32(tmp_path, policy):
    import keras

    recipe = apply_overrides(tiny("vae", tmp_path), {"train.mixed_precision": policy})
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        model = runs_build(recipe, (28, 28, 1))
        assert model.encoder.layers[0].compute_dtype == policy.split("_")[1]
        x = tf.random.stateless_uniform([32, 28, 28, 1], seed=[1, 2])
        logs = model.fit(tf.data.Dataset.from_tensors((x, tf.zeros(32, tf.int32))), verbose=0).history
        assert np.isfinite(logs["loss"][0])
        t = model.terms(x, training=False)
        assert t["loss"].dtype == tf.float32
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
