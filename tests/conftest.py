"""Test set-up: two logical CPU devices (for the MirroredStrategy test) and tiny recipes."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from kgen import config as config_lib  # noqa: E402
from kgen import data as data_lib  # noqa: E402
from kgen.config import Data, Optimizer, Recipe, Train  # noqa: E402
from kgen.models.vae import VAEConfig  # noqa: E402
from kgen.networks.conv import ConvNet, DeconvNet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# The tiny recipes train in float32 (`mixed_precision="off"`), not the default `auto`: their
# tolerances are argued from float32 round-off, and `auto` would pick bfloat16 on CPUs with it.


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
        train=Train(epochs=2, batch_size=32, mixed_precision="off", log_every_steps=2, grid_rows=2, verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def plain_tf(export_dir, body: str, timeout: int = 180) -> list:
    """Runs `body` in a fresh interpreter that loads the SavedModel at `export_dir` as `m` with
    plain TensorFlow (tf, np, json, sys imported; cwd / so kgen cannot be imported by accident)
    and returns the JSON list that `body` assigns to `out`, with `'kgen' in sys.modules` appended."""
    return plain_tf_each([(export_dir, body)], timeout)[0]


def plain_tf_each(checks: list, timeout: int = 240) -> list:
    """plain_tf for several (export_dir, body) pairs in one interpreter (each interpreter costs
    seconds of TensorFlow import); returns one list per pair."""
    code = "import json, sys\nimport numpy as np\nimport tensorflow as tf\nouts = []\n"
    for i, (_, body) in enumerate(checks):
        code += f"m = tf.saved_model.load(sys.argv[{i + 1}])\n{body}\nouts.append(list(out))\n"
    code += "print(json.dumps([o + ['kgen' in sys.modules] for o in outs]))\n"
    proc = subprocess.run([sys.executable, "-c", code, *(str(d) for d, _ in checks)], capture_output=True, text=True,
                          timeout=timeout, cwd="/", env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_python(code: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (for process-wide TF settings, kills and import checks)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=ROOT)


@pytest.fixture
def tiny_recipe(tmp_path):
    return tiny_vae_recipe(tmp_path)


def tiny_gan_recipe(tmp_path: Path, **overrides) -> Recipe:
    """The MNIST DCGAN's shape with a few filters (dropout off unless asked for)."""
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
        train=Train(epochs=2, batch_size=32, mixed_precision="off", log_every_steps=2, grid_rows=2, verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


@pytest.fixture(autouse=True)
def same_start_for_each_test():
    """Every test starts from the same seeds, whatever ran before it in its worker: weights drawn
    from Keras' global seed otherwise depend on the order xdist hands out tests (a 36-step AAE's
    codes matched the prior to an MMD ratio of 0.10-0.75 over seeds 0-5). A run sets the
    process-wide dtype policy (bfloat16 under `auto` on CPUs with it): back to float32 after it."""
    import keras

    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_dtype_policy("float32")


_MIRRORED = []


@pytest.fixture
def mirrored():
    """One MirroredStrategy over the two logical CPUs for the whole session: collective-op keys
    are allocated per strategy, and two strategies in one process can collide on them."""
    if not _MIRRORED:
        _MIRRORED.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    return _MIRRORED[0]


def tiny_ddpm_recipe(tmp_path: Path, **overrides) -> Recipe:
    """A one-level U-Net with 8 channels on 8x8 digits and T = 50: a step takes milliseconds, and
    its trace half the time of a two-level one with attention. Those parts of the U-Net train in
    the quick recipes' one-step tests (test_families) and take face sizes in test_ddpm."""
    from kgen.models.ddpm import DDPMConfig
    from kgen.networks.unet import UNet

    recipe = Recipe(
        name="tiny_ddpm",
        model=DDPMConfig(network=UNet(channels=8, channel_mult=(1,), num_res_blocks=1, attention_levels=(), groups=4),
                         timesteps=50, ema_decay=0.9, sample_steps=5, final_ancestral=False),
        data=Data(name="mnist_sample", limit=256, image_size=8, scale="symmetric"),
        optimizer=Optimizer(learning_rate=2e-3),
        train=Train(epochs=2, batch_size=32, mixed_precision="off", steps_per_epoch=3, log_every_steps=1, grid_rows=2,
                    verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def tiny_flow_recipe(tmp_path: Path, **overrides) -> Recipe:
    """Glow with 2 levels of 2 steps, width 16, on 8x8 digits: milliseconds a step."""
    from kgen.models.flow import FlowConfig
    from kgen.networks.flow import Glow

    recipe = Recipe(
        name="tiny_flow",
        model=FlowConfig(network=Glow(levels=2, steps=2, hidden=16)),
        data=Data(name="mnist_sample", limit=256, image_size=8, scale="unit"),
        optimizer=Optimizer(learning_rate=1e-3),
        train=Train(epochs=2, batch_size=32, mixed_precision="off", steps_per_epoch=3, log_every_steps=1, grid_rows=2,
                    verbose=0, logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
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
        train=Train(epochs=2, batch_size=32, mixed_precision="off", steps_per_epoch=3, log_every_steps=1, grid_rows=2,
                    verbose=0,
                    logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def one_step(recipe, image_shape, batch, strategy, weights=None, jit_compile=False, model=None):
    """(model, logs) after one step of the runner's loop (kgen.train.Loop over a distributed
    dataset) on `batch` = (images, labels), under `strategy`, from `weights` if given, the step
    compiled with XLA if `jit_compile`; on `model` if given (built under `strategy`), else on a
    new one."""
    import keras

    from kgen import runs, train

    if model is None:
        # unseeded generators (dropout's) take their seeds from the global RNG: reset it so that
        # every model built here starts from the same seed states, as the processes of a run do
        keras.utils.set_random_seed(recipe.seed)
        model = runs.build_model(recipe, image_shape, strategy)
    if weights is not None:
        model.set_weights(weights)
    x, y = batch
    n = int(x.shape[0])
    ds = data_lib.distributed_dataset(strategy, lambda: tf.data.Dataset.from_tensors(tf.range(n)),
                                      lambda idx: (tf.gather(x, idx), tf.gather(y, idx)))
    logs = train.Loop(model, strategy, jit_compile).train_chunk(iter(ds), tf.constant(1, tf.int64))
    return model, {k: float(v) for k, v in logs.items()}


EPS32 = float(np.finfo(np.float32).eps)


def mirrored_matches_single(recipe, image_shape, batch, strategy, learning_rate=0.1):
    """One plain SGD step from the same weights under the default strategy and under `strategy`
    (two replicas); asserts that the step moved the weights and that both give the same weights
    and logged losses.

    SGD, not the recipe's Adam: Adam divides by sqrt(v), so a near-zero gradient entry that
    differs by float32 round-off becomes a difference the size of a whole step. With SGD a weight
    moves by lr * g, so the two results differ by lr times the gradients' round-off. The replicas
    sum per-example gradients in two halves and then all-reduce, which regroups float32 sums: for
    B = 16 terms the regrouping changes a sum by about B * eps32 ~ 2e-6 of the sum of absolute
    terms. Terms can cancel, so each variable may differ by 1e-4 of its largest update (50x that),
    plus 4 * eps32 * |w| for rounding w - lr * g itself. A gradient that is zero in exact
    arithmetic (a bias before a normalisation) is pure round-off of terms the size of the other
    gradients: 1e-6 of the largest update of any variable covers it (B * eps32 with 4x margin).
    """
    recipe = config_lib.apply_overrides(recipe, {"optimizer.name": "sgd", "optimizer.learning_rate": learning_rate})
    weights = runs_build(recipe, image_shape).get_weights()
    (single, logs1), (multi, logs2) = (one_step(recipe, image_shape, batch, s, weights)
                                       for s in (tf.distribute.get_strategy(), strategy))
    moved = [np.abs(a - w).max() for a, w in zip(single.get_weights(), weights)]
    assert max(moved) > 1e-4 * learning_rate  # the step did something
    for w, a, b, step in zip(weights, single.get_weights(), multi.get_weights(), moved):
        tol = 1e-4 * step + 1e-6 * max(moved) + 4 * EPS32 * np.abs(w).max()
        assert np.abs(a - b).max() <= tol, (a.shape, np.abs(a - b).max(), tol)
    for k in logs1:
        # a logged mean of B per-example values: the same regrouping argument, relative 1e-5
        assert logs2[k] == pytest.approx(logs1[k], rel=1e-5, abs=1e-6), k


def runs_build(recipe, image_shape):
    """The model as a run builds it, optimizer slots included: a model from `models.build` alone
    (its networks) creates them inside its first `fit` step, which TensorFlow then traces twice."""
    from kgen import runs

    return runs.build_model(recipe, image_shape)


def tiny_conditional_recipe(tmp_path: Path, family: str, **overrides) -> Recipe:
    """The tiny GAN, VAE or DDPM recipe as its class-conditional family (10 classes)."""
    import dataclasses

    from kgen.models.conditional import CDDPMConfig, CGANConfig, CVAEConfig

    base = {"cgan": tiny_gan_recipe, "cvae": tiny_vae_recipe, "cddpm": tiny_ddpm_recipe}[family](tmp_path)
    cls = {"cgan": CGANConfig, "cvae": CVAEConfig, "cddpm": CDDPMConfig}[family]
    fields = {f.name: getattr(base.model, f.name) for f in dataclasses.fields(base.model)}
    recipe = dataclasses.replace(base, name=f"tiny_{family}", model=cls(**fields, num_classes=10))
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def pytest_collection_modifyitems(items):
    """The long multi-process checks first, so that the two workers do not end on one of them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def buildable(name: str, quick: bool = False) -> Recipe:
    """The recipe `kgen.recipes.<name>` (with its --quick settings), ready to build: a two-stage
    recipe's second stage gets an untrained stand-in of its first (cli.stand_in_first_stage)."""
    import importlib
    import tempfile

    from kgen import cli, runs

    module = importlib.import_module(f"kgen.recipes.{name}")
    recipe = runs.resolve(module.RECIPE, {}, quick=quick)[0]
    first = getattr(module, "AUTOENCODER", None)
    if first is None:
        return recipe
    stand_in = cli.stand_in_first_stage(runs.resolve(first, {}, quick=quick)[0], Path(tempfile.mkdtemp()))
    return config_lib.apply_overrides(recipe, {"model.autoencoder": str(stand_in)})


def tiny_autoencoder_recipe(tmp_path: Path, **overrides) -> Recipe:
    """Latent diffusion's first stage at 8 channels, 8x8 digits -> a 4x4x2 latent."""
    from kgen.models.autoencoder import AutoencoderConfig
    from kgen.networks.autoencoder import LatentCoder

    recipe = Recipe(
        name="tiny_autoencoder",
        model=AutoencoderConfig(network=LatentCoder(channels=8, channel_mult=(1, 2), latent_channels=2, groups=4)),
        data=Data(name="mnist_sample", limit=256, image_size=8, scale="symmetric"),
        optimizer=Optimizer(learning_rate=1e-3),
        train=Train(epochs=2, batch_size=32, mixed_precision="off", steps_per_epoch=3, log_every_steps=1, grid_rows=2,
                    verbose=0, logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")),
    )
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def tiny_ldm_recipe(tmp_path: Path, **overrides) -> Recipe:
    """tiny_ddpm's U-Net on an untrained tiny_autoencoder's 4x4x2 latents."""
    from kgen import cli
    from kgen.models.ldm import LDMConfig

    stand_in = cli.stand_in_first_stage(tiny_autoencoder_recipe(tmp_path), tmp_path)
    ddpm = tiny_ddpm_recipe(tmp_path)
    fields = {f: getattr(ddpm.model, f) for f in ("network", "timesteps", "ema_decay", "sample_steps",
                                                  "final_ancestral")}
    recipe = dataclasses.replace(ddpm, name="tiny_ldm",
                                 model=LDMConfig(**fields, autoencoder=str(stand_in), init_images=32))
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe
