import os

import numpy as np
import pytest
import tensorflow as tf

from kgen import losses, models, runs, train
from kgen.checkpoint import Checkpointer, state_dict

from helpers.processes import plain_tf
from helpers.recipes import tiny
from helpers.steps import mirrored_matches_single, runs_build
from helpers.files import event_tags


def batch(n=32, seed=1):
    x = tf.random.stateless_uniform([n, 28, 28, 1], seed=[seed, 0], minval=-1, maxval=1)
    return x, tf.zeros(n, tf.int32)


def fit_one(model, x, y, steps=1):
    ds = tf.data.Dataset.from_tensors((x, y)).repeat(steps)
    return model.fit(ds, epochs=1, verbose=0, shuffle=False).history


def test_bce_matches_formula():
    logits = tf.constant([[2.0], [-1.0]])
    labels = tf.constant([[1.0], [0.0]])
    p = tf.sigmoid(logits).numpy().ravel()
    want = [-np.log(p[0]), -np.log(1 - p[1])]
    np.testing.assert_allclose(losses.binary_cross_entropy_from_logits(labels, logits), want, rtol=1e-6)


def test_two_optimizers_each_move_only_their_network(tmp_path):
    model = runs_build(tiny("gan", tmp_path), (28, 28, 1))
    model.build_optimizers()
    assert set(model.optimizers()) == {"generator", "discriminator"}
    assert len(model.g_optimizer.variables) == 2 + 2 * len(model.generator.trainable_variables)
    assert len(model.d_optimizer.variables) == 2 + 2 * len(model.discriminator.trainable_variables)
    g0, d0 = model.generator.get_weights(), model.discriminator.get_weights()
    logs = fit_one(model, *batch())
    assert all(np.isfinite(v[0]) for v in logs.values())
    assert int(model.g_optimizer.iterations.numpy()) == 1 and int(model.d_optimizer.iterations.numpy()) == 1
    assert any(np.abs(a - b).max() > 0 for a, b in zip(g0, model.generator.get_weights()))
    assert any(np.abs(a - b).max() > 0 for a, b in zip(d0, model.discriminator.get_weights()))


def test_d_steps_and_label_options(tmp_path):
    model = runs_build(tiny("gan", tmp_path, **{"model.d_steps": "3", "model.label_smoothing": "0.1",
                                                      "model.label_flip": "0.05"}), (28, 28, 1))
    fit_one(model, *batch(), steps=2)
    assert int(model.d_optimizer.iterations.numpy()) == 6 and int(model.g_optimizer.iterations.numpy()) == 2


def test_discriminator_learns_and_reports_probabilities(tmp_path):
    """With the generator frozen (learning rate 0), D separates real from fake: D(x) up, D(G(z)) down."""
    model = runs_build(tiny("gan", tmp_path, **{"optimizer.learning_rate": "0", "model.d_learning_rate": "2e-3"}),
                         (28, 28, 1))
    x = tf.constant(np.load(os.path.join(os.path.dirname(models.__file__), "..", "data", "bundled",
                                         "mnist_sample.npz"))["x_train"][:32, ..., None] / 127.5 - 1, tf.float32)
    first = fit_one(model, x, tf.zeros(32, tf.int32))
    later = fit_one(model, x, tf.zeros(32, tf.int32), steps=40)
    assert later["d_real"][0] > first["d_real"][0] and later["d_fake"][0] < first["d_fake"][0]
    assert later["d_loss"][0] < first["d_loss"][0] and later["g_loss"][0] > first["g_loss"][0]
    # d_real is reported as a probability: the mean of sigmoid(D(x)) over the batch
    logs = model.evaluate(x, tf.zeros(32, tf.int32), batch_size=32, verbose=0, return_dict=True)
    direct = float(tf.reduce_mean(tf.sigmoid(model.discriminator(x, training=False))))
    assert logs["d_real"] == pytest.approx(direct, rel=1e-5)


def test_mirrored_gan_step_equals_single_device(tmp_path, mirrored):
    # synchronized batch norm + global noise: two replicas compute the single-device step
    mirrored_matches_single(tiny("gan", tmp_path), (28, 28, 1), batch(16), mirrored)


def test_gan_run_logs_resumes_and_exports(tmp_path):
    recipe = tiny("gan", tmp_path, **{"train.steps_per_epoch": "3"})
    result = train.run(recipe)
    tags = event_tags(result.run_dir / "train")
    for t in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert f"step/{t}" in tags and f"epoch/{t}" in tags
    assert "learning_rate/generator" in tags and "learning_rate/discriminator" in tags
    assert tags["samples"] == [1, 2]
    fresh = runs.build_model(recipe, (28, 28, 1))
    Checkpointer(result.run_dir / "checkpoints").restore(fresh)
    assert int(fresh.g_optimizer.iterations.numpy()) == 6 and int(fresh.d_optimizer.iterations.numpy()) == 6
    for a, b in zip(state_dict(fresh).values(), state_dict(result.model).values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    body = (
        "a = m.sample(num_samples=tf.constant(5), seed=tf.constant(2))\n"
        "z = tf.random.stateless_normal([3, 8], seed=[1, 1])\n"
        "g = m.generate(z=z)\n"
        "out = [a.shape.as_list(), float(tf.reduce_min(a)), float(tf.reduce_max(a)), g.shape.as_list(),"
        " bool(np.array_equal(a.numpy(), m.sample(num_samples=tf.constant(5), seed=tf.constant(2)).numpy()))]"
    )
    shape, lo, hi, gshape, same, imported = plain_tf(result.export_dir, body)
    assert shape == [5, 28, 28, 1] and 0 <= lo and hi <= 1 and gshape == [3, 28, 28, 1]
    assert same and not imported
