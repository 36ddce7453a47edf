"""Sampling speed and quality of a trained DDPM's SavedModel: its few-step sampler (DDIM with the
recipe's eta, or DPM-Solver++(2M): `model.sampler`) at each of `--steps` (`sample_steps`) against
the full T-step ancestral sampler (`sample_ancestral`, `--ancestral=false` skips it).

    python benchmarks/sampling.py RUN_DIR|SAVED_MODEL [--steps=50 or 10,50] [--batch=64] [--repeats=3]
                                  [--ancestral=true] [--fid-samples=10000] [--data-path=../shared/data/mnist.npz]

Speed: each endpoint is called once to warm up (its first call traces), then `--repeats` times on
a batch of `--batch`; images/s is reported as median and range (`--repeats=0` skips the timing).
Run the timing on a quiet machine. Quality: `--fid-samples` images from each endpoint, drawn in
batches of 500, through the project's classifier features against the MNIST test set
(`kgen.evaluate.evaluate_images`), so DDIM's held-out FID can be set against the ancestral
sampler's on the same model (`--fid-samples=0` skips it). JSON lines on stdout.
"""

import functools
import json
import statistics
import sys
import time
from pathlib import Path

import tensorflow as tf

from kgen import args, evaluate, runs


def time_endpoint(fn, batch: int, repeats: int) -> list[float]:
    fn(num_samples=tf.constant(batch), seed=tf.constant(0)).numpy()
    rates = []
    for r in range(repeats):
        start = time.perf_counter()
        fn(num_samples=tf.constant(batch), seed=tf.constant(r + 1)).numpy()
        rates.append(batch / (time.perf_counter() - start))
    return rates


def main(argv):
    paths, options = args.split(argv)
    steps = [int(s) for s in str(options.pop("steps", 50)).split(",")]
    ancestral = str(options.pop("ancestral", "true")).lower() not in ("false", "0", "no")
    batch = int(options.pop("batch", 64))
    repeats = int(options.pop("repeats", 3))
    fid_samples = int(options.pop("fid_samples", 10_000))
    data_path = options.pop("data_path", "")
    if len(paths) != 1 or options:
        print(__doc__, file=sys.stderr)
        return 2
    saved, run_dir = runs.saved_model_of(Path(paths[0]))
    model = tf.saved_model.load(str(saved))
    sampler = runs.read_config(run_dir)["recipe"]["model"].get("sampler", "ddim") if run_dir else "few-step"
    endpoints = {f"{sampler}_{n}": functools.partial(model.sample_steps, steps=tf.constant(n)) for n in steps}
    if ancestral:
        endpoints["ancestral"] = model.sample_ancestral
    for name, fn in endpoints.items() if repeats else ():
        rates = time_endpoint(fn, batch, repeats)
        print(json.dumps({"sampler": name, "batch": batch, "images_per_s_median": round(statistics.median(rates), 3),
                          "images_per_s_min": round(min(rates), 3), "images_per_s_max": round(max(rates), 3),
                          "repeats": repeats}), flush=True)
    for name, fn in endpoints.items() if fid_samples else ():
        m = evaluate.evaluate_images(evaluate.draw_from(fn, fid_samples, 0), "mnist", data_path)
        print(json.dumps({"sampler": name, "num_samples": fid_samples,
                          **{k: m[k] for k in ("fid", "kid", "kid_std", "coverage", "mean_confidence")}}),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
