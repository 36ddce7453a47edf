"""The results table: recipes trained for the same budget, with several training seeds, then
evaluated.

    python -m kgen.results --data-path=../shared/data/mnist.npz [--budget=20m] [--seeds=0,1,2]
                           [--recipes=mnist_vae,mnist_dcgan,mnist_ddpm,mnist_aae,mnist_avb]
                           [--step-times=FILE] [--num-samples=10000] [--out=docs/results]
                           [--one-seed=mnist_aae,mnist_avb]
                           [--logdir=~/.kgen/results]
    python -m kgen.results --recipes=celeba_gan,celeba_vae --data-path=../shared/data/faces/train \
                           --test-path=../shared/data/faces/test --budget=45m --seeds=0,1,2 \
                           --step-times=docs/results/faces/step_times.json --num-samples=5000 \
                           --out=docs/results/faces

Each recipe runs with its own settings (`python -m kgen.recipes.<name>` in a fresh process, one
at a time), once per training seed, for `--budget`: a wall-clock `--train.time_budget`, or, with
`--step-times` (a file of benchmarks/step_times.py: each recipe's quiet seconds per step), the
`--train.max_steps` that the budget buys on a quiet machine, which then holds whatever else shares
the machine. Either way the budget ends the run (its epochs are raised out of the way);
`--budget=0` trains each recipe's own epochs instead. `python -m kgen.evaluate` then draws
`--num-samples` samples through each run's own SavedModel. `--out` receives results.md (a row per
recipe: mean ± sd over seeds of the steps reached, FID, KID, precision, recall and the family's own
measures; the exact commands; the seeds' claims judged by calibrated 95% intervals,
kgen/metrics/intervals.py), results.json and a sample grid per recipe.

Resumable: state.json in `--out` records each run; a run already trained and evaluated with the
same settings is skipped (one measured with others, after a changed --budget or an edited recipe
file for example, trains again in a new run directory), one whose training was cut off resumes
from its checkpoint. A run that fails is named at the end (exit 1) and the others go on; the
same command retries it. On a new machine, without state.json or the runs, the finished runs
recorded in results.json are kept and only the others train.

`--optimizers=adam,adagrad,rmsprop,sgd` makes the table seed 002's optimizer study: a row per
recipe and optimizer (`mnist_vae_sgd`), each optimizer at its Keras default learning rate, and the
loss figures.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from kgen import args as args_lib
from kgen import report, runs
from kgen.config import duration, num
from kgen.errors import ConfigError, KgenError
from kgen.optim import KERAS_DEFAULT_LR

# the default table: the MNIST recipes of seeds 001-003 (any recipe can join with --recipes)
DEFAULT_RECIPES = ("mnist_vae", "mnist_dcgan", "mnist_ddpm", "mnist_aae", "mnist_avb")
# why the table's classifiers train --augment-steps, not kgen.augment's 2,000
AUGMENT_STEPS_REASON = (
    "Each classifier of `kgen.augment` trains for `--steps` Adam steps of batch 128; the default 2,000 take "
    "7.5 minutes on 2 CPU cores (the shipped classifier's 4 epochs took 7), and a model needs ten of them "
    "(CAS, and 3 seeds x (real alone, + 1,000, + 10,000)). The table's `--augment-steps` (300 by default: "
    "38,400 images, 0.64 of a pass over 60,000 digits, 38 passes over 1,000) makes CAS lower than at 2,000 "
    "steps for real and generated data alike.")


EPOCHS_OUT_OF_THE_WAY = 100_000  # a budgeted run's epochs: the budget, not the recipe's epochs, ends it
# A two-stage recipe's (latent diffusion's) share of the budget for its first stage. Rombach et al.
# train a first stage once and reuse it, so the literature gives no split; a quarter is what
# mnist_ldm --quick spends (54 of 231 s, docs/results/ldm), where the autoencoder already
# reconstructs the test digits to 25.7 dB and the latent model matches the pixel DDPM's FID.
FIRST_STAGE_SHARE = 0.25


def recipe_of(name: str):
    return importlib.import_module(f"kgen.recipes.{name}").RECIPE


# What a table does with a recipe follows from the recipe itself: its data (an image folder is a
# face table's, with the held-out folder as reference) and whether its model takes labels.
def on_faces(name: str) -> bool:
    return recipe_of(name).data.name == "image_folder"


def conditional(name: str) -> bool:
    return hasattr(recipe_of(name).model, "num_classes")


def first_stage_of(name: str):
    """A two-stage recipe's first-stage recipe (its module's AUTOENCODER), else None."""
    return getattr(importlib.import_module(f"kgen.recipes.{name}"), "AUTOENCODER", None)


def stage_budgets(name: str, budget: float) -> dict[str, float]:
    """Option prefix -> seconds: "" (the recipe; a two-stage recipe's second stage) and, for a
    two-stage recipe, "autoencoder." (its first stage, FIRST_STAGE_SHARE of the budget)."""
    if first_stage_of(name) is None:
        return {"": budget}
    return {"autoencoder.": FIRST_STAGE_SHARE * budget, "": (1.0 - FIRST_STAGE_SHARE) * budget}


@dataclass
class Options:
    data_path: str = ""  # full MNIST (.npz or IDX folder), or a face recipe's image folder; required unless --quick
    test_path: str = ""  # face recipes: the held-out image folder (validation, and the evaluation reference)
    budget: float = duration(1200.0)  # training per run (20m, 1.5h, 90s); 0: each recipe's own epochs
    step_times: str = ""  # benchmarks/step_times.py's JSON: turn the budget into --train.max_steps per recipe
    recipes: str = ",".join(DEFAULT_RECIPES)
    seeds: str = "0"  # training seeds, comma-separated: one run per recipe and seed
    # recipes (comma-separated, among --recipes) trained at the first seed only, for rows no claim
    # compares (the hybrids); the table's seed count says so
    one_seed: str = ""
    num_samples: int = num(10_000, 2)
    out: str = "docs/results"
    logdir: str = "~/.kgen/results"  # runs and SavedModels (not committed)
    # generators train on the first N labelled digits only (--data.limit): the small-data question
    # of kgen.augment, whose real digits are then those N; 0: the recipes' own data
    train_limit: int = num(0)
    quick: bool = False  # each recipe's --quick settings and the bundled sample (a smoke test)
    augment: bool = True  # class-conditional recipes: also `python -m kgen.augment` (CAS, augmentation gain)
    augment_steps: int = num(300, 1)  # kgen.augment's --steps for every classifier (AUGMENT_STEPS_REASON)
    # seed 002's optimizer study: each recipe once per optimizer (adam, adagrad, rmsprop, sgd) at its
    # Keras default learning rate (kgen.optim.KERAS_DEFAULT_LR); empty: each recipe's own optimizer
    optimizers: str = ""


def optimizers_of(opts: Options) -> list[str]:
    """The table's optimizers: [""] (each recipe's own) unless --optimizers names some."""
    chosen = [o for o in opts.optimizers.split(",") if o]
    unknown = [o for o in chosen if o not in KERAS_DEFAULT_LR]
    if unknown:
        raise ConfigError(f"--optimizers: unknown {unknown}; valid: {', '.join(KERAS_DEFAULT_LR)}")
    return chosen or [""]


def label(name: str, optimizer: str) -> str:
    """A row's name: the recipe, and the optimizer it was trained with when the table varies it."""
    return f"{name}_{optimizer}" if optimizer else name


def one_seed_of(opts: Options) -> list[str]:
    """The recipes trained at the first seed only (--one-seed)."""
    return [n for n in opts.one_seed.split(",") if n]


def seeds_of(opts: Options) -> list[int]:
    try:
        seeds = [int(x) for x in opts.seeds.split(",") if x.strip()]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds={opts.seeds}: expected training seeds >= 0 separated by commas, e.g. 0,1,2")
    return seeds


def max_steps(name: str, opts: Options, stage: str = "") -> int | None:
    """The step count the budget buys `name` (its `stage`, as in stage_budgets) at its quiet step
    time, when --step-times is given."""
    if not opts.step_times or not opts.budget:
        return None
    path = Path(opts.step_times)
    if not path.exists():
        raise ConfigError(f"--step-times={opts.step_times}: no such file; make it with python benchmarks/step_times.py")
    times = json.loads(path.read_text())
    if name not in times or (stage and "first_stage" not in times[name]):
        raise ConfigError(f"--step-times={opts.step_times} has no step time for {name}{' (both stages)' if stage else ''} "
                          f"(it has {', '.join(times)}): python benchmarks/step_times.py {name} --out={opts.step_times}")
    seconds = (times[name]["first_stage"] if stage else times[name])["seconds_per_step"]
    return max(1, int(round(stage_budgets(name, opts.budget)[stage] / seconds)))


def train_command(name: str, opts: Options, logdir: Path, seed: int = 0, optimizer: str = "") -> list[str]:
    cmd = [sys.executable, "-m", f"kgen.recipes.{name}", f"--train.logdir={logdir}",
           f"--train.export_dir={logdir / 'saved_models'}", f"--seed={seed}", "--train.verbose=2"]
    for stage, seconds in stage_budgets(name, opts.budget).items():
        steps = max_steps(name, opts, stage)
        if steps:
            cmd += [f"--{stage}train.max_steps={steps}", f"--{stage}train.epochs={EPOCHS_OUT_OF_THE_WAY}"]
        elif opts.budget:
            cmd += [f"--{stage}train.time_budget={seconds:g}", f"--{stage}train.epochs={EPOCHS_OUT_OF_THE_WAY}"]
    if opts.quick:
        cmd.append("--quick")
    if opts.data_path:
        cmd.append(f"--data.path={opts.data_path}")
    if opts.test_path:
        cmd.append(f"--data.test_path={opts.test_path}")
    if opts.train_limit:
        cmd.append(f"--data.limit={opts.train_limit}")
    cmd += [f"--{k}={v}" for k, v in recipe_of(name).budget.items()]
    if optimizer:  # after the budget settings, which may set the recipe's own learning rate
        cmd += [f"--optimizer.name={optimizer}", f"--optimizer.learning_rate={KERAS_DEFAULT_LR[optimizer]:g}"]
    return cmd


def evaluate_settings(name: str, opts: Options) -> dict[str, str]:
    """`kgen.evaluate`'s options for a recipe's row: the table's, then its stated changes. The
    evaluation seed is 0 for every run: the reference's parts, which the verdicts pair across
    runs, then match."""
    settings = {"num-samples": str(opts.num_samples), "seed": "0"}
    if on_faces(name):
        if opts.test_path:
            settings["reference"] = opts.test_path
    elif opts.quick:
        settings["reference"] = "mnist_sample"
    elif opts.data_path:
        settings["data-path"] = opts.data_path
    return {**settings, **recipe_of(name).evaluate}


def evaluate_command(run_dir: Path, opts: Options) -> list[str]:
    return [sys.executable, "-m", "kgen.evaluate", str(run_dir)] + [
        f"--{k}={v}" for k, v in evaluate_settings(name_of(run_dir), opts).items()]


def augment_command(run_dir: Path, opts: Options) -> list[str]:
    cmd = [sys.executable, "-m", "kgen.augment", str(run_dir)]
    # --quick: a smoke test of the pipeline on the bundled digits, not a measurement
    if opts.quick:
        return cmd + ["--reference=mnist_sample", "--cas-samples=500", "--extra=100", "--seeds=0,1",
                      "--steps=20"]
    return cmd + [f"--data-path={opts.data_path}", f"--steps={opts.augment_steps}"] + [
        f"--{k}={v}" for k, v in recipe_of(name_of(run_dir)).augment.items()]


def settings_of(train_command: str) -> str:
    """A train command without the folders it writes to, which differ between machines: what a
    run's numbers depend on."""
    return " ".join(a for a in train_command.split()
                    if not a.split("=")[0].endswith(("train.logdir", "train.export_dir")))


def recipe_digest(name: str, cmd: list[str]) -> str:
    """What a row trains, as a digest: the recipe file's values under the command's options, each
    stage's. An edited recipe under an unchanged command changes it; its texts (source, reasons),
    the --quick and budget dicts (which act through the command) and the run's folders do not."""
    import hashlib

    from kgen import cli
    from kgen.config import NOT_KEYS, to_dict

    actions, overrides = cli.split_actions(cmd[3:])
    first = first_stage_of(name)
    stages = ([(recipe_of(name), overrides)] if first is None
              else list(zip((first, recipe_of(name)), cli.split_stages(overrides))))
    values = []
    for recipe, stage_overrides in stages:
        resolved = to_dict(runs.resolve(recipe, stage_overrides, actions.quick)[0])
        for key in (*NOT_KEYS, "source"):
            resolved.pop(key, None)
        resolved["train"] = {k: v for k, v in resolved["train"].items() if k not in ("logdir", "export_dir")}
        values.append(resolved)
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def name_of(run_dir: Path) -> str:
    return run_dir.parent.name  # runs live in <logdir>/<recipe>/<date-time>


def shown(cmd: list[str]) -> str:
    return "python " + " ".join(cmd[1:])


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "a") as f:
        f.write("$ " + shown(cmd) + "\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=os.getcwd())
    if proc.returncode:
        raise KgenError(f"{shown(cmd)} failed with status {proc.returncode}; its output is in {log}")


def run_recipe(name: str, seed: int, opts: Options, state: dict, out: Path, logdir: Path, optimizer: str = "") -> dict:
    row = label(name, optimizer)
    entry = state.setdefault(f"{row}/seed{seed}", {"recipe": name, "optimizer": optimizer, "seed": seed})
    logdir = logdir / f"seed{seed}" / optimizer  # runs live in <logdir>/<recipe>/<date-time> (name_of)
    cmd = train_command(name, opts, logdir, seed, optimizer)
    stale = 0.0  # finished runs up to this time were measured with other settings
    digest = recipe_digest(name, cmd)
    if entry.get("done"):
        # runs recorded before digests were kept are judged by their command alone
        if (settings_of(entry.get("train_command", "")) == settings_of(shown(cmd))
                and entry.get("recipe_digest", digest) == digest
                and entry.get("evaluate_command") == shown(evaluate_command(Path(entry["run_dir"]), opts))):
            return entry  # measured with these settings, perhaps on another machine (results.json carries it)
        print(f"kgen.results: {row}, seed {seed} was measured with other settings; it trains again", flush=True)
        entry.update(done=False)
        old_export = Path(entry["run_dir"]) / runs.SAVED_MODEL / "saved_model.pb"
        stale = old_export.stat().st_mtime if old_export.exists() else 0.0
    log = out / f"{row}.log"
    entry.update(train_command=shown(cmd), recipe_digest=digest)
    runs_of = logdir / name

    def finished_runs():  # a run's own export is the last thing it writes
        return sorted((p for p in runs_of.glob(f"*/{runs.SAVED_MODEL}/saved_model.pb") if p.stat().st_mtime > stale),
                      key=lambda p: p.stat().st_mtime)

    finished = finished_runs()
    if not finished:
        # cut off earlier (after a checkpoint): continue under the same budget rule; a run whose
        # budget is spent only finishes (figures, test metrics, export)
        first = first_stage_of(name)
        resume = not stale and (any(runs_of.glob("*/checkpoints/latest.json")) or (
            first is not None and any((logdir / first.name).glob("*/checkpoints/latest.json"))))
        print(f"kgen.results: training {row}, seed {seed} ({shown(cmd[3:])}{', resumed' if resume else ''})",
              flush=True)
        _run(cmd + (["--resume"] if resume else []), log)
        finished = finished_runs()
    run_dir = finished[-1].parent.parent
    entry["run_dir"] = str(run_dir)
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    eval_cmd = evaluate_command(run_dir, opts)
    entry["evaluate_command"] = shown(eval_cmd)
    wanted = int(evaluate_settings(name, opts)["num-samples"])
    if "fid" not in metrics or metrics.get("num_samples") != wanted:
        print(f"kgen.results: evaluating {row} on {wanted} samples", flush=True)
        _run(eval_cmd, log)
        metrics = json.loads(metrics_path.read_text())
    if conditional(name) and opts.augment:
        aug_cmd = augment_command(run_dir, opts)
        entry["augment_command"] = shown(aug_cmd)
        if "cas" not in metrics:
            print(f"kgen.results: generated digits as training data for {row}", flush=True)
            _run(aug_cmd, log)
            metrics = json.loads(metrics_path.read_text())
    if seed == seeds_of(opts)[0]:
        shutil.copy(run_dir / "samples.png", out / f"{row}.png")
    if (run_dir / "guidance.png").exists():
        shutil.copy(run_dir / "guidance.png", out / f"{row}_guidance.png")
    entry.update(metrics=metrics, reached=runs.read_config(run_dir).get("reached", {}), row=report.row(run_dir),
                 done=True)
    save_state(out, state)
    return entry


def load_state(out: Path) -> dict:
    """state.json in `out`; without it (a new machine: runs and state are not committed), the
    finished runs that results.json records, so that only the missing ones train."""
    if (out / "state.json").exists():
        return json.loads((out / "state.json").read_text())
    if not (out / "results.json").exists():
        return {}
    recorded = json.loads((out / "results.json").read_text())
    # a table written before the runs were recorded (a recipe -> one run's metrics, no commands
    # or run directory) cannot be resumed from: its recipes train again
    older = sorted(n for n, es in recorded.items() if not isinstance(es, list))
    if older:
        print(f"kgen.results: {out / 'results.json'} holds no run records for {', '.join(older)} (written by an "
              "older kgen): they train again", flush=True)
    # a row's key is its label (kgen.results.label); entries before --optimizers carry no recipe
    state = {f"{row}/seed{e['seed']}": {"recipe": row, **e, "done": True}
             for row, entries in recorded.items() if row not in older for e in entries}
    print(f"kgen.results: {len(state)} finished run(s) from {out / 'results.json'}: "
          + ", ".join(sorted(state)), flush=True)
    return state


def save_state(out: Path, state: dict) -> None:
    tmp = out / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, out / "state.json")


# the table's columns: (header, the value of one run's metrics and reached steps)
COLUMNS = (
    ("steps", lambda m, r: r.get("steps")),
    ("epochs", lambda m, r: r.get("epochs")),
    ("train s", lambda m, r: r.get("seconds")),
    ("FID", lambda m, r: m.get("fid")),
    ("KID", lambda m, r: m.get("kid")),
    ("precision", lambda m, r: m.get("precision")),
    ("recall", lambda m, r: m.get("recall")),
)
NEG_ELBO = ("-ELBO nats (Bernoulli: cross-entropy)", lambda m, r: report.neg_elbo(m))
MNIST_COLUMNS = (
    ("coverage", lambda m, r: m.get("coverage")),
    ("confidence", lambda m, r: m.get("mean_confidence")),
    NEG_ELBO,
    ("-log p (IWAE) nats (idem)", lambda m, r: report.neg_elbo(m, "nll_iwae")),
    ("conditional accuracy", lambda m, r: m.get("conditional_accuracy")),
    ("test bits/dim (flow: exact)", lambda m, r: m.get("test_bits_per_dim")),
)
FACE_COLUMNS = (
    ("face detection rate", lambda m, r: m.get("face_detection_rate")),
    ("mean face probability", lambda m, r: m.get("mean_face_probability")),
    NEG_ELBO,
)


def budget_text(opts: Options, names: list[str]) -> str:
    if not opts.budget:
        return "its own epochs (`train.epochs`, no budget)"
    if opts.step_times:
        steps = ", ".join(f"`{n}` " + " + ".join(f"{max_steps(n, opts, st):,}" for st in stage_budgets(n, opts.budget))
                          + (" (first stage + second, a quarter of the budget for the first: FIRST_STAGE_SHARE)"
                             if first_stage_of(n) is not None else "") for n in names)
        return (f"**{opts.budget / 60:g} minutes** of quiet training on this machine, as steps (`--train.max_steps`: "
                f"{steps}, from each recipe's seconds per step measured on a quiet machine in `{opts.step_times}`), "
                "so the runs do not depend on what else shared the machine")
    return f"**{opts.budget / 60:g} minutes** of wall-clock training on this machine (nothing else running)"


RECORDED = ("recipe", "optimizer", "seed", "metrics", "reached", "row", "run_dir", "train_command", "evaluate_command", "augment_command")


def table_command(opts: Options) -> str:
    """The command that remakes the table: every option that differs from its default (the
    runs' folder aside: it moves no number)."""
    default, flags = Options(), []
    for f in fields(Options):
        value = getattr(opts, f.name)
        if f.name == "logdir" or value == getattr(default, f.name):
            continue
        key = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(key if value else f"{key}=false")
        else:
            flags.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(["python -m kgen.results", *flags])


def write_table(state: dict, opts: Options, out: Path) -> Path:
    names = opts.recipes.split(",")
    seeds = seeds_of(opts)
    rows_of = [(n, o) for n in names for o in optimizers_of(opts)]
    done = {label(n, o): [e for e in state.values() if e.get("done") and e.get("recipe") == n
                          and e.get("optimizer", "") == o and e.get("seed") in seeds] for n, o in rows_of}
    done = {r: sorted(es, key=lambda e: e["seed"]) for r, es in done.items() if es}
    faces = any(on_faces(n) for n in names)
    extra = FACE_COLUMNS if faces else MNIST_COLUMNS
    # a family's own measure (the flow's bits/dim, the VAE's bounds) is a column when a row has it
    columns = COLUMNS + tuple(c for c in extra if any(c[1](e["metrics"], e.get("reached", {})) is not None
                                                      for es in done.values() for e in es))
    reference = (f"the held-out images of `{opts.test_path}` in the face metric's features (kgen/metrics/faces.py; "
                 "docs/results/faces/metric_validation.md)" if faces else
                 "the MNIST test set in the feature space of kgen's MNIST classifier")
    title = "at equal compute" if opts.budget else "at each recipe's own epochs"
    lines = [
        f"# Results {title}{' on faces' if faces else ''}",
        "",
        f"Each recipe trained ({os.cpu_count()} CPU cores) for {budget_text(opts, names)}, with the recipe's own "
        f"settings, training seeds {', '.join(map(str, seeds))}; then evaluated on {opts.num_samples:,} samples "
        f"against {reference} (`python -m kgen.evaluate`). With several seeds a cell is the mean ± sd over them; "
        "a number is comparable only within one feature space, reference set and number of samples. Lower FID and "
        "KID are better; precision and recall on equal sets of samples and reference images."
        + (f" Seed 002's optimizer study: each recipe trained once per optimizer ({', '.join(optimizers_of(opts))}), "
           "each at its Keras default learning rate (kgen.optim.KERAS_DEFAULT_LR: the seed gives none) and for the "
           "recipe's steps, measured with its own optimizer (an update is cheap beside the forward and backward "
           "passes); a row is `<recipe>_<optimizer>`." if opts.optimizers else "")
        + (" `train s` is the wall time each run took as it ran, beside other work: a record, not a timing "
           "(the step budget is what makes the runs equal)." if opts.step_times else "")
        + ("" if faces else " Conditional accuracy (class-conditional recipes only): how often the classifier "
           "agrees with the class asked for."),
        "",
        *report.markdown_table(["recipe", "seeds", *(h for h, _ in columns)], [
            [f"`{name}`", str(len(entries)), *(report.spread([fn(e["metrics"], e.get("reached", {})) for e in entries],
                                                             4 if h in ("train s", "steps") or "nats" in h else 3)
                                               for h, fn in columns)]
            for name, entries in done.items()]),
    ]
    # each recipe's stated departures (kgen.config.Recipe.budget, .evaluate, .augment), with reasons
    augmenting = [n for n in names if conditional(n)] if opts.augment else []
    sections = [("Changes from the recipes' own settings:", names, "budget"),
                ("Changes from `kgen.evaluate`'s settings above:", names, "evaluate"),
                ("Changes from `kgen.augment`'s defaults:", augmenting, "augment")]
    for title, which, kind in sections:
        changes = {n: (getattr(recipe_of(n), kind), getattr(recipe_of(n), f"{kind}_reason")) for n in which}
        listed = [f"- `{n}`: " + " ".join(f"`--{k}={v}`" for k, v in c.items()) + f". {r}"
                  for n, (c, r) in changes.items() if c]
        if kind == "augment" and which:
            listed.insert(0, f"- every conditional row: `--steps={opts.augment_steps}`. {AUGMENT_STEPS_REASON}")
        if listed:
            lines += ["", title, "", *listed]
    one_seed = one_seed_of(opts)
    missing = [f"{label(n, o)} (seed {s})" for n, o in rows_of for s in seeds
               if (s == seeds[0] or n not in one_seed) and not any(e["seed"] == s for e in done.get(label(n, o), []))]
    if missing:
        lines += ["", f"Not yet measured: {', '.join(missing)} (the command below resumes)."]
    rows = [e["row"] for es in done.values() for e in es]
    measured = sorted({e["seed"] for es in done.values() for e in es})
    budget = report.budget_of(rows) + f" ({budget_text(opts, names).split(' (')[0].replace('*', '')}), training seed" + (
        "s " if len(measured) > 1 else " ") + ", ".join(map(str, measured))
    if report.claims(rows, budget) or not all(conditional(n) for n in names):
        lines += ["", *report.claims_section(rows, budget, "The seeds' claims at this budget")]
    augmentation = report.augmentation_lines(rows)
    augmentation += [f"- `{r}`: not measured in this table; `python -m kgen.augment {es[0]['run_dir']} --data-path=...` "
                     "measures it." for r, es in done.items() if conditional(es[0]["recipe"]) and "cas" not in es[0]["metrics"]]
    if augmentation:
        lines += ["", "## Generated digits as training data (seed 003)", "", *augmentation]
    guided = [n for n in done if (out / f"{n}_guidance.png").exists()]
    for n in guided:
        m = done[n][0]["metrics"]
        ws = sorted({float(k.split("/")[1]) for k in m if k.startswith("guidance/")})
        lines += ["", f"## `{n}`: classifier-free guidance", "", *report.markdown_table(
            ["guidance w", "conditional accuracy", "class FID (mean)", "class recall (mean)"],
            [[f"{w:g}", *(report.cell(m[f"guidance/{w:g}/{k}"], 3, "") for k in
                          ("conditional_accuracy", "fid_class_mean", "recall_class_mean"))] for w in ws])]
        lines += ["", f"![{n} guidance]({n}_guidance.png)"]
    if len(optimizers_of(opts)) > 1:  # seed 002's loss graphs: a recipe's optimizers overlaid
        from kgen.study import loss_figure

        drawn = []
        for n in names:
            first = [es[0] for es in done.values() if es[0]["recipe"] == n]  # each optimizer's first seed
            if first:
                drawn.append(loss_figure({e["optimizer"]: Path(e["run_dir"]) for e in first}, first[0]["row"]["model"],
                                         out / f"loss_{n}.png"))
        lines += ["", f"## Training loss per optimizer (training seed {seeds[0]})", ""] + [
            f"![{p.stem}]({p.name})" for p in drawn if p]
    lines += ["", f"## Sample grids (training seed {seeds[0]})", ""] + [f"![{n}]({n}.png)" for n in done]
    lines += ["", "## Commands", "", "    " + table_command(opts), ""]
    for n, es in done.items():
        for e in es:
            lines += [f"- `{n}`, seed {e['seed']}: `{e['train_command']}` then `{e['evaluate_command']}`"
                      + (f" then `{e['augment_command']}`" if e.get("augment_command") else "")]
    path = out / "results.md"
    path.write_text("\n".join(lines) + "\n")
    # everything the table and the verdicts need, so that a later machine resumes from it (load_state)
    (out / "results.json").write_text(json.dumps(
        {n: [{k: e[k] for k in RECORDED if k in e} for e in es] for n, es in done.items()}, indent=2))
    return path


def main(argv: list[str]) -> int:
    return args_lib.run_main("kgen.results", argv, Options(), __doc__, build_table)


def build_table(opts: Options, _) -> Path:
    if not opts.data_path and not opts.quick:
        raise ConfigError("--data-path is required: the table is measured on full MNIST "
                          "(an .npz with x_train, y_train, x_test, y_test, or the IDX folder)")
    names = opts.recipes.split(",")
    valid = importlib.import_module("kgen.recipes").NAMES  # every recipe file, as recipe_of loads them
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ConfigError(f"--recipes: unknown {unknown}; valid: {', '.join(valid)}")
    if len({on_faces(n) for n in names}) > 1:
        raise ConfigError("--recipes: face and MNIST recipes read different data; make one table of each")
    seeds, optimizers = seeds_of(opts), optimizers_of(opts)
    one_seed = one_seed_of(opts)
    if set(one_seed) - set(names):
        raise ConfigError(f"--one-seed: {sorted(set(one_seed) - set(names))} not in --recipes={opts.recipes}; "
                          "name recipes of the table")
    for n in names:
        for stage in stage_budgets(n, opts.budget):
            max_steps(n, opts, stage)  # a missing step time is an error now, not after hours of other runs
    out, logdir = Path(opts.out), Path(opts.logdir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    state = load_state(out)
    # seed by seed: a table with every recipe at one seed comes first, more seeds narrow it
    failed = []
    for seed in seeds:
        for name, optimizer in ((n, o) for n in names for o in optimizers if seed == seeds[0] or n not in one_seed):
            try:
                run_recipe(name, seed, opts, state, out, logdir, optimizer)
            except KgenError as e:  # one run's failure does not stop the hours of runs after it
                failed.append(f"{label(name, optimizer)} (seed {seed})")
                print(f"kgen.results: {label(name, optimizer)}, seed {seed} failed; the table goes on without it: {e}",
                      flush=True)
            write_table(state, opts, out)
    print(f"kgen.results: table in {out / 'results.md'}")
    if failed:
        raise KgenError(f"{', '.join(failed)} failed (their logs are in {out}); the table has the others, and the "
                        "same command retries the failed runs and keeps the finished ones")
    return out / "results.md"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
