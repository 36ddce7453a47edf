"""Masks of known pixels for inpainting and outpainting (1 known, 0 to regenerate)."""

from __future__ import annotations

import numpy as np

from kgen.errors import ConfigError

KINDS = ("bottom", "top", "left", "right", "center", "random")


def make(kind: str, shape: tuple, seed: int = 0) -> np.ndarray:
    """float32 mask of `shape` [N, H, W, C]: `bottom` regenerates the bottom half (the others the
    half or border they name; `center` the central square of half the side), `random` a seeded
    half of the 4x4 blocks of each image."""
    n, h, w, c = shape
    mask = np.ones(shape, np.float32)
    if kind == "bottom":
        mask[:, h // 2 :] = 0.0
    elif kind == "top":
        mask[:, : h // 2] = 0.0
    elif kind == "left":
        mask[:, :, : w // 2] = 0.0
    elif kind == "right":
        mask[:, :, w // 2 :] = 0.0
    elif kind == "center":
        mask[:, h // 4 : h - h // 4, w // 4 : w - w // 4] = 0.0
    elif kind == "random":
        blocks = np.random.default_rng(seed).random((n, -(-h // 4), -(-w // 4))) < 0.5
        mask[np.repeat(np.repeat(blocks, 4, 1), 4, 2)[:, :h, :w]] = 0.0
    else:
        raise ConfigError(f"--mask={kind}: not one of {', '.join(KINDS)}")
    return mask
