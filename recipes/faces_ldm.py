"""Face latent diffusion: seed 003's Stable Diffusion idea (section "Recent developments":
"diffusing the latent space of a generative model", Rombach et al. 2022) on seed 004's faces, so that diffusion fits a CPU budget:
64x64 faces encoded to a 16x16x4 latent (12x fewer values than the 64x64x3 image), then
faces_ddpm's diffusion (mnist_ddpm's schedule, T = 1000, EMA 0.999, DDIM-50; Min-SNR-5) on the
latents scaled to unit variance. Both stages from this one command, as mnist_ldm.

Stage 1 (kgen.models.autoencoder): residual blocks of 32, 64 and 64 channels over 64, 32 and 16
pixels, KL weight 1e-6, L1 (their LPIPS term needs ImageNet weights, so it and their patch GAN are
left out: blurrier reconstructions); Adam 1e-3, batch 32, 10 epochs over the 10,000 faces (our
choices: the seeds give no first stage).
Stage 2 (kgen.models.ldm): a U-Net of 64 channels with multipliers (1, 2, 2) over 16, 8 and 4
pixels, one residual block per level, attention at 4x4; Adam 2e-4, batch 32, 50 epochs.
Parameters: encoder 276,392, decoder 329,475, U-Net 4,438,852 (asserted by tests/test_recipes.py):
more than faces_ddpm's 1,525,411, for about a quarter of its convolution cost per image (16x16 at
64 channels against 64x64 at 32: H W C^2 is 4x smaller).

    python -m kgen.recipes.faces_ldm --data.path=/path/to/img_align_celeba
    python -m kgen.recipes.faces_ldm --quick          # digits, minutes: the pipeline only
    python -m kgen.recipes.faces_ldm --resume
    python -m kgen.recipes.faces_ldm --model.autoencoder=logs/faces_ldm_autoencoder/<run>

--quick, as faces_ddpm's, trains on 1,000 bundled MNIST digits resized to 64x64 and tiled to 3
channels with narrow networks; its SavedModel has the real recipe's signature ([N, 64, 64, 3]).
"""

import dataclasses

from kgen.cli import main
from kgen.config import Optimizer, Recipe, Train
from kgen.models.ldm import LDMConfig
from kgen.networks.unet import UNet
from kgen.recipes.faces_ddpm import RECIPE as FACES_DDPM
from kgen.recipes.mnist_ldm import AUTOENCODER as MNIST_LDM_AUTOENCODER

DATA = FACES_DDPM.data
QUICK_DATA = {k: v for k, v in FACES_DDPM.quick.items() if k.startswith("data.")}

# mnist_ldm's first stage (its networks, KL weight, L1 and Adam 1e-3) on faces, at batch 32
AUTOENCODER = dataclasses.replace(
    MNIST_LDM_AUTOENCODER,
    name="faces_ldm_autoencoder",
    source=__doc__,
    data=DATA,
    train=Train(epochs=10, batch_size=32),
    quick={**QUICK_DATA, "model.network.channels": 8, "model.network.groups": 4, "train.epochs": 2},
)

RECIPE = Recipe(
    name="faces_ldm",
    source=__doc__,
    model=LDMConfig(**{f.name: getattr(FACES_DDPM.model, f.name) for f in dataclasses.fields(FACES_DDPM.model)
                       if f.name != "network"},
                    network=UNet(channels=64, channel_mult=(1, 2, 2), num_res_blocks=1, attention_levels=(2,),
                                 groups=8)),
    data=DATA,
    optimizer=Optimizer(name="adam", learning_rate=2e-4),
    train=Train(epochs=50, batch_size=32),
    quick={**FACES_DDPM.quick, "model.network.channels": 16},
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE, first_stage=AUTOENCODER))
