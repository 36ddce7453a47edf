"""Measures input-pipeline and training throughput of a recipe (images/second).

    python benchmarks/throughput.py mnist_vae [--steps=60] [--jit=both] [--data.path=...] [overrides]
    python benchmarks/make_faces.py /tmp/faces 2000   # synthetic 178x218 JPEGs for the face recipes
    python benchmarks/throughput.py celeba_gan --data.path=/tmp/faces --steps=10 --jit=off

The pipeline is timed alone (it must be far faster than training, or training starves), then the
training step with XLA off and on. Results go to stdout as JSON lines; benchmarks/README.md keeps
the figures measured on the project's machine class.
"""

import importlib
import json
import sys
import time

import tensorflow as tf

from kgen import cli, data, train


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
    overrides = []
    for a in rest:
        if a.startswith("--steps="):
            steps = int(a.split("=")[1])
        elif a.startswith("--jit="):
            jit_modes = {"off": (False,), "on": (True,), "both": (False, True)}[a.split("=")[1]]
        else:
            overrides.append(a)
    recipe = importlib.import_module(f"kgen.recipes.{name}").RECIPE
    recipe, _, _ = cli.resolve(recipe, overrides)
    train.configure(recipe)
    start = time.perf_counter()
    bundle = data.load(recipe.data, recipe.seed)
    secs = time.perf_counter() - start
    print(json.dumps({"recipe": name, "what": "load and decode", "data": bundle.origin,
                      "images_per_s": round((bundle.num_train + len(bundle.test_images)) / secs)}), flush=True)
    b = recipe.train.batch_size
    n_steps = data.pipeline.steps_per_epoch(bundle.num_train, b)
    ds = data.train_dataset(bundle, recipe.data, b, recipe.seed, 0, 1000, n_steps)
    pipe_batches = 300
    secs = time_pipeline(ds, pipe_batches)
    print(json.dumps({"recipe": name, "what": "input pipeline", "batch": b,
                      "images_per_s": round(pipe_batches * b / secs)}), flush=True)
    for jit in jit_modes:
        recipe.train.jit_compile = jit
        model = train.build_model(recipe, tuple(bundle.test_images.shape[1:]))
        warm = 5
        model.fit(ds, steps_per_epoch=warm, epochs=1, verbose=0)  # trace and compile
        start = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        secs = time.perf_counter() - start
        print(json.dumps({"recipe": name, "what": "train step", "jit_compile": jit, "batch": b,
                          "ms_per_step": round(1000 * secs / steps, 1),
                          "images_per_s": round(steps * b / secs),
                          "threads": tf.config.threading.get_intra_op_parallelism_threads()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
