"""Progressive growing and StyleGAN's training techniques, as options of the ``gan`` family
(Karras et al. 2018, 2019, 2020; Géron 2nd ed. section 17.9): the growth schedule, the
per-resolution batch size, style mixing, the tracked mean of w, lazy R1 regularisation.

The schedule is a function of the number of real images seen, a buffer of the model: the
resolution stays at 4x4 for ``stable_images``, then each next resolution fades in over
``fade_images`` (alpha 0 -> 1) and stays for ``stable_images``. The level and alpha are set
from it before every step (and are buffers of both players), so a checkpoint taken mid
fade-in resumes bit for bit. The growth timeline is recorded the same way: when a resolution
ends, the images of fixed codings are kept in a buffer (a few kilobytes), so the figure of
every resolution survives a resume and is drawn from the finished model alone.
"""

from __future__ import annotations

import numpy as np
import torch

from aegan.config import ConfigError
from aegan.models.base import evaluating
from aegan.models.gan_losses import path_length_penalty, path_lengths, r1_penalty
from aegan.nets.style import fresh_noise

GROWING = ("progan", "stylegan")
STYLES = ("adain", "modulated")
TIMELINE = 8  # images per resolution in the growth timeline, of codings drawn with seed 0


def growth_at(images: int, levels: int, fade: int, stable: int) -> tuple[int, float]:
    """``(level, alpha)`` after ``images`` real images: level 0 for ``stable`` images, then
    per level a fade-in of ``fade`` images and a stable phase of ``stable``. With ``fade`` and
    ``stable`` 0 the networks are grown from the start."""
    if fade == 0 and stable == 0:
        return levels - 1, 1.0
    t = images - stable
    for level in range(1, levels):
        if t < 0:
            return level - 1, 1.0
        if t < fade:
            return level, t / fade
        t -= fade + stable
    return levels - 1, 1.0


def check_growth_config(c) -> None:
    """The progressive and style options of a :class:`~aegan.models.gan.GANConfig`."""
    growing = c.net in GROWING
    checks = (
        (c.style in STYLES, f"model.style must be one of {', '.join(STYLES)}, got {c.style!r}"),
        (all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
             for v in (c.fade_images, c.stable_images, c.mapping_layers)),
         "model.fade_images, stable_images and mapping_layers must be whole numbers >= 0"),
        (isinstance(c.batch_sizes, list) and all(isinstance(b, int) and b > 0
                                                 for b in c.batch_sizes),
         (f"model.batch_sizes must list one positive batch size per resolution from 4x4 up "
          f"(or be empty: the Trainer's), got {c.batch_sizes}")),
        (isinstance(c.style_mixing, (int, float)) and 0 <= c.style_mixing <= 1,
         f"model.style_mixing is a probability in [0, 1], got {c.style_mixing}"),
        (isinstance(c.r1_weight, (int, float)) and c.r1_weight >= 0
         and isinstance(c.r1_interval, int) and c.r1_interval >= 1,
         "model.r1_weight must be >= 0 and model.r1_interval a number of steps >= 1"),
        (isinstance(c.pl_weight, (int, float)) and c.pl_weight >= 0
         and isinstance(c.pl_interval, int) and c.pl_interval >= 1,
         "model.pl_weight must be >= 0 and model.pl_interval a number of steps >= 1"),
        (c.pl_weight == 0 or c.net == "stylegan",
         f"model.pl_weight regularises the map from w of net 'stylegan'; {c.net!r} has no w"),
        (isinstance(c.mapping_lr, (int, float)) and c.mapping_lr > 0,
         f"model.mapping_lr must be positive, such as 0.01, got {c.mapping_lr}"),
        (c.g_architecture in ("orig", "skip") and c.d_architecture in ("orig", "resnet"),
         (f"model.g_architecture must be 'orig' or 'skip' and model.d_architecture 'orig' or "
          f"'resnet', got {c.g_architecture!r} and {c.d_architecture!r}")),
        (growing or c.g_architecture == c.d_architecture == "orig",
         (f"model.g_architecture and d_architecture shape nets 'progan' and 'stylegan'; net "
          f"{c.net!r} has one architecture: leave them out")),
        (c.g_architecture != "skip" or not c.grows,
         ("model.g_architecture 'skip' replaces progressive growing (StyleGAN 2, section 4.1): "
          "set model.fade_images and model.stable_images to 0")),
        (growing or (not c.grows and not c.batch_sizes),
         (f"model.fade_images, stable_images and batch_sizes grow nets 'progan' and 'stylegan'; "
          f"net {c.net!r} does not grow: leave them out")),
        (not growing or c.num_classes == 0,
         f"net {c.net!r} is unconditional here; set model.num_classes 0 or use net 'dcgan'"),
        (not growing or not (c.spectral_norm or c.replay),
         (f"net {c.net!r} uses equalized learning rates instead: set model.spectral_norm false "
          "and model.replay 0")),
    )
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def _without_timeline(model, state_dict, prefix, *args) -> None:
    """Weights saved before the growth timeline existed load with an empty one."""
    for name in ("timeline", "timeline_levels"):
        state_dict.setdefault(prefix + name, getattr(model, name))


class Growth:
    """The growth, style-mixing and R1 parts of the GAN family's step (mixed into it)."""

    def _init_growth(self) -> None:
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("pl_mean", torch.zeros(()))
        self.levels = len(self.config.g_channels)
        self.register_buffer("timeline", torch.zeros(self.levels, TIMELINE, *self.sample_shape))
        self.register_buffer("timeline_levels", torch.zeros((), dtype=torch.long))
        self.register_load_state_dict_pre_hook(_without_timeline)

    def set_growth(self) -> tuple[int, float]:
        """Level and alpha from the images seen, in both players and the average."""
        c = self.config
        level, alpha = growth_at(int(self.images_seen), self.levels, c.fade_images,
                                 c.stable_images)
        for net in (self.generator.body, self.discriminator.features,
                    getattr(self.generator_ema, "body", None)):
            if net is not None:
                net.set_growth(level, alpha)
        return level, alpha

    def style_fakes(self, n: int) -> torch.Tensor:
        """Fakes of the style generator in training: two codings' w mixed at a random layer
        with probability ``style_mixing``; the tracked mean of w follows the first."""
        body, device = self.generator.body, self._device()
        w = body.mapping(torch.randn((n, self.z_dim), device=device))
        if torch.is_grad_enabled():  # the generator's step: the mean of w moves
            with torch.no_grad():
                body.w_avg.copy_(torch.lerp(w.mean(0).to(body.w_avg.dtype), body.w_avg, 0.995))
        ws = body.broadcast(w)
        if self.config.style_mixing and float(torch.rand(())) < self.config.style_mixing:
            w2 = body.mapping(torch.randn((n, self.z_dim), device=device))
            ws = body.mix(w, w2, int(torch.randint(1, body.num_ws, ())))
        return body.synthesis(ws)

    def growth_step(self, batch, optimizers) -> dict[str, torch.Tensor]:
        """The trainer's batch split into chunks of the current resolution's batch size, each
        ``n_critic`` discriminator steps and one generator step (a remainder shorter than a
        chunk joins the last one: the minibatch std of one image has no gradient); lazy R1 and
        path-length regularisation every ``r1_interval`` / ``pl_interval`` chunks
        (``d_steps`` counts them)."""
        c, x = self.config, batch.inputs
        start = 0
        while start < len(x):
            level, _ = self.set_growth()
            size = c.batch_sizes[level] if c.batch_sizes else len(x)
            size = len(x) - start if len(x) - start < 2 * size else size  # no short last chunk
            real = self.discriminator.features.fade_reals(x[start:start + size])
            for _ in range(c.n_critic):
                out = self.discriminator_step(real, None, optimizers["discriminator"])
            if c.r1_weight and int(self.d_steps) % c.r1_interval == 0:
                r1 = r1_penalty(self.discriminator, real)
                self.minimize({"r1": 0.5 * c.r1_weight * c.r1_interval * r1},
                              optimizers["discriminator"], key="r1")
                out["r1"] = r1.detach()
            out["g_loss"] = self.generator_step(len(real), None, optimizers["generator"])
            if c.pl_weight and int(self.d_steps) % c.pl_interval == 0:
                out["pl"] = self.path_length_step(len(real), optimizers["generator"])
            self.d_steps += 1
            self.images_seen += len(real)
            start += size
            if growth_at(int(self.images_seen), self.levels, c.fade_images,
                         c.stable_images)[0] > level:  # the end of a resolution
                self.timeline[level] = self._timeline_images()
                self.timeline_levels.fill_(level + 1)
        self.set_growth()
        return out

    def path_length_step(self, n: int, optimizer) -> torch.Tensor:
        """Lazy path-length regularisation of the generator (weight ``pl_weight`` times
        ``pl_interval``); returns the penalty."""
        body = self.generator.body
        ws = body.broadcast(body.mapping(torch.randn((n, self.z_dim), device=self._device())))
        images = body.synthesis(ws)  # [N, C, H, W]
        y = torch.randn_like(images) / (images.shape[2] * images.shape[3]) ** 0.5
        penalty, new_mean = path_length_penalty(path_lengths(images, ws, y), self.pl_mean)
        self.pl_mean.copy_(new_mean)
        c = self.config
        self.minimize({"pl": c.pl_weight * c.pl_interval * penalty}, optimizer, key="pl")
        return penalty.detach()

    # -- the growth timeline ---------------------------------------------------------------
    @torch.no_grad()
    def _timeline_images(self) -> torch.Tensor:
        """The images of the timeline's fixed codings now, by the averaged generator when there
        is one, in evaluation mode (no random noise, no draw from the global generator)."""
        g = self.generator_ema if self.generator_ema is not None else self.generator
        z = torch.randn((TIMELINE, self.z_dim), generator=torch.Generator().manual_seed(0))
        with evaluating(g):
            return g(z.to(self._device()), None)

    def growth_timeline(self) -> tuple[list[str], torch.Tensor]:
        """Row labels and images ``[rows * TIMELINE, *sample_shape]``: the fixed codings' images
        at the end of every resolution trained so far, then now."""
        done = int(self.timeline_levels)
        level, alpha = growth_at(int(self.images_seen), self.levels, self.config.fade_images,
                                 self.config.stable_images)
        sides = [4 << i for i in range(self.levels)]
        now = f"now: {sides[level]}x{sides[level]}" + (
            f", {sides[level] // 2}x{sides[level] // 2} fading out ({alpha:.0%} in)"
            if alpha < 1 else "")
        labels = [f"end of {side}x{side}" for side in sides[:done]] + [now]
        images = torch.cat([self.timeline[:done].flatten(0, 1), self._timeline_images()])
        return labels, images

    # -- StyleGAN's w space and style mixing, with the averaged generator when there is one ----
    def _style_body(self):
        return (self.generator_ema if self.generator_ema is not None else self.generator).body

    @torch.no_grad()
    def styles(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """The w ``[N, w_dim]`` of codings ``z`` ``[N, z_dim]`` (drawn toward the tracked mean
        of w by ``truncation`` psi)."""
        body = self._style_body()
        return body.truncate(body.mapping(z.to(self._device())), truncation)

    @torch.no_grad()
    def synthesize(self, w: torch.Tensor) -> torch.Tensor:
        """The images of w ``[N, w_dim]`` (the same w at every layer)."""
        body = self._style_body()
        return body.synthesis(body.broadcast(w.to(self._device())))

    @torch.no_grad()
    def vary_noise(self, z: torch.Tensor, generator: torch.Generator,
                   truncation: float = 1.0) -> torch.Tensor:
        """The images of ``z`` with per-layer noise drawn from ``generator`` instead of the
        fixed noise of evaluation."""
        with fresh_noise(self._style_body(), generator):
            return self.synthesize(self.styles(z, truncation))

    def style_bands(self) -> dict[str, list[int]]:
        """The layers (indices of w) of the coarse, middle and fine styles: the resolutions
        split in three, lowest first (32x32: 4-8, 16, 32; StyleGAN section 3.1)."""
        level_of = [0] + [(k + 1) // 2 for k in range(1, self._style_body().num_ws)]
        bands = np.array_split(np.arange(self.levels), 3)
        return {name: [k for k, level in enumerate(level_of) if level in set(band.tolist())]
                for name, band in zip(("coarse", "middle", "fine"), bands)}

    @torch.no_grad()
    def mix_styles(self, z_a: torch.Tensor, z_b: torch.Tensor, layers: list[int],
                   truncation: float = 1.0) -> torch.Tensor:
        """Images of codings ``z_a`` ``[N, z_dim]`` whose styles at ``layers`` come from
        ``z_b`` ``[N, z_dim]`` instead."""
        body = self._style_body()
        ws = body.broadcast(body.truncate(body.mapping(z_a), truncation)).clone()
        ws[:, layers] = body.broadcast(body.truncate(body.mapping(z_b), truncation))[:, layers]
        return body.synthesis(ws)
