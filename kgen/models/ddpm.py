"""Denoising diffusion probabilistic model (Ho et al. 2020) with DDIM sampling (Song et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from kgen import figures, masks
from kgen.config import ConfigError, choices, num
from kgen.layers.replicas import global_normal, global_uniform
from kgen.models.base import FamilyConfig, GenerativeModel, minimize, register
from kgen.networks.unet import UNet, unet
from kgen.schedules import DDIMSampler, DDPMSampler, DPMSolverPP, NoiseSchedule

SAMPLERS = ("ddim", "dpm++2m")


@register("ddpm")
@dataclass
class DDPMConfig(FamilyConfig):
    network: UNet = field(default_factory=UNet)
    schedule: str = choices("linear", "cosine")
    timesteps: int = num(1000, 2)
    ema_decay: float = num(0.999, 0, 1)
    # the few-step sampler of grids, `sample`, `sample_steps`, inpainting and denoising:
    # ddim (Song et al. 2021) or dpm++2m (DPM-Solver++(2M), Lu et al. 2022, second order)
    sampler: str = choices("ddim", "dpm++2m")
    sample_steps: int = num(50, 1)  # the sampler's steps for epoch grids and the exported `sample`
    eta: float = num(0.0, 0, 1)  # DDIM eta: 0 deterministic, 1 DDPM-like
    final_ancestral: bool = True  # a last grid with the full T-step ancestral sampler
    # Min-SNR-gamma loss weighting (Hang et al. 2023): 0 is Ho et al.'s L_simple
    min_snr_gamma: float = num(0.0, 0)

    data_scales = ("symmetric",)  # the forward process mixes images with N(0, I) noise in [-1, 1]

    def build(self, image_shape: tuple, seed: int = 0, data_scale: str = "symmetric") -> "DDPM":
        return build(self, image_shape, seed)


def ema_update(ema_vars, variables, decay):
    """ema <- decay * ema + (1 - decay) * w, done once per step across replicas (merge_call):
    the weights are the same on every replica after the all-reduced update, so one cross-replica
    update of each mirrored EMA variable is exact."""

    def merged(strategy, ema_vars, variables):
        for e, w in zip(ema_vars, variables):
            strategy.extended.update(
                e, lambda e_, w_: e_.assign(decay * e_ + (1.0 - decay) * w_), args=(w,), group=False
            )

    tf.distribute.get_replica_context().merge_call(
        merged, args=([e.value for e in ema_vars], [tf.convert_to_tensor(w) for w in variables])
    )


@keras.saving.register_keras_serializable(package="kgen")
class DDPM(GenerativeModel):
    """A DDPM: learns eps_theta(x_t, t) with the simple loss of Ho et al. (their eq. 14)

        L_simple = E_{t, x_0, eps} || eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t) ||^2,

    t uniform in [0, T). An exponential moving average of the weights (`ema_network`, decay
    min(`ema_decay`, (1 + n) / (10 + n)) at step n) is what samples, evaluates and exports.
    Images live in [-1, 1].

    Args:
        network: the noise predictor [x_t, t] -> eps (a U-Net).
        ema_network: a clone of it holding the averaged weights.
        schedule_kind: the noise schedule by name, "linear" (Ho et al. 2020) or "cosine" (Nichol and
            Dhariwal 2021), built as a `NoiseSchedule` of `timesteps` steps.
        timesteps: T.
        ema_decay: EMA decay per step.
        sample_steps, eta: the few-step sampler's steps (and DDIM's eta) for grids and `sample`.
        sampler: "ddim" or "dpm++2m" (DPM-Solver++(2M)).
        final_ancestral: whether the final figures add a grid from the full T-step sampler.

    References:
        Ho, Jain and Abbeel, Denoising Diffusion Probabilistic Models, NeurIPS 2020.
        Song, Meng and Ermon, Denoising Diffusion Implicit Models, ICLR 2021.
        Seed 002 (Lee et al., A Comparative Study of Image Generation Models).
    """

    network_names = ("network",)
    x0_range = 1.0  # the samplers clip their predicted x_0 to [-1, 1], the pixels' range

    def __init__(self, network, ema_network, schedule_kind="linear", timesteps=1000, ema_decay=0.999,
                 sample_steps=50, eta=0.0, seed=0, final_ancestral=True, min_snr_gamma=0.0, sampler="ddim",
                 **kwargs):
        super().__init__(**kwargs)
        self.network, self.ema_network = network, ema_network
        self.ema_network.trainable = False
        self.schedule_kind, self.timesteps, self.ema_decay = schedule_kind, timesteps, ema_decay
        self.sample_steps, self.eta, self.seed = sample_steps, eta, seed
        self.final_ancestral, self.min_snr_gamma, self.sampler = final_ancestral, min_snr_gamma, sampler
        self.schedule = NoiseSchedule(schedule_kind, timesteps)
        if sampler not in SAMPLERS:
            raise ConfigError(f"model.sampler={sampler!r} is not one of: {', '.join(SAMPLERS)}")
        if sampler != "ddim" and eta:
            raise ConfigError(f"model.eta={eta} is DDIM's; model.sampler={sampler} is deterministic: set eta to 0")
        # the few-step sampler (named ddim for history: DDIM or DPM-Solver++ by `sampler`)
        self.ddim = DDIMSampler(self.schedule, sample_steps, eta, self.x0_range) if sampler == "ddim" else DPMSolverPP(
            self.schedule, sample_steps, self.x0_range)
        self.ancestral = DDPMSampler(self.schedule)
        self.image_shape = tuple(network.input_shape[0][1:])
        self.latent_shape = self.image_shape  # x_T
        self.make_noise(seed)
        self.make_trackers("loss")
        self.built = True

    def eps(self, x_t, t, ema=True):
        return self.network_on(self.ema_network if ema else self.network, False)(x_t, t)

    def eps_for(self, cond):
        """The noise predictor a sampler calls given its condition: `cond` is () here (every
        sampler of the unconditional model); the conditional DDPM's (labels, guidance)."""
        return self.eps

    def network_on(self, network, training):
        """`network` as the objective calls it: eps(x_t, t)."""
        return lambda x_t, t: network([x_t, t], training=training)

    def diffusion_loss(self, x0, predict, training):
        """Per-example L_simple (mean over pixels) at random t and eps; predict(x_t, t) -> eps."""
        b = tf.shape(x0)[0]
        noise = self.noise if training else self.eval_noise
        u = global_uniform(b, (), noise)
        t = tf.minimum(tf.cast(u * self.timesteps, tf.int32), self.timesteps - 1)
        x0 = self.data_to_x0(x0)
        eps = global_normal(b, self.latent_shape, noise)
        pred = predict(self.schedule.add_noise(x0, t, eps), t)
        return self.loss_weight(t) * tf.reduce_mean(tf.square(eps - tf.cast(pred, tf.float32)), axis=[1, 2, 3])

    def loss_weight(self, t):
        """Min-SNR-gamma (Hang et al. 2023, eq. 7 for an eps-predicting network): min(SNR_t, gamma)
        / SNR_t, SNR_t = abar_t / (1 - abar_t). The low-noise steps, whose eps is nearly
        unrecoverable and whose gradients conflict with the high-noise ones, weigh less; they
        report 3.4x faster convergence at gamma = 5. gamma = 0 weighs every step 1 (L_simple)."""
        if not self.min_snr_gamma:
            return tf.ones_like(t, tf.float32)
        abar = tf.gather(self.schedule.alphas_cumprod, t)
        snr = abar / (1.0 - abar)
        return tf.minimum(snr, self.min_snr_gamma) / snr

    def train_step(self, data):
        return self.diffusion_step(data[0], self.network_on(self.network, True))

    def diffusion_step(self, x0, predict):
        """One step on a batch of data x0, the network called as predict(x_t, t)."""
        per_example = minimize(self.optimizer, self.network.trainable_variables,
                               lambda: self.diffusion_loss(x0, predict, True))
        # EMA warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): early averages
        # would otherwise be dominated by the random initial weights for ~1/(1 - decay) steps
        n = tf.cast(self.optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + n) / (10.0 + n))
        ema_update(self.ema_network.weights, self.network.weights, decay)
        return self.track(loss=per_example)

    def test_step(self, data):
        return self.track(loss=self.diffusion_loss(data[0], self.network_on(self.ema_network, False), False))

    def copy_weights_to_ema(self):
        for e, w in zip(self.ema_network.weights, self.network.weights):
            e.assign(w)

    # The space the diffusion runs in: here the pixels in [-1, 1]; latent diffusion's
    # autoencoder latents.
    def data_to_x0(self, x):
        """A batch of training data (images in [-1, 1]) -> x_0."""
        return x

    def to_x0(self, images):
        """Images in [0, 1] -> x_0."""
        return self.data_to_x0(tf.convert_to_tensor(images, tf.float32) * 2.0 - 1.0)

    def _to_unit(self, x):
        """x_0 -> images in [0, 1]."""
        return tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)

    def generate(self, z, steps=None, seed=0, cond=()):
        """x_T = z -> images in [0, 1] with DDIM (`steps`, default the recipe's), given the
        sampler's condition `cond` (eps_for)."""
        steps = self.sample_steps if steps is None else steps
        # One compiled DDIM loop for every caller: eagerly (the grids during training) it runs as
        # one graph, not step by step, and the SavedModel's `sample`, `sample_steps` and
        # `generate` share its one trace of the U-Net loop instead of tracing it each.
        if not hasattr(self, "_ddim_graph"):
            self._ddim_graph = tf.function(lambda z, s, n, c: self.ddim.sample(self.eps_for(c), z, s, n),
                                           reduce_retracing=True)
        return self._to_unit(self._ddim_graph(tf.convert_to_tensor(z, tf.float32), tf.cast(seed, tf.int32),
                                              tf.cast(steps, tf.int32), cond))

    def sample(self, num_samples, seed, steps=None, cond=()):
        return self.generate(self.prior_noise(num_samples, seed), steps, seed, cond)

    def sample_ancestral(self, num_samples, seed, progress=True, cond=()):
        """The full T-step ancestral sampler (Ho et al. Algorithm 2), printing its progress."""
        z = self.prior_noise(num_samples, seed)
        if not tf.executing_eagerly():
            return self._to_unit(self.ancestral.sample(self.eps_for(cond), z, seed, progress=progress))
        fn = tf.function(lambda z, c: self.ancestral.sample(self.eps_for(c), z, seed, progress=progress))
        return self._to_unit(fn(z, cond))

    def inpaint(self, images, mask, seed=0, steps=None):
        """images in [0, 1], mask 1 where pixels are known -> completed images in [0, 1]; the
        known pixels come back exactly."""
        x_known = images * 2.0 - 1.0
        z = self.prior_noise(tf.shape(images)[0], seed)
        x = self.ddim.sample(self.eps_for(()), z, seed, steps, known=(x_known, mask))
        return self._to_unit(mask * x_known + (1.0 - mask) * x)

    def superres(self, images, seed=0, steps=None):
        """Low-resolution images [N, H/f, W/f, C] in [0, 1] -> [N, H, W, C] by ILVR (Choi et al.
        2021): the model samples freely while every step's low-pass content is the input's,
        so the output averaged over f x f blocks is the input, and the detail is the model's."""
        images = tf.convert_to_tensor(images, tf.float32)
        size = tf.constant(self.image_shape[:2])
        factor = size[0] // tf.shape(images)[1]
        y = tf.image.resize(images * 2.0 - 1.0, size, method="nearest")
        n = tf.shape(images)[0]
        x = self.ddim.sample(self.eps_for(()), self.prior_noise(n, seed), seed, steps,
                             low_pass_of=(y, factor))
        return self._to_unit(x)

    def edit(self, images, strength, seed=0, steps=None):
        """SDEdit (Meng et al. 2022): images in [0, 1] noised to the step t = strength * (T - 1),
        then denoised by the reverse process from there. strength 0 returns the input; 1 is a new
        sample that ignores it; between, the model's realism trades against faithfulness."""
        images = tf.convert_to_tensor(images, tf.float32)
        strength = tf.convert_to_tensor(strength, tf.float32)
        t = tf.cast(tf.round(strength * float(self.timesteps - 1)), tf.int32)
        n = tf.shape(images)[0]

        def edited():
            x0 = self.to_x0(images)
            eps = tf.random.stateless_normal(tf.shape(x0), seed=tf.stack([tf.cast(seed, tf.int32), 31337]))
            x_t = self.schedule.add_noise(x0, tf.fill([n], t), eps)
            return self._to_unit(self.ddim.sample(self.eps_for(()), x_t, seed, steps, start_t=t))

        return tf.cond(strength > 0, edited, lambda: images)

    def denoise(self, noisy, sigma, seed=0, steps=None):
        """noisy = image + N(0, sigma^2) in [0, 1] units -> the reverse process from the step whose
        noise level matches (sigma doubles in the model's [-1, 1] units)."""
        t = self.schedule.noise_level_to_t(2.0 * sigma)
        abar = float(self.schedule.np["alphas_cumprod"][t])
        x_t = np.sqrt(abar) * (noisy * 2.0 - 1.0)
        eps = self.eps_for(())
        return self._to_unit(self.ddim.sample(eps, tf.constant(x_t, tf.float32), seed, steps, start_t=t))

    def endpoints(self):
        def sample(num_samples, seed):
            return self.sample(num_samples, seed)

        def sample_steps(num_samples, seed, steps):
            return self.sample(num_samples, seed, steps)

        def sample_ancestral(num_samples, seed):
            return self.sample_ancestral(num_samples, seed)

        def generate(z):
            return self.generate(z)

        def inpaint(images, mask, seed):
            return self.inpaint(images, mask, seed)

        def superres(images, seed):
            return self.superres(images, seed)

        def edit(images, strength, seed):
            return self.edit(images, strength, seed)

        n_seed = [tf.TensorSpec([], tf.int32, "num_samples"), tf.TensorSpec([], tf.int32, "seed")]
        c = self.image_shape[-1]
        seed_spec = tf.TensorSpec([], tf.int32, "seed")
        return {
            "sample": (sample, n_seed),
            "sample_steps": (sample_steps, n_seed + [tf.TensorSpec([], tf.int32, "steps")]),
            "sample_ancestral": (sample_ancestral, n_seed),
            "generate": (generate, [tf.TensorSpec([None, *self.latent_shape], tf.float32, "z")]),
            # the applications: masks 1 where known; low-resolution images of any factor that
            # divides the model's size; edits at a strength in [0, 1]
            "inpaint": (inpaint, [self.image_spec(), self.image_spec("mask"), seed_spec]),
            "superres": (superres, [tf.TensorSpec([None, None, None, c], tf.float32, "images"), seed_spec]),
            "edit": (edit, [self.image_spec(), tf.TensorSpec([], tf.float32, "strength"), seed_spec]),
        }

    def figures(self, images, labels):
        out = {}
        if self.final_ancestral:
            print(f"kgen: final grid with the ancestral sampler ({self.timesteps} steps)")
            out["samples_ancestral"] = figures.grid(self.sample_ancestral(16, 0).numpy(), 4)
        x = tf.constant((images[:8] + 1.0) / 2.0, tf.float32)
        h, w = self.image_shape[:2]
        mask = tf.constant(masks.make("bottom", (8, h, w, self.image_shape[-1])))
        filled = self.inpaint(x, mask).numpy()
        out["inpainting"] = figures.grid(np.concatenate([x.numpy() * mask.numpy(), filled, x.numpy()]), 8)
        return out


def build(cfg: DDPMConfig, image_shape: tuple, seed: int) -> DDPM:
    network = unet(cfg.network, image_shape, "unet")
    ema = unet(cfg.network, image_shape, "ema_unet")
    model = DDPM(network, ema, cfg.schedule, cfg.timesteps, cfg.ema_decay, cfg.sample_steps, cfg.eta, seed,
                 cfg.final_ancestral, cfg.min_snr_gamma, cfg.sampler, name="ddpm")
    model.copy_weights_to_ema()
    return model
