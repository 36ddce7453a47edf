"""MNIST adversarial autoencoder: seed 000 ("Combining VAE and GAN": the AAE uses a GAN to shape
the encoder's latent space), following Makhzani et al. 2015 where the seed is brief.

So that mnist_vae, mnist_aae and mnist_avb compare on equal terms, the encoder and decoder are
mnist_vae's (seed 004, Figure 3: two Conv2D(512, 3, s2) and a mirrored Conv2DTranspose decoder,
ReLU, Bernoulli likelihood), with one difference: the encoder's last Dense outputs the 2-d code
itself (deterministic encoder, as in the paper), not a mean and a log-variance, so it has
2,401,794 parameters instead of 2,438,660; the decoder is the same 2,517,089.

From Makhzani et al.: a 2-d latent with a prior that is a mixture of 10 Gaussians on a circle
(radius 4, sigma 0.5, fixed), which makes the latent space readable; a latent discriminator with
two hidden layers of 1000 units (1,005,001 parameters); the three phases per step. Our choices:
Adam 1e-4 for all three phases (the paper uses SGD with momentum and per-phase rates; Adam at the
seed's VAE rate keeps the comparison with mnist_vae fair), batch 32 and 15 epochs (mnist_vae's).
`--model.supervised=true` gives the digit label to the discriminator and draws the real sample
from that digit's component (the paper's Figure 4B).

    python -m kgen.recipes.mnist_aae
    python -m kgen.recipes.mnist_aae --quick
"""

import dataclasses

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.aae import AAEConfig
from kgen.recipes.mnist_vae import RECIPE as MNIST_VAE
from kgen.networks.mlp import MLPNet

RECIPE = Recipe(
    name="mnist_aae",
    source=__doc__,
    model=AAEConfig(
        latent_dim=2,
        # mnist_vae's networks, so that the three models compare on equal terms
        encoder=dataclasses.replace(MNIST_VAE.model.encoder),
        decoder=dataclasses.replace(MNIST_VAE.model.decoder),
        discriminator=MLPNet(units=(1000, 1000), norm="none", negative_slope=0.2),
        prior="mixture",
        prior_components=10,
        prior_radius=4.0,
        prior_scale=0.5,
    ),
    data=Data(name="mnist", image_size=28, channels=1, scale="unit"),
    optimizer=Optimizer(name="adam", learning_rate=1e-4),
    train=Train(epochs=15, batch_size=32),
    documented={"decoder": 2_517_089},  # mnist_vae's decoder, seed 004 Figure 3; the rest is ours
    quick={
        "data.name": "mnist_sample",
        # as mnist_vae --quick: 64 filters, so that it takes minutes on 2 CPU cores
        "model.encoder.filters": (64, 64),
        "model.decoder.filters": (64, 64),
        "model.discriminator.units": (256, 256),
        "optimizer.learning_rate": 5e-4,
        "train.epochs": 8,
        "train.batch_size": 64,
    },
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
