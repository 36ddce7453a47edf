"""kgen.report's verdicts on the seeds' claims, on rows whose numbers decide them."""

import numpy as np

from kgen import report


def row(model, kid, spread=0.001, optimizer="adam", conf=0.9, precision=0.7, recall=0.5, coverage=0.9, seed=0,
        **extra):
    """A run's row with its 10 sample parts: each metric's parts spread evenly around its value
    (spread: the parts' half-range), as kgen.evaluate records them."""
    offsets = np.linspace(-1, 1, 10)
    faces = extra.pop("faces", False)
    values = {"kid": kid, "mean_confidence": conf, "precision": precision, "recall": recall, "coverage": coverage,
              **extra}
    chunks = {"size": 100, **{k: list(v + spread * offsets) for k, v in values.items()}}
    return {"model": model, "optimizer": optimizer, "kid_std": spread, "budget": "20 min of training",
            "chunks": chunks, "seed": seed, "faces": faces, **values}


def verdict(lines, start):
    line = next(ln for ln in lines if ln.startswith(start))
    return line.split("**")[1]


ORDER = "- Seed 002, VAE < GAN < diffusion"


def test_ordering_supported_contradicted_and_inconclusive_by_interval():
    budget = "20 min"
    assert verdict(report.claims([row("vae", 0.3), row("gan", 0.2), row("ddpm", 0.1)], budget), ORDER) == "supported"
    # the diffusion model worse than the GAN, far outside the parts' spread
    assert verdict(report.claims([row("vae", 0.3), row("gan", 0.1), row("ddpm", 0.2)], budget), ORDER) == "contradicted"
    # GAN and diffusion parts that differ by noise only (the same values in another order): the
    # paired interval straddles 0
    gan = row("gan", 0.1, spread=0.01)
    gan["chunks"]["kid"] = gan["chunks"]["kid"][::-1]
    rows = [row("vae", 0.3), gan, row("ddpm", 0.1, spread=0.01)]
    line = report.claims(rows, budget)[0]
    assert verdict([line], ORDER) == "inconclusive"
    assert "at 20 min" in line and "10 paired parts of 100 samples" in line


def test_several_seeds_judge_by_the_interval_over_seeds():
    # the GAN lower than the VAE in every seed, by 0.1 against a seed-to-seed sd of 0.01
    rows = [row("vae", 0.30 + 0.01 * s, seed=s) for s in range(3)] + [row("gan", 0.20 + 0.01 * s, seed=s)
                                                                      for s in range(3)]
    rows += [row("ddpm", 0.10 + 0.01 * s, seed=s) for s in range(3)]
    line = report.claims(rows, "10 min")[0]
    assert verdict([line], ORDER) == "supported" and "3 and 3 training seeds" in line
    # seeds that overlap: the interval over seeds includes 0 although every part says otherwise
    rows = [row("vae", v, seed=s) for s, v in enumerate((0.30, 0.10, 0.20))] + [
        row("gan", v, seed=s) for s, v in enumerate((0.25, 0.15, 0.20))] + [row("ddpm", 0.01 * s, seed=s) for s in range(3)]
    assert verdict(report.claims(rows, "10 min"), ORDER) == "inconclusive"


def test_adam_claim_per_model_from_an_optimizer_grid():
    rows = [row("vae", 0.1, optimizer="adam"), row("vae", 0.3, optimizer="sgd"),
            row("gan", 0.3, optimizer="adam"), row("gan", 0.1, optimizer="rmsprop")]
    lines = report.claims(rows, "2 epochs")
    assert verdict(lines, "- Seed 002, Adam the best optimizer for the vae") == "supported"
    assert verdict(lines, "- Seed 002, Adam the best optimizer for the gan") == "contradicted"
    assert not any(ln.startswith(ORDER) for ln in lines)  # no diffusion row: that claim is not tested


def test_sharpness_and_diversity_need_both_measures_to_agree():
    sharp_gan = [row("vae", 0.2, conf=0.8, precision=0.5, recall=0.7, coverage=1.0),
                 row("gan", 0.1, conf=0.95, precision=0.8, recall=0.4, coverage=0.9)]
    lines = report.claims(sharp_gan, "20 min")
    assert verdict(lines, "- Seed 004, the GAN sharper") == "supported"
    assert verdict(lines, "- Seed 004, the VAE more diverse") == "supported"
    mixed = [row("vae", 0.2, conf=0.8, precision=0.9), row("gan", 0.1, conf=0.95, precision=0.8)]
    assert verdict(report.claims(mixed, "20 min"), "- Seed 004, the GAN sharper") == "contradicted"
    # a difference inside the parts' spread decides nothing
    close = [row("vae", 0.2, spread=0.05, conf=0.90, precision=0.70), row("gan", 0.1, spread=0.05, conf=0.91,
                                                                          precision=0.71)]
    close[1]["chunks"]["mean_confidence"] = close[1]["chunks"]["mean_confidence"][::-1]
    close[1]["chunks"]["precision"] = close[1]["chunks"]["precision"][::-1]
    assert verdict(report.claims(close, "20 min"), "- Seed 004, the GAN sharper") == "inconclusive"


def test_face_claims_use_the_face_metric():
    face = dict(faces=True)
    rows = [row("vae", 0.02, recall=0.6, face_detection_rate=0.5, **face),
            row("gan", 0.01, recall=0.3, face_detection_rate=0.9, **face)]
    lines = report.claims(rows, "45 min")
    assert verdict(lines, "- Seed 004's abstract, the GAN more realistic") == "supported"
    # the conclusion needs the VAE better in KID and recall: its KID is worse here
    assert verdict(lines, "- Seed 004's conclusion") == "contradicted"
    assert not any(ln.startswith("- Seed 004, the GAN sharper") for ln in lines)  # MNIST claims need MNIST rows


def test_results_rows_state_their_changes_and_pass_them_on():
    import importlib
    from pathlib import Path

    from kgen import results, runs
    from kgen.recipes import NAMES
    from kgen.recipes.mnist_ddpm import RECIPE

    opts = results.Options(data_path="/data/mnist.npz", budget=600.0)
    cmd = results.train_command("mnist_ddpm", opts, Path("runs"))
    assert "--train.time_budget=600" in cmd and "--data.path=/data/mnist.npz" in cmd
    for key, value in RECIPE.budget.items():
        assert f"--{key}={value}" in cmd
    assert not any(a.startswith("--model.") for a in results.train_command("mnist_dcgan", opts, Path("runs")))
    # every stated change comes with its reason, and names keys the recipe has
    changed = [n for n in NAMES if importlib.import_module(f"kgen.recipes.{n}").RECIPE.budget]
    assert {"mnist_vae", "mnist_ddpm", "mnist_cvae", "mnist_cddpm"} <= set(changed)
    for name in changed:
        recipe = importlib.import_module(f"kgen.recipes.{name}").RECIPE
        assert len(recipe.budget_reason) > 40, name
        runs.resolve(recipe, recipe.budget)
    # latent against pixel diffusion at a budget: the same settings but the network (a fair pair)
    from kgen.recipes.mnist_ldm import RECIPE as LDM

    def diffusion(r):
        return {k: v for k, v in r.budget.items() if not k.startswith("model.network.")}

    assert diffusion(LDM) == diffusion(RECIPE) and len(diffusion(RECIPE)) >= 6
    ldm = runs.resolve(LDM, LDM.budget)[0]
    assert (ldm.model.min_snr_gamma, ldm.train.batch_size, ldm.optimizer.learning_rate) == (5.0, 32, 2e-3)
    assert ldm.model.network.channels == 32 != LDM.model.network.channels
