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
from dataclasses import dataclass

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


def main(recipe: Recipe, argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        actions, overrides = split_actions(argv)
        if actions.help:
            print(__doc__)
            print(args_lib.help_text(recipe, f"Recipe keys of {recipe.name}"))
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
