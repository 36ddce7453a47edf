"""Adversarial variational Bayes (Mescheder, Nowozin and Geiger 2017): a VAE whose posterior is
implicit, z = f(x, eps), with the KL term estimated by a discriminator T(x, z)."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import tensorflow as tf

from kgen import losses
from kgen.config import num
from kgen.layers.replicas import global_normal
from kgen.models.base import CodingConfig, GenerativeModel, minimize, register
from kgen.networks.conv import ConvNet, conv_net, deconv_net


@register("avb")
@dataclass
class AVBConfig(CodingConfig):
    noise_dim: int = num(8, 1)  # eps of the implicit encoder
    hidden: int = num(256, 1)  # width of the layers that mix features with eps (encoder) or z (T)
    discriminator: ConvNet = field(default_factory=lambda: ConvNet(filters=(32, 64), strides=(2, 2)))
    adaptive_contrast: bool = False  # the paper's section 3.3; off by default
    # independent draws per image that estimate mu(x), sigma(x) for adaptive contrast
    contrast_samples: int = num(8, 2)
    d_learning_rate: float | None = num(None)  # none: optimizer.learning_rate; 0 freezes T

    data_scales = ("unit",)  # a Bernoulli decoder

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "unit") -> "AVB":
        return build(self, image_shape, seed)

    def role_learning_rates(self) -> dict:
        return {"discriminator": self.d_learning_rate}


def implicit_encoder(spec: ConvNet, image_shape, noise_dim, hidden, latent_dim, name="encoder"):
    """[x, eps] -> z: conv features of x, concatenated with eps, through two Dense layers."""
    x = keras.Input(image_shape, name="x")
    eps = keras.Input((noise_dim,), name="eps")
    h = conv_net(spec, image_shape, hidden, "features")(x)
    h = keras.layers.Concatenate()([keras.layers.Activation("relu")(h), eps])
    h = keras.layers.Dense(hidden, activation="relu", name="mix")(h)
    z = keras.layers.Dense(latent_dim, dtype="float32", name="z")(h)
    return keras.Model([x, eps], z, name=name)


def critic_network(spec: ConvNet, image_shape, latent_dim, hidden, name="discriminator"):
    """T(x, z) -> logit: conv features of x and a Dense embedding of z, joined by two layers."""
    x = keras.Input(image_shape, name="x")
    z = keras.Input((latent_dim,), name="z")
    hx = keras.layers.Activation("relu")(conv_net(spec, image_shape, hidden, "x_features")(x))
    hz = keras.layers.Dense(hidden, activation="relu", name="z_features")(z)
    h = keras.layers.Dense(hidden, activation="relu", name="joint")(keras.layers.Concatenate()([hx, hz]))
    return keras.Model([x, z], keras.layers.Dense(1, dtype="float32", name="out")(h), name=name)


@keras.saving.register_keras_serializable(package="kgen")
class AVB(GenerativeModel):
    """AVB, Algorithm 1 of the paper. Each `train_step`:

        1. discriminator: T(x, z) learns to tell z ~ q(z|x) (label 1) from z ~ p(z) (label 0); at
           its optimum T*(x, z) = log q(z|x) - log p(z);
        2. encoder and decoder: minimise -log p(x|z) + T(x, z), z = f(x, eps), the negative ELBO
           with T standing in for the intractable KL term (T's weights held fixed).

    With adaptive contrast (section 3.3), T instead compares the normalised codes
    z_bar = (z - mu(x)) / sigma(x) (moments from `contrast_samples` draws per image) with N(0, I),
    and the KL becomes E[T(x, z_bar)] + E[log r(z|x) - log p(z)], r = N(mu(x), sigma(x)^2), a
    much easier task for T when q is far from the prior.

    References:
        Mescheder, Nowozin and Geiger, Adversarial Variational Bayes, ICML 2017.
        Seed 000 ("Combining VAE and GAN").
    """

    network_names = ("encoder", "decoder", "discriminator")
    optimizer_roles = {"ae_optimizer": "autoencoder", "d_optimizer": "discriminator"}

    def __init__(self, encoder, decoder, discriminator, adaptive_contrast=False, contrast_samples=8, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.discriminator = encoder, decoder, discriminator
        self.adaptive_contrast, self.contrast_samples, self.seed = adaptive_contrast, contrast_samples, seed
        self.latent_dim = decoder.input_shape[-1]
        self.noise_dim = encoder.input_shape[1][-1]
        self.latent_shape = (self.latent_dim,)
        self.image_shape = tuple(decoder.output_shape[1:])
        self.make_noise(seed)
        self.make_trackers("loss", "reconstruction", "kl_estimate", "d_loss", "d_accuracy")
        self.built = True

    def trainable_variables_for(self, name):
        if name == "discriminator":
            return self.discriminator.trainable_variables
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def encode(self, x, eps=None, training=False):
        x = tf.convert_to_tensor(x, tf.float32)
        if eps is None:
            eps = tf.random.stateless_normal([tf.shape(x)[0], self.noise_dim], seed=[self.seed, 11])
        return self.encoder([x, eps], training=training)

    def generate(self, z):
        return tf.sigmoid(self.decoder(z, training=False))

    def _codes(self, x, training):
        """z ~ q(z|x), and the contrast pieces (z_bar, log r - log p) when adaptive."""
        b = tf.shape(x)[0]
        noise = self.noise if training else self.eval_noise
        if not self.adaptive_contrast:
            return self.encoder([x, global_normal(b, (self.noise_dim,), noise)], training=training), None
        # z and the m draws that estimate mu(x), sigma(x) are independent: moments computed from
        # draws that include z itself pull z_bar towards 0 and bias the KL estimate
        m = self.contrast_samples + 1
        eps = tf.reshape(global_normal(b, (m, self.noise_dim), noise), [b * m, self.noise_dim])
        zs = tf.reshape(self.encoder([tf.repeat(x, m, axis=0), eps], training=training), [b, m, self.latent_dim])
        z, moments = zs[:, 0], zs[:, 1:]
        mu = tf.reduce_mean(moments, axis=1)
        sd = tf.math.reduce_std(moments, axis=1) + 1e-4
        z_bar = (z - mu) / sd
        log_r = losses.gaussian_log_density(z, mu, 2.0 * tf.math.log(sd))
        log_p = losses.gaussian_log_density(z, 0.0, 0.0)
        return z, (z_bar, log_r - log_p)

    def discriminator_phase(self, x):
        b = tf.shape(x)[0]
        z, contrast = self._codes(x, True)
        q_sample = tf.stop_gradient(z if contrast is None else contrast[0])
        p_sample = global_normal(b, self.latent_shape, self.noise)  # p(z), or r~ = N(0, I) with AC

        def loss():
            tq, tp = self.discriminator([x, q_sample], training=True), self.discriminator([x, p_sample], training=True)
            return losses.discriminator_loss(tq, tp), losses.discriminator_accuracy(tq, tp)

        return minimize(self.d_optimizer, self.discriminator.trainable_variables, loss)

    def elbo_terms(self, x, training):
        return self._elbo(x, *self._codes(x, training), training)

    def _elbo(self, x, z, contrast, training):
        recon = -losses.bernoulli_log_likelihood(x, self.decoder(z, training=training))
        if contrast is None:
            kl = tf.reshape(self.discriminator([x, z], training=False), [-1])
        else:
            z_bar, log_ratio = contrast
            kl = tf.reshape(self.discriminator([x, z_bar], training=False), [-1]) + log_ratio
        return recon, kl

    def autoencoder_phase(self, x):
        def loss():
            recon, kl = self.elbo_terms(x, True)
            return recon + kl, recon, kl

        return minimize(self.ae_optimizer, self.trainable_variables_for("autoencoder"), loss)

    def train_step(self, data):
        x, _ = data
        d_loss, accuracy = self.discriminator_phase(x)
        loss, recon, kl = self.autoencoder_phase(x)
        return self.track(loss=loss, reconstruction=recon, kl_estimate=kl, d_loss=d_loss, d_accuracy=accuracy)

    def test_step(self, data):
        x, _ = data
        z, contrast = self._codes(x, False)
        recon, kl = self._elbo(x, z, contrast, False)
        # T sees what it is trained on: z ~ q(z|x), or with adaptive contrast the normalised z_bar
        tq = self.discriminator([x, z if contrast is None else contrast[0]], training=False)
        tp = self.discriminator([x, global_normal(tf.shape(x)[0], self.latent_shape, self.eval_noise)], training=False)
        return self.track(loss=recon + kl, reconstruction=recon, kl_estimate=kl,
                          d_loss=losses.discriminator_loss(tq, tp), d_accuracy=losses.discriminator_accuracy(tq, tp))

    def endpoints(self):
        def encode(images, seed):
            eps = tf.random.stateless_normal([tf.shape(images)[0], self.noise_dim],
                                             seed=tf.stack([tf.cast(seed, tf.int32), tf.constant(1, tf.int32)]))
            return self.encode(images, eps)

        # implicit posterior: encode draws one z ~ q(z|x) per image; the seed picks the draw
        return self.coding_endpoints(encode, [self.image_spec(), tf.TensorSpec([], tf.int32, "seed")])

    def figures(self, images, labels):
        return self.encoder_figures(images, labels, "test set, one draw of q(z|x)")

def build(cfg: AVBConfig, image_shape: tuple, seed: int) -> AVB:
    encoder = implicit_encoder(cfg.encoder, image_shape, cfg.noise_dim, cfg.hidden, cfg.latent_dim)
    decoder = deconv_net(cfg.decoder, cfg.latent_dim, image_shape[-1], "decoder")
    critic = critic_network(cfg.discriminator, image_shape, cfg.latent_dim, cfg.hidden)
    return AVB(encoder, decoder, critic, cfg.adaptive_contrast, cfg.contrast_samples, seed, name="avb")
