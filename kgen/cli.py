"""What `python -m kgen.recipes.<name>` runs.

    python -m kgen.recipes.mnist_vae [--quick] [--summary] [--resume] [--deterministic]
                                     [--section.key=value ...]

--quick applies the recipe's small, minutes-long settings (bundled data); --summary prints the
networks and their parameter counts beside the seed's figures and exits; --resume continues the
latest run of the recipe from its last checkpoint (later overrides, e.g. --train.epochs=30, still
apply). Every other `--key=value` overrides a recipe value, type- and range-checked; a bare
`--key` sets a boolean to true. Restoring images with a diffusion model is `python -m kgen.restore`.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kgen import args as args_lib
from kgen import runs
from kgen.config import Recipe
from kgen.errors import ConfigError, KgenError


@dataclass
class Actions:
    quick: bool = False
    summary: bool = False
    resume: bool = False
    help: bool = False


def split_actions(argv: list[str]) -> tuple[Actions, dict[str, str]]:
    """(the actions, the recipe overrides)."""
    positional, options = args_lib.split(argv)
    if positional:
        raise ConfigError(f"unexpected argument {positional[0]!r}: options look like --section.key=value")
    names = {f for f in vars(Actions())}
    actions = args_lib.fill(Actions(), {k: v for k, v in options.items() if k in names})
    return actions, {k: v for k, v in options.items() if k not in names}


def digits_notice(declared: Recipe, resolved: Recipe) -> str | None:
    """What a face recipe run on digits (--quick) says first: that it is not training on faces,
    and how to point it at some."""
    if declared.data.name in ("image_folder", "celeb_a") and resolved.data.name in ("mnist", "mnist_sample"):
        d = resolved.data
        return (f"kgen: {resolved.name} trains on MNIST digits resized to {d.image_size}x{d.image_size}x{d.channels} "
                f"here, not on faces (none ship with kgen). For faces: python -m kgen.recipes.{resolved.name} "
                "--data.path=/path/to/img_align_celeba (a folder of face images), or --data.name=celeb_a")
    return None


# What the two stages of a two-stage recipe share: where runs go, the seed, the data, the hardware.
SHARED_KEYS = ("seed", "deterministic", "distribute", "distribute_timeout", "train.logdir", "train.export_dir",
               "train.verbose", "train.mixed_precision", "train.jit_compile")
FIRST_STAGE = "autoencoder."  # --autoencoder.<key>: a key of the first stage's recipe


def split_stages(overrides: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the first stage's overrides, the second's): `--autoencoder.<key>` goes to the first only,
    the shared keys (SHARED_KEYS, data.*) to both, everything else to the second."""
    first = {k[len(FIRST_STAGE):]: v for k, v in overrides.items() if k.startswith(FIRST_STAGE)}
    shared = {k: v for k, v in overrides.items() if k in SHARED_KEYS or k.startswith("data.")}
    return {**shared, **first}, {k: v for k, v in overrides.items() if not k.startswith(FIRST_STAGE)}


def has_run(recipe: Recipe) -> bool:
    try:
        runs.latest_run_dir(recipe)
    except ConfigError:
        return False
    return True


def stand_in_first_stage(first: Recipe, directory: Path) -> Path:
    """An untrained first stage saved as a run's model.keras in `directory`: what the second
    stage's networks are built on for --summary and shape checks."""
    from kgen.train import save_keras

    return save_keras(runs.build_model(first), directory / runs.KERAS_FILE)


def train_first_stage(first: Recipe, overrides: dict[str, str], actions: Actions) -> tuple[Path, bool]:
    """(a finished first-stage run, whether it trained now). With --resume its latest run is
    reused when finished and continued when cut off; otherwise a new one trains."""
    from kgen.train import run

    recipe, _ = runs.resolve(first, overrides, actions.quick)
    resume_dir = None
    if actions.resume:
        resume_dir = runs.latest_run_dir(recipe) if has_run(recipe) else None  # none yet: train one
        if resume_dir and (resume_dir / runs.KERAS_FILE).exists():
            print(f"kgen: first stage {resume_dir} (finished): reused", flush=True)
            return resume_dir, False
        if resume_dir:
            recipe, resume_dir = runs.resolve(first, overrides, actions.quick, resume=True)
    print(f"kgen: first stage: {recipe.name}", flush=True)
    run_dir = run(recipe, resume_dir=resume_dir).run_dir
    if not (run_dir / runs.KERAS_FILE).exists():
        raise ConfigError("the first stage trained, but this process (a multi-worker run's non-chief) has no copy of "
                          "it: train the first stage alone, then give every worker --model.autoencoder=RUN")
    return run_dir, True


def first_stage_done(recipe: Recipe, first_stage: Recipe, actions: Actions, overrides: dict[str, str]):
    """A two-stage recipe's second-stage overrides, with `model.autoencoder` a finished first
    stage: the user's, or one trained (or reused, or continued under --resume) now. None once
    --summary has printed both stages."""
    first_overrides, overrides = split_stages(overrides)
    if "model.autoencoder" in overrides:
        given = sorted(set(first_overrides) - set(split_stages(overrides)[0]))
        if given:
            raise ConfigError(f"--model.autoencoder gives a trained first stage, so --{FIRST_STAGE}"
                              f"{given[0]} would not be used: drop one of them")
        return overrides
    first = runs.resolve(first_stage, first_overrides, actions.quick)[0]
    if actions.summary:
        print(f"First stage ({first.name}):")
        runs.summary(first)
        with tempfile.TemporaryDirectory() as tmp:
            stand_in = stand_in_first_stage(first, Path(tmp))
            print(f"Second stage ({recipe.name}), on the first stage's latents:")
            runs.summary(runs.resolve(recipe, {**overrides, "model.autoencoder": str(stand_in)}, actions.quick)[0])
        return None
    runs.resolve(recipe, overrides, actions.quick)  # the second stage's keys, checked before hours of the first
    first_run, fresh = train_first_stage(first_stage, first_overrides, actions)
    overrides["model.autoencoder"] = str(first_run)
    if fresh or not has_run(runs.resolve(recipe, overrides)[0]):
        actions.resume = False  # a new first stage starts a new second stage
    return overrides


def main(recipe: Recipe, argv: list[str] | None = None, first_stage: Recipe | None = None) -> int:
    """`first_stage`: a recipe trained before `recipe` (latent diffusion's autoencoder), whose
    finished run becomes `--model.autoencoder`, unless the user gives one."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        actions, overrides = split_actions(argv)
        if actions.help:
            print(__doc__)
            print(args_lib.help_text(recipe, f"Recipe keys of {recipe.name}"))
            if first_stage is not None:
                print(args_lib.help_text(first_stage, f"First-stage keys, as --{FIRST_STAGE}<key>"))
            return 0
        if first_stage is not None:
            overrides = first_stage_done(recipe, first_stage, actions, overrides)
            if overrides is None:
                return 0
        declared = recipe
        recipe, resume_dir = runs.resolve(recipe, overrides, actions.quick, actions.resume)
        if actions.summary:
            runs.summary(recipe)
            return 0
        notice = digits_notice(declared, recipe)
        if notice:
            print(notice, flush=True)
        from kgen.train import run

        run(recipe, resume_dir=resume_dir)
    except KgenError as e:
        print(f"kgen: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ConfigError) else 1
    return 0
