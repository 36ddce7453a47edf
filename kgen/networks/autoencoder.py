"""The latent autoencoder of latent diffusion (Rombach et al. 2022, appendix G: the encoder and
decoder of their KL-regularised first stage, without the attention and the GAN): residual blocks
with GroupNorm and swish, a strided convolution per downsampling, nearest upsampling back, and a
latent of a spatial shape, image size / 2^(levels - 1) by `latent_channels`. Architecture only."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from kgen.config import num
from kgen.errors import ConfigError
from kgen.networks.unet import res_block


@dataclass
class LatentCoder:
    channels: int = num(32, 1)
    channel_mult: tuple = num((1, 2, 2), 1)  # one entry per resolution level; each level after the first halves
    num_res_blocks: int = num(1, 1)
    latent_channels: int = num(4, 1)
    groups: int = num(8, 1)  # GroupNorm groups; every width must divide by it
    dropout = 0.0  # res_block's; the first stage trains without


def latent_shape(spec: LatentCoder, image_shape: tuple) -> tuple:
    factor = 2 ** (len(spec.channel_mult) - 1)
    h, w = image_shape[:2]
    if h % factor or w % factor:
        raise ConfigError(f"model.network: {len(spec.channel_mult)} levels halve {h}x{w} images "
                          f"{len(spec.channel_mult) - 1} times, which needs sizes divisible by {factor}; "
                          "change model.network.channel_mult or data.image_size")
    return (h // factor, w // factor, spec.latent_channels)


def _check_groups(spec: LatentCoder) -> None:
    for m in spec.channel_mult:
        if (spec.channels * m) % spec.groups:
            raise ConfigError(f"model.network: width {spec.channels * m} does not divide into {spec.groups} groups")


def encoder(spec: LatentCoder, image_shape: tuple, name: str = "encoder") -> keras.Model:
    """images [B, H, W, C] in [-1, 1] -> [B, h, w, 2 * latent_channels]: the posterior's mean,
    then its log-variance."""
    _check_groups(spec)
    latent_shape(spec, image_shape)
    L = keras.layers
    x_in = keras.Input(shape=image_shape, name="images")
    h = L.Conv2D(spec.channels, 3, padding="same", name="in_conv")(x_in)
    for level, mult in enumerate(spec.channel_mult):
        for b in range(spec.num_res_blocks):
            h = res_block(h, None, spec.channels * mult, spec, f"down{level}_{b}")
        if level < len(spec.channel_mult) - 1:
            h = L.Conv2D(h.shape[-1], 3, strides=2, padding="same", name=f"down{level}_sample")(h)
    h = res_block(h, None, h.shape[-1], spec, "mid")
    h = L.Activation("swish")(L.GroupNormalization(spec.groups, name="out_norm")(h))
    out = L.Conv2D(2 * spec.latent_channels, 3, padding="same", dtype="float32", name="out_conv")(h)
    return keras.Model(x_in, out, name=name)


def decoder(spec: LatentCoder, image_shape: tuple, name: str = "decoder") -> keras.Model:
    """latents [B, h, w, latent_channels] -> images [B, H, W, C] (unbounded; [-1, 1] is the
    data's range)."""
    _check_groups(spec)
    L = keras.layers
    z_in = keras.Input(shape=latent_shape(spec, image_shape), name="z")
    top = spec.channels * spec.channel_mult[-1]
    h = L.Conv2D(top, 3, padding="same", name="in_conv")(z_in)
    h = res_block(h, None, top, spec, "mid")
    for level in reversed(range(len(spec.channel_mult))):
        for b in range(spec.num_res_blocks):
            h = res_block(h, None, spec.channels * spec.channel_mult[level], spec, f"up{level}_{b}")
        if level > 0:
            h = L.UpSampling2D(2, interpolation="nearest")(h)
            h = L.Conv2D(h.shape[-1], 3, padding="same", name=f"up{level}_sample")(h)
    h = L.Activation("swish")(L.GroupNormalization(spec.groups, name="out_norm")(h))
    out = L.Conv2D(image_shape[-1], 3, padding="same", dtype="float32", name="out_conv")(h)
    return keras.Model(z_in, out, name=name)
