"""Latent diffusion: both stages from one command, resume across their boundary, the scale factor,
the latent-space applications, and the exports from plain TensorFlow."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from kgen import cli, data as data_lib, runs
from kgen.schedules import DDIMSampler, DPMSolverPP, NoiseSchedule

from helpers.processes import plain_tf

mnist_ldm = pytest.importorskip("kgen.recipes.mnist_ldm")

TINY = ["--quick", "--data.limit=256", "--train.mixed_precision=off", "--train.verbose=0", "--train.grid_rows=2",
        "--model.network.channels=8", "--model.network.groups=4", "--model.init_images=64", "--train.epochs=1",
        "--train.steps_per_epoch=3", "--model.sample_steps=2"]
TINY_FIRST = ["--autoencoder.model.network.channels=8", "--autoencoder.train.epochs=1",
              "--autoencoder.train.steps_per_epoch=3"]


def two_stage(tmp_path, *extra, first=TINY_FIRST) -> int:
    return cli.main(mnist_ldm.RECIPE, TINY + first + [f"--train.logdir={tmp_path / 'logs'}",
                                                      f"--train.export_dir={tmp_path / 'sm'}", *extra],
                    first_stage=mnist_ldm.AUTOENCODER)


def run_dirs(tmp_path, name):
    return sorted((tmp_path / "logs" / name).glob("*"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(first-stage run, second-stage run) of one tiny two-stage command."""
    tmp_path = tmp_path_factory.mktemp("ldm")
    assert two_stage(tmp_path) == 0
    [first], [second] = run_dirs(tmp_path, "mnist_ldm_autoencoder"), run_dirs(tmp_path, "mnist_ldm")
    return first, second


@pytest.mark.slow  # trains both stages
def test_one_command_trains_both_stages_and_exports_the_latent_space(trained):
    first, second = trained
    config = runs.read_config(second)
    assert config["recipe"]["model"]["autoencoder"] == str(first) and config["family"] == "ldm"
    # the scale factor makes the first `init_images` training latents unit-variance, exactly
    scale = json.loads((second / "metrics.json").read_text())["scale_factor"]
    ae = tf.saved_model.load(str(first / runs.SAVED_MODEL))
    bundle = data_lib.load(runs.read_recipe(second).data, 0)
    z = ae.encode(tf.constant(data_lib.to_unit(bundle.train_images[:64]))).numpy()
    assert z.shape == (64, 7, 7, 4)
    # float32 sums of 12,544 values: agreement to 1e-4 relative, far inside a wrong factor's
    assert scale * z.std() == pytest.approx(1.0, rel=1e-4)
    # from plain TensorFlow: sample = decode(sample_latents) (the same draw, decoded), encode is
    # the first stage's mean times the scale factor, and no pixel-space super-resolution
    body = ("x = m.sample(num_samples=3, seed=1).numpy(); lat = m.sample_latents(num_samples=3, seed=1).numpy()\n"
            "e = m.encode(tf.random.stateless_uniform((4, 28, 28, 1), seed=(5, 6))).numpy()\n"
            "out = [list(x.shape), float(x.min()), float(x.max()), list(lat.shape), "
            "float(np.abs(m.decode(tf.constant(lat)).numpy() - x).max()), e.ravel()[:50].tolist(), "
            "hasattr(m, 'superres'), hasattr(m, 'inpaint')]")
    shape, lo, hi, lat_shape, gap, enc, superres, inpaint, imported = plain_tf(second / runs.SAVED_MODEL, body)
    assert shape == [3, 28, 28, 1] and 0.0 <= lo and hi <= 1.0 and lat_shape == [3, 7, 7, 4]
    assert gap < 1e-5 and not superres and inpaint and not imported
    want = scale * ae.encode(tf.random.stateless_uniform((4, 28, 28, 1), seed=(5, 6))).numpy().ravel()[:50]
    np.testing.assert_allclose(enc, want, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # trains both stages
def test_resume_crosses_the_stage_boundary(tmp_path):
    assert two_stage(tmp_path) == 0
    [first], [second] = run_dirs(tmp_path, "mnist_ldm_autoencoder"), run_dirs(tmp_path, "mnist_ldm")
    # a finished first stage is reused and the second stage continues from its checkpoint
    assert two_stage(tmp_path, "--resume", "--train.epochs=2") == 0
    assert run_dirs(tmp_path, "mnist_ldm_autoencoder") == [first] and run_dirs(tmp_path, "mnist_ldm") == [second]
    assert runs.read_config(second)["reached"]["steps"] == 6
    # a first stage cut off before it finished (no model.keras yet) resumes, then a new second stage starts
    (first / runs.KERAS_FILE).unlink()
    shutil.rmtree(first / runs.SAVED_MODEL)
    assert two_stage(tmp_path, "--resume", "--autoencoder.train.epochs=2") == 0
    assert run_dirs(tmp_path, "mnist_ldm_autoencoder") == [first] and (first / runs.KERAS_FILE).exists()
    assert runs.read_config(first)["reached"]["steps"] == 6
    newer = run_dirs(tmp_path, "mnist_ldm")
    assert len(newer) == 2 and runs.read_config(newer[-1])["reached"]["steps"] == 3
    assert runs.read_config(newer[-1])["recipe"]["model"]["autoencoder"] == str(first)


@pytest.mark.slow  # trains both stages
def test_a_given_first_stage_is_used_and_options_for_another_refused(tmp_path, trained, capsys):
    first, _ = trained
    assert two_stage(tmp_path, f"--model.autoencoder={first}", first=[]) == 0
    assert not run_dirs(tmp_path, "mnist_ldm_autoencoder") and len(run_dirs(tmp_path, "mnist_ldm")) == 1
    assert runs.read_config(run_dirs(tmp_path, "mnist_ldm")[0])["recipe"]["model"]["autoencoder"] == str(first)
    # an --autoencoder.* option beside a given first stage would be ignored: refused
    assert two_stage(tmp_path, f"--model.autoencoder={first}", first=["--autoencoder.train.epochs=5"]) == 2
    assert "--autoencoder.train.epochs would not be used" in capsys.readouterr().err
    assert two_stage(tmp_path, f"--model.autoencoder={tmp_path / 'nowhere'}", first=[]) == 2
    assert "no model.keras there" in capsys.readouterr().err
    # a wrong second-stage key is refused before the first stage trains
    assert two_stage(tmp_path, "--model.no_such_key=1") == 2
    assert "no_such_key" in capsys.readouterr().err and not run_dirs(tmp_path, "mnist_ldm_autoencoder")


@pytest.mark.slow  # trains both stages
def test_latent_inpainting_keeps_the_known_pixels_and_pixel_methods_refuse(trained):
    from kgen.errors import ConfigError

    _, second = trained
    model = runs.build_model(runs.read_recipe(second), (28, 28, 1))
    x = tf.random.stateless_uniform((2, 28, 28, 1), seed=(1, 2))
    mask = np.ones((2, 28, 28, 1), np.float32)
    mask[:, 14:] = 0.0
    out = model.inpaint(x, tf.constant(mask), steps=2).numpy()
    np.testing.assert_array_equal(out[:, :14], x.numpy()[:, :14])
    assert np.abs(out[:, 14:] - x.numpy()[:, 14:]).max() > 0.01  # the rest is the model's
    with pytest.raises(ConfigError, match="pixel-space DDPM"):
        model.superres(x[:, ::2, ::2], steps=2)


@pytest.mark.parametrize("sampler", [DDIMSampler, DPMSolverPP])
def test_unclipped_samplers_keep_latents_outside_the_pixel_range(sampler):
    """Latents are unbounded: with clip=None the exact predictor of x0 = 3 returns 3, where the
    pixel samplers clip it to 1."""
    schedule = NoiseSchedule("linear", 1000)
    x0 = tf.fill([2, 4, 4, 1], 3.0)

    def eps_of(x, t):  # the exact eps for data that is always x0
        abar = tf.reshape(tf.gather(schedule.alphas_cumprod, t), [-1, 1, 1, 1])
        return (x - tf.sqrt(abar) * x0) / tf.sqrt(1.0 - abar)

    x_T = tf.random.stateless_normal([2, 4, 4, 1], seed=(0, 1))
    free = sampler(schedule, 10, clip=None).sample(eps_of, x_T, 0)
    clipped = sampler(schedule, 10).sample(eps_of, x_T, 0)
    np.testing.assert_allclose(free.numpy(), 3.0, atol=1e-3)
    assert clipped.numpy().max() <= 1.0 + 1e-3
