"""Reconstruction metrics (Géron, *Hands-On Machine Learning*, 2nd ed., sections 17.2-17.3):
mean squared error, binary cross-entropy (the book's loss for pixels in [0, 1]), PSNR, and the
baseline every autoencoder should beat, PCA with as many components as the codings (a linear
autoencoder with MSE reaches exactly PCA's subspace, section 17.2).

PSNR is ``10 log10(range^2 / MSE)`` per example, averaged over examples (the usual image
convention); ``range`` is the width of the data's value range (1 for pixels in [0, 1]), or of
the split's values for unbounded data. A perfect reconstruction is capped at 100 dB.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from aegan.metrics import MetricData, batched, flat, register_metric
from aegan.models import Encoder, Labeller, Reconstructor

PSNR_MSE_FLOOR = 1e-10  # an MSE this small counts as 100 dB


def psnr(x: np.ndarray, recon: np.ndarray, value_range: float) -> float:
    """Mean over examples of ``10 log10(value_range^2 / mse_i)`` in dB; ``[N, ...]`` inputs."""
    mse = np.mean((flat(recon) - flat(x)) ** 2, axis=1)
    return float(np.mean(10.0 * np.log10(value_range ** 2 / np.maximum(mse, PSNR_MSE_FLOOR))))


def _range_width(data: MetricData) -> float:
    low, high = data.value_range or (float(data.x.min()), float(data.x.max()))
    return float(high - low) or 1.0


@register_metric("reconstruction", (Reconstructor,),
                 "recon_mse, recon_psnr (dB), and recon_bce for data in [0, 1], on the split")
def reconstruction(model, data: MetricData) -> dict[str, float]:
    """Of the model's output against the targets (the inputs where the data have none)."""
    recon = batched(model.reconstruct, data.x, data.batch_size)
    truth = data.x if data.targets is None else data.targets
    out = {"recon_mse": float(np.mean((flat(recon) - flat(truth)) ** 2)),
           "recon_psnr": psnr(truth, recon, _range_width(data))}
    if data.value_range == (0.0, 1.0):
        p = torch.as_tensor(recon, dtype=torch.float64).clamp(1e-7, 1 - 1e-7)  # Keras' clipping
        out["recon_bce"] = float(F.binary_cross_entropy(p, torch.as_tensor(truth, dtype=torch.float64)))
    return out


def pca_mse(x_train: np.ndarray, x_eval: np.ndarray, k: int) -> float:
    """Reconstruction MSE of PCA with ``k`` components fitted on ``x_train``, on ``x_eval``."""
    from sklearn.decomposition import PCA  # imported here: scikit-learn takes a second to load

    pca = PCA(n_components=k, svd_solver="full" if x_train.shape[1] <= 256 else "auto")
    pca.fit(flat(x_train))
    recon = pca.inverse_transform(pca.transform(flat(x_eval)))
    return float(np.mean((recon - flat(x_eval)) ** 2))


@register_metric("pca", (Reconstructor, Encoder),
                 "pca_mse: PCA with as many components as the codings, and pca_ratio")
def pca_baseline(model, data: MetricData) -> dict[str, float]:
    if data.targets is not None:  # PCA reconstructs its inputs: no baseline for other targets
        return {}
    k = int(batched(model.encode, data.x[:1], 1).reshape(1, -1).shape[1])
    base = pca_mse(data.x_train, data.x, min(k, flat(data.x_train[:1]).shape[1]))
    recon = reconstruction(model, data)["recon_mse"]
    return {"pca_components": k, "pca_mse": base, "pca_ratio": recon / base if base > 0 else float("inf")}


@register_metric("accuracy", (Labeller,), "accuracy: fraction of labels predicted (labelled data)")
def accuracy(model, data: MetricData) -> dict[str, float]:
    if data.y is None:
        return {}
    predicted = batched(model.predict, data.x, data.batch_size)
    return {"accuracy": float(np.mean(predicted == data.y))}
