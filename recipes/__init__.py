"""Recipes: one file per documented paper setup, run as `python -m kgen.recipes.<name>`."""

import pkgutil as _pkgutil

# not a model recipe: optimizer_study runs a grid of the three MNIST recipes (kgen.study)
NOT_RECIPES = ("optimizer_study",)
# every recipe file in this folder: a new recipe needs no list edited
NAMES = tuple(sorted(m.name for m in _pkgutil.iter_modules(__path__) if m.name not in NOT_RECIPES))
