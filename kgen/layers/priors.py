"""Latent priors as tfp.distributions behind small Keras layers that hold their parameters."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kgen.errors import ConfigError


def tfd():
    # TFP 0.25 imports tf-keras at import time; import it only where a distribution is built.
    import tensorflow_probability as tfp

    return tfp.distributions


@keras.saving.register_keras_serializable(package="kgen")
class StandardNormalPrior(keras.layers.Layer):
    """p(z) = N(0, I)."""

    def __init__(self, latent_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim
        self.built = True

    def distribution(self):
        return tfd().MultivariateNormalDiag(loc=tf.zeros([self.latent_dim]), scale_diag=tf.ones([self.latent_dim]))

    def base_noise(self, n, seed):
        return base_noise(n, seed, self.latent_dim)

    def from_base(self, base):
        return base[1]

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="kgen")
class MixturePrior(keras.layers.Layer):
    """p(z) = sum_k pi_k N(z; mu_k, diag sigma_k^2), a `tfd.MixtureSameFamily`.

    The means start on a seeded draw scaled to spread the components apart (radius ~2), the
    scales at 1, the weights uniform; `trainable` learns all three with the model (Tomczak and
    Welling 2018 learn such priors; Makhzani et al. 2015 fix them).

    Args:
        latent_dim: d.
        components: K.
        trainable: learn means, scales and weights; otherwise they stay at their initial values.
        seed: seed of the initial means.
    """

    def __init__(self, latent_dim: int, components: int = 2, trainable: bool = True, seed: int = 0,
                 layout: str = "random", radius: float = 2.0, scale: float = 1.0, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        if components < 1:
            raise ConfigError(f"model.prior_components={components}: a mixture needs at least 1 component")
        self.latent_dim, self.components, self.seed = latent_dim, components, seed
        self.layout, self.radius, self.scale = layout, radius, scale
        if layout == "circle":
            # Makhzani et al. 2015, Figure 4: K components evenly spaced on a circle (first 2 dims)
            angles = 2 * np.pi * np.arange(components) / components
            init = np.zeros((components, latent_dim))
            init[:, 0], init[:, 1 % latent_dim] = np.cos(angles), np.sin(angles)
        else:
            init = np.random.default_rng(seed).normal(size=(components, latent_dim))
        init = radius * init / np.maximum(np.linalg.norm(init, axis=1, keepdims=True), 1e-6)
        self.means = self.add_weight(shape=(components, latent_dim), initializer=keras.initializers.Constant(init),
                                     name="means", trainable=trainable)
        # softplus^-1(scale): scales start at `scale` and stay positive
        raw = float(np.log(np.expm1(scale)))
        self.raw_scales = self.add_weight(shape=(components, latent_dim), initializer=keras.initializers.Constant(raw),
                                          name="raw_scales", trainable=trainable)
        self.logits = self.add_weight(shape=(components,), initializer="zeros", name="logits", trainable=trainable)
        self.built = True

    def distribution(self):
        d = tfd()
        return d.MixtureSameFamily(
            mixture_distribution=d.Categorical(logits=tf.convert_to_tensor(self.logits)),
            components_distribution=d.MultivariateNormalDiag(
                loc=tf.convert_to_tensor(self.means),
                scale_diag=tf.nn.softplus(tf.convert_to_tensor(self.raw_scales)) + 1e-4,
            ),
        )

    def base_noise(self, n, seed):
        return base_noise(n, seed, self.latent_dim)

    def from_base(self, base):
        """z ~ p(z) from fixed base noise (u, eps) through the prior's current parameters: the
        component whose cumulative weight first exceeds u (inverse-CDF of the categorical), then
        mu_k + sigma_k * eps. The same base noise follows the prior as it learns, so a fixed sample
        grid keeps decoding latents the model expects."""
        u, eps = base
        cdf = tf.cumsum(tf.nn.softmax(tf.convert_to_tensor(self.logits)))
        k = tf.minimum(tf.reduce_sum(tf.cast(u[:, None] > cdf[None], tf.int32), axis=1), self.components - 1)
        return self.component_sample(k, eps)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "components": self.components,
                "seed": self.seed, "layout": self.layout, "radius": self.radius, "scale": self.scale}

    def plot_components(self) -> dict:
        """Means and scales as NumPy, the keyword arguments of figures.latent_scatter."""
        return {"prior_means": np.asarray(self.means.numpy()),
                "prior_scales": tf.nn.softplus(self.raw_scales.numpy()).numpy() + 1e-4}

    def component_sample(self, labels, eps):
        """z from the component each label picks: mu_y + sigma_y * eps (supervised AAE)."""
        mu = tf.gather(tf.convert_to_tensor(self.means), labels)
        sd = tf.gather(tf.nn.softplus(tf.convert_to_tensor(self.raw_scales)) + 1e-4, labels)
        return mu + sd * eps


def base_noise(n, seed, latent_dim: int):
    """(u [n] ~ U[0, 1), eps [n, d] ~ N(0, I)): a stateless function of (n, seed), the noise a
    prior's `from_base` turns into latents."""
    n = tf.reshape(tf.cast(n, tf.int32), [1])
    seed = tf.stack([tf.cast(seed, tf.int32), tf.constant(0, tf.int32)])
    u = tf.random.stateless_uniform(n, seed=seed + [0, 1])
    eps = tf.random.stateless_normal(tf.concat([n, [latent_dim]], 0), seed=seed)
    return u, eps


def make_prior(kind: str, latent_dim: int, components: int, trainable: bool, seed: int, **mixture):
    if kind == "normal":
        return StandardNormalPrior(latent_dim, name="prior")
    if kind == "mixture":
        return MixturePrior(latent_dim, components, trainable, seed, name="prior", **mixture)
    raise ConfigError(f"model.prior={kind!r} is not one of: normal, mixture")
