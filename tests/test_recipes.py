"""Every recipe builds, and its parameter counts are the ones its seed documents."""

import importlib

import pytest

from kgen import train
from kgen.recipes import NAMES

DOCUMENTED = {
    # seed 004, Figure 3
    "mnist_vae": {"encoder": (2_438_660, 0), "decoder": (2_517_089, 0)},
}


@pytest.mark.parametrize("name", NAMES)
def test_documented_parameter_counts(name):
    recipe = importlib.import_module(f"kgen.recipes.{name}").RECIPE
    counts = train.summary(recipe)
    for net, (total, non_trainable) in DOCUMENTED[name].items():
        assert counts[net]["total"] == total, net
        assert counts[net]["non_trainable"] == non_trainable, net


@pytest.mark.parametrize("name", NAMES)
def test_recipe_cites_its_seed_and_command(name):
    module = importlib.import_module(f"kgen.recipes.{name}")
    assert "seed 0" in module.__doc__.lower() and f"python -m kgen.recipes.{name}" in module.__doc__
    assert module.RECIPE.quick, "every recipe needs a --quick setting"
