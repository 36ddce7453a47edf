"""MNIST adversarial variational Bayes: seed 000 ("Combining VAE and GAN": AVB uses adversarial
training to allow a flexible, implicit posterior), following Mescheder et al. 2017.

Equal terms with mnist_vae: the same decoder (seed 004 Figure 3, 2,517,089 parameters), the same
encoder convolutions (two Conv2D(512, 3, s2)), a 2-d latent with a standard normal prior, the
Bernoulli likelihood, Adam 1e-4, batch 32, 15 epochs. What differs is the posterior: the encoder
takes 8-d noise eps beside the image features (Dense 256 -> concat eps -> Dense 256 -> Dense 2:
7,152,130 parameters) so q(z|x) can take any shape, and a discriminator T(x, z) (two convolutions
of 32 and 64 filters on x, a Dense 256 on z, a joint Dense 256: 954,241 parameters) estimates the
KL term. Adaptive contrast is off (`--model.adaptive_contrast=true` turns it on).

    python -m kgen.recipes.mnist_avb
    python -m kgen.recipes.mnist_avb --quick
"""

import dataclasses

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.avb import AVBConfig
from kgen.networks.conv import ConvNet
from kgen.recipes.mnist_vae import RECIPE as MNIST_VAE

RECIPE = Recipe(
    name="mnist_avb",
    source=__doc__,
    model=AVBConfig(
        latent_dim=2,
        noise_dim=8,
        hidden=256,
        # mnist_vae's networks, so that the three models compare on equal terms
        encoder=dataclasses.replace(MNIST_VAE.model.encoder),
        decoder=dataclasses.replace(MNIST_VAE.model.decoder),
        discriminator=ConvNet(filters=(32, 64), kernel_size=3, strides=(2, 2), padding="same",
                              activation="leaky_relu", negative_slope=0.2),
    ),
    data=Data(name="mnist", image_size=28, channels=1, scale="unit"),
    optimizer=Optimizer(name="adam", learning_rate=1e-4),
    train=Train(epochs=15, batch_size=32),
    documented={"decoder": 2_517_089},  # mnist_vae's decoder, seed 004 Figure 3; the rest is ours
    quick={
        "data.name": "mnist_sample",
        "model.encoder.filters": (64, 64),
        "model.decoder.filters": (64, 64),
        "optimizer.learning_rate": 5e-4,
        "train.epochs": 8,
        "train.batch_size": 64,
    },
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
