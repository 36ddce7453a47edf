"""Sampling speed and quality of a trained DDPM's SavedModel: DDIM (`sample`, the recipe's steps,
50 by default) against the full T-step ancestral sampler (`sample_ancestral`).

    python benchmarks/sampling.py RUN_DIR [--batch=64] [--repeats=3] [--fid-samples=10000]
                                          [--data-path=../shared/data/mnist.npz]

Speed: each endpoint is called once to warm up (tracing is not timed), then `--repeats` times on a
batch of `--batch`; images/s is reported as median and range. Quality: `--fid-samples` images from
each endpoint through `kgen.evaluate` (the project's classifier features, against the MNIST test
set), so the held-out FID of DDIM can be set against the ancestral sampler's on the same model.
Run it on a quiet machine. JSON lines on stdout.
"""

import json
import statistics
import sys
import time
from pathlib import Path

import tensorflow as tf

from kgen import args, evaluate


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
    batch = int(options.pop("batch", 64))
    repeats = int(options.pop("repeats", 3))
    fid_samples = int(options.pop("fid_samples", 10_000))
    data_path = options.pop("data_path", "")
    if len(paths) != 1 or options:
        print(__doc__, file=sys.stderr)
        return 2
    saved, run_dir = evaluate.find_model(Path(paths[0]))
    model = tf.saved_model.load(str(saved))
    for endpoint in ("sample", "sample_ancestral"):
        rates = time_endpoint(getattr(model, endpoint), batch, repeats)
        print(json.dumps({"endpoint": endpoint, "batch": batch, "images_per_s_median": round(statistics.median(rates), 2),
                          "images_per_s_min": round(min(rates), 2), "images_per_s_max": round(max(rates), 2)}),
              flush=True)
    if fid_samples:
        for endpoint in ("sample", "sample_ancestral"):
            m = evaluate.evaluate(paths[0], fid_samples, "mnist", data_path, 0, endpoint=endpoint)
            prefix = "" if endpoint == "sample" else f"{endpoint}/"
            print(json.dumps({"endpoint": endpoint, "num_samples": fid_samples,
                              **{k: m[prefix + k] for k in ("fid", "kid", "kid_std", "coverage", "mean_confidence")}}),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
