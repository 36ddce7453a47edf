"""Generated digits as training data: seed 003's first application of image generation (data
augmentation, section "Applications of deep learning in image generation"), measured.

    python -m kgen.augment RUN_DIR|SAVED_MODEL --data-path=../shared/data/mnist.npz
        [--cas-samples=60000] [--real=1000] [--extra=1000,10000] [--seeds=0,1,2] [--steps=2000]
        [--guidance=1.0]

The model must be class-conditional (its SavedModel has `sample_class`). Every classifier is a
fresh copy of the project's MNIST classifier architecture (kgen/metrics/classifier.py), trained
for the same number of Adam steps (`--steps` of batch 128) whatever its training set, and tested
on the real MNIST test set.

- Classification Accuracy Score (Ravuri and Vinyals 2019): trained only on `--cas-samples`
  generated digits with balanced labels. A generator whose samples are right, varied and of the
  class asked for scores near the real data's accuracy; one that ignores the label scores near
  chance (0.1).
- Augmentation gain: trained on `--real` real labelled digits (a random draw per seed) against
  the same digits plus N generated ones, N in `--extra`; one pair per seed, so the gain is a
  paired difference. Generated data "helped" when the gain is positive for every seed, "hurt"
  when negative for every seed, and is inconclusive otherwise.

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
from kgen import runs
from kgen.config import choices, num
from kgen.errors import ConfigError
from kgen.metrics import classifier

Sampler = Callable[[np.ndarray, int], np.ndarray]  # (labels [N] int32, seed) -> images [N, 28, 28, 1] in [0, 1]


@dataclass
class Options:
    data_path: str = ""  # full MNIST (.npz or IDX folder), as the recipes' --data.path
    reference: str = choices("mnist", "mnist_sample")  # mnist_sample: the bundled digits (a smoke test)
    cas_samples: int = num(60_000, 10)
    real: int = num(1000, 10)
    extra: str = "1000,10000"  # numbers of generated digits added to the real ones
    seeds: str = "0,1,2"
    steps: int = num(2000, 1)  # Adam steps of batch 128 for every classifier
    guidance: float | None = num(None, 0, kind=float)  # conditional DDPM only; none: the model's default


def balanced(n: int, num_classes: int, seed: int) -> np.ndarray:
    """n labels, each class n / K times (up to one), in a seeded random order."""
    labels = (np.arange(n) % num_classes).astype(np.int32)
    return np.random.default_rng(seed).permutation(labels)


def generate(sampler: Sampler, labels: np.ndarray, seed: int, batch: int = 500) -> np.ndarray:
    return np.concatenate([sampler(labels[i : i + batch], seed * 100_003 + i // batch)
                           for i in range(0, len(labels), batch)])


def classification_accuracy_score(sampler: Sampler, test: tuple, n: int, steps: int, seed: int = 0,
                                  num_classes: int = 10, build_fn=classifier.build) -> float:
    labels = balanced(n, num_classes, seed)
    model = classifier.fit(generate(sampler, labels, seed), labels, steps, seed, build_fn=build_fn)
    return classifier.accuracy(model, *test)


def augmentation_gain(sampler: Sampler, train: tuple, test: tuple, real: int, extras: list[int], seeds: list[int],
                      steps: int, num_classes: int = 10, build_fn=classifier.build) -> dict:
    """Per seed: test accuracy on `real` real digits alone and with each number of generated ones."""
    x, y = train
    out = {"real": [], **{f"real+{n}": [] for n in extras}}
    for s in seeds:
        pick = np.random.default_rng(1_000 + s).choice(len(x), real, replace=False)
        xr, yr = x[pick], y[pick]
        out["real"].append(classifier.accuracy(classifier.fit(xr, yr, steps, s, build_fn=build_fn), *test))
        for n in extras:
            labels = balanced(n, num_classes, 2_000 + s)
            xg = generate(sampler, labels, 2_000 + s)
            model = classifier.fit(np.concatenate([xr, xg]), np.concatenate([yr, labels]), steps, s, build_fn=build_fn)
            out[f"real+{n}"].append(classifier.accuracy(model, *test))
    return out


def summarise(per_seed: dict) -> dict:
    """Mean and deviation of each setting's accuracy, and the paired gains over real data alone."""
    base = np.array(per_seed["real"])
    out = {"augment/real_accuracy": float(base.mean()), "augment/real_accuracy_std": float(base.std(ddof=1)) if len(base) > 1 else 0.0}
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
        out[f"augment/{n}_verdict"] = ("helped" if (gain > 0).all() else "hurt" if (gain < 0).all() else "inconclusive")
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


def run(path: str, opts: Options) -> dict:
    from kgen.data.mnist import load_mnist

    saved, run_dir = runs.saved_model_of(Path(path))
    sampler = saved_model_sampler(saved, opts.guidance)
    arrays, origin = load_mnist(opts.reference, opts.data_path)
    train = (arrays["x_train"][..., None] / 255.0, arrays["y_train"].astype(np.int32))
    test = (arrays["x_test"][..., None] / 255.0, arrays["y_test"].astype(np.int32))
    try:
        extras = [int(n) for n in opts.extra.split(",") if n.strip()]
        seeds = [int(s) for s in opts.seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--extra={opts.extra} --seeds={opts.seeds}: expected integers separated by commas")
    if opts.real > len(train[0]):
        raise ConfigError(f"--real={opts.real}: {origin} has only {len(train[0])} training digits")
    print(f"kgen.augment: CAS on {opts.cas_samples:,} generated digits", flush=True)
    metrics = {"cas": classification_accuracy_score(sampler, test, opts.cas_samples, opts.steps),
               "cas_samples": opts.cas_samples}
    print(f"kgen.augment: {opts.real:,} real digits alone and with {extras} generated ones, seeds {seeds}", flush=True)
    metrics.update(summarise(augmentation_gain(sampler, train, test, opts.real, extras, seeds, opts.steps)))
    metrics.update({"augment/real": opts.real, "augment/steps": opts.steps, "augment/test_set": origin})
    runs.merge_metrics(run_dir or saved, metrics)
    return metrics


def main(argv: list[str]) -> int:
    def body(opts, paths):
        print(json.dumps(run(paths[0], opts), indent=2))

    return args_lib.run_main("kgen.augment", argv, Options(), __doc__, body, positional=1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
