"""Figures as pure functions: arrays in, matplotlib ``Figure`` out (the Agg backend, no screen).

Each function draws one of the book's figures for chapter 17: the linear autoencoder's
projection beside PCA's (figure 17-2), reconstructions over originals, a 2-D map of the codings
with image thumbnails, and the training curves.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from aegan.fileio import atomic_write_bytes  # noqa: E402


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")  # the formats a figure is saved in


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` in the format its suffix names (PNG unless it is another of
    :data:`IMAGE_SUFFIXES`), atomically: an earlier figure of that name stays whole until the
    new one is complete."""
    suffix = Path(path).suffix.lower()
    kind = suffix[1:] if suffix in IMAGE_SUFFIXES else "png"
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=kind, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _image(x: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` -> ``[H, W]`` or ``[H, W, C]`` for imshow."""
    return x[0] if x.shape[0] == 1 else np.moveaxis(x, 0, -1)


# what each quantity of a history is, for the captions of the training curves
QUANTITIES = {
    "loss": "the loss the model minimises",
    "g_loss": "the generator's loss",
    "d_loss": "the discriminator's loss (real and generated halves)",
    "d_real": "mean discriminator logit on real images (high: judged real)",
    "d_fake": "mean discriminator logit on generated images",
    "gp": "gradient penalty (before its weight)",
    "recon": "reconstruction term of the loss",
    "kl": "KL(q(z|x) || p(z)), nats per example",
    "nelbo": "negative ELBO, nats per example",
    "iw_nll": "importance-weighted bound on -log p(x), nats",
    "mse": "mean squared error of the output",
    "sparsity": "the sparsity penalty",
    "accuracy": "share of labels predicted",
    "mse_frame": "squared error summed over a frame's pixels, per predicted frame",
    "p_true": "scheduled sampling: chance a step reads the true frame, not its prediction",
}


def _quantities(history: list[dict[str, Any]], steps: list[dict[str, Any]]) -> list[str]:
    keys = {k.split("_", 1)[1] for r in [*history, *steps] for k in r
            if k.startswith(("train_", "valid_"))}
    return sorted(keys, key=lambda k: (k != "loss", k))


def _curve_panel(ax, key: str, history: list, steps: list) -> None:
    stepped = [(r["epoch"], r[f"train_{key}"]) for r in steps if f"train_{key}" in r]
    if stepped:
        ax.plot(*zip(*stepped), "-", color="C0", lw=0.8, alpha=0.45,
                label="training, every few steps")
    for split, style, colour in (("train", "-", "C0"), ("valid", "--", "C1")):
        points = [(r["epoch"], r[f"{split}_{key}"]) for r in history if f"{split}_{key}" in r]
        if points:
            ax.plot(*zip(*points), style, color=colour, marker="o", markersize=3.5,
                    label="training, epoch mean" if split == "train" else "validation")
    last = max([e for e, _ in stepped] + [r["epoch"] for r in history] + [1])
    ax.set_xlim(0, last * 1.02)  # from the start of training, also for a single epoch
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    caption = textwrap.fill(QUANTITIES.get(key, ""), 46)
    ax.set_title(key + (f"\n{caption}" if caption else ""), fontsize=9)
    ax.set_xlabel("epoch", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def training_curves(history: list[dict[str, Any]],
                    steps: list[dict[str, Any]] | None = None) -> Figure:
    """Every ``train_*`` / ``valid_*`` quantity of a run against the epoch, one panel each in a
    grid of up to three columns: the epoch means (training solid, validation dashed) and, from
    ``steps`` (``steps.jsonl``), the training losses every few steps; each panel says what its
    quantity is."""
    steps = steps or []
    keys = _quantities(history, steps)
    cols = min(3, max(1, len(keys)))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 3.1 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        _curve_panel(ax, key, history, steps)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    if keys:
        axes.flat[0].legend(fontsize=7, handlelength=3)
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
