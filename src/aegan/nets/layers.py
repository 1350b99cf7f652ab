"""Small layers the model families compose: training-time noise, dropout and tied weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GaussianNoise(nn.Module):
    """Adds ``N(0, sigma^2)`` noise while training and nothing at inference (Keras'
    ``GaussianNoise``): denoising autoencoders (book 17.6), semantic hashing (17.7)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sigma * torch.randn_like(x) if self.training and self.sigma else x

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class Dropout(nn.Dropout):
    """``nn.Dropout`` (zero each value with probability ``p`` while training, scale the rest by
    ``1 / (1 - p)``), with its mask drawn as ``uniform >= p`` for floating-point values on the
    CPU.

    PyTorch's CPU dropout draws each value's Bernoulli variable one at a time; a uniform draw
    and a comparison give the same distribution in far less time (benchmarks/kernels.py;
    benchmarks/RESULTS.md). The uniform is drawn in fp32 for every dtype (a bf16 uniform would
    round ``p``); a bf16 or fp16 mask then holds ``1 / (1 - p)`` rounded to that dtype, as
    PyTorch's own dropout of such values does. Elsewhere (other devices, in place) it is
    ``nn.Dropout``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if x.device.type != "cpu" or not x.is_floating_point() or self.inplace or self.p == 1:
            return F.dropout(x, self.p, True, self.inplace)
        return x * self.mask(x)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """The CPU draw, in ``x``'s dtype: 0 with probability ``p``, else ``1 / (1 - p)``.
        ``forward`` multiplies by it; a closed-form backward (:mod:`aegan.models.dense_step`)
        keeps it."""
        keep = torch.rand_like(x, dtype=torch.float32).ge_(self.p)  # 0. or 1., in fp32
        return keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))


class TiedLinear(nn.Module):
    """A linear map that uses the transpose of another layer's weight and its own bias
    (book 17.4, "tying weights"): ``[N, out_features of source] -> [N, in_features]``."""

    def __init__(self, source: nn.Linear):
        super().__init__()
        self.source = [source]  # a list, so the shared weight is not registered twice
        self.bias = nn.Parameter(torch.zeros(source.in_features))

    @property
    def weight(self) -> torch.Tensor:
        return self.source[0].weight.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.source[0].weight.t(), self.bias)
