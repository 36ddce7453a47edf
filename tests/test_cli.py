"""The command line as a user meets it: python -m kgen.recipes.<name> ..."""

from kgen import cli
from kgen.recipes import mnist_vae

from helpers.processes import run_python


# In this process, through cli.main (what `python -m kgen.recipes.<name>` calls): the results
# table's test runs `python -m kgen.recipes.mnist_cgan` itself, and each fresh interpreter costs
# seconds of imports.


def test_summary_prints_the_documented_counts(capsys):
    assert cli.main(mnist_vae.RECIPE, ["--summary"]) == 0
    out = capsys.readouterr().out
    assert "2,438,660" in out and "2,517,089" in out


def test_unknown_key_exits_2(capsys):
    assert cli.main(mnist_vae.RECIPE, ["--train.epoch=2"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe key 'train.epoch'" in err and "train.epochs" in err


def test_missing_mnist_exits_1_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(mnist_vae.RECIPE, [f"--data.path={tmp_path}/absent.npz"]) == 1
    err = capsys.readouterr().err
    assert "absent.npz: no such file" in err and "--data.name=mnist_sample" in err


def test_other_keras_backend_fails_at_import():
    proc = run_python("import kgen", env={"KERAS_BACKEND": "jax"})
    assert proc.returncode != 0
    assert "KERAS_BACKEND='jax'" in proc.stderr and "KERAS_BACKEND=tensorflow" in proc.stderr
