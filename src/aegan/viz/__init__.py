"""Plotting: pure functions from arrays to matplotlib figures."""

from aegan.viz.plots import (activation_histograms, codings_map, denoising, pca_comparison,
                             reconstructions, save, training_curves)

__all__ = ["activation_histograms", "codings_map", "denoising", "pca_comparison",
           "reconstructions", "save", "training_curves"]
