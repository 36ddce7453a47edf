"""One step of the runner's loop, and the check that two replicas compute what one process does."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgen import config as config_lib
from kgen import data as data_lib

EPS32 = float(np.finfo(np.float32).eps)


def one_step(recipe, image_shape, batch, strategy, weights=None, jit_compile=False, model=None):
    """(model, logs) after one step of the runner's loop (kgen.train.Loop over a distributed
    dataset) on `batch` = (images, labels), under `strategy`, from `weights` if given, the step
    compiled with XLA if `jit_compile`; on `model` if given (built under `strategy`), else on a
    new one."""
    from kgen import runs, train

    if model is None:
        # unseeded generators (dropout's) take their seeds from the global RNG: reset it so that
        # every model built here starts from the same seed states, as the processes of a run do
        keras.utils.set_random_seed(recipe.seed)
        model = runs.build_model(recipe, image_shape, strategy)
    if weights is not None:
        model.set_weights(weights)
    x, y = batch
    n = int(x.shape[0])
    ds = data_lib.distributed_dataset(strategy, lambda: tf.data.Dataset.from_tensors(tf.range(n)),
                                      lambda idx: (tf.gather(x, idx), tf.gather(y, idx)))
    logs = train.Loop(model, strategy, jit_compile).train_chunk(iter(ds), tf.constant(1, tf.int64))
    return model, {k: float(v) for k, v in logs.items()}


def mirrored_matches_single(recipe, image_shape, batch, strategy, learning_rate=0.1):
    """One plain SGD step from the same weights under the default strategy and under `strategy`
    (two replicas); asserts that the step moved the weights and that both give the same weights
    and logged losses.

    SGD, not the recipe's Adam: Adam divides by sqrt(v), so a near-zero gradient entry that
    differs by float32 round-off becomes a difference the size of a whole step. With SGD a weight
    moves by lr * g, so the two results differ by lr times the gradients' round-off. The replicas
    sum per-example gradients in two halves and then all-reduce, which regroups float32 sums: for
    B = 16 terms the regrouping changes a sum by about B * eps32 ~ 2e-6 of the sum of absolute
    terms. Terms can cancel, so each variable may differ by 1e-4 of its largest update (50x that),
    plus 4 * eps32 * |w| for rounding w - lr * g itself. A gradient that is zero in exact
    arithmetic (a bias before a normalisation) is pure round-off of terms the size of the other
    gradients: 1e-6 of the largest update of any variable covers it (B * eps32 with 4x margin).
    """
    recipe = config_lib.apply_overrides(recipe, {"optimizer.name": "sgd", "optimizer.learning_rate": learning_rate})
    weights = runs_build(recipe, image_shape).get_weights()
    (single, logs1), (multi, logs2) = (one_step(recipe, image_shape, batch, s, weights)
                                       for s in (tf.distribute.get_strategy(), strategy))
    moved = [np.abs(a - w).max() for a, w in zip(single.get_weights(), weights)]
    assert max(moved) > 1e-4 * learning_rate  # the step did something
    for w, a, b, step in zip(weights, single.get_weights(), multi.get_weights(), moved):
        tol = 1e-4 * step + 1e-6 * max(moved) + 4 * EPS32 * np.abs(w).max()
        assert np.abs(a - b).max() <= tol, (a.shape, np.abs(a - b).max(), tol)
    for k in logs1:
        # a logged mean of B per-example values: the same regrouping argument, relative 1e-5
        assert logs2[k] == pytest.approx(logs1[k], rel=1e-5, abs=1e-6), k


def runs_build(recipe, image_shape):
    """The model as a run builds it, optimizer slots included: a model from `models.build` alone
    (its networks) creates them inside its first `fit` step, which TensorFlow then traces twice."""
    from kgen import runs

    return runs.build_model(recipe, image_shape)
