"""Convolutional architectures shared by the VAE, GAN and AAE families: weights only, no objective.

`ConvNet` (Conv2D stack -> Flatten -> Dense) serves as VAE encoder and GAN discriminator;
`DeconvNet` (Dense -> Reshape -> Conv2DTranspose stack) as VAE decoder and GAN generator. The
specs are plain dataclasses so that recipes can state a seed's layer table field by field.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from kgen.config import ConfigError, choices, num
from kgen.layers.replicas import ReplicaDropout

ACTIVATIONS = ("relu", "leaky_relu", "swish")


@dataclass
class ConvNet:
    filters: tuple = num((512, 512), 1)
    kernel_size: int = num(3, 1)
    strides: tuple = num((2, 2), 1)
    padding: str = choices("valid", "same")
    activation: str = choices(*ACTIVATIONS)
    negative_slope: float = 0.3  # LeakyReLU only; Keras' default, which the seeds' code keeps
    dropout: float = num(0.0, 0, 1, open_hi=True)  # after each convolution's activation
    norm: str = choices("none", "batch")


@dataclass
class DeconvNet:
    start_shape: tuple = num((7, 7, 32), 1)  # what the first Dense is reshaped to
    filters: tuple = num((512, 512), 1)
    kernel_size: int = num(3, 1)
    strides: tuple = num((2, 2), 1)
    out_kernel_size: int = num(3, 1)
    out_strides: int = num(1, 1)
    activation: str = choices(*ACTIVATIONS)
    negative_slope: float = 0.3
    norm: str = choices("none", "batch")
    use_bias: bool = True
    out_activation: str = choices("none", "tanh", "sigmoid")  # none: logits


def _activation(name: str, slope: float, layer_name: str | None = None):
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=slope, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def _norm(kind: str, name: str):
    # synchronized: batch statistics over the global batch under tf.distribute, so a multi-GPU
    # step computes what a single-device step computes.
    return keras.layers.BatchNormalization(synchronized=True, name=name) if kind == "batch" else None


def _check_lengths(spec, name: str) -> None:
    if len(spec.filters) != len(spec.strides):
        raise ConfigError(
            f"{name}: filters {spec.filters} and strides {spec.strides} need one entry per layer"
        )


def conv_net(spec: ConvNet, input_shape: tuple, out_dim: int, name: str) -> keras.Sequential:
    """[B, H, W, C] -> [B, out_dim]; the last Dense is float32 so losses stay float32."""
    layers = [keras.Input(shape=input_shape), *conv_layers(spec, name)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(out_dim, dtype="float32", name="out")]
    return keras.Sequential(layers, name=name)


def conv_layers(spec: ConvNet, name: str) -> list:
    """The convolution stack of a ConvNet (each convolution, its norm, activation and dropout)."""
    _check_lengths(spec, name)
    layers = []
    for i, (f, s) in enumerate(zip(spec.filters, spec.strides)):
        layers.append(keras.layers.Conv2D(f, spec.kernel_size, s, padding=spec.padding, name=f"conv_{i}"))
        layers.append(_norm(spec.norm, f"norm_{i}"))
        layers.append(_activation(spec.activation, spec.negative_slope, f"act_{i}"))
        if spec.dropout:
            layers.append(ReplicaDropout(spec.dropout, name=f"dropout_{i}"))
    return [layer for layer in layers if layer is not None]


def deconv_net(spec: DeconvNet, latent_dim: int, out_channels: int, name: str) -> keras.Sequential:
    """[B, latent_dim] -> [B, H, W, out_channels], H = start height * prod(strides) * out_strides."""
    _check_lengths(spec, name)
    units = 1
    for d in spec.start_shape:
        units *= d
    layers = [
        keras.Input(shape=(latent_dim,)),
        keras.layers.Dense(units, use_bias=spec.use_bias, name="dense"),
        _norm(spec.norm, "dense_norm"),
        _activation(spec.activation, spec.negative_slope, "dense_act"),
        keras.layers.Reshape(tuple(spec.start_shape)),
    ]
    for i, (f, s) in enumerate(zip(spec.filters, spec.strides)):
        layers.append(
            keras.layers.Conv2DTranspose(
                f, spec.kernel_size, s, padding="same", use_bias=spec.use_bias, name=f"deconv_{i}"
            )
        )
        layers.append(_norm(spec.norm, f"norm_{i}"))
        layers.append(_activation(spec.activation, spec.negative_slope, f"act_{i}"))
    layers.append(
        keras.layers.Conv2DTranspose(
            out_channels,
            spec.out_kernel_size,
            spec.out_strides,
            padding="same",
            use_bias=spec.use_bias,
            activation=None if spec.out_activation == "none" else spec.out_activation,
            dtype="float32",
            name="out",
        )
    )
    return keras.Sequential([layer for layer in layers if layer is not None], name=name)


def output_size(spec: DeconvNet) -> int:
    size = spec.start_shape[0] * spec.out_strides
    for s in spec.strides:
        size *= s
    return size
