"""Restoring images with a trained diffusion model: inpainting and denoising, from the CLI.

    python -m kgen.recipes.mnist_ddpm --mode=inpaint [--input=IMAGE|FOLDER|FILE.npz]
    python -m kgen.recipes.mnist_ddpm --mode=denoise --sigma=0.2 [--input=...]

The model is the latest run's last checkpoint (EMA weights). Without --input the first 8 test
images are used (for denoise, noised with --sigma first so the figure shows a known truth).
Writes a before/after grid into the run directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgen import config as config_lib
from kgen import data as data_lib
from kgen import figures, train
from kgen.checkpoint import Checkpointer
from kgen.errors import ConfigError, DataError


def read_inputs(path: str, cfg) -> np.ndarray:
    """uint8 [N, H, W, C] at the recipe's size from an image, a folder of images, or an .npz."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"--input={path}: no such file or folder")
    if p.suffix == ".npz":
        with np.load(p) as f:
            key = "x_test" if "x_test" in f.files else f.files[0]
            x = f[key]
        x = x[..., None] if x.ndim == 3 else x
        return data_lib.pipeline.adapt_images(x.astype(np.uint8), cfg)
    from kgen.data.images import decode_files, list_images

    files = list_images(p)[0] if p.is_dir() else [p]
    images, bad = decode_files(files, cfg)
    if bad or not len(images):
        raise DataError(f"--input: cannot decode {bad[0] if bad else p} as an image")
    return images


def run_restore(recipe, mode: str, input_path: str = "", sigma: float = 0.2, seed: int = 0) -> Path:
    if mode not in ("inpaint", "denoise"):
        raise ConfigError(f"--mode={mode} is not one of: train, inpaint, denoise")
    run_dir = train.latest_run_dir(recipe)
    saved = json.loads((run_dir / "config.json").read_text())["recipe"]
    recipe = config_lib.apply_overrides(recipe, config_lib.flatten(saved))
    train.configure(recipe)
    cfg = recipe.data
    model = train.build_model(recipe, (cfg.image_size, cfg.image_size, cfg.channels))
    if not hasattr(model, "inpaint"):
        raise ConfigError(f"--mode={mode} needs a diffusion recipe; {recipe.name} cannot restore images")
    Checkpointer(run_dir / "checkpoints").restore(model)
    if input_path:
        x = read_inputs(input_path, cfg)
    else:
        x = data_lib.load(cfg, recipe.seed).test_images[:8]
    x = tf.constant(x / 255.0, tf.float32)
    h, w = x.shape[1:3]
    if mode == "inpaint":
        mask = np.ones(x.shape, np.float32)
        mask[:, h // 2 :] = 0.0  # the bottom half is unknown
        out = model.inpaint(x, tf.constant(mask), seed).numpy()
        rows = [x.numpy() * mask, out, x.numpy()]
    else:
        noisy = x.numpy()
        if not input_path:  # a known truth: noise the clean test images first
            noisy = noisy + sigma * np.random.default_rng(seed).normal(size=noisy.shape).astype(np.float32)
        out = model.denoise(noisy, sigma, seed).numpy()
        rows = [np.clip(noisy, 0, 1), out] + ([x.numpy()] if not input_path else [])
    path = run_dir / f"restore_{mode}.png"
    figures.save_png(path, figures.grid(np.concatenate(rows), len(out)))
    print(f"kgen: {mode} of {len(out)} image(s) with {run_dir}; rows: input, output"
          + ("" if input_path and mode == "denoise" else ", original") + f"\n  {path}")
    return path
