"""Optimizers from a recipe's Optimizer section."""

import dataclasses

import keras

from kgen.config import Optimizer

# Each optimizer at its Keras default learning rate, for seed 002's optimizer study: the seed names
# the optimizers but not their settings, and the defaults are what `optimizer="sgd"` gives a Keras user.
KERAS_DEFAULT_LR = {"adam": 1e-3, "adagrad": 1e-3, "rmsprop": 1e-3, "sgd": 1e-2}


def make_optimizer(cfg: Optimizer, name: str | None = None) -> keras.optimizers.Optimizer:
    clip = {"clipnorm": cfg.clipnorm} if cfg.clipnorm is not None else {}
    common = dict(learning_rate=cfg.learning_rate, name=name or cfg.name, **clip)
    if cfg.name == "adam":
        return keras.optimizers.Adam(beta_1=cfg.beta_1, beta_2=cfg.beta_2, epsilon=cfg.epsilon, **common)
    if cfg.name == "adagrad":
        return keras.optimizers.Adagrad(epsilon=cfg.epsilon, **common)
    if cfg.name == "rmsprop":
        return keras.optimizers.RMSprop(momentum=cfg.momentum, epsilon=cfg.epsilon, **common)
    return keras.optimizers.SGD(momentum=cfg.momentum, **common)


def loss_scaled(optimizer: keras.optimizers.Optimizer, mixed_precision: str) -> keras.optimizers.Optimizer:
    """float16 gradients underflow without dynamic loss scaling; bfloat16 needs none."""
    if mixed_precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer, name=(optimizer.name or "") + "_scaled")
    return optimizer


def for_recipe(recipe, role: str | None = None, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """The recipe's optimizer, named after what it is (`adam`, or `discriminator_adam` for one of
    several), with another learning rate where a model field sets one (None keeps the recipe's)."""
    cfg = recipe.optimizer if learning_rate is None else dataclasses.replace(recipe.optimizer, learning_rate=learning_rate)
    name = cfg.name if role is None else f"{role}_{cfg.name}"
    return loss_scaled(make_optimizer(cfg, name), recipe.train.mixed_precision)
