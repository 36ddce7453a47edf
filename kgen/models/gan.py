"""Generative adversarial network with the binary cross-entropy objective (Goodfellow et al. 2014)
and DCGAN-style networks (Radford et al. 2016)."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import tensorflow as tf

from kgen import losses, networks
from kgen.models.base import GenerativeModel, average, global_normal, global_uniform
from kgen.networks.conv import ConvNet, DeconvNet


@dataclass
class GANConfig:
    latent_dim: int = 100
    generator: object = field(default_factory=DeconvNet)  # DeconvNet or MLPNet
    discriminator: object = field(default_factory=ConvNet)  # ConvNet or MLPNet
    label_smoothing: float = 0.0  # one-sided: real labels become 1 - label_smoothing
    label_flip: float = 0.0  # probability of swapping a discriminator label (noisy labels)
    d_steps: int = 1  # discriminator updates per generator update
    d_learning_rate: float = 0.0  # 0: the same as optimizer.learning_rate


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

    def __init__(self, generator, discriminator, label_smoothing=0.0, label_flip=0.0, d_steps=1,
                 data_scale="symmetric", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.label_smoothing, self.label_flip, self.d_steps = label_smoothing, label_flip, d_steps
        self.data_scale, self.seed = data_scale, seed
        self.latent_shape = tuple(generator.input_shape[1:])
        self.image_shape = tuple(discriminator.input_shape[1:])
        self.noise = keras.random.SeedGenerator(seed)
        self.trackers = {k: keras.metrics.Mean(k) for k in ("d_loss", "g_loss", "d_real", "d_fake")}
        self.built = True

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        # No Keras-level optimizer: two of our own, each built on its own network's variables.
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def optimizers(self):
        return {"generator": self.g_optimizer, "discriminator": self.d_optimizer}

    def trainable_variables_for(self, optimizer_name):
        net = self.generator if optimizer_name == "generator" else self.discriminator
        return net.trainable_variables

    @property
    def metrics(self):
        return list(self.trackers.values())

    def generate(self, z):
        x = self.generator(z, training=False)
        return (x + 1.0) / 2.0 if self.data_scale == "symmetric" else x

    def _d_step(self, real):
        b = tf.shape(real)[0]
        fake = self.generator(global_normal(b, self.latent_shape, self.noise), training=True)
        real_labels = tf.fill([b, 1], 1.0 - self.label_smoothing)
        fake_labels = tf.zeros([b, 1])
        if self.label_flip > 0:
            flip_r = global_uniform(b, (1,), self.noise) < self.label_flip
            flip_f = global_uniform(b, (1,), self.noise) < self.label_flip
            real_labels = tf.where(flip_r, 1.0 - real_labels, real_labels)
            fake_labels = tf.where(flip_f, 1.0 - fake_labels, fake_labels)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            per_example = losses.binary_cross_entropy_from_logits(real_labels, real_logits) + \
                losses.binary_cross_entropy_from_logits(fake_labels, fake_logits)
            loss = average(per_example, b)
            scaled = self.d_optimizer.scale_loss(loss)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return per_example, real_logits, fake_logits

    def train_step(self, data):
        real, _ = data
        b = tf.shape(real)[0]
        for _ in range(self.d_steps):
            d_loss, real_logits, fake_logits = self._d_step(real)
        z = global_normal(b, self.latent_shape, self.noise)
        with tf.GradientTape() as tape:
            logits = self.discriminator(self.generator(z, training=True), training=True)
            g_per_example = losses.binary_cross_entropy_from_logits(tf.ones_like(logits), logits)
            scaled = self.g_optimizer.scale_loss(average(g_per_example, b))
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self._track(d_loss, g_per_example, real_logits, fake_logits)

    def _track(self, d_loss, g_loss, real_logits, fake_logits):
        self.trackers["d_loss"].update_state(tf.reduce_mean(d_loss))
        self.trackers["g_loss"].update_state(tf.reduce_mean(g_loss))
        self.trackers["d_real"].update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.trackers["d_fake"].update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {k: m.result() for k, m in self.trackers.items()}

    def test_step(self, data):
        """The losses on held-out images, without updates: a discriminator that scores test
        images far below training images is overfitting them."""
        real, _ = data
        b = tf.shape(real)[0]
        fake = self.generator(global_normal(b, self.latent_shape, self.noise), training=False)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(fake, training=False)
        d_loss = losses.binary_cross_entropy_from_logits(tf.ones_like(real_logits), real_logits) + \
            losses.binary_cross_entropy_from_logits(tf.zeros_like(fake_logits), fake_logits)
        g_loss = losses.binary_cross_entropy_from_logits(tf.ones_like(fake_logits), fake_logits)
        return self._track(d_loss, g_loss, real_logits, fake_logits)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "label_smoothing": self.label_smoothing, "label_flip": self.label_flip,
            "d_steps": self.d_steps, "data_scale": self.data_scale, "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        for k in ("generator", "discriminator"):
            config[k] = keras.saving.deserialize_keras_object(config[k])
        return cls(**config)


def build(cfg: GANConfig, image_shape: tuple, data_scale: str, seed: int) -> GAN:
    return GAN(
        networks.generator(cfg.generator, cfg.latent_dim, image_shape),
        networks.discriminator(cfg.discriminator, image_shape),
        label_smoothing=cfg.label_smoothing, label_flip=cfg.label_flip, d_steps=cfg.d_steps,
        data_scale=data_scale, seed=seed, name="gan",
    )
