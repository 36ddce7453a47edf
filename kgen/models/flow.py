"""A normalizing flow with an exact likelihood: Glow (Kingma and Dhariwal 2018) on the
multi-scale architecture of RealNVP (Dinh et al. 2017), for seed 003's "flow-based models"."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kgen import figures
from kgen.config import num
from kgen.layers.priors import tfd
from kgen.layers.replicas import global_uniform
from kgen.models.base import Alternatives, FamilyConfig, GenerativeModel, minimize, register
from kgen.networks.flow import Glow, glow


@register("flow")
@dataclass
class FlowConfig(FamilyConfig):
    network: Glow = field(default_factory=Glow)
    temperature: float = num(1.0, 0, open_lo=True)  # of the epoch grids (`sample` takes its own)
    bits: int = num(8, 1, 16)  # the data's bit depth: 2^bits levels per pixel
    init_images: int = num(512, 1)  # training images of ActNorm's data-dependent initialisation

    data_scales = ("unit",)  # pixels in [0, 1] that are (level / (2^bits - 1))
    main_loss = "bits_per_dim"

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "unit") -> "Flow":
        return Flow(glow(self.network, image_shape, seed), self.temperature, self.bits, seed, self.init_images,
                    name="flow")


def bits_per_dim(log_prob, dims: int, bits: int = 8):
    """Bits per dimension of the discrete data from the density of its dequantised points on
    [0, 1]^D: -(log p - D ln 2^bits) / (D ln 2). The density of y = (x + u) / 2^bits bounds the
    probability of the discrete x from below (Theis et al. 2016), so this is an upper bound."""
    return -(log_prob - dims * bits * math.log(2.0)) / (dims * math.log(2.0))


@keras.saving.register_keras_serializable(package="kgen")
class Flow(GenerativeModel):
    """An invertible network f with latents z = f(y - 1/2) ~ N(0, I) and the exact density

        log p(y) = log N(f(y - 1/2); 0, I) + log |det df/dy|

    of dequantised images y = (x + u) / 2^bits, x the integer levels and u ~ U[0, 1)^D (uniform
    dequantisation, Dinh et al. 2017; Theis et al. 2016): a density on [0, 1]^D, whose average
    over u bounds the discrete likelihood of x. Trained on bits/dim (the per-example negative
    log-likelihood of x's bound, in bits per pixel), which is what the literature reports.

    Args:
        network: the invertible network (`kgen.networks.flow.GlowNet`).
        temperature: the latents' standard deviation in the epoch grids (Glow samples at 0.7-1).
        bits: the bit depth of the data (8 for MNIST).
        init_images: how many training images `initialize_from_data` reads (the trainer calls it
            once, before the first step of a new run).

    References:
        Dinh, Sohl-Dickstein and Bengio, Density Estimation Using Real NVP, ICLR 2017.
        Kingma and Dhariwal, Glow: Generative Flow with Invertible 1x1 Convolutions, NeurIPS 2018.
        Theis, van den Oord and Bethge, A Note on the Evaluation of Generative Models, ICLR 2016.
    """

    network_names = ("network",)

    def __init__(self, network, temperature=1.0, bits=8, seed=0, init_images=512, **kwargs):
        super().__init__(**kwargs)
        self.network, self.temperature, self.bits, self.seed = network, temperature, bits, seed
        self.init_images = init_images
        self.image_shape = tuple(network.image_shape)
        self.dims = int(np.prod(self.image_shape))
        self.latent_shape = (self.dims,)
        self.base = tfd().Normal(0.0, 1.0)
        self.make_noise(seed)
        self.make_trackers("bits_per_dim")
        self.built = True

    def log_prob(self, images):
        """[N, H, W, C] dequantised images in [0, 1) -> [N] log densities (nats) on [0, 1]^D."""
        z, logdet = self.network(tf.cast(images, tf.float32) - 0.5)
        return tf.reduce_sum(self.base.log_prob(z), axis=1) + logdet

    def dequantise(self, x, noise=None, u=None):
        """x in [0, 1] as level / (2^bits - 1) -> (level + u) / 2^bits, u ~ U[0, 1) drawn from the
        seed generator `noise` (replica-invariant) unless given."""
        levels = 2.0**self.bits
        x = tf.round(tf.cast(x, tf.float32) * (levels - 1.0))
        u = global_uniform(tf.shape(x)[0], self.image_shape, noise) if u is None else u
        return (x + u) / levels

    def initialize_from_data(self, images):
        """ActNorm's data-dependent initialisation (Glow) from dequantised training images."""
        x = tf.constant(images, tf.float32)
        u = tf.random.stateless_uniform(tf.shape(x), seed=[self.seed, 2])
        self.network.initialize(self.dequantise(x, u=u) - 0.5)

    def train_step(self, data):
        x, _ = data
        y = self.dequantise(x, self.noise)
        bpd = minimize(self.optimizer, self.network.trainable_variables,
                       lambda: bits_per_dim(self.log_prob(y), self.dims, self.bits))
        return self.track(bits_per_dim=bpd)

    def test_step(self, data):
        x, _ = data
        return self.track(bits_per_dim=bits_per_dim(self.log_prob(self.dequantise(x, self.eval_noise)), self.dims,
                                                     self.bits))

    def encode(self, images):
        z, _ = self.network(tf.cast(images, tf.float32) - 0.5)
        return z

    def generate(self, z):
        """Latents [N, D] -> images in [0, 1]: the inverse of the flow, clipped to the cube."""
        x = self.network.inverse(self.network.unflatten(tf.cast(z, tf.float32))) + 0.5
        return tf.clip_by_value(x, 0.0, 1.0)

    def sample(self, num_samples, seed, temperature=None):
        t = 1.0 if temperature is None else temperature  # the model's own distribution unless asked
        return self.generate(self.prior_noise(num_samples, seed) * tf.cast(t, tf.float32))

    def grid_images(self, noise):
        return self.generate(noise * self.temperature)

    def endpoints(self):
        def sample(num_samples, seed, temperature=None):
            return self.sample(num_samples, seed, temperature)

        def log_prob(images):
            return self.log_prob(images)

        def encode(images):
            return self.encode(images)

        out = GenerativeModel.endpoints(self)
        plain = out["sample"][1]
        out["sample"] = (sample, Alternatives([plain, [*plain, tf.TensorSpec([], tf.float32, "temperature")]]))
        out["log_prob"] = (log_prob, [self.image_spec()])
        out["encode"] = (encode, [self.image_spec()])
        return out

    def test_bits_per_dim(self, images, seed: int = 0, batch: int = 500) -> float:
        """Bits/dim of test images (one dequantisation draw each, fixed by `seed`)."""
        gen = keras.random.SeedGenerator(seed)
        fn = tf.function(lambda x: bits_per_dim(self.log_prob(self.dequantise(x, gen)), self.dims, self.bits))
        return float(np.mean(np.concatenate([fn(tf.constant(images[i : i + batch])).numpy()
                                             for i in range(0, len(images), batch)])))

    def final_metrics(self, images, labels):
        return {"test_bits_per_dim": self.test_bits_per_dim(images), "test_images": int(len(images)),
                "note": "exact likelihood of the uniformly dequantised 8-bit test images (one draw each): "
                        "an upper bound on bits/dim of the discrete data, comparable with Glow's and RealNVP's tables"}

    def figures(self, images, labels):
        return {f"samples_t{t:g}": figures.grid(self.sample(64, 0, t).numpy(), 8) for t in (0.7, 1.0)}
