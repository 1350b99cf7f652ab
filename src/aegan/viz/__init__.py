"""Plotting: pure functions from arrays to matplotlib figures."""

from aegan.viz.plots import codings_map, pca_comparison, reconstructions, save, training_curves
from aegan.viz.tasks import anomaly_scores, hash_buckets

__all__ = ["anomaly_scores", "codings_map", "hash_buckets", "pca_comparison", "reconstructions",
           "save", "training_curves"]
