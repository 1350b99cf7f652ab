"""Figures for the uses of an autoencoder (Géron, 2nd ed., chapter 17): anomaly scores against
their threshold, and the buckets of semantic hashing. Pure functions: arrays in, ``Figure`` out.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from aegan.viz.plots import _image, plt


def anomaly_scores(scores: np.ndarray, threshold: float, is_anomaly: np.ndarray | None = None,
                   images: np.ndarray | None = None,
                   image_scores: np.ndarray | None = None) -> Figure:
    """Histograms of ``scores`` ``[N]`` (normal and anomalous apart when ``is_anomaly`` ``[N]``
    is known) with the threshold; below, ``images`` ``[K, C, H, W]`` in [0, 1], most anomalous
    first, titled with their scores ``[K]``."""
    n_img = 0 if images is None else len(images)
    fig = plt.figure(figsize=(max(8.0, 1.1 * n_img), 4.8 if n_img else 3.4))
    rows = 2 if n_img else 1
    grid = fig.add_gridspec(rows, max(n_img, 1), height_ratios=[3, 1.3][:rows])
    ax = fig.add_subplot(grid[0, :])
    bins = np.histogram_bin_edges(np.log10(scores + 1e-12), bins=60)
    groups = [("all", scores, "C0")] if is_anomaly is None else \
        [("normal", scores[~is_anomaly], "C0"), ("anomalous", scores[is_anomaly], "C3")]
    for name, values, colour in groups:
        if len(values):
            ax.hist(np.log10(values + 1e-12), bins=bins, alpha=0.6, color=colour,
                    label=f"{name} ({len(values)})", density=is_anomaly is not None)
    ax.axvline(np.log10(threshold + 1e-12), color="k", ls="--", label=f"threshold {threshold:.4g}")
    ax.set_xlabel("log10 reconstruction MSE")
    ax.set_ylabel("density" if is_anomaly is not None else "examples")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    below = f"; below, the {n_img} highest, with their scores" if n_img else ""
    ax.set_title("anomaly scores" + below)
    for i in range(n_img):
        sub = fig.add_subplot(grid[1, i])
        sub.imshow(_image(images[i]), cmap="binary", vmin=0, vmax=1)
        sub.set_title(f"{image_scores[i]:.3g}", fontsize=8)
        sub.axis("off")
    fig.tight_layout()
    return fig


def hash_buckets(rows: list[np.ndarray], titles: list[str]) -> Figure:
    """One row per bucket: its images ``[K, C, H, W]`` in [0, 1], titled on the left."""
    width = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), width, figsize=(0.9 * width + 2.2, 0.95 * len(rows)),
                             squeeze=False)
    for r, (images, title) in enumerate(zip(rows, titles)):
        for c in range(width):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(images):
                ax.imshow(_image(images[c]), cmap="binary", vmin=0, vmax=1)
        axes[r, 0].text(-0.15, 0.5, title, transform=axes[r, 0].transAxes, ha="right",
                        va="center", fontsize=8, family="monospace")
    fig.subplots_adjust(left=0.25, wspace=0.05, hspace=0.1)
    return fig
