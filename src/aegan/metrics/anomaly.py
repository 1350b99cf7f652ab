"""Anomaly metrics of reconstruction-error scores (Géron, *Hands-On Machine Learning*, 2nd ed.,
chapter 17): an example's score is its reconstruction MSE; with labels that say which classes
are normal, the scores are ranked against that truth by

- AUROC, the area under the ROC curve: the probability that a random anomaly scores above a
  random normal example, ties counting half (the Mann-Whitney U statistic over ``P * N``);
- average precision, ``sum_n (R_n - R_{n-1}) P_n`` over the distinct score thresholds, highest
  first (the step-wise area under the precision-recall curve, as scikit-learn defines it).

Both are NumPy only, in float64. The one-class protocol is Ruff et al., "Deep One-Class
Classification", ICML 2018.
"""

from __future__ import annotations

import numpy as np

from aegan.metrics import MetricData, batched, flat, register_metric
from aegan.models import Reconstructor


def reconstruction_scores(model, x: np.ndarray, batch_size: int = 1024,
                          targets: np.ndarray | None = None) -> np.ndarray:
    """Per-example reconstruction MSE, ``[N, ...] -> [N]`` (float64), against ``targets``
    (default: the inputs ``x``)."""
    recon = batched(model.reconstruct, x, batch_size)
    return np.mean((flat(recon) - flat(x if targets is None else targets)) ** 2, axis=1)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..N of ``values``, tied values sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]  # one past each run of equal values
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` ``[N]`` for ``is_anomaly`` ``[N]`` (bool);
    None with only one kind of example."""
    is_anomaly = np.asarray(is_anomaly, bool)
    n_pos, n_neg = int(is_anomaly.sum()), int((~is_anomaly).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(np.asarray(scores, np.float64))
    u = ranks[is_anomaly].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def average_precision(is_anomaly: np.ndarray, scores: np.ndarray) -> float | None:
    """Average precision of ``scores`` ``[N]`` for ``is_anomaly`` ``[N]``; None without anomalies."""
    is_anomaly = np.asarray(is_anomaly, bool)
    if not is_anomaly.any():
        return None
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    s, hit = np.asarray(scores, np.float64)[order], is_anomaly[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]  # last index of each threshold
    tp = np.cumsum(hit)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@register_metric("anomaly", (Reconstructor,),
                 "anomaly_auroc, anomaly_ap: reconstruction MSE as anomaly score, labels outside "
                 "--normal-classes (default: the run's --classes) as anomalies")
def anomaly(model, data: MetricData) -> dict[str, float]:
    if data.y is None or not data.normal_classes:
        return {}
    is_anomaly = ~np.isin(data.y, data.normal_classes)
    scores = reconstruction_scores(model, data.x, data.batch_size, data.targets)
    return {"anomaly_normal_classes": list(data.normal_classes),
            "anomaly_auroc": auroc(is_anomaly, scores),
            "anomaly_ap": average_precision(is_anomaly, scores)}
