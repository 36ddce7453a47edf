"""Generated digits as training data: seed 003's first application of image generation (data
augmentation, section "Applications of deep learning in image generation"), measured.

    python -m kgen.augment RUN_DIR --data-path=../shared/data/mnist.npz
        [--cas-samples=60000] [--real=none] [--extra=1000,10000] [--seeds=0,1,2,3,4] [--steps=2000]
        [--guidance=1.0]

The model must be class-conditional (its SavedModel has `sample_class`). Every classifier is a
fresh copy of the project's MNIST classifier architecture (kgen/metrics/classifier.py), trained
for `--steps` Adam steps, and tested on the real MNIST test set.

The question a user asks: *I have only 1,000 labelled digits; does a generator trained on them
give me a better classifier?* Two experiments, named by what the generator saw:

- **small data**: the run trained on a labelled subset (`--data.limit=N`: the first N digits of
  MNIST's training set). The real digits of every arm are exactly that subset, so no label
  reaches the classifier that the generator did not see. `--real` must be empty or N.
- **distilling the full set**: the run trained on all 60,000 digits; `--real` (default 1,000)
  random digits per seed stand in for a small set, and the generated digits carry what the
  generator learned from the other 59,000. A different question, labelled so.

Every arm sees the real digits equally often: each step is a batch of 128 real digits, and the
augmented arms add a batch of 128 generated ones (N in `--extra` generated digits, fixed ratio
1:1 per step). The gain is the paired difference of test accuracy (same seed: same real order,
same initialisation) over `--seeds` (5 or more for a verdict), with a 95% Student t interval:
"helped" when it lies above zero, "hurt" below, otherwise inconclusive.

- Classification Accuracy Score (Ravuri and Vinyals 2019): trained only on `--cas-samples`
  generated digits with balanced labels, per seed (mean and sd), beside the same classifier
  trained on as many real digits for the same steps.

Results go to stdout as JSON and into the run's metrics.json under `cas` and `augment/...`;
`python -m kgen.report RUN_DIR` states the verdict.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kgen import args as args_lib
from kgen import runs, sampling
from kgen.config import choices, num
from kgen.errors import ConfigError
from kgen.metrics import classifier

Sampler = Callable[[np.ndarray, int], np.ndarray]  # (labels [N] int32, seed) -> images [N, 28, 28, 1] in [0, 1]


@dataclass
class Options:
    data_path: str = ""  # full MNIST (.npz or IDX folder), as the recipes' --data.path
    reference: str = choices("mnist", "mnist_sample")  # mnist_sample: the bundled digits (a smoke test)
    cas_samples: int = num(60_000, 10)
    # real digits per arm; none: the generator's own training subset (small data), or 1,000
    # random ones when it trained on the full set (distilling)
    real: int | None = num(None, 10, kind=int)
    extra: str = "1000,10000"  # numbers of generated digits added to the real ones
    seeds: str = "0,1,2,3,4"
    steps: int = num(2000, 1)  # Adam steps of batch 128 for every classifier
    guidance: float | None = num(None, 0, kind=float)  # conditional DDPM only; none: the model's default


def balanced(n: int, num_classes: int, seed: int) -> np.ndarray:
    """n labels, each class n / K times (up to one), in a seeded random order."""
    labels = (np.arange(n) % num_classes).astype(np.int32)
    return np.random.default_rng(seed).permutation(labels)


def generate(sampler: Sampler, labels: np.ndarray, seed: int, batch: int = 500) -> np.ndarray:
    return sampling.in_batches(lambda a, b, s: sampler(labels[a:b], s), len(labels), seed, batch, "digits")


def classification_accuracy_score(sampler: Sampler, test: tuple, n: int, steps: int, seed: int = 0,
                                  num_classes: int = 10, build_fn=classifier.build) -> float:
    labels = balanced(n, num_classes, seed)
    model = classifier.fit(generate(sampler, labels, seed), labels, steps, seed, build_fn=build_fn)
    return classifier.accuracy(model, *test)


def augmentation_gain(sampler: Sampler, real: tuple, test: tuple, extras: list[int], seeds: list[int],
                      steps: int, num_classes: int = 10, build_fn=classifier.build, pick=None) -> dict:
    """Per seed: test accuracy on the `real` digits alone and with each number of generated ones,
    each step a batch of real digits (plus, in the augmented arms, a batch of generated ones).
    `pick(seed)`, if given, chooses each seed's real digits out of `real` (the distilling
    experiment); otherwise every seed uses all of them (the generator's own subset)."""
    x, y = real
    out = {"real": [], **{f"real+{n}": [] for n in extras}}
    for s in seeds:
        idx = pick(s) if pick is not None else np.arange(len(x))
        xr, yr = x[idx], y[idx]
        out["real"].append(classifier.accuracy(classifier.fit(xr, yr, steps, s, build_fn=build_fn), *test))
        for n in extras:
            labels = balanced(n, num_classes, 2_000 + s)
            xg = generate(sampler, labels, 2_000 + s)
            model = classifier.fit(xr, yr, steps, s, build_fn=build_fn, extra=(xg, labels))
            out[f"real+{n}"].append(classifier.accuracy(model, *test))
    return out


def summarise(per_seed: dict) -> dict:
    """Mean and deviation of each arm's accuracy, and the paired gains over real data alone with
    their 95% interval and verdict (kgen.metrics.intervals)."""
    from kgen.metrics import intervals

    base = np.array(per_seed["real"])
    out = {"augment/real_accuracy": float(base.mean()),
           "augment/real_accuracy_std": float(base.std(ddof=1)) if len(base) > 1 else 0.0}
    for key, values in per_seed.items():
        if key == "real":
            continue
        v = np.array(values)
        gain = v - base
        n = key.split("+")[1]
        out[f"augment/{n}_accuracy"] = float(v.mean())
        out[f"augment/{n}_accuracy_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out[f"augment/{n}_gain"] = float(gain.mean())
        out[f"augment/{n}_gain_std"] = float(gain.std(ddof=1)) if len(gain) > 1 else 0.0
        if len(gain) > 1:
            _, lo, hi = intervals.paired_interval(v, base)
            out[f"augment/{n}_gain_interval"] = [lo, hi]
            out[f"augment/{n}_verdict"] = {"supported": "helped", "contradicted": "hurt"}.get(
                intervals.verdict(lo, hi), "inconclusive")
        else:
            out[f"augment/{n}_verdict"] = "inconclusive"
    out["augment/seeds"] = len(base)
    return out


def saved_model_sampler(saved: Path, guidance: float | None) -> Sampler:
    import tensorflow as tf

    model = tf.saved_model.load(str(saved))
    if not hasattr(model, "sample_class"):
        raise ConfigError(f"{saved} has no sample_class endpoint: augmentation needs a class-conditional model "
                          "(mnist_cgan, mnist_cvae, mnist_cddpm)")
    guided = hasattr(model, "default_guidance")
    if guidance is not None and not guided:
        raise ConfigError("--guidance: only the conditional DDPM takes a guidance weight")
    w = (float(model.default_guidance().numpy()) if guidance is None else guidance) if guided else None

    def sampler(labels, seed):
        kwargs = {"labels": tf.constant(labels, tf.int32), "seed": tf.constant(seed, tf.int32)}
        if w is not None:
            kwargs["guidance"] = tf.constant(w, tf.float32)
        return model.sample_class(**kwargs).numpy()

    return sampler


def experiment(run_dir: Path | None, real: int | None, available: int) -> tuple[str, int]:
    """(experiment, number of real digits): small data when the generator trained on a labelled
    subset (its data.limit), distilling the full set otherwise."""
    limit = 0
    if run_dir is not None:
        data = runs.read_config(run_dir)["recipe"]["data"]
        limit = int(data.get("limit") or 0) if data.get("name") in ("mnist", "mnist_sample") else 0
    if limit and limit < available:
        if real not in (None, limit):
            raise ConfigError(f"--real={real}: the generator trained on the first {limit:,} digits, which are the "
                              "real digits of every arm (small data); leave --real empty")
        return "small data", limit
    n = 1000 if real is None else real
    if n > available:
        raise ConfigError(f"--real={n}: the reference has only {available:,} training digits")
    return "distilling the full set", n


def run(path: str, opts: Options) -> dict:
    from kgen.data.mnist import load_mnist
    from kgen.data.pipeline import to_unit

    saved, run_dir = runs.saved_model_of(Path(path))
    sampler = saved_model_sampler(saved, opts.guidance)
    arrays, origin = load_mnist(opts.reference, opts.data_path)
    train = (to_unit(arrays["x_train"][..., None]), arrays["y_train"].astype(np.int32))
    test = (to_unit(arrays["x_test"][..., None]), arrays["y_test"].astype(np.int32))
    try:
        extras = [int(n) for n in opts.extra.split(",") if n.strip()]
        seeds = [int(s) for s in opts.seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--extra={opts.extra} --seeds={opts.seeds}: expected integers separated by commas")
    kind, n_real = experiment(run_dir, opts.real, len(train[0]))
    print(f"kgen.augment: CAS on {opts.cas_samples:,} generated digits, seeds {seeds}", flush=True)
    cas = [classification_accuracy_score(sampler, test, opts.cas_samples, opts.steps, seed=s) for s in seeds]
    real_cas = []
    for s in seeds:  # the same classifier on as many real digits, for the same steps
        idx = np.random.default_rng(3_000 + s).choice(len(train[0]), min(opts.cas_samples, len(train[0])),
                                                      replace=False)
        real_cas.append(classifier.accuracy(classifier.fit(train[0][idx], train[1][idx], opts.steps, s), *test))
    metrics = {"cas": float(np.mean(cas)), "cas_std": float(np.std(cas, ddof=1)) if len(cas) > 1 else 0.0,
               "cas_samples": opts.cas_samples, "cas_real_baseline": float(np.mean(real_cas))}
    print(f"kgen.augment: {kind}: {n_real:,} real digits alone and with {extras} generated ones, seeds {seeds}",
          flush=True)
    if kind == "small data":
        real, pick = (train[0][:n_real], train[1][:n_real]), None
    else:
        real = train

        def pick(s):
            return np.random.default_rng(1_000 + s).choice(len(train[0]), n_real, replace=False)

    metrics.update(summarise(augmentation_gain(sampler, real, test, extras, seeds, opts.steps, pick=pick)))
    metrics.update({"augment/experiment": kind, "augment/real": n_real, "augment/steps": opts.steps,
                    "augment/test_set": origin, "augment/ratio": "1:1 per step (128 real + 128 generated)"})
    runs.merge_metrics(run_dir or saved, metrics)
    return metrics


def main(argv: list[str]) -> int:
    def body(opts, paths):
        print(json.dumps(run(paths[0], opts), indent=2))

    return args_lib.run_main("kgen.augment", argv, Options(), __doc__, body, positional=1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
