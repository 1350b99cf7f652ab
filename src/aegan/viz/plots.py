"""Figures as pure functions: arrays in, matplotlib ``Figure`` out (the Agg backend, no screen).

Each function draws one of the book's figures for chapter 17: the linear autoencoder's
projection beside PCA's (figure 17-2), reconstructions over originals, a 2-D map of the codings
with image thumbnails, and the training curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _image(x: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` -> ``[H, W]`` or ``[H, W, C]`` for imshow."""
    return x[0] if x.shape[0] == 1 else np.moveaxis(x, 0, -1)


def training_curves(history: list[dict[str, Any]]) -> Figure:
    """Every ``train_*`` / ``valid_*`` series of the history against the epoch."""
    epochs = [r["epoch"] for r in history]
    keys = sorted({k[6:] for r in history for k in r if k.startswith(("train_", "valid_"))})
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for split, style in (("train", "-"), ("valid", "--")):
            values = [r.get(f"{split}_{key}") for r in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker="." if len(epochs) < 30 else None, label=split)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def reconstructions(originals: np.ndarray, recons: np.ndarray) -> Figure:
    """Originals (top row) over their reconstructions (bottom row); ``[N, C, H, W]`` in [0, 1]."""
    n = len(originals)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.6), squeeze=False)
    for i in range(n):
        for row, images in enumerate((originals, recons)):
            axes[row, i].imshow(_image(images[i]), cmap="binary", vmin=0, vmax=1)
            axes[row, i].axis("off")
    axes[0, 0].set_title("original", loc="left", fontsize=9)
    axes[1, 0].set_title("reconstruction", loc="left", fontsize=9)
    fig.tight_layout()
    return fig


def codings_map(points: np.ndarray, labels: np.ndarray | None, images: np.ndarray | None = None,
                classes: list[str] | None = None, title: str = "codings") -> Figure:
    """A 2-D map ``[N, 2]`` coloured by label, with thumbnails of well-separated points (as the
    book's figure 17-5)."""
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    fig, ax = plt.subplots(figsize=(8, 6.5))
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels if labels is not None else "C0",
                         s=8, cmap="tab10", alpha=0.8)
    if labels is not None:
        handles, names = scatter.legend_elements()
        if classes is not None:
            names = [classes[int(i)] for i in np.unique(labels)]
        ax.legend(handles, names, fontsize=7, loc="best", markerscale=0.8)
    if images is not None:
        span = np.ptp(points, axis=0).max() or 1.0
        shown = np.empty((0, 2))
        for i, p in enumerate(points):
            if len(shown) and np.min(np.sum((shown - p) ** 2, axis=1)) < (0.06 * span) ** 2:
                continue
            shown = np.vstack([shown, p])
            box = OffsetImage(_image(images[i]), cmap="binary", zoom=0.6 if images.shape[-1] > 16 else 1.6)
            ax.add_artist(AnnotationBbox(box, p, frameon=False))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def pca_comparison(x: np.ndarray, codings: np.ndarray, pca_codings: np.ndarray) -> Figure:
    """Figure 17-2: the 3-D data, its projection on the autoencoder's plane, and PCA's."""
    fig = plt.figure(figsize=(12, 3.8))
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    ax.scatter(x[:, 0], x[:, 1], x[:, 2], c=x[:, 0], cmap="viridis", s=12)
    ax.set_title("3-D data")
    for i, (z, title) in enumerate(((codings, "autoencoder codings"), (pca_codings, "PCA projection"))):
        ax = fig.add_subplot(1, 3, i + 2)
        ax.scatter(z[:, 0], z[:, 1], c=x[:, 0], cmap="viridis", s=12)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$", rotation=0)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig


def activation_histograms(codings: np.ndarray) -> Figure:
    """The book's figure 17-11 panels: every coding activation, and each unit's mean activation
    over the examples; ``codings`` is ``[N, units]`` in [0, 1]."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    bins = np.linspace(0, 1, 41)
    axes[0].hist(codings.ravel(), bins=bins, color="C0")
    axes[0].set_title("all activations")
    axes[1].hist(codings.mean(axis=0), bins=bins, color="C1")
    axes[1].set_title("mean activation per unit")
    mean = codings.mean()
    for ax in axes:
        ax.axvline(mean, color="k", linestyle="--", linewidth=1)
        ax.set_xlabel("activation")
        ax.set_xlim(0, 1)
    axes[0].set_ylabel("count")
    axes[1].text(0.98, 0.9, f"overall mean {mean:.3f}", transform=axes[1].transAxes, ha="right")
    fig.tight_layout()
    return fig


def denoising(originals: np.ndarray, noisy: np.ndarray, denoised: np.ndarray) -> Figure:
    """Rows of original, corrupted and reconstructed images (the book's figure 17-9)."""
    n = len(originals)
    fig, axes = plt.subplots(3, n, figsize=(1.2 * n, 3.8), squeeze=False)
    for row, (images, label) in enumerate(((originals, "original"), (noisy, "noisy input"),
                                           (denoised, "denoised"))):
        for i in range(n):
            axes[row, i].imshow(_image(np.clip(images[i], 0, 1)), cmap="binary", vmin=0, vmax=1)
            axes[row, i].axis("off")
        axes[row, 0].set_title(label, loc="left", fontsize=9)
    fig.tight_layout()
    return fig
