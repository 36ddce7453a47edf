"""Glow (Kingma and Dhariwal 2018): a multi-scale stack of invertible layers, each with its
log-determinant. Architecture only; the likelihood and its training are the model's.

A level squeezes (2x2 space-to-depth: [H, W, C] -> [H/2, W/2, 4C]) and runs K steps of flow; every
level but the last then factors out half of its channels as latents (RealNVP's multi-scale
architecture, Dinh et al. 2017). A step of flow is

    ActNorm -> invertible 1x1 convolution (LU-decomposed) -> affine coupling

ActNorm is initialised from data as in Glow (`GlowNet.initialize`: each ActNorm's shift and
scale set so that its outputs on a batch of training images have zero mean and unit variance per
channel); the coupling's last convolution starts at zero, so every step starts as ActNorm and a
rotation. Without the data initialisation the flow must learn the scales itself: dequantised MNIST
pixels are mostly within 1/256 of 0, and a coupling's sigmoid scale only contracts.

Departure from Glow, with the reason:
- The factored-out latents are standard normal (RealNVP's choice), not Glow's learned
  conditional prior: one fewer network per level.
The layers compute in float32 whatever the mixed-precision policy: log-determinants summed over
784 dimensions would lose the likelihood's digits in bfloat16.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from kgen.config import ConfigError, num


@dataclass
class Glow:
    levels: int = num(2, 1)  # squeezes; each halves the height and width
    steps: int = num(8, 1)  # steps of flow per level (Glow's K)
    hidden: int = num(128, 1)  # width of each coupling network (Glow's 512)


def latent_shapes(spec: Glow, image_shape: tuple) -> list[tuple]:
    """The shape of each level's latents, in the order `GlowNet.forward` returns them."""
    h, w, c = image_shape
    shapes = []
    for level in range(spec.levels):
        if h % 2 or w % 2:
            raise ConfigError(f"model.network.levels={spec.levels}: level {level + 1} squeezes {h}x{w} images, which "
                              f"needs an even height and width; use at most {level} levels for "
                              f"{image_shape[0]}x{image_shape[1]} images")
        h, w, c = h // 2, w // 2, c * 4
        if level < spec.levels - 1:
            shapes.append((h, w, c // 2))
            c -= c // 2
    shapes.append((h, w, c))
    return shapes


@keras.saving.register_keras_serializable(package="kgen")
class ActNorm(keras.layers.Layer):
    """y = (x + b) * exp(s) per channel; log|det| = H W sum(s)."""

    def build(self, input_shape):
        c = input_shape[-1]
        self.shift = self.add_weight(shape=(c,), initializer="zeros", name="shift")
        self.log_scale = self.add_weight(shape=(c,), initializer="zeros", name="log_scale")

    def forward(self, x):
        hw = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
        return (x + self.shift) * tf.exp(self.log_scale), hw * tf.reduce_sum(self.log_scale)

    def initialize(self, x):
        """Shift and scale so that `x` comes out with zero mean and unit variance per channel."""
        mean, var = tf.nn.moments(x, axes=[0, 1, 2])
        self.shift.assign(-mean)
        self.log_scale.assign(-0.5 * tf.math.log(var + 1e-6))

    def inverse(self, y):
        return y * tf.exp(-self.log_scale) - self.shift


@keras.saving.register_keras_serializable(package="kgen")
class InvertibleConv1x1(keras.layers.Layer):
    """y = x W over the channels, W = P L (U + diag(sign * exp(log_s))) (Glow's LU form): the
    log-determinant is H W sum(log_s), O(C) instead of O(C^3); P and the signs stay fixed. W starts
    as a random rotation (seeded), as in Glow."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def build(self, input_shape):
        import scipy.linalg

        c = input_shape[-1]
        q, _ = np.linalg.qr(np.random.default_rng(self.seed).normal(size=(c, c)))
        p, lower, upper = scipy.linalg.lu(q)
        s = np.diag(upper)
        self.p = tf.constant(p, tf.float32)
        self.sign = tf.constant(np.sign(s), tf.float32)
        self.lower_mask = tf.constant(np.tril(np.ones((c, c)), -1), tf.float32)
        self.lower = self.add_weight(shape=(c, c), initializer=keras.initializers.Constant(lower), name="lower")
        self.upper = self.add_weight(shape=(c, c), initializer=keras.initializers.Constant(np.triu(upper, 1)),
                                     name="upper")
        self.log_s = self.add_weight(shape=(c,), initializer=keras.initializers.Constant(np.log(np.abs(s))),
                                     name="log_s")

    def kernel(self):
        c = self.p.shape[0]
        lower = self.lower * self.lower_mask + tf.eye(c)
        upper = self.upper * tf.transpose(self.lower_mask) + tf.linalg.diag(self.sign * tf.exp(self.log_s))
        return self.p @ lower @ upper

    def forward(self, x):
        hw = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
        return tf.einsum("bhwc,cd->bhwd", x, self.kernel()), hw * tf.reduce_sum(self.log_s)

    def inverse(self, y):
        return tf.einsum("bhwc,cd->bhwd", y, tf.linalg.inv(self.kernel()))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="kgen")
class AffineCoupling(keras.layers.Layer):
    """The second half of the channels, shifted and scaled by a function of the first:
    y_b = (x_b + t(x_a)) * s(x_a), s = sigmoid(raw + 2) (Glow's bounded scale); y_a = x_a. The last
    convolution starts at zero, so every coupling starts as the identity (Glow)."""

    def __init__(self, hidden: int, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden

    def build(self, input_shape):
        c = input_shape[-1]
        self.split = c // 2
        L = keras.layers
        self.net = keras.Sequential([
            L.Conv2D(self.hidden, 3, padding="same", activation="relu", dtype="float32"),
            L.Conv2D(self.hidden, 1, activation="relu", dtype="float32"),
            L.Conv2D(2 * (c - self.split), 3, padding="same", kernel_initializer="zeros", dtype="float32"),
        ], name="coupling_net")
        self.net.build((None, *input_shape[1:-1], self.split))

    def _params(self, xa):
        h = self.net(xa)
        shift, raw = h[..., 0::2], h[..., 1::2]
        return shift, tf.sigmoid(raw + 2.0)

    def forward(self, x):
        xa, xb = x[..., : self.split], x[..., self.split :]
        shift, scale = self._params(xa)
        logdet = tf.reduce_sum(tf.math.log(scale), axis=[1, 2, 3])
        return tf.concat([xa, (xb + shift) * scale], -1), logdet

    def inverse(self, y):
        ya, yb = y[..., : self.split], y[..., self.split :]
        shift, scale = self._params(ya)
        return tf.concat([ya, yb / scale - shift], -1)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def squeeze(x):
    return tf.nn.space_to_depth(x, 2)


def unsqueeze(x):
    return tf.nn.depth_to_space(x, 2)


@keras.saving.register_keras_serializable(package="kgen")
class GlowNet(keras.Model):
    """x [B, H, W, C] -> (latents per level, log|det dz/dx| [B]) and back. Weights only."""

    def __init__(self, levels: int = 2, steps: int = 8, hidden: int = 128, image_shape: tuple = (28, 28, 1),
                 seed: int = 0, **kwargs):
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        self.levels, self.steps, self.hidden, self.seed = levels, steps, hidden, seed
        self.image_shape = tuple(image_shape)
        self.shapes = latent_shapes(Glow(levels, steps, hidden), self.image_shape)
        # one flat list (Keras tracks the weights of layers in a list), three layers per step
        self.flow_layers = []
        h, w, c = self.image_shape
        for i in range(levels):
            h, w, c = h // 2, w // 2, c * 4
            for k in range(steps):
                for layer in (ActNorm(name=f"actnorm_{i}_{k}", dtype="float32"),
                              InvertibleConv1x1(seed * 1000 + 100 * i + k, name=f"invconv_{i}_{k}", dtype="float32"),
                              AffineCoupling(hidden, name=f"coupling_{i}_{k}", dtype="float32")):
                    layer.build((None, h, w, c))
                    self.flow_layers.append(layer)
            if i < levels - 1:
                c -= c // 2
        self.built = True

    def level_layers(self, i: int) -> list:
        n = 3 * self.steps
        return self.flow_layers[i * n : (i + 1) * n]

    def forward(self, x):
        latents, logdet = [], tf.zeros(tf.shape(x)[:1], tf.float32)
        h = tf.cast(x, tf.float32)
        for i in range(self.levels):
            h = squeeze(h)
            for layer in self.level_layers(i):
                h, ld = layer.forward(h)
                logdet += ld
            if i < self.levels - 1:
                c = h.shape[-1] // 2
                latents.append(h[..., :c])
                h = h[..., c:]
        latents.append(h)
        return latents, logdet

    def initialize(self, x):
        """Glow's data-dependent initialisation: a forward pass over `x` (a batch of flow inputs)
        that sets each ActNorm from the statistics of what reaches it."""
        h = tf.cast(x, tf.float32)
        for i in range(self.levels):
            h = squeeze(h)
            for layer in self.level_layers(i):
                if isinstance(layer, ActNorm):
                    layer.initialize(h)
                h, _ = layer.forward(h)
            if i < self.levels - 1:
                h = h[..., h.shape[-1] // 2 :]

    def inverse(self, latents):
        h = latents[-1]
        for i in reversed(range(self.levels)):
            if i < self.levels - 1:
                h = tf.concat([latents[i], h], -1)
            for layer in reversed(self.level_layers(i)):
                h = layer.inverse(h)
            h = unsqueeze(h)
        return h

    def flatten(self, latents):
        return tf.concat([tf.reshape(z, [tf.shape(z)[0], -1]) for z in latents], 1)

    def unflatten(self, z):
        sizes = [int(np.prod(s)) for s in self.shapes]
        parts = tf.split(z, sizes, axis=1)
        return [tf.reshape(p, [-1, *s]) for p, s in zip(parts, self.shapes)]

    def call(self, x):
        latents, logdet = self.forward(x)
        return self.flatten(latents), logdet

    def get_config(self):
        return {**super().get_config(), "levels": self.levels, "steps": self.steps, "hidden": self.hidden,
                "image_shape": list(self.image_shape), "seed": self.seed}


def glow(spec: Glow, image_shape: tuple, seed: int = 0, name: str = "flow") -> GlowNet:
    return GlowNet(spec.levels, spec.steps, spec.hidden, image_shape, seed, name=name)
