"""Restoring and editing images with a trained diffusion model (seed 002's uses of image
generation): inpainting and outpainting, denoising, super-resolution (ILVR) and editing (SDEdit).

    python -m kgen.restore mnist_ddpm --mode=inpaint [--mask=bottom|top|left|right|center|random|MASK.png]
                           [--input=IMAGE|FOLDER|FILE.npz]
    python -m kgen.restore mnist_ddpm --mode=denoise --sigma=0.2 [--input=...]
    python -m kgen.restore mnist_ddpm --mode=superres --factor=2|4 [--input=LOW_RES_IMAGES]
    python -m kgen.restore mnist_ddpm --mode=edit --strength=0.5 [--input=ROUGH_IMAGES]
    python -m kgen.restore logs/mnist_ddpm/<date-time> --mode=inpaint
    python -m kgen.restore faces_ddpm --mode=superres --factor=4 --samples=8

The model is a run's last checkpoint (EMA weights): the run directory given, or the latest run of
the recipe named (under --logdir). Without --input the first 8 test images are used (for denoise,
noised with --sigma first so the figure shows a known truth; for superres, averaged over
--factor x --factor blocks; for edit, with a blot: a white square of 6/28 of the side at a seeded
place, 6x6 on MNIST). `--samples=N` starts from N of the model's own samples instead (seeded by
--seed), degraded the same way: a figure that shows no image of the dataset, for data whose
images may not be published (faces). Writes a before/after grid into the run directory.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgen import args as args_lib
from kgen import data as data_lib
from kgen import figures, masks, runs
from kgen.checkpoint import Checkpointer
from kgen.config import choices, num
from kgen.errors import ConfigError, DataError


@dataclass
class Options:
    mode: str = choices("inpaint", "denoise", "superres", "edit")
    input: str = ""  # an image, a folder of images, or an .npz; default: 8 test images
    sigma: float = num(0.2, 0, 1, open_lo=True)  # denoise: the noise level, in [0, 1] pixel units
    # inpaint: the region to regenerate (outpainting with top, left, right, center), or a mask
    # image (white = known, black = regenerate) at the model's size; empty: bottom
    mask: str = ""
    factor: int | None = num(None, 2, kind=int)  # superres: the upscaling factor (2 or 4 for MNIST); none: 2
    strength: float | None = num(None, 0, 1, kind=float)  # edit: SDEdit's noise level; none: 0.5
    seed: int = num(0)
    samples: int = num(0)  # start from this many of the model's own samples, not test images (0: test images)
    logdir: str = "logs"  # where to look for the latest run of a recipe given by name


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
        return data_lib.adapt_images(x.astype(np.uint8), cfg)
    from kgen.data.images import decode_files, list_images

    files = list_images(p)[0] if p.is_dir() else [p]
    images, bad = decode_files(files, cfg)
    if bad or not len(images):
        raise DataError(f"--input: cannot decode {bad[0] if bad else p} as an image")
    return images


def find_run(target: str, logdir: str = "logs") -> Path:
    """A run directory given as itself, or the latest run of the recipe named `target`."""
    p = Path(target)
    if (p / "config.json").exists():
        return p
    import importlib

    try:
        recipe = importlib.import_module(f"kgen.recipes.{target}").RECIPE
    except ModuleNotFoundError:
        raise ConfigError(f"{target!r} is neither a run directory (with config.json) nor a recipe name") from None
    return runs.latest_run_dir(runs.resolve(recipe, {"train.logdir": logdir})[0])


def mask_for(kind: str, shape: tuple, cfg, seed: int) -> np.ndarray:
    """A named mask (kgen.masks), or a mask image: white (> 0.5) known, black regenerated."""
    if kind in masks.KINDS:
        return masks.make(kind, shape, seed)
    if not Path(kind).expanduser().is_file():
        raise ConfigError(f"--mask={kind}: neither one of {', '.join(masks.KINDS)} nor an image file")
    image = data_lib.to_unit(read_inputs(kind, cfg))[:1]
    known = (image.mean(-1, keepdims=True) > 0.5).astype(np.float32)
    return np.broadcast_to(known, shape).copy()


def blot(images: np.ndarray, seed: int, side: int | None = None) -> np.ndarray:
    """The edit mode's stated corruption: a side x side white square at a seeded place per image;
    by default 6/28 of the image's side (6x6 on MNIST, 14x14 on 64x64 faces)."""
    out = images.copy()
    rng = np.random.default_rng(seed)
    h, w = out.shape[1:3]
    side = max(1, round(6 * h / 28)) if side is None else side
    for im in out:
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        im[top : top + side, left : left + side] = 1.0
    return out


def run_restore(run_dir: Path, mode: str, input_path: str = "", sigma: float = 0.2, seed: int = 0,
                mask_kind: str = "bottom", factor: int = 2, strength: float = 0.5, samples: int = 0) -> Path:
    recipe = runs.read_recipe(run_dir)
    recipe = runs.configure(recipe)
    cfg = recipe.data
    model = runs.build_model(recipe)
    if not hasattr(model, "inpaint"):
        raise ConfigError(f"--mode={mode} needs a diffusion recipe; {recipe.name} cannot restore images")
    Checkpointer(run_dir / "checkpoints").restore(model)
    if samples:
        x = tf.clip_by_value(tf.cast(model.sample(samples, seed), tf.float32), 0.0, 1.0)
    else:
        x = tf.constant(data_lib.to_unit(read_inputs(input_path, cfg) if input_path
                                         else data_lib.load(cfg, recipe.seed).test_images[:8]))
    h, w = x.shape[1:3]
    if mode == "inpaint":
        mask = mask_for(mask_kind, tuple(x.shape), cfg, seed)
        out = model.inpaint(x, tf.constant(mask), seed).numpy()
        rows = [x.numpy() * mask, out, x.numpy()]
    elif mode == "superres":
        if h % factor or w % factor:
            raise ConfigError(f"--factor={factor}: the model's {h}x{w} images do not divide by it (try one of "
                              f"{', '.join(str(f) for f in range(2, h + 1) if h % f == 0 and w % f == 0)})")
        small = tf.image.resize(x, (h // factor, w // factor), method="area")
        out = model.superres(small, seed).numpy()
        rows = [tf.image.resize(small, (h, w), method="nearest").numpy(), out] + ([x.numpy()] if not input_path else [])
    elif mode == "edit":
        rough = x.numpy()
        if not input_path:
            rough = blot(rough, seed)
        out = model.edit(tf.constant(rough), strength, seed).numpy()
        rows = [rough, out] + ([x.numpy()] if not input_path else [])
    else:
        noisy = x.numpy()
        if not input_path:  # a known truth: noise the clean test images first
            noisy = noisy + sigma * np.random.default_rng(seed).normal(size=noisy.shape).astype(np.float32)
        out = model.denoise(noisy, sigma, seed).numpy()
        rows = [np.clip(noisy, 0, 1), out] + ([x.numpy()] if not input_path else [])
    path = run_dir / f"restore_{mode}.png"
    figures.save_png(path, figures.grid(np.concatenate(rows), len(out)))
    print(f"kgen: {mode} of {len(out)} image(s) with {run_dir}; rows: input, output"
          + ("" if input_path and mode != "inpaint" else ", original") + f"\n  {path}")
    return path


def main(argv: list[str]) -> int:
    def body(opts, targets):
        if opts.mask and opts.mode != "inpaint":
            raise ConfigError(f"--mask={opts.mask} is for --mode=inpaint, not --mode={opts.mode}")
        if opts.factor is not None and opts.mode != "superres":
            raise ConfigError(f"--factor={opts.factor} is for --mode=superres, not --mode={opts.mode}")
        if opts.strength is not None and opts.mode != "edit":
            raise ConfigError(f"--strength={opts.strength} is for --mode=edit, not --mode={opts.mode}")
        if opts.samples and opts.input:
            raise ConfigError(f"--samples={opts.samples} starts from the model's samples, --input={opts.input} from "
                              "your images: give one of them")
        run_restore(find_run(targets[0], opts.logdir), opts.mode, opts.input, opts.sigma, opts.seed, opts.mask or "bottom",
                    opts.factor or 2, 0.5 if opts.strength is None else opts.strength, opts.samples)

    return args_lib.run_main("kgen.restore", argv, Options(), __doc__, body, positional=1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
