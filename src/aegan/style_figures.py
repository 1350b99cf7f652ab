"""The figures of progressive growing and StyleGAN (Karras et al. 2018, 2019): style mixing
(a coding's image with its coarse, middle or fine styles taken from other codings; StyleGAN's
figure 3), a truncation sweep (psi from 1 to 0, every coding converging on the image of the
mean w; figure 8), noise variation (the same w with other per-layer noise, and where the noise
acts; figure 4) for models that offer :class:`~aegan.models.StyleMixer` and
:class:`~aegan.models.TruncatedSampler`; the growth timeline (fixed codings' images at the end
of every resolution) for a :class:`~aegan.models.Grower`."""

from __future__ import annotations

import numpy as np
import torch

from aegan import viz
from aegan.generation import displayable

PSIS = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)


def _codings(model, n: int, seed: int) -> torch.Tensor:
    return model.sample_codings(n, torch.Generator().manual_seed(seed))


def style_mixing_figure(model, seed: int = 0, n: int = 5, truncation: float = 1.0):
    """Top row: ``n`` source codings B; below, for each band (coarse, middle, fine), a row
    of one coding A (first column) with that band's styles taken from each B."""
    z_b, z_a = _codings(model, n, seed), _codings(model, 1, seed + 1).expand(n, -1)
    bands = model.style_bands()
    rows = [np.concatenate([np.full((1, *model.sample_shape), model.value_range[0]),
                            model.decode(z_b, truncation=truncation).numpy()])]
    a = model.decode(z_a[:1], truncation=truncation).numpy()
    for layers in bands.values():
        rows.append(np.concatenate([a, model.mix_styles(z_a, z_b, layers, truncation).numpy()]))
    images = displayable(model, np.concatenate(rows))
    labels = ["B"] + [f"A + B's {name}" for name in bands]
    return viz.image_grid(images, len(rows), n + 1, row_labels=labels,
                          title="style mixing: A with the coarse / middle / fine styles of B")


def truncation_figure(model, seed: int = 0, n: int = 4):
    """Rows: ``n`` codings; columns: their images at psi 1, 0.8, ..., 0."""
    z = _codings(model, n, seed)
    per_psi = [model.decode(z, truncation=psi).numpy() for psi in PSIS]  # [psi][n, ...]
    images = np.stack(per_psi, axis=1).reshape(n * len(PSIS), *model.sample_shape)
    return viz.image_grid(displayable(model, images), n, len(PSIS),
                          col_labels=[f"psi {psi:g}" for psi in PSIS],
                          title="the truncation trick: w drawn toward the mean of w")


def noise_variation_figure(model, seed: int = 0, n: int = 4, draws: int = 5, spread: int = 32):
    """Rows: ``n`` codings; columns: their images with ``draws`` other noise draws, then the
    standard deviation of each pixel over ``spread`` draws (darker: more variation; scaled to
    the figure's largest): where the noise acts (in StyleGAN's figure 4, the fine details)."""
    z = _codings(model, n, seed)
    noise = torch.Generator().manual_seed(seed + 1)
    runs = np.stack([displayable(model, model.vary_noise(z, noise).cpu().numpy())
                     for _ in range(max(draws, spread))])  # [draws, n, C, H, W]
    std = runs[:spread].std(axis=0).mean(axis=1, keepdims=True)  # [n, 1, H, W]
    std = np.broadcast_to(std / max(float(std.max()), 1e-8), runs.shape[1:])
    images = np.concatenate([runs[:draws].transpose(1, 0, 2, 3, 4), std[:, None]], axis=1)
    return viz.image_grid(images.reshape(-1, *images.shape[2:]), n, draws + 1,
                          col_labels=[f"noise {k + 1}" for k in range(draws)] + ["std. dev."],
                          title="the same w, other per-layer noise (last: where it acts)")


def growth_figure(model):
    """Rows: the fixed codings' images at the end of every resolution trained, then now."""
    labels, images = model.growth_timeline()
    images = displayable(model, images.cpu().numpy())
    return viz.image_grid(images, len(labels), len(images) // len(labels), row_labels=labels,
                          title="progressive growing: the same codings as the networks grew")
