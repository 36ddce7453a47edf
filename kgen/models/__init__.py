"""Model families. Each registers its config dataclass (`kgen.models.base.register`), whose
`build(recipe, image_shape)` returns the compiled model."""

from __future__ import annotations

from kgen.config import ConfigError, Recipe
from kgen.models import aae, avb, conditional, ddpm, gan, vae  # noqa: F401  (each registers its family)

__all__ = ["aae", "avb", "conditional", "ddpm", "gan", "vae", "build", "family_config", "FAMILIES"]
from kgen.models.base import FAMILIES


def build(recipe: Recipe, image_shape: tuple):
    if not hasattr(type(recipe.model), "family"):
        raise ConfigError(f"{type(recipe.model).__name__} is not a registered model family; "
                          f"registered: {', '.join(FAMILIES)}")
    return recipe.model.build(recipe, tuple(image_shape))


def family_config(name: str):
    """The default config of the family `name`."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; registered: {', '.join(FAMILIES)}")
    return FAMILIES[name]()
