"""SavedModel export: endpoints callable from plain TensorFlow, no kgen or keras import needed.

    m = tf.saved_model.load("saved_models/mnist_vae")
    images = m.sample(num_samples=tf.constant(16), seed=tf.constant(0))  # float32 [16, H, W, C]

Every model exports `sample(num_samples, seed)` (images in [0, 1], stateless random ops, so the
same seed gives the same images) and `generate(z)`; VAEs add `encode(images)` -> (mean,
log_variance) and `decode(z)`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from kgen.models.base import Alternatives


def export(model, path: str | Path) -> Path:
    path = Path(path)
    archive = keras.export.ExportArchive()
    # No `archive.track(model)`: add_endpoint already keeps every variable an endpoint reads, and
    # tracking the whole model would also save what sampling never uses (a DDPM's training U-Net,
    # the optimizer's slots) and walk every object of the model looking for lookup tables, which
    # no kgen model has. With no gradient functions either, a DDPM exports in half the time.
    for name, (fn, signature) in model.endpoints().items():
        if isinstance(signature, Alternatives):
            traced = tf.function(fn, autograph=False)
            concrete = [traced.get_concrete_function(*s) for s in signature]
            archive.add_endpoint(name, traced)
            # a pre-traced endpoint keeps no variables by itself: keep the ones its traces read
            archive.add_variable_collection(f"{name}_variables",
                                            list({id(v): v for c in concrete for v in c.variables}.values()))
        else:
            archive.add_endpoint(name, fn, input_signature=signature)
    # Write beside the target, then swap, so a failed export never leaves half a model behind.
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the endpoints are inference only: no gradient functions to trace and store
    archive.write_out(str(tmp), options=tf.saved_model.SaveOptions(experimental_custom_gradients=False),
                      verbose=False)
    return swap_in(tmp, path)


def swap_in(tmp: Path, path: Path) -> Path:
    """The folder `tmp` takes the place of `path` (the old one moved aside, then removed)."""
    old = path.with_name(path.name + ".old")
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def publish_latest(saved: Path, latest: Path) -> Path:
    """`latest` (saved_models/<recipe>) becomes a copy of a run's export, hard-linked where the
    file system allows (an export's files are never rewritten in place, so the links are safe),
    swapped in whole so that a reader never sees half of one."""
    latest = Path(latest)
    latest.parent.mkdir(parents=True, exist_ok=True)
    tmp = latest.with_name(latest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(saved, tmp, copy_function=link)
    return swap_in(tmp, latest)
