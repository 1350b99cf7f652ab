"""Autoencoders (Géron, *Hands-On Machine Learning*, 2nd ed., sections 17.1–17.3).

``Autoencoder(encoder, decoder)``: ``encode`` maps inputs to codings, ``decode`` maps codings
back, ``reconstruct`` is both. With linear layers and an MSE loss it is the undercomplete linear
autoencoder that recovers PCA's subspace; with SELU stacks and binary cross-entropy it is the
book's stacked autoencoder. The decoder ends in logits: a ``sigmoid`` output is applied in
``decode`` and folded into the loss (``binary_cross_entropy_with_logits``), which is the same
function as the book's sigmoid-then-BCE but numerically safer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import ConfigError, is_int
from aegan.models.base import Model
from aegan.models.registry import register_model
from aegan.nets import ACTIVATIONS, INITS, dense_stack

LOSSES = ("mse", "bce")
OUTPUTS = ("linear", "sigmoid")


def _widths(values) -> bool:
    return isinstance(values, (list, tuple)) and all(is_int(n) and n >= 1 for n in values)


@dataclass
class AutoencoderConfig:
    """A dense autoencoder. ``encoder`` lists layer widths, the last being the coding size;
    ``decoder`` lists the hidden widths back (None mirrors the encoder)."""

    family: str = "autoencoder"
    encoder: list[int] = field(default_factory=lambda: [100, 30])
    decoder: list[int] | None = None
    activation: str = "selu"
    coding_activation: str | None = None  # None: same as ``activation``
    output: str = "sigmoid"  # "sigmoid" for data in [0, 1], "linear" otherwise
    loss: str = "bce"
    init: str = "glorot_uniform"

    def __post_init__(self) -> None:
        if not _widths(self.encoder) or not self.encoder:
            raise ConfigError(f"model.encoder must list positive layer widths, such as "
                              f"[100, 30], got {self.encoder}")
        if self.decoder is not None and not _widths(self.decoder):
            raise ConfigError(f"model.decoder must list positive layer widths, or be null to "
                              f"mirror the encoder, got {self.decoder}")
        for key in ("activation", "coding_activation"):
            value = getattr(self, key)
            if value is not None and value not in ACTIVATIONS:
                raise ConfigError(f"unknown {key} {value!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.output not in OUTPUTS:
            raise ConfigError(f"unknown output {self.output!r}; choose one of {', '.join(OUTPUTS)}")
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.loss == "bce" and self.output != "sigmoid":
            raise ConfigError("loss 'bce' needs output 'sigmoid' (values in [0, 1])")
        if self.init not in INITS:
            raise ConfigError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")


@register_model("autoencoder", AutoencoderConfig)
class Autoencoder(Model):
    """Encoder and decoder networks trained to reconstruct their input."""

    family = "autoencoder"

    def __init__(self, config: AutoencoderConfig, sample_shape: tuple[int, ...],
                 encoder: nn.Module | None = None, decoder: nn.Module | None = None):
        super().__init__(config, sample_shape)
        n_in = math.prod(self.sample_shape)
        codings = config.encoder[-1]
        coding_act = config.coding_activation or config.activation
        hidden_back = config.decoder if config.decoder is not None else config.encoder[-2::-1]
        self.encoder = encoder or nn.Sequential(
            nn.Flatten(), dense_stack([n_in, *config.encoder], config.activation, coding_act,
                                      config.init))
        self.decoder = decoder or nn.Sequential(
            dense_stack([codings, *hidden_back, n_in], config.activation, "linear", config.init),
            nn.Unflatten(1, self.sample_shape))
        self.z_dim = codings

    # -- the model's face -------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, *sample_shape] -> [N, z_dim]`` codings."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``[N, z_dim] -> [N, *sample_shape]``, in [0, 1] for a sigmoid output."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.output == "sigmoid" else out

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @property
    def is_linear(self) -> bool:
        """True when encoder and decoder are affine maps (the PCA-like autoencoder)."""
        cfg = self.config
        return (cfg.activation == "linear" and (cfg.coding_activation or "linear") == "linear"
                and cfg.output == "linear")

    # -- the step contract ------------------------------------------------------------------
    def reconstruction_loss(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean over every value: MSE, or binary cross-entropy on the decoder's logits."""
        if self.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(out, x)
        if self.config.output == "sigmoid":
            out = torch.sigmoid(out)
        return F.mse_loss(out, x)

    def training_step(self, batch, optimizers, step):
        x = batch[0]
        opt = optimizers["model"]
        loss = self.reconstruction_loss(self.decoder(self.encoder(x)), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    @torch.no_grad()
    def validation_step(self, batch):
        x = batch[0]
        out = self.decoder(self.encoder(x))
        recon = torch.sigmoid(out) if self.config.output == "sigmoid" else out
        return {"loss": self.reconstruction_loss(out, x), "mse": F.mse_loss(recon, x)}
