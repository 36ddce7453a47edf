"""Sinusoidal timestep embedding (Vaswani et al. 2017, as used by Ho et al. 2020)."""

import math

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kgen")
class SinusoidalEmbedding(keras.layers.Layer):
    """t [B] -> [B, dim]: [sin(t w_i), cos(t w_i)], w_i = 10000^(-i / (dim/2)). No weights."""

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def call(self, t):
        half = self.dim // 2
        freqs = tf.exp(-math.log(10000.0) * tf.range(half, dtype=tf.float32) / half)
        args = tf.cast(tf.reshape(t, [-1, 1]), tf.float32) * freqs[None]
        return tf.cast(tf.concat([tf.sin(args), tf.cos(args)], axis=-1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package="kgen")
class LabelPlanes(keras.layers.Layer):
    """y [B] int -> [B, H, W, K]: the one-hot label as K constant image channels, so a
    convolutional encoder sees the class at every position (a CVAE's q(z|x, y)). No weights."""

    def __init__(self, num_classes: int, height: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.height, self.width = num_classes, height, width

    def call(self, y):
        code = tf.one_hot(tf.cast(y, tf.int32), self.num_classes, dtype=self.compute_dtype)
        return tf.tile(code[:, None, None, :], [1, self.height, self.width, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "height": self.height, "width": self.width}
