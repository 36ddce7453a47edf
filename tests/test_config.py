import copy

import pytest

from kgen import cli, runs
from kgen import config as config_lib
from kgen.config import ConfigError
from kgen.recipes import mnist_vae


def test_overrides_are_typed_and_nested():
    r = config_lib.apply_overrides(mnist_vae.RECIPE, {
        "train.epochs": "2", "optimizer.learning_rate": "3e-4", "model.encoder.filters": "16,32",
        "deterministic": "true", "train.jit_compile": "off",
    })
    assert r.train.epochs == 2 and isinstance(r.train.epochs, int)
    assert r.optimizer.learning_rate == pytest.approx(3e-4)
    assert r.model.encoder.filters == (16, 32)
    assert r.deterministic is True and r.train.jit_compile is False
    # the recipe itself is untouched
    assert mnist_vae.RECIPE.train.epochs == 15 and mnist_vae.RECIPE.model.encoder.filters == (512, 512)


@pytest.mark.parametrize("key,value,needle", [
    ("train.epochs", "2.5", "expected int"),
    ("optimizer.learning_rate", "fast", "expected float"),
    ("deterministic", "maybe", "expected bool"),
    ("optimizer.name", "adamw", "not one of: adam, adagrad, rmsprop, sgd"),
    ("distribute", "tpu", "not one of: auto, none, mirrored, multiworker"),
])
def test_bad_values_name_the_problem(key, value, needle):
    with pytest.raises(ConfigError, match=needle):
        config_lib.apply_overrides(mnist_vae.RECIPE, {key: value})


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as e:
        config_lib.apply_overrides(mnist_vae.RECIPE, {"train.epoch": "3"})
    msg = str(e.value)
    assert "unknown recipe key 'train.epoch'" in msg
    assert "train.epochs" in msg and "optimizer.learning_rate" in msg and "model.encoder.filters" in msg


def test_cli_unknown_key_exits_2_with_valid_keys(capsys):
    assert cli.main(mnist_vae.RECIPE, ["--train.epoch=3"]) == 2
    err = capsys.readouterr().err
    assert "Valid keys:" in err and "train.epochs" in err


def test_quick_then_user_overrides_in_order():
    actions, overrides = cli.split_actions(["--quick", "--train.epochs=7", "--deterministic"])
    assert actions == cli.Actions(quick=True)
    recipe, _ = runs.resolve(mnist_vae.RECIPE, overrides, quick=actions.quick)
    assert recipe.data.name == "mnist_sample"  # from the recipe's quick settings
    assert recipe.train.epochs == 7  # the user's value wins over --quick's
    assert recipe.deterministic is True


def test_config_json_round_trip():
    r = config_lib.apply_overrides(mnist_vae.RECIPE, {"model.decoder.filters": "8,8", "seed": "5"})
    again = config_lib.apply_overrides(mnist_vae.RECIPE, config_lib.flatten(config_lib.to_dict(r)))
    assert config_lib.to_dict(again) == config_lib.to_dict(r)


def test_mixed_precision_auto_picks_by_hardware():
    from kgen.runs import fast_policy

    epyc = "processor : 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n"
    older = "processor : 0\nflags\t\t: fpu sse2 avx2 avx512f\n"
    sapphire = "flags\t\t: fpu avx512f amx_bf16 amx_tile\n"
    assert fast_policy((8, 0)) == ("mixed_bfloat16", "GPU compute capability 8.0")
    assert fast_policy((7, 5))[0] == "mixed_float16"
    assert fast_policy((6, 1))[0] == "off"
    # no GPU: the CPU's flags decide (pure: the same on any host, GPU or not)
    assert fast_policy(None, cpuinfo=epyc) == ("mixed_bfloat16", "CPU with AVX512_BF16")
    assert fast_policy(None, cpuinfo=sapphire) == ("mixed_bfloat16", "CPU with AMX_BF16")
    assert fast_policy(None, cpuinfo=older)[0] == "off"
    assert fast_policy(None, cpuinfo="")[0] == "off"
    # a GPU wins over the CPU's flags
    assert fast_policy((7, 0), cpuinfo=epyc)[0] == "mixed_float16"


def test_mixed_precision_auto_is_the_default_resolved_before_building_and_recorded(capsys):
    import keras

    from kgen.recipes import mnist_dcgan

    recipe = copy.deepcopy(mnist_dcgan.RECIPE)
    assert recipe.train.mixed_precision == "auto"
    try:
        ran = runs.configure(recipe)
        chosen = ran.train.mixed_precision
        assert recipe.train.mixed_precision == "auto"  # the recipe given is not changed
        assert chosen == runs.fast_policy()[0]  # what this host's hardware gives, not just any policy
        assert f"chose {chosen}" in capsys.readouterr().out
        assert keras.mixed_precision.dtype_policy().name == ("float32" if chosen == "off" else chosen)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
