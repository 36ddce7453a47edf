"""Measures input-pipeline and training throughput of a recipe (images/second).

    python benchmarks/throughput.py mnist_vae [--steps=60] [--jit=both] [--quick] [--data.path=...] [overrides]
    python benchmarks/make_faces.py /tmp/faces 2000   # synthetic 178x218 JPEGs for the face recipes
    python benchmarks/throughput.py celeba_gan --data.path=/tmp/faces --steps=10 --jit=off
    python benchmarks/throughput.py celeba_mlp_gan --data.path=/tmp/faces --steps=2 --jit=off --train.batch_size=4

The last is the check that the 200M-parameter generator of seed 004's Figure 7 builds and trains
at 256x256x3 on a CPU (several GB: a benchmark, not a test). A step whose losses are not finite
exits with status 1.

The pipeline is timed alone (it must be far faster than training, or training starves), then the
training step with XLA off and on. Results go to stdout as JSON lines; benchmarks/README.md keeps
the figures measured on the project's machine class.
"""

import importlib
import json
import math
import resource
import sys
import time

import tensorflow as tf

from kgen import args, data, runs, train


def time_pipeline(ds, batches):
    it = iter(ds)
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return time.perf_counter() - start


def main(argv):
    name, rest = argv[0], argv[1:]
    steps = 60
    jit_modes = (False, True)
    _, options = args.split(rest)
    steps = int(options.pop("steps", steps))
    if "jit" in options:
        jit_modes = {"off": (False,), "on": (True,), "both": (False, True)}[options.pop("jit")]
    recipe = importlib.import_module(f"kgen.recipes.{name}").RECIPE
    quick = options.pop("quick", "false") == "true"
    recipe, _ = runs.resolve(recipe, options, quick=quick)
    recipe = runs.configure(recipe)
    start = time.perf_counter()
    bundle = data.load(recipe.data, recipe.seed)
    secs = time.perf_counter() - start
    print(json.dumps({"recipe": name, "what": "load and decode", "data": bundle.origin,
                      "images_per_s": round((bundle.num_train + len(bundle.test_images)) / secs)}), flush=True)
    b = recipe.train.batch_size
    n_steps = data.steps_per_epoch(bundle.num_train, b)
    ds = data.train_dataset(bundle, recipe.data, b, recipe.seed, 0, 1000, n_steps)
    pipe_batches = 300
    secs = time_pipeline(ds, pipe_batches)
    print(json.dumps({"recipe": name, "what": "input pipeline", "batch": b,
                      "images_per_s": round(pipe_batches * b / secs)}), flush=True)
    strategy = tf.distribute.get_strategy()
    for jit in jit_modes:
        recipe.train.jit_compile = jit
        model = runs.build_model(recipe, tuple(bundle.test_images.shape[1:]))
        # the runner's own path: a distributed dataset and train.Loop's compiled chunk of steps
        it = iter(data.distributed_dataset(
            strategy, lambda: data.index_batches(bundle.num_train, b, recipe.seed, 0, 1000, n_steps),
            data.in_memory(bundle.train_images, bundle.train_labels, recipe.data.scale)))
        loop = train.Loop(model, strategy, jit)
        loop.train_chunk(it, tf.constant(5, tf.int64))  # trace, warm up
        start = time.perf_counter()
        logs = {k: float(v) for k, v in loop.train_chunk(it, tf.constant(steps, tf.int64)).items()}
        secs = time.perf_counter() - start
        print(json.dumps({"recipe": name, "what": "train step", "jit_compile": jit, "batch": b,
                          "ms_per_step": round(1000 * secs / steps, 1),
                          "images_per_s": round(steps * b / secs),
                          "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                          "threads": tf.config.threading.get_intra_op_parallelism_threads(), "logs": logs}), flush=True)
        if not all(math.isfinite(v) for v in logs.values()):
            raise SystemExit(f"{name}: losses not finite after {steps + 5} steps: {logs}")


if __name__ == "__main__":
    main(sys.argv[1:])
