"""Plotting: pure functions from arrays to matplotlib figures."""

from aegan.viz.plots import codings_map, pca_comparison, reconstructions, save, training_curves

__all__ = ["codings_map", "pca_comparison", "reconstructions", "save", "training_curves"]
