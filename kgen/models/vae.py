"""Variational autoencoder (Kingma and Welling 2014) with a Bernoulli decoder."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from kgen import figures
from kgen.config import choices, num
from kgen.errors import ConfigError
from kgen.layers.priors import make_prior, tfd
from kgen.layers.replicas import global_normal
from kgen.models.base import CodingConfig, GenerativeModel, PriorCoded, minimize, register
from kgen.networks.conv import conv_net, deconv_net


@register("vae")
@dataclass
class VAEConfig(CodingConfig):
    prior: str = choices("normal", "mixture")
    prior_components: int = num(2, 1)  # mixture only
    prior_trainable: bool = True  # mixture only: learn means, scales and weights
    likelihood: str = choices("bernoulli", "gaussian")
    likelihood_scale: float | None = num(None, 0, open_lo=True)  # gaussian only: fixed sigma; none learns it
    beta: float = 1.0  # weight of the KL term; 1 is the ELBO
    kl_warmup_steps: int = 0  # beta rises linearly from 0 over this many steps (Bowman et al. 2016)
    # mc: the single-sample estimate log q(z|x) - log p(z) the seed's code uses; analytic: the
    # closed form, lower variance, only for the standard normal prior.
    kl: str = choices("mc", "analytic")
    # test-set likelihood after training: the ELBO and the IWAE bound with this many samples
    iwae_samples: int = num(1000, 1)
    eval_images: int = num(1000)  # 0 = no likelihood evaluation

    data_scales = ("unit",)  # Bernoulli or Gaussian likelihoods of pixels in [0, 1]

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "unit") -> "VAE":
        return build(self, image_shape, seed)


@keras.saving.register_keras_serializable(package="kgen")
class VAE(PriorCoded, GenerativeModel):
    """A VAE whose probabilistic parts are tfp.distributions: encoder -> posterior
    q(z|x) = N(mu, diag exp(log_var)), z by reparameterisation, decoder -> p(x|z) (Bernoulli on
    logits, or Gaussian with a fixed or learned scale), prior p(z) (standard normal, or a mixture
    of K Gaussians). Trained on the single-sample negative ELBO

        L(x) = -log p(x|z) + beta * [log q(z|x) - log p(z)],   z ~ q(z|x)

    whose three log terms are the "reconstruction", "KL" and "prior" terms of the seed
    (004 section 3.1.1) and are logged separately. With a mixture prior the KL has no closed form,
    so the bracket is its one-sample Monte Carlo estimate (unbiased); with the standard normal
    prior `kl="analytic"` uses the closed form instead.

    Args:
        encoder: image -> [B, 2 * latent_dim] (mean then log-variance).
        decoder: [B, latent_dim] -> [B, H, W, C] (logits, or the Gaussian mean).
        prior: a layer with `distribution()`: StandardNormalPrior or MixturePrior.
        likelihood: "bernoulli" or "gaussian".
        likelihood_scale: the Gaussian's sigma; None learns it.
        beta, kl_warmup_steps: KL weight and its linear warm-up.
        kl: "mc" or "analytic".
        seed: seed of the reparameterisation noise.
        iwae_samples, eval_images: the test-set likelihood bounds after training (0 images: none).

    Example:
        >>> enc = conv_net(ConvNet(filters=(8,), strides=(2,)), (8, 8, 1), 4, "encoder")
        >>> dec = deconv_net(DeconvNet((4, 4, 4), (8,), strides=(2,)), 2, 1, "decoder")
        >>> vae = VAE(enc, dec, StandardNormalPrior(2)); vae.compile(optimizer="adam")

    References:
        Kingma and Welling, Auto-Encoding Variational Bayes, ICLR 2014.
        Burda, Grosse and Salakhutdinov, Importance Weighted Autoencoders, ICLR 2016 (the bound).
        Seed 004 (Junnuthula 2023), sections 1.2, 3.1.1 and 3.2.2.
    """

    network_names = ("encoder", "decoder")

    def __init__(self, encoder, decoder, prior, likelihood="bernoulli", likelihood_scale=None, beta=1.0,
                 kl_warmup_steps=0, kl="mc", seed=0, iwae_samples=1000, eval_images=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.prior = encoder, decoder, prior
        self.likelihood, self.likelihood_scale = likelihood, likelihood_scale
        self.beta, self.kl_warmup_steps, self.kl, self.seed = beta, kl_warmup_steps, kl, seed
        self.iwae_samples, self.eval_images = iwae_samples, eval_images
        if kl == "analytic" and type(prior).__name__ != "StandardNormalPrior":
            raise ConfigError("model.kl=analytic needs model.prior=normal; a mixture's KL has no closed form")
        self.latent_dim = decoder.input_shape[-1]
        self.latent_shape = (self.latent_dim,)
        self.image_shape = tuple(encoder.input_shape[1:])
        if likelihood == "gaussian" and likelihood_scale is None:
            self.log_sigma = self.add_weight(shape=(), initializer="zeros", name="log_sigma")
        self.make_noise(seed)
        self.make_trackers("loss", "reconstruction", "kl", "log_qz_x", "log_pz")
        self.built = True

    # The networks as the objective calls them. The objective's methods also take them as
    # arguments (encode, decode), which the conditional VAE passes bound to a batch's labels.
    def encode(self, x, training=False):
        mean, log_var = tf.split(self.encoder(x, training=training), 2, axis=-1)
        return mean, log_var

    def decode(self, z, training=False):
        return self.decoder(z, training=training)

    def posterior(self, mean, log_var):
        return tfd().MultivariateNormalDiag(loc=mean, scale_diag=tf.exp(0.5 * log_var))

    def observation(self, decoded):
        """p(x|z) as a distribution over whole images."""
        if self.likelihood == "bernoulli":
            return tfd().Independent(tfd().Bernoulli(logits=decoded), reinterpreted_batch_ndims=3)
        sigma = self.likelihood_scale if self.likelihood_scale is not None else tf.exp(tf.convert_to_tensor(self.log_sigma))
        return tfd().Independent(tfd().Normal(loc=decoded, scale=sigma), reinterpreted_batch_ndims=3)

    def generate(self, z):
        return self.decoded_to_unit(self.decode(z))

    def decoded_to_unit(self, decoded):
        return tf.sigmoid(decoded) if self.likelihood == "bernoulli" else tf.clip_by_value(decoded, 0.0, 1.0)

    def kl_weight(self, training):
        if not training or not self.kl_warmup_steps:
            return self.beta
        step = tf.cast(self.optimizer.iterations, tf.float32) + 1.0
        return self.beta * tf.minimum(1.0, step / float(self.kl_warmup_steps))

    def terms(self, x, training, encode=None, decode=None):
        """Per-example terms of the negative ELBO (nats); encode(x, training) -> (mean, log_var)
        and decode(z, training) -> the decoder's output, the model's own by default."""
        encode, decode = encode or self.encode, decode or self.decode
        mean, log_var = encode(x, training)
        eps = global_normal(tf.shape(x)[0], self.latent_shape, self.noise if training else self.eval_noise)
        z = mean + tf.exp(0.5 * log_var) * eps
        posterior, prior = self.posterior(mean, log_var), self.prior.distribution()
        log_px_z = self.observation(decode(z, training)).log_prob(x)
        log_qz_x = posterior.log_prob(z)
        log_pz = prior.log_prob(z)
        kl = tfd().kl_divergence(posterior, prior) if self.kl == "analytic" else log_qz_x - log_pz
        return {
            "loss": -log_px_z + self.kl_weight(training) * kl,
            "reconstruction": -log_px_z,
            "kl": kl,
            "log_qz_x": log_qz_x,
            "log_pz": log_pz,
        }

    def log_weights(self, x, k, chunk=0, encode=None, decode=None):
        """log w_j = log p(x|z_j) + log p(z_j) - log q(z_j|x), z_j ~ q(z|x): [B, k]. `chunk`
        (the index of this batch of images) is folded into the noise seed, so that successive
        batches do not reuse the same draws. decode receives the k draws of every image at once,
        draw-major ([k * B] codes)."""
        encode, decode = encode or self.encode, decode or self.decode
        mean, log_var = encode(x, False)
        posterior = self.posterior(mean, log_var)
        b = tf.shape(x)[0]
        seed = tf.stack([tf.constant(self.seed, tf.int32), 7 + tf.cast(chunk, tf.int32)])
        z = tf.random.stateless_normal([k, b, self.latent_dim], seed=seed) * tf.exp(0.5 * log_var) + mean
        flat = tf.reshape(z, [k * b, self.latent_dim])
        x_rep = tf.tile(x, [k, 1, 1, 1])
        log_px = tf.reshape(self.observation(decode(flat, False)).log_prob(x_rep), [k, b])
        log_w = log_px + self.prior.distribution().log_prob(z) - posterior.log_prob(z)
        return tf.transpose(log_w)

    def likelihood_bounds(self, images, k, *beside, chunk=4096):
        """Test-set bounds on log p(x) in nats per image: the ELBO (mean of log w) and the IWAE
        bound log (1/k) sum_j w_j, which tightens as k grows (Burda et al. 2016). `beside`:
        int arrays as long as `images`, passed on to log_weights (the conditional VAE's labels)."""
        per = max(1, chunk // k)
        elbo, iwae = [], []
        fn = tf.function(lambda x, c, *more: self.log_weights(x, k, c, *more))
        for c, i in enumerate(range(0, len(images), per)):
            x, c_ = tf.constant(images[i : i + per], tf.float32), tf.constant(c, tf.int32)
            log_w = fn(x, c_, *(tf.constant(a[i : i + per], tf.int32) for a in beside))
            elbo.append(tf.reduce_mean(log_w, axis=1).numpy())
            iwae.append((tf.reduce_logsumexp(log_w, axis=1) - np.log(k)).numpy())
        return np.concatenate(elbo), np.concatenate(iwae)

    def final_metrics(self, images, labels):
        if not self.eval_images:
            return {}
        return self.bound_metrics(images[: self.eval_images], *self.likelihood_bounds(images[: self.eval_images],
                                                                                      self.iwae_samples))

    def bound_metrics(self, x, elbo, iwae):
        """The likelihood bounds of `x` (per image, nats) as the run's metrics."""
        k = self.iwae_samples
        out = {"images": int(len(x)), "iwae_samples": int(k)}
        if self.likelihood == "bernoulli":
            # grey levels under a Bernoulli: a cross-entropy, not a likelihood of the 256-level
            # data, so every figure is named as such
            to_bits = 1.0 / (float(np.prod(x.shape[1:])) * np.log(2.0))
            out["neg_elbo_cross_entropy_nats"] = float(-elbo.mean())
            out["nll_iwae_cross_entropy_nats"] = float(-iwae.mean())
            out["neg_elbo_cross_entropy_bits_per_dim"] = float(-elbo.mean() * to_bits)
            out["nll_iwae_cross_entropy_bits_per_dim"] = float(-iwae.mean() * to_bits)
            out["note"] = ("Bernoulli likelihood of grey levels in [0, 1] (continuous relaxation), as in the seeds; "
                           "not comparable with discretised likelihoods of binarised MNIST")
        else:
            # a density of continuous values in [0, 1]; without dequantisation it is not a
            # likelihood of 8-bit images and can go below 0 bits/dim, so no bits/dim are reported
            out["neg_elbo_nats"], out["nll_iwae_nats"] = float(-elbo.mean()), float(-iwae.mean())
            out["note"] = "Gaussian density of pixels in [0, 1] (nats); no bits/dim: the data were not dequantised"
        return out

    def train_step(self, data):
        return self.elbo_step(data[0])

    def elbo_step(self, x, encode=None, decode=None):
        def loss():
            terms = self.terms(x, True, encode, decode)
            return terms["loss"], terms

        _, terms = minimize(self.optimizer, self.trainable_variables, loss)
        return self.track(**terms)

    def test_step(self, data):
        return self.track(**self.terms(data[0], False))

    def endpoints(self):
        def encode(images):
            return self.encode(images)

        return self.coding_endpoints(encode, [self.image_spec()])

    def component_grid(self, per_component: int = 8) -> np.ndarray:
        """What each mode of a mixture prior generates: row k decodes mu_k + sigma_k * eps for the
        same `per_component` draws of eps in every row (so columns differ only by the component), in
        the order of the components' weights."""
        eps = tf.random.stateless_normal([per_component, self.latent_dim], seed=[7, 0])
        order = np.argsort(-self.prior.logits.numpy())
        rows = [self.generate(self.prior.component_sample(tf.fill([per_component], int(c)), eps)).numpy() for c in order]
        return figures.grid(np.concatenate(rows), per_component)

    def figures(self, images, labels):
        """The seed's figure (16 test images encoded, z drawn from their posteriors, decoded),
        16 prior samples, reconstructions (inputs above outputs), interpolations between two
        encoded images (linear row, spherical row), and for a 2-D latent the scatter against the
        prior's components and the decoded manifold."""
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
        # two encoded test images, decoded along the way from one to the other
        m_ab = mean.numpy()[:2]
        out["interpolation"] = figures.grid(
            np.concatenate([self.generate(figures.interpolate(m_ab[0], m_ab[1], 10, kind)).numpy()
                            for kind in ("linear", "spherical")]), 10)
        if hasattr(self.prior, "component_sample"):
            out["prior_components"] = self.component_grid()
        if self.latent_dim == 2:
            means = np.concatenate([self.encode(images[i : i + 500])[0].numpy() for i in range(0, len(images), 500)])
            comps = self.prior.plot_components() if hasattr(self.prior, "plot_components") else {}
            out["latent_scatter"] = figures.latent_scatter(means, labels, **comps)
            out["latent_manifold"] = figures.grid(self.generate(figures.manifold_latents(20)).numpy(), 20)
        return out


def build(cfg: VAEConfig, image_shape: tuple, seed: int) -> VAE:
    encoder = conv_net(cfg.encoder, image_shape, 2 * cfg.latent_dim, "encoder")
    decoder = deconv_net(cfg.decoder, cfg.latent_dim, image_shape[-1], "decoder")
    prior = make_prior(cfg.prior, cfg.latent_dim, cfg.prior_components, cfg.prior_trainable, seed)
    return VAE(encoder, decoder, prior, likelihood=cfg.likelihood, likelihood_scale=cfg.likelihood_scale,
               beta=cfg.beta, kl_warmup_steps=cfg.kl_warmup_steps, kl=cfg.kl, seed=seed,
               iwae_samples=cfg.iwae_samples, eval_images=cfg.eval_images, name="vae")
