"""Greedy layer-wise pretraining (Hinton & Salakhutdinov 2006; Bengio et al. 2007; the book's
section 17.4): train a shallow autoencoder for the outermost layer pair, then one for the next
pair on the codings of the first, and so on; the full autoencoder then starts from these layers
and is fine-tuned as a whole.

Each stage is an ordinary model under the step contract, sharing its layers with the full
autoencoder, so the one Trainer trains it (with checkpoints and exact resume) and the full
model sees the result without any copying.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import OptimConfig
from aegan.models.base import Model


class LayerPair(Model):
    """A shallow autoencoder over one encoder block and its decoder block (shared modules)."""

    family = "layer-pair"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, loss: Callable):
        nn.Module.__init__(self)
        self.encoder, self.decoder, self.loss = encoder, decoder, loss

    def training_step(self, batch, optimizers, step):
        x = batch.inputs
        return self.minimize({"loss": self.loss(self.decoder(self.encoder(x)), x)}, optimizers["model"])

    @torch.no_grad()
    def validation_step(self, batch):
        x = batch.inputs
        return {"loss": self.loss(self.decoder(self.encoder(x)), x)}


@dataclass
class Stage:
    name: str
    model: LayerPair
    epochs: int
    optim: OptimConfig
    inputs: Callable[[np.ndarray], np.ndarray]  # the full model's data -> this stage's data


def _mse(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out, x)


def greedy_stages(model) -> list[Stage]:
    """The stages of a dense :class:`~aegan.models.autoencoder.Autoencoder`, outermost first.
    The outermost stage uses the model's own loss; inner stages reconstruct the (activated)
    codings of the layers outside them with MSE, as the book does."""
    enc, dec = model._blocks
    stages = []
    for i, settings in enumerate(model.config.greedy):
        outer = enc[:i]

        def inputs(x: np.ndarray, outer=outer) -> np.ndarray:
            device = next(model.parameters()).device
            with torch.no_grad():
                h = torch.as_tensor(x, dtype=torch.float32, device=device).flatten(1)
                for block in outer:
                    h = block(h)
            return h.cpu().numpy()

        loss = (lambda out, x: model.reconstruction_loss(out, x.reshape(out.shape))) if i == 0 else _mse
        pair = LayerPair(enc[i], dec[len(dec) - 1 - i], loss)
        stages.append(Stage(f"greedy-{i + 1}", pair, settings.epochs, settings.optim, inputs))
    return stages
