"""The figures of a run, chosen by the capabilities its model declares and what the data are:
training curves always; reconstructions for images (a :class:`~aegan.models.Reconstructor`),
and the denoising figure for a :class:`~aegan.models.Denoiser`; samples from the prior, the
semantic interpolation and latent traversals for image models that sample from codings (a
:class:`~aegan.models.LatentSampler`); input | output | target for a
:class:`~aegan.models.Translator`; a codings map (t-SNE when the codings are wider than 2)
for labelled data (an :class:`~aegan.models.Encoder`); the book's figure 17-2 for 2-D codings of
3-D data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aegan import generation, translation, viz
from aegan.data import Dataset
from aegan.errors import RunError
from aegan.io import load_history, load_run, read_config, writing_run
from aegan.metrics import batched
from aegan.models import (
    Denoiser,
    Encoder,
    LatentSampler,
    Reconstructor,
    Sampler,
    Translator,
    can,
)
from aegan.run import load_data


def _map_points(codings: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    if codings.shape[1] == 2:
        return codings, "codings"
    from sklearn.manifold import TSNE

    perplexity = min(30.0, max(2.0, (len(codings) - 1) / 3))
    points = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(codings)
    return points, f"t-SNE of the {codings.shape[1]}-D codings"


def generative_figures(model, out: Path, seed: int) -> list[Path]:
    """The book's figures 17-12 and 17-13 (12 samples from the prior; the semantic
    interpolation) and traversals of the first 10 coding dimensions at most."""
    samples = generation.displayable(model, generation.sample(model, 12, seed))
    written = [viz.save(generation.samples_figure(samples), out / "samples.png")]
    if can(model, LatentSampler):
        written.append(viz.save(generation.grid_figure(model, seed), out / "interpolation.png"))
        dims = list(range(min(model.z_dim, 10)))
        written.append(viz.save(generation.traversal_figure(model, dims), out / "traversals.png"))
    return written


def translation_figures(model, data: Dataset, derive, out: Path) -> list[Path]:
    """Input | output | target of the first validation examples, and of the first test
    examples where the data set has a test split."""
    written = []
    for split in ("valid", "test"):
        examples = getattr(data, split)
        if examples is None:
            continue
        first = examples.select(np.arange(min(translation.FIGURE_EXAMPLES, len(examples))))
        fig = translation.translation_figure(model, first, derive, f"{split} split")
        written.append(viz.save(fig, out / f"translations_{split}.png"))
    return written


def make_figures(run_dir: str | Path, out: str | Path | None = None, data_dir=None,
                 max_points: int = 2000, model=None, data: Dataset | None = None) -> list[Path]:
    """Write the run's PNG figures into ``out`` (default: the run folder); return their paths.
    ``model`` and ``data``: the run's, when the caller holds them already (else read from the
    run). Everything is read first, so a run that cannot be drawn leaves no figure behind."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    history = load_history(run_dir)
    data = data if data is not None else load_data(config, data_dir)
    if model is None:
        _, model = load_run(run_dir)
    model = model.cpu().eval()
    if out is None or Path(out).resolve() == run_dir.resolve():
        with writing_run(run_dir):  # the run folder has one writer at a time
            return _draw(run_dir, history, data, model, config, max_points)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {out} for the figures ({exc.strerror}); "
                       "choose an --out you can write to") from None
    return _draw(out, history, data, model, config, max_points)


def _draw(out: Path, history: list, data, model, config, max_points: int) -> list[Path]:
    seed = config.train.seed
    written = []
    if history:
        written.append(viz.save(viz.training_curves(history), out / "training_curves.png"))
    valid = data.valid.select(slice(0, max_points))
    x, y = valid.inputs, valid.labels
    if can(model, Reconstructor) and data.kind == "images":
        recon = batched(model.reconstruct, x[:10], 10)
        written.append(viz.save(viz.reconstructions(x[:10], recon), out / "reconstructions.png"))
        if can(model, Denoiser):
            torch.manual_seed(seed)  # the same noisy examples at every redraw
            noisy = batched(model.corrupt, x[:10], 10)
            fig = viz.denoising(x[:10], noisy, batched(model.reconstruct, noisy, 10))
            written.append(viz.save(fig, out / "denoising.png"))
    if can(model, Sampler) and data.kind == "images":
        written += generative_figures(model, out, seed)
    if can(model, Translator) and data.kind == "images":
        written += translation_figures(model, data, config.data.derive, out)
    if can(model, Encoder):
        codings = batched(model.encode, x, 1024).reshape(len(x), -1)
        if codings.min() >= 0 and codings.max() <= 1 and codings.shape[1] > 2:  # sigmoid codings
            fig = viz.activation_histograms(codings)
            written.append(viz.save(fig, out / "activations.png"))
        if codings.shape[1] == 2 and data.sample_shape == (3,):
            from sklearn.decomposition import PCA

            pca_codings = PCA(2).fit(data.train.inputs).transform(x)
            fig = viz.pca_comparison(x, codings, pca_codings)
            written.append(viz.save(fig, out / "pca_comparison.png"))
        elif y is not None:
            points, title = _map_points(codings, seed)
            images = x if data.kind == "images" else None
            fig = viz.codings_map(points, y, images, data.classes, title)
            written.append(viz.save(fig, out / "codings_map.png"))
    return written
