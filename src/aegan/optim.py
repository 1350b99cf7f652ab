"""Optimizers from an :class:`~aegan.config.OptimConfig`, shared by every model family.

Defaults follow PyTorch; a config may set Keras's ``rho`` and ``eps`` to reproduce the book.
``cfg.kernels`` chooses how the update runs: ``foreach`` (multi-tensor kernels), ``fused`` (one
pass over each tensor's memory) or ``loop`` (the reference for-loop over tensors). ``auto``
picks what measured fastest (``benchmarks/kernels.py``; benchmarks/RESULTS.md, "Closed-form
GAN and VAE steps, fused optimizer kernels, faster dropout"):
fused for SGD, Adam and AdamW on CUDA; on the CPU fused for Adam, AdamW, RMSprop and SGD with
momentum, foreach for plain SGD (its update is one ``add_`` per tensor already).

PyTorch has no fused RMSprop; :class:`FusedRMSprop` runs RMSprop through PyTorch's fused Adam
kernel, of which it is a special case.
"""

from __future__ import annotations

from typing import Iterable

import torch

from aegan.config import OptimConfig

FUSED = ("sgd", "adam", "adamw")  # the optimizers with fused kernels in PyTorch
# Adam's bias corrections 1 - beta ** t vanish (to exactly 1.0) for a step count this large
_NO_BIAS_CORRECTION = 2.0 ** 40


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    params = list(params)
    extra = {} if cfg.eps is None else {"eps": cfg.eps}
    kernels = resolve_kernels(params, cfg)
    common = dict(lr=cfg.lr, weight_decay=cfg.weight_decay, **kernel_options(cfg.name, kernels))
    if cfg.name == "sgd":
        return torch.optim.SGD(params, momentum=cfg.momentum, **common)
    if cfg.name == "adam":
        return torch.optim.Adam(params, betas=cfg.betas, **common, **extra)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, betas=cfg.betas, **common, **extra)
    alpha = {} if cfg.rho is None else {"alpha": cfg.rho}
    if kernels == "fused" and cfg.momentum == 0 and FusedRMSprop.available():
        return FusedRMSprop(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **alpha, **extra)
    return torch.optim.RMSprop(params, momentum=cfg.momentum, **common, **alpha, **extra)


def resolve_kernels(params: list[torch.nn.Parameter], cfg: OptimConfig) -> str:
    """``cfg.kernels`` with ``auto`` resolved for these parameters' device."""
    if cfg.kernels != "auto":
        return cfg.kernels
    on_cuda = bool(params) and all(p.is_cuda for p in params)
    if on_cuda:
        return "fused" if cfg.name in FUSED else "foreach"
    plain_sgd = cfg.name == "sgd" and cfg.momentum == 0
    return "foreach" if plain_sgd else "fused"


def kernel_options(name: str, kernels: str) -> dict[str, bool]:
    """The ``foreach`` / ``fused`` keyword arguments of PyTorch's optimizer ``name``."""
    if kernels == "fused" and name in FUSED:
        return {"fused": True, "foreach": False}
    return {"foreach": kernels != "loop"}


def match_state_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor its parameter's memory layout, in place.

    ``load_state_dict`` restores moments in the default (contiguous) layout, while a
    channels-last model's 4-D weights are NHWC. Fused kernels walk each tensor's memory in
    order and assume the layouts agree, so after a resume they would pair wrong elements."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if (torch.is_tensor(value) and value.shape == p.shape
                        and value.stride() != p.stride()):
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


class FusedRMSprop(torch.optim.RMSprop):
    """RMSprop (momentum 0, not centered) in one pass over each tensor's memory.

    RMSprop's update, ``v = alpha v + (1 - alpha) g^2``, ``p -= lr g / (sqrt(v) + eps)``, is
    Adam's with ``beta1 = 0`` (the first moment is the gradient itself), ``beta2 = alpha``, and
    no bias correction. PyTorch's fused Adam kernel (the one ``torch.optim.Adam(fused=True)``
    calls) computes the corrections from the step count it is given, and they are exactly 1
    for a count of 2^40, so that kernel runs RMSprop. PyTorch's RMSprop makes five passes
    (``mul_``, ``addcmul_``, ``sqrt``, ``add_``, ``addcdiv_``); this one pass steps the book
    GAN's weights 2.2x faster than its foreach kernels on a CPU (139 against 305 us). Weight
    decay is the same L2 term in both.

    The state is ``torch.optim.RMSprop``'s (``step``, ``square_avg``), so checkpoints load into
    either class; the kernel's first-moment buffers are scratch space outside the state.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, maximize: bool = False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         maximize=maximize)
        self._scratch: dict[torch.Tensor, torch.Tensor] = {}
        self._steps: dict[torch.device, torch.Tensor] = {}

    @staticmethod
    def available() -> bool:
        return hasattr(torch, "_fused_adam_")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group["momentum"] or group["centered"] or not 0 <= group["alpha"] < 1:
                raise ValueError("FusedRMSprop runs RMSprop with momentum 0, not centered and "
                                 "alpha in [0, 1); use torch.optim.RMSprop for the others")
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if not state:  # as torch.optim.RMSprop keeps it
                    where = p.device if group["capturable"] else None
                    state["step"] = torch.zeros((), dtype=torch.float32, device=where)
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            torch._foreach_add_([state["step"] for state in states], 1.0)
            grads = [p.grad for p in params]
            if any(g.is_sparse for g in grads):
                raise RuntimeError("RMSprop does not support sparse gradients")
            # the kernel walks each tensor's memory in order: the layouts must agree
            grads = [g if g.stride() == p.stride() else torch.empty_like(p).copy_(g)
                     for p, g in zip(params, grads)]
            kinds: dict[tuple, list[int]] = {}  # one kernel call per device and dtype
            for i, p in enumerate(params):
                kinds.setdefault((p.device, p.dtype), []).append(i)
            for (device, _), pick in kinds.items():
                self._fused([params[i] for i in pick], [grads[i] for i in pick],
                            [states[i]["square_avg"] for i in pick], group, device)
        return loss

    def _fused(self, params, grads, squares, group, device) -> None:
        if device not in self._steps:
            self._steps[device] = torch.tensor(_NO_BIAS_CORRECTION, device=device)
        firsts = []
        for p in params:  # scratch space: made at the first step, again after a move
            buf = self._scratch.get(p)
            if buf is None or buf.shape != p.shape or buf.device != p.device:
                buf = self._scratch[p] = torch.zeros_like(p, memory_format=torch.preserve_format)
            firsts.append(buf)
        torch._fused_adam_(params, grads, firsts, squares, [], [self._steps[device]] * len(params),
                           lr=float(group["lr"]), beta1=0.0, beta2=group["alpha"],
                           weight_decay=group["weight_decay"], eps=group["eps"], amsgrad=False,
                           maximize=group["maximize"])
