"""The command line as a user meets it: python -m kgen.recipes.<name> ..."""

import subprocess
import sys

from kgen import cli
from kgen.recipes import mnist_vae

from conftest import ROOT, run_python


def recipe_cmd(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "kgen.recipes.mnist_vae", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def test_summary_prints_the_documented_counts():
    proc = recipe_cmd("--summary")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2,438,660" in proc.stdout and "2,517,089" in proc.stdout


def test_unknown_key_exits_2(capsys):
    # in this process: the subprocess above already runs `python -m`, and cli.main is what it calls
    assert cli.main(mnist_vae.RECIPE, ["--train.epoch=2"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe key 'train.epoch'" in err and "train.epochs" in err


def test_missing_mnist_exits_1_with_the_fix(tmp_path):
    # a subprocess: a run sets process-wide state (strategy, seeds, dtype policy) before it loads data
    proc = recipe_cmd(f"--data.path={tmp_path}/absent.npz")
    assert proc.returncode == 1
    assert "absent.npz: no such file" in proc.stderr and "--data.name=mnist_sample" in proc.stderr


def test_other_keras_backend_fails_at_import():
    proc = run_python("import kgen", env={"KERAS_BACKEND": "jax"})
    assert proc.returncode != 0
    assert "KERAS_BACKEND='jax'" in proc.stderr and "KERAS_BACKEND=tensorflow" in proc.stderr
