"""Conditional image-to-image translation: pix2pix (Isola et al. 2017) and SRGAN (Ledig et al.
2017) on one Trainer.

A generator ``G(x) -> y`` (a U-Net or SRGAN's residual generator, :mod:`aegan.nets.translation`)
and a PatchGAN discriminator that judges ``(input, output)`` pairs, the input resized to the
output's size (nearest neighbour) and stacked on its channels. One training step is pix2pix's:
``G`` translates the batch once; the discriminator learns on the real pairs and the translated
ones; then the generator learns through the frozen discriminator on

    lambda_adv * adversarial + lambda_l1 * L1(G(x), y)
      + lambda_fm * feature matching + lambda_perceptual * perceptual,

with pix2pix's lambda_l1 = 100 by default. The adversarial terms are any loss of
:mod:`aegan.models.gan_losses`, averaged over the discriminator's patches. Feature matching is
the L1 distance between the discriminator's features of the translated and the real pairs, per
layer, averaged over layers (pix2pixHD, Wang et al. 2018, eq. 4). The perceptual loss is the L1
distance between the features of the output and of the target in the data set's own classifier
(trained on its labels, handed in by the caller: nothing is downloaded; Johnson et al. 2016 use
a pretrained VGG the same way).

``lambda_adv = 0`` (and no feature matching) is the regression baseline: the same generator
trained on L1 alone, with no discriminator. Generator EMA (``ema``), batch-norm statistics and
spectral-norm vectors are buffers, dropout draws from the global generator: resume is exact.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aegan.config import ConfigError, OptimConfig, is_int, is_number
from aegan.errors import DataError, DataMismatch, RunError
from aegan.models.base import Model, Needs, Translator, evaluating
from aegan.models.gan import ema_update_, frozen
from aegan.models.gan_losses import LOSSES, gradient_penalty
from aegan.models.registry import register_model
from aegan.nets.gan import apply_spectral_norm
from aegan.nets.translation import (
    NORMS,
    UPSAMPLING,
    PatchGAN,
    SRResNet,
    UNet,
    halvings,
    patch_layers,
    size_problem,
)
from aegan.optim import make_optimizer

RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}
OUTPUT = {"unit": "sigmoid", "symmetric": "tanh"}
GENERATORS = ("unet", "srresnet")
LAMBDAS = ("lambda_adv", "lambda_l1", "lambda_fm", "lambda_perceptual")


@dataclass
class TranslatorConfig:
    """An image-to-image translator. ``generator``: ``unet`` (same size in and out) or
    ``srresnet`` (super-resolution by a power of two, read from the data). ``g_channels``: the
    U-Net's first width (doubling to ``g_max_channels``) or the residual trunk's width;
    ``depth``: the U-Net's levels (None: as many as the image side halves, at most 8);
    ``blocks``: residual blocks. ``d_layers``: the PatchGAN's stride-2 layers (None: a
    receptive field of 70/256 of the side, as pix2pix's at 256 px)."""

    family: str = "translator"
    generator: str = "unet"
    g_channels: int = 64
    g_max_channels: int = 512
    depth: int | None = None
    blocks: int = 16
    upsample: str = "transpose"  # or "resize": nearest-neighbour resize and a 3x3 convolution
    dropout: float = 0.5  # on the three innermost decoder levels of the U-Net
    norm: str = "batch"  # of both networks: batch, instance or none
    d_channels: int = 64
    d_max_channels: int = 512
    d_layers: int | None = None
    loss: str = "bce"
    gp_weight: float = 10.0  # of loss wgan-gp
    spectral_norm: bool = False  # of the discriminator
    lambda_adv: float = 1.0  # 0 (and lambda_fm 0): L1 regression, no discriminator
    lambda_l1: float = 100.0
    lambda_fm: float = 0.0
    lambda_perceptual: float = 0.0  # needs labelled data: the data set's classifier
    value_range: str = "symmetric"
    ema: float = 0.0  # decay of the generator's moving average, used to translate (0: off)
    g_lr: float = 1.0  # multipliers of optim.lr for each player
    d_lr: float = 1.0

    @property
    def data_range(self) -> tuple[float, float]:
        return RANGES[self.value_range]

    @property
    def adversarial(self) -> bool:
        """Whether a discriminator is trained (an adversarial or feature-matching term)."""
        return self.lambda_adv > 0 or self.lambda_fm > 0

    def __post_init__(self) -> None:
        for key, choices in (("generator", GENERATORS), ("upsample", UPSAMPLING), ("norm", NORMS),
                             ("loss", tuple(LOSSES)), ("value_range", tuple(RANGES))):
            if getattr(self, key) not in choices:
                raise ConfigError(f"unknown model.{key} {getattr(self, key)!r}; choose one of "
                                  f"{', '.join(choices)}")
        for key in ("g_channels", "g_max_channels", "d_channels", "d_max_channels", "blocks"):
            if not is_int(getattr(self, key)) or getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be a positive whole number, got "
                                  f"{getattr(self, key)!r}")
        for key, most in (("depth", 8), ("d_layers", 5)):
            value = getattr(self, key)
            if value is not None and not (is_int(value) and (key == "d_layers" or value >= 1)
                                          and 0 <= value <= most):
                raise ConfigError(f"model.{key} must be null (from the image size) or a whole "
                                  f"number up to {most}, got {value!r}")
        for key in (*LAMBDAS, "gp_weight"):
            if not is_number(getattr(self, key)) or getattr(self, key) < 0:
                raise ConfigError(f"model.{key} must be a number >= 0, got {getattr(self, key)!r}")
        checks = (
            (is_number(self.dropout) and 0 <= self.dropout < 1,
             f"model.dropout must be in [0, 1), such as 0.5, got {self.dropout!r}"),
            (is_number(self.ema) and 0 <= self.ema < 1,
             f"model.ema must be a decay in [0, 1), such as 0.999 (0: off), got {self.ema!r}"),
            (all(is_number(v) and v > 0 for v in (self.g_lr, self.d_lr)),
             f"model.g_lr and model.d_lr multiply optim.lr and must be positive, got "
             f"{self.g_lr!r} and {self.d_lr!r}"),
            (isinstance(self.spectral_norm, bool), "model.spectral_norm must be true or false"),
            (self.lambda_l1 > 0 or self.adversarial or self.lambda_perceptual > 0,
             "every loss weight is 0: set model.lambda_l1 (pix2pix: 100) or lambda_adv"),
        )
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


def _factor(inputs: tuple[int, ...], targets: tuple[int, ...]) -> int | None:
    """The integer factor from the inputs' sides to the targets', or None."""
    (_, h, w), (_, th, tw) = inputs, targets
    if th % h or tw % w or th // h != tw // w:
        return None
    return th // h


@register_model("translator", TranslatorConfig)
class ImageTranslator(Model, Translator):
    """A generator that translates input images to target images, trained with a PatchGAN
    discriminator (or on L1 alone)."""

    family = "translator"
    monitor = "l1"

    @classmethod
    def needs(cls, config: TranslatorConfig) -> Needs:
        remedy = ("drop data.scale (images are scaled to the model's range when loaded), or "
                  "change model.value_range")
        return Needs(("images",), config.data_range, remedy, roles=("inputs", "targets"),
                     labels=config.lambda_perceptual > 0,
                     labels_remedy="the perceptual loss reads the data set's classifier, "
                                   "trained on its labels; set model.lambda_perceptual 0",
                     kinds_remedy="a translator maps images [C, H, W] to images")

    @classmethod
    def check_data(cls, config: TranslatorConfig, spec) -> None:
        super().check_data(config, spec)
        inputs, targets = spec.inputs, spec.shapes["targets"]
        if len(targets) != 3:
            raise DataMismatch(f"a translator outputs images, and these targets have shape "
                               f"{list(targets)}")
        if config.generator == "unet":
            if inputs[1:] != targets[1:]:
                raise DataMismatch(f"a U-Net outputs images of its inputs' size {inputs[1]}x"
                                   f"{inputs[2]}, and these targets are {targets[1]}x"
                                   f"{targets[2]}; use model.generator 'srresnet' for "
                                   "super-resolution")
            depth = cls.unet_depth(config, inputs)
            problem = size_problem(inputs[1:], 2 ** depth, f"a U-Net of {depth} levels")
            if depth < 1 or problem:
                raise DataMismatch((problem or f"a U-Net halves the image side, and "
                                    f"{inputs[1]}x{inputs[2]} images cannot be halved")
                                   + "; set model.depth, or resize the images")
        else:
            factor = _factor(inputs, targets)
            if factor is None or factor < 2 or factor & (factor - 1):
                raise DataMismatch(f"the residual generator upsamples by 2, 4, 8...: these "
                                   f"inputs are {inputs[1]}x{inputs[2]} and their targets "
                                   f"{targets[1]}x{targets[2]}; use model.generator 'unet' "
                                   "for images of one size")

    @staticmethod
    def unet_depth(config: TranslatorConfig, shape: tuple[int, ...]) -> int:
        """The U-Net's levels: ``config.depth``, or as many as both sides halve (at most 8)."""
        if config.depth is not None:
            return config.depth
        return min(halvings(shape[1]), halvings(shape[2]))

    def __init__(self, config: TranslatorConfig, spec):
        super().__init__(config, spec)
        c = config
        self.target_shape = tuple(self.spec.shapes["targets"])
        c_in, c_out = self.sample_shape[0], self.target_shape[0]
        out = OUTPUT[c.value_range]
        self.factor = 1  # of super-resolution
        if c.generator == "unet":
            self.depth = self.unet_depth(c, self.sample_shape)
            self.generator = UNet(c_in, c_out, self.depth, c.g_channels, c.g_max_channels,
                                  c.dropout, upsample=c.upsample, norm=c.norm, output=out)
        else:
            self.depth = 0
            self.factor = _factor(self.sample_shape, self.target_shape)
            self.generator = SRResNet(c_in, c_out, self.factor, c.g_channels, c.blocks, out)
        self.discriminator = None
        if c.adversarial:
            layers = c.d_layers if c.d_layers is not None else patch_layers(
                min(self.target_shape[1:]))
            norm = "none" if c.spectral_norm or c.loss == "wgan-gp" else c.norm
            self.discriminator = PatchGAN(c_in + c_out, layers, c.d_channels, c.d_max_channels,
                                          norm)
            if c.spectral_norm:
                apply_spectral_norm(self.discriminator)
        self.generator_ema = (copy.deepcopy(self.generator).requires_grad_(False)
                              if c.ema else None)
        if c.ema:
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
        self.value_range = c.data_range
        self.loss_d, self.loss_g = LOSSES[c.loss]
        self._external: dict[str, nn.Module] = {}  # handed in, not registered (not weights)

    # -- what the model reads and outputs --------------------------------------------------
    def input_problem(self, shape: tuple[int, ...]) -> str | None:
        """None when the generator takes images of ``shape`` ``[C, H, W]``; else what is wrong
        with it, naming the sizes it takes."""
        channels = self.sample_shape[0]
        if len(shape) != 3 or shape[0] != channels:
            have = f"{shape[0]} channel(s)" if len(shape) == 3 else f"shape {list(shape)}"
            kind = {1: "grey", 3: "colour (RGB)"}.get(channels, f"{channels}-channel")
            return f"this model translates {kind} images of {channels} channel(s), not {have}"
        if self.depth:
            return size_problem(shape[1:], 2 ** self.depth, f"this U-Net of {self.depth} levels")
        return None

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape ``[C, H, W]`` of the translation of inputs of ``shape``."""
        return (self.target_shape[0], shape[1] * self.factor, shape[2] * self.factor)

    @torch.no_grad()
    def translate(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, H, W] -> [N, C_out, k H, k W]`` (k: the super-resolution factor, else 1)
        in ``value_range``, by the averaged generator when there is one, in eval mode (dropout
        off: one output per input). Inputs of a shape it cannot take raise a DataError that
        names the sizes it can."""
        problem = self.input_problem(tuple(x.shape[1:]))
        if problem:
            raise DataError(problem)
        g = self.generator_ema if self.generator_ema is not None else self.generator
        weight = next(g.parameters())
        with evaluating(g):
            return g(x.to(weight.device, weight.dtype))

    # -- external networks ------------------------------------------------------------------
    def external_networks(self) -> tuple[str, ...]:
        return ("classifier",) if self.config.lambda_perceptual > 0 else ()

    def attach_network(self, name: str, network: nn.Module) -> None:
        """``classifier``: a network mapping images in the model's range to features (the
        data set's classifier's penultimate layer), for the perceptual loss."""
        if name not in self.external_networks():
            super().attach_network(name, network)
        self._external[name] = network.eval().requires_grad_(False)

    def _perceptual_net(self) -> nn.Module:
        net = self._external.get("classifier")
        if net is None:
            raise RunError("model.lambda_perceptual > 0 needs the data set's classifier handed "
                           "in (attach_network('classifier', ...)); aegan.api.train does it")
        return net.to(next(self.generator.parameters()).device)

    # -- losses ---------------------------------------------------------------------------
    def pair(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The discriminator's input: ``x`` resized to ``y``'s size (nearest neighbour) and
        stacked on ``y``'s channels, ``[N, C_in + C_out, H, W]``."""
        if x.shape[-2:] != y.shape[-2:]:
            x = F.interpolate(x, size=y.shape[-2:], mode="nearest")
        return torch.cat([x, y], dim=1)

    def generator_losses(self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor
                         ) -> dict[str, torch.Tensor]:
        """The generator's terms and their weighted sum ``g_loss`` for translations ``fake``
        of ``x`` whose targets are ``y``."""
        c = self.config
        l1 = (fake - y).abs().mean()
        out = {"l1": l1}
        total = c.lambda_l1 * l1
        if self.discriminator is not None:
            logits, fake_features = self.discriminator.features(self.pair(x, fake))
            out["g_adv"] = self.loss_g(logits.flatten(1))
            total = total + c.lambda_adv * out["g_adv"]
            if c.lambda_fm > 0:
                with torch.no_grad():
                    real_features = self.discriminator.features(self.pair(x, y))[1]
                out["fm"] = torch.stack([(f - r).abs().mean() for f, r in
                                         zip(fake_features, real_features)]).mean()
                total = total + c.lambda_fm * out["fm"]
        if c.lambda_perceptual > 0:
            net = self._perceptual_net()
            with torch.no_grad():
                target_features = net(y)
            out["perceptual"] = (net(fake) - target_features).abs().mean()
            total = total + c.lambda_perceptual * out["perceptual"]
        out["g_loss"] = total
        return out

    def discriminator_losses(self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor,
                             penalty: bool = True) -> dict[str, torch.Tensor]:
        """The discriminator's loss on the real pairs ``(x, y)`` and the translated ones."""
        real_pair, fake_pair = self.pair(x, y), self.pair(x, fake.detach())
        real_logits = self.discriminator(real_pair).flatten(1)  # [N, patches]
        fake_logits = self.discriminator(fake_pair).flatten(1)
        d_loss = self.loss_d(real_logits, fake_logits, 1.0)
        out = {"d_loss": d_loss, "d_real": real_logits.mean().detach(),
               "d_fake": fake_logits.mean().detach()}
        total = d_loss
        if self.config.loss == "wgan-gp" and penalty:
            gp = gradient_penalty(lambda p: self.discriminator(p).flatten(1).mean(1),
                                  real_pair, fake_pair)
            out["gp"] = gp.detach()
            total = total + self.config.gp_weight * gp
        out["d_total"] = total
        return out

    # -- the step contract ----------------------------------------------------------------
    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        optimizers = {"generator": make_optimizer(self.generator.parameters(),
                                                  dataclasses.replace(cfg, lr=cfg.lr * c.g_lr))}
        if self.discriminator is not None:
            optimizers["discriminator"] = make_optimizer(
                self.discriminator.parameters(), dataclasses.replace(cfg, lr=cfg.lr * c.d_lr))
        return optimizers

    def _pair_of(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        if batch.targets is None:
            raise DataError("a translator trains on inputs paired with targets; these data "
                            "have no targets")
        return batch.inputs, batch.targets

    def training_step(self, batch, optimizers, step):
        """pix2pix's step: translate once, a discriminator step on the real and translated
        pairs, then a generator step through the frozen discriminator."""
        x, y = self._pair_of(batch)
        fake = self.generator(x)
        out = {}
        if self.discriminator is not None:
            out = self.minimize(self.discriminator_losses(x, y, fake),
                                optimizers["discriminator"], key="d_total")
            out.pop("d_total")
            with frozen(self.discriminator):
                g = self.minimize(self.generator_losses(x, y, fake), optimizers["generator"],
                                  key="g_loss")
        else:
            g = self.minimize(self.generator_losses(x, y, fake), optimizers["generator"],
                              key="g_loss")
        if self.generator_ema is not None:
            updates = int(self.ema_updates)
            ema_update_(self.generator_ema, self.generator,
                        min(self.config.ema, (1 + updates) / (10 + updates)))
            self.ema_updates += 1
        return {**g, **out}

    @torch.no_grad()
    def validation_step(self, batch):
        """L1 of the translations (the averaged generator's, with ``ema``) and both players'
        losses on a validation batch (no gradient penalty)."""
        x, y = self._pair_of(batch)
        g = self.generator_ema if self.generator_ema is not None else self.generator
        fake = g(x)
        out = {"l1": (fake - y).abs().mean(), "mse": (fake - y).square().mean()}
        if self.discriminator is not None:
            d = self.discriminator_losses(x, y, fake, penalty=False)
            out.update({k: v for k, v in d.items() if k != "d_total"})
            out["g_adv"] = self.loss_g(self.discriminator(self.pair(x, fake)).flatten(1))
        return out
