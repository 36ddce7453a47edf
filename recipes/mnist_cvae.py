"""MNIST conditional VAE: Sohn, Lee and Yan (2015, "Learning Structured Output Representation using
Deep Conditional Generative Models"), the CVAE, for seed 003's data augmentation (section "Applications
of deep learning in image generation"), generated images as labelled training data: q(z|x, y) and p(x|z, y) both see the label, the prior p(z) does not, and the
objective is the negative ELBO of log p(x|y).

Networks: mnist_vae's (seed 004, section 3.1.1, Figure 3), with the one-hot label as 10 constant
channels of the encoder's input (its first convolution grows by 3*3*10*512 = 46,080 weights:
2,484,740 parameters) and concatenated to the 2-d code at the decoder's input (its first Dense grows
by 10 x 1,568 = 15,680: 2,532,769 parameters). With the class given, the 2-d code is free to hold
the style (slant, width, thickness), which the class grid shows.

Setup as mnist_vae: Bernoulli decoder, standard normal prior, Adam 1e-4, batch 32, 15 epochs; the
likelihood bounds after training are bounds on log p(x|y). The epoch grid has one row per class.

    python -m kgen.recipes.mnist_cvae                 # full MNIST
    python -m kgen.recipes.mnist_cvae --quick         # minutes on 2 CPU cores, bundled sample
"""

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.conditional import CVAEConfig
from kgen.recipes.mnist_vae import RECIPE as VAE

RECIPE = Recipe(
    name="mnist_cvae",
    source=__doc__,
    model=CVAEConfig(
        latent_dim=VAE.model.latent_dim,
        encoder=VAE.model.encoder,
        decoder=VAE.model.decoder,
        prior="normal",
        likelihood="bernoulli",
        kl="mc",
        iwae_samples=1000,
        eval_images=1000,
        num_classes=10,
    ),
    data=Data(name="mnist", image_size=28, channels=1, scale="unit"),
    optimizer=Optimizer(name="adam", learning_rate=1e-4),
    # float32: the seed's epochs and a likelihood in nats, which bfloat16 moves (see mnist_vae)
    train=Train(epochs=15, batch_size=32, mixed_precision="off", grid_rows=10),
    quick={**VAE.quick},
    budget=VAE.budget,
    budget_reason="As mnist_vae, for the same reason: its likelihood evaluation is mnist_vae's with the label beside z.",
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
