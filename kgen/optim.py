"""Optimizers from a recipe's Optimizer section."""

import keras

from kgen.config import Optimizer


def make_optimizer(cfg: Optimizer, name: str | None = None) -> keras.optimizers.Optimizer:
    clip = {"clipnorm": cfg.clipnorm} if cfg.clipnorm else {}
    common = dict(learning_rate=cfg.learning_rate, name=name, **clip)
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
