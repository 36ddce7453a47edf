"""Adversarial autoencoder (Makhzani et al. 2015): a GAN in the latent space shapes the codes."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import tensorflow as tf

from kgen import losses
from kgen.config import choices, num
from kgen.errors import ConfigError
from kgen.layers.priors import make_prior
from kgen.layers.replicas import global_normal, global_uniform
from kgen.models.base import CodingConfig, GenerativeModel, PriorCoded, minimize, register
from kgen.networks.conv import conv_net, deconv_net
from kgen.networks.mlp import MLPNet, mlp_discriminator


@register("aae")
@dataclass
class AAEConfig(CodingConfig):
    # Makhzani et al.: two hidden layers of 1000 units for the latent discriminator
    discriminator: MLPNet = field(default_factory=lambda: MLPNet(units=(1000, 1000), norm="none"))
    prior: str = choices("mixture", "normal")
    prior_components: int = num(10, 1)
    prior_radius: float = 4.0  # mixture means on a circle of this radius (2-D latents)
    prior_scale: float = num(0.5, 0, open_lo=True)
    supervised: bool = False  # the digit label picks the mixture component (needs labels)
    # none: optimizer.learning_rate (the reconstruction phase always uses it); 0 freezes the phase
    d_learning_rate: float | None = num(None)
    g_learning_rate: float | None = num(None)

    main_loss = "reconstruction"
    data_scales = ("unit",)  # a Bernoulli decoder

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "unit") -> "AAE":
        return build(self, image_shape, seed)

    def role_learning_rates(self) -> dict:
        return {"discriminator": self.d_learning_rate, "generator": self.g_learning_rate}


@keras.saving.register_keras_serializable(package="kgen")
class AAE(PriorCoded, GenerativeModel):
    """An adversarial autoencoder. Each `train_step` runs the paper's three phases in order:

        1. reconstruction: encoder + decoder minimise -log p(x | dec(enc(x))) (Bernoulli);
        2. regularisation, discriminator: D(z) tells prior samples (real) from codes enc(x) (fake);
        3. regularisation, generator: the encoder minimises BCE(D(enc(x)), 1), fooling D.

    Each phase has its own optimizer and touches only its own variables. With `supervised`, the
    one-hot label is given to D and the real sample comes from the label's mixture component
    (Makhzani et al. section 2.3, Figure 4B), which assigns a region of the latent space to each
    digit. The encoder is deterministic, as in the paper's main experiments.

    References:
        Makhzani, Shlens, Jaitly, Goodfellow and Frey, Adversarial Autoencoders, arXiv 1511.05644.
        Seed 000 ("Combining VAE and GAN").
    """

    network_names = ("encoder", "decoder", "discriminator")
    optimizer_roles = {"ae_optimizer": "autoencoder", "d_optimizer": "discriminator", "g_optimizer": "generator"}

    def __init__(self, encoder, decoder, discriminator, prior, supervised=False, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.discriminator, self.prior = encoder, decoder, discriminator, prior
        self.supervised, self.seed = supervised, seed
        self.latent_dim = decoder.input_shape[-1]
        self.latent_shape = (self.latent_dim,)
        self.image_shape = tuple(encoder.input_shape[1:])
        self.components = getattr(prior, "components", 0)
        if supervised and not self.components:
            raise ConfigError("model.supervised=true needs model.prior=mixture (one component per class)")
        self.make_noise(seed)
        self.make_trackers("reconstruction", "d_loss", "g_loss", "d_accuracy")
        self.built = True

    def trainable_variables_for(self, name):
        if name == "autoencoder":
            return self.encoder.trainable_variables + self.decoder.trainable_variables
        if name == "discriminator":
            return self.discriminator.trainable_variables
        return self.encoder.trainable_variables

    def encode(self, x, training=False):
        return self.encoder(x, training=training)

    def generate(self, z):
        return tf.sigmoid(self.decoder(z, training=False))

    def prior_batch(self, labels, noise):
        """Real samples for D, one per example, replica-count invariant."""
        b = tf.shape(labels)[0]
        eps = global_normal(b, self.latent_shape, noise)
        if not self.components:
            return eps
        if self.supervised:
            comp = tf.cast(labels, tf.int32)
        else:
            return self.prior.from_base((global_uniform(b, (1,), noise)[:, 0], eps))
        return self.prior.component_sample(comp, eps)

    def critic(self, z, labels, training):
        if self.supervised:
            z = tf.concat([z, tf.one_hot(tf.cast(labels, tf.int32), self.components)], axis=-1)
        return self.discriminator(z, training=training)

    def reconstruction_phase(self, x):
        return minimize(self.ae_optimizer, self.trainable_variables_for("autoencoder"),
                        lambda: -losses.bernoulli_log_likelihood(x, self.decoder(self.encoder(x, training=True), training=True)))

    def discriminator_phase(self, x, labels):
        z_fake = self.encoder(x, training=True)
        z_real = self.prior_batch(labels, self.noise)

        def loss():
            real, fake = self.critic(z_real, labels, True), self.critic(z_fake, labels, True)
            return losses.discriminator_loss(real, fake), losses.discriminator_accuracy(real, fake)

        return minimize(self.d_optimizer, self.discriminator.trainable_variables, loss)

    def generator_phase(self, x, labels):
        return minimize(self.g_optimizer, self.encoder.trainable_variables,
                        lambda: losses.generator_loss(self.critic(self.encoder(x, training=True), labels, True)))

    def train_step(self, data):
        x, labels = data
        recon = self.reconstruction_phase(x)
        d_loss, accuracy = self.discriminator_phase(x, labels)
        g_loss = self.generator_phase(x, labels)
        return self.track(reconstruction=recon, d_loss=d_loss, g_loss=g_loss, d_accuracy=accuracy)

    def test_step(self, data):
        x, labels = data
        z = self.encoder(x, training=False)
        recon = -losses.bernoulli_log_likelihood(x, self.decoder(z, training=False))
        real, fake = self.critic(self.prior_batch(labels, self.eval_noise), labels, False), self.critic(z, labels, False)
        return self.track(reconstruction=recon, d_loss=losses.discriminator_loss(real, fake),
                          g_loss=losses.generator_loss(fake), d_accuracy=losses.discriminator_accuracy(real, fake))

    def endpoints(self):
        def encode(images):
            return self.encode(images)

        return self.coding_endpoints(encode, [self.image_spec()])

    def figures(self, images, labels):
        comps = self.prior.plot_components() if self.components else {}
        return self.encoder_figures(images, labels, "test set, codes", **comps)

def build(cfg: AAEConfig, image_shape: tuple, seed: int) -> AAE:
    encoder = conv_net(cfg.encoder, image_shape, cfg.latent_dim, "encoder")
    decoder = deconv_net(cfg.decoder, cfg.latent_dim, image_shape[-1], "decoder")
    extra = cfg.prior_components if cfg.supervised else 0
    discriminator = mlp_discriminator(cfg.discriminator, (cfg.latent_dim + extra,))
    prior = make_prior(cfg.prior, cfg.latent_dim, cfg.prior_components, False, seed,
                       **({"layout": "circle", "radius": cfg.prior_radius, "scale": cfg.prior_scale}
                          if cfg.prior == "mixture" else {}))
    return AAE(encoder, decoder, discriminator, prior, cfg.supervised, seed, name="aae")
