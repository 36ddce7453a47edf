"""The first stage of latent diffusion (Rombach et al. 2022, section 3.1 and appendix G): an
autoencoder with a spatial latent and a slight KL regularisation ("KL-reg"), trained on its own."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kgen import figures
from kgen.config import choices, num
from kgen.layers.replicas import global_normal
from kgen.models.base import FamilyConfig, GenerativeModel, minimize, register
from kgen.networks.autoencoder import LatentCoder, decoder, encoder


@register("autoencoder")
@dataclass
class AutoencoderConfig(FamilyConfig):
    network: LatentCoder = field(default_factory=LatentCoder)
    # Rombach et al.'s KL weight (their KL-reg first stages, appendix G): the latent stays close
    # to a Gaussian in scale without the blur a VAE's weight of 1 brings
    kl_weight: float = num(1e-6, 0)
    # their reconstruction term is L1 plus LPIPS and a patch GAN; LPIPS needs ImageNet weights,
    # which kgen does not assume, so here L1 (or L2) alone: sharper than L2, blurrier than theirs
    reconstruction: str = choices("l1", "l2")

    data_scales = ("symmetric",)  # as the diffusion model that follows: images in [-1, 1]

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "symmetric") -> "Autoencoder":
        return Autoencoder(encoder(self.network, image_shape), decoder(self.network, image_shape), self.kl_weight,
                           self.reconstruction, seed, name="autoencoder")


@keras.saving.register_keras_serializable(package="kgen")
class Autoencoder(GenerativeModel):
    """q(z|x) = N(mu(x), diag sigma^2(x)) over a latent of shape [h, w, c], a decoder back to
    the image; per image (sums over pixels and latent entries, as their code does)

        L(x) = |x - D(z)|_1 + kl_weight * KL(q(z|x) || N(0, I)),   z ~ q(z|x).

    With kl_weight ~ 1e-6 this is an autoencoder, not a generative model on its own (`sample`
    decodes N(0, I) latents, which it was never asked to decode well); latent diffusion learns the
    latents' distribution.

    Args:
        encoder: images in [-1, 1] -> [B, h, w, 2c] (mean, then log-variance).
        decoder: [B, h, w, c] -> images (the data's [-1, 1] range).
        kl_weight: weight of the KL term.
        reconstruction: "l1" or "l2".
        seed: seed of the reparameterisation noise.

    References:
        Rombach, Blattmann, Lorenz, Esser and Ommer, High-Resolution Image Synthesis with Latent
        Diffusion Models, CVPR 2022.
    """

    network_names = ("encoder", "decoder")

    def __init__(self, encoder, decoder, kl_weight=1e-6, reconstruction="l1", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.kl_weight, self.reconstruction, self.seed = kl_weight, reconstruction, seed
        self.image_shape = tuple(encoder.input_shape[1:])
        self.latent_shape = tuple(decoder.input_shape[1:])
        self.make_noise(seed)
        self.make_trackers("loss", "reconstruction", "kl")
        self.built = True

    def posterior(self, x, training=False):
        """(mean, log-variance) of q(z|x), x in [-1, 1]; the log-variance clipped to [-30, 20]
        as in their DiagonalGaussianDistribution, so exp() never overflows early in training."""
        mean, log_var = tf.split(self.encoder(x, training=training), 2, axis=-1)
        return mean, tf.clip_by_value(log_var, -30.0, 20.0)

    def terms(self, x, training):
        mean, log_var = self.posterior(x, training)
        eps = global_normal(tf.shape(x)[0], self.latent_shape, self.noise if training else self.eval_noise)
        z = mean + tf.exp(0.5 * log_var) * eps
        error = x - tf.cast(self.decoder(z, training=training), tf.float32)
        rec = tf.reduce_sum(tf.abs(error) if self.reconstruction == "l1" else tf.square(error), axis=[1, 2, 3])
        kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_var) - 1.0 - log_var, axis=[1, 2, 3])
        return {"loss": rec + self.kl_weight * kl, "reconstruction": rec, "kl": kl}

    def train_step(self, data):
        x, _ = data

        def loss():
            terms = self.terms(x, True)
            return terms["loss"], terms

        _, terms = minimize(self.optimizer, self.trainable_variables, loss)
        return self.track(**terms)

    def test_step(self, data):
        x, _ = data
        return self.track(**self.terms(x, False))

    def encode(self, images):
        """images in [0, 1] -> the posterior means (the latents, unscaled)."""
        return self.posterior(tf.convert_to_tensor(images, tf.float32) * 2.0 - 1.0)[0]

    def generate(self, z):
        return tf.clip_by_value((tf.cast(self.decoder(z, training=False), tf.float32) + 1.0) / 2.0, 0.0, 1.0)

    def endpoints(self):
        def encode(images):
            return self.encode(images)

        return self.coding_endpoints(encode, [self.image_spec()])

    def final_metrics(self, images, labels):
        """On the test images: the reconstruction's mean absolute error and PSNR in [0, 1] units,
        and the latents' standard deviation (latent diffusion scales them by its inverse)."""
        x = (images + 1.0) / 2.0
        z = np.concatenate([self.encode(x[i : i + 256]).numpy() for i in range(0, len(x), 256)])
        rec = np.concatenate([self.generate(z[i : i + 256]).numpy() for i in range(0, len(z), 256)])
        mse = np.mean((rec - x) ** 2, axis=(1, 2, 3))
        return {"reconstruction_mae": float(np.mean(np.abs(rec - x))),
                "reconstruction_psnr": float(np.mean(10.0 * np.log10(1.0 / np.maximum(mse, 1e-10)))),
                "latent_std": float(z.std()), "images": int(len(x))}

    def figures(self, images, labels):
        x = (images[:8] + 1.0) / 2.0
        return {"reconstructions": figures.grid(np.concatenate([x, self.generate(self.encode(x)).numpy()]), 8)}
