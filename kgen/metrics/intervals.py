"""Confidence intervals of a difference between two models, and the verdicts they give.

Two sources of noise stand between a metric and a claim about models:

- **Sample noise** (one run each): `kgen.evaluate` splits the samples and the reference into
  `CHUNKS` disjoint, equal parts with a seeded permutation and records each metric on every
  part (`chunks` in metrics.json). Two runs evaluated with the same reference and seed share the
  reference parts, so d_k = M(A_k, R_k) - M(B_k, R_k) are K independent paired differences, and
  a Student t interval over them covers the true difference at chunk size with the nominal rate
  (tests/test_intervals.py measures the false-positive rate on samples of one distribution).
- **Training noise** (several runs each, one per training seed): Welch's t interval over the
  runs' full-sample values. A claim about models ("the GAN beats the VAE") is about training
  runs, so this is the interval a claim's verdict uses whenever several seeds exist.

A verdict is `supported` when the 95% interval excludes zero in the claim's direction,
`contradicted` when it excludes zero the other way, and `inconclusive` otherwise: if the models
do not differ, either of the first two is given 5% of the time (2.5% each).
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.95
CHUNKS = 10


def chunks_of(n: int, chunk_size: int, seed: int, chunks: int = CHUNKS) -> list[np.ndarray]:
    """`chunks` disjoint index sets of `chunk_size` drawn from range(n) by a seeded permutation."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[k * chunk_size : (k + 1) * chunk_size] for k in range(chunks)]


def _t_quantile(df: float, level: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, df))


def paired_interval(a, b, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean of a - b, lower, upper): Student t over paired differences (K - 1 degrees of freedom)."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if len(d) < 2:
        raise ValueError("a paired interval needs at least 2 pairs")
    half = _t_quantile(len(d) - 1, level) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def welch_interval(a, b, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean(a) - mean(b), lower, upper): Welch's t interval for two independent groups (the
    runs of two models, one value per training seed; at least 2 runs each)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's interval needs at least 2 values in each group")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    diff = float(a.mean() - b.mean())
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t_quantile(df, level) * se
    return diff, float(diff - half), float(diff + half)


def verdict(lower: float, upper: float, direction: int = 1) -> str:
    """`direction` +1: the claim says the difference is positive; -1: negative."""
    lo, hi = (lower, upper) if direction > 0 else (-upper, -lower)
    return "supported" if lo > 0 else "contradicted" if hi < 0 else "inconclusive"


def combine(verdicts: list[str]) -> str:
    """A claim made of several comparisons (A < B < C; or two measures that must agree): supported
    when every part is, contradicted when any part is, else inconclusive."""
    if verdicts and all(v == "supported" for v in verdicts):
        return "supported"
    return "contradicted" if "contradicted" in verdicts else "inconclusive"
