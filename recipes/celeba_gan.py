"""CelebA GAN, the flagship: seed 004 (Junnuthula 2023), section 3.2.1 (text).

The seed's setup: 10,000 CelebA images at 128x128x3, a 32-d latent, a generator of a Dense layer
reshaped to a feature map then transposed convolutions with LeakyReLU, a discriminator of
convolutions then a dense sigmoid output, binary cross-entropy, alternating updates (discriminator
frozen while the generator trains, then the reverse). Learning rate, batch size and epochs are not
given for this model.

Our choices, since the seed gives no layer sizes (a DCGAN stack, Radford et al. 2016):
    generator      Dense(8*8*256, no bias) -> BN -> LeakyReLU(0.2) -> 4 x [Conv2DTranspose(256, 128,
                   64, 32; 4x4, s2, no bias) -> BN -> LeakyReLU(0.2)] -> Conv2DTranspose(3, 5, tanh):
                   2,330,848 parameters (33,728 non-trainable)
    discriminator  4 x [Conv2D(64, 128, 256, 512; 4x4, s2, same) -> LeakyReLU(0.2)] -> Flatten ->
                   Dense(1): 2,789,313 parameters
    Adam 2e-4, beta_1 0.5, batch 64 (DCGAN's values), 50 epochs (seed 002's GAN length).
Faces are centre-cropped to the 178x178 square of img_align_celeba and resized to 128x128, in
[-1, 1].

    python -m kgen.recipes.celeba_gan --data.path=/path/to/img_align_celeba
    python -m kgen.recipes.celeba_gan --data.name=celeb_a       # tensorflow-datasets
    python -m kgen.recipes.celeba_gan --quick                   # minutes on 2 CPU cores

--quick does not use faces (none can be bundled): it trains on 1,000 digits of the bundled MNIST
sample, resized to 128x128 and tiled to 3 channels, with the same stack at an eighth of the widths,
to show the whole pipeline (data, training, TensorBoard, checkpoint, export) in a few minutes. Its
SavedModel has the real recipe's signature: `sample` returns [N, 128, 128, 3], so code written
against the quick export works on the real one.
"""

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.gan import GANConfig
from kgen.networks.conv import ConvNet, DeconvNet

RECIPE = Recipe(
    name="celeba_gan",
    source=__doc__,
    model=GANConfig(
        latent_dim=32,
        generator=DeconvNet(start_shape=(8, 8, 256), filters=(256, 128, 64, 32), kernel_size=4,
                            strides=(2, 2, 2, 2), out_kernel_size=5, out_strides=1,
                            activation="leaky_relu", negative_slope=0.2, norm="batch",
                            use_bias=False, out_activation="tanh"),
        discriminator=ConvNet(filters=(64, 128, 256, 512), kernel_size=4, strides=(2, 2, 2, 2),
                              padding="same", activation="leaky_relu", negative_slope=0.2),
    ),
    data=Data(name="image_folder", limit=10_000, image_size=128, channels=3, scale="symmetric"),
    optimizer=Optimizer(name="adam", learning_rate=2e-4, beta_1=0.5),
    train=Train(epochs=50, batch_size=64),
    documented={},  # the seed gives no layer sizes for this model (see above)
    quick={
        "data.name": "mnist_sample",
        "data.limit": 1000,
        "model.generator.start_shape": (8, 8, 32),
        "model.generator.filters": (32, 16, 8, 4),
        "model.discriminator.filters": (8, 16, 32, 64),
        "train.epochs": 3,
    },
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
