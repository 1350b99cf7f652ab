"""Plotting: pure functions from arrays to matplotlib figures."""

from aegan.viz.grids import grid_shape, image_grid, save_image, translation_grid
from aegan.viz.plots import (IMAGE_SUFFIXES, activation_histograms, codings_map, denoising,
                             pca_comparison, reconstructions, save, training_curves)
from aegan.viz.tasks import anomaly_scores, hash_buckets

__all__ = ["IMAGE_SUFFIXES", "activation_histograms", "anomaly_scores", "codings_map",
           "denoising", "grid_shape", "hash_buckets", "image_grid", "pca_comparison",
           "reconstructions", "save", "save_image", "training_curves", "translation_grid"]
