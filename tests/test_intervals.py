"""The intervals behind every verdict, calibrated: how often they call a difference where there is
none (the false-positive rate), and that they find one that is there."""

import numpy as np
import pytest

from kgen import evaluate
from kgen.metrics import intervals

KEYS = ("kid", "precision", "recall", "mean_value")


def sample_parts(ref, fakes, seed=0):
    return evaluate.chunked(ref, fakes, seed, {"mean_value": lambda i: fakes[i, 0].mean()})


def test_one_model_evaluated_twice_is_inconclusive_at_the_nominal_rate():
    """A "model" (a fixed distribution of 4-d features) sampled twice with different seeds and
    compared on the same reference parts, 400 times: each metric's 95% paired interval excludes 0
    in 5% of the pairs if it is calibrated. Over 400 pairs that rate has a binomial sd of
    sqrt(0.05 * 0.95 / 400) = 0.011: accepted within [0.015, 0.095], 3 to 4 sd either side."""
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(400, 4))
    false = {k: 0 for k in KEYS}
    trials = 400
    for t in range(trials):
        a = sample_parts(ref, rng.normal(size=(400, 4)) * 1.2 + 0.3)
        b = sample_parts(ref, rng.normal(size=(400, 4)) * 1.2 + 0.3)
        for k in KEYS:
            _, lo, hi = intervals.paired_interval(a[k], b[k])
            false[k] += intervals.verdict(lo, hi) != "inconclusive"
    rates = {k: v / trials for k, v in false.items()}
    assert all(0.015 <= r <= 0.095 for r in rates.values()), rates


def test_clearly_different_models_get_the_verdict_in_the_right_direction():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(400, 4))
    right = 0
    for _ in range(50):
        near = sample_parts(ref, rng.normal(size=(400, 4)) * 1.1)  # close to the reference
        far = sample_parts(ref, rng.normal(size=(400, 4)) * 1.1 + 1.0)  # shifted by 1 sd
        _, lo, hi = intervals.paired_interval(far["kid"], near["kid"])
        right += intervals.verdict(lo, hi) == "supported"  # the far model's KID is higher
        _, lo, hi = intervals.paired_interval(near["kid"], far["kid"])
        assert intervals.verdict(lo, hi) != "supported"
    assert right >= 48


def test_over_training_seeds_welch_is_calibrated_and_finds_a_real_gap():
    """3 runs per model: with no difference, the 95% interval excludes 0 about 5% of the time
    (2,000 trials: sd 0.005, accepted within [0.03, 0.07]); a gap of 3 seed-sds is found mostly."""
    rng = np.random.default_rng(2)
    false = sum(intervals.verdict(*intervals.welch_interval(rng.normal(size=3), rng.normal(size=3))[1:])
                != "inconclusive" for _ in range(2000))
    assert 0.03 <= false / 2000 <= 0.07, false / 2000
    found = sum(intervals.verdict(*intervals.welch_interval(rng.normal(size=3) + 3.0, rng.normal(size=3))[1:])
                == "supported" for _ in range(500))
    assert found / 500 > 0.5


def test_verdict_and_combine():
    assert intervals.verdict(0.1, 0.3) == "supported" and intervals.verdict(-0.3, -0.1) == "contradicted"
    assert intervals.verdict(-0.1, 0.3) == "inconclusive"
    assert intervals.verdict(-0.3, -0.1, direction=-1) == "supported"
    assert intervals.combine(["supported", "supported"]) == "supported"
    assert intervals.combine(["supported", "inconclusive"]) == "inconclusive"
    assert intervals.combine(["supported", "contradicted"]) == "contradicted"
    with pytest.raises(ValueError):
        intervals.welch_interval([1.0], [1.0, 2.0])


def test_parts_are_disjoint_equal_and_pair_across_runs():
    parts = intervals.chunks_of(1000, 90, seed=3)
    flat = np.concatenate(parts)
    assert len(parts) == intervals.CHUNKS and all(len(p) == 90 for p in parts) and len(set(flat)) == 900
    # the reference parts depend only on the reference size and the seed
    assert all(np.array_equal(a, b) for a, b in zip(parts, intervals.chunks_of(1000, 90, seed=3)))
