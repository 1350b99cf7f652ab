"""StyleGAN's figures of a run (Karras et al. 2019, figures 3 and 8): style mixing (a coding's
image with its coarse, middle or fine styles taken from other codings) and a truncation sweep
(psi from 1 to 0, every coding converging on the image of the mean w). For models that offer
:class:`~aegan.models.StyleMixer` and :class:`~aegan.models.TruncatedSampler`."""

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
