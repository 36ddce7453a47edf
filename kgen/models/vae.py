"""Variational autoencoder (Kingma and Welling 2014) with a Bernoulli decoder."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kgen import figures, losses
from kgen.config import choices
from kgen.models.base import GenerativeModel, average, global_normal
from kgen.networks.conv import ConvNet, DeconvNet, conv_net, deconv_net


@dataclass
class VAEConfig:
    latent_dim: int = 2
    encoder: ConvNet = field(default_factory=ConvNet)
    decoder: DeconvNet = field(default_factory=DeconvNet)
    prior: str = choices("normal")
    beta: float = 1.0  # weight of the KL term; 1 is the ELBO
    # mc: the single-sample estimate log q(z|x) - log p(z) the seed's code uses; analytic: the
    # closed form, lower variance, only for the standard normal prior.
    kl: str = choices("mc", "analytic")


@keras.saving.register_keras_serializable(package="kgen")
class VAE(GenerativeModel):
    """A VAE: encoder -> q(z|x) = N(mu, diag exp(log_var)), z by reparameterisation, decoder ->
    Bernoulli logits over pixels; trained on the single-sample negative ELBO

        L(x) = -log p(x|z) + beta * [log q(z|x) - log p(z)],   z ~ q(z|x)

    whose three log terms are the "reconstruction", "KL" and "prior" terms of the seed
    (004 section 3.1.1) and are logged separately.

    Args:
        encoder: image -> [B, 2 * latent_dim] (mean then log-variance).
        decoder: [B, latent_dim] -> logits [B, H, W, C].
        beta: weight of the KL term.
        kl: "mc" or "analytic".
        seed: seed of the reparameterisation noise.

    Example:
        >>> enc = conv_net(ConvNet(filters=(8,), strides=(2,)), (8, 8, 1), 4, "encoder")
        >>> dec = deconv_net(DeconvNet((4, 4, 4), (8,), strides=(2,)), 2, 1, "decoder")
        >>> vae = VAE(enc, dec); vae.compile(optimizer="adam")

    References:
        Kingma and Welling, Auto-Encoding Variational Bayes, ICLR 2014.
        Seed 004 (Junnuthula 2023), section 3.1.1 and Figure 3.
    """

    network_names = ("encoder", "decoder")

    def __init__(self, encoder, decoder, beta=1.0, kl="mc", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.beta, self.kl, self.seed = beta, kl, seed
        self.latent_dim = decoder.input_shape[-1]
        self.latent_shape = (self.latent_dim,)
        self.image_shape = tuple(encoder.input_shape[1:])
        self.noise = keras.random.SeedGenerator(seed)
        self.trackers = {
            k: keras.metrics.Mean(k) for k in ("loss", "reconstruction", "kl", "log_qz_x", "log_pz")
        }
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def encode(self, x, training=False):
        mean, log_var = tf.split(self.encoder(x, training=training), 2, axis=-1)
        return mean, log_var

    def generate(self, z):
        return tf.sigmoid(self.decoder(z, training=False))

    def terms(self, x, training):
        """Per-example terms of the negative ELBO (nats)."""
        mean, log_var = self.encode(x, training)
        eps = global_normal(tf.shape(x)[0], self.latent_shape, self.noise)
        z = mean + tf.exp(0.5 * log_var) * eps
        logits = self.decoder(z, training=training)
        log_px_z = losses.bernoulli_log_likelihood(x, logits)
        log_qz_x = losses.gaussian_log_density(z, mean, log_var)
        log_pz = losses.gaussian_log_density(z, 0.0, 0.0)
        if self.kl == "analytic":
            kl = losses.gaussian_kl_standard_normal(mean, log_var)
        else:
            kl = log_qz_x - log_pz
        return {
            "loss": -log_px_z + self.beta * kl,
            "reconstruction": -log_px_z,
            "kl": kl,
            "log_qz_x": log_qz_x,
            "log_pz": log_pz,
        }

    def _track(self, terms):
        for k, v in terms.items():
            self.trackers[k].update_state(tf.reduce_mean(v))
        return {k: m.result() for k, m in self.trackers.items()}

    def train_step(self, data):
        x, _ = data
        with tf.GradientTape() as tape:
            terms = self.terms(x, training=True)
            loss = average(terms["loss"], tf.shape(x)[0])
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return self._track(terms)

    def test_step(self, data):
        x, _ = data
        return self._track(self.terms(x, training=False))

    def endpoints(self):
        def encode(images):
            return self.encode(images)

        def decode(z):
            return self.generate(z)

        out = super().endpoints()
        out["encode"] = (encode, [tf.TensorSpec([None, *self.image_shape], tf.float32, "images")])
        out["decode"] = (decode, [tf.TensorSpec([None, self.latent_dim], tf.float32, "z")])
        return out

    def figures(self, images, labels):
        """The seed's figure (16 test images encoded, z drawn from their posteriors, decoded),
        16 prior samples, reconstructions, and for a 2-D latent the scatter and manifold."""
        x = images[:16]
        mean, log_var = self.encode(x)
        z = mean + tf.exp(0.5 * log_var) * tf.random.stateless_normal(tf.shape(mean), seed=[1, 2])
        out = {
            "posterior_samples": figures.grid(self.generate(z).numpy(), 4),
            "prior_samples": figures.grid(self.sample(16, 0).numpy(), 4),
            "reconstructions": figures.grid(
                np.concatenate([x[:8], self.generate(mean).numpy()[:8]]), 8
            ),
        }
        if self.latent_dim == 2:
            means = np.concatenate([self.encode(images[i : i + 500])[0].numpy() for i in range(0, len(images), 500)])
            out["latent_scatter"] = figures.latent_scatter(means, labels)
            out["latent_manifold"] = figures.grid(self.generate(figures.manifold_latents(20)).numpy(), 20)
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "kl": self.kl,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def build(cfg: VAEConfig, image_shape: tuple, seed: int) -> VAE:
    encoder = conv_net(cfg.encoder, image_shape, 2 * cfg.latent_dim, "encoder")
    decoder = deconv_net(cfg.decoder, cfg.latent_dim, image_shape[-1], "decoder")
    return VAE(encoder, decoder, beta=cfg.beta, kl=cfg.kl, seed=seed, name="vae")
