"""Test set-up: two logical CPU devices (for the MirroredStrategy tests), the fixtures, and the
order of the slow tests. What the tests share otherwise is in tests/helpers/."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from helpers.recipes import tiny  # noqa: E402


@pytest.fixture
def tiny_recipe(tmp_path):
    return tiny("vae", tmp_path)


@pytest.fixture(autouse=True)
def same_start_for_each_test():
    """Every test starts from the same seeds, whatever ran before it in its worker: weights drawn
    from Keras' global seed otherwise depend on the order xdist hands out tests (a 36-step AAE's
    codes matched the prior to an MMD ratio of 0.10-0.75 over seeds 0-5). A run sets the
    process-wide dtype policy (bfloat16 under `auto` on CPUs with it): back to float32 after it."""
    import keras

    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_dtype_policy("float32")


_MIRRORED = []


@pytest.fixture
def mirrored():
    """One MirroredStrategy over the two logical CPUs for the whole session: collective-op keys
    are allocated per strategy, and two strategies in one process can collide on them."""
    if not _MIRRORED:
        _MIRRORED.append(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    return _MIRRORED[0]


def pytest_collection_modifyitems(items):
    """The long multi-process checks first, so that the two workers do not end on one of them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
