"""Grids of images, as the book draws a generative model's output (Géron, 2nd ed., section 17.8):
samples in a 3x4 grid (figure 17-12), the semantic interpolation with the original codings'
images framed (figure 17-13), and rows of latent traversals or straight lines between codings.
Pure functions: arrays ``[N, C, H, W]`` in [0, 1] in, a matplotlib ``Figure`` (or a PNG) out.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from aegan.viz.plots import _image  # noqa: E402


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns for ``n`` images: as square as possible, wider than tall (12 -> 3x4)."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def image_grid(images: np.ndarray, rows: int | None = None, cols: int | None = None,
               framed: np.ndarray | None = None, row_labels: list[str] | None = None,
               title: str | None = None, size: float = 1.2,
               col_labels: list[str] | None = None) -> Figure:
    """``images`` ``[N, C, H, W]`` in [0, 1] row by row on a ``rows x cols`` grid (black ink on
    white, as the book shows them); ``framed`` ``[rows, cols]`` bools draw a frame around those
    cells (the book's figure 17-13 frames the images of the original codings);
    ``row_labels`` / ``col_labels`` name the rows and columns (classes, coding dimensions)."""
    if rows is None or cols is None:
        rows, cols = grid_shape(len(images))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        r, c = divmod(index, cols)
        show_frame = framed is not None and bool(framed[r, c])
        for spine in ax.spines.values():
            spine.set_visible(show_frame)
            spine.set_linewidth(2)
        if index < len(images):
            ax.imshow(_image(np.clip(images[index], 0, 1)), cmap="binary", vmin=0, vmax=1)
        else:
            ax.axis("off")
    if row_labels is not None:
        for r, label in enumerate(row_labels[:rows]):
            axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if col_labels is not None:
        for c, label in enumerate(col_labels[:cols]):
            axes[0, c].set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_image(image: np.ndarray, path: Path) -> Path:
    """One image ``[C, H, W]`` in [0, 1] as a PNG at its own resolution, its values as grey
    levels (0 black, 1 white) or RGB."""
    image = np.clip(_image(image), 0, 1)
    plt.imsave(path, image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    return path


def translation_grid(columns: list[tuple[str, np.ndarray]], title: str | None = None,
                     size: float | None = None) -> Figure:
    """Image-to-image translations, one example per row and one column per role (input |
    output | target, say): ``columns`` of ``(heading, images [N, C, H, W] in [0, 1])``, C 1
    (shown grey, 0 black) or 3 (RGB). Columns may differ in size (a low-resolution input is
    drawn as large, its pixels visible). ``size``: inches per cell (default: larger for
    larger images)."""
    rows, cols = len(columns[0][1]), len(columns)
    height, width = columns[-1][1].shape[-2:]
    size = size or (1.3 if max(height, width) <= 64 else 2.4)
    aspect = width / height
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols * max(1.0, aspect), size * rows),
                             squeeze=False)
    for c, (heading, images) in enumerate(columns):
        axes[0, c].set_title(heading, fontsize=9)
        for r in range(rows):
            ax = axes[r, c]
            ax.imshow(_image(np.clip(images[r], 0, 1)), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
