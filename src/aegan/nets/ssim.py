"""SSIM (Wang et al. 2004) as a differentiable function of tensors, so that one definition
serves the metrics (:mod:`aegan.metrics.translation`, :mod:`aegan.metrics.forecast`) and the
losses that train on it (a forecaster's ``lambda_ssim``).

The constants are scikit-image's defaults for ``structural_similarity``: a 7x7 uniform window,
K1 0.01, K2 0.03, sample covariances, and the mean over the windows that lie inside the image
(scikit-image filters the whole image, then crops the border the window reaches past, which
leaves the same windows).

The windows' means are differences of running sums along each axis: on a CPU, forward and
backward, that takes about half the time of ``avg_pool2d`` (benchmarks/RESULTS.md, "An SSIM
term in the loss").
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
    return ssim_per_image_ranges(a, b, (data_range,), window)[0]


def ssim_per_image_ranges(a: torch.Tensor, b: torch.Tensor, data_ranges: tuple[float, ...],
                          window: int = SSIM_WINDOW) -> torch.Tensor:
    """:func:`ssim_per_image` at each of ``data_ranges`` (``[len(data_ranges), N]``): the
    windows' means and covariances, which do not depend on the range, computed once."""
    if min(a.shape[-2:]) < window:
        raise ValueError(f"SSIM's {window}x{window} window needs images at least that large, "
                         f"got {tuple(a.shape[-2:])}")
    n, c = a.shape[:2]
    a, b = a.reshape(n * c, 1, *a.shape[2:]), b.reshape(n * c, 1, *b.shape[2:])

    def mean(t):  # [NC, 1, H - w + 1, W - w + 1]
        return window_means(t, window)

    k = window * window
    cov = k / (k - 1)  # sample covariances
    mu_a, mu_b = mean(a), mean(b)
    var_a = cov * (mean(a * a) - mu_a * mu_a)
    var_b = cov * (mean(b * b) - mu_b * mu_b)
    cov_ab = cov * (mean(a * b) - mu_a * mu_b)
    means, covs = 2 * mu_a * mu_b, 2 * cov_ab
    squares, variances = mu_a ** 2 + mu_b ** 2, var_a + var_b
    out = []
    for data_range in data_ranges:
        c1, c2 = (SSIM_K[0] * data_range) ** 2, (SSIM_K[1] * data_range) ** 2
        s = (means + c1) * (covs + c2) / ((squares + c1) * (variances + c2))
        out.append(s.flatten(1).mean(1).reshape(n, c).mean(1))
    return torch.stack(out)


def window_means(t: torch.Tensor, window: int) -> torch.Tensor:
    """The mean of every ``window`` x ``window`` square inside the images of ``t``
    (``[..., H, W]`` -> ``[..., H - window + 1, W - window + 1]``): ``avg_pool2d`` with stride 1,
    by running sums."""
    return _window_sums(_window_sums(t, window, -1), window, -2) / (window * window)


def _window_sums(t: torch.Tensor, window: int, dim: int) -> torch.Tensor:
    """The sums of ``window`` consecutive values along ``dim`` (one per window that fits):
    differences of the running sum, which starts from a zero so the first window is whole."""
    pad = [0, 0] * (-dim - 1) + [1, 0]
    total = F.pad(t, pad).cumsum(dim)
    size = total.shape[dim]
    return total.narrow(dim, window, size - window) - total.narrow(dim, 0, size - window)
