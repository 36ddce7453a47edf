"""kgen: image-generation models (VAE, DCGAN, DDPM, AAE, AVB) on Keras 3 with TensorFlow."""

import os as _os

_backend = _os.environ.get("KERAS_BACKEND", "tensorflow")
if _backend != "tensorflow":
    raise ImportError(
        f"kgen needs Keras 3 with the TensorFlow backend, but KERAS_BACKEND={_backend!r}. "
        "Unset KERAS_BACKEND or set KERAS_BACKEND=tensorflow before importing kgen."
    )
_os.environ["KERAS_BACKEND"] = "tensorflow"
# TensorFlow's C++ start-up chatter (CUDA probes on CPU machines) hides kgen's own messages.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
