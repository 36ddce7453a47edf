"""The optimizer study of seed 002: VAE, GAN and DDPM on MNIST, each trained with Adam, Adagrad,
RMSprop and SGD from the same seed and data order, then evaluated and compared, for the seed's
epochs (or --epochs). At equal compute the study is a results table (kgen.results --optimizers:
resumable, several training seeds, the budget as steps), which draws this module's loss figures."""

from __future__ import annotations

import datetime
import importlib
import os
import shutil
import time
from pathlib import Path

import numpy as np

from dataclasses import dataclass

from kgen import args as args_lib
from kgen import report, runs, train
from kgen.config import duration, num
from kgen.errors import ConfigError
from kgen.optim import KERAS_DEFAULT_LR

MODELS = {"vae": "mnist_vae", "gan": "mnist_dcgan", "ddpm": "mnist_ddpm"}
BUDGETED = ("python -m kgen.results --recipes=mnist_vae,mnist_dcgan,mnist_ddpm --optimizers=adam,adagrad,rmsprop,sgd "
            "--budget=2m --seeds=0,1,2 --data-path=PATH [--step-times=FILE] --out=DIR")
OPTIMIZERS = tuple(KERAS_DEFAULT_LR)


def cell_recipe(model: str, optimizer: str, quick: bool, epochs: int, limit: int, study_dir: Path, seed: int,
                data_path: str = ""):
    base = importlib.import_module(f"kgen.recipes.{MODELS[model]}").RECIPE
    overrides = {
        "name": f"{model}_{optimizer}", "optimizer.name": optimizer, "optimizer.learning_rate": KERAS_DEFAULT_LR[optimizer],
        "seed": seed, "train.logdir": str(study_dir), "train.export_dir": str(study_dir / "saved_models"),
        "train.verbose": 0,
    }
    if data_path:
        overrides["data.path"] = data_path
    if epochs:
        overrides["train.epochs"] = epochs
    if limit:
        overrides["data.limit"] = limit
    if model == "ddpm":
        overrides["model.final_ancestral"] = False  # the study compares DDIM samples
    return runs.resolve(base, overrides, quick=quick)[0]


def loss_figure(cells: dict, model: str, out: Path) -> Path | None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    tag = f"step/{report.main_loss_tag(model)}"
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    drawn = False
    for opt, run_dir in cells.items():
        steps, values = report.read_scalars(run_dir, tag)
        if len(steps):
            ax.plot(steps, values, label=opt)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("step")
    ax.set_ylabel(tag)
    ax.set_title(f"{model}: training loss per optimizer")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def scaled_epochs_figure(vae_run: Path, gan_run: Path, out: Path) -> Path:
    """Seed 004 section 3.3: VAE and GAN losses against epochs scaled to [0, 1]."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for run, tag, label in ((vae_run, "step/loss", "VAE negative ELBO"), (gan_run, "step/g_loss", "GAN generator"),
                            (gan_run, "step/d_loss", "GAN discriminator")):
        steps, values = report.read_scalars(run, tag)
        if len(steps):
            v = values / np.abs(values).max()  # each curve over its own scale, as in the seed
            ax.plot(steps / steps.max(), v, label=label)
    ax.set_xlabel("training progress (epochs scaled to [0, 1])")
    ax.set_ylabel("loss / max |loss|")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def run_study(models=tuple(MODELS), optimizers=OPTIMIZERS, quick=False, epochs=50, limit=0, num_samples=10_000,
              seed=0, logdir="logs", data_path="") -> Path:
    for m in models:
        if m not in MODELS:
            raise ConfigError(f"--models: unknown model {m!r}; valid: {', '.join(MODELS)}")
    for o in optimizers:
        if o not in OPTIMIZERS:
            raise ConfigError(f"--optimizers: unknown optimizer {o!r}; valid: {', '.join(OPTIMIZERS)}")
    from kgen.evaluate import evaluate_images

    study_dir = Path(logdir) / "optimizer_study" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    study_dir.mkdir(parents=True)
    rows, cells = [], {}
    for model in models:
        for opt in optimizers:
            recipe = cell_recipe(model, opt, quick, epochs, limit, study_dir, seed, data_path)
            print(f"kgen: study cell {model} x {opt}: {recipe.train.epochs} epoch(s), lr {recipe.optimizer.learning_rate}")
            start = time.time()
            result = train.run(recipe, export_model=False)
            wall = time.time() - start
            images = result.model.sample(num_samples, seed).numpy()
            reference = "mnist_sample" if recipe.data.name == "mnist_sample" else "mnist"
            metrics = evaluate_images(images, reference, recipe.data.path, seed)
            metrics["wall_time_s"] = wall
            runs.merge_metrics(result.run_dir, metrics)
            shutil.copy(result.run_dir / "samples.png", study_dir / f"samples_{model}_{opt}.png")
            cells.setdefault(model, {})[opt] = result.run_dir
            rows.append(report.row(result.run_dir, wall))
    figs = [p for m in cells if (p := loss_figure(cells[m], m, study_dir / f"loss_{m}.png"))]
    if "vae" in cells and "gan" in cells:
        opt = "adam" if "adam" in cells["vae"] and "adam" in cells["gan"] else next(iter(cells["vae"]))
        if opt in cells["gan"]:
            figs.append(scaled_epochs_figure(cells["vae"][opt], cells["gan"][opt], study_dir / "vae_vs_gan_scaled.png"))
    figs += sorted(study_dir.glob("samples_*.png"))
    path = report.write_report(rows, study_dir, figs, "Optimizer study (seed 002)")
    print(f"kgen: study written to {study_dir}\n  table:  {study_dir / 'results.md'} and results.csv\n  report: {path}")
    return study_dir


@dataclass
class Options:
    quick: bool = False
    models: str = ",".join(MODELS)
    optimizers: str = ",".join(OPTIMIZERS)
    epochs: int | None = num(None, 1, kind=int)  # none: 2 with --quick, else 50 (seed 002)
    # the study at equal compute is a results table (BUDGETED): resumable, several seeds, steps
    budget: float = duration(0.0)
    data_path: str = ""  # full MNIST (.npz or IDX folder), as the recipes' --data.path
    limit: int = num(0)  # training images (0: all)
    num_samples: int | None = num(None, 2, kind=int)  # none: 500 with --quick, else 10,000
    seed: int = num(0)
    logdir: str = "logs"


def main(argv: list[str]) -> int:
    def body(opts, _):
        if opts.budget:
            raise ConfigError(f"--budget: the optimizer study at equal compute is a results table, which resumes, "
                              f"trains several seeds and can count the budget in steps: {BUDGETED}")
        run_study(
            models=tuple(opts.models.split(",")), optimizers=tuple(opts.optimizers.split(",")), quick=opts.quick,
            epochs=opts.epochs or (2 if opts.quick else 50), limit=opts.limit,
            num_samples=opts.num_samples or (500 if opts.quick else 10_000), seed=opts.seed, logdir=opts.logdir,
            data_path=opts.data_path,
        )

    return args_lib.run_main("optimizer_study", argv, Options(), __doc__, body)
