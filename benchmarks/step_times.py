"""A recipe's quiet step time, and the step count that a wall-clock budget buys with it.

    python benchmarks/step_times.py celeba_gan celeba_vae --seconds=150 --budget=45m \\
        --args="--data.path=../shared/data/faces/train --data.test_path=../shared/data/faces/test" \\
        --out=docs/results/faces/step_times.json

Each recipe trains in a fresh process for `--seconds` (nothing else should run meanwhile), with
its `budget` settings (those kgen.results trains it with) and a TensorBoard scalar every 10
steps; the seconds per step are the median over those 10-step intervals after the first (which
holds the trace), so start-up and data loading do not count.
`--budget` / (seconds per step) is the `--train.max_steps` that gives runs "the same compute"
whatever else later shares the machine: a wall-clock budget is equal compute only on a quiet
machine, a step count everywhere. A two-stage recipe (mnist_ldm, faces_ldm) trains each stage for
`--seconds` and records the first stage's time under `first_stage`.
"""

from __future__ import annotations

import json
import resource
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgen import args
from kgen.config import duration, num
from kgen.report import read_scalars


@dataclass
class Options:
    seconds: float = duration(150.0)  # training time of the measurement
    budget: float = duration(2700.0)  # the wall-clock budget to express in steps
    args: str = ""  # extra options for every recipe (quoted)
    out: str = ""  # JSON file to write (default: print only)
    every: int = num(10, 1)  # steps between the timestamps


def measure(name: str, opts: Options) -> dict:
    """A two-stage recipe (latent diffusion) trains each stage for `--seconds`; its first stage's
    timing goes under `first_stage`."""
    import importlib

    module = importlib.import_module(f"kgen.recipes.{name}")
    first = getattr(module, "AUTOENCODER", None)
    stages = {"": name} if first is None else {"autoencoder.": first.name, "": name}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", f"kgen.recipes.{name}", f"--train.logdir={tmp}", "--train.verbose=0",
               f"--train.export_dir={tmp}/saved_models"]
        for prefix in stages:
            cmd += [f"--{prefix}train.time_budget={opts.seconds:g}", f"--{prefix}train.log_every_steps={opts.every}"]
        # the recipe's budget-run settings, as kgen.results trains it: its steps are what is timed
        cmd += [f"--{k}={v}" for k, v in module.RECIPE.budget.items()] + shlex.split(opts.args)
        print("$ python " + " ".join(cmd[1:]), flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        # the largest resident set of any child so far (KiB on Linux): the recipe's own peak
        # when it is the largest process this script has started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        timed = {prefix: timing(next(Path(tmp, run).iterdir()), opts) for prefix, run in stages.items()}
    out = {**timed[""], "peak_rss_gib": round(peak / 2**20, 2) if peak > before else None,
           "budget_seconds": opts.budget, "max_steps": int(round(opts.budget / timed[""]["seconds_per_step"])),
           "command": "python " + " ".join(cmd[1:])}
    if first is not None:
        out["first_stage"] = timed["autoencoder."]
        del out["max_steps"]  # kgen.results splits a two-stage budget (FIRST_STAGE_SHARE)
    return out


def timing(run_dir: Path, opts: Options) -> dict:
    config = json.loads((run_dir / "config.json").read_text())
    steps, _, wall = read_scalars(run_dir, _lr_tag(run_dir), wall_times=True)
    per_step = np.diff(wall[1:]) / np.diff(steps[1:])
    if len(per_step) < 3:
        raise SystemExit(f"{run_dir}: only {len(steps)} timestamps in {opts.seconds:g} s; raise --seconds")
    return {"seconds_per_step": round(float(np.median(per_step)), 5),
            "spread_iqr": [round(float(q), 5) for q in np.percentile(per_step, [25, 75])],
            "intervals": len(per_step), "mixed_precision": config["recipe"]["train"]["mixed_precision"]}


def _lr_tag(run_dir: Path) -> str:
    """The first learning-rate tag: every model writes one per optimizer at every log step."""
    import tensorflow as tf

    for path in sorted((run_dir / "train").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                if v.tag.startswith("learning_rate/"):
                    return v.tag
    raise SystemExit(f"{run_dir}: no learning_rate scalars written")


def main(argv: list[str]) -> int:
    def body(opts, names):
        for name in names:  # each recipe's time is kept as soon as it is measured
            out = {name: measure(name, opts)}
            print(json.dumps(out, indent=2), flush=True)
            if opts.out:
                Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
                old = json.loads(Path(opts.out).read_text()) if Path(opts.out).exists() else {}
                Path(opts.out).write_text(json.dumps({**old, **out}, indent=2) + "\n")

    return args.run_main("step_times", argv, Options(), __doc__, body, positional=None)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
