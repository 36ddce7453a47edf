"""End to end on tiny recipes: TensorBoard content, files written, checkpoints, resume, NaN."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kgen import report, runs, train
from kgen.checkpoint import Checkpointer, state_dict
from kgen.errors import CheckpointError, ConfigError, TrainingDiverged

from helpers.files import event_tags
from helpers.recipes import tiny


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    recipe = tiny("vae", tmp, **{"train.steps_per_epoch": "4"})
    return recipe, train.run(recipe)


def test_tensorboard_has_every_loss_term_lr_grid_and_recipe(finished_run):
    recipe, result = finished_run
    tags = event_tags(result.run_dir / "train")
    for term in ("loss", "reconstruction", "kl", "log_qz_x", "log_pz"):
        assert tags[f"step/{term}"] == [2, 4, 6, 8]  # every 2 steps, 4 steps an epoch
        assert tags[f"epoch/{term}"] == [1, 2]
    assert tags["learning_rate/optimizer"] == [2, 4, 6, 8]
    assert tags["samples"] == [1, 2]
    assert "recipe" in tags and "latent_scatter" in tags and "latent_manifold" in tags
    val = event_tags(result.run_dir / "validation")
    assert val["epoch/loss"] == [1, 2] and "epoch/val_loss" not in val


def test_step_scalars_are_window_means_of_the_epoch_mean(finished_run):
    _, result = finished_run
    events = report.read_events(result.run_dir / "train")
    step_values = {(tag, step): value for tag in ("step/loss", "epoch/loss") for step, (value, _) in events[tag].items()}
    # the epoch mean of 4 steps is the mean of the two 2-step windows
    for epoch in (1, 2):
        windows = [step_values[("step/loss", 4 * (epoch - 1) + k)] for k in (2, 4)]
        assert np.mean(windows) == pytest.approx(step_values[("epoch/loss", epoch)], rel=1e-4)


def test_run_directory_contents(finished_run):
    recipe, result = finished_run
    info = json.loads((result.run_dir / "config.json").read_text())
    assert info["recipe"]["model"]["encoder"]["filters"] == [8, 8]
    assert info["seed"] == 0 and info["versions"]["tensorflow"] == tf.__version__
    assert info["parameters"]["encoder"]["total"] > 0
    for name in ("samples.png", "posterior_samples.png", "prior_samples.png", "reconstructions.png",
                 "latent_scatter.png", "latent_manifold.png", "samples/epoch_0002.png"):
        assert (result.run_dir / name).stat().st_size > 100, name
    assert sorted(p.name for p in (result.run_dir / "checkpoints").glob("*.npz")) == ["ckpt-00000004.npz", "ckpt-00000008.npz"]
    assert (result.export_dir / "saved_model.pb").exists()


def test_checkpoint_round_trip_and_mismatch(finished_run, tmp_path):
    recipe, result = finished_run
    ckpt = Checkpointer(result.run_dir / "checkpoints")
    fresh = runs.build_model(recipe, (28, 28, 1))
    meta = ckpt.restore(fresh)
    assert meta["epoch"] == 2 and meta["step"] == 8
    for a, b in zip(state_dict(fresh).values(), state_dict(result.model).values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.optimizer.iterations.numpy()) == 8
    other = tiny("vae", tmp_path, **{"model.encoder.filters": "4,4"})
    with pytest.raises(CheckpointError, match="architecture changed"):
        ckpt.restore(runs.build_model(other, (28, 28, 1)))


def test_nan_loss_stops_with_a_clear_message(tmp_path):
    recipe = tiny("vae", tmp_path, **{"optimizer.name": "sgd", "optimizer.learning_rate": "1e9",
                                          "train.steps_per_epoch": "6"})
    with pytest.raises(TrainingDiverged, match="non-finite loss .* lower --optimizer.learning_rate"):
        train.run(recipe)
    run_dir = next((tmp_path / "logs" / "tiny_vae").iterdir())
    assert not list(run_dir.glob("checkpoints/*.npz"))  # a diverged epoch is never saved


def test_divergence_in_epoch_two_keeps_epoch_one(tmp_path):
    import keras

    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                w = self.model.decoder.layers[0].kernel
                w.assign(np.full(w.shape, np.nan, np.float32))

    recipe = tiny("vae", tmp_path, **{"train.steps_per_epoch": "4"})
    with pytest.raises(TrainingDiverged, match="ckpt-00000004.npz"):
        train.run(recipe, callbacks=[Poison()])
    run_dir = next((tmp_path / "logs" / "tiny_vae").iterdir())
    assert [p.name for p in run_dir.glob("checkpoints/*.npz")] == ["ckpt-00000004.npz"]
    restored = runs.build_model(recipe, (28, 28, 1))
    Checkpointer(run_dir / "checkpoints").restore(restored)
    assert all(np.isfinite(v.numpy()).all() for v in restored.trainable_variables)


def test_cli_resume_extends_the_latest_run(tmp_path, capsys):
    from kgen import cli

    recipe = tiny("vae", tmp_path, **{"train.steps_per_epoch": "2", "train.epochs": "1"})
    logdir = f"--train.logdir={tmp_path / 'logs'}"
    assert cli.main(recipe, []) == 0
    run_dir = next((tmp_path / "logs" / "tiny_vae").iterdir())
    # the saved recipe is replayed (the 3-filter encoder below would not fit the checkpoint if it
    # were used), then the user's new value for the number of epochs applies
    changed = tiny("vae", tmp_path, **{"model.encoder.filters": "3,3"})
    assert cli.main(changed, ["--resume", logdir, "--train.epochs=2"]) == 0
    out = capsys.readouterr().out
    assert f"resumed {run_dir} at step 2" in out and "trained to step 4" in out
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.npz")) == ["ckpt-00000002.npz", "ckpt-00000004.npz"]
    assert json.loads((run_dir / "config.json").read_text())["recipe"]["train"]["epochs"] == 2


def test_cli_resume_without_a_run_says_so(tmp_path, capsys):
    from kgen import cli

    assert cli.main(tiny("vae", tmp_path), ["--resume"]) == 2
    assert "no run of tiny_vae with a checkpoint" in capsys.readouterr().err


def test_xla_step_runs_through_the_runner_and_repeats(tmp_path):
    """--train.jit_compile=true wraps the model's own train_step in an XLA function inside the
    runner's chunk loop. Its random draws are XLA's own (not bit-equal to the plain step's), so
    this checks that the compiled step trains: finite losses, every network moved, and the same
    result twice from the same weights and seeds (XLA on the CPU is deterministic)."""
    from helpers.recipes import tiny
    from helpers.steps import one_step

    recipe = tiny("gan", tmp_path)
    weights = runs.build_model(recipe, (28, 28, 1)).get_weights()
    x = tf.random.stateless_uniform((8, 28, 28, 1), seed=(1, 2), minval=-1.0, maxval=1.0)
    batch, strategy = (x, tf.zeros(8, tf.int32)), tf.distribute.get_strategy()
    first, logs = one_step(recipe, (28, 28, 1), batch, strategy, weights, jit_compile=True)
    second, logs2 = one_step(recipe, (28, 28, 1), batch, strategy, weights, jit_compile=True)
    assert all(np.isfinite(v) for v in logs.values()) and logs == logs2
    for net in (first.generator, first.discriminator):
        assert any(np.abs(a).sum() > 0 for a in net.trainable_weights)
    moved = [np.abs(a - w).max() for a, w in zip(first.get_weights(), weights)]
    assert max(moved) > 0
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_each_run_keeps_and_is_evaluated_on_its_own_model(finished_run):
    """A later run of the same recipe replaces saved_models/<recipe> (the latest export), never
    an earlier run's own SavedModel, and a run directory resolves to its own."""
    recipe, first = finished_run
    second = train.run(runs.resolve(recipe, {"seed": "1", "train.epochs": "1"})[0])
    assert first.export_dir == first.run_dir / "saved_model"
    assert json.loads((first.run_dir / "config.json").read_text())["saved_model"] == "saved_model"
    for result in (first, second):
        saved, run_dir = runs.saved_model_of(result.run_dir)
        assert (saved, run_dir) == (result.run_dir / "saved_model", result.run_dir)
        loaded = tf.saved_model.load(str(saved))  # kept: its functions need the object alive
        drawn = loaded.sample(num_samples=tf.constant(4), seed=tf.constant(0)).numpy()
        np.testing.assert_allclose(drawn, result.model.sample(4, 0).numpy(), atol=1e-6)
    latest = tf.saved_model.load(f"{recipe.train.export_dir}/{recipe.name}")
    np.testing.assert_allclose(latest.sample(num_samples=tf.constant(4), seed=tf.constant(0)).numpy(),
                               second.model.sample(4, 0).numpy(), atol=1e-6)
    # a run directory without its own export is refused, not resolved to the latest one
    (first.run_dir / "saved_model" / "saved_model.pb").rename(first.run_dir / "saved_model.pb.moved")
    try:
        with pytest.raises(ConfigError, match="without its own SavedModel"):
            runs.saved_model_of(first.run_dir)
    finally:
        (first.run_dir / "saved_model.pb.moved").rename(first.run_dir / "saved_model" / "saved_model.pb")


def test_the_run_saves_a_keras_model_that_loads_and_trains_on(finished_run):
    """`keras.saving.load_model(RUN/model.keras)` gives back the trained model, compiled with the
    run's optimizer settings: its weights are the trained ones and it takes one more step."""
    import keras

    recipe, result = finished_run
    loaded = keras.saving.load_model(result.run_dir / "model.keras")
    assert type(loaded) is type(result.model)
    trained = result.model.get_weights()
    assert len(trained) == len(loaded.get_weights()) > 0
    for a, b in zip(trained, loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(recipe.optimizer.learning_rate, rel=1e-6)  # float32
    from kgen.data.mnist import bundled_sample_path

    x = tf.constant(np.load(bundled_sample_path())["x_train"][:16, ..., None] / 255.0, tf.float32)
    before = loaded.encoder.get_layer("conv_0").kernel.numpy().copy()
    logs = loaded.train_step((x, tf.zeros(16, tf.int32)))
    assert np.isfinite(float(logs["loss"]))
    assert np.abs(loaded.encoder.get_layer("conv_0").kernel.numpy() - before).max() > 0  # it trained
    assert not list(result.run_dir.glob("*.tmp.keras"))
