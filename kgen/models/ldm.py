"""Latent diffusion (Rombach et al. 2022): kgen's DDPM, run on a frozen first-stage
autoencoder's scaled latents instead of pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgen.checkpoint import KERAS_FILE
from kgen.config import num
from kgen.errors import ConfigError
from kgen.models.base import register
from kgen.models.ddpm import DDPM, DDPMConfig
from kgen.networks.unet import unet

@register("ldm")
@dataclass
class LDMConfig(DDPMConfig):
    # the first stage: a finished run of the autoencoder family (its directory, or its model.keras).
    # The recipes' own command trains one first and fills this in.
    autoencoder: str = ""
    # training images whose latents set the scale factor (Rombach et al. use their first batch)
    init_images: int = num(1024, 1)

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "symmetric") -> "LatentDiffusion":
        first = load_autoencoder(self.autoencoder)
        if tuple(first.image_shape) != tuple(image_shape):
            raise ConfigError(f"model.autoencoder={self.autoencoder} encodes {first.image_shape} images, but the data "
                              f"are {tuple(image_shape)}: train the first stage on this data (data.image_size, "
                              "data.channels)")
        network = unet(self.network, first.latent_shape, "unet")
        ema = unet(self.network, first.latent_shape, "ema_unet")
        model = LatentDiffusion(first.encoder, first.decoder, network, ema, self.schedule, self.timesteps,
                                self.ema_decay, self.sample_steps, self.eta, seed, self.final_ancestral,
                                self.min_snr_gamma, self.sampler, init_images=self.init_images, name="ldm")
        model.copy_weights_to_ema()
        return model


def load_autoencoder(path: str):
    """The trained first stage of a run directory (or its model.keras), uncompiled."""
    from kgen.models.autoencoder import Autoencoder

    if not path:
        raise ConfigError("model.autoencoder is empty: latent diffusion needs a trained first stage. The recipe's "
                          "command trains one first (python -m kgen.recipes.mnist_ldm); or pass "
                          "--model.autoencoder=RUN, a finished run of its first stage")
    p = Path(path).expanduser()
    file = p / KERAS_FILE if p.is_dir() else p
    if not file.exists():
        raise ConfigError(f"model.autoencoder={path}: no {KERAS_FILE} there. Give a finished first-stage run (it "
                          "writes model.keras when training ends; --resume finishes one that was cut off)")
    model = keras.saving.load_model(file, compile=False)
    if not isinstance(model, Autoencoder):
        raise ConfigError(f"model.autoencoder={path} is a {type(model).__name__}, not a first-stage autoencoder "
                          "(family autoencoder)")
    return model


@keras.saving.register_keras_serializable(package="kgen")
class LatentDiffusion(DDPM):
    """The DDPM's objective, samplers and applications on x_0 = s * mu(x): the frozen encoder's
    posterior mean, times the scale factor s = 1 / std of the training latents (Rombach et
    al., section 4.3.2, "scale factor"), set from `init_images` training images before the first
    step and kept with the weights. Samples are decoded: x = D(x_0 / s).

    Inpainting runs in latent space (a latent cell is known where every pixel under it is) and
    pastes the known pixels back; editing (SDEdit) noises the encoded image. Super-resolution
    (ILVR) and denoising match pixel statistics, which have no latent counterpart here: they
    refuse.

    Args:
        encoder, decoder: the first stage's networks (frozen).
        network, ema_network, ...: as `DDPM`, on the latent's shape.
        scale_factor: s before `initialize_from_data` sets it.
        init_images: how many training images set s.
    """

    network_names = ("network", "encoder", "decoder")
    x0_range = None  # latents are unbounded: no clipping of the predicted x_0

    def __init__(self, encoder, decoder, network, ema_network, schedule_kind="linear", timesteps=1000,
                 ema_decay=0.999, sample_steps=50, eta=0.0, seed=0, final_ancestral=True, min_snr_gamma=0.0,
                 sampler="ddim", scale_factor=1.0, init_images=1024, **kwargs):
        super().__init__(network, ema_network, schedule_kind, timesteps, ema_decay, sample_steps, eta, seed,
                         final_ancestral, min_snr_gamma, sampler, **kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.encoder.trainable = self.decoder.trainable = False
        self.scale_factor, self.init_images = scale_factor, init_images
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(scale_factor),
                                     trainable=False, name="scale_factor")
        self.latent_shape = self.image_shape  # the U-Net's
        self.image_shape = tuple(decoder.output_shape[1:])

    def latents(self, x):
        mean, _ = tf.split(tf.cast(self.encoder(x, training=False), tf.float32), 2, axis=-1)
        return mean

    def initialize_from_data(self, images):
        z = np.concatenate([self.latents(tf.constant(images[i : i + 256], tf.float32)).numpy()
                            for i in range(0, len(images), 256)])
        self.scale.assign(1.0 / float(z.std()))
        print(f"kgen: latent scale factor {float(self.scale.numpy()):.4g} (1 / std of {len(images)} training "
              "images' latents)", flush=True)

    def data_to_x0(self, x):
        return self.scale * self.latents(x)

    def _to_unit(self, x):
        images = tf.cast(self.decoder(x / self.scale, training=False), tf.float32)
        return tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0)

    def inpaint(self, images, mask, seed=0, steps=None):
        images = tf.convert_to_tensor(images, tf.float32)
        mask = tf.convert_to_tensor(mask, tf.float32)
        h, w = self.latent_shape[:2]
        f = self.image_shape[0] // h
        # a cell is known only if every pixel of its f x f block is
        known_cells = -tf.nn.max_pool2d(-tf.reduce_min(mask, axis=-1, keepdims=True), f, f, "VALID")
        latent_mask = tf.broadcast_to(known_cells, tf.concat([tf.shape(images)[:1], self.latent_shape], 0))
        n = tf.shape(images)[0]
        x = self.ddim.sample(self.eps_for(()), self.prior_noise(n, seed), seed, steps,
                             known=(self.to_x0(images * mask), latent_mask))
        return mask * images + (1.0 - mask) * self._to_unit(x)

    def superres(self, images, seed=0, steps=None):
        raise ConfigError("super-resolution (ILVR) matches the low-pass of pixels at every step, which latent "
                          "diffusion does not have; use a pixel-space DDPM (mnist_ddpm, faces_ddpm)")

    def denoise(self, noisy, sigma, seed=0, steps=None):
        raise ConfigError("denoising maps a pixel noise level to a diffusion step, which latent diffusion does not "
                          "have; use a pixel-space DDPM (mnist_ddpm, faces_ddpm), or --mode=edit")

    def final_metrics(self, images, labels):
        return {"scale_factor": float(self.scale.numpy())}

    def endpoints(self):
        out = super().endpoints()
        del out["superres"]

        def encode(images):
            return self.to_x0(images)

        def decode(z):
            return self._to_unit(z)

        def sample_latents(num_samples, seed):
            return self.ddim.sample(self.eps_for(()),
                                    self.prior_noise(num_samples, seed), seed, None)

        out["encode"] = (encode, [self.image_spec()])
        out["decode"] = (decode, [tf.TensorSpec([None, *self.latent_shape], tf.float32, "z")])
        out["sample_latents"] = (sample_latents, out["sample"][1])
        return out
