"""Training callbacks: TensorBoard scalars and sample grids, checkpoints, divergence guard."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgen import figures
from kgen.errors import TrainingDiverged


def _float(x) -> float:
    return float(np.asarray(x))


class NaNGuard:
    """Stops at the first non-finite loss term, before a checkpoint of it is written.

    The runner checks the trackers after every chunk of steps and at each epoch end (a NaN weight
    keeps the loss NaN, so a sparse check still catches it before anything is saved), which costs
    no extra host sync.
    """

    def __init__(self, checkpoints):
        self.checkpoints = checkpoints

    def check(self, logs: dict, where: str) -> None:
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(_float(v))}
        if bad:
            last = self.checkpoints.latest()
            raise TrainingDiverged(
                f"non-finite loss {bad} at {where}. Training stopped; the last good checkpoint is "
                f"{last if last else '(none yet)'}. Try a lower --optimizer.learning_rate, "
                "--optimizer.clipnorm=1.0, or --train.mixed_precision=off."
            )


class TensorBoardLogger(keras.callbacks.Callback):
    """Writes to `run_dir/train` and `run_dir/validation`:

    - `step/<term>`: each loss term, averaged over the last `every` steps;
    - `epoch/<term>`: epoch means, train and validation under the same tag so they overlay;
    - `learning_rate/<optimizer>` for every optimizer;
    - `samples`: a grid from fixed latent noise at the end of every epoch (also saved as PNG);
    - `recipe`: the resolved recipe as text, at the start.
    """

    def __init__(self, run_dir: Path, fixed_noise, rows: int, every: int, steps_per_epoch: int, recipe_text: str):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.fixed_noise, self.rows, self.every, self.steps = fixed_noise, rows, max(1, every), steps_per_epoch
        self.recipe_text = recipe_text
        self.train_writer = tf.summary.create_file_writer(str(self.run_dir / "train"))
        self.val_writer = tf.summary.create_file_writer(str(self.run_dir / "validation"))
        self.epoch, self.last_batch, self.last_means = 0, 0, {}

    def on_train_begin(self, logs=None):
        with self.train_writer.as_default():
            tf.summary.text("recipe", "```\n" + self.recipe_text + "\n```", step=0)

    def on_epoch_begin(self, epoch, logs=None):
        # a run resumed mid-epoch begins at step `first_step` of it, with trackers that hold only
        # the steps from there
        self.first = int((logs or {}).get("first_step", 0))
        self.epoch, self.last_batch, self.last_means = epoch, self.first, {}

    def on_train_batch_end(self, batch, logs=None):
        k = batch + 1
        if k % self.every and k != self.steps:
            return
        # Trackers hold the running mean since the epoch began (or since a mid-epoch resume, at
        # step `first`); over n_k = k - first steps, n_k*m_k - n_j*m_j over k - j is the mean of
        # exactly the steps since the last write, without an extra tensor per step.
        step = self.epoch * self.steps + k
        with self.train_writer.as_default():
            for name, value in (logs or {}).items():
                m = _float(value)
                j, mj = self.last_batch, self.last_means.get(name, 0.0)
                mean = ((k - self.first) * m - (j - self.first) * mj) / (k - j)
                tf.summary.scalar(f"step/{name}", mean, step=step)
                self.last_means[name] = m
            for name, opt in self.model.optimizers().items():
                tf.summary.scalar(f"learning_rate/{name}", _float(opt.learning_rate), step=step)
        self.last_batch = k

    def on_epoch_end(self, epoch, logs=None):
        step = epoch + 1
        logs = logs or {}
        with self.train_writer.as_default():
            for name, value in logs.items():
                if not name.startswith("val_"):
                    tf.summary.scalar(f"epoch/{name}", _float(value), step=step)
            picture = self.sample_grid()
            tf.summary.image("samples", picture[None], step=step)
        with self.val_writer.as_default():
            for name, value in logs.items():
                if name.startswith("val_"):
                    tf.summary.scalar(f"epoch/{name[4:]}", _float(value), step=step)
        figures.save_png(self.run_dir / "samples" / f"epoch_{step:04d}.png", picture)
        self.train_writer.flush()
        self.val_writer.flush()

    def sample_grid(self) -> np.ndarray:
        return figures.grid(np.asarray(self.model.grid_images(self.fixed_noise)), self.rows)


class PeriodicKID(keras.callbacks.Callback):
    """KID of `num_samples` samples against the run's test images every `every` epochs, in the
    project classifier's feature space (MNIST-shaped models only), logged as `eval/kid`, so
    quality shows in TensorBoard beside the losses. Cheap settings: it is a trend, not a score."""

    def __init__(self, writer, test_images, every: int, num_samples: int = 500):
        super().__init__()
        from kgen.metrics import classifier

        self.writer, self.every, self.n = writer, every, num_samples
        self.classifier = classifier.load()
        self.reference = classifier.predict(self.classifier, test_images[:2000])[1]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from kgen.metrics import classifier, kid

        images = self.model.sample(self.n, 10_000 + epoch).numpy()
        value, se = kid(self.reference, classifier.predict(self.classifier, images)[1], subsets=20,
                        subset_size=min(500, self.n))
        with self.writer.as_default():
            tf.summary.scalar("eval/kid", value, step=epoch + 1)
            tf.summary.scalar("eval/kid_std", se, step=epoch + 1)
        if logs is not None:
            logs["kid"] = value
