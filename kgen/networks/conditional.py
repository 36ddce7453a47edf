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


def label_embedding(num_classes: int, dim: int, name: str = "label_embedding") -> keras.layers.Embedding:
    """A learned code per class added to a time embedding, drawn N(0, 1) at the start: the scale
    of PyTorch's nn.Embedding, which the reference conditional models (guided-diffusion's U-Net,
    BigGAN) inherit, and the scale of the time embedding the code joins. Keras' default, uniform in
    +-0.05 (RMS 0.03), starts the label 10-30x quieter than them; measured on mnist_cddpm --quick
    (benchmarks/conditional_probe.py, 1,560 steps, 200 samples): the classifier agrees with the
    class asked for 44% of the time at w = 1 with Keras' scale, 98% with this one."""
    return keras.layers.Embedding(num_classes, dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
                                  name=name)


def conditional_generator(spec: DeconvNet, latent_dim: int, image_shape: tuple, num_classes: int,
                          embed_dim: int, name: str = "generator") -> keras.Model:
    z, y = keras.Input((latent_dim,), name="z"), label_input()
    # Keras' small initial codes, not label_embedding's N(0, 1): codes as loud as z let G
    # ignore z and draw one image per class (measured on mnist_cgan --quick, 25 epochs:
    # the label changed an image 9x more than the noise did, and every row of the class grid
    # was one digit), while small codes grow only as far as D's projection asks
    e = keras.layers.Embedding(num_classes, embed_dim, name="label_embedding")(y)
    body = deconv_net(spec, latent_dim + embed_dim, image_shape[-1], f"{name}_body")
    return keras.Model([z, y], body(keras.layers.Concatenate()([z, e])), name=name)


def projection_discriminator(spec: ConvNet, image_shape: tuple, num_classes: int, aux_classifier: bool = False,
                             name: str = "discriminator") -> keras.Model:
    """[x, y] -> logit; with `aux_classifier`, [x, y] -> [logit, class logits [B, K]] (a softmax
    head on the same features, AC-GAN's auxiliary classifier)."""
    L = keras.layers
    x, y = keras.Input(image_shape, name="images"), label_input()
    h = x
    for layer in conv_layers(spec, name):
        h = layer(h)
    phi = L.Flatten()(h)
    unconditional = L.Dense(1, dtype="float32", name="out")(phi)
    e = L.Embedding(num_classes, phi.shape[-1], name="projection")(y)
    projected = L.Dot(axes=-1, dtype="float32")([e, phi])
    logit = L.Add(dtype="float32")([unconditional, projected])
    if aux_classifier:
        return keras.Model([x, y], [logit, L.Dense(num_classes, dtype="float32", name="classes")(phi)], name=name)
    return keras.Model([x, y], logit, name=name)


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
