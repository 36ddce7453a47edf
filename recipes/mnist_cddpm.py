"""MNIST class-conditional DDPM with classifier-free guidance: Ho and Salimans (2022,
"Classifier-Free Diffusion Guidance"), for seed 003's data augmentation (section "Applications of deep
learning in image generation"), generated images as labelled training data, on the DDPM of seed 002 (mnist_ddpm, Ho et al. 2020 where the seed is silent).

Network: mnist_ddpm's U-Net, with a learned embedding of the label (10 classes and the null label,
11 x 256 = 2,816 weights) added to the time embedding, so every residual block sees it:
6,472,705 parameters. The codes start N(0, 1), as in Ho and Salimans' and Dhariwal and Nichol's
code (PyTorch's nn.Embedding), not at Keras' uniform +-0.05: with Keras' scale the label starts
ten times quieter than the time embedding, and the quick run's samples followed it 44% of the
time at w = 1 after its 1,560 steps; with N(0, 1), 98% (`python benchmarks/conditional_probe.py
mnist_cddpm --quick`, 200 samples; docs/results/conditional/probe/). Training: L_simple, the label replaced by the null label with probability
p_uncond = 0.1 (Ho and Salimans' choice among 0.1, 0.2, 0.5), so that one network is both the
conditional and the unconditional model. Sampling (DDIM-50 as mnist_ddpm):

    eps~ = (1 + w) eps(x_t, t, y) - w eps(x_t, t, null)        (their eq. 6)

Guidance w is a sampling argument: `sample_class(labels, seed, guidance)` in the SavedModel,
`--model.guidance` (default 1.0, our choice) for `sample` and the grids; w = 0 is the conditional
model alone, larger w trades diversity for class fidelity (python -m kgen.evaluate RUN
--guidance=0,0.5,1,2,4 measures it). Adam 2e-4, batch 128, 50 epochs, EMA 0.999, as mnist_ddpm.

    python -m kgen.recipes.mnist_cddpm                 # full MNIST (a GPU job, as mnist_ddpm)
    python -m kgen.recipes.mnist_cddpm --quick         # the small U-Net, bundled sample, minutes
"""

from kgen.cli import main
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.models.conditional import CDDPMConfig
from kgen.recipes.mnist_ddpm import RECIPE as DDPM

GUIDED_COST = (
    "Every guided DDIM step runs the U-Net twice (with and without the label): at 20 steps a sample costs 40 "
    "U-Net passes, about 10 samples/s on 2 CPU cores, so the five-weight sweep on 10,000 samples each would take "
    "1.5 hours and 60,000 digits for CAS 1.7 hours.")

RECIPE = Recipe(
    name="mnist_cddpm",
    source=__doc__,
    model=CDDPMConfig(
        network=DDPM.model.network,
        schedule="linear",
        timesteps=1000,
        ema_decay=0.999,
        sample_steps=50,
        eta=0.0,
        num_classes=10,
        p_uncond=0.1,
        guidance=1.0,
    ),
    data=Data(name="mnist", image_size=28, channels=1, scale="symmetric"),
    optimizer=Optimizer(name="adam", learning_rate=2e-4),
    train=Train(epochs=50, batch_size=128, grid_rows=10),
    # mnist_ddpm's quick settings (Min-SNR-5, beta_2 0.95, eta = 1 included): the same 1,560
    # steps. Measured on this model (1,000 samples, docs/results/conditional/quick_guidance.md):
    # conditional accuracy 0.838 at w = 0, 0.979 at the default w = 1, 0.998 at w = 4, class
    # recall falling from 0.78 to 0.23
    quick={**DDPM.quick},
    budget={**DDPM.budget, "model.sample_steps": "20"},
    budget_reason=(
        "As mnist_ddpm, for the same reason: its U-Net is mnist_ddpm's with a label embedding (the `--quick` "
        "settings since 2026-12-02: with the older ones it drew the asked-for class 60.5% of the time at w = 1, "
        "78.2% at w = 4). Guidance doubles the cost of every sampling step, so `sample` and `sample_class` use 20 "
        "DDIM steps, not 50."),
    evaluate={"num-samples": "1000", "guidance": "0,0.5,1,2,4"},
    evaluate_reason=(
        "The sweep over guidance weights (guidance.png) shows what w trades: class fidelity against diversity. "
        + GUIDED_COST + " Here 1,000 samples per guidance weight (100 per class: per-class FIDs carry a large "
        "small-sample bias, equal across weights)."),
    augment={"cas-samples": "5000", "extra": "1000"},
    augment_reason=GUIDED_COST + " Here CAS on 5,000 generated digits and the gain of 1,000 generated ones.",
)

if __name__ == "__main__":
    raise SystemExit(main(RECIPE))
