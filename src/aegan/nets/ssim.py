"""SSIM (Wang et al. 2004) as a differentiable function of tensors, so that one definition
serves the metrics (:mod:`aegan.metrics.translation`, :mod:`aegan.metrics.forecast`) and the
losses that train on it (a forecaster's ``lambda_ssim``).

The constants are scikit-image's defaults for ``structural_similarity``: a 7x7 uniform window,
K1 0.01, K2 0.03, sample covariances, and the mean over the windows that lie inside the image
(scikit-image filters the whole image, then crops the border the window reaches past, which
leaves the same windows).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_WINDOW = 7
SSIM_K = (0.01, 0.03)


def ssim_per_image(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0,
                   window: int = SSIM_WINDOW) -> torch.Tensor:
    """The SSIM of each image of ``b`` against ``a`` (``[N, C, H, W]``), the mean over its
    windows and channels: ``[N]``, in the inputs' dtype, differentiable."""
    if min(a.shape[-2:]) < window:
        raise ValueError(f"SSIM's {window}x{window} window needs images at least that large, "
                         f"got {tuple(a.shape[-2:])}")
    n, c = a.shape[:2]
    a, b = a.reshape(n * c, 1, *a.shape[2:]), b.reshape(n * c, 1, *b.shape[2:])

    def mean(t):  # [NC, 1, H - w + 1, W - w + 1]
        return F.avg_pool2d(t, window, stride=1)

    k = window * window
    cov = k / (k - 1)  # sample covariances
    mu_a, mu_b = mean(a), mean(b)
    var_a = cov * (mean(a * a) - mu_a * mu_a)
    var_b = cov * (mean(b * b) - mu_b * mu_b)
    cov_ab = cov * (mean(a * b) - mu_a * mu_b)
    c1, c2 = (SSIM_K[0] * data_range) ** 2, (SSIM_K[1] * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov_ab + c2)
         / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2)))
    return s.flatten(1).mean(1).reshape(n, c).mean(1)
