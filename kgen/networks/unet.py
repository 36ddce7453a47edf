"""The DDPM U-Net (Ho et al. 2020, appendix B; the PixelCNN++ backbone): residual blocks with
GroupNorm and swish and the time embedding added per block, self-attention at chosen
resolutions, skip connections between the down and up paths. Architecture only."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from kgen.config import num
from kgen.errors import ConfigError
from kgen.layers.embedding import SinusoidalEmbedding
from kgen.layers.replicas import ReplicaDropout
from kgen.networks.conditional import label_embedding


@dataclass
class UNet:
    channels: int = num(64, 1)
    channel_mult: tuple = num((1, 2, 2), 1)  # one entry per resolution level
    num_res_blocks: int = num(2, 1)
    attention_levels: tuple = (2,)  # levels (0 = full resolution) with self-attention
    groups: int = num(8, 1)  # GroupNorm groups; every width must divide by it
    dropout: float = num(0.0, 0, 1, open_hi=True)
    heads: int = num(1, 1)


def res_block(x, temb, out_ch, spec, name):
    """GroupNorm-swish-conv twice with a skip; `temb` (None: none, as in the latent
    autoencoder) is projected and added between the two convolutions."""
    L = keras.layers
    h = L.GroupNormalization(spec.groups, name=f"{name}_norm1")(x)
    h = L.Activation("swish")(h)
    h = L.Conv2D(out_ch, 3, padding="same", name=f"{name}_conv1")(h)
    if temb is not None:
        t = L.Dense(out_ch, name=f"{name}_time")(L.Activation("swish")(temb))
        h = h + L.Reshape((1, 1, out_ch))(t)
    h = L.GroupNormalization(spec.groups, name=f"{name}_norm2")(h)
    h = L.Activation("swish")(h)
    if spec.dropout:
        h = ReplicaDropout(spec.dropout)(h)
    h = L.Conv2D(out_ch, 3, padding="same", name=f"{name}_conv2")(h)
    if x.shape[-1] != out_ch:
        x = L.Conv2D(out_ch, 1, name=f"{name}_skip")(x)
    return x + h


def _attention(x, spec, name):
    L = keras.layers
    h, w, c = x.shape[1:]
    y = L.GroupNormalization(spec.groups, name=f"{name}_norm")(x)
    y = L.Reshape((h * w, c))(y)
    y = L.MultiHeadAttention(spec.heads, c // spec.heads, name=f"{name}_mha")(y, y)
    return x + L.Reshape((h, w, c))(y)


def unet(spec: UNet, image_shape: tuple, name: str = "unet", num_classes: int = 0) -> keras.Model:
    """[x_t [B, H, W, C], t [B] int32] -> predicted noise [B, H, W, C] (float32).

    With `num_classes` = K > 0 a third input, the label y [B] int32 in [0, K], where K is the null
    label (no class): its learned embedding is added to the time embedding, so every residual
    block sees it (the class-conditional U-Net of Ho and Salimans 2022 and of Dhariwal and Nichol
    2021). Training the null label on a fraction of the batch gives the unconditional model that
    classifier-free guidance needs, in the same weights.

    Sizes that do not halve evenly (28 with three levels does; 30 would not) are zero-padded up to
    a multiple of 2^(levels - 1) and cropped back at the end.
    """
    L = keras.layers
    for m in spec.channel_mult:
        if (spec.channels * m) % spec.groups:
            raise ConfigError(f"U-Net width {spec.channels * m} does not divide into {spec.groups} groups")
    x_in = keras.Input(shape=image_shape, name="x_t")
    t_in = keras.Input(shape=(), dtype="int32", name="t")
    levels = len(spec.channel_mult)
    factor = 2 ** (levels - 1)
    H, W = image_shape[0], image_shape[1]
    pad_h, pad_w = (-H) % factor, (-W) % factor
    x = L.ZeroPadding2D(((0, pad_h), (0, pad_w)))(x_in) if pad_h or pad_w else x_in

    temb = SinusoidalEmbedding(spec.channels, name="time_embedding")(t_in)
    temb = L.Dense(4 * spec.channels, activation="swish", name="time_mlp1")(temb)
    temb = L.Dense(4 * spec.channels, name="time_mlp2")(temb)
    inputs = [x_in, t_in]
    if num_classes:
        y_in = keras.Input(shape=(), dtype="int32", name="label")
        temb = temb + label_embedding(num_classes + 1, 4 * spec.channels)(y_in)
        inputs.append(y_in)

    h = L.Conv2D(spec.channels, 3, padding="same", name="in_conv")(x)
    skips = [h]
    for level, mult in enumerate(spec.channel_mult):
        for b in range(spec.num_res_blocks):
            h = res_block(h, temb, spec.channels * mult, spec, f"down{level}_{b}")
            if level in spec.attention_levels:
                h = _attention(h, spec, f"down{level}_{b}_attn")
            skips.append(h)
        if level < levels - 1:
            h = L.Conv2D(h.shape[-1], 3, strides=2, padding="same", name=f"down{level}_sample")(h)
            skips.append(h)
    h = res_block(h, temb, h.shape[-1], spec, "mid_0")
    h = _attention(h, spec, "mid_attn")
    h = res_block(h, temb, h.shape[-1], spec, "mid_1")
    for level in reversed(range(levels)):
        mult = spec.channel_mult[level]
        for b in range(spec.num_res_blocks + 1):
            h = L.Concatenate()([h, skips.pop()])
            h = res_block(h, temb, spec.channels * mult, spec, f"up{level}_{b}")
            if level in spec.attention_levels:
                h = _attention(h, spec, f"up{level}_{b}_attn")
        if level > 0:
            h = L.UpSampling2D(2, interpolation="nearest")(h)
            h = L.Conv2D(h.shape[-1], 3, padding="same", name=f"up{level}_sample")(h)
    h = L.Activation("swish")(L.GroupNormalization(spec.groups, name="out_norm")(h))
    out = L.Conv2D(image_shape[-1], 3, padding="same", dtype="float32", name="out_conv")(h)
    if pad_h or pad_w:
        out = L.Cropping2D(((0, pad_h), (0, pad_w)), dtype="float32")(out)
    return keras.Model(inputs, out, name=name)
