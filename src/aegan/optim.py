"""Optimizers from an :class:`~aegan.config.OptimConfig`, shared by every model family.

Defaults follow PyTorch; a config may set Keras's ``rho`` and ``eps`` to reproduce the book.
Multi-tensor (``foreach``) kernels by default: one kernel launch per step, not one per tensor;
on CUDA, SGD, Adam and AdamW use their ``fused`` kernels (one launch for the whole update).
``cfg.kernels`` chooses explicitly (``loop``: the reference for-loop over tensors).
"""

from __future__ import annotations

from typing import Iterable

import torch

from aegan.config import OptimConfig

FUSED = ("sgd", "adam", "adamw")  # the optimizers with fused kernels


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    params = list(params)
    extra = {} if cfg.eps is None else {"eps": cfg.eps}
    common = dict(lr=cfg.lr, weight_decay=cfg.weight_decay, **kernel_options(params, cfg))
    if cfg.name == "sgd":
        return torch.optim.SGD(params, momentum=cfg.momentum, **common)
    if cfg.name == "adam":
        return torch.optim.Adam(params, betas=cfg.betas, **common, **extra)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, betas=cfg.betas, **common, **extra)
    alpha = {} if cfg.rho is None else {"alpha": cfg.rho}
    return torch.optim.RMSprop(params, momentum=cfg.momentum, **common, **alpha, **extra)


def kernel_options(params: list[torch.nn.Parameter], cfg: OptimConfig) -> dict[str, bool]:
    """``foreach`` / ``fused`` keyword arguments for ``cfg.kernels``."""
    kernels = cfg.kernels
    if kernels == "auto":
        on_cuda = bool(params) and all(p.is_cuda for p in params)
        kernels = "fused" if on_cuda and cfg.name in FUSED else "foreach"
    if kernels == "fused" and cfg.name in FUSED:
        return {"fused": True, "foreach": False}
    return {"foreach": kernels != "loop"}
