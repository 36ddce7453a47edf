"""CelebA MLP GAN: seed 004 (Junnuthula 2023), Figure 7 (the "GAN Summary" of section 3.2) and
Figure 8 (its samples after 1000 epochs).

Documented parameter counts (asserted by tests/test_recipes.py):
    generator      202,238,720 (3,584 non-trainable): latent 200 -> Dense 256 -> LeakyReLU -> BN ->
                   Dense 512 -> LeakyReLU -> BN -> Dense 1024 -> LeakyReLU -> BN -> Dense 196,608 ->
                   Reshape(256, 256, 3)
    discriminator  100,795,393: Flatten -> Dense 512 -> LeakyReLU -> Dense 256 -> LeakyReLU -> Dense 1
The seed prints 202,235,130 trainable parameters; 202,238,720 - 3,584 = 202,235,136 (the printed
figure drops the last digits' sum, we keep the arithmetic). The figure shows no activation on the
last Dense: we use tanh so that outputs stay in the data range [-1, 1] (no parameters change).
The discriminator's sigmoid is folded into the loss (same function, stable numerics).

The seed gives no optimizer settings for this model; we use Adam 2e-4, beta_1 0.5, batch 32, and
the seed's 10,000 images. 1000 epochs as in Figure 8's caption. One step at batch 32 needs about
5 GB of memory on CPU (the 200M-parameter Dense and its Adam slots).

    python -m kgen.recipes.celeba_mlp_gan --data.path=/path/to/img_align_celeba
    python -m kgen.recipes.celeba_mlp_gan --quick     # 256x256 MNIST-sample stand-in, minutes
"""

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.gan import GANConfig
from kgen.networks.mlp import MLPNet

RECIPE = Recipe(
    name="celeba_mlp_gan",
    source=__doc__,
    model=GANConfig(
        latent_dim=200,
        generator=MLPNet(units=(256, 512, 1024), norm="batch", out_activation="tanh"),
        discriminator=MLPNet(units=(512, 256), norm="none"),
    ),
    data=Data(name="image_folder", limit=10_000, image_size=256, channels=3, scale="symmetric"),
    optimizer=Optimizer(name="adam", learning_rate=2e-4, beta_1=0.5),
    train=Train(epochs=1000, batch_size=32),
    documented={"generator": 202_238_720, "discriminator": 100_795_393},  # seed 004, Figure 7
    quick={
        # the real recipe's 256x256x3 endpoints with narrow hidden layers, on 500 sample digits
        "data.name": "mnist_sample",
        "data.limit": 500,
        "model.generator.units": (32, 32, 32),
        "model.discriminator.units": (32, 16),
        "train.epochs": 3,
        "train.batch_size": 64,
    },
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
