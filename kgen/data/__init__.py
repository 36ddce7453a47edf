"""Data sources (MNIST from npz/IDX/TFDS, the bundled sample, image folders) and the tf.data pipeline."""

from kgen.data.pipeline import DataBundle, load, train_dataset, test_dataset

__all__ = ["DataBundle", "load", "train_dataset", "test_dataset"]
