"""Model families. `build(recipe, image_shape)` returns a compiled model for the recipe's family."""

from __future__ import annotations

from kgen.config import ConfigError, Recipe
from kgen.optim import loss_scaled, make_optimizer


def build(recipe: Recipe, image_shape: tuple):
    from kgen.models import vae

    kind = type(recipe.model)
    mp, jit = recipe.train.mixed_precision, recipe.train.jit_compile
    if kind is vae.VAEConfig:
        model = vae.build(recipe.model, image_shape, recipe.seed)
        model.compile(optimizer=loss_scaled(make_optimizer(recipe.optimizer, "adam"), mp), jit_compile=jit)
        return model
    raise ConfigError(f"no model family for {kind.__name__}")
