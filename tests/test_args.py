"""The one command-line parser: dashes and underscores, ranges, optional fields, --help."""

import pytest

from kgen import args, cli, evaluate, runs
from kgen.errors import ConfigError
from kgen.recipes import mnist_dcgan, mnist_vae


@pytest.mark.parametrize("argv, message", [
    (["--train.batch_size=0"], "train.batch_size=0 is out of range: valid values are in [1, inf)"),
    (["--train.batch_size=-5"], "train.batch_size=-5 is out of range"),
    (["--optimizer.beta_1=1.0"], "optimizer.beta_1=1.0 is out of range: valid values are in [0, 1)"),
    (["--model.encoder.filters=8,0"], "model.encoder.filters=(8, 0) is out of range"),
    (["--optimizer.epsilon=0"], "optimizer.epsilon=0.0 is out of range: valid values are in (0, inf)"),
    (["--train.time_budget=ten"], "expected a duration like 20m"),
])
def test_out_of_range_exits_2_naming_field_value_and_range(argv, message, capsys):
    assert cli.main(mnist_vae.RECIPE, argv) == 2
    assert message in capsys.readouterr().err


def test_dashes_and_underscores_are_the_same_key():
    _, a = args.split(["--num-samples=5", "--train.batch-size=3"])
    _, b = args.split(["--num_samples=5", "--train.batch_size=3"])
    assert a == b == {"num_samples": "5", "train.batch_size": "3"}
    opts, paths = args.parse(["run_dir", "--num-samples=7"], evaluate.Options(), positional=1)
    assert opts.num_samples == 7 and paths == ["run_dir"]
    with pytest.raises(ConfigError, match="unknown recipe key 'num_sample'.*num_samples"):
        args.parse(["x", "--num-sample=7"], evaluate.Options(), positional=1)


def test_optional_fields_take_none_and_zero_is_a_real_value():
    recipe, _ = runs.resolve(mnist_dcgan.RECIPE, {"model.d_learning_rate": "0"})
    assert recipe.model.d_learning_rate == 0.0  # a frozen discriminator, not "inherit"
    recipe, _ = runs.resolve(recipe, {"model.d_learning_rate": "none"})
    assert recipe.model.d_learning_rate is None
    with pytest.raises(ConfigError, match="expected none or a number"):
        runs.resolve(recipe, {"model.d_learning_rate": "fast"})


def test_durations_are_seconds():
    recipe, _ = runs.resolve(mnist_vae.RECIPE, {"train.time_budget": "20m"})
    assert recipe.train.time_budget == 1200.0
    assert runs.resolve(mnist_vae.RECIPE, {"train.time_budget": "1.5h"})[0].train.time_budget == 5400.0


def test_help_lists_every_key_with_type_default_and_range(capsys):
    assert cli.main(mnist_vae.RECIPE, ["--help"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("--train.batch_size"))
    assert "int" in line and "default 32" in line and "[1, inf)" in line
    assert "one of mnist|mnist_sample|image_folder|celeb_a" in out
    assert "float | none" in next(ln for ln in out.splitlines() if "--optimizer.clipnorm" in ln)
