"""What every model family provides to the Trainer: the step contract.

``configure_optimizers(cfg) -> dict[name, Optimizer]`` and
``training_step(batch, optimizers, step) -> dict[str, Tensor]``: the model computes its
losses, calls ``backward`` and steps its own optimizers, so one Trainer drives an autoencoder,
a VAE's two terms and a GAN's two players alike. ``validation_step(batch)`` returns per-batch
means of the same kind, without gradients. Families register themselves in
:mod:`aegan.models` with their config dataclass.
"""

from __future__ import annotations

import torch
from torch import nn

from aegan.config import OptimConfig
from aegan.optim import make_optimizer


class Model(nn.Module):
    """Base class of the model families. ``config`` is the family's config dataclass."""

    family: str = ""
    # True when training_step may be captured in a CUDA graph and replayed (aegan.train.fast):
    # the same kernels every step (shapes, control flow and Python scalars such as ``step``
    # do not change it), random numbers from the default generator only.
    step_capturable: bool = False

    def __init__(self, config, sample_shape: tuple[int, ...]):
        super().__init__()
        self.config = config
        self.sample_shape = tuple(sample_shape)

    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_optimizer(self.parameters(), cfg)}

    def closed_form_step(self, optimizers: dict[str, torch.optim.Optimizer]):
        """A callable ``(batch, step) -> losses`` doing what ``training_step`` does with the
        gradients computed in closed form instead of by autograd, or None (the default): the
        Trainer's ``train.hand_backward`` path on the CPU (aegan.train.fast)."""

    def training_step(self, batch: tuple[torch.Tensor, ...], optimizers, step: int):
        raise NotImplementedError

    @staticmethod
    def minimize(losses: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
                 key: str = "loss") -> dict[str, torch.Tensor]:
        """One optimizer step on ``losses[key]``; returns every loss detached, for the log."""
        optimizer.zero_grad(set_to_none=True)
        losses[key].backward()
        optimizer.step()
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def validation_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        raise NotImplementedError
