"""python -m kgen.results end to end at smoke-test size: train to a budget, evaluate, tabulate,
resume without redoing finished work."""

import json
import shutil

import pytest

from kgen import results

pytestmark = pytest.mark.slow


def smoke_table(tmp_path, recipe: str, more: list[str] = ()) -> tuple[list[str], str, dict]:
    """The table for one recipe at smoke-test size: (argv, results.md, state.json)."""
    argv = ["--quick", f"--recipes={recipe}", "--budget=3s", "--num-samples=200", f"--out={tmp_path / 'out'}",
            f"--logdir={tmp_path / 'runs'}", *more]
    assert results.main(argv) == 0
    return (argv, (tmp_path / "out" / "results.md").read_text(),
            json.loads((tmp_path / "out" / "state.json").read_text()))


def test_results_table_end_to_end_with_the_conditional_columns_and_resume(tmp_path, monkeypatch):
    """One recipe through train, evaluate and augment (a conditional one: it has every step)."""
    monkeypatch.chdir(tmp_path)
    argv, table, state = smoke_table(tmp_path, "mnist_cgan")
    entry = state["mnist_cgan/seed0"]
    m = entry["metrics"]
    assert entry["done"] and entry["reached"]["stopped_by_budget"] and entry["reached"]["steps"] > 0
    row = next(ln for ln in table.splitlines() if ln.startswith("| `mnist_cgan` | 1 |"))
    assert f"| {entry['reached']['steps']} |" in row and f"{m['fid']:.3g}" in row
    assert "--train.time_budget=3" in table and "kgen.evaluate" in table
    assert (tmp_path / "out" / "mnist_cgan.png").stat().st_size > 100
    assert "Not yet measured" not in table
    assert 0 <= m["conditional_accuracy"] <= 1 and 0 <= m["cas"] <= 1 and m["cas_samples"] == 500
    assert row.rstrip(" |").endswith(f"{m['conditional_accuracy']:.3g}")
    assert "## Generated digits as training data" in table and f"CAS {m['cas']:.4f}" in table
    assert "kgen.augment" in table and m["augment/100_verdict"] in table
    # a second call finds the work done and neither trains, evaluates nor augments again
    log_size = (tmp_path / "out" / "mnist_cgan.log").stat().st_size
    assert results.main(argv) == 0
    assert (tmp_path / "out" / "mnist_cgan.log").stat().st_size == log_size
    # a new machine: neither state.json nor the runs, only the committed results.json; the finished
    # run is kept from it and the same table comes back, verdict lines included
    (tmp_path / "out" / "state.json").unlink()
    shutil.rmtree(tmp_path / "runs")
    assert results.main(argv) == 0
    assert (tmp_path / "out" / "mnist_cgan.log").stat().st_size == log_size
    assert (tmp_path / "out" / "results.md").read_text() == table


def test_one_seed_recipes_train_at_the_first_seed_only(tmp_path, monkeypatch):
    runs = []
    monkeypatch.setattr(results, "run_recipe", lambda name, seed, *rest: runs.append((name, seed)))
    monkeypatch.setattr(results, "write_table", lambda *a: None)
    argv = ["--data-path=mnist.npz", "--recipes=mnist_vae,mnist_aae", "--seeds=3,1", "--one-seed=mnist_aae",
            f"--out={tmp_path}"]
    assert results.main(argv) == 0
    assert runs == [("mnist_vae", 3), ("mnist_aae", 3), ("mnist_vae", 1)]
    assert results.main([*argv[:-2], "--one-seed=mnist_gan", f"--out={tmp_path}"]) == 2  # not in --recipes


def test_the_optimizer_study_as_a_table_a_row_per_recipe_and_optimizer(tmp_path, monkeypatch):
    """--optimizers: each recipe once per optimizer at its Keras default rate, after the recipe's
    budget settings (which set mnist_ddpm's own rate); rows, runs, loss figures and the seed's
    "Adam is best" claim."""
    from kgen import cli, runs
    from kgen.recipes import mnist_ddpm

    opts = results.Options(data_path="m.npz", budget=120.0, recipes="mnist_ddpm", optimizers="sgd")
    cmd = results.train_command("mnist_ddpm", opts, tmp_path, 0, "sgd")
    recipe = runs.resolve(mnist_ddpm.RECIPE, cli.split_actions(cmd[3:])[1])[0]
    assert recipe.optimizer.name == "sgd" and recipe.optimizer.learning_rate == 1e-2
    assert recipe.model.network.channels == int(mnist_ddpm.RECIPE.budget["model.network.channels"])
    assert results.main(["--data-path=m.npz", "--optimizers=adamw", f"--out={tmp_path}"]) == 2
    monkeypatch.chdir(tmp_path)
    # the budget as 60 steps, past the first logged loss (train.log_every_steps: 50), under any load
    (tmp_path / "times.json").write_text(json.dumps({"mnist_vae": {"seconds_per_step": 0.05}}))
    argv, table, state = smoke_table(tmp_path, "mnist_vae", ["--optimizers=adam,sgd", f"--step-times={tmp_path / 'times.json'}"])
    assert {e["reached"]["steps"] for e in state.values()} == {60}
    assert set(state) == {"mnist_vae_adam/seed0", "mnist_vae_sgd/seed0"}
    for opt in ("adam", "sgd"):
        run_dir = state[f"mnist_vae_{opt}/seed0"]["run_dir"]
        assert f"/seed0/{opt}/mnist_vae/" in run_dir and runs.read_config(run_dir)["recipe"]["optimizer"]["name"] == opt
        assert any(ln.startswith(f"| `mnist_vae_{opt}` | 1 |") for ln in table.splitlines())
    assert "Adam the best optimizer for the vae" in table and (tmp_path / "out" / "loss_mnist_vae.png").stat().st_size
    # a new machine resumes the study from results.json alone
    (tmp_path / "out" / "state.json").unlink()
    assert set(results.load_state(tmp_path / "out")) == set(state)


def test_a_run_measured_with_other_settings_trains_again(tmp_path, monkeypatch):
    """A recorded run counts as done only with the table's settings (the folders it wrote to
    aside, which differ between machines) and the recipe file's values; otherwise it trains
    afresh, not resumed from or replaced by the stale run in --logdir."""
    import dataclasses
    from pathlib import Path

    from kgen import runs
    from kgen.recipes import mnist_vae

    opts = results.Options(data_path="m.npz", budget=600.0, recipes="mnist_vae")
    logdir = tmp_path / "runs"
    stale = logdir / "seed0" / "mnist_vae" / "20260101-000000"
    (stale / runs.SAVED_MODEL).mkdir(parents=True)
    (stale / runs.SAVED_MODEL / "saved_model.pb").write_bytes(b"")
    (stale / "checkpoints").mkdir()
    (stale / "checkpoints" / "latest.json").write_text("{}")
    elsewhere = results.shown(results.train_command("mnist_vae", opts, Path("/another/machine/seed0"), 0))
    evaluated = results.shown(results.evaluate_command(stale, opts))
    trained = []

    def run(cmd, log):
        trained.append(cmd)
        raise results.KgenError("trained")

    monkeypatch.setattr(results, "_run", run)
    digest = results.recipe_digest("mnist_vae", results.train_command("mnist_vae", opts, logdir / "seed0"))
    assert digest == results.recipe_digest("mnist_vae", results.train_command("mnist_vae", opts, Path("/elsewhere")))
    # the recipe file's values count too: a rate edited in the file, the command unchanged
    with monkeypatch.context() as m:
        m.setattr(results, "recipe_of", lambda n: dataclasses.replace(
            mnist_vae.RECIPE, optimizer=dataclasses.replace(mnist_vae.RECIPE.optimizer, learning_rate=0.123)))
        edited = results.recipe_digest("mnist_vae", results.train_command("mnist_vae", opts, logdir / "seed0"))
    assert edited != digest
    for recorded, recorded_digest, trains in ((elsewhere, digest, False), (elsewhere, None, False),
                                              (elsewhere, edited, True),
                                              (elsewhere.replace("time_budget=600", "time_budget=1200"), None, True)):
        state = {"mnist_vae/seed0": {"recipe": "mnist_vae", "seed": 0, "done": True, "run_dir": str(stale),
                                     "train_command": recorded, "evaluate_command": evaluated}}
        if recorded_digest:  # None: recorded before digests were kept
            state["mnist_vae/seed0"]["recipe_digest"] = recorded_digest
        if trains:
            with pytest.raises(results.KgenError, match="trained"):
                results.run_recipe("mnist_vae", 0, opts, state, tmp_path, logdir)
            assert "--resume" not in trained[-1] and "--train.time_budget=600" in trained[-1]
        else:
            assert results.run_recipe("mnist_vae", 0, opts, state, tmp_path, logdir) is state["mnist_vae/seed0"]
            assert not trained


def test_what_a_table_does_with_a_recipe_follows_from_the_recipe():
    """Face tables take the recipes that read an image folder, augmentation the ones whose model
    takes labels: no list to keep beside the recipes folder."""
    from kgen.recipes import NAMES

    assert [n for n in NAMES if results.on_faces(n)] == ["celeba_gan", "celeba_mlp_gan", "celeba_vae", "faces_ddpm",
                                                         "faces_ldm"]
    assert [n for n in NAMES if results.conditional(n)] == ["mnist_cddpm", "mnist_cgan", "mnist_cvae"]


def test_a_table_of_own_epochs_says_so_in_its_title(tmp_path):
    for budget, title in ((0.0, "# Results at each recipe's own epochs"), (600.0, "# Results at equal compute")):
        opts = results.Options(budget=budget, data_path="mnist.npz", recipes="mnist_vae")
        text = results.write_table({}, opts, tmp_path).read_text()
        assert text.splitlines()[0] == title
        assert ("for its own epochs (`train.epochs`, no budget)," in text) == (budget == 0)


def test_the_quoted_command_remakes_the_table_with_every_option_given(tmp_path):
    """The table's command line parses back to the options that made it: --one-seed and
    --augment=false once went missing, so the quoted command trained the hybrids three times and
    ran kgen.augment."""
    from kgen import args as args_lib

    argv = ["--data-path=mnist.npz", "--budget=10m", "--recipes=mnist_vae,mnist_cgan,mnist_aae", "--seeds=0,1,2",
            "--one-seed=mnist_aae", "--augment=false", "--train-limit=1000", "--quick", f"--out={tmp_path}",
            "--logdir=/elsewhere"]
    opts, _ = args_lib.parse(argv, results.Options())
    table = results.write_table({}, opts, tmp_path).read_text()
    command = table.split("## Commands\n\n    ")[1].splitlines()[0]
    assert command.startswith("python -m kgen.results ") and "--logdir" not in command
    again, _ = args_lib.parse(command.split()[3:], results.Options())
    assert again == results.Options(**{**vars(opts), "logdir": results.Options.logdir})
    assert "--budget=600 " in command and "--augment=false" in command and "--quick" in command.split()
    # a row trained at the first seed only is not "missing" at the others
    missing = next(ln for ln in table.splitlines() if ln.startswith("Not yet measured"))
    assert "mnist_aae (seed 0)" in missing and "mnist_aae (seed 1)" not in missing and "mnist_vae (seed 2)" in missing


def test_a_familys_own_measure_is_a_column_only_where_a_row_has_it(tmp_path):
    """The flow's exact bits/dim gets a column; the VAE's bounds, which no row here has, do not."""
    entry = {"recipe": "mnist_flow", "seed": 0, "done": True, "reached": {"steps": 10},
             "metrics": {"fid": 3.0, "kid": 0.1, "test_bits_per_dim": 1.54321},
             "row": {"recipe": "mnist_flow"}, "run_dir": str(tmp_path / "mnist_flow" / "1"),
             "train_command": "python -m kgen.recipes.mnist_flow", "evaluate_command": "python -m kgen.evaluate"}
    opts = results.Options(budget=600.0, data_path="mnist.npz", recipes="mnist_flow")
    table = results.write_table({"mnist_flow/seed0": entry}, opts, tmp_path).read_text()
    header = next(ln for ln in table.splitlines() if ln.startswith("| recipe |"))
    assert header.endswith("| test bits/dim (flow: exact) |") and "ELBO" not in header and "conditional" not in header
    assert next(ln for ln in table.splitlines() if ln.startswith("| `mnist_flow`")).endswith("| 1.54 |")


def test_every_stated_evaluation_and_augmentation_change_names_a_real_option_and_a_reason():
    import dataclasses
    import importlib

    from kgen import augment, evaluate
    from kgen.recipes import NAMES

    tools = {"evaluate": evaluate.Options, "augment": augment.Options}
    stated = 0
    for name in NAMES:
        recipe = importlib.import_module(f"kgen.recipes.{name}").RECIPE
        for kind, options in tools.items():
            fields = {f.name for f in dataclasses.fields(options)}
            for key in getattr(recipe, kind):
                stated += 1
                assert key.replace("-", "_") in fields, (name, kind, key)
            assert bool(getattr(recipe, kind)) == (len(getattr(recipe, f"{kind}_reason")) > 40), (name, kind)
    assert stated >= 4  # mnist_cddpm's guidance sweep and its CAS sizes


def test_a_failed_run_does_not_stop_the_table(tmp_path, monkeypatch, capsys):
    from kgen.errors import KgenError

    runs = []

    def run(name, seed, *rest):
        if name == "mnist_flow":
            raise KgenError("python -m kgen.recipes.mnist_flow failed with status 1")
        runs.append((name, seed))

    monkeypatch.setattr(results, "run_recipe", run)
    monkeypatch.setattr(results, "write_table", lambda *a: None)
    argv = ["--data-path=mnist.npz", "--recipes=mnist_flow,mnist_vae", "--seeds=0,1", f"--out={tmp_path}"]
    assert results.main(argv) == 1
    assert runs == [("mnist_vae", 0), ("mnist_vae", 1)]
    err = capsys.readouterr().err
    assert "mnist_flow (seed 0), mnist_flow (seed 1) failed" in err and "retries the failed runs" in err


def test_results_needs_full_mnist(capsys):
    assert results.main(["--budget=1m"]) == 2
    assert "--data-path is required" in capsys.readouterr().err


def test_evaluation_changes_replace_the_tables_settings(tmp_path):
    opts = results.Options(data_path="mnist.npz", num_samples=10_000)
    cddpm = results.evaluate_command(tmp_path / "mnist_cddpm" / "20261130-000000", opts)
    vae = results.evaluate_command(tmp_path / "mnist_vae" / "20261130-000000", opts)
    # the stated change wins over the table's sample count, and each option appears once
    assert [a for a in cddpm if a.startswith("--num-samples")] == ["--num-samples=1000"]
    assert "--guidance=0,0.5,1,2,4" in cddpm and "--data-path=mnist.npz" in cddpm
    assert "--num-samples=10000" in vae and not any(a.startswith("--guidance") for a in vae)


def test_a_budget_in_steps_from_quiet_step_times(tmp_path):
    """--step-times turns the budget into each recipe's --train.max_steps (what the budget buys at
    its quiet seconds per step), and the budget, not the recipe's epochs, ends the run."""
    times = tmp_path / "step_times.json"
    times.write_text(json.dumps({"celeba_gan": {"seconds_per_step": 1.9}, "celeba_vae": {"seconds_per_step": 0.12}}))
    opts = results.Options(data_path="faces/train", test_path="faces/test", budget=2700.0, step_times=str(times),
                           recipes="celeba_gan,celeba_vae", seeds="0,1,2")
    gan = results.train_command("celeba_gan", opts, tmp_path / "seed1", seed=1)
    assert "--train.max_steps=1421" in gan and f"--train.epochs={results.EPOCHS_OUT_OF_THE_WAY}" in gan  # 2700 / 1.9
    assert "--seed=1" in gan and "--data.test_path=faces/test" in gan
    assert not any(a.startswith("--train.time_budget") for a in gan)
    assert results.max_steps("celeba_vae", opts) == 22500
    assert results.evaluate_settings("celeba_vae", opts)["reference"] == "faces/test"
    own = results.train_command("celeba_vae", results.Options(budget=0.0, data_path="faces/train"), tmp_path)
    assert not any(a.startswith(("--train.max_steps", "--train.epochs", "--train.time_budget")) for a in own)
    with pytest.raises(results.ConfigError, match="no step time for celeba_mlp_gan.*benchmarks/step_times.py"):
        results.max_steps("celeba_mlp_gan", opts)
    with pytest.raises(results.ConfigError, match="--seeds=0,x"):
        results.seeds_of(results.Options(seeds="0,x"))
    assert results.main(["--recipes=celeba_gan,mnist_vae", "--data-path=x"]) == 2  # one table per domain


def test_a_two_stage_recipe_splits_its_budget_between_the_stages(tmp_path):
    """Latent diffusion trains its first stage on FIRST_STAGE_SHARE of the budget and its second on
    the rest, each as the steps its own quiet step time buys (or as wall-clock budgets without
    step times), and a step-times file without the first stage's time is refused up front."""
    times = tmp_path / "step_times.json"
    times.write_text(json.dumps({"faces_ldm": {"seconds_per_step": 0.5, "first_stage": {"seconds_per_step": 0.1}}}))
    opts = results.Options(data_path="faces/train", budget=2700.0, step_times=str(times), recipes="faces_ldm")
    cmd = results.train_command("faces_ldm", opts, tmp_path)
    share = results.FIRST_STAGE_SHARE
    assert f"--autoencoder.train.max_steps={round(share * 2700 / 0.1)}" in cmd
    assert f"--train.max_steps={round((1 - share) * 2700 / 0.5)}" in cmd
    assert f"--autoencoder.train.epochs={results.EPOCHS_OUT_OF_THE_WAY}" in cmd
    wall = results.train_command("mnist_ldm", results.Options(data_path="m.npz", budget=400.0), tmp_path)
    assert f"--autoencoder.train.time_budget={share * 400:g}" in wall and f"--train.time_budget={(1 - share) * 400:g}" in wall
    times.write_text(json.dumps({"faces_ldm": {"seconds_per_step": 0.5}}))
    with pytest.raises(results.ConfigError, match=r"no step time for faces_ldm \(both stages\)"):
        results.max_steps("faces_ldm", opts, "autoencoder.")
    # the split command parses: each stage's keys are valid for it
    from kgen import cli, runs
    from kgen.recipes import mnist_ldm

    first, second = cli.split_stages(cli.split_actions([a for a in wall[3:]])[1])
    assert runs.resolve(mnist_ldm.AUTOENCODER, first)[0].train.time_budget == share * 400
    assert runs.resolve(mnist_ldm.RECIPE, second)[0].train.time_budget == (1 - share) * 400


def test_an_older_results_json_without_run_records_trains_its_recipes_again(tmp_path, capsys):
    import json

    from kgen import results

    # the pre-2026-12 layout: a recipe -> one run's metrics (docs/results/results.json is one)
    (tmp_path / "results.json").write_text(json.dumps({
        "mnist_vae": {"metrics": {"fid": 340.0}, "seconds": 1200.0},
        "mnist_dcgan": [{"seed": 0, "metrics": {"fid": 30.0}, "run_dir": "r", "row": {}}]}))
    state = results.load_state(tmp_path)
    assert set(state) == {"mnist_dcgan/seed0"} and state["mnist_dcgan/seed0"]["done"]
    assert "no run records for mnist_vae" in capsys.readouterr().out
