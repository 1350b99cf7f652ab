"""An exponential moving average of a network's weights, used for sampling (Polyak & Juditsky
1992; for GANs Karras et al. 2018 and Yazici et al. 2019; for diffusion models Ho et al. 2020):
the average is a copy of the network that the families keep as a sub-module, its count of
updates a buffer, so a checkpoint holds both and resume is exact.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def ema_update_(average: nn.Module, live: nn.Module, decay: float) -> None:
    """``average = decay * average + (1 - decay) * live`` for every weight; buffers (batch-norm
    statistics) are copied."""
    for a, p in zip(average.parameters(), live.parameters()):
        a.mul_(decay).add_(p, alpha=1 - decay)
    for a, b in zip(average.buffers(), live.buffers()):
        a.copy_(b)


def ema_decay(ema: float, updates: int) -> float:
    """The average's decay at its ``updates``-th update: ``min(ema, (1 + t) / (10 + t))``, a
    warm-up (as TensorFlow's ExponentialMovingAverage with ``num_updates``) so that early
    samples are not the initial weights'; ``ema`` itself after ``9 / (1 - ema)`` updates."""
    return min(ema, (1 + updates) / (10 + updates))
