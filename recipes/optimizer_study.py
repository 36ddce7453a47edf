"""The optimizer study: seed 002 (Lee et al., "A Comparative Study of Image Generation Models")
trains a VAE, a GAN and a diffusion model on MNIST with Adam, Adagrad, RMSprop and SGD for 50
epochs each, shows loss graphs and samples at epoch 50 per optimizer, and concludes
VAE < GAN < diffusion. Here the three are kgen's mnist_vae, mnist_dcgan and mnist_ddpm recipes,
every cell with the same seed and data order, each optimizer at its Keras default learning rate
(seed 002 gives none). Also draws seed 004's section 3.3 figure (VAE and GAN losses on epochs
scaled to [0, 1]).

Outputs in logs/optimizer_study/<date-time>/: one run per cell (TensorBoard groups them by
folder), loss_<model>.png with the four optimizers overlaid, samples_<model>_<optimizer>.png,
results.md and results.csv (FID, KID, precision, recall, coverage, wall time per cell), and
report.md with the ranking the numbers support next to the seeds' claims.

    python -m kgen.recipes.optimizer_study                        # the seed's setup: 12 x 50 epochs, GPU days
    python -m kgen.recipes.optimizer_study --quick                # bundled sample, 2 epochs, minutes per cell
    python -m kgen.recipes.optimizer_study --models=vae,gan --optimizers=adam,sgd --epochs=5 --limit=10000

At equal compute, with several training seeds, resumable and with the budget counted in steps, the
study is a results table (kgen/results.py: the recipes' stated budget changes, each optimizer at
its Keras default learning rate, the loss figures, and seed 002's "Adam is best" judged per model
over the seeds):

    python -m kgen.results --recipes=mnist_vae,mnist_dcgan,mnist_ddpm --optimizers=adam,adagrad,rmsprop,sgd \
        --budget=2m --seeds=0,1,2 --data-path=../shared/data/mnist.npz --out=docs/results/optimizer_study
"""

import sys

from kgen.study import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
