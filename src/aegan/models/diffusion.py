"""Diffusion models (Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models"; Géron,
*Hands-On Machine Learning*, 3rd ed., chapter 17, "Diffusion models").

Training: an image ``x_0`` in [-1, 1], a timestep ``t`` uniform over ``0 .. T - 1`` and Gaussian
noise make ``x_t = sqrt(ab_t) x_0 + sqrt(1 - ab_t) noise`` (the schedule, ``model.schedule``
and ``model.timesteps``, is data in the config); the U-Net (:mod:`aegan.nets.unet`) learns to
output the noise, the clean image or the velocity (``model.prediction``), by MSE or Huber loss,
optionally weighted per timestep by min-SNR-gamma (``model.snr_gamma``).
An exponential moving average of its weights (``model.ema``, a sub-module, so checkpoints
hold it) samples. With ``num_classes`` > 0 the network also sees the class, replaced by "no
class" for a ``label_dropout`` share of the examples, so one network learns both the
conditional and the unconditional model and sampling can use classifier-free guidance
(Ho & Salimans 2022, "Classifier-Free Diffusion Guidance"): ``out = out(no class) + w
(out(class) - out(no class))``; w = 0 is unconditional, 1 conditional, more sharpens.

Sampling (:mod:`aegan.models.diffusion_generation`, the loops in
:mod:`aegan.models.diffusion_sampling`): DDIM or DDPM's ancestral sampler over S of
the T timesteps, chosen per call; the config holds the defaults. The codings of the
:class:`~aegan.models.base.LatentSampler` face are the initial noise ``x_T``, flattened
(``z_dim`` = the values of an example); ``decode`` is deterministic DDIM from them, ``encode``
its inversion, and codings are interpolated along great circles (slerp).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aegan.config import ConfigError, OptimConfig, is_int, is_number
from aegan.errors import DataError, DataMismatch
from aegan.models import diffusion_sampling as ds
from aegan.models.base import (
    ConditionalSampler,
    Encoder,
    IterativeSampler,
    LatentSampler,
    Model,
    Needs,
)
# CPU_CHUNK is read here too (aegan.models.diffusion.CPU_CHUNK, its first home)
from aegan.models.diffusion_generation import CPU_CHUNK, RANGE, DiffusionGeneration  # noqa: F401
from aegan.models.ema import ema_decay, ema_update_
from aegan.models.registry import register_model
from aegan.nets.unet import BookUNet, UNet, unet_sides
from aegan.optim import make_optimizer

NETS = ("unet", "book-unet")
LOSSES = ("mse", "huber")


@dataclass
class DiffusionConfig:
    """A diffusion model. ``net`` 'unet' (Ho et al.'s: ``channels`` per level, ``blocks`` per
    level, self-attention at the image sides in ``attention``, ``heads``, ``dropout``,
    ``groups`` of the group norms) or 'book-unet' (the third edition's, ``time_dim``-wide time
    encoding). The sampling defaults (``sampler``, ``sampling_steps``: None for all T,
    ``eta``, ``variance``, ``guidance``) can each be overridden when sampling."""

    family: str = "diffusion"
    net: str = "unet"
    channels: list[int] = field(default_factory=lambda: [32, 64, 64])
    blocks: int = 2
    attention: list[int] = field(default_factory=lambda: [7])
    heads: int = 1
    dropout: float = 0.1
    groups: int = 32
    time_dim: int = 64
    schedule: str = "linear"
    timesteps: int = 1000
    cosine_s: float = 0.008
    prediction: str = "eps"
    loss: str = "mse"
    huber_delta: float = 1.0
    snr_gamma: float = 0.0  # > 0: min-SNR-gamma loss weights (Hang et al. 2023), such as 5
    ema: float = 0.999  # decay of the moving average that samples (0: sample with the live net)
    clip_x0: bool = True  # clamp the predicted clean image to [-1, 1] while sampling
    num_classes: int = 0  # > 0: conditional on labels 0 .. num_classes - 1
    label_dropout: float = 0.1  # share of training examples whose class is hidden
    sampler: str = "ddim"
    sampling_steps: int | None = None  # None: all T
    eta: float = 0.0
    variance: str = "small"
    guidance: float = 1.0
    sampling_precision: str = "auto"  # the passes while sampling: auto (bf16 where native), fp32, bf16

    def __post_init__(self) -> None:
        for key, choices in (("net", NETS), ("schedule", ds.SCHEDULES),
                             ("prediction", ds.PREDICTIONS), ("loss", LOSSES),
                             ("sampler", ds.SAMPLERS), ("variance", ds.VARIANCES),
                             ("sampling_precision", ds.PRECISIONS)):
            if getattr(self, key) not in choices:
                raise ConfigError(f"unknown model.{key} {getattr(self, key)!r}; choose one of "
                                  f"{', '.join(choices)}")
        for ok, message in self._checks():
            if not ok:
                raise ConfigError(message)
        ds.check_options(self.timesteps, self.num_classes > 0, self.sampling_steps, self.eta,
                         self.guidance, ds.FIELDS)

    def _checks(self):
        def widths(v):
            return isinstance(v, list) and all(is_int(n) and n >= 1 for n in v)

        return (
            (widths(self.channels) and len(self.channels) >= 1,
             f"model.channels must list positive widths, one per level, such as [32, 64, 64], "
             f"got {self.channels}"),
            (widths(self.attention), f"model.attention must list image sides (such as [7]) or be "
                                     f"empty, got {self.attention}"),
            (is_int(self.blocks) and self.blocks >= 1, f"model.blocks must be at least 1, got {self.blocks}"),
            (is_int(self.heads) and self.heads >= 1, f"model.heads must be at least 1, got {self.heads}"),
            (is_int(self.groups) and self.groups >= 1, f"model.groups must be at least 1, got {self.groups}"),
            (is_int(self.time_dim) and self.time_dim >= 2 and self.time_dim % 2 == 0,
             f"model.time_dim must be an even number of at least 2, got {self.time_dim}"),
            (is_number(self.dropout) and 0 <= self.dropout < 1,
             f"model.dropout must be in [0, 1), got {self.dropout}"),
            (is_int(self.timesteps) and self.timesteps >= 2,
             f"model.timesteps (T) must be at least 2, got {self.timesteps}"),
            (is_number(self.cosine_s) and self.cosine_s > 0,
             f"model.cosine_s must be a small positive offset, such as 0.008, got {self.cosine_s}"),
            (is_number(self.huber_delta) and self.huber_delta > 0,
             f"model.huber_delta must be positive, got {self.huber_delta}"),
            (is_number(self.snr_gamma) and self.snr_gamma >= 0,
             f"model.snr_gamma must be 0 (off) or positive, such as 5, got {self.snr_gamma}"),
            (is_number(self.ema) and 0 <= self.ema < 1,
             f"model.ema must be a decay in [0, 1), such as 0.999 (0: off), got {self.ema}"),
            (isinstance(self.clip_x0, bool), "model.clip_x0 must be true or false"),
            (is_int(self.num_classes) and self.num_classes >= 0 and self.num_classes != 1,
             f"model.num_classes must be 0 (unconditional) or at least 2, got {self.num_classes}"),
            (is_number(self.label_dropout) and 0 <= self.label_dropout < 1,
             f"model.label_dropout must be in [0, 1), such as 0.1, got {self.label_dropout}"),
            (self.net != "book-unet" or self.num_classes == 0,
             "net 'book-unet' is the book's unconditional network; use net 'unet' for "
             "num_classes > 0"),
        )


def check_net(config: DiffusionConfig, shape: tuple[int, ...]) -> None:
    """Raise ValueError when ``config``'s network cannot take images of ``shape`` [C, H, W]."""
    _, h, w = shape
    if config.net == "book-unet":
        if h % 2 or w % 2:
            raise ValueError(f"net 'book-unet' takes images of even sides, and these are {h}x{w}"
                             "; use net 'unet'")
        return
    sides = unet_sides(h, len(config.channels))
    unet_sides(w, len(config.channels))
    missing = [s for s in config.attention if s not in sides]
    if missing:
        raise ValueError(f"model.attention names side {missing[0]}, which this U-Net does not "
                         f"reach on {h}x{w} images; choose among {sides} (or [])")
    for width, side in zip(config.channels, sides):
        if side in config.attention and width % config.heads:
            raise ValueError(f"{config.heads} attention heads do not divide the {width} channels "
                             f"at side {side}; change model.heads")


def _network(config: DiffusionConfig, shape: tuple[int, ...]) -> torch.nn.Module:
    if config.net == "book-unet":
        return BookUNet(shape, config.time_dim)
    return UNet(shape, config.channels, config.blocks, tuple(config.attention), config.dropout,
                config.num_classes, config.heads, config.groups)


@register_model("diffusion", DiffusionConfig)
class Diffusion(DiffusionGeneration, Model, IterativeSampler, LatentSampler, ConditionalSampler,
                Encoder):
    """A denoising network and its noise schedule; its sampling side is
    :class:`~aegan.models.diffusion_generation.DiffusionGeneration`, its samplers the functions of
    :mod:`diffusion_sampling`."""

    family = "diffusion"

    @classmethod
    def capabilities(cls, config: DiffusionConfig):
        conditional = config.num_classes > 0
        return tuple(c for c in super().capabilities(config)
                     if conditional or c is not ConditionalSampler)

    @classmethod
    def needs(cls, config: DiffusionConfig) -> Needs:
        k = config.num_classes
        return Needs(("images",), RANGE, "drop data.scale (images are scaled to [-1, 1] when "
                     "loaded)", labels=k > 0, num_classes=k,
                     labels_remedy="give labelled data, or set model.num_classes 0",
                     kinds_remedy="a diffusion model's U-Net denoises images [C, H, W]")

    @classmethod
    def check_data(cls, config: DiffusionConfig, spec) -> None:
        super().check_data(config, spec)
        try:
            check_net(config, spec.inputs)
        except ValueError as exc:
            raise DataMismatch(str(exc)) from None

    def __init__(self, config: DiffusionConfig, spec):
        super().__init__(config, spec)
        self.net = _network(config, self.sample_shape)
        self.net_ema = (copy.deepcopy(self.net).requires_grad_(False) if config.ema else None)
        if config.ema:
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
        self.ab = ds.alphas_cumprod(config.schedule, config.timesteps, config.cosine_s)  # float64
        self.register_buffer("alphas_cumprod", self.ab.float(), persistent=False)
        self.num_timesteps, self.num_classes = config.timesteps, config.num_classes
        self.z_dim = math.prod(self.sample_shape)
        self.value_range = RANGE

    # -- the step contract --------------------------------------------------------------------
    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_optimizer(self.net.parameters(), cfg)}

    def losses(self, net, x0: torch.Tensor, labels, t: torch.Tensor,
               noise: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss of ``net`` on ``x0`` noised to timesteps ``t`` ``[N]`` with ``noise``."""
        ab = self.alphas_cumprod[t]
        out = net(ds.q_sample(x0, ab, noise), t, labels)
        goal = ds.target(self.config.prediction, x0, noise, ab)
        cfg = self.config
        reduction = "none" if cfg.snr_gamma else "mean"
        if cfg.loss == "huber":
            loss = F.huber_loss(out, goal, delta=cfg.huber_delta, reduction=reduction)
        else:
            loss = F.mse_loss(out, goal, reduction=reduction)
        if cfg.snr_gamma:  # the mean over each example's values, weighted by its timestep
            weight = ds.min_snr_weight(cfg.prediction, ab, cfg.snr_gamma)
            loss = (loss.float().flatten(1).mean(1) * weight).mean()
        return {"loss": loss}

    def _batch_labels(self, batch) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if batch.labels is None:
            raise DataError("a conditional diffusion model trains on labelled data; these "
                            "data have none")
        return batch.labels

    def training_step(self, batch, optimizers, step):
        x0, labels = batch.inputs, self._batch_labels(batch)
        if labels is not None and self.config.label_dropout:
            hidden = torch.rand(len(labels), device=labels.device) < self.config.label_dropout
            labels = labels.masked_fill(hidden, self.num_classes)
        t = torch.randint(self.num_timesteps, (len(x0),), device=x0.device)
        noise = torch.randn_like(x0)
        out = self.minimize(self.losses(self.net, x0, labels, t, noise), optimizers["model"])
        self.follow_average()
        return out

    def follow_average(self) -> None:
        """After an optimizer step the moving average follows (with ``ema``)."""
        if self.net_ema is not None:
            ema_update_(self.net_ema, self.net, ema_decay(self.config.ema, int(self.ema_updates)))
            self.ema_updates += 1

    @torch.no_grad()
    def validation_step(self, batch):
        """The loss at seeded timesteps and noise (the same for every batch and epoch), of the
        live network and (``ema_loss``) of its moving average. The draws repeat from batch to
        batch, so the loss is comparable between epochs and runs of one ``valid_batch_size``,
        not across sizes."""
        x0, labels = batch.inputs, self._batch_labels(batch)
        g = torch.Generator().manual_seed(0)
        t = torch.randint(self.num_timesteps, (len(x0),), generator=g).to(x0.device)
        noise = torch.randn(x0.shape, generator=g).to(x0.device)
        out = self.losses(self.net, x0, labels, t, noise)
        if self.net_ema is not None:
            out["ema_loss"] = self.losses(self.net_ema, x0, labels, t, noise)["loss"]
        return out
