"""Metrics: one small pure function each, registered by name.

A metric takes ``(model, data: MetricData)`` and returns a dict of numbers. Which metrics apply
to a model is decided by what the model can do (``reconstruct``, ``encode``, ``log_weights``),
never by its family's name. The likelihood metrics live in :mod:`aegan.metrics.likelihood`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from aegan.errors import ConfigError


@dataclass
class MetricData:
    """What metrics are computed on: the evaluation split and the training data."""

    x: np.ndarray
    y: np.ndarray | None
    x_train: np.ndarray
    value_range: tuple[float, float] | None
    batch_size: int = 1024
    nll_samples: int = 1000  # importance samples per example of the likelihood metric
    seed: int = 0  # of the draws that sampled metrics take


@dataclass
class MetricEntry:
    name: str
    fn: Callable[..., dict[str, float]]
    needs: tuple[str, ...]  # model methods the metric calls
    description: str


METRICS: dict[str, MetricEntry] = {}


def register_metric(name: str, needs: tuple[str, ...], description: str):
    def wrap(fn):
        METRICS[name] = MetricEntry(name, fn, needs, description)
        return fn

    return wrap


def applicable(model) -> list[str]:
    return [m.name for m in METRICS.values() if all(hasattr(model, n) for n in m.needs)]


def compute(names: list[str], model, data: MetricData) -> dict[str, float]:
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric {unknown[0]!r}; known: {', '.join(sorted(METRICS))}")
    results: dict[str, float] = {}
    for name in names:
        entry = METRICS[name]
        missing = [n for n in entry.needs if not hasattr(model, n)]
        if missing:
            raise ConfigError(f"metric {name!r} needs a model that can {missing[0]}; "
                              f"this one is a {model.family}")
        results.update(entry.fn(model, data))
    return results


@torch.no_grad()
def batched(fn, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Apply ``fn`` (tensor -> tensor) to ``x`` in batches on the CPU; NumPy in and out."""
    outs = [fn(torch.as_tensor(x[i:i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(outs)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1).astype(np.float64)


@register_metric("reconstruction", ("reconstruct",),
                 "recon_mse (and recon_bce for data in [0, 1]) on the split")
def reconstruction(model, data: MetricData) -> dict[str, float]:
    recon = batched(model.reconstruct, data.x, data.batch_size)
    out = {"recon_mse": float(np.mean((_flat(recon) - _flat(data.x)) ** 2))}
    if data.value_range == (0.0, 1.0):
        p = torch.as_tensor(recon, dtype=torch.float64).clamp(1e-7, 1 - 1e-7)  # Keras' clipping
        out["recon_bce"] = float(F.binary_cross_entropy(p, torch.as_tensor(data.x, dtype=torch.float64)))
    return out


def pca_mse(x_train: np.ndarray, x_eval: np.ndarray, k: int) -> float:
    """Reconstruction MSE of PCA with ``k`` components fitted on ``x_train``, on ``x_eval``."""
    from sklearn.decomposition import PCA  # imported here: scikit-learn takes a second to load

    pca = PCA(n_components=k, svd_solver="full" if x_train.shape[1] <= 256 else "auto")
    pca.fit(_flat(x_train))
    recon = pca.inverse_transform(pca.transform(_flat(x_eval)))
    return float(np.mean((recon - _flat(x_eval)) ** 2))


@register_metric("pca", ("reconstruct", "encode"),
                 "pca_mse: PCA with as many components as the codings, and pca_ratio")
def pca_baseline(model, data: MetricData) -> dict[str, float]:
    k = int(batched(model.encode, data.x[:1], 1).reshape(1, -1).shape[1])
    base = pca_mse(data.x_train, data.x, min(k, _flat(data.x_train[:1]).shape[1]))
    recon = reconstruction(model, data)["recon_mse"]
    return {"pca_components": k, "pca_mse": base, "pca_ratio": recon / base if base > 0 else float("inf")}


@register_metric("accuracy", ("predict",), "accuracy: fraction of labels predicted (labelled data)")
def accuracy(model, data: MetricData) -> dict[str, float]:
    if data.y is None:
        return {}
    predicted = batched(model.predict, data.x, data.batch_size)
    return {"accuracy": float(np.mean(predicted == data.y))}


from aegan.metrics import likelihood  # noqa: E402,F401  (registers the likelihood metrics)
