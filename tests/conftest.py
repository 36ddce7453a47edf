"""Test set-up: two logical CPU devices (for the MirroredStrategy test) and tiny recipes."""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from kgen import config as config_lib  # noqa: E402
from kgen.config import Data, Optimizer, Recipe, Train  # noqa: E402
from kgen.models.vae import VAEConfig  # noqa: E402
from kgen.networks.conv import ConvNet, DeconvNet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def tiny_vae_recipe(tmp_path: Path, **overrides) -> Recipe:
    """The MNIST VAE's shape with 8 filters, on 256 bundled digits: a few seconds an epoch."""
    recipe = Recipe(
        name="tiny_vae",
        model=VAEConfig(
            latent_dim=2,
            encoder=ConvNet(filters=(8, 8), strides=(2, 2), padding="valid"),
            decoder=DeconvNet(start_shape=(7, 7, 4), filters=(8, 8), strides=(2, 2)),
            iwae_samples=8,
            eval_images=16,
        ),
        data=Data(name="mnist_sample", limit=256),
        optimizer=Optimizer(learning_rate=1e-3),
        train=Train(epochs=2, batch_size=32, log_every_steps=2, grid_rows=2, verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def run_python(code: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (for process-wide TF settings, kills and import checks)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=ROOT)


@pytest.fixture
def tiny_recipe(tmp_path):
    return tiny_vae_recipe(tmp_path)


def tiny_gan_recipe(tmp_path: Path, **overrides) -> Recipe:
    """The MNIST DCGAN's shape with a few filters and no dropout (dropout noise is per replica)."""
    from kgen.models.gan import GANConfig

    recipe = Recipe(
        name="tiny_gan",
        model=GANConfig(
            latent_dim=8,
            generator=DeconvNet(start_shape=(7, 7, 8), filters=(8, 4), kernel_size=5, strides=(1, 2),
                                out_kernel_size=5, out_strides=2, activation="leaky_relu",
                                norm="batch", use_bias=False, out_activation="tanh"),
            discriminator=ConvNet(filters=(4, 8), kernel_size=5, strides=(2, 2), padding="same",
                                  activation="leaky_relu"),
        ),
        data=Data(name="mnist_sample", limit=256, scale="symmetric"),
        optimizer=Optimizer(learning_rate=2e-4, beta_1=0.5),
        train=Train(epochs=2, batch_size=32, log_every_steps=2, grid_rows=2, verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


_MIRRORED = []


@pytest.fixture
def mirrored():
    """One MirroredStrategy over the two logical CPUs for the whole session: collective-op keys
    are allocated per strategy, and two strategies in one process can collide on them."""
    if not _MIRRORED:
        _MIRRORED.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    return _MIRRORED[0]


def tiny_ddpm_recipe(tmp_path: Path, **overrides) -> Recipe:
    """A two-level U-Net with 8 channels on 8x8 digits and T = 50: a step takes milliseconds."""
    from kgen.models.ddpm import DDPMConfig
    from kgen.networks.unet import UNet

    recipe = Recipe(
        name="tiny_ddpm",
        model=DDPMConfig(network=UNet(channels=8, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(1,),
                                      groups=4),
                         timesteps=50, ema_decay=0.9, sample_steps=5, final_ancestral=False),
        data=Data(name="mnist_sample", limit=256, image_size=8, scale="symmetric"),
        optimizer=Optimizer(learning_rate=2e-3),
        train=Train(epochs=2, batch_size=32, steps_per_epoch=3, log_every_steps=1, grid_rows=2, verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def tiny_hybrid_recipe(tmp_path: Path, family: str, **overrides) -> Recipe:
    """AAE or AVB with mnist_vae's shape at 8 filters, on 256 bundled digits."""
    from kgen.models.aae import AAEConfig
    from kgen.models.avb import AVBConfig
    from kgen.networks.mlp import MLPNet

    enc = ConvNet(filters=(8, 8), strides=(2, 2), padding="valid")
    dec = DeconvNet(start_shape=(7, 7, 4), filters=(8, 8), strides=(2, 2))
    if family == "aae":
        model = AAEConfig(latent_dim=2, encoder=enc, decoder=dec, discriminator=MLPNet(units=(32, 32), norm="none"))
    else:
        model = AVBConfig(latent_dim=2, noise_dim=4, hidden=16, encoder=enc, decoder=dec,
                          discriminator=ConvNet(filters=(4,), strides=(2,), padding="same", activation="leaky_relu"))
    recipe = Recipe(
        name=f"tiny_{family}", model=model,
        data=Data(name="mnist_sample", limit=256),
        optimizer=Optimizer(learning_rate=2e-3),
        train=Train(epochs=2, batch_size=32, steps_per_epoch=3, log_every_steps=1, grid_rows=2, verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def mirrored_matches_single(recipe, image_shape, batch, strategy, atol=1e-5, min_move=1e-5):
    """One fit step from the same weights under the default strategy and under `strategy`; asserts
    that the step moved the weights and that both give the same weights within `atol`."""
    import numpy as np

    from kgen import models

    weights = models.build(recipe, image_shape).get_weights()
    results = []
    for s in (tf.distribute.get_strategy(), strategy):
        with s.scope():
            m = models.build(recipe, image_shape)
            m.build_optimizers()
        m.set_weights(weights)
        m.fit(tf.data.Dataset.from_tensors(batch), verbose=0)
        results.append(m.get_weights())
    assert max(np.abs(a - b).max() for a, b in zip(results[0], weights)) > min_move
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=atol)
