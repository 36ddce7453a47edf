"""The TFP parts of the VAE: mixture prior, likelihoods, KL warm-up, likelihood bounds."""

import numpy as np
import pytest
import tensorflow as tf

from kgen import figures, losses, train
from kgen.data.mnist import bundled_sample_path
from kgen.errors import ConfigError
from kgen.export import export

from helpers.recipes import tiny
from helpers.steps import runs_build


def mixture_recipe(tmp_path, **kw):
    return tiny("vae", tmp_path, **{"model.prior": "mixture", "model.prior_components": "3", **kw})


def test_mixture_log_prob_matches_the_formula(tmp_path):
    model = runs_build(mixture_recipe(tmp_path), (28, 28, 1))
    prior = model.prior
    z = tf.random.stateless_normal([5, 2], seed=[1, 3])
    means = prior.means.numpy()
    log_var = 2 * np.log(tf.nn.softplus(prior.raw_scales.numpy()).numpy() + 1e-4)
    log_pi = tf.nn.log_softmax(prior.logits.numpy()).numpy()
    per_comp = np.stack([losses.gaussian_log_density(z, means[k], log_var[k]).numpy() for k in range(3)], 1)
    want = tf.reduce_logsumexp(per_comp + log_pi, axis=1).numpy()
    np.testing.assert_allclose(prior.distribution().log_prob(z).numpy(), want, rtol=1e-5)


def test_trainable_and_fixed_mixture(tmp_path):
    x = tf.constant(np.load(bundled_sample_path())["x_train"][:32, ..., None] / 255.0, tf.float32)
    ds = tf.data.Dataset.from_tensors((x, tf.zeros(32, tf.int32))).repeat(5)
    for trainable in (True, False):
        model = runs_build(mixture_recipe(tmp_path, **{"model.prior_trainable": str(trainable)}), (28, 28, 1))
        before = model.prior.means.numpy().copy()
        model.fit(ds, epochs=1, verbose=0, shuffle=False)
        moved = np.abs(model.prior.means.numpy() - before).max()
        assert (moved > 0) == trainable


def test_analytic_kl_refused_for_a_mixture(tmp_path):
    with pytest.raises(ConfigError, match="analytic needs model.prior=normal"):
        runs_build(mixture_recipe(tmp_path, **{"model.kl": "analytic"}), (28, 28, 1))


def test_gaussian_likelihood_fixed_and_learned(tmp_path):
    fixed = runs_build(tiny("vae", tmp_path, **{"model.likelihood": "gaussian",
                                                      "model.likelihood_scale": "0.5"}), (28, 28, 1))
    x = tf.random.stateless_uniform([2, 28, 28, 1], seed=[2, 2])
    mu = tf.random.stateless_uniform([2, 28, 28, 1], seed=[3, 2])
    want = np.sum(-0.5 * np.log(2 * np.pi * 0.25) - (x.numpy() - mu.numpy()) ** 2 / (2 * 0.25), axis=(1, 2, 3))
    np.testing.assert_allclose(fixed.observation(mu).log_prob(x).numpy(), want, rtol=1e-5)
    learned = runs_build(tiny("vae", tmp_path, **{"model.likelihood": "gaussian"}), (28, 28, 1))
    assert any("log_sigma" in v.path for v in learned.trainable_variables)
    out = learned.generate(tf.zeros([3, 2]))
    assert out.shape == (3, 28, 28, 1) and float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 1


def test_kl_warmup_is_linear(tmp_path):
    model = runs_build(tiny("vae", tmp_path, **{"model.kl_warmup_steps": "10", "model.beta": "2"}), (28, 28, 1))
    assert float(model.kl_weight(True)) == pytest.approx(0.2)  # step 1 of 10
    model.optimizer.iterations.assign(20)
    assert float(model.kl_weight(True)) == pytest.approx(2.0)
    assert model.kl_weight(False) == 2.0  # evaluation always uses the full weight


def test_likelihood_bounds_are_ordered(tmp_path):
    recipe = tiny("vae", tmp_path, **{"train.epochs": "2", "train.steps_per_epoch": "8"})
    result = train.run(recipe, export_model=False)
    model = result.model
    images = np.load(bundled_sample_path())["x_test"][:40, ..., None] / 255.0
    elbo1, iwae1 = model.likelihood_bounds(images, 1)
    np.testing.assert_allclose(elbo1, iwae1, rtol=1e-5)  # with k = 1 the two bounds coincide
    elbo, iwae8 = model.likelihood_bounds(images, 8)
    _, iwae64 = model.likelihood_bounds(images, 64)
    assert np.all(iwae8 >= elbo - 1e-3)  # log-mean-exp >= mean, per image (Jensen)
    assert iwae64.mean() >= iwae8.mean() - 0.05  # tighter with more samples, beyond noise
    assert iwae64.mean() > elbo.mean() + 0.1
    metrics = __import__("json").loads((result.run_dir / "metrics.json").read_text())
    assert metrics["iwae_samples"] == 8 and metrics["images"] == 16
    assert metrics["nll_iwae_cross_entropy_nats"] <= metrics["neg_elbo_cross_entropy_nats"] + 1e-3
    assert metrics["neg_elbo_cross_entropy_bits_per_dim"] == pytest.approx(
        metrics["neg_elbo_cross_entropy_nats"] / (784 * np.log(2)))
    assert "neg_elbo_nats" not in metrics  # a Bernoulli on grey levels gives a cross-entropy, named so


def test_mixture_sampling_is_stateless_and_exported(tmp_path):
    model = runs_build(mixture_recipe(tmp_path), (28, 28, 1))
    a, b = model.prior_noise(200, 4).numpy(), model.prior_noise(200, 4).numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, model.prior_noise(200, 5).numpy())
    # samples gather around the mixture's means, not around the origin
    means = model.prior.means.numpy()
    nearest = np.min(np.linalg.norm(a[:, None] - means[None], axis=-1), axis=1)
    assert np.median(nearest) < np.median(np.linalg.norm(a, axis=1))
    loaded = tf.saved_model.load(str(export(model, tmp_path / "sm")))
    np.testing.assert_allclose(loaded.sample(num_samples=tf.constant(6), seed=tf.constant(4)).numpy(),
                               model.sample(6, 4).numpy(), atol=1e-5)


def test_slerp_keeps_the_norm():
    z0, z1 = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    path = figures.interpolate(z0, z1, 5, "spherical")
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, rtol=1e-5)
    lin = figures.interpolate(z0, z1, 5, "linear")
    assert np.linalg.norm(lin[2]) < 2.2 and np.allclose(lin[[0, -1]], [z0, z1])


def test_the_sample_grid_follows_the_prior_as_it_learns(tmp_path):
    """The epoch grid keeps fixed base noise (u picks the component, eps the offset) and pushes it
    through the prior as it is when the grid is drawn: after the prior moves, its latents move
    with it (and match what `sample` draws from the same seed)."""
    model = runs_build(mixture_recipe(tmp_path), (28, 28, 1))
    prior = model.prior
    base = model.grid_noise(64, 0)  # what the logger keeps for the whole run
    before = prior.from_base(base).numpy()
    np.testing.assert_allclose(model.prior_noise(64, 0).numpy(), before)
    prior.means.assign(prior.means + 5.0)
    np.testing.assert_allclose(prior.from_base(base).numpy() - before, 5.0, atol=1e-5)
    # the weights move too: with all mass on component 2, every latent is mu_2 + sigma_2 * eps
    prior.logits.assign([-30.0, -30.0, 30.0])
    sd = tf.nn.softplus(prior.raw_scales[2]).numpy() + 1e-4
    np.testing.assert_allclose(prior.from_base(base).numpy(), prior.means[2].numpy() + sd * base[1].numpy(), rtol=1e-5)
    # and the grid the logger draws decodes exactly those latents
    np.testing.assert_allclose(model.grid_images(base).numpy(), model.generate(prior.from_base(base)).numpy())
    # the picks follow the weights: with equal weights each of 3 components gets ~1/3 of 3,000
    # draws (binomial sd 26 of 1,000, so 150 is 5.8 of them)
    prior.logits.assign([0.0, 0.0, 0.0])
    u, eps = model.grid_noise(3000, 1)
    z = prior.from_base((u, tf.zeros_like(eps))).numpy()
    counts = [int(np.all(np.isclose(z, prior.means[k].numpy(), atol=1e-5), axis=1).sum()) for k in range(3)]
    assert sum(counts) == 3000 and all(abs(c - 1000) < 150 for c in counts), counts


def test_the_prior_components_figure_shows_each_mode(tmp_path):
    model = runs_build(mixture_recipe(tmp_path), (28, 28, 1))
    grid = model.component_grid(per_component=4)
    # 3 rows (components) of 4 images of 28 pixels, with the grid's 2-pixel gaps
    rows = [figures.grid(model.generate(model.prior.component_sample(tf.fill([4], k),
                                        tf.random.stateless_normal([4, 2], seed=[7, 0]))).numpy(), 4)
            for k in np.argsort(-model.prior.logits.numpy())]
    assert grid.shape[0] > grid.shape[1] / 4 * 2.5  # three rows of four
    np.testing.assert_array_equal(grid[: rows[0].shape[0]], rows[0])  # the heaviest component first
    assert "prior_components" in model.figures(np.zeros((4, 28, 28, 1), np.float32), np.zeros(4, np.int32))
