"""Data sources (MNIST from npz/IDX/TFDS, the bundled sample, image folders) and the tf.data pipeline."""

from kgen.data.bundle import DataBundle, adapt_images, load
from kgen.data.pipeline import (distributed_dataset, in_memory, index_batches, scale, steps_per_epoch, test_dataset,
                                to_unit, train_dataset)

__all__ = ["DataBundle", "adapt_images", "distributed_dataset", "in_memory", "index_batches", "load", "scale", "steps_per_epoch", "test_dataset", "to_unit",
           "train_dataset"]
