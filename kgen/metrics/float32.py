"""Feature networks are built in float32 whatever the process-wide dtype policy: a training run
in the same process (the optimizer study, a notebook) sets mixed_bfloat16, and features computed
in bfloat16 move every FID and cannot be cached as float arrays."""

from __future__ import annotations

import contextlib

import keras


@contextlib.contextmanager
def policy():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
