"""Recipes: one file per documented paper setup, run as `python -m kgen.recipes.<name>`."""

NAMES = ("mnist_vae", "mnist_dcgan", "celeba_gan", "celeba_mlp_gan", "celeba_vae", "mnist_ddpm", "mnist_aae", "mnist_avb")
