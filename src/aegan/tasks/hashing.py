"""Semantic hashing (Salakhutdinov & Hinton, "Semantic hashing", 2009; Géron, *Hands-On Machine
Learning*, 2nd ed., chapter 17): an autoencoder whose codings pass through a sigmoid (and,
while training, Gaussian noise, which pushes them towards 0 or 1) gives each input a binary
code by rounding its codings; similar inputs share a code, so a code is a hash bucket.

This module rounds a run's codings at ``bits_threshold``, groups the examples by code and
reports how they spread over the buckets (and, with labels, how pure the buckets are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aegan import viz
from aegan.config import ConfigError
from aegan.errors import RunError
from aegan.metrics import batched
from aegan.models import Encoder
from aegan.tasks import check_options, load_for_task


@dataclass
class HashConfig:
    """Codings at or above ``bits_threshold`` are bit 1, below it bit 0."""

    bits_threshold: float = 0.5
    split: str = "test"
    top: int = 10  # largest buckets listed (and drawn)
    per_bucket: int = 12  # images drawn per bucket
    batch_size: int = 1024

    def __post_init__(self) -> None:
        check_options(self.split, self.bits_threshold, "--bits-threshold",
                      "rounds codings in [0, 1]")
        if self.top < 1 or self.per_bucket < 1:
            raise ConfigError("top and per_bucket must be at least 1")


@dataclass
class HashReport:
    """``bits`` ``[N, n_bits]`` (bool), the largest buckets' example indices, a summary."""

    bits: np.ndarray
    buckets: list[tuple[str, np.ndarray]]  # (code, indices), largest first
    images: np.ndarray | None  # the split's images, for figures
    summary: dict[str, Any] = field(default_factory=dict)


def binary_codes(codings: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``[N, n_bits]`` codings in [0, 1] -> bool bits; a clear error for codings outside."""
    low, high = float(codings.min()), float(codings.max())
    if low < 0.0 or high > 1.0:
        raise RunError(f"hashing needs codings in [0, 1] (a sigmoid coding layer, e.g. "
                       f"model.coding_activation 'sigmoid'), but this run's codings range over "
                       f"[{low:.3g}, {high:.3g}]")
    return codings >= threshold


def code_string(bits: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in bits)


def _bucket_entry(code: str, members: np.ndarray, y: np.ndarray | None, n: int,
                  classes: list[str] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": code, "size": len(members), "fraction": len(members) / n}
    if y is not None:
        labels, counts = np.unique(y[members], return_counts=True)
        label = int(labels[np.argmax(counts)])
        entry["majority_label"] = label
        if classes and label < len(classes) and classes[label] != str(label):
            entry["majority_class"] = classes[label]
        entry["purity"] = float(counts.max() / len(members))
    return entry


def _majority_count(bucket: np.ndarray, y: np.ndarray, n_buckets: int) -> int:
    """Sum over buckets of the count of each bucket's most common label (``[N]`` each)."""
    _, label = np.unique(y, return_inverse=True)
    n_labels = int(label.max()) + 1
    pairs, counts = np.unique(bucket * n_labels + label.reshape(-1), return_counts=True)
    best = np.zeros(n_buckets, dtype=np.int64)
    np.maximum.at(best, pairs // n_labels, counts)
    return int(best.sum())


def bucket_summary(bits: np.ndarray, y: np.ndarray | None, top: int,
                   classes: list[str] | None = None) -> tuple[dict[str, Any], list]:
    """Statistics of the buckets of ``bits`` ``[N, n_bits]``, and the ``top`` largest buckets
    as ``(code, indices)``. ``label_purity``: the fraction of examples that share their
    bucket's most common label (1 when every bucket holds one class)."""
    codes, inverse, counts = np.unique(bits, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(-counts, kind="stable")
    buckets = [(code_string(codes[b]), np.flatnonzero(inverse == b)) for b in order[:top]]
    summary: dict[str, Any] = {
        "bits": int(bits.shape[1]), "distinct_codes": len(codes),
        "singleton_codes": int((counts == 1).sum()),
        "mean_bucket_size": float(counts.mean()),
        "constant_bits": int(((bits.mean(0) == 0) | (bits.mean(0) == 1)).sum()),
    }
    if y is not None:
        summary["label_purity"] = _majority_count(inverse, y, len(codes)) / len(bits)
    summary["largest_buckets"] = [_bucket_entry(c, m, y, len(bits), classes) for c, m in buckets]
    return summary, buckets


def hash_codes(run_dir: str | Path, data: str | None = None, config: HashConfig | None = None,
               data_dir: str | Path | None = None) -> HashReport:
    """Binary codes of one split of ``data`` (default: the run's data set) and their buckets."""
    config = config or HashConfig()
    _, model, whole, _ = load_for_task(run_dir, data, data_dir, Encoder, "encode data into "
                                       "binary codes")
    examples = whole.split(config.split)
    x, y = examples.inputs, examples.labels
    codings = batched(model.encode, x, config.batch_size).reshape(len(x), -1)
    bits = binary_codes(codings, config.bits_threshold)
    stats, buckets = bucket_summary(bits, y, config.top, whole.classes)
    summary = {"run": str(run_dir), "data": whole.name, "split": config.split,
               "examples": len(x), "bits_threshold": config.bits_threshold, **stats}
    return HashReport(bits, buckets, x if whole.kind == "images" else None, summary)


def figure(report: HashReport, per_bucket: int = 12):
    """The largest buckets as rows of their images (image data only; else None)."""
    if report.images is None:
        return None
    rows = [report.images[members[:per_bucket]] for _, members in report.buckets]
    titles = [f"{code}\n{len(members)} examples" for code, members in report.buckets]
    return viz.hash_buckets(rows, titles)
