"""Optimizers from an :class:`~aegan.config.OptimConfig`, shared by every model family.

Defaults follow PyTorch; a config may set Keras's ``rho`` and ``eps`` to reproduce the book.
``nadam`` is ``torch.optim.NAdam`` (its momentum decay 0.004 is Keras' Nadam's, too).
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

from collections.abc import Iterable

import torch

from aegan.config import OptimConfig

FUSED = ("sgd", "adam", "adamw")  # the optimizers with fused kernels in PyTorch
# PyTorch releases (from, up to but not including) whose private fused Adam kernel FusedRMSprop
# was checked against (tests/test_fast_paths.py); elsewhere RMSprop is PyTorch's own
FUSED_RMSPROP_TORCH = ((2, 13), (2, 14))
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
    if cfg.name == "nadam":  # Adam with Nesterov momentum (Dozat 2016), Keras' Nadam's schedule
        return torch.optim.NAdam(params, betas=cfg.betas, **common, **extra)
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
    (``mul_``, ``addcmul_``, ``sqrt``, ``add_``, ``addcdiv_``), this one (benchmarks/RESULTS.md,
    "Closed-form GAN and VAE steps, fused optimizer kernels"). Weight decay is the same L2 term
    in both.

    The kernel is private to PyTorch, so :meth:`available` holds only for the releases it was
    checked with (:data:`FUSED_RMSPROP_TORCH`); elsewhere :func:`make_optimizer` builds
    ``torch.optim.RMSprop``. The state is ``torch.optim.RMSprop``'s (``step``,
    ``square_avg``), so checkpoints load into either class; the kernel's first-moment buffers
    are scratch space outside the state.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, maximize: bool = False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         maximize=maximize)
        self._steps: dict[torch.device, torch.Tensor] = {}
        self._plans: dict[int, _Plan] = {}  # id(param group) -> its plan

    @staticmethod
    def available() -> bool:
        """Whether this PyTorch has the private kernel, in a release it was checked with."""
        release = tuple(int(part) for part in torch.__version__.split(".")[:2])
        low, high = FUSED_RMSPROP_TORCH
        return hasattr(torch, "_fused_adam_") and low <= release < high

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
            plan = self._plan(params, group)
            if plan.counts is not None:  # every parameter's "step", in one kernel
                plan.counts.add_(1.0)
            else:
                torch._foreach_add_(plan.steps, 1.0)
            grads = [p.grad for p in params]
            if any(g.is_sparse for g in grads):
                raise RuntimeError("RMSprop does not support sparse gradients")
            # the kernel walks each tensor's memory in order: the layouts must agree
            grads = [g if g.stride() == s else torch.empty_like(p).copy_(g)
                     for p, g, s in zip(params, grads, plan.strides)]
            for device, pick, ps, firsts, squares in plan.calls:
                torch._fused_adam_(ps, grads if pick is None else [grads[i] for i in pick],
                                   firsts, squares, [], [self._step_of(device)] * len(ps),
                                   lr=float(group["lr"]), beta1=0.0, beta2=group["alpha"],
                                   weight_decay=group["weight_decay"], eps=group["eps"],
                                   amsgrad=False, maximize=group["maximize"])
        return loss

    def _step_of(self, device: torch.device) -> torch.Tensor:
        if device not in self._steps:
            self._steps[device] = torch.tensor(_NO_BIAS_CORRECTION, device=device)
        return self._steps[device]

    def _plan(self, params: list[torch.Tensor], group: dict) -> _Plan:
        """What a step over ``params`` needs, made once and checked at every step: made again
        when other parameters have gradients, the state was replaced (``load_state_dict``) or
        a tensor moved."""
        key = tuple(map(id, params))
        plan = self._plans.get(id(group))
        states = [self.state[p] for p in params]
        if plan is not None and plan.key == key and plan.holds(params, states):
            return plan
        for p, state in zip(params, states):
            if not state:  # as torch.optim.RMSprop keeps it
                where = p.device if group["capturable"] else None
                state["step"] = torch.zeros((), dtype=torch.float32, device=where)
                state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        plan = self._plans[id(group)] = _Plan(key, params, states)
        return plan


class _Plan:
    """A parameter group's tensors for :class:`FusedRMSprop`. The state's ``step`` counts
    become views of one tensor where they share a device and dtype (one ``add_`` a step, not
    one per parameter); the kernel's first-moment buffers are scratch outside the state; the
    parameters are grouped by device and dtype, one kernel call each."""

    def __init__(self, key: tuple[int, ...], params: list[torch.Tensor], states: list[dict]):
        self.key = key
        steps = [state["step"] for state in states]
        self.counts: torch.Tensor | None = None
        if len({(t.device, t.dtype) for t in steps}) == 1:
            self.counts = torch.stack(steps)
            for i, state in enumerate(states):
                state["step"] = self.counts[i]
        self.steps = [state["step"] for state in states]
        self.squares = [state["square_avg"] for state in states]
        firsts = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]
        self.strides = [p.stride() for p in params]
        self.devices = [p.device for p in params]
        kinds: dict[tuple, list[int]] = {}
        for i, p in enumerate(params):
            kinds.setdefault((p.device, p.dtype), []).append(i)
        # (device, indices or None for all, params, first moments, second moments)
        self.calls = [(device, None if len(pick) == len(params) else pick,
                       [params[i] for i in pick], [firsts[i] for i in pick],
                       [self.squares[i] for i in pick])
                      for (device, _), pick in kinds.items()]

    def holds(self, params: list[torch.Tensor], states: list[dict]) -> bool:
        return all(state.get("step") is step and state.get("square_avg") is square
                   and p.device == device and p.stride() == stride
                   for p, state, step, square, device, stride in zip(
                       params, states, self.steps, self.squares, self.devices, self.strides))
