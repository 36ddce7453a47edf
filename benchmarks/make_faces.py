"""Writes N synthetic 178x218 JPEGs (CelebA's aligned size) for timing the face pipeline.

    python benchmarks/make_faces.py /tmp/faces 2000
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image


def main(folder: str, n: int) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)
    for i in range(n):
        img = np.roll(base, i, axis=1) // 2 + rng.integers(0, 128, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(img).save(out / f"{i:06d}.jpg", quality=90)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
