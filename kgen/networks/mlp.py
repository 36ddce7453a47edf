"""Fully connected generator and discriminator (seed 004, Figure 7: the 256x256 face GAN)."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from kgen.config import choices, num


@dataclass
class MLPNet:
    units: tuple = num((256, 512, 1024), 1)
    negative_slope: float = 0.3  # LeakyReLU, Keras' default
    norm: str = choices("batch", "none")  # after each activation, the seed's order
    out_activation: str = choices("tanh", "none", "sigmoid")  # generator only


def mlp_generator(spec: MLPNet, latent_dim: int, image_shape: tuple, name: str = "generator") -> keras.Sequential:
    """[B, latent_dim] -> Dense stack -> Dense(prod(image_shape)) -> Reshape(image_shape)."""
    layers = [keras.Input(shape=(latent_dim,))]
    for i, u in enumerate(spec.units):
        layers += [keras.layers.Dense(u, name=f"dense_{i}"),
                   keras.layers.LeakyReLU(negative_slope=spec.negative_slope, name=f"act_{i}")]
        if spec.norm == "batch":
            layers.append(keras.layers.BatchNormalization(synchronized=True, name=f"norm_{i}"))
    pixels = 1
    for d in image_shape:
        pixels *= d
    act = None if spec.out_activation == "none" else spec.out_activation
    layers += [keras.layers.Dense(pixels, activation=act, dtype="float32", name="out"),
               keras.layers.Reshape(tuple(image_shape))]
    return keras.Sequential(layers, name=name)


def mlp_discriminator(spec: MLPNet, image_shape: tuple, name: str = "discriminator") -> keras.Sequential:
    """[B, H, W, C] -> Flatten -> Dense stack with LeakyReLU -> Dense(1) logit."""
    layers = [keras.Input(shape=image_shape), keras.layers.Flatten()]
    for i, u in enumerate(spec.units):
        layers += [keras.layers.Dense(u, name=f"dense_{i}"),
                   keras.layers.LeakyReLU(negative_slope=spec.negative_slope, name=f"act_{i}")]
    layers.append(keras.layers.Dense(1, dtype="float32", name="out"))
    return keras.Sequential(layers, name=name)
