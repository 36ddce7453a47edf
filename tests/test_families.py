"""Every model family: registered, its config round-trips, and every recipe's --quick settings
build and take one training step of the runner's loop."""

import importlib
import json

import numpy as np
import pytest
import tensorflow as tf

from kgen import config as config_lib
from kgen import models, runs
from kgen.models.base import FAMILIES
from kgen.recipes import NAMES

from helpers.recipes import buildable, tiny
from helpers.steps import one_step

TINY = {
    "vae": lambda tmp: (tiny("vae", tmp), (28, 28, 1)),
    "gan": lambda tmp: (tiny("gan", tmp), (28, 28, 1)),
    "ddpm": lambda tmp: (tiny("ddpm", tmp), (8, 8, 1)),
    "aae": lambda tmp: (tiny("aae", tmp), (28, 28, 1)),
    "avb": lambda tmp: (tiny("avb", tmp), (28, 28, 1)),
    "cgan": lambda tmp: (tiny("cgan", tmp), (28, 28, 1)),
    "cvae": lambda tmp: (tiny("cvae", tmp), (28, 28, 1)),
    "cddpm": lambda tmp: (tiny("cddpm", tmp), (8, 8, 1)),
    "flow": lambda tmp: (tiny("flow", tmp), (8, 8, 1)),
    "autoencoder": lambda tmp: (tiny("autoencoder", tmp), (8, 8, 1)),
    "ldm": lambda tmp: (tiny("ldm", tmp), (8, 8, 1)),
}


def test_every_family_is_registered_under_its_name():
    assert set(FAMILIES) == set(TINY)
    for name, cls in FAMILIES.items():
        assert cls.family == name and type(models.family_config(name)) is cls


@pytest.mark.parametrize("family", sorted(TINY))
def test_config_round_trip(tmp_path, family):
    recipe, shape = TINY[family](tmp_path)
    model = runs.build_model(recipe, shape)
    config = model.get_config()
    json.dumps(config)  # serialisable as it stands
    clone = type(model).from_config(json.loads(json.dumps(config)))
    assert json.loads(json.dumps(clone.get_config())) == json.loads(json.dumps(config))
    assert runs.parameter_counts(clone) == runs.parameter_counts(model)
    assert clone.image_shape == model.image_shape and clone.latent_shape == model.latent_shape


def quick(name):
    return buildable(name, quick=True)


@pytest.mark.parametrize("name", NAMES)
def test_quick_settings_build_and_take_one_step(name):
    recipe = quick(name)
    shape = runs.image_shape(recipe)
    model = runs.build_model(recipe, shape)
    # the quick run keeps the real recipe's endpoints (shape of `sample`), only narrower
    full = importlib.import_module(f"kgen.recipes.{name}").RECIPE
    assert shape == runs.image_shape(full)
    b = 4
    x = tf.random.stateless_uniform([b, *shape], seed=[1, 2], minval=0.0, maxval=1.0)
    if recipe.data.scale == "symmetric":
        x = 2.0 * x - 1.0
    before = [w.copy() for w in model.get_weights()]
    # Eagerly: this checks the recipes' sizes, not tracing, and a trace of the quick U-Net's
    # training step costs 12 s (eagerly the step takes 1 s). The same train_steps run traced in
    # the tiny families' training tests, the DDPM's U-Net with its middle attention block.
    tf.config.run_functions_eagerly(True)
    try:
        model, logs = one_step(recipe, shape, (x, tf.zeros(b, tf.int32)), tf.distribute.get_strategy(), model=model)
    finally:
        tf.config.run_functions_eagerly(False)
    assert logs and all(np.isfinite(v) for v in logs.values()), logs
    assert max(np.abs(a - w).max() for a, w in zip(model.get_weights(), before)) > 0
    assert tuple(model.sample(2, 0).shape) == (2, *shape)


def test_recipe_config_json_names_the_family(tmp_path):
    recipe, shape = TINY["gan"](tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    runs.write_config(run_dir, recipe, note="x")
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["family"] == "gan" and saved["note"] == "x"
    again = runs.read_recipe(run_dir)  # not an importable recipe name: the family's defaults + values
    assert config_lib.to_dict(again) == config_lib.to_dict(recipe)


@pytest.mark.parametrize("family", sorted(TINY))
def test_families_build_without_the_recipe_and_the_runner_compiles_them(tmp_path, family):
    """A family's config builds its model from (image shape, seed, data scale) alone, uncompiled;
    `runs.build_model` gives it one optimizer per declared role, at the role's own learning rate
    where the config sets one."""
    recipe, shape = TINY[family](tmp_path)
    model = models.build(recipe, shape)
    assert all(getattr(model, k, None) is None for k in [*model.optimizer_roles, "optimizer"])  # not compiled
    overrides = {"model.d_learning_rate": "3e-5"} if hasattr(recipe.model, "d_learning_rate") else {}
    compiled = runs.build_model(config_lib.apply_overrides(recipe, overrides), shape)
    optimizers = compiled.optimizers()
    assert set(optimizers) == (set(model.optimizer_roles.values()) or {"optimizer"})
    for role, opt in optimizers.items():
        want = 3e-5 if role == "discriminator" and overrides else recipe.optimizer.learning_rate
        assert float(opt.learning_rate) == pytest.approx(want), role
    assert models.family_config(family).main_loss in {m.name for m in compiled.metrics}


@pytest.mark.parametrize("family,wrong", [("ddpm", "unit"), ("vae", "symmetric"), ("cddpm", "unit"),
                                          ("flow", "symmetric")])
def test_a_data_scale_the_family_cannot_model_is_refused(tmp_path, family, wrong):
    recipe, shape = TINY[family](tmp_path)
    with pytest.raises(config_lib.ConfigError, match=f"data.scale={wrong} .* expects data.scale=.*set --data.scale="):
        models.build(config_lib.apply_overrides(recipe, {"data.scale": wrong}), shape)
