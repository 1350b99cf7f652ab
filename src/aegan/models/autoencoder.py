"""Autoencoders (Géron, *Hands-On Machine Learning*, 2nd ed., sections 17.1–17.7).

``Autoencoder(encoder, decoder)``: ``encode`` maps inputs to codings, ``decode`` maps codings
back, ``reconstruct`` is both. The options compose with any network (``net``: dense, conv or
recurrent):

- linear layers and MSE: the undercomplete linear autoencoder that recovers PCA (17.2);
- SELU stacks and binary cross-entropy: the stacked autoencoder (17.3);
- ``tied``: the decoder uses the encoder's transposed weights (17.4);
- ``greedy``: one stage of layer-wise pretraining per encoder layer before fine-tuning (17.4);
- ``input_noise`` / ``input_dropout``: denoising autoencoders (17.6);
- ``sparsity`` ``l1`` or ``kl``: a penalty on the codings' activity (17.7);
- ``coding_noise``: noise before a sigmoid coding layer drives codings to bits (semantic
  hashing, Salakhutdinov & Hinton 2008; the book's exercise 17.11).

The decoder ends in logits: a ``sigmoid`` output is applied in ``decode`` and folded into the
loss (``binary_cross_entropy_with_logits``), the same function as the book's sigmoid-then-BCE
but numerically safer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import ConfigError, OptimConfig, is_int
from aegan.errors import DataMismatch
from aegan.models import closed_form
from aegan.models.base import Decoder, Denoiser, Encoder, Model, Needs, Reconstructor
from aegan.models.greedy import greedy_stages
from aegan.models.registry import register_model
from aegan.nets import ACTIVATIONS, INITS, activation, init_linear_
from aegan.nets.conv import conv_decoder, conv_encoder
from aegan.nets.layers import Dropout, GaussianNoise, TiedLinear
from aegan.nets.recurrent import SequenceDecoder, SequenceEncoder

LOSSES = ("mse", "bce")
OUTPUTS = ("linear", "sigmoid")
NETS = ("dense", "conv", "recurrent")
SPARSITY = (None, "l1", "kl")


@dataclass
class GreedyStage:
    """Training of one layer pair in greedy layer-wise pretraining."""

    epochs: int = 10
    optim: OptimConfig = field(default_factory=lambda: OptimConfig("sgd", lr=0.1))

    def __post_init__(self) -> None:
        if isinstance(self.optim, dict):
            self.optim = OptimConfig(**self.optim)
        if not is_int(self.epochs) or self.epochs < 1:
            raise ConfigError(f"a greedy stage needs at least 1 epoch, got {self.epochs}")


def _widths(values) -> bool:
    return isinstance(values, (list, tuple)) and all(is_int(n) and n >= 1 for n in values)


@dataclass
class AutoencoderConfig:
    """An autoencoder. ``encoder`` lists widths (units, channels or LSTM units), the last being
    the coding layer's; ``decoder`` lists the hidden widths back (None mirrors the encoder)."""

    family: str = "autoencoder"
    net: str = "dense"
    encoder: list[int] = field(default_factory=lambda: [100, 30])
    decoder: list[int] | None = None
    activation: str = "selu"
    coding_activation: str | None = None  # None: same as ``activation``
    output: str = "sigmoid"  # "sigmoid" for data in [0, 1], "linear" otherwise
    loss: str = "bce"
    init: str = "glorot_uniform"
    tied: bool = False
    input_noise: float = 0.0  # Gaussian sigma on the inputs while training
    input_dropout: float = 0.0  # dropout rate on the inputs while training
    coding_noise: float = 0.0  # Gaussian sigma on the coding layer's input while training
    sparsity: str | None = None  # "l1" or "kl" penalty on the codings
    sparsity_weight: float = 0.0
    sparsity_target: float = 0.1  # the KL penalty's target mean activation
    greedy: list[GreedyStage] | None = None  # one stage per encoder layer

    def __post_init__(self) -> None:
        if not _widths(self.encoder) or not self.encoder:
            raise ConfigError(f"model.encoder must list positive layer widths, such as "
                              f"[100, 30], got {self.encoder}")
        if self.decoder is not None and not _widths(self.decoder):
            raise ConfigError(f"model.decoder must list positive layer widths, or be null to "
                              f"mirror the encoder, got {self.decoder}")
        for key, choices in (("net", NETS), ("output", OUTPUTS), ("loss", LOSSES),
                             ("init", INITS), ("sparsity", SPARSITY)):
            if getattr(self, key) not in choices:
                names = ", ".join(str(c) for c in choices if c is not None)
                raise ConfigError(f"unknown {key} {getattr(self, key)!r}; choose one of {names}")
        for key in ("activation", "coding_activation"):
            value = getattr(self, key)
            if value is not None and value not in ACTIVATIONS:
                raise ConfigError(f"unknown {key} {value!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.loss == "bce" and self.output != "sigmoid":
            raise ConfigError("loss 'bce' needs output 'sigmoid' (values in [0, 1])")
        if not 0 <= self.input_dropout < 1:
            raise ConfigError(f"input_dropout must be in [0, 1), got {self.input_dropout}")
        if min(self.input_noise, self.coding_noise, self.sparsity_weight) < 0:
            raise ConfigError("noise levels and sparsity_weight must be >= 0")
        if not 0 < self.sparsity_target < 1:
            raise ConfigError(f"sparsity_target must be in (0, 1), got {self.sparsity_target}")
        if self.sparsity == "kl" and (self.coding_activation or self.activation) != "sigmoid":
            raise ConfigError("the KL sparsity penalty needs coding_activation 'sigmoid' "
                              "(activations in (0, 1))")
        if (self.tied or self.greedy or self.coding_noise) and self.net != "dense":
            raise ConfigError("tied weights, greedy pretraining and coding noise need net 'dense'")
        if self.greedy is not None:
            self.greedy = [GreedyStage(**s) if isinstance(s, dict) else s for s in self.greedy]
            if len(self.greedy) != len(self.encoder):
                raise ConfigError(f"greedy needs one stage per encoder layer ({len(self.encoder)}), "
                                  f"got {len(self.greedy)}")


def _dense_block(n_in: int, n_out: int, act: str, init: str) -> nn.Sequential:
    linear = nn.Linear(n_in, n_out)
    init_linear_(linear, init)
    return nn.Sequential(linear) if act == "linear" else nn.Sequential(linear, activation(act))


def _dense_nets(cfg: AutoencoderConfig, shape: tuple[int, ...]):
    """Encoder and decoder as lists of blocks (Linear + activation): the units of greedy
    training. The decoder's last block is linear (logits)."""
    n_in = math.prod(shape)
    coding_act = cfg.coding_activation or cfg.activation
    widths = [n_in, *cfg.encoder]
    enc = [_dense_block(a, b, coding_act if i == len(cfg.encoder) - 1 else cfg.activation, cfg.init)
           for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
    if cfg.tied:
        dec = [nn.Sequential(TiedLinear(block[0]), *([activation(cfg.activation)] if i else []))
               for i, block in enumerate(enc)][::-1]
    else:
        back = [cfg.encoder[-1], *(cfg.decoder if cfg.decoder is not None else cfg.encoder[-2::-1]), n_in]
        dec = [_dense_block(a, b, "linear" if i == len(back) - 2 else cfg.activation, cfg.init)
               for i, (a, b) in enumerate(zip(back[:-1], back[1:]))]
    return enc, dec


def build_networks(cfg: AutoencoderConfig, shape: tuple[int, ...]):
    """``(encoder, decoder, encoder blocks, decoder blocks)`` for data of ``shape``."""
    corrupt: list[nn.Module] = []
    if cfg.input_noise:
        corrupt.append(GaussianNoise(cfg.input_noise))
    if cfg.input_dropout:
        corrupt.append(Dropout(cfg.input_dropout))
    if cfg.net == "dense":
        enc, dec = _dense_nets(cfg, shape)
        noise = [GaussianNoise(cfg.coding_noise)] if cfg.coding_noise else []
        encoder = nn.Sequential(*corrupt, nn.Flatten(), *enc[:-1], *noise, enc[-1])
        decoder = nn.Sequential(*dec, nn.Unflatten(1, shape))
        return encoder, decoder, enc, dec
    if cfg.net == "conv":
        coding_act = cfg.coding_activation or cfg.activation
        body = conv_encoder(shape[0], cfg.encoder, cfg.activation, cfg.init)
        body[-2] = activation(coding_act)  # the coding layer's activation
        back = [cfg.encoder[-1], *(cfg.decoder if cfg.decoder is not None else cfg.encoder[-2::-1])]
        try:
            decoder = conv_decoder(back, shape[0], shape[1:], cfg.activation, cfg.init)
        except ValueError as exc:
            raise DataMismatch(f"net 'conv': {exc}") from None
        return nn.Sequential(*corrupt, body), decoder, None, None
    # recurrent: sequences [T, F] or single-channel images [1, H, W] read row by row
    steps, n_features = shape[-2], shape[-1]
    back = cfg.decoder if cfg.decoder is not None else cfg.encoder[-2::-1] or [cfg.encoder[-1]]
    encoder = nn.Sequential(*corrupt, SequenceEncoder(n_features, cfg.encoder, cfg.init))
    decoder = SequenceDecoder(cfg.encoder[-1], back, steps, n_features, shape, cfg.init)
    return encoder, decoder, None, None


def kl_sparsity(codings: torch.Tensor, target: float) -> torch.Tensor:
    """``sum_j KL(target || mean activation of unit j)`` over the batch (book 17.7)."""
    rho = codings.flatten(1).mean(dim=0).clamp(1e-7, 1 - 1e-7)
    t = target
    return (t * torch.log(t / rho) + (1 - t) * torch.log((1 - t) / (1 - rho))).sum()


NET_KINDS = {"dense": ("vectors", "images", "sequences", "image-sequences"),
             "conv": ("images",), "recurrent": ("sequences", "images")}
NET_READS = {"dense": "", "conv": "net 'conv' reads images [C, H, W]; use net 'dense' for other data",
             "recurrent": "net 'recurrent' reads sequences [T, F] or single-channel images row "
                          "by row; use net 'dense' for other data"}


@register_model("autoencoder", AutoencoderConfig)
class Autoencoder(Model, Encoder, Decoder, Reconstructor, Denoiser):
    """Encoder and decoder networks trained to reconstruct their (clean) input, or to output
    the data's ``targets`` where the data pair each input with one (a denoising autoencoder
    fed noisy inputs and clean targets, say)."""

    family = "autoencoder"
    step_capturable = True  # no step-dependent scalars; noise from the default generator

    @classmethod
    def capabilities(cls, config):
        noisy = config.input_noise or config.input_dropout
        return tuple(c for c in super().capabilities(config) if noisy or c is not Denoiser)

    @classmethod
    def needs(cls, config: AutoencoderConfig) -> Needs:
        bce = config.loss == "bce"
        return Needs(NET_KINDS[config.net], (0.0, 1.0) if bce else None,
                     "use a config with loss 'mse' and output 'linear'", optional=("targets",),
                     kinds_remedy=NET_READS[config.net])

    @classmethod
    def check_data(cls, config: AutoencoderConfig, spec) -> None:
        super().check_data(config, spec)
        shape = spec.inputs
        if config.net == "recurrent" and spec.kind == "images" and shape[0] != 1:
            raise DataMismatch(f"net 'recurrent' reads single-channel images row by row, and "
                               f"these images have {shape[0]} channels; use net 'conv' or "
                               "'dense'")
        targets = spec.shapes.get("targets")
        if targets is not None and targets != shape:
            raise DataMismatch(f"an autoencoder outputs examples of its inputs' shape "
                               f"{list(shape)}, and these targets have shape {list(targets)}; "
                               "use a family that translates between shapes")

    def __init__(self, config: AutoencoderConfig, spec,
                 encoder: nn.Module | None = None, decoder: nn.Module | None = None):
        super().__init__(config, spec)
        built = build_networks(config, self.sample_shape)
        self.encoder = encoder or built[0]
        self.decoder = decoder or built[1]
        self._blocks = (built[2], built[3])  # plain lists: not registered twice
        self.z_dim = config.encoder[-1]

    # -- the model's face -------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, *sample_shape] -> [N, z_dim]`` codings (``[N, C, H, W]`` for conv nets)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codings back to ``[N, *sample_shape]``, in [0, 1] for a sigmoid output."""
        return self._output(self.decoder(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The input noise of a denoising autoencoder, as applied while training."""
        layers = [m for m in self.encoder if isinstance(m, (GaussianNoise, nn.Dropout))]
        for layer in layers:
            x = layer.train()(x)
            layer.train(self.training)
        return x

    def _output(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out) if self.config.output == "sigmoid" else out

    # -- losses -----------------------------------------------------------------------------
    def reconstruction_loss(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Mean over every value: MSE, or binary cross-entropy on the decoder's logits."""
        if self.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(out, x)
        return F.mse_loss(self._output(out), x)

    def sparsity_penalty(self, codings: torch.Tensor) -> torch.Tensor | None:
        """L1: weight x mean over examples of sum |a|. KL: weight x sum over units of
        KL(target || mean activation)."""
        cfg = self.config
        if cfg.sparsity == "l1":
            return cfg.sparsity_weight * codings.flatten(1).abs().sum(dim=1).mean()
        if cfg.sparsity == "kl":
            return cfg.sparsity_weight * kl_sparsity(codings, cfg.sparsity_target)
        return None

    def _losses(self, x: torch.Tensor, target: torch.Tensor
                ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The losses of reading ``x`` and outputting ``target``, and the decoder's raw output
        (logits for a sigmoid output)."""
        codings = self.encoder(x)
        out = self.decoder(codings)
        recon = self.reconstruction_loss(out, target)
        penalty = self.sparsity_penalty(codings)
        if penalty is None:
            return {"loss": recon}, out
        return {"loss": recon + penalty, "recon": recon, "sparsity": penalty}, out

    # -- the step contract ------------------------------------------------------------------
    @staticmethod
    def target(batch) -> torch.Tensor:
        """What the model learns to output: the batch's targets, else its inputs."""
        return batch.inputs if batch.targets is None else batch.targets

    def training_step(self, batch, optimizers, step):
        return self.minimize(self._losses(batch.inputs, self.target(batch))[0],
                             optimizers["model"])

    def closed_form_step(self, optimizers, fold_sgd):
        """A dense chain (noise, dropout, tied weights and sparsity included) trained on BCE
        or MSE: :class:`aegan.models.closed_form.AutoencoderStep`."""
        chains = closed_form.autoencoder_chains(self)
        return None if chains is None else closed_form.AutoencoderStep(
            self, chains, optimizers["model"], fold_sgd)

    @torch.no_grad()
    def validation_step(self, batch):
        target = self.target(batch)
        losses, out = self._losses(batch.inputs, target)  # in eval mode: reconstruct(x)
        losses["mse"] = F.mse_loss(self._output(out), target)
        return losses

    # -- greedy layer-wise pretraining --------------------------------------------------------
    def pretraining_stages(self):
        """The greedy stages (see :mod:`aegan.models.greedy`), or none."""
        return greedy_stages(self) if self.config.greedy else []
