"""Model families. Each registers its config dataclass (`kgen.models.base.register`), whose
`build(image_shape, seed, data_scale)` returns the model, uncompiled."""

from __future__ import annotations

import importlib
import pkgutil

from kgen.config import ConfigError, Recipe
from kgen.models.base import FAMILIES

# Every module of this package is imported, so that a saved run's family resolves by name
# (`family_config`) without its recipe: a new family is its file here, nothing to list.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["build", "family_config", "FAMILIES"]


def build(recipe: Recipe, image_shape: tuple):
    """The recipe's model, uncompiled (`runs.build_model` compiles it): the family's config gets
    what the model needs, never the recipe."""
    cfg = recipe.model
    if not hasattr(type(cfg), "family"):
        raise ConfigError(f"{type(cfg).__name__} is not a registered model family; "
                          f"registered: {', '.join(FAMILIES)}")
    if recipe.data.scale not in cfg.data_scales:
        ranges = {"unit": "[0, 1]", "symmetric": "[-1, 1]"}
        raise ConfigError(
            f"data.scale={recipe.data.scale} ({ranges[recipe.data.scale]}): the {cfg.family} family expects "
            + " or ".join(f"data.scale={k} ({ranges[k]})" for k in cfg.data_scales)
            + f"; set --data.scale={cfg.data_scales[0]}")
    return cfg.build(tuple(image_shape), seed=recipe.seed, data_scale=recipe.data.scale)


def family_config(name: str):
    """The default config of the family `name`."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; registered: {', '.join(FAMILIES)}")
    return FAMILIES[name]()
