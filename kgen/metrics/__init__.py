"""Sample-quality metrics: Frechet distance, KID, precision/recall, class coverage, and the MNIST
classifier whose features they use."""

from kgen.metrics.distances import class_coverage, frechet_distance, kid, precision_recall

__all__ = ["class_coverage", "frechet_distance", "kid", "precision_recall"]
