"""The Trainer's fast paths for one training step: channels-last memory, ``torch.compile``,
bf16 autocast and a whole step captured in a CUDA graph.

Small models of this field are bound by per-step overhead (kernel launches, Python), not by
arithmetic (Géron, *Hands-On Machine Learning*, 2nd ed., chapter 17's models take well under a
millisecond of arithmetic per batch on a GPU). Each path is switched by a field of
:class:`~aegan.config.TrainConfig` and works for any model that keeps the step contract of
:mod:`aegan.models.base`, or is skipped:

- ``channels_last``: 4-D weights and batches in NHWC order, for models with convolutions
  (oneDNN and cuDNN pick faster kernels for it); the same arithmetic up to rounding.
- ``compile``: each child network of the model goes through ``torch.compile``; state-dict keys
  are unchanged, so checkpoints are interchangeable with uncompiled runs.
- ``precision`` ``bf16``: the step runs under ``torch.autocast`` (PyTorch's "Automatic Mixed
  Precision" docs); the losses it returns are cast back to fp32, and validation runs in fp32.
  ``auto`` takes bf16 only where the device computes it natively (:func:`native_bf16`): a CPU
  without bf16 instructions emulates it, with no gain to expect.
- ``cuda_graph`` ``auto``: on CUDA, when the model declares ``step_capturable`` and the learning
  rate is constant, the whole step (forward, backward, optimizer step) is captured once with
  ``torch.cuda.graph`` after eager warm-up steps on a side stream, then replayed for every full
  batch: the batch is copied into static input buffers and the step's static outputs are read
  back. Optimizers are switched to ``capturable=True`` (their step counters live on the GPU);
  random numbers inside the step come from the default CUDA generator, whose offsets
  ``torch.cuda.graph`` advances on each replay. The last, smaller batch of an epoch runs eagerly.
  If capture fails, the run goes on eagerly after one log line. Never taken on the CPU.
- ``closed_form`` ``auto``: on the CPU, fp32 and uncompiled, a model that offers a
  closed-form step (:meth:`~aegan.models.base.Model.closed_form_step`: a dense autoencoder,
  GAN or Bernoulli VAE, :mod:`aegan.models.closed_form`) trains with its gradients in closed
  form instead of by autograd.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import torch
from torch import nn

from aegan.config import TrainConfig
from aegan.data.examples import Batch
from aegan.models.base import Step

log = logging.getLogger(__name__)

COMPILE_OPTIONS: dict[str, Any] = {}  # torch.compile's keyword arguments (default: inductor)
CPUINFO = "/proc/cpuinfo"  # Linux: the CPU's flags


def has_conv(model: nn.Module) -> bool:
    """Whether ``model`` has a 4-D weight: an image convolution, ``nn.Conv2d`` or one of its
    own (the equalized and modulated convolutions of the growing GANs)."""
    return any(p.dim() == 4 for p in model.parameters())


def channels_last_on(model: nn.Module, config: TrainConfig) -> bool:
    """``auto``: on for models with image convolutions: cuDNN's NHWC kernels on CUDA, and on
    the CPU a measured gain (oneDNN's NHWC max-pooling and convolutions; benchmarks/RESULTS.md)."""
    if config.channels_last == "auto":
        return has_conv(model)
    return config.channels_last == "on"


def to_channels_last(model: nn.Module) -> None:
    """The model's 4-D parameters and buffers in NHWC order, in place; others are left as they
    are (``Module.to(memory_format=...)`` refuses a model with a 5-D buffer, such as a growing
    GAN's timeline of images)."""
    for tensors in (model.parameters(), model.buffers()):
        for t in tensors:
            if t.dim() == 4:
                t.data = t.data.to(memory_format=torch.channels_last)


def prepare_model(model: nn.Module, config: TrainConfig) -> None:
    """Apply the model-wide fast paths in place (before its optimizers are built)."""
    if channels_last_on(model, config):
        to_channels_last(model)
    if config.compile:
        for child in model.children():
            fresh = "forward" not in vars(child)  # not compiled by an earlier fit
            if fresh and any(True for _ in child.parameters()):  # no "_orig_mod." keys
                child.forward = torch.compile(child.forward, **COMPILE_OPTIONS)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: a CUDA card that supports it, or a CPU whose
    flags (Linux's ``/proc/cpuinfo``) name AVX-512 BF16 or AMX BF16. False where unknown."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open(CPUINFO) as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle
                          if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def uses_bf16(config: TrainConfig, device: torch.device) -> bool:
    """The training step runs under bf16 autocast: ``precision`` bf16, or auto on a device
    with native bf16."""
    return config.precision == "bf16" or (config.precision == "auto" and native_bf16(device))


def graph_possible(model: nn.Module, config: TrainConfig, device: torch.device,
                   schedule: str) -> bool:
    """A CUDA graph replays fixed kernels with fixed scalars: CUDA only, a model that declares
    its step capturable, and a learning rate that does not change between steps."""
    return (config.cuda_graph == "auto" and device.type == "cuda" and model.step_capturable
            and schedule == "constant")


def _nhwc(batch: Batch) -> Batch:
    return batch.map(lambda _, t: t.contiguous(memory_format=torch.channels_last)
                     if t.dim() == 4 and t.is_floating_point() else t)


def step_function(model: nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                  config: TrainConfig, device: torch.device, schedule: str,
                  fold_sgd: bool = True) -> Step:
    """The callable the Trainer runs for each batch: ``(batch, step) -> losses``.
    ``fold_sgd``: the closed-form step may fold plain SGD's update into its products (False
    when the Trainer hooks the optimizers, as ``torchrun``'s gradient averaging does)."""
    nhwc = channels_last_on(model, config)
    bf16 = uses_bf16(config, device)
    if config.precision == "auto":
        log.info("precision auto: %s", "bf16 autocast (native on this device)" if bf16
                 else "fp32 (this device has no native bf16)")
    graphed = graph_possible(model, config, device, schedule)

    def eager(batch, step):
        if nhwc:
            batch = _nhwc(batch)
        # autocast's cache of cast weights must be off inside a CUDA graph (PyTorch's docs)
        amp = (torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not graphed)
               if bf16 else contextlib.nullcontext())
        with amp:
            out = model.training_step(batch, optimizers, step)
        return {k: v.float() for k, v in out.items()} if bf16 else out

    if graphed:
        return GraphedStep(eager, optimizers, config.batch_size)
    if device.type != "cuda":  # a checkpoint of a graphed run, resumed off the GPU
        for opt in optimizers.values():
            for group in opt.param_groups:
                if group.get("capturable"):
                    group["capturable"] = False
    closed = (model.closed_form_step(optimizers, fold_sgd) if config.closed_form == "auto"
              and device.type == "cpu" and not bf16 and not config.compile else None)
    if closed is not None:
        log.info("gradients in closed form (train.closed_form)")
        return closed
    return eager


class GraphedStep:
    """One training step captured in a CUDA graph for full batches, eager for the rest."""

    warmup = 3  # eager steps on the capture stream first (cuBLAS handles, optimizer state)

    def __init__(self, eager: Step, optimizers: dict[str, torch.optim.Optimizer], batch_size: int):
        self.eager, self.batch_size = eager, batch_size
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: Batch | None = None
        self.out: dict[str, torch.Tensor] = {}
        self.warm, self.failed = 0, False
        self.stream = torch.cuda.Stream()
        for opt in optimizers.values():
            make_capturable(opt)

    def __call__(self, batch: Batch, step: int) -> dict[str, Any]:
        if self.failed or len(batch) != self.batch_size:
            return self.eager(batch, step)
        if self.graph is None and self.warm < self.warmup:
            self.warm += 1
            return self._side_stream(batch, step)
        if self.graph is None and not self._capture(batch, step):
            return self.eager(batch, step)
        for role, t in batch.items():
            getattr(self.static, role).copy_(t)
        self.graph.replay()
        return dict(self.out)

    def _side_stream(self, batch, step):
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            out = self.eager(batch, step)
        torch.cuda.current_stream().wait_stream(self.stream)
        return out

    def _capture(self, batch, step) -> bool:
        torch.cuda.synchronize()
        self.static = batch.map(lambda _, t: t.clone())
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self.stream):  # the warm-up stream
                self.out = self.eager(self.static, step)
        except Exception as exc:  # noqa: BLE001 - any capture failure: stay eager
            log.warning("CUDA graph capture failed (%s: %s); training eagerly",
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            self.failed, self.static, self.out = True, None, {}
            torch.cuda.synchronize()
            return False
        self.graph = graph
        log.info("training step captured in a CUDA graph (batch %d)", self.batch_size)
        return True


def make_capturable(optimizer: torch.optim.Optimizer) -> None:
    """Switch an optimizer to ``capturable=True`` where it has the option, with its step
    counters moved to the parameters' device (a resumed state holds them on the CPU)."""
    groups = [g for g in optimizer.param_groups if "capturable" in g]
    for group in groups:
        group["capturable"] = True
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if torch.is_tensor(state.get("step")):
                state["step"] = state["step"].to(device=p.device, dtype=torch.float32)
