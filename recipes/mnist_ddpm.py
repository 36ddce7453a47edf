"""MNIST DDPM: seed 002 (Lee et al., "A Comparative Study of Image Generation Models"): forward
and reverse processes, a U-Net noise predictor, the L_simple loss, MNIST, 50 epochs, Adam (the best
of the four optimizers it compares). Where the seed is silent we follow Ho et al. 2020: T = 1000,
the linear schedule 1e-4 to 0.02, a U-Net with GroupNorm residual blocks, self-attention at the
lowest resolution and a sinusoidal time embedding, and an EMA of the weights.

Our choices (the seed gives neither): Adam 2e-4 (Ho et al.'s CIFAR-10 rate), batch 128, EMA
0.999. U-Net: 64 channels, multipliers (1, 2, 2) over 28, 14 and 7 pixels, 2 residual blocks per
level, attention at 7x7: 6,469,889 parameters (asserted by tests/test_recipes.py). Data in [-1, 1].
Every epoch a grid from fixed noise with DDIM (50 steps, eta 0: cheap and deterministic); at the
end a grid with the full 1000-step ancestral sampler and an inpainting figure (bottom halves).

Time: 50 epochs are 23,450 steps of 128 images. Measured here on 2 CPU cores: 18.1 s per step
(benchmarks/README.md), so about 118 h: a GPU job. On one modern GPU a 6.5M-parameter U-Net at
28x28 should run well over 10 steps/s, under an hour in all (an estimate, not measured here).

    python -m kgen.recipes.mnist_ddpm                 # full MNIST
    python -m kgen.recipes.mnist_ddpm --quick         # a small U-Net, bundled sample, minutes
    python -m kgen.recipes.mnist_ddpm --mode=inpaint  # restore images with the latest run's model
    python -m kgen.recipes.mnist_ddpm --mode=denoise --sigma=0.2
"""

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.ddpm import DDPMConfig
from kgen.networks.unet import UNet

RECIPE = Recipe(
    name="mnist_ddpm",
    source=__doc__,
    model=DDPMConfig(
        network=UNet(channels=64, channel_mult=(1, 2, 2), num_res_blocks=2, attention_levels=(2,), groups=8),
        schedule="linear",
        timesteps=1000,
        ema_decay=0.999,
        sample_steps=50,
        eta=0.0,
    ),
    data=Data(name="mnist", image_size=28, channels=1, scale="symmetric"),
    optimizer=Optimizer(name="adam", learning_rate=2e-4),
    train=Train(epochs=50, batch_size=128),
    quick={
        "data.name": "mnist_sample",
        # Departure for --quick only: a much smaller U-Net (16 channels at 28, 14 and 7 pixels,
        # one block per level, attention at 7x7: 280,177 parameters), a 10x higher learning rate,
        # a shorter EMA, 20 DDIM steps and no final 1000-step grid (a minute and a half of a
        # five-minute run), so that 2 CPU cores train 10 passes over the 5,000 bundled digits
        # (1,560 steps of 32) in about 5 minutes. Measured with `--train.time_budget=5m` and
        # bfloat16 (which trains no faster than float32 here at batch 32), evaluated on 1,000
        # samples: this U-Net 1,610 steps, class coverage 0.90, mean confidence 0.72 (worm-like
        # strokes, some digits); the earlier two-level U-Net with attention at 14x14, 1,298 steps,
        # 0.84 / 0.71; with the cosine schedule 0.86 / 0.70; at batch 128, 507 steps, 0.86 / 0.58.
        # Confidence 0.8 needs several thousand steps (the 20-minute results row: 7,175 steps,
        # 0.98 / 0.83).
        "model.network.channels": 16,
        "model.network.groups": 4,
        "model.network.channel_mult": (1, 2, 2),
        "model.network.num_res_blocks": 1,
        "model.network.attention_levels": (2,),
        "model.sample_steps": 20,
        "model.ema_decay": 0.995,
        "model.final_ancestral": False,
        "optimizer.learning_rate": 2e-3,
        "train.epochs": 10,
        "train.batch_size": 32,
    },
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
