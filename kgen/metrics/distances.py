"""Metric maths as pure NumPy functions over feature arrays [N, D] (no networks here)."""

from __future__ import annotations

import numpy as np


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), the Frechet (2-Wasserstein) distance
    between N(mu1, S1) and N(mu2, S2) (Heusel et al. 2017). Tr (S1 S2)^(1/2) is computed as
    Tr (S1^(1/2) S2 S1^(1/2))^(1/2), symmetric and stable for PSD matrices."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    r1 = _sqrtm_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * cross)


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """Kernel inception distance (Binkowski et al. 2018): the unbiased MMD^2 with the polynomial
    kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets; returns (mean, standard
    deviation over the subsets), as Binkowski et al. and torch-fidelity report it. The subsets
    overlap and come from one fixed sample, so their standard error would measure only the
    Monte Carlo error of the average, about 3x smaller than the spread across independent
    sample sets; the deviation is the honest scale of a difference between two models. Subsets
    hold min(subset_size, half the smaller set) points."""
    rng = np.random.default_rng(seed)
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    # at most half of the smaller set, so that the subsets differ and their spread means something
    # (with subsets as large as the set, every subset is the whole set and the deviation is 0)
    m = max(2, min(subset_size, len(real) // 2, len(fake) // 2))
    values = np.array([mmd2(real[rng.choice(len(real), m, replace=False)], fake[rng.choice(len(fake), m, replace=False)])
                       for _ in range(subsets)])
    return float(values.mean()), float(values.std(ddof=1) if len(values) > 1 else 0.0)


def mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 of two sets with KID's kernel k(x, y) = (x.y / d + 1)^3: KID of one
    subset that is the whole of both sets (the sets may differ in size)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d, m, n = x.shape[1], len(x), len(y)
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def _pairwise(a, b):
    return np.sqrt(np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T, 0))


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the union of
    balls reaching every point's k-th nearest neighbour in its own set; precision is the fraction of
    fakes inside the real manifold, recall the fraction of reals inside the fake manifold."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)

    def radii(x):
        d = _pairwise(x, x)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    r_real, r_fake = radii(real), radii(fake)
    precision = (_pairwise(fake, real) <= r_real[None]).any(1).mean()
    recall = (_pairwise(real, fake) <= r_fake[None]).any(1).mean()
    return float(precision), float(recall)


def class_coverage(probs: np.ndarray) -> dict:
    """How evenly generated digits spread over the classes (a mode-collapse signal): the entropy of
    the predicted-class histogram over log(K) (1 = uniform, 0 = one class), the share of the most
    common class, the number of classes seen, and the mean classifier confidence."""
    probs = np.asarray(probs, np.float64)
    k = probs.shape[1]
    hist = np.bincount(probs.argmax(1), minlength=k) / len(probs)
    nz = hist[hist > 0]
    return {
        "coverage": float(max(0.0, -(nz * np.log(nz)).sum() / np.log(k))),  # max: no "-0" for one class
        "top_class_share": float(hist.max()),
        "classes_seen": int((hist > 0).sum()),
        "mean_confidence": float(probs.max(1).mean()),
    }
