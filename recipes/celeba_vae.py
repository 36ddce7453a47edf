"""CelebA VAE: seed 004 (Junnuthula 2023), section 3.2.2 and Figure 9.

Documented parameter count (asserted by tests/test_recipes.py): **2,648,531** in all
    encoder  1,732,048: encoder_conv_0..3 = Conv2D(32, 64, 64, 64; 3x3, s2, same) with LeakyReLU ->
             Flatten -> mu and log_var, each Dense(200) (one Dense(400) here: the same 1,638,800
             parameters, split in two by the model)
    decoder    916,483: Dense(8*8*64) -> Reshape -> Conv2DTranspose(64, 64, 32, 3; 3x3, s2) -> logits
plus the learned mixture prior's 802 parameters (2 x 200 means, 2 x 200 scales, 2 weights), which
live outside the two networks and so outside the seed's Keras summary.
Setup (section 3.2.2): 128x128x3 faces; a prior that is a mixture of two Gaussians (learned here:
the seed does not say whether it is fixed; --model.prior_trainable=false fixes it); a Bernoulli
decoder; Adam 5e-4; 30 epochs (the text; Figure 10's caption says 1000 epochs). Batch size is not
given: 32, as in the seed's MNIST VAE. Faces as in the GAN recipes, 10,000 images, in [0, 1].

    python -m kgen.recipes.celeba_vae --data.path=/path/to/img_align_celeba
    python -m kgen.recipes.celeba_vae --quick     # bundled MNIST sample at 32x32x3, minutes
"""

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.vae import VAEConfig
from kgen.networks.conv import ConvNet, DeconvNet

RECIPE = Recipe(
    name="celeba_vae",
    source=__doc__,
    model=VAEConfig(
        latent_dim=200,
        encoder=ConvNet(filters=(32, 64, 64, 64), kernel_size=3, strides=(2, 2, 2, 2), padding="same",
                        activation="leaky_relu"),
        decoder=DeconvNet(start_shape=(8, 8, 64), filters=(64, 64, 32), kernel_size=3, strides=(2, 2, 2),
                          out_kernel_size=3, out_strides=2, activation="leaky_relu"),
        prior="mixture",
        prior_components=2,
        likelihood="bernoulli",
        kl="mc",  # a mixture prior has no closed-form KL
        iwae_samples=100,  # 200-d latents: k = 1000 on 1,000 faces is 10^6 decoder passes
        eval_images=500,
    ),
    data=Data(name="image_folder", limit=10_000, image_size=128, channels=3, scale="unit"),
    optimizer=Optimizer(name="adam", learning_rate=5e-4),
    # float32: the seed's epochs and a likelihood in nats, which bfloat16 moves (see mnist_vae)
    train=Train(epochs=30, batch_size=32, mixed_precision="off"),
    documented={"encoder": 1_732_048, "decoder": 916_483, "model": 2_648_531},  # seed 004, Figure 9
    quick={
        # the real recipe's 128x128x3 endpoints with narrower layers, on 1,000 sample digits
        "data.name": "mnist_sample",
        "data.limit": 1000,
        "model.encoder.filters": (8, 16, 16, 16),
        "model.decoder.start_shape": (8, 8, 16),
        "model.decoder.filters": (16, 16, 8),
        "model.iwae_samples": 20,
        "model.eval_images": 100,
        "train.epochs": 3,
    },
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
