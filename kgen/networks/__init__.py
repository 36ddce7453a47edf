"""Architectures only (weights + get_config). `generator`/`discriminator` pick the builder that
fits a spec's type, so a recipe chooses an architecture by the spec it declares."""

from kgen.networks.conv import ConvNet, DeconvNet, conv_net, deconv_net, output_size
from kgen.networks.mlp import MLPNet, mlp_discriminator, mlp_generator

__all__ = ["ConvNet", "DeconvNet", "MLPNet", "conv_net", "deconv_net", "output_size", "mlp_discriminator",
           "mlp_generator", "generator", "discriminator"]


def generator(spec, latent_dim: int, image_shape: tuple, name: str = "generator"):
    if isinstance(spec, MLPNet):
        return mlp_generator(spec, latent_dim, image_shape, name)
    return deconv_net(spec, latent_dim, image_shape[-1], name)


def discriminator(spec, image_shape: tuple, out_dim: int = 1, name: str = "discriminator"):
    if isinstance(spec, MLPNet):
        return mlp_discriminator(spec, image_shape, name)
    return conv_net(spec, image_shape, out_dim, name)
