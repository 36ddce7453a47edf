"""Recipes: one file per documented paper setup, run as `python -m kgen.recipes.<name>`."""

NAMES = ("mnist_vae", "mnist_dcgan", "celeba_gan", "celeba_mlp_gan", "celeba_vae", "mnist_ddpm", "mnist_aae", "mnist_avb",
         "mnist_cgan", "mnist_cvae", "mnist_cddpm")
# not a model recipe: optimizer_study runs a grid of the three MNIST recipes (kgen.study)
