"""Class-conditional models: the GAN, VAE and DDPM objectives with the label as an input.

Each is its unconditional family with the networks called on (input, label): the objectives are
unchanged, so everything the trainer does for the family (strategies, checkpoints, TensorBoard,
export) holds, and the unconditional models never see a label. The cGAN's samples are (image,
label) pairs, which the GAN's objective passes between its networks without looking inside; the
CVAE and the CDDPM hand the VAE's and the DDPM's objectives their networks bound to the batch's
labels (`coders`, `network_on`). What they add:

- `sample(num_samples, seed)` draws the labels uniformly (a pure function of the seed);
- `sample_class(labels, seed)` draws one image per requested label (the DDPM also takes
  `guidance`), exported in the SavedModel;
- `generate(z)` without labels assigns the classes in order, in equal contiguous blocks, so that the
  epoch grid of a recipe with `train.grid_rows=10` shows one row per class.

References:
    Mirza and Osindero, Conditional Generative Adversarial Nets, 2014.
    Miyato and Koyama, cGANs with Projection Discriminator, ICLR 2018.
    Sohn, Lee and Yan, Learning Structured Output Representation using Deep Conditional
    Generative Models, NeurIPS 2015.
    Ho and Salimans, Classifier-Free Diffusion Guidance, 2022.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from kgen import figures, losses
from kgen.config import num
from kgen.errors import ConfigError
from kgen.layers.priors import make_prior
from kgen.layers.replicas import global_uniform
from kgen.models.base import register
from kgen.models.ddpm import DDPM, DDPMConfig
from kgen.models.gan import GAN, GANConfig
from kgen.models.vae import VAE, VAEConfig
from kgen.networks import conditional as cnets
from kgen.networks.unet import unet


class Labelled:
    """Label helpers shared by the conditional models (`num_classes` set by each)."""

    num_classes: int = 0

    def grid_labels(self, n):
        """Classes in order, equal contiguous blocks: row k of a K-row grid is class k."""
        n = tf.cast(n, tf.int32)
        return tf.range(n) * self.num_classes // tf.maximum(n, 1)

    def uniform_labels(self, n, seed):
        seed = tf.stack([tf.cast(seed, tf.int32), tf.constant(104_729, tf.int32)])
        return tf.random.stateless_uniform(tf.reshape(tf.cast(n, tf.int32), [1]), seed=seed, maxval=self.num_classes,
                                           dtype=tf.int32)

    def labels_spec(self):
        return tf.TensorSpec([None], tf.int32, "labels")

    def class_grid(self, per_class: int = 10) -> np.ndarray:
        """One row per class, `per_class` samples each (fixed seed)."""
        labels = np.repeat(np.arange(self.num_classes, dtype=np.int32), per_class)
        return figures.grid(self.sample_class(tf.constant(labels), 0).numpy(), per_class)


class LabelledDecoder(Labelled):
    """Models whose `generate(z, labels)` decodes latents in one pass (the GAN, the VAE)."""

    def sample(self, num_samples, seed):
        return self.generate(self.prior_noise(num_samples, seed), self.uniform_labels(num_samples, seed))

    def sample_class(self, labels, seed):
        labels = tf.cast(labels, tf.int32)
        return self.generate(self.prior_noise(tf.shape(labels)[0], seed), labels)

    def sample_class_endpoint(self) -> tuple:
        def sample_class(labels, seed):
            return self.sample_class(labels, seed)

        return sample_class, [self.labels_spec(), tf.TensorSpec([], tf.int32, "seed")]


def check_num_classes(num_classes: int, family: str) -> None:
    if num_classes < 2:
        raise ConfigError(f"{family}: model.num_classes={num_classes}; a conditional model needs at least 2 classes")


# ---- GAN -----------------------------------------------------------------------------------------


@register("cgan")
@dataclass
class CGANConfig(GANConfig):
    num_classes: int = num(10, 2)
    label_embed_dim: int = num(50, 1)  # the generator's learned label code, concatenated to z
    # AC-GAN's auxiliary classifier (Odena et al. 2017) beside the projection: a softmax head on
    # D's features, its cross-entropy on real images added to D's loss and on fakes (with the
    # labels they were asked for) to G's, times this weight; 0 is the projection alone
    aux_weight: float = num(0.0, 0)

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "symmetric") -> "ConditionalGAN":
        check_num_classes(self.num_classes, "cgan")
        gen = cnets.conditional_generator(self.generator, self.latent_dim, image_shape, self.num_classes,
                                          self.label_embed_dim)
        disc = cnets.projection_discriminator(self.discriminator, image_shape, self.num_classes, self.aux_weight > 0)
        model = ConditionalGAN(gen, disc, num_classes=self.num_classes, label_smoothing=self.label_smoothing,
                               label_flip=self.label_flip, d_steps=self.d_steps, data_scale=data_scale,
                               seed=seed, aux_weight=self.aux_weight, name="cgan")
        return model


@keras.saving.register_keras_serializable(package="kgen")
class ConditionalGAN(LabelledDecoder, GAN):
    """The GAN's alternating BCE objective with G(z, y) and a projection discriminator D(x, y).
    Fakes in a step carry the labels of the real batch beside them, so the discriminator sees the
    same class mix in both halves and can only tell them apart by the images."""

    def __init__(self, generator, discriminator, num_classes=10, label_smoothing=0.0, label_flip=0.0, d_steps=1,
                 data_scale="symmetric", seed=0, aux_weight=0.0, **kwargs):
        super().__init__(generator, discriminator, label_smoothing, label_flip, d_steps, data_scale, seed, **kwargs)
        self.num_classes, self.aux_weight = num_classes, aux_weight
        self.latent_shape = tuple(generator.input_shape[0][1:])
        self.image_shape = tuple(discriminator.input_shape[0][1:])
        if aux_weight:
            self.make_trackers("d_loss", "g_loss", "d_real", "d_fake", "class_acc_real", "class_acc_fake")

    # The samples are (image, label) pairs: a fake carries the label it was asked for, the
    # label of the real image beside it.
    def real_of(self, data):
        return data

    def latent_like(self, real, noise):
        return GAN.latent_like(self, real, noise), real[1]

    def G(self, latent, training):
        return self.generator(latent, training=training), latent[1]

    def D_and_classes(self, sample, training):
        """(logit [B, 1], class logits [B, K] or None)."""
        out = self.discriminator(sample, training=training)
        return (out[0], out[1]) if self.aux_weight else (out, None)

    def D(self, sample, training):
        return self.D_and_classes(sample, training)[0]

    def _aux(self, class_logits, y, name):
        """The auxiliary classifier's per-example cross-entropy, its accuracy tracked under `name`."""
        y = tf.cast(y, tf.int32)
        self.trackers[name].update_state(tf.cast(tf.equal(tf.argmax(class_logits, -1, tf.int32), y), tf.float32))
        return self.aux_weight * tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=class_logits)

    # Real images only teach D's classifier: fakes of the wrong class labelled as asked would
    # teach it to accept them (a known weakness of AC-GAN's fake term, Gong et al. 2019).
    def d_loss(self, real, fake, real_labels=1.0, fake_labels=0.0, training=True):
        if not self.aux_weight:
            return super().d_loss(real, fake, real_labels, fake_labels, training)
        real_logits, real_classes = self.D_and_classes(real, training)
        fake_logits = self.D(fake, training)
        loss = losses.discriminator_loss(real_logits, fake_logits, real_labels, fake_labels)
        return loss + self._aux(real_classes, real[1], "class_acc_real"), real_logits, fake_logits

    def g_loss(self, fake, training=True):
        if not self.aux_weight:
            return super().g_loss(fake, training)
        logits, classes = self.D_and_classes(fake, training)
        return losses.generator_loss(logits) + self._aux(classes, fake[1], "class_acc_fake")

    def generate(self, z, labels=None):
        labels = self.grid_labels(tf.shape(z)[0]) if labels is None else labels
        return self.to_unit(self.G((z, labels), False)[0])

    def endpoints(self):
        return {**GAN.endpoints(self), "sample_class": self.sample_class_endpoint()}

    def figures(self, images, labels):
        return {"class_grid": self.class_grid()}


# ---- VAE -----------------------------------------------------------------------------------------


@register("cvae")
@dataclass
class CVAEConfig(VAEConfig):
    num_classes: int = num(10, 2)

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "unit") -> "ConditionalVAE":
        check_num_classes(self.num_classes, "cvae")
        k = self.num_classes
        encoder = cnets.conditional_encoder(self.encoder, image_shape, k, 2 * self.latent_dim)
        decoder = cnets.conditional_decoder(self.decoder, self.latent_dim, image_shape[-1], k)
        prior = make_prior(self.prior, self.latent_dim, self.prior_components, self.prior_trainable, seed)
        model = ConditionalVAE(encoder, decoder, prior, num_classes=k, likelihood=self.likelihood,
                               likelihood_scale=self.likelihood_scale, beta=self.beta,
                               kl_warmup_steps=self.kl_warmup_steps, kl=self.kl, seed=seed,
                               iwae_samples=self.iwae_samples, eval_images=self.eval_images, name="cvae")
        return model


@keras.saving.register_keras_serializable(package="kgen")
class ConditionalVAE(LabelledDecoder, VAE):
    """The VAE's negative ELBO of log p(x|y): q(z|x, y), p(x|z, y), the prior p(z) unchanged
    (Sohn et al.'s CVAE with a label-independent prior). The likelihood bounds after training are
    bounds on log p(x|y) of the test images given their true labels."""

    def __init__(self, encoder, decoder, prior, num_classes=10, likelihood="bernoulli", likelihood_scale=None,
                 beta=1.0, kl_warmup_steps=0, kl="mc", seed=0, iwae_samples=1000, eval_images=0, **kwargs):
        super().__init__(encoder, decoder, prior, likelihood, likelihood_scale, beta, kl_warmup_steps, kl, seed,
                         iwae_samples, eval_images, **kwargs)
        self.num_classes = num_classes
        self.latent_dim = decoder.input_shape[0][-1]
        self.latent_shape = (self.latent_dim,)
        self.image_shape = tuple(encoder.input_shape[0][1:])

    def encode(self, x, training=False, labels=None):
        mean, log_var = tf.split(self.encoder([x, labels], training=training), 2, axis=-1)
        return mean, log_var

    def decode(self, z, training=False, labels=None):
        return self.decoder([z, labels], training=training)

    def coders(self, labels, draws=1):
        """(encode, decode) bound to a batch's labels, for the VAE's objective; decode sees
        `draws` codes per image, draw-major (log_weights)."""
        return (lambda x, training: self.encode(x, training, labels),
                lambda z, training: self.decode(z, training, tf.tile(labels, [draws])))

    def train_step(self, data):
        x, y = data
        return self.elbo_step(x, *self.coders(y))

    def test_step(self, data):
        x, y = data
        return self.track(**self.terms(x, False, *self.coders(y)))

    def log_weights(self, x, k, chunk, labels):
        return VAE.log_weights(self, x, k, chunk, *self.coders(labels, k))

    def final_metrics(self, images, labels):
        if not self.eval_images:
            return {}
        x, y = images[: self.eval_images], labels[: self.eval_images]
        return self.bound_metrics(x, *self.likelihood_bounds(x, self.iwae_samples, y))

    def generate(self, z, labels=None):
        labels = self.grid_labels(tf.shape(z)[0]) if labels is None else labels
        return self.decoded_to_unit(self.decode(z, False, labels))

    def endpoints(self):
        def encode(images, labels):
            return self.encode(images, False, labels)

        return {**self.coding_endpoints(encode, [self.image_spec(), self.labels_spec()]),
                "sample_class": self.sample_class_endpoint()}

    def figures(self, images, labels):
        """One row per class, and reconstructions (inputs above outputs) given the true labels."""
        x, y = np.asarray(images[:8], np.float32), tf.constant(labels[:8], tf.int32)
        mean, _ = self.encode(tf.constant(x), False, y)
        return {"class_grid": self.class_grid(),
                "reconstructions": figures.grid(np.concatenate([x, self.generate(mean, y).numpy()]), 8)}


# ---- DDPM ----------------------------------------------------------------------------------------


@register("cddpm")
@dataclass
class CDDPMConfig(DDPMConfig):
    num_classes: int = num(10, 2)
    p_uncond: float = num(0.1, 0, 1, open_hi=True)  # label dropout: the share trained as unconditional
    guidance: float = num(1.0, 0)  # w of `sample` and the grids; `sample_class` takes its own

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "symmetric") -> "ConditionalDDPM":
        check_num_classes(self.num_classes, "cddpm")
        network = unet(self.network, image_shape, "unet", self.num_classes)
        ema = unet(self.network, image_shape, "ema_unet", self.num_classes)
        model = ConditionalDDPM(network, ema, self.num_classes, self.p_uncond, self.guidance, self.schedule,
                                self.timesteps, self.ema_decay, self.sample_steps, self.eta, seed,
                                self.final_ancestral, self.min_snr_gamma, self.sampler, name="cddpm")
        model.copy_weights_to_ema()
        return model


@keras.saving.register_keras_serializable(package="kgen")
class ConditionalDDPM(Labelled, DDPM):
    """eps_theta(x_t, t, y) trained with L_simple, the label replaced by the null label K with
    probability `p_uncond`, so that one network is both the conditional and the unconditional
    model; sampled with classifier-free guidance (Ho and Salimans 2022, their eq. 6):

        eps~ = (1 + w) eps(x_t, t, y) - w eps(x_t, t, null).

    w = 0 is the conditional model alone; larger w trades diversity for class fidelity. Both
    predictions come from one batched pass of twice the batch.
    """

    def __init__(self, network, ema_network, num_classes=10, p_uncond=0.1, guidance=1.0, schedule_kind="linear",
                 timesteps=1000, ema_decay=0.999, sample_steps=50, eta=0.0, seed=0, final_ancestral=True,
                 min_snr_gamma=0.0, sampler="ddim", **kwargs):
        super().__init__(network, ema_network, schedule_kind, timesteps, ema_decay, sample_steps, eta, seed,
                         final_ancestral, min_snr_gamma, sampler, **kwargs)
        self.num_classes, self.p_uncond, self.guidance = num_classes, p_uncond, guidance

    def dropped(self, labels, training):
        """The labels the network sees: in training, each replaced by the null label K with
        probability p_uncond."""
        y = tf.cast(labels, tf.int32)
        if training and self.p_uncond > 0:
            drop = global_uniform(tf.shape(y)[0], (), self.noise) < self.p_uncond
            y = tf.where(drop, self.num_classes, y)
        return y

    def network_on(self, network, training, labels=None):
        """eps(x_t, t) given `labels` (None: the null label, the unconditional model)."""
        def predict(x_t, t):
            y = tf.fill([tf.shape(x_t)[0]], self.num_classes) if labels is None else labels
            return network([x_t, t, self.dropped(y, training)], training=training)

        return predict

    def train_step(self, data):
        x0, y = data
        return self.diffusion_step(x0, self.network_on(self.network, True, y))

    def test_step(self, data):
        x0, y = data
        return self.track(loss=self.diffusion_loss(x0, self.network_on(self.ema_network, False, y), False))

    def eps(self, x_t, t, ema=True, labels=None):
        return self.network_on(self.ema_network if ema else self.network, False, labels)(x_t, t)

    def guided_eps(self, x_t, t, labels, guidance):
        b = tf.shape(x_t)[0]
        both = self.ema_network([tf.concat([x_t, x_t], 0), tf.concat([t, t], 0),
                                 tf.concat([tf.cast(labels, tf.int32), tf.fill([b], self.num_classes)], 0)],
                                training=False)
        cond, uncond = tf.split(tf.cast(both, tf.float32), 2)
        w = tf.cast(guidance, tf.float32)
        return (1.0 + w) * cond - w * uncond

    def eps_for(self, cond):
        """() (inpainting, editing, denoising, which ask for no class): the null label alone;
        (labels, guidance): guided."""
        if not cond:
            return self.eps
        labels, guidance = cond
        return lambda x_t, t: self.guided_eps(x_t, t, labels, guidance)

    def _guided(self, labels):
        return (labels, tf.constant(self.guidance, tf.float32))

    # the grid's classes in order; samples of uniform classes; both at the recipe's guidance
    def generate(self, z, steps=None, seed=0, cond=None):
        cond = self._guided(self.grid_labels(tf.shape(z)[0])) if cond is None else cond
        return DDPM.generate(self, z, steps, seed, cond)

    def sample(self, num_samples, seed, steps=None, cond=None):
        cond = self._guided(self.uniform_labels(num_samples, seed)) if cond is None else cond
        return DDPM.sample(self, num_samples, seed, steps, cond)

    def sample_ancestral(self, num_samples, seed, progress=True, cond=None):
        cond = self._guided(self.uniform_labels(num_samples, seed)) if cond is None else cond
        return DDPM.sample_ancestral(self, num_samples, seed, progress, cond)

    def sample_class(self, labels, seed, guidance=None):
        labels = tf.cast(labels, tf.int32)
        w = tf.constant(self.guidance, tf.float32) if guidance is None else tf.cast(guidance, tf.float32)
        return self.generate(self.prior_noise(tf.shape(labels)[0], seed), None, seed, (labels, w))

    def endpoints(self):
        def sample_class(labels, seed, guidance):
            return self.sample_class(labels, seed, guidance)

        def default_guidance():
            return tf.constant(self.guidance, tf.float32)

        spec = [self.labels_spec(), tf.TensorSpec([], tf.int32, "seed"), tf.TensorSpec([], tf.float32, "guidance")]
        return {**DDPM.endpoints(self), "sample_class": (sample_class, spec), "default_guidance": (default_guidance, [])}

    def figures(self, images, labels):
        return {**DDPM.figures(self, images, labels), "class_grid": self.class_grid()}
