"""kgen.report's verdicts on the seeds' claims, on rows whose numbers decide them."""

from kgen import report


def row(model, kid, std=0.001, optimizer="adam", conf=0.9, precision=0.7, recall=0.5, coverage=0.9):
    return {"model": model, "optimizer": optimizer, "kid": kid, "kid_std": std, "mean_confidence": conf,
            "precision": precision, "recall": recall, "coverage": coverage, "budget": "20 min of training"}


def verdict(lines, start):
    line = next(ln for ln in lines if ln.startswith(start))
    return line.split("**")[1]


ORDER = "- Seed 002, VAE < GAN < diffusion"


def test_ordering_supported_contradicted_and_inconclusive_by_kid_deviation():
    budget = "20 min"
    assert verdict(report.claims([row("vae", 0.3), row("gan", 0.2), row("ddpm", 0.1)], budget), ORDER) == "supported"
    # the diffusion model worse than the GAN by far more than either deviation
    assert verdict(report.claims([row("vae", 0.3), row("gan", 0.1), row("ddpm", 0.2)], budget), ORDER) == "contradicted"
    # GAN and diffusion differ by 0.005, within the larger deviation 0.01: not decided
    rows = [row("vae", 0.3), row("gan", 0.105, std=0.01), row("ddpm", 0.1)]
    assert verdict(report.claims(rows, budget), ORDER) == "inconclusive"
    assert "at 20 min" in report.claims(rows, budget)[0] and "0.105 ± 0.01" in report.claims(rows, budget)[0]


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
    assert verdict(report.claims(mixed, "20 min"), "- Seed 004, the GAN sharper") == "inconclusive"


def test_results_rows_state_their_changes_and_pass_them_on():
    from pathlib import Path

    from kgen import results

    opts = results.Options(data_path="/data/mnist.npz", budget=600.0)
    cmd = results.train_command("mnist_ddpm", opts, Path("runs"))
    assert "--train.time_budget=600" in cmd and "--data.path=/data/mnist.npz" in cmd
    for key, value in results.CHANGES["mnist_ddpm"][0].items():
        assert f"--{key}={value}" in cmd
    assert not any(a.startswith("--model.") for a in results.train_command("mnist_dcgan", opts, Path("runs")))
    # every stated change comes with its reason, and names keys the recipe has
    import importlib

    from kgen import runs

    for name, (overrides, reason) in results.CHANGES.items():
        assert len(reason) > 40, name
        runs.resolve(importlib.import_module(f"kgen.recipes.{name}").RECIPE, overrides)
