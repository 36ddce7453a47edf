"""The optimizer study in its smallest configuration, and the report command."""

import csv
import re

import pytest

from kgen import report
from kgen.study import run_study

pytestmark = pytest.mark.slow  # trains a grid of runs


def test_smallest_study_writes_tables_figures_and_report(tmp_path, monkeypatch):
    from kgen.recipes import mnist_dcgan, mnist_vae

    # the quick recipes, shrunk further so that four cells take seconds
    for module, extra in ((mnist_vae, {"model.encoder.filters": (8, 8), "model.decoder.filters": (8, 8),
                                       "model.eval_images": 0}),
                          (mnist_dcgan, {"model.generator.filters": (8, 4), "model.generator.start_shape": (7, 7, 8),
                                         "model.discriminator.filters": (4, 8, 8, 8)})):
        monkeypatch.setattr(module.RECIPE, "quick", {**module.RECIPE.quick, **extra, "train.steps_per_epoch": 3,
                                                     "data.limit": 256})
    study = run_study(models=("vae", "gan"), optimizers=("adam", "sgd"), quick=True, epochs=1, num_samples=200,
                      logdir=str(tmp_path))
    rows = list(csv.DictReader(open(study / "results.csv")))
    assert [(r["model"], r["optimizer"]) for r in rows] == [("vae", "adam"), ("vae", "sgd"), ("gan", "adam"),
                                                             ("gan", "sgd")]
    assert {r["learning_rate"] for r in rows} == {"0.001", "0.01"}
    assert all(float(r["fid"]) > 0 and float(r["wall_time_s"]) > 0 for r in rows)
    for name in ("loss_vae.png", "loss_gan.png", "vae_vs_gan_scaled.png", "samples_gan_sgd.png", "results.md"):
        assert (study / name).stat().st_size > 100, name
    text = (study / "report.md").read_text()
    assert "worst to best" in text and "VAE < GAN < diffusion" in text and "loss_vae.png" in text
    # seed 002's optimizer claim, judged per model at the stated length of training
    for model in ("vae", "gan"):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"- Seed 002, Adam the best optimizer for the {model}"))
        # the verdict is the one its printed 95% interval gives (sample noise: one run per cell)
        num = r"[+-][0-9.]+(?:e[+-][0-9]+)?"
        lo, hi = map(float, re.search(rf"sgd - adam {num} \[({num}), ({num})\]", line).groups())
        expected = "supported" if lo > 0 else "contradicted" if hi < 0 else "inconclusive"
        assert line.split("**")[1] == expected and "at 1 epoch(s)" in line, line
        assert "10 paired parts of 20 samples" in line
    # the report command rebuilds the same table from the run directories
    runs = [r["run_dir"] for r in rows]
    assert report.main(runs + [f"--out={tmp_path / 'again' / 'r.md'}"]) == 0
    again = list(csv.DictReader(open(tmp_path / "again" / "results.csv")))
    assert [r["fid"] for r in again] == [r["fid"] for r in rows]


def test_study_rejects_unknown_names(tmp_path):
    import pytest

    from kgen.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown optimizer 'adamw'"):
        run_study(models=("vae",), optimizers=("adamw",), logdir=str(tmp_path))


def test_the_study_at_equal_compute_points_to_the_results_table(capsys):
    from kgen.study import main

    assert main(["--budget=2m"]) == 2
    assert "kgen.results --recipes=mnist_vae,mnist_dcgan,mnist_ddpm --optimizers=" in capsys.readouterr().err
