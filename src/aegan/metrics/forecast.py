"""Metrics of next-frame prediction (a :class:`~aegan.models.Predictor`), as OpenSTL reports
them (Tan et al. 2023), each per predicted step and averaged, beside copying the last context
frame, computed on the same sequences:

- ``mse_frame``: the squared error summed over a frame's pixels (values in [0, 1]), averaged
  over frames and sequences (OpenSTL's "MSE" on Moving MNIST);
- ``mae_frame``: the absolute error, likewise;
- ``ssim``: SSIM per frame (Wang et al. 2004, scikit-image's defaults: a 7x7 uniform window,
  data range 1; :func:`aegan.nets.ssim.ssim_per_image` in float64), averaged;
- ``psnr``: ``10 log10(1 / MSE)`` of each frame (MSE per pixel), averaged.

``ssim_range2`` is the same SSIM with a data range of 2: OpenSTL's metric calls scikit-image's
``structural_similarity`` on float frames without a data range, which scikit-image versions of
the time took from the float dtype's range, [-1, 1]; the larger constants raise SSIM, so
compare published SSIMs with ``ssim_range2`` and read ``ssim`` as the stricter number.

The model trained with ``lambda_adv 0`` is an adversarial model's other baseline: its numbers
come from its own run (``benchmarks/forecast.py`` trains both).
"""

from __future__ import annotations

import numpy as np
import torch

from aegan.metrics import MetricData, register_metric
from aegan.metrics.reconstruction import PSNR_MSE_FLOOR
from aegan.models import Predictor
from aegan.nets.ssim import SSIM_WINDOW, ssim_per_image_ranges

QUANTITIES = ("mse_frame", "mae_frame", "ssim", "psnr", "ssim_range2")
BASELINE = "copy_last"


def frame_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Each quantity per step, summed over the sequences: ``[steps]`` each, for frames
    ``[N, steps, C, H, W]`` in [0, 1]."""
    p, t = np.asarray(predicted, np.float64), np.asarray(truth, np.float64)
    err = (p - t).reshape(*p.shape[:2], -1)  # [N, steps, pixels]
    mse_pixel = np.maximum((err ** 2).mean(2), PSNR_MSE_FLOOR)
    out = {"mse_frame": (err ** 2).sum(2).sum(0), "mae_frame": np.abs(err).sum(2).sum(0),
           "psnr": (10.0 * np.log10(1.0 / mse_pixel)).sum(0)}
    if min(p.shape[-2:]) >= SSIM_WINDOW:  # both ranges from one pass over the windows
        per_step = np.array([ssim_per_image_ranges(torch.as_tensor(t[:, s]),
                                                   torch.as_tensor(p[:, s]), (1.0, 2.0))
                             .sum(1).numpy() for s in range(p.shape[1])])  # [steps, 2]
        out["ssim"], out["ssim_range2"] = per_step[:, 0], per_step[:, 1]
    return out


def forecast_scores(model, context, truth, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Per-step means over the sequences of the model's forecasts (``name``) and of copying
    the last context frame (``name_copy_last``), for context ``[N, T_in, C, H, W]`` and
    truth ``[N, steps, C, H, W]`` (arrays or lazy readers)."""
    sums: dict[str, np.ndarray] = {}
    n = len(context)
    for start in range(0, n, batch_size):
        index = np.arange(start, min(start + batch_size, n))
        x, y = np.asarray(context[index], np.float32), np.asarray(truth[index], np.float32)
        predicted = model.predict_frames(torch.as_tensor(x), y.shape[1]).cpu().numpy()
        copied = np.repeat(x[:, -1:], y.shape[1], axis=1)
        for suffix, frames in (("", predicted), (f"_{BASELINE}", copied)):
            for key, value in frame_scores(frames, y).items():
                sums[key + suffix] = sums.get(key + suffix, 0) + value
    return {key: value / n for key, value in sums.items()}


@register_metric("forecast", (Predictor,), "mse_frame, mae_frame, ssim, psnr of the predicted "
                 "frames, per step and averaged, beside copying the last context frame")
def forecast(model, data: MetricData) -> dict:
    if data.targets is None:
        return {}
    per_step = forecast_scores(model, data.x, data.targets)
    result: dict = {"forecast_protocol": f"{len(data.x)} sequences, {data.x.shape[1]} frames "
                                         f"in, {data.targets.shape[1]} predicted; pixels in "
                                         "[0, 1]; MSE/MAE summed over a frame's pixels"}
    rows = []
    for key in QUANTITIES:
        if key not in per_step:
            continue
        ours, copied = per_step[key], per_step[f"{key}_{BASELINE}"]
        result[key], result[f"{key}_{BASELINE}"] = float(ours.mean()), float(copied.mean())
        rows.append({"quantity": key, "this run": result[key],
                     "copy last frame": result[f"{key}_{BASELINE}"]})
    result["beside"] = rows
    keys = [k + suffix for k in QUANTITIES for suffix in ("", f"_{BASELINE}") if k in per_step]
    result["per_step"] = [{"step": s + 1, **{k: float(per_step[k][s]) for k in keys}}
                          for s in range(len(per_step["mse_frame"]))]
    return result
