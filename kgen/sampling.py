"""Drawing many samples in batches, each batch with a seed of its own: the one loop behind
kgen.evaluate's and kgen.augment's draws."""

from __future__ import annotations

import sys

import numpy as np


def batch_seed(seed: int, i: int) -> int:
    """The seed of batch i of a draw seeded `seed`: distinct batches, the same draw every time."""
    return seed * 100_003 + i


def in_batches(draw, n: int, seed: int, batch: int = 500, what: str = "samples") -> np.ndarray:
    """`draw(start, stop, batch_seed)` -> images for indices [start, stop); concatenated over
    batches of `batch`. A long draw (a DDPM's thousands of network passes) shows where it is."""
    out = []
    for i, start in enumerate(range(0, n, batch)):
        stop = min(n, start + batch)
        out.append(np.asarray(draw(start, stop, batch_seed(seed, i))))
        if n > batch:
            print(f"kgen: {stop:,} of {n:,} {what} drawn", file=sys.stderr, flush=True)
    return np.concatenate(out)
