"""Generative adversarial networks (Géron, 2nd ed., section 17.9; Goodfellow et al. 2014).

One training step is the book's two phases: the discriminator learns on a half-real, half-fake
batch (``n_critic`` times, fresh codings each time, the same real batch), then the generator
learns through the frozen discriminator: its weights get no gradient, its batch-norm running
statistics and spectral-norm vectors are left as they were, and only the generator's
optimizer steps.

Stabilizers, each an option of :class:`GANConfig`: the losses of :mod:`aegan.models.gan_losses`
(the WGAN-GP penalty with one interpolation weight per example), one-sided label smoothing,
experience replay of old fakes (the book's remedy for mode collapse, chapter 17's exercise:
part of each fake batch is drawn from a buffer of earlier ones), spectral normalization,
a minibatch standard-deviation feature, separate learning rates for the two players, and an
exponential moving average of the generator's weights used for sampling (Karras et al. 2018;
Yazici et al. 2019). The average, the replay buffer and the spectral-norm vectors are buffers
of the model, so a checkpoint holds them and resume is exact.

With ``num_classes`` > 0 the GAN is conditional (Mirza & Osindero 2014): both players see the
class label, and ``sample(n, labels=...)`` draws images of the classes asked for.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from aegan.config import ConfigError, OptimConfig
from aegan.errors import DataError
from aegan.models import closed_form
from aegan.models.base import (ConditionalSampler, Grower, LatentSampler, Model, Needs,
                               StyleMixer, TruncatedSampler)
from aegan.models.ema import ema_decay, ema_update_
from aegan.models.gan_losses import LOSSES, gradient_penalty
from aegan.models.progressive import GROWING, Growth, check_growth_config
from aegan.models.registry import register_model
from aegan.models.replay import replayed
from aegan.nets.gan import (Discriminator, Generator, apply_spectral_norm, book_dcgan_players,
                            dcgan_players, dense_players)
from aegan.nets.style import ProgressiveDiscriminator, ProgressiveGenerator
from aegan.optim import make_optimizer

RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}
OUTPUT = {"unit": "sigmoid", "symmetric": "tanh"}


def _players(cfg, shape, z_in, out):
    if cfg.net == "dense":
        return dense_players(shape, z_in, out)
    if cfg.net == "book-dcgan":
        return book_dcgan_players(shape, z_in, out)
    if cfg.net in GROWING:
        mode = cfg.style if cfg.net == "stylegan" else "none"
        g = ProgressiveGenerator(z_in, shape, cfg.g_channels, out, mode, cfg.mapping_layers,
                                 cfg.mapping_lr, cfg.noise, cfg.grows, cfg.g_architecture == "skip")
        d = ProgressiveDiscriminator(shape, cfg.d_channels, RANGES[cfg.value_range][0], cfg.grows,
                                     cfg.d_architecture == "resnet")
        return g, d, cfg.d_channels[0]
    return dcgan_players(shape, z_in, out, cfg.g_channels, cfg.d_channels,
                         cfg.d_batch_norm and cfg.loss != "wgan-gp" and not cfg.spectral_norm)


NETS = ("dense", "book-dcgan", "dcgan", *GROWING)


def _count(value, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _number(value, low: float, high: float | None = None) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= low
            and (high is None or value < high))


@dataclass
class GANConfig:
    """A GAN. ``value_range`` is the data's range the generator produces ('unit': [0, 1] with a
    sigmoid output, 'symmetric': [-1, 1] with tanh); the data config's ``scale`` must match.
    ``g_channels`` / ``d_channels``: the widths of net 'dcgan' (one stride-2 layer each).
    ``d_batch_norm`` is ignored (no BN in D) with wgan-gp or spectral_norm.

    Nets 'progan' and 'stylegan' (:mod:`aegan.models.progressive`): ``g_channels`` /
    ``d_channels`` give one width per resolution from 4x4 up to the padded side (32: four);
    the growth schedule in real images (``stable_images``, ``fade_images``; both 0: no growth)
    and ``batch_sizes`` per resolution; for 'stylegan' the ``style`` ('adain': StyleGAN 1,
    'modulated': StyleGAN 2), a mapping network of ``mapping_layers`` (learning rate
    ``mapping_lr`` x), ``noise`` inputs, ``style_mixing`` probability; for both R1
    (``r1_weight``, lazily every ``r1_interval`` D steps) and StyleGAN 2's architectures
    (``g_architecture`` 'skip', ``d_architecture`` 'resnet'); for 'stylegan' path-length
    regularisation (``pl_weight``, every ``pl_interval`` G steps)."""

    family: str = "gan"
    net: str = "dense"
    z_dim: int = 30
    value_range: str = "unit"
    loss: str = "bce"
    g_channels: list[int] = field(default_factory=lambda: [128, 64])
    d_channels: list[int] = field(default_factory=lambda: [64, 128])
    d_batch_norm: bool = True
    gp_weight: float = 10.0
    n_critic: int = 1
    label_smoothing: float = 0.0  # one-sided: real targets 1 - label_smoothing
    replay: int = 0  # experience replay: fakes kept (0: off)
    replay_fraction: float = 0.5  # of each fake batch drawn from the buffer once it is full
    spectral_norm: bool = False
    minibatch_std: bool = False
    ema: float = 0.0  # decay of the generator's moving average (0: off)
    g_lr: float = 1.0  # multipliers of optim.lr for each player
    d_lr: float = 1.0
    num_classes: int = 0  # > 0: conditional on labels 0 .. num_classes - 1
    fade_images: int = 0
    stable_images: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    style: str = "modulated"
    mapping_layers: int = 2
    mapping_lr: float = 0.01
    noise: bool = True
    style_mixing: float = 0.9
    r1_weight: float = 0.0
    r1_interval: int = 16
    pl_weight: float = 0.0  # path-length regularisation of net 'stylegan' (0: off; paper: 2)
    pl_interval: int = 4
    g_architecture: str = "orig"  # or 'skip' (nets 'progan' and 'stylegan', without growth)
    d_architecture: str = "orig"  # or 'resnet'

    @property
    def data_range(self) -> tuple[float, float]:
        return RANGES[self.value_range]

    @property
    def grows(self) -> bool:
        """A growing net starts at 4x4 and grows on the schedule (both phases 0: full size)."""
        return bool(self.fade_images or self.stable_images)

    def __post_init__(self) -> None:
        for key, choices in (("net", NETS), ("loss", tuple(LOSSES)),
                             ("value_range", tuple(RANGES))):
            if getattr(self, key) not in choices:
                raise ConfigError(f"unknown model.{key} {getattr(self, key)!r}; choose one of "
                                  f"{', '.join(choices)}")
        for name in ("g_channels", "d_channels"):
            widths = getattr(self, name)
            if not isinstance(widths, list) or not widths or not all(_count(n, 1) for n in widths):
                raise ConfigError(f"model.{name} must list positive channel widths, such as "
                                  f"[128, 64], got {widths}")
        checks = (
            (_count(self.z_dim, 1), f"model.z_dim must be a positive number of codings, got {self.z_dim}"),
            (_number(self.gp_weight, 0), f"model.gp_weight must be a number >= 0, got {self.gp_weight}"),
            (_count(self.n_critic, 1), f"model.n_critic must be at least 1, got {self.n_critic}"),
            (_number(self.label_smoothing, 0, 0.5),
             f"model.label_smoothing must be in [0, 0.5), such as 0.1, got {self.label_smoothing}"),
            (_count(self.replay, 0), f"model.replay must be a number of fakes >= 0, got {self.replay}"),
            (_number(self.replay_fraction, 0, 1) and self.replay_fraction > 0,
             f"model.replay_fraction must be in (0, 1), such as 0.5, got {self.replay_fraction}"),
            (_number(self.ema, 0, 1), f"model.ema must be a decay in [0, 1), such as 0.999 (0: off), "
                                      f"got {self.ema}"),
            (_number(self.g_lr, 0) and self.g_lr > 0 and _number(self.d_lr, 0) and self.d_lr > 0,
             f"model.g_lr and model.d_lr multiply optim.lr and must be positive, got "
             f"{self.g_lr} and {self.d_lr}"),
            (_count(self.num_classes, 0) and self.num_classes != 1,
             f"model.num_classes must be 0 (unconditional) or at least 2, got {self.num_classes}"),
            (isinstance(self.spectral_norm, bool) and isinstance(self.minibatch_std, bool)
             and isinstance(self.d_batch_norm, bool),
             "model.spectral_norm, minibatch_std and d_batch_norm must be true or false"),
            (self.label_smoothing == 0 or self.loss != "wgan-gp",
             "model.label_smoothing has no meaning for loss 'wgan-gp' (there are no targets); "
             "set it to 0"),
        )
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        check_growth_config(self)


@contextlib.contextmanager
def frozen(module: nn.Module):
    """While the block runs: no gradient for ``module``'s weights, its batch norms normalize
    with the batch's statistics without updating their running ones, and its spectral norms
    use their stored vectors without a power iteration. Everything is restored after."""
    params = [p for p in module.parameters() if p.requires_grad]
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    spectral = [m for m in module.modules() if hasattr(m, "_u") and m.training]
    for p in params:
        p.requires_grad_(False)
    for m in norms:
        m.track_running_stats = False  # in training mode: batch statistics, no update
    for m in spectral:
        m.eval()
    try:
        yield module
    finally:
        for p in params:
            p.requires_grad_(True)
        for m in norms:
            m.track_running_stats = True
        for m in spectral:
            m.train()


@register_model("gan", GANConfig)
class GAN(Model, Growth, LatentSampler, ConditionalSampler, TruncatedSampler, StyleMixer,
          Grower):
    """A generator and a discriminator trained against each other."""

    family = "gan"
    monitor = "g_loss"

    @classmethod
    def capabilities(cls, config: GANConfig):
        off = ({ConditionalSampler} if config.num_classes == 0 else set()) | (
            {TruncatedSampler, StyleMixer} if config.net != "stylegan" else set()) | (
            {Grower} if not config.grows else set())
        return tuple(c for c in super().capabilities(config) if c not in off)

    @classmethod
    def needs(cls, config: GANConfig) -> Needs:
        k = config.num_classes
        kinds = Needs().kinds if config.net == "dense" else ("images",)
        remedy = ("drop data.scale (images are scaled to the model's range when loaded), "
                  "scale other data to [0, 1] first, or change model.value_range")
        return Needs(kinds, config.data_range, remedy, labels=k > 0, num_classes=k,
                     labels_remedy="give labelled data, or set model.num_classes 0",
                     kinds_remedy=f"net {config.net!r} makes images [C, H, W]; use net "
                     "'dense' for other data")

    def __init__(self, config: GANConfig, spec):
        super().__init__(config, spec)
        k = config.num_classes
        try:
            g, d, n_features = _players(config, self.sample_shape, config.z_dim + k,
                                        OUTPUT[config.value_range])
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.generator = Generator(g, k)
        self.discriminator = Discriminator(d, n_features, k, config.minibatch_std)
        if config.spectral_norm:
            apply_spectral_norm(self.discriminator)
        self.generator_ema = (copy.deepcopy(self.generator).requires_grad_(False)
                              if config.ema else None)
        if config.ema:
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
        if config.replay:
            self.register_buffer("replay_images", torch.zeros(config.replay, *self.sample_shape))
            self.register_buffer("replay_labels", torch.zeros(config.replay, dtype=torch.long))
            self.register_buffer("replay_count", torch.zeros((), dtype=torch.long))
        self.z_dim, self.num_classes = config.z_dim, k
        self.value_range = config.data_range
        self.loss_d, self.loss_g = LOSSES[config.loss]
        self.growing = config.net in GROWING
        if self.growing:
            self._init_growth()

    # -- the model's face -------------------------------------------------------------------
    def _device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def _labels(self, n: int, labels) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if labels is None:  # every class in turn
            return torch.arange(n, device=self._device()) % self.num_classes
        labels = torch.as_tensor(labels, dtype=torch.long, device=self._device())
        return labels.expand(n) if labels.dim() == 0 else labels

    def sample_codings(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codings from ``N(0, I)``, ``[n, z_dim]``."""
        return torch.randn((n, self.z_dim), generator=generator)

    def traversal_base(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """The coding a traversal holds the other dimensions at: one draw from the prior, not
        its mean. The generator was trained on codings of norm about sqrt(z_dim) (5.5 for 30
        dimensions), far from the origin."""
        return self.sample_codings(1, generator)[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels=None, truncation: float = 1.0) -> torch.Tensor:
        """Images of codings ``[N, z_dim]`` (and labels ``[N]`` or one label for a conditional
        GAN; default: the classes in turn) by the averaged generator when there is one, in
        ``value_range``: ``[N, *sample_shape]``; net 'stylegan' with ``truncation`` psi."""
        g = self.generator_ema if self.generator_ema is not None else self.generator
        z = z.to(self._device())
        if truncation != 1.0:
            return g.body(z, truncation)
        return g(z, self._labels(len(z), labels))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels=None,
               truncation: float = 1.0) -> torch.Tensor:
        """``n`` new examples ``[n, *sample_shape]`` in ``value_range``."""
        return self.decode(self.sample_codings(n, generator), labels, truncation)

    # -- the step contract --------------------------------------------------------------------
    def configure_optimizers(self, cfg: OptimConfig) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        return {"generator": make_optimizer(self.generator.parameters(),
                                            dataclasses.replace(cfg, lr=cfg.lr * c.g_lr)),
                "discriminator": make_optimizer(self.discriminator.parameters(),
                                                dataclasses.replace(cfg, lr=cfg.lr * c.d_lr))}

    def _fakes(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        if self.growing and self.config.net == "stylegan":
            return self.style_fakes(n)
        z = torch.randn((n, self.z_dim), device=self._device())
        return self.generator(z, labels)

    def discriminator_losses(self, real: torch.Tensor, labels: torch.Tensor | None,
                             fake: torch.Tensor, fake_labels: torch.Tensor | None,
                             penalty: bool = True) -> dict[str, torch.Tensor]:
        c = self.config
        real_logits = self.discriminator(real, labels)
        fake_logits = self.discriminator(fake, fake_labels)
        out = self._d_terms(real_logits, fake_logits)
        d_loss = out["d_loss"]
        if c.loss == "wgan-gp" and penalty:
            gp = gradient_penalty(lambda x: self.discriminator(x, labels), real, fake)
            out["gp"] = gp.detach()
            d_loss = d_loss + c.gp_weight * gp
        out["d_total"] = d_loss
        return out

    def _d_terms(self, real_logits: torch.Tensor, fake_logits: torch.Tensor
                 ) -> dict[str, torch.Tensor]:
        d_loss = self.loss_d(real_logits, fake_logits, 1.0 - self.config.label_smoothing)
        return {"d_loss": d_loss, "d_real": real_logits.mean().detach(),
                "d_fake": fake_logits.mean().detach()}

    def discriminator_step(self, x: torch.Tensor, labels: torch.Tensor | None,
                           optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        """Phase 1: one step of the discriminator on the real batch and as many fresh fakes
        (part of them old ones with experience replay)."""
        with torch.no_grad():
            fake = self._fakes(len(x), labels)
        fake_labels = labels
        if self.config.replay:
            fake, fake_labels = replayed(self, fake, labels)
        out = self.minimize(self.discriminator_losses(x, labels, fake, fake_labels), optimizer,
                            key="d_total")
        out.pop("d_total")
        return out

    def generator_step(self, n: int, labels: torch.Tensor | None,
                       optimizer: torch.optim.Optimizer) -> torch.Tensor:
        """Phase 2: one step of the generator through the frozen discriminator (only the
        generator's optimizer steps); then the moving average follows. Returns G's loss."""
        with frozen(self.discriminator):
            g_loss = self.loss_g(self.discriminator(self._fakes(n, labels), labels))
            loss = self.minimize({"loss": g_loss}, optimizer)["loss"]
        self.follow_average()
        return loss

    def follow_average(self) -> None:
        """After a generator step: the moving average of its weights follows (with ``ema``)."""
        if self.generator_ema is not None:
            ema_update_(self.generator_ema, self.generator, self.ema_decay(int(self.ema_updates)))
            self.ema_updates += 1

    def ema_decay(self, updates: int) -> float:
        """The average's decay at its ``updates``-th update (:func:`aegan.models.ema.ema_decay`)."""
        return ema_decay(self.config.ema, updates)

    def _batch_labels(self, batch) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if batch.labels is None:
            raise DataError("a conditional GAN trains on labelled data; these data have none")
        return batch.labels

    def training_step(self, batch, optimizers, step):
        if self.growing:
            return self.growth_step(batch, optimizers)
        x, labels = batch.inputs, self._batch_labels(batch)
        for _ in range(self.config.n_critic):
            d = self.discriminator_step(x, labels, optimizers["discriminator"])
        g_loss = self.generator_step(len(x), labels, optimizers["generator"])
        return {"g_loss": g_loss, **d}

    def closed_form_step(self, optimizers, fold_sgd):
        """A plain dense GAN: :class:`aegan.models.closed_form.GANStep`."""
        chains = closed_form.gan_chains(self)
        return None if chains is None else closed_form.GANStep(self, chains, optimizers)

    @torch.no_grad()
    def validation_step(self, batch):
        """Both players' losses on a validation batch against seeded codings (the penalty,
        which needs gradients, left out)."""
        x, labels = batch.inputs, self._batch_labels(batch)
        z = torch.randn((len(x), self.z_dim), generator=torch.Generator().manual_seed(0))
        fake = self.generator(z.to(x.device), labels)
        fake_logits = self.discriminator(fake, labels)  # one pass serves both players' losses
        out = self._d_terms(self.discriminator(x, labels), fake_logits)
        return {"g_loss": self.loss_g(fake_logits), **out}
