"""Pictures of a model: image grids, the 2-D latent scatter and manifold. uint8 [H, W, C] out."""

from __future__ import annotations

import io
import os
from pathlib import Path
from statistics import NormalDist

import numpy as np


def grid(images: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """[N, H, W, C] floats in [0, 1] -> one uint8 picture with `cols` columns, 1-pixel white gaps."""
    # a diverged pixel (a young flow's inverse can overflow) draws as black, not as whatever a
    # NaN casts to
    images = np.clip(np.nan_to_num(np.asarray(images, dtype=np.float32), nan=0.0), 0.0, 1.0)
    n, h, w, c = images.shape
    rows = -(-n // cols)
    out = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + q * (w + pad) : pad + q * (w + pad) + w] = images[k]
    return (out * 255 + 0.5).astype(np.uint8)


def manifold_latents(n: int) -> np.ndarray:
    """[n * n, 2] points at the standard normal's quantiles, so that equal areas of prior mass
    get equal room (Kingma and Welling 2014, Figure 4)."""
    q = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)]
    return np.array([[x, y] for y in reversed(q) for x in q], np.float32)


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int, kind: str = "linear") -> np.ndarray:
    """[steps, d] points from z0 to z1: straight, or along the great circle (slerp, White 2016),
    which keeps the norm typical of a Gaussian prior instead of cutting through its low-norm centre."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if kind == "linear":
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    return ((np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)).astype(np.float32)


def latent_scatter(means: np.ndarray, labels: np.ndarray, title: str = "test set, posterior means",
                   prior_means: np.ndarray | None = None, prior_scales: np.ndarray | None = None) -> np.ndarray:
    """A scatter of 2-D codes coloured by label, with the prior's components (means and 2-sigma
    ellipses) drawn over it when given; rendered to uint8 RGB."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    points = ax.scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    if prior_means is not None:
        from matplotlib.patches import Ellipse

        for mu, sd in zip(prior_means, prior_scales):
            ax.add_patch(Ellipse(mu, 4 * sd[0], 4 * sd[1], fill=False, color="black", lw=1, ls="--"))
        ax.scatter(prior_means[:, 0], prior_means[:, 1], marker="x", c="black", s=40, label="prior components")
        ax.legend(loc="upper right")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def save_png(path: str | Path, picture: np.ndarray) -> None:
    """Writes atomically, so that a reader never sees half a file."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    img = picture[..., 0] if picture.shape[-1] == 1 else picture
    Image.fromarray(img).save(tmp, format="PNG")
    os.replace(tmp, path)
