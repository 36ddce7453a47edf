"""What `python -m kgen.recipes.<name>` runs.

    python -m kgen.recipes.mnist_vae [--quick] [--summary] [--resume] [--deterministic]
                                     [--section.key=value ...]

Diffusion recipes also take --mode=inpaint|denoise [--input=PATH] [--sigma=0.2] (see kgen.restore).

Flags: --quick applies the recipe's small, minutes-long settings (bundled data); --summary prints
the networks and their parameter counts and exits; --resume continues the latest run of the
recipe from its last checkpoint (later overrides, e.g. --train.epochs=30, still apply). Every
other `--key=value` overrides a recipe value, type-checked against the recipe; a bare `--key` sets
a boolean to true.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kgen import config as config_lib
from kgen.config import Recipe
from kgen.errors import ConfigError, KgenError

ACTIONS = ("quick", "summary", "resume", "help")
# run options that take a value but are not recipe keys (diffusion restoration)
RUN_OPTIONS = ("mode", "input", "sigma")


def parse(argv: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(actions and run options, recipe overrides); a bare action maps to "true"."""
    actions, overrides = {}, {}
    for arg in argv:
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}: options look like --section.key=value")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_") if "." not in key else key
        if key in ACTIONS and not eq:
            actions[key] = "true"
        elif key in RUN_OPTIONS and eq:
            actions[key] = value
        elif key == "h":
            actions["help"] = "true"
        else:
            overrides[key] = value if eq else "true"
    return actions, overrides


def resolve(recipe: Recipe, argv: list[str]) -> tuple[Recipe, dict[str, str], Path | None]:
    """The recipe after --quick, --resume's saved config and the user's overrides, in that order."""
    actions, overrides = parse(argv)
    resume_dir = None
    if "quick" in actions:
        recipe = config_lib.apply_overrides(recipe, recipe.quick)
    if "resume" in actions:
        from kgen.train import latest_run_dir

        # find the run with the logdir the user gave, then replay its saved recipe
        probe = config_lib.apply_overrides(recipe, {k: v for k, v in overrides.items() if k == "train.logdir"})
        resume_dir = latest_run_dir(probe)
        saved = json.loads((resume_dir / "config.json").read_text())["recipe"]
        recipe = config_lib.apply_overrides(recipe, config_lib.flatten(saved))
    return config_lib.apply_overrides(recipe, overrides), actions, resume_dir


def main(recipe: Recipe, argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        recipe, actions, resume_dir = resolve(recipe, argv)
    except ConfigError as e:
        print(f"kgen: error: {e}", file=sys.stderr)
        return 2
    if "help" in actions:
        print(__doc__)
        print("Recipe keys and values:")
        for key, value in config_lib.flatten(config_lib.to_dict(recipe)).items():
            print(f"  --{key}={value}")
        return 0
    try:
        if "summary" in actions:
            from kgen.train import summary

            summary(recipe)
            return 0
        mode = actions.get("mode", "train")
        if mode != "train":
            from kgen.restore import run_restore

            try:
                sigma = float(actions.get("sigma", "0.2"))
            except ValueError:
                raise ConfigError(f"--sigma={actions['sigma']!r}: expected a number like 0.2") from None
            run_restore(recipe, mode, actions.get("input", ""), sigma, recipe.seed)
            return 0
        from kgen.train import run

        run(recipe, resume_dir=resume_dir)
    except KgenError as e:
        print(f"kgen: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ConfigError) else 1
    return 0
