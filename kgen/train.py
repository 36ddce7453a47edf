"""The runner: data and model under a tf.distribute strategy, the training loop with callbacks,
checkpoints, figures, metrics and export.

kgen drives the replicas itself rather than through `model.fit`: Keras 3's `fit` cannot drive
`MultiWorkerMirroredStrategy` (keras-team/keras#20585), and one loop for every strategy keeps one
trainer contract. The loop calls each model's own `train_step` under `strategy.run` inside one
`tf.function` that runs a chunk of steps (up to the next log, checkpoint or epoch end), reads the
trackers once per chunk, and drives ordinary Keras callbacks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgen import config as config_lib
from kgen import data as data_lib
from kgen import figures, runs
from kgen.callbacks import NaNGuard, PeriodicKID, TensorBoardLogger
from kgen.checkpoint import Checkpointer
from kgen.config import ConfigError, Recipe
from kgen.errors import WorkerLost
from kgen.export import export, publish_latest


@dataclass
class RunResult:
    run_dir: Path
    export_dir: Path | None
    history: dict
    model: object
    steps: int = 0  # global steps reached
    stopped_by_budget: bool = False


class Loop:
    """Compiled functions that run `n` training steps, or a whole evaluation pass, across the
    strategy's replicas, and return the trackers' global means."""

    def __init__(self, model, strategy, jit_compile: bool):
        self.model, self.strategy = model, strategy

        def results():
            return {m.name: m.result() for m in model.metrics}

        def train_chunk(iterator, n):
            for _ in tf.range(n):
                strategy.run(model.train_step, args=(next(iterator),))
            return results()

        def test_step(batch):
            strategy.run(model.test_step, args=(batch,))
            return results()

        # XLA compiles the step itself; the iterator loop around it stays in TensorFlow.
        self.train_chunk = tf.function(train_chunk, reduce_retracing=True)
        self.test_step = tf.function(test_step, reduce_retracing=True)
        if jit_compile:
            model.train_step = tf.function(model.train_step, jit_compile=True)

    def reset(self):
        for m in self.model.metrics:
            m.reset_state()

    def evaluate(self, dataset) -> dict:
        self.reset()
        out = {}
        for batch in dataset:
            out = self.test_step(batch)
        return {k: float(v) for k, v in out.items()}


class Progress:
    """A Keras progress bar on a terminal (verbose=1), one line per epoch otherwise."""

    def __init__(self, verbose: int, steps: int, epochs: int):
        self.bar = verbose == 1 and sys.stdout.isatty()
        self.verbose, self.steps, self.epochs = verbose, steps, epochs
        self.progbar = None

    def epoch_begin(self, epoch: int, done: int):
        if self.bar:
            print(f"Epoch {epoch + 1}/{self.epochs}")
            self.progbar = keras.utils.Progbar(self.steps)
            if done:
                self.progbar.update(done)

    def update(self, step_in_epoch: int, logs: dict):
        if self.progbar is not None:
            self.progbar.update(step_in_epoch, [(k, float(v)) for k, v in logs.items()])

    def epoch_end(self, epoch: int, logs: dict, seconds: float):
        if self.verbose and not self.bar:
            terms = " ".join(f"{k} {float(v):.4g}" for k, v in logs.items())
            print(f"epoch {epoch + 1}/{self.epochs} {seconds:.1f}s  {terms}", flush=True)


def check_labels(bundle, num_classes: int, recipe: Recipe) -> None:
    """A conditional model trains on labelled images whose labels are its classes."""
    for split, labels in (("train", bundle.train_labels), ("test", bundle.test_labels)):
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ConfigError(
                f"{recipe.name} is class-conditional with {num_classes} classes, but the {split} labels of "
                f"{bundle.origin} run from {labels.min()} to {labels.max()} (-1: unlabelled). Use labelled data "
                f"(data.name=mnist or mnist_sample) or set model.num_classes to the number of classes")


def run(recipe: Recipe, resume_dir: Path | None = None, callbacks=(), export_model: bool = True,
        strategy=None) -> RunResult:
    if strategy is None:
        strategy, recipe = runs.start(recipe)
    else:
        recipe = runs.configure(recipe)
    chief = runs.is_chief(strategy)
    t = recipe.train
    bundle = data_lib.load(recipe.data, recipe.seed)
    image_shape = tuple(bundle.test_images.shape[1:])
    steps = data_lib.steps_per_epoch(bundle.num_train, t.batch_size, t.steps_per_epoch)
    if t.batch_size % strategy.num_replicas_in_sync:
        raise ConfigError(f"train.batch_size={t.batch_size} must divide by the {strategy.num_replicas_in_sync} "
                          "replicas (the global batch is split evenly)")
    model = runs.build_model(recipe, image_shape, strategy)
    num_classes = getattr(model, "num_classes", 0)
    if num_classes:
        check_labels(bundle, num_classes, recipe)

    # TensorFlow's convention: only the chief writes; other workers write into a scratch folder
    if chief:
        run_dir = Path(resume_dir) if resume_dir else runs.new_run_dir(recipe)
    else:
        run_dir = Path(tempfile.mkdtemp(prefix="kgen-worker-"))
    checkpoints = Checkpointer((Path(resume_dir) if resume_dir else run_dir) / "checkpoints", t.keep_checkpoints)
    step, prior_seconds = 0, 0.0
    if resume_dir:
        meta = checkpoints.restore(model)
        step, prior_seconds = meta["step"], meta.get("train_seconds", 0.0)
        print(f"kgen: resumed {resume_dir} at step {step} (epoch {step // steps + 1}, {checkpoints.latest()})")
    elif hasattr(model, "initialize_from_data"):
        # data-dependent initialisation (a flow's ActNorm) from the first training images in index
        # order: the same images on every worker, so every replica starts from the same weights
        with strategy.scope():
            model.initialize_from_data(data_lib.scale(bundle.train_images[: model.init_images], recipe.data.scale))
    info = {
        "seed": recipe.seed, "data": bundle.origin, "num_train": bundle.num_train, "steps_per_epoch": steps,
        "strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
        "parameters": runs.parameter_counts(model), "versions": runs.versions(),
    }
    if chief:
        runs.write_config(run_dir, recipe, **info)
        print(f"kgen: {recipe.name} on {bundle.origin}: {bundle.num_train} images, {steps} steps/epoch, "
              f"{strategy.num_replicas_in_sync} replica(s); run directory {run_dir}", flush=True)

    first_epoch, offset = divmod(step, steps)

    def train_batches():
        return data_lib.index_batches(bundle.num_train, t.batch_size, recipe.seed, first_epoch, t.epochs, steps, offset)

    def test_batches():
        return tf.data.Dataset.range(len(bundle.test_images)).batch(t.batch_size).map(lambda i: tf.cast(i, tf.int32))

    train_ds = data_lib.distributed_dataset(
        strategy, train_batches, data_lib.in_memory(bundle.train_images, bundle.train_labels, recipe.data.scale))
    test_ds = data_lib.distributed_dataset(
        strategy, test_batches, data_lib.in_memory(bundle.test_images, bundle.test_labels, recipe.data.scale))

    loop = Loop(model, strategy, t.jit_compile)
    guard = NaNGuard(checkpoints)
    cbs = []
    logger = None
    if chief:
        fixed_noise = model.grid_noise(t.grid_rows * t.grid_rows, recipe.seed)
        logger = TensorBoardLogger(run_dir, fixed_noise, t.grid_rows, t.log_every_steps, steps,
                                   config_lib.to_json(recipe) + "\n\n" + recipe.source)
        cbs.append(logger)
        if t.kid_every:
            if image_shape != (28, 28, 1):
                raise ConfigError(f"train.kid_every needs MNIST-shaped images (28, 28, 1), not {image_shape}")
            cbs.append(PeriodicKID(logger.train_writer, np.asarray(data_lib.scale(bundle.test_images, "unit")),
                                   t.kid_every))
    cbs += list(callbacks)
    cb = keras.callbacks.CallbackList(cbs, model=model)
    progress = Progress(t.verbose, steps, t.epochs)

    def save(at_step: int, seconds: float):
        if chief:
            checkpoints.save(model, at_step // steps, at_step, train_seconds=round(seconds, 3))

    try:
        history, step, stopped_by_budget, elapsed = _train(
            recipe, model, strategy, loop, guard, cb, progress, train_ds, test_ds, step, steps, save, prior_seconds)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError) as e:
        if not strategy.extended._in_multi_worker_mode():  # noqa: SLF001
            raise
        raise WorkerLost(
            f"a worker of this multi-worker run stopped or became unreachable ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]}). Training stopped; the last checkpoint is "
            f"{checkpoints.latest() or '(none yet)'}. Restart every worker with --resume."
        ) from None
    if stopped_by_budget:
        print(f"kgen: time budget of {t.time_budget:g} s spent after step {step} ({step / steps:.2f} epochs)")

    if not chief:
        return RunResult(run_dir, None, history, model, step, stopped_by_budget)
    runs.write_config(run_dir, recipe, **info, reached={
        "steps": step, "epochs": round(step / steps, 4), "seconds": round(elapsed, 1),
        "stopped_by_budget": stopped_by_budget})
    return finish(recipe, model, bundle, run_dir, logger, checkpoints, history, step, stopped_by_budget,
                  elapsed, export_model)


def _train(recipe, model, strategy, loop, guard, cb, progress, train_ds, test_ds, step, steps, save,
           prior_seconds=0.0):
    """The loop itself: chunks of steps, evaluation and checkpoints at epoch ends, the budget
    (which counts the training time of earlier sessions of a resumed run)."""
    t = recipe.train
    budget, total = t.time_budget, t.epochs * steps
    if t.max_steps:
        total = min(total, t.max_steps)
    history: dict = {}
    start = time.time() - prior_seconds
    stopped_by_budget = bool(budget) and prior_seconds >= budget
    iterator = iter(train_ds)
    seconds_per_step = None
    cb.on_train_begin()
    while step < total and not stopped_by_budget:
        epoch, done = divmod(step, steps)
        loop.reset()
        cb.on_epoch_begin(epoch, {"first_step": done})
        progress.epoch_begin(epoch, done)
        epoch_start = time.time()
        logs = {}
        while done < steps:
            # a chunk ends at the next log step, checkpoint step or the epoch's end
            n = t.log_every_steps - done % t.log_every_steps
            if t.checkpoint_every_steps:
                n = min(n, t.checkpoint_every_steps - step % t.checkpoint_every_steps)
            n = min(n, steps - done, total - step)
            if budget:
                n = _steps_left_in_budget(strategy, n, budget - (time.time() - start), seconds_per_step)
            chunk_start = time.time()
            logs = loop.train_chunk(iterator, tf.constant(n, tf.int64))
            step, done = step + n, done + n
            logs = {k: float(v) for k, v in logs.items()}
            # timed after reading the losses: on a GPU the call returns before the steps have run
            seconds_per_step = (time.time() - chunk_start) / n
            guard.check(logs, f"epoch {epoch + 1}, step {done}")
            cb.on_train_batch_end(done - 1, logs)
            progress.update(done, logs)
            if budget and _all_agree(strategy, time.time() - start >= budget):
                stopped_by_budget = True
            at_end = step >= total
            if done < steps and (stopped_by_budget or at_end or (
                    t.checkpoint_every_steps and step % t.checkpoint_every_steps == 0)):
                save(step, time.time() - start)
            if stopped_by_budget or at_end:
                break
        if done == steps:
            val = loop.evaluate(test_ds)
            epoch_logs = {**logs, **{f"val_{k}": v for k, v in val.items()}}
            guard.check(epoch_logs, f"the end of epoch {epoch + 1}")
            save(step, time.time() - start)
            cb.on_epoch_end(epoch, epoch_logs)
            for k, v in epoch_logs.items():
                history.setdefault(k, []).append(v)
            progress.epoch_end(epoch, epoch_logs, time.time() - epoch_start)
    cb.on_train_end()
    return history, step, stopped_by_budget, time.time() - start


def _steps_left_in_budget(strategy, n: int, seconds_left: float, seconds_per_step: float | None) -> int:
    """A budgeted run's next chunk: at most the steps that fit in what is left of the budget, so
    that the run stops at the first step past it rather than at the next log step (50 steps of a
    slow model are a minute: runs compared at one budget would differ by that much). The first
    chunk is one step, to measure the rate; every worker takes the smallest count."""
    fit = 1 if seconds_per_step is None else max(1, int(np.ceil(seconds_left / seconds_per_step)))
    return int(_across_workers(strategy, min(n, fit), "MIN", tf.int64))


def _all_agree(strategy, flag: bool) -> bool:
    """True when any worker says so: all workers must stop at the same step, or the others would
    wait forever in the next all-reduce."""
    return bool(_across_workers(strategy, float(flag), "MAX", tf.float32) > 0)


def _across_workers(strategy, value, op: str, dtype):
    """`value` reduced over the workers of a multi-worker run with `op` ("MIN" or "MAX"); in any
    other run, `value` itself. tf.distribute reduces only by SUM and MEAN, so every replica's
    value is gathered and reduced here."""
    if not strategy.extended._in_multi_worker_mode():  # noqa: SLF001 - no public equivalent
        return value
    gathered = strategy.gather(strategy.run(lambda: tf.constant([value], dtype)), axis=0).numpy()
    return {"MIN": np.min, "MAX": np.max}[op](gathered)


def finish(recipe, model, bundle, run_dir, logger, checkpoints, history, step, stopped_by_budget, elapsed,
           export_model) -> RunResult:
    """What the chief writes after training, in order: figures, test-set metrics, exports, and
    where each went."""
    images = np.asarray(data_lib.scale(bundle.test_images, recipe.data.scale))
    written = write_figures(model, images, bundle.test_labels, run_dir, logger, step)
    write_final_metrics(model, images, bundle.test_labels, run_dir, logger, step)
    written["checkpoint"] = checkpoints.latest()
    if export_model:
        written.update(write_exports(model, recipe, run_dir))
    print(f"kgen: trained to step {step} in {elapsed:.1f} s")
    print(f"  TensorBoard:       tensorboard --logdir {Path(recipe.train.logdir)}   (this run: {run_dir})")
    for name, (path, *note) in ((k, v if isinstance(v, tuple) else (v,)) for k, v in written.items()):
        print(f"  {name + ':':<19}{path}" + (f"   ({note[0]})" if note else ""))
    return RunResult(run_dir, written.get("SavedModel", (None,))[0], history, model, step, stopped_by_budget)


def write_figures(model, images, labels, run_dir: Path, logger, step: int) -> dict:
    """The model's figures and the last sample grid, as PNGs and TensorBoard images: name -> path,
    the sample grid first."""
    written = {"sample grid": run_dir / "samples.png"}
    with logger.train_writer.as_default():
        for name, picture in model.figures(images, labels).items():
            figures.save_png(run_dir / f"{name}.png", picture)
            tf.summary.image(name, picture[None], step=step)
            written[name] = run_dir / f"{name}.png"
        figures.save_png(written["sample grid"], logger.sample_grid())
    return written


def write_final_metrics(model, images, labels, run_dir: Path, logger, step: int) -> None:
    """The model's test-set numbers into metrics.json and TensorBoard (`eval/`)."""
    metrics = model.final_metrics(images, labels)
    if metrics:
        runs.merge_metrics(run_dir, metrics)
        with logger.train_writer.as_default():
            for name, value in metrics.items():
                if isinstance(value, float):
                    tf.summary.scalar(f"eval/{name}", value, step=step)
        print("kgen: test-set metrics: " + ", ".join(
            f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float)) + f"  ({run_dir / 'metrics.json'})")
    logger.train_writer.flush()


def write_exports(model, recipe, run_dir: Path) -> dict:
    """The run's own SavedModel (what kgen.evaluate RUN scores), the recipe's latest export, and
    the Keras-format model: name -> (path, how to use it)."""
    export_dir = export(model, run_dir / runs.SAVED_MODEL)
    runs.write_config(run_dir, recipe, saved_model=runs.SAVED_MODEL)
    latest = publish_latest(export_dir, Path(recipe.train.export_dir) / recipe.name)
    return {"SavedModel": (export_dir, "tf.saved_model.load(...).sample(num_samples=16, seed=0)"),
            "latest export": (latest, f"the newest run of {recipe.name}"),
            "Keras model": (save_keras(model, run_dir / runs.KERAS_FILE),
                            "keras.saving.load_model(...): to fine-tune or look inside")}


def save_keras(model, path: Path) -> Path:
    """The trained model in Keras' own format (architecture, weights, compile settings), written
    beside the target and swapped in, so a crash never leaves half a file."""
    import os

    tmp = path.with_name(path.stem + ".tmp.keras")  # Keras insists on the .keras suffix
    model.save(tmp)
    os.replace(tmp, path)
    return path

