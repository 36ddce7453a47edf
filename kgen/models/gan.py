"""Generative adversarial network with the binary cross-entropy objective (Goodfellow et al. 2014)
and DCGAN-style networks (Radford et al. 2016)."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import tensorflow as tf

from kgen import losses, networks
from kgen.config import num
from kgen.layers.replicas import global_normal, global_uniform
from kgen.models.base import FamilyConfig, GenerativeModel, minimize, register
from kgen.networks.conv import ConvNet, DeconvNet


@register("gan")
@dataclass
class GANConfig(FamilyConfig):
    latent_dim: int = num(100, 1)
    generator: object = field(default_factory=DeconvNet)  # DeconvNet or MLPNet
    discriminator: object = field(default_factory=ConvNet)  # ConvNet or MLPNet
    label_smoothing: float = num(0.0, 0, 1, open_hi=True)  # one-sided: real labels become 1 - label_smoothing
    label_flip: float = num(0.0, 0, 1)  # probability of swapping a discriminator label (noisy labels)
    d_steps: int = num(1, 1)  # discriminator updates per generator update
    d_learning_rate: float | None = num(None)  # none: optimizer.learning_rate; 0 freezes D

    main_loss = "g_loss"

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "symmetric") -> "GAN":
        return build(self, image_shape, data_scale, seed)

    def role_learning_rates(self) -> dict:
        return {"discriminator": self.d_learning_rate}


@keras.saving.register_keras_serializable(package="kgen")
class GAN(GenerativeModel):
    """A GAN trained by alternating updates:

        discriminator: min  BCE(D(x), 1) + BCE(D(G(z)), 0)
        generator:     min  BCE(D(G(z)), 1)      (labels flipped: the non-saturating loss)

    D outputs a logit; the sigmoid is folded into the cross-entropy for numerical stability, which
    computes the same function as the seeds' "dense + sigmoid" output with a probability loss.
    Logs d_loss, g_loss, and the mean D(x) and D(G(z)) as probabilities: D(x) near 1 with D(G(z))
    near 0 for many epochs means the discriminator won (vanishing generator gradient); both near
    0.5 is the equilibrium; sample grids that stop changing with a falling g_loss show collapse.

    Args:
        generator: [B, latent_dim] -> images in the data range ([-1, 1] with tanh).
        discriminator: images -> [B, 1] logits.
        label_smoothing, label_flip: discriminator label noise (Salimans et al. 2016), off in the
            seeds' recipes.
        d_steps: discriminator updates per generator update; each draws fresh noise and sees the
            same real batch.
        data_scale: "symmetric" ([-1, 1]) or "unit" ([0, 1]): how generated images map to [0, 1].

    References:
        Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014.
        Radford, Metz and Chintala, Unsupervised Representation Learning with Deep Convolutional
        GANs, ICLR 2016.
        Seed 004 (Junnuthula 2023), sections 3.1.2 and 3.2.1.
    """

    network_names = ("generator", "discriminator")
    # no Keras-level optimizer: two of our own, each built on its own network's variables
    optimizer_roles = {"g_optimizer": "generator", "d_optimizer": "discriminator"}

    def __init__(self, generator, discriminator, label_smoothing=0.0, label_flip=0.0, d_steps=1,
                 data_scale="symmetric", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.label_smoothing, self.label_flip, self.d_steps = label_smoothing, label_flip, d_steps
        self.data_scale, self.seed = data_scale, seed
        self.latent_shape = tuple(generator.input_shape[1:])
        self.image_shape = tuple(discriminator.input_shape[1:])
        self.make_noise(seed)
        self.make_trackers("d_loss", "g_loss", "d_real", "d_fake")
        self.built = True

    def trainable_variables_for(self, optimizer_name):
        net = self.generator if optimizer_name == "generator" else self.discriminator
        return net.trainable_variables

    # What the objective sees of a batch, and the networks on it. Here the samples are images;
    # the conditional GAN's are (image, label) pairs, so this objective serves both unchanged.
    def real_of(self, data):
        return data[0]

    def latent_like(self, real, noise):
        """Generator inputs for a batch the size of `real`, drawn from `noise`."""
        return global_normal(batch_size(real), self.latent_shape, noise)

    def G(self, latent, training):
        return self.generator(latent, training=training)

    def D(self, sample, training):
        return self.discriminator(sample, training=training)

    def to_unit(self, x):
        return (x + 1.0) / 2.0 if self.data_scale == "symmetric" else x

    def generate(self, z):
        return self.to_unit(self.G(z, False))

    def _d_step(self, real):
        b = batch_size(real)
        fake = self.G(self.latent_like(real, self.noise), True)
        real_labels, fake_labels = 1.0 - self.label_smoothing, 0.0
        if self.label_flip > 0:
            flip_r = global_uniform(b, (1,), self.noise) < self.label_flip
            flip_f = global_uniform(b, (1,), self.noise) < self.label_flip
            real_labels = tf.where(flip_r, 1.0 - real_labels, real_labels)
            fake_labels = tf.where(flip_f, 1.0 - fake_labels, fake_labels)

        return minimize(self.d_optimizer, self.discriminator.trainable_variables,
                        lambda: self.d_loss(real, fake, real_labels, fake_labels))

    # The objective's two halves, per example; the conditional GAN adds its auxiliary classifier.
    def d_loss(self, real, fake, real_labels=1.0, fake_labels=0.0, training=True):
        """(per-example discriminator loss, real logits, fake logits)."""
        real_logits = self.D(real, training)
        fake_logits = self.D(fake, training)
        return losses.discriminator_loss(real_logits, fake_logits, real_labels, fake_labels), real_logits, fake_logits

    def g_loss(self, fake, training=True):
        return losses.generator_loss(self.D(fake, training))

    def train_step(self, data):
        real = self.real_of(data)
        for _ in range(self.d_steps):
            d_loss, real_logits, fake_logits = self._d_step(real)
        latent = self.latent_like(real, self.noise)
        g_loss = minimize(self.g_optimizer, self.generator.trainable_variables,
                          lambda: self.g_loss(self.G(latent, True)))
        return self._track(d_loss, g_loss, real_logits, fake_logits)

    def _track(self, d_loss, g_loss, real_logits, fake_logits):
        return self.track(d_loss=d_loss, g_loss=g_loss, d_real=tf.sigmoid(real_logits), d_fake=tf.sigmoid(fake_logits))

    def test_step(self, data):
        """The losses on held-out images, without updates: a discriminator that scores test
        images far below training images is overfitting them."""
        real = self.real_of(data)
        fake = self.G(self.latent_like(real, self.eval_noise), False)
        d_loss, real_logits, fake_logits = self.d_loss(real, fake, training=False)
        return self._track(d_loss, self.g_loss(fake, training=False), real_logits, fake_logits)


def batch_size(samples):
    """The batch size of images or of (image, label) pairs."""
    return tf.shape(tf.nest.flatten(samples)[0])[0]


def build(cfg: GANConfig, image_shape: tuple, data_scale: str, seed: int) -> GAN:
    return GAN(
        networks.generator(cfg.generator, cfg.latent_dim, image_shape),
        networks.discriminator(cfg.discriminator, image_shape),
        label_smoothing=cfg.label_smoothing, label_flip=cfg.label_flip, d_steps=cfg.d_steps,
        data_scale=data_scale, seed=seed, name="gan",
    )
