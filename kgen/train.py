"""The runner: data and model under a tf.distribute strategy, fit with callbacks, figures, export."""

from __future__ import annotations

import datetime
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgen import config as config_lib
from kgen import data as data_lib
from kgen import figures, models
from kgen.callbacks import EpochCheckpoint, NaNGuard, PeriodicKID, TensorBoardLogger
from kgen.checkpoint import Checkpointer
from kgen.config import ConfigError, Recipe
from kgen.export import export


@dataclass
class RunResult:
    run_dir: Path
    export_dir: Path | None
    history: dict
    model: object


def make_strategy(name: str) -> tf.distribute.Strategy:
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"distribute={name!r} is not one of: auto, none, mirrored, multiworker")


def configure(recipe: Recipe) -> None:
    """Seeds, determinism and the dtype policy: process-wide settings, applied before building."""
    keras.utils.set_random_seed(recipe.seed)
    if recipe.deterministic:
        tf.config.experimental.enable_op_determinism()
    mp = recipe.train.mixed_precision
    keras.mixed_precision.set_dtype_policy("float32" if mp == "off" else mp)


def new_run_dir(recipe: Recipe) -> Path:
    base = Path(recipe.train.logdir) / recipe.name
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir, n = base / stamp, 1
    while run_dir.exists():
        n += 1
        run_dir = base / f"{stamp}-{n}"
    run_dir.mkdir(parents=True)
    return run_dir


def latest_run_dir(recipe: Recipe) -> Path:
    base = Path(recipe.train.logdir) / recipe.name
    runs = sorted(
        (d for d in base.glob("*") if Checkpointer(d / "checkpoints").latest()),
        key=lambda d: (d / "checkpoints" / "latest.json").stat().st_mtime if (d / "checkpoints" / "latest.json").exists() else 0,
    )
    if not runs:
        raise ConfigError(f"--resume: no run of {recipe.name} with a checkpoint under {base}")
    return runs[-1]


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("kgen", "keras", "tensorflow", "tensorflow-probability", "tensorflow-datasets", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def parameter_counts(model) -> dict:
    out = {}
    for name, net in model.networks().items():
        trainable = int(sum(np.prod(v.shape) for v in net.trainable_weights))
        total = int(sum(np.prod(v.shape) for v in net.weights))
        out[name] = {"total": total, "trainable": trainable, "non_trainable": total - trainable}
    return out


def build_model(recipe: Recipe, image_shape: tuple, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = models.build(recipe, image_shape)
        model.build_optimizers()
    return model


def summary(recipe: Recipe) -> dict:
    """Prints every network's Keras summary; returns the parameter counts."""
    configure(recipe)
    model = build_model(recipe, (recipe.data.image_size, recipe.data.image_size, recipe.data.channels))
    for net in model.networks().values():
        net.summary(expand_nested=True)
    counts = parameter_counts(model)
    print(json.dumps(counts, indent=2))
    return counts


def run(recipe: Recipe, resume_dir: Path | None = None, callbacks=(), export_model: bool = True) -> RunResult:
    configure(recipe)
    strategy = make_strategy(recipe.distribute)
    t = recipe.train
    bundle = data_lib.load(recipe.data, recipe.seed)
    image_shape = tuple(bundle.test_images.shape[1:])
    steps = data_lib.pipeline.steps_per_epoch(bundle.num_train, t.batch_size, t.steps_per_epoch)
    model = build_model(recipe, image_shape, strategy)

    run_dir = Path(resume_dir) if resume_dir else new_run_dir(recipe)
    checkpoints = Checkpointer(run_dir / "checkpoints", t.keep_checkpoints)
    initial_epoch = 0
    if resume_dir:
        meta = checkpoints.restore(model)
        initial_epoch = meta["epoch"]
        print(f"kgen: resumed {run_dir} from epoch {initial_epoch} ({checkpoints.latest()})")
    info = {
        "recipe": config_lib.to_dict(recipe),
        "seed": recipe.seed,
        "data": bundle.origin,
        "num_train": bundle.num_train,
        "steps_per_epoch": steps,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "parameters": parameter_counts(model),
        "versions": versions(),
    }
    (run_dir / "config.json").write_text(json.dumps(info, indent=2, default=str))
    print(f"kgen: {recipe.name} on {bundle.origin}: {bundle.num_train} images, {steps} steps/epoch, "
          f"{strategy.num_replicas_in_sync} replica(s); run directory {run_dir}")

    train_ds = data_lib.train_dataset(bundle, recipe.data, t.batch_size, recipe.seed, initial_epoch, t.epochs, steps)
    test_ds = data_lib.test_dataset(bundle, recipe.data, t.batch_size)
    fixed_noise = model.prior_noise(t.grid_rows * t.grid_rows, recipe.seed)
    logger = TensorBoardLogger(run_dir, fixed_noise, t.grid_rows, t.log_every_steps, steps,
                               config_lib.to_json(recipe) + "\n\n" + recipe.source)
    cbs = [NaNGuard(t.log_every_steps, checkpoints), EpochCheckpoint(checkpoints, steps), logger]
    if t.kid_every:
        if image_shape != (28, 28, 1):
            raise ConfigError(f"train.kid_every needs MNIST-shaped images (28, 28, 1), not {image_shape}")
        images01 = np.asarray(data_lib.pipeline.scale(bundle.test_images, "unit"))
        cbs.append(PeriodicKID(logger.train_writer, images01, t.kid_every))
    cbs += list(callbacks)
    start = time.time()
    history = {}
    if initial_epoch < t.epochs:
        h = model.fit(train_ds, epochs=t.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                      validation_data=test_ds, callbacks=cbs, verbose=t.verbose, shuffle=False)
        history = h.history
    elapsed = time.time() - start

    images = np.asarray(data_lib.pipeline.scale(bundle.test_images, recipe.data.scale))
    written = {}
    with logger.train_writer.as_default():
        for name, picture in model.figures(images, bundle.test_labels).items():
            figures.save_png(run_dir / f"{name}.png", picture)
            tf.summary.image(name, picture[None], step=t.epochs)
            written[name] = run_dir / f"{name}.png"
        final = logger.sample_grid()
        figures.save_png(run_dir / "samples.png", final)
    metrics = model.final_metrics(images, bundle.test_labels, getattr(recipe.model, "iwae_samples", 0),
                                  getattr(recipe.model, "eval_images", 0))
    if metrics:
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        with logger.train_writer.as_default():
            for name, value in metrics.items():
                if isinstance(value, float):
                    tf.summary.scalar(f"eval/{name}", value, step=t.epochs)
        print("kgen: test-set likelihood: " + ", ".join(
            f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float)) + f"  ({run_dir / 'metrics.json'})")
    logger.train_writer.flush()
    export_dir = export(model, Path(t.export_dir) / recipe.name) if export_model else None
    print(f"kgen: trained {t.epochs - initial_epoch} epoch(s) in {elapsed:.1f} s")
    print(f"  TensorBoard:       tensorboard --logdir {Path(t.logdir)}   (this run: {run_dir})")
    print(f"  sample grid:       {run_dir / 'samples.png'}")
    for name, p in written.items():
        print(f"  {name + ':':<19}{p}")
    print(f"  checkpoint:        {checkpoints.latest()}")
    if export_dir:
        print(f"  SavedModel:        {export_dir}   (tf.saved_model.load(...).sample(num_samples=16, seed=0))")
    return RunResult(run_dir, export_dir, history, model)
