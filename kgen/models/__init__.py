"""Model families. `build(recipe, image_shape)` returns a compiled model for the recipe's family."""

from __future__ import annotations

import dataclasses

from kgen.config import ConfigError, Recipe
from kgen.optim import loss_scaled, make_optimizer


def build(recipe: Recipe, image_shape: tuple):
    from kgen.models import aae, avb, ddpm, gan, vae

    kind = type(recipe.model)
    mp, jit = recipe.train.mixed_precision, recipe.train.jit_compile

    def opt(name: str, learning_rate: float = 0.0):
        return loss_scaled(make_optimizer(_with_lr(recipe.optimizer, learning_rate), name), mp)
    if kind is vae.VAEConfig:
        model = vae.build(recipe.model, image_shape, recipe.seed)
        model.compile(optimizer=opt("adam"), jit_compile=jit)
        return model
    if kind is gan.GANConfig:
        model = gan.build(recipe.model, image_shape, recipe.data.scale, recipe.seed)
        model.compile(g_optimizer=opt("g_optimizer"), d_optimizer=opt("d_optimizer", recipe.model.d_learning_rate),
                      jit_compile=jit)
        return model
    if kind is ddpm.DDPMConfig:
        model = ddpm.build(recipe.model, image_shape, recipe.seed)
        model.compile(optimizer=opt("adam"), jit_compile=jit)
        return model
    if kind is aae.AAEConfig:
        model = aae.build(recipe.model, image_shape, recipe.seed)
        model.compile(ae_optimizer=opt("ae_optimizer"), d_optimizer=opt("d_optimizer", recipe.model.d_learning_rate),
                      g_optimizer=opt("g_optimizer", recipe.model.g_learning_rate), jit_compile=jit)
        return model
    if kind is avb.AVBConfig:
        model = avb.build(recipe.model, image_shape, recipe.seed)
        model.compile(ae_optimizer=opt("ae_optimizer"), d_optimizer=opt("d_optimizer", recipe.model.d_learning_rate),
                      jit_compile=jit)
        return model
    raise ConfigError(f"no model family for {kind.__name__}")


def _with_lr(cfg, learning_rate: float):
    """The recipe's optimizer settings with another learning rate (0 keeps the recipe's)."""
    return dataclasses.replace(cfg, learning_rate=learning_rate) if learning_rate else cfg
