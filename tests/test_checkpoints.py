"""Checkpoints by name, mid-epoch checkpoints and resume, a crash during the write, time budgets."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kgen import runs, train
from kgen.checkpoint import Checkpointer, state_dict
from kgen.errors import CheckpointError
from kgen.report import read_scalars

from helpers.processes import ROOT
from helpers.recipes import tiny

SCRIPT = textwrap.dedent('''
    import os, sys, keras
    sys.path.insert(0, "tests")
    from pathlib import Path
    from helpers.recipes import tiny
    from kgen import checkpoint, runs, train
    tmp = Path(sys.argv[1]); mode = sys.argv[2]
    # 5 steps an epoch, a mid-epoch checkpoint every 3 steps, dropout so seed states matter
    def recipe_in(root):
        # step scalars every 2 steps: two writes after the mid-epoch resume at step 3 (4 and 5)
        return tiny("vae", root, **{"train.steps_per_epoch": "5", "deterministic": "true", "train.epochs": "2",
                                        "train.checkpoint_every_steps": "3", "model.encoder.dropout": "0.2",
                                        "train.log_every_steps": "2"})
    recipe = recipe_in(tmp)

    class Kill(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if mode == "straight_then_kill" and int(self.model.optimizer.iterations.numpy()) == 4:
                os._exit(9)  # a crash at step 4: the last checkpoint is the mid-epoch one at step 3

        def on_epoch_end(self, epoch, logs=None):
            if mode == "resume_and_kill_at_epoch_end":
                sys.stdout.flush()  # os._exit drops buffered output: keep the "resumed at" line
                os._exit(9)  # a crash right after the first epoch's checkpoint (step 5)

    if mode == "straight_then_kill":
        # a run never stopped (beside, in b/), then in the same process the run that is killed
        train.run(recipe_in(tmp.parent / "b"), export_model=False)
        train.run(recipe, callbacks=[Kill()], export_model=False)
    elif mode == "resume_and_kill_at_epoch_end":
        train.run(recipe, callbacks=[Kill()], resume_dir=runs.latest_run_dir(recipe), export_model=False)
    elif mode == "crash_in_write":
        real = os.replace
        def replace(src, dst):
            if str(dst).endswith("ckpt-00000005.npz"):
                os._exit(7)  # the second checkpoint's file is written but not yet in place
            return real(src, dst)
        checkpoint.os.replace = replace
        train.run(recipe, export_model=False)
    else:
        assert mode == "resume", mode
        train.run(recipe, resume_dir=runs.latest_run_dir(recipe), export_model=False)
''')


def go(where, mode):
    return subprocess.run([sys.executable, "-c", SCRIPT, str(where), mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def checkpoint_names(root):
    run_dir = next((root / "logs" / "tiny_vae").iterdir())
    return run_dir, sorted(p.name for p in (run_dir / "checkpoints").glob("*.npz"))


@pytest.mark.slow
def test_killed_runs_resume_at_their_step_to_the_same_weights(tmp_path):
    """Killed mid-epoch (step 4 of epoch 1's 5: the last checkpoint is step 3's), resumed and
    killed again right after the first epoch's checkpoint (step 5), resumed to the end: the
    weights are those of a run that was never stopped."""
    where = tmp_path / "a"
    killed = go(where, "straight_then_kill")
    assert killed.returncode == 9, killed.stderr[-2000:]
    b = np.load(checkpoint_names(tmp_path / "b")[0] / "checkpoints" / "ckpt-00000010.npz")
    assert checkpoint_names(where)[1] == ["ckpt-00000003.npz"]
    for mode, code, resumed_at, names in (
            ("resume_and_kill_at_epoch_end", 9, "at step 3 (epoch 1", ["ckpt-00000003.npz", "ckpt-00000005.npz"]),
            ("resume", 0, "at step 5 (epoch 2", None)):
        resumed = go(where, mode)
        assert resumed.returncode == code, resumed.stderr[-2000:]
        assert resumed_at in resumed.stdout
        assert len(list((where / "logs" / "tiny_vae").iterdir())) == 1  # the same run, continued
        run_dir, found = checkpoint_names(where)
        assert names is None or found == names
    a = np.load(run_dir / "checkpoints" / "ckpt-00000010.npz")
    keys = [k for k in a.files if k != "meta"]
    assert len(keys) > 10
    for k in keys:  # bit-identical under --deterministic
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # the step scalars too (written at 2, 4, 5, 7, 9, 10): each write after a resume that covers
    # the same steps as the straight run's equals it, to the float32 round-off of running means
    # of a ~500-nat loss recombined (1e-5); the write at step 4 covers only step 4 (the run resumed
    # at step 3, whose loss the new session never saw), the straight run's steps 3 and 4.
    steps, resumed_losses = read_scalars(run_dir, "step/loss")
    steps_b, straight_losses = read_scalars(checkpoint_names(tmp_path / "b")[0], "step/loss")
    assert list(steps) == list(steps_b) == [2, 4, 5, 7, 9, 10]
    same = [0, 2, 3, 4, 5]
    np.testing.assert_allclose(resumed_losses[same], straight_losses[same], rtol=1e-5)


def test_a_crash_during_the_write_keeps_the_previous_checkpoint(tmp_path):
    crashed = go(tmp_path, "crash_in_write")
    assert crashed.returncode == 7, crashed.stderr[-2000:]
    run_dir, names = checkpoint_names(tmp_path)
    assert names == ["ckpt-00000003.npz"]
    ckpt = Checkpointer(run_dir / "checkpoints")
    assert ckpt.latest().name == "ckpt-00000003.npz"
    recipe = tiny("vae", tmp_path, **{"model.encoder.dropout": "0.2"})
    assert ckpt.restore(runs.build_model(recipe, (28, 28, 1)))["step"] == 3


def test_restore_matches_by_name_not_position(tmp_path):
    recipe = tiny("vae", tmp_path)
    model = runs.build_model(recipe, (28, 28, 1))
    ckpt = Checkpointer(tmp_path / "ckpt")
    path = ckpt.save(model, 0, 0)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    # reverse the stored order: names still say which array is which
    n = len(meta["paths"])
    reordered = {f"v{i:05d}": arrays[f"v{n - 1 - i:05d}"] for i in range(n)}
    meta["paths"] = meta["paths"][::-1]
    reordered["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "reordered.npz", **reordered)
    fresh = runs.build_model(recipe, (28, 28, 1))
    kernel = fresh.encoder.get_layer("conv_0").kernel
    kernel.assign(np.zeros(kernel.shape, np.float32))
    ckpt.restore(fresh, tmp_path / "reordered.npz")
    for (k, a), b in zip(state_dict(model).items(), state_dict(fresh).values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # a renamed variable is refused by name
    meta["paths"][0] = "encoder/encoder/conv_9/kernel"
    reordered["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "renamed.npz", **reordered)
    with pytest.raises(CheckpointError, match="Not in the checkpoint: .*Not in the model: encoder/encoder/conv_9"):
        ckpt.restore(fresh, tmp_path / "renamed.npz")


def test_state_names_do_not_depend_on_what_was_built_before(tmp_path):
    recipe = tiny("vae", tmp_path, **{"model.encoder.dropout": "0.2"})
    first = list(state_dict(runs.build_model(recipe, (28, 28, 1))))
    runs.build_model(recipe, (28, 28, 1))  # advances Keras' global name counters
    assert list(state_dict(runs.build_model(recipe, (28, 28, 1)))) == first


def test_time_budget_ends_at_a_step_and_finishes_like_a_normal_run(tmp_path):
    # a budget below one step's time: training stops after the first step (which times the rate)
    recipe = tiny("vae", tmp_path, **{"train.steps_per_epoch": "4", "train.time_budget": "0.001s"})
    result = train.run(recipe)
    assert result.stopped_by_budget and result.steps == 1
    reached = json.loads((result.run_dir / "config.json").read_text())["reached"]
    assert reached["steps"] == 1 and reached["epochs"] == 0.25 and reached["stopped_by_budget"]
    assert Checkpointer(result.run_dir / "checkpoints").latest().name == "ckpt-00000001.npz"
    assert (result.run_dir / "samples.png").exists() and (result.export_dir / "saved_model.pb").exists()
    assert json.loads((result.run_dir / "metrics.json").read_text())["images"] == 16
    # resuming under the same budget: the time already spent counts, so nothing more is trained
    again = train.run(recipe, resume_dir=result.run_dir, export_model=False)
    assert again.stopped_by_budget and again.steps == 1
    # a larger budget continues from step 1 to the end
    longer = train.run(runs.resolve(recipe, {"train.time_budget": "1h"})[0], resume_dir=result.run_dir,
                       export_model=False)
    assert not longer.stopped_by_budget and longer.steps == 8


def test_a_budgeted_chunk_holds_only_the_steps_left_in_the_budget():
    """The chunk is cut to the steps that fit in what is left (rounded up: the run stops at the
    first step past the budget), never below one step; the first chunk is one step, to time it."""
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    assert train._steps_left_in_budget(strategy, 50, 100.0, None) == 1
    assert train._steps_left_in_budget(strategy, 50, 10.0, 0.7) == 15  # ceil(14.3)
    assert train._steps_left_in_budget(strategy, 50, 100.0, 0.7) == 50  # the log step comes first
    assert train._steps_left_in_budget(strategy, 50, -3.0, 0.7) == 1
