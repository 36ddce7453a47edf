"""One tiny-recipe factory: `tiny(family, tmp_path, **overrides)`, every family's networks at a
few filters on the bundled digits, so that a run takes seconds; and `buildable(name)`, a shipped
recipe ready to build.

The tiny recipes train in float32 (`mixed_precision="off"`), not the default `auto`: their
tolerances are argued from float32 round-off, and `auto` would pick bfloat16 on CPUs with it."""

from __future__ import annotations

import dataclasses
import importlib
import tempfile
from pathlib import Path

from kgen import config as config_lib
from kgen.config import Data, Optimizer, Recipe, Train
from kgen.networks.conv import ConvNet, DeconvNet


def _vae():
    """The MNIST VAE's shape with 8 filters: a few seconds an epoch."""
    from kgen.models.vae import VAEConfig

    return VAEConfig(latent_dim=2, encoder=ConvNet(filters=(8, 8), strides=(2, 2), padding="valid"),
                     decoder=DeconvNet(start_shape=(7, 7, 4), filters=(8, 8), strides=(2, 2)),
                     iwae_samples=8, eval_images=16), {}


def _gan():
    """The MNIST DCGAN's shape with a few filters (dropout off unless asked for)."""
    from kgen.models.gan import GANConfig

    return GANConfig(
        latent_dim=8,
        generator=DeconvNet(start_shape=(7, 7, 8), filters=(8, 4), kernel_size=5, strides=(1, 2), out_kernel_size=5,
                            out_strides=2, activation="leaky_relu", norm="batch", use_bias=False,
                            out_activation="tanh"),
        discriminator=ConvNet(filters=(4, 8), kernel_size=5, strides=(2, 2), padding="same", activation="leaky_relu"),
    ), {"data": Data(name="mnist_sample", limit=256, scale="symmetric"),
        "optimizer": Optimizer(learning_rate=2e-4, beta_1=0.5)}


def _ddpm():
    """A one-level U-Net with 8 channels on 8x8 digits and T = 50: a step takes milliseconds, and
    its trace half the time of a two-level one with attention. Those parts of the U-Net train in
    the quick recipes' one-step tests (test_families) and take face sizes in test_ddpm."""
    from kgen.models.ddpm import DDPMConfig
    from kgen.networks.unet import UNet

    return DDPMConfig(network=UNet(channels=8, channel_mult=(1,), num_res_blocks=1, attention_levels=(), groups=4),
                      timesteps=50, ema_decay=0.9, sample_steps=5, final_ancestral=False), {
        "data": Data(name="mnist_sample", limit=256, image_size=8, scale="symmetric"),
        "optimizer": Optimizer(learning_rate=2e-3)}


def _flow():
    """Glow with 2 levels of 2 steps, width 16, on 8x8 digits: milliseconds a step."""
    from kgen.models.flow import FlowConfig
    from kgen.networks.flow import Glow

    return FlowConfig(network=Glow(levels=2, steps=2, hidden=16)), {
        "data": Data(name="mnist_sample", limit=256, image_size=8, scale="unit")}


def _hybrid(family):
    """AAE or AVB with mnist_vae's shape at 8 filters."""
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
    return model, {"optimizer": Optimizer(learning_rate=2e-3)}


def _conditional(family, tmp_path):
    """The tiny GAN, VAE or DDPM as its class-conditional family (10 classes)."""
    from kgen.models.conditional import CDDPMConfig, CGANConfig, CVAEConfig

    base = tiny(family[1:], tmp_path)
    cls = {"cgan": CGANConfig, "cvae": CVAEConfig, "cddpm": CDDPMConfig}[family]
    fields = {f.name: getattr(base.model, f.name) for f in dataclasses.fields(base.model)}
    return dataclasses.replace(base, name=f"tiny_{family}", model=cls(**fields, num_classes=10))


def _autoencoder():
    """Latent diffusion's first stage at 8 channels, 8x8 digits -> a 4x4x2 latent."""
    from kgen.models.autoencoder import AutoencoderConfig
    from kgen.networks.autoencoder import LatentCoder

    return AutoencoderConfig(network=LatentCoder(channels=8, channel_mult=(1, 2), latent_channels=2, groups=4)), {
        "data": Data(name="mnist_sample", limit=256, image_size=8, scale="symmetric"),
        "optimizer": Optimizer(learning_rate=1e-3)}


def _ldm(tmp_path):
    """The tiny DDPM's U-Net on an untrained tiny autoencoder's 4x4x2 latents."""
    from kgen import cli
    from kgen.models.ldm import LDMConfig

    stand_in = cli.stand_in_first_stage(tiny("autoencoder", tmp_path), tmp_path)
    ddpm = tiny("ddpm", tmp_path)
    fields = {f: getattr(ddpm.model, f) for f in ("network", "timesteps", "ema_decay", "sample_steps",
                                                  "final_ancestral")}
    return dataclasses.replace(ddpm, name="tiny_ldm", model=LDMConfig(**fields, autoencoder=str(stand_in),
                                                                       init_images=32))


MODELS = {"vae": _vae, "gan": _gan, "ddpm": _ddpm, "flow": _flow, "autoencoder": _autoencoder,
          "aae": lambda: _hybrid("aae"), "avb": lambda: _hybrid("avb")}
DERIVED = {"cgan": _conditional, "cvae": _conditional, "cddpm": _conditional, "ldm": lambda _, tmp: _ldm(tmp)}
FAMILIES = (*MODELS, *DERIVED)


def tiny(family: str, tmp_path: Path, **overrides) -> Recipe:
    """`family`'s tiny recipe, logging and exporting under `tmp_path`, with dotted `overrides`.
    Two epochs of batch 32 on 256 bundled digits; the VAE's and GAN's epochs are the whole 8
    batches, the others' 3 steps."""
    if family in DERIVED:
        recipe = DERIVED[family](family, tmp_path)
    elif family in MODELS:
        model, parts = MODELS[family]()
        whole = family in ("vae", "gan")  # whole epochs of 8 batches, logged every 2 steps
        recipe = Recipe(
            name=f"tiny_{family}", model=model, data=parts.get("data", Data(name="mnist_sample", limit=256)),
            optimizer=parts.get("optimizer", Optimizer(learning_rate=1e-3)),
            train=Train(epochs=2, batch_size=32, mixed_precision="off", steps_per_epoch=0 if whole else 3,
                        log_every_steps=2 if whole else 1, grid_rows=2, verbose=0,
                        logdir=str(tmp_path / "logs"), export_dir=str(tmp_path / "saved_models")))
    else:
        raise ValueError(f"no tiny recipe for {family!r}; families: {', '.join(FAMILIES)}")
    return config_lib.apply_overrides(recipe, overrides) if overrides else recipe


def buildable(name: str, quick: bool = False) -> Recipe:
    """The recipe `kgen.recipes.<name>` (with its --quick settings), ready to build: a two-stage
    recipe's second stage gets an untrained stand-in of its first (cli.stand_in_first_stage)."""
    from kgen import cli, runs

    module = importlib.import_module(f"kgen.recipes.{name}")
    recipe = runs.resolve(module.RECIPE, {}, quick=quick)[0]
    first = getattr(module, "AUTOENCODER", None)
    if first is None:
        return recipe
    stand_in = cli.stand_in_first_stage(runs.resolve(first, {}, quick=quick)[0], Path(tempfile.mkdtemp()))
    return config_lib.apply_overrides(recipe, {"model.autoencoder": str(stand_in)})
