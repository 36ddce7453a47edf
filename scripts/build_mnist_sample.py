"""Builds the bundled MNIST sample shipped inside kgen (kgen/data/bundled/mnist_sample.npz).

The sample is the first 5,000 training and the first 1,000 test digits of MNIST
(Y. LeCun and C. Cortes, CC BY-SA 3.0), uint8, compressed. It exists so that `--quick` runs and
the tests work on a fresh clone with no network.

    python scripts/build_mnist_sample.py ../shared/data/mnist.npz
"""
import hashlib
import sys
from pathlib import Path

import numpy as np

N_TRAIN, N_TEST = 5000, 1000


def main(src: str) -> None:
    with np.load(src) as f:
        arrays = {
            "x_train": f["x_train"][:N_TRAIN],
            "y_train": f["y_train"][:N_TRAIN],
            "x_test": f["x_test"][:N_TEST],
            "y_test": f["y_test"][:N_TEST],
        }
    out = Path(__file__).resolve().parents[1] / "kgen" / "data" / "bundled" / "mnist_sample.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size} bytes), sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mnist.npz")
