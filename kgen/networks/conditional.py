"""Class-conditional versions of the convolutional architectures: the label enters as an input.
Architecture only; the objectives are the models'.

- `conditional_generator`: [z, y] -> image; a learned label embedding concatenated to z, then the
  unconditional generator stack (Mirza and Osindero 2014 concatenate a one-hot label; an embedding
  is the same map with a learned code, as BigGAN and most conditional GANs since).
- `projection_discriminator`: [x, y] -> logit, D(x, y) = w . phi(x) + b + e(y) . phi(x) with phi the
  flattened convolutional features (Miyato and Koyama 2018): the label acts through an inner
  product with the features, which is what the projection form of the optimal conditional
  discriminator says, instead of being one more input channel the network may learn to ignore.
- `conditional_encoder` / `conditional_decoder`: a CVAE's q(z|x, y) and p(x|z, y) (Sohn et al.
  2015): the one-hot label appended to the image as K constant channels, and to z.

Labels are int32 class indices [B].
"""

from __future__ import annotations

import keras

from kgen.layers.embedding import LabelPlanes
from kgen.networks.conv import ConvNet, DeconvNet, conv_layers, deconv_net


def label_input(name: str = "label") -> keras.KerasTensor:
    return keras.Input(shape=(), dtype="int32", name=name)


def conditional_generator(spec: DeconvNet, latent_dim: int, image_shape: tuple, num_classes: int,
                          embed_dim: int, name: str = "generator") -> keras.Model:
    z, y = keras.Input((latent_dim,), name="z"), label_input()
    e = keras.layers.Embedding(num_classes, embed_dim, name="label_embedding")(y)
    body = deconv_net(spec, latent_dim + embed_dim, image_shape[-1], f"{name}_body")
    return keras.Model([z, y], body(keras.layers.Concatenate()([z, e])), name=name)


def projection_discriminator(spec: ConvNet, image_shape: tuple, num_classes: int,
                             name: str = "discriminator") -> keras.Model:
    L = keras.layers
    x, y = keras.Input(image_shape, name="images"), label_input()
    h = x
    for layer in conv_layers(spec, name):
        h = layer(h)
    phi = L.Flatten()(h)
    unconditional = L.Dense(1, dtype="float32", name="out")(phi)
    e = L.Embedding(num_classes, phi.shape[-1], name="projection")(y)
    projected = L.Dot(axes=-1, dtype="float32")([e, phi])
    return keras.Model([x, y], L.Add(dtype="float32")([unconditional, projected]), name=name)


def conditional_encoder(spec: ConvNet, image_shape: tuple, num_classes: int, out_dim: int,
                        name: str = "encoder") -> keras.Model:
    L = keras.layers
    x, y = keras.Input(image_shape, name="images"), label_input()
    planes = LabelPlanes(num_classes, image_shape[0], image_shape[1], name="label_planes")(y)
    h_ = L.Concatenate()([x, planes])
    for layer in conv_layers(spec, name):
        h_ = layer(h_)
    out = L.Dense(out_dim, dtype="float32", name="out")(L.Flatten()(h_))
    return keras.Model([x, y], out, name=name)


def conditional_decoder(spec: DeconvNet, latent_dim: int, out_channels: int, num_classes: int,
                        name: str = "decoder") -> keras.Model:
    L = keras.layers
    z, y = keras.Input((latent_dim,), name="z"), label_input()
    code = L.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot")(y)
    body = deconv_net(spec, latent_dim + num_classes, out_channels, f"{name}_body")
    return keras.Model([z, y], body(L.Concatenate()([z, code])), name=name)
