"""Small layers the autoencoder family composes: training-time noise and tied weights."""

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
