"""Anomaly detection by reconstruction error (Géron, *Hands-On Machine Learning*, 2nd ed.,
chapter 17: an autoencoder reconstructs what it was trained on well and anything else badly).

An example's anomaly score is its reconstruction MSE (mean over its values). The threshold is
quantile ``Q`` of the scores of the run's own training data, so about ``1 - Q`` of data like the
training data is flagged. Where the labels say which examples are normal (``normal_classes``,
by default the classes a run was trained on), the scores are also ranked against that truth:
AUROC (the area under the ROC curve, 0.5 for chance, 1 for a perfect ranking), as in the
one-class protocol of Ruff et al., "Deep One-Class Classification", ICML 2018.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aegan import viz
from aegan.config import ConfigError
from aegan.errors import DataError
from aegan.metrics.anomaly import auroc, reconstruction_scores
from aegan.models import Reconstructor
from aegan.tasks import check_options, load_for_task


@dataclass
class DetectConfig:
    """``threshold``: quantile of the training scores above which an example is flagged."""

    threshold: float = 0.99
    split: str = "test"
    normal_classes: list[int] | None = None  # None: the run's classes, if it kept some
    n_images: int = 10  # most anomalous examples kept for the figure
    batch_size: int = 1024

    def __post_init__(self) -> None:
        check_options(self.split, self.threshold, "--threshold",
                      "is a quantile of the training scores (e.g. 0.99)")
        if self.normal_classes is not None and not self.normal_classes:
            raise ConfigError("--normal-classes must name at least one class")


@dataclass
class AnomalyReport:
    """Scores ``[N]`` of the split, the threshold, the truth where known, and a summary."""

    scores: np.ndarray
    train_scores: np.ndarray
    threshold: float
    is_anomaly: np.ndarray | None  # [N] bool, None without labels or normal classes
    top: np.ndarray  # indices of the most anomalous examples, highest score first
    images: np.ndarray | None  # [n_images, C, H, W] of those, for image data
    summary: dict[str, Any] = field(default_factory=dict)


def _truth(y: np.ndarray | None, normal: list[int] | None, name: str) -> np.ndarray | None:
    if normal is None:
        return None
    if y is None:
        raise DataError(f"--normal-classes needs labels, and {name} has none on this split")
    return ~np.isin(y, normal)


def _truth_summary(is_anomaly: np.ndarray, flagged: np.ndarray, scores: np.ndarray,
                   normal: list[int]) -> dict[str, Any]:
    n_anomalies, n_normal = int(is_anomaly.sum()), int((~is_anomaly).sum())
    caught, false_alarms = int((flagged & is_anomaly).sum()), int((flagged & ~is_anomaly).sum())
    return {
        "normal_classes": list(normal), "anomalies": n_anomalies, "normal": n_normal,
        "flagged_anomalies": caught, "flagged_normal": false_alarms,
        "recall": caught / n_anomalies if n_anomalies else None,
        "false_alarm_rate": false_alarms / n_normal if n_normal else None,
        "auroc": auroc(is_anomaly, scores),
    }


def detect(run_dir: str | Path, data: str | None = None, config: DetectConfig | None = None,
           data_dir: str | Path | None = None) -> AnomalyReport:
    """Score one split of ``data`` (default: the run's data set, every class) by reconstruction
    error; flag the scores above quantile ``config.threshold`` of the run's training scores."""
    config = config or DetectConfig()
    run_config, model, whole, own = load_for_task(run_dir, data, data_dir, Reconstructor,
                                                  "score examples by reconstruction error")
    examples = whole.split(config.split)
    x, y = examples.inputs, examples.labels
    scores = reconstruction_scores(model, x, config.batch_size, examples.targets)
    train_scores = reconstruction_scores(model, own.train.inputs, config.batch_size,
                                         own.train.targets)
    threshold = float(np.quantile(train_scores, config.threshold))
    flagged = scores > threshold
    normal = config.normal_classes
    if normal is None and whole.name == own.name:
        normal = run_config.data.classes
    is_anomaly = _truth(y, normal, whole.name)
    top = np.argsort(-scores, kind="stable")[:config.n_images]
    summary: dict[str, Any] = {
        "run": str(run_dir), "data": whole.name, "split": config.split, "examples": len(x),
        "score": "reconstruction MSE per example", "threshold_quantile": config.threshold,
        "threshold": threshold, "flagged": int(flagged.sum()),
        "flagged_fraction": float(flagged.mean()),
        "train_flagged_fraction": float((train_scores > threshold).mean()),
        "score_median": float(np.median(scores)), "score_max": float(scores.max()),
    }
    if is_anomaly is not None:
        summary.update(_truth_summary(is_anomaly, flagged, scores, normal))
    images = x[top] if whole.kind == "images" else None
    return AnomalyReport(scores, train_scores, threshold, is_anomaly, top, images, summary)


def figure(report: AnomalyReport):
    """Score histograms with the threshold, and the most anomalous images (image data)."""
    return viz.anomaly_scores(report.scores, report.threshold, report.is_anomaly,
                              report.images, report.scores[report.top])
