"""Training curves of several runs on one figure per loss, for side-by-side comparison.
Pure: histories (lists of ``history.jsonl`` records) in, a matplotlib ``Figure`` out.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

Histories = dict[str, list[dict[str, Any]]]  # run label -> its history records


def loss_keys(histories: Histories) -> list[str]:
    """The loss names (``train_X`` / ``valid_X`` -> ``X``) that any of the runs recorded."""
    return sorted({k.split("_", 1)[1] for h in histories.values() for r in h for k in r
                   if k.startswith(("train_", "valid_"))})


def overlaid_curves(histories: Histories, key: str) -> Figure:
    """``train_KEY`` (solid) and ``valid_KEY`` (dashed) of every run against the epoch, one
    colour per run; the legend names the runs by colour and the two line styles apart."""
    fig, ax = plt.subplots(figsize=(3.9, 2.8))
    for i, (label, history) in enumerate(histories.items()):
        for split, style in (("train", "-"), ("valid", "--")):
            points = [(r["epoch"], r[f"{split}_{key}"]) for r in history
                      if isinstance(r.get(f"{split}_{key}"), (int, float)) and "epoch" in r]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, style, color=f"C{i % 10}", marker="o", markersize=3)
    runs = [Line2D([], [], color=f"C{i % 10}", lw=2, label=label)
            for i, label in enumerate(histories)]
    styles = [Line2D([], [], color="0.3", ls="-", label="training"),
              Line2D([], [], color="0.3", ls="--", label="validation")]
    ax.set_xlabel("epoch", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.tick_params(labelsize=7)
    ax.set_title(key, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(handles=runs + styles, fontsize=6, loc="best", handlelength=3.5)
    fig.tight_layout()
    return fig


def to_png(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes (the figure is closed)."""
    import io

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()
