"""Model families. `build(recipe, image_shape)` returns a compiled model for the recipe's family."""

from __future__ import annotations

import dataclasses

from kgen.config import ConfigError, Recipe
from kgen.optim import loss_scaled, make_optimizer


def build(recipe: Recipe, image_shape: tuple):
    from kgen.models import aae, avb, ddpm, gan, vae

    kind = type(recipe.model)
    mp, jit = recipe.train.mixed_precision, recipe.train.jit_compile
    if kind is vae.VAEConfig:
        model = vae.build(recipe.model, image_shape, recipe.seed)
        model.compile(optimizer=loss_scaled(make_optimizer(recipe.optimizer, "adam"), mp), jit_compile=jit)
        return model
    if kind is gan.GANConfig:
        model = gan.build(recipe.model, image_shape, recipe.data.scale, recipe.seed)
        d_cfg = _with_lr(recipe.optimizer, recipe.model.d_learning_rate)
        model.compile(
            g_optimizer=loss_scaled(make_optimizer(recipe.optimizer, "g_optimizer"), mp),
            d_optimizer=loss_scaled(make_optimizer(d_cfg, "d_optimizer"), mp),
            jit_compile=jit,
        )
        return model
    if kind is ddpm.DDPMConfig:
        model = ddpm.build(recipe.model, image_shape, recipe.seed)
        model.compile(optimizer=loss_scaled(make_optimizer(recipe.optimizer, "adam"), mp), jit_compile=jit)
        return model
    if kind is aae.AAEConfig:
        model = aae.build(recipe.model, image_shape, recipe.seed)
        model.compile(
            ae_optimizer=loss_scaled(make_optimizer(recipe.optimizer, "ae_optimizer"), mp),
            d_optimizer=loss_scaled(make_optimizer(_with_lr(recipe.optimizer, recipe.model.d_learning_rate), "d_optimizer"), mp),
            g_optimizer=loss_scaled(make_optimizer(_with_lr(recipe.optimizer, recipe.model.g_learning_rate), "g_optimizer"), mp),
            jit_compile=jit,
        )
        return model
    if kind is avb.AVBConfig:
        model = avb.build(recipe.model, image_shape, recipe.seed)
        model.compile(
            ae_optimizer=loss_scaled(make_optimizer(recipe.optimizer, "ae_optimizer"), mp),
            d_optimizer=loss_scaled(make_optimizer(_with_lr(recipe.optimizer, recipe.model.d_learning_rate), "d_optimizer"), mp),
            jit_compile=jit,
        )
        return model
    raise ConfigError(f"no model family for {kind.__name__}")


def _with_lr(cfg, learning_rate: float):
    """The recipe's optimizer settings with another learning rate (0 keeps the recipe's)."""
    return dataclasses.replace(cfg, learning_rate=learning_rate) if learning_rate else cfg
