"""Optimizers from an :class:`~aegan.config.OptimConfig`, shared by every model family.

Defaults follow PyTorch; a config may set Keras's ``rho`` and ``eps`` to reproduce the book.
Multi-tensor (``foreach``) kernels are used: one kernel launch per step, not one per tensor.
"""

from __future__ import annotations

from typing import Iterable

import torch

from aegan.config import OptimConfig


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    params = list(params)
    extra = {} if cfg.eps is None else {"eps": cfg.eps}
    common = dict(lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "sgd":
        return torch.optim.SGD(params, momentum=cfg.momentum, **common)
    if cfg.name == "adam":
        return torch.optim.Adam(params, betas=cfg.betas, **common, **extra)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, betas=cfg.betas, **common, **extra)
    alpha = {} if cfg.rho is None else {"alpha": cfg.rho}
    return torch.optim.RMSprop(params, momentum=cfg.momentum, **common, **alpha, **extra)
