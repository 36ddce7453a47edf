"""Variance schedules of the forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from kgen.errors import ConfigError


def linear_betas(T: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> np.ndarray:
    """Ho et al. 2020, section 4: beta rises linearly from 1e-4 to 0.02 over T = 1000 steps.

    For other T both ends are scaled by 1000/T (Nichol and Dhariwal 2021, their code's "linear"
    schedule), which keeps abar_T ~ 4e-5 for every T: unscaled, T = 200 ends at abar_T = 0.13, and
    sampling from N(0, I) would start off the training distribution."""
    scale = 1000.0 / T
    return np.linspace(scale * beta_1, min(scale * beta_T, 0.999), T, dtype=np.float64)


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol and Dhariwal 2021, eq. 17: abar(t) = f(t)/f(0), f(t) = cos^2((t/T + s)/(1 + s) pi/2),
    beta_t = 1 - abar(t)/abar(t-1), clipped at 0.999 to avoid the singularity at t = T."""
    steps = np.arange(T + 1, dtype=np.float64) / T
    f = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    return np.clip(1 - f[1:] / f[:-1], 0.0, max_beta)


class NoiseSchedule:
    """Tables of a DDPM forward process, indexed by t in [0, T) (t = 0 is the first noising step).

    Args:
        kind: "linear" or "cosine".
        T: number of diffusion steps.
    """

    def __init__(self, kind: str = "linear", T: int = 1000):
        if kind == "linear":
            betas = linear_betas(T)
        elif kind == "cosine":
            betas = cosine_betas(T)
        else:
            raise ConfigError(f"schedule {kind!r} is not one of: linear, cosine")
        self.kind, self.T = kind, T
        alphas = 1.0 - betas
        abar = np.cumprod(alphas)
        abar_prev = np.append(1.0, abar[:-1])
        self.np = {
            "betas": betas,
            "alphas": alphas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            # beta_tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, Ho et al. eq. 7
            "posterior_variance": betas * (1.0 - abar_prev) / (1.0 - abar),
        }
        # computed in float64, stored in float32 for the graph
        for name, table in self.np.items():
            setattr(self, name, tf.constant(table, tf.float32))

    def gather(self, table, t, ndim: int = 4):
        """table[t] shaped [B, 1, 1, 1] to broadcast over images."""
        return tf.reshape(tf.gather(table, t), [-1] + [1] * (ndim - 1))

    def add_noise(self, x0, t, eps):
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, a draw from q(x_t | x_0)."""
        abar = self.gather(self.alphas_cumprod, t, len(x0.shape))
        return tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * eps

    def predict_x0(self, x_t, t, eps):
        abar = self.gather(self.alphas_cumprod, t, len(x_t.shape))
        return (x_t - tf.sqrt(1.0 - abar) * eps) / tf.sqrt(abar)

    def noise_level_to_t(self, sigma: float) -> int:
        """The step whose q(x_t|x_0), rescaled by 1/sqrt(abar_t), adds noise of std `sigma`:
        sqrt((1 - abar_t) / abar_t) = sigma (used to denoise an image with known noise)."""
        ratio = np.sqrt((1.0 - self.np["alphas_cumprod"]) / self.np["alphas_cumprod"])
        return int(np.argmin(np.abs(ratio - sigma)))
