"""Does the face metric order images as it should? Real held-out faces against degraded ones.

    python benchmarks/face_metric.py --train=../shared/data/faces/train --reference=../shared/data/faces/test \\
        --images=2000 --out=docs/results/faces/metric_validation.md

`--images` training photographs, as they are and degraded at three strengths each (Gaussian blur,
shuffled square patches, colour jitter, additive Gaussian noise), and pure uniform noise, are
measured with `kgen.evaluate`'s face metric (kgen/metrics/faces.py) against every image of
`--reference` at 128x128 (the face recipes' size). A sound metric gives the real faces the lowest
FID and KID and the highest detection rate, worsens each degradation's scores as its strength
grows, and puts pure noise last. The table says, per degradation, whether it did. No photograph
is written anywhere: only the numbers.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgen import args
from kgen.config import Data, num
from kgen.data import images as image_files
from kgen.data import to_unit
from kgen.evaluate import evaluate_faces
from kgen.metrics.faces import FaceMetric


@dataclass
class Options:
    train: str = "../shared/data/faces/train"
    reference: str = "../shared/data/faces/test"
    images: int = num(2000, 10)
    size: int = num(128, 16)
    seed: int = num(0)
    out: str = ""


def blur(x, sigma, rng):
    r = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    kernel = tf.constant(np.outer(k, k)[:, :, None, None] * np.eye(3, dtype=np.float32)[None, None])
    return tf.nn.conv2d(tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT"), kernel, 1, "VALID").numpy()


def shuffle_patches(x, grid, rng):
    """The image cut into grid x grid squares, put back in a random order (one order per image)."""
    n, s = len(x), x.shape[1] // grid
    tiles = x[:, : s * grid, : s * grid].reshape(n, grid, s, grid, s, 3).transpose(0, 1, 3, 2, 4, 5).reshape(n, grid * grid, s, s, 3)
    order = np.argsort(rng.random((n, grid * grid)), axis=1)
    tiles = np.take_along_axis(tiles, order[:, :, None, None, None], axis=1)
    out = tiles.reshape(n, grid, grid, s, s, 3).transpose(0, 1, 3, 2, 4, 5).reshape(n, s * grid, s * grid, 3)
    return tf.image.resize(out, x.shape[1:3]).numpy() if s * grid != x.shape[1] else out


def jitter(x, strength, rng):
    """Per image: hue shifted by up to strength/2 of the circle, saturation and brightness scaled
    by up to 1 +- strength."""
    n = len(x)
    hsv = tf.image.rgb_to_hsv(x).numpy()
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-strength / 2, strength / 2, (n, 1, 1))) % 1.0
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1 - strength, 1 + strength, (n, 1, 1)), 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(1 - strength, 1 + strength, (n, 1, 1)), 0, 1)
    return tf.image.hsv_to_rgb(hsv).numpy()


def noisy(x, sigma, rng):
    return np.clip(x + rng.normal(0, sigma, x.shape).astype(np.float32), 0, 1)


DEGRADATIONS = {
    "blur (sigma px)": (blur, (2.0, 4.0, 8.0)),
    "shuffled patches (grid)": (shuffle_patches, (2, 4, 8)),
    "colour jitter (strength)": (jitter, (0.2, 0.5, 1.0)),
    "additive noise (sigma)": (noisy, (0.05, 0.1, 0.2)),
}


def load(folder: str, size: int, limit: int = 0) -> np.ndarray:
    files = image_files.list_images(Path(folder))[0]
    if limit:
        files = [files[i] for i in np.random.default_rng(0).permutation(len(files))[:limit]]
    x, bad = image_files.decode_files(files, Data(name="image_folder", image_size=size, channels=3))
    if bad:
        print(f"skipped {len(bad)} unreadable: {bad[:3]}", file=sys.stderr)
    return to_unit(x)


def main(argv: list[str]) -> int:
    def body(opts, _):
        t0 = time.time()
        ref, real = load(opts.reference, opts.size), load(opts.train, opts.size, opts.images)
        metric = FaceMetric()
        rng = np.random.default_rng(opts.seed)
        rows = [("real training faces", "", evaluate_faces(real, ref, opts.reference, opts.seed, metric))]
        for name, (fn, strengths) in DEGRADATIONS.items():
            for s in strengths:
                rows.append((name, s, evaluate_faces(fn(real, s, rng), ref, opts.reference, opts.seed, metric)))
                print(f"{name} {s}: fid {rows[-1][2]['fid']:.2f}", flush=True)
        noise = rng.uniform(size=real.shape).astype(np.float32)
        rows.append(("uniform noise", "", evaluate_faces(noise, ref, opts.reference, opts.seed, metric)))
        lines = table(rows, opts, time.time() - t0)
        print("\n".join(lines))
        if opts.out:
            Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
            Path(opts.out).write_text("\n".join(lines) + "\n")

    return args.run_main("face_metric", argv, Options(), __doc__, body, positional=0)


KEYS = ("fid", "kid", "precision", "recall", "face_detection_rate", "mean_face_probability")


def table(rows, opts, seconds) -> list[str]:
    real = rows[0][2]
    lines = [
        "# The face metric on real and degraded faces",
        "",
        f"{opts.images:,} training photographs (as they are, degraded, or replaced by noise) against all "
        f"{real['reference_images']:,} held-out photographs of `{opts.reference}`, at {opts.size}x{opts.size}, in "
        f"the features of kgen's face metric ({real['features']}; kgen/metrics/faces.py). KID ± is the deviation of "
        "one subset's estimate; precision and recall on equal sets of "
        f"{real['pr_points']:,} (k = 3). These numbers are comparable only with this feature space, this reference "
        f"set and this N. Measured in {seconds / 60:.0f} minutes.",
        "",
        "    python benchmarks/face_metric.py --train=" + opts.train + " --reference=" + opts.reference
        + f" --images={opts.images} --size={opts.size} --out={opts.out}",
        "",
        "| images | strength | FID | KID ± std | precision | recall | face detection rate | mean face probability |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s, m in rows:
        lines.append(f"| {name} | {s} | {m['fid']:.2f} | {m['kid']:.4f} ± {m['kid_std']:.4f} | {m['precision']:.3f} "
                     f"| {m['recall']:.3f} | {m['face_detection_rate']:.3f} | {m['mean_face_probability']:.3f} |")
    lines += ["", "## Orderings", ""]
    i = 1
    for name, (_, strengths) in DEGRADATIONS.items():
        group = [r[2] for r in rows[i : i + len(strengths)]]
        i += len(strengths)
        fids = [real["fid"]] + [g["fid"] for g in group]
        kids = [real["kid"]] + [g["kid"] for g in group]
        ok_fid, ok_kid = all(np.diff(fids) > 0), all(np.diff(kids) > 0)
        lines.append(f"- {name}: FID {'rises' if ok_fid else 'does NOT rise'} with every step of strength "
                     f"({' < '.join(f'{v:.1f}' for v in fids)}); KID {'rises' if ok_kid else 'does NOT rise'} too.")
    noise = rows[-1][2]
    worst = max(r[2]["fid"] for r in rows[:-1])
    lines.append(f"- uniform noise: FID {noise['fid']:.1f}, {'above' if noise['fid'] > worst else 'NOT above'} every "
                 f"degraded set (the worst {worst:.1f}); detection rate {noise['face_detection_rate']:.3f}.")
    return lines


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
