"""The figures of a run, chosen by the capabilities its model declares and what the data are:
training curves always; reconstructions for images (a :class:`~aegan.models.Reconstructor`),
and the denoising figure for a :class:`~aegan.models.Denoiser`; samples from the prior, the
semantic interpolation and latent traversals for image models that sample from codings (a
:class:`~aegan.models.LatentSampler`); input | output | target for a
:class:`~aegan.models.Translator`; context | prediction | truth and the per-step error of
a :class:`~aegan.models.Predictor`; a codings map (t-SNE when the codings are wider than 2)
for labelled data (an :class:`~aegan.models.Encoder`); the book's figure 17-2 for 2-D codings of
3-D data.

An :class:`~aegan.models.IterativeSampler` (a diffusion model) gets the denoising trajectory
instead of traversals (its codings are noise, one value per pixel: moving one shows nothing),
and no codings map (its encoder runs the sampler backwards, many network passes per image).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from aegan import forecast, generation, progress, translation, viz
from aegan.data import Dataset
from aegan.errors import ConfigError, RunError
from aegan.io import load_history, load_run, read_config, writing_run
from aegan.metrics import batched
from aegan.models import (ConditionalSampler, Denoiser, Encoder, Grower, IterativeSampler,
                          LatentSampler, Predictor, Reconstructor, Sampler, StyleMixer, Translator,
                          TruncatedSampler, can)
from aegan.run import load_run_data
from aegan.train import STEPS


FIGURE_MODES = ("all", "fast", "none")
POINTS = {"all": 2000, "fast": 500}  # validation examples on the codings map (t-SNE)


def tsne(codings: np.ndarray, seed: int) -> np.ndarray:
    """``codings`` ``[N, D]`` embedded in 2-D by t-SNE (perplexity 30, or less for few points).

    scikit-learn's t-SNE runs on one OpenMP thread here: with a second thread, any other busy
    process on a two-core machine left its threads waiting at each barrier, and 500 points
    took 15 s instead of 2.5 s (benchmarks/RESULTS.md, "A newcomer's first hour")."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = min(30.0, max(2.0, (len(codings) - 1) / 3))
    with threadpool_limits(1, user_api="openmp"):
        return TSNE(n_components=2, init="pca", perplexity=perplexity,
                    random_state=seed).fit_transform(codings)


def _map_points(codings: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    if codings.shape[1] == 2:
        return codings, "codings"
    points = tsne(codings, seed)
    return points, f"t-SNE of the {codings.shape[1]}-D codings of {len(codings):,} examples"


def class_columns(model) -> tuple[int, list[str]] | None:
    """``(classes, their names)`` of a conditional sampler, for grids with a column per class;
    None for any other model."""
    if not can(model, ConditionalSampler):
        return None
    return model.num_classes, [model.spec.class_name(k) for k in range(model.num_classes)]


def _samples_figure(model, seed: int):
    """The book's figure 17-12 (12 samples from the prior), or for a conditional model two
    samples of each class, a column per class."""
    columns = class_columns(model)
    if columns is None:
        samples = generation.displayable(model, generation.sample(model, 12, seed))
        return generation.samples_figure(samples)
    n, names = columns
    samples = generation.displayable(model, generation.sample(model, 2 * n, seed))
    return viz.image_grid(samples, 2, n, col_labels=names, title=f"2 samples of each of the "
                          f"{n} classes")


Job = tuple[str, Callable[[], object]]  # (file name, () -> Figure or None)


def _jobs(history, steps, data, model, seed: int, mode: str, derive=None) -> list[Job]:
    """The figures of this model and these data, each a file name and how to draw it
    (``derive``: how the data's pairs were derived, for a translator's figures)."""
    valid = data.valid.select(slice(0, POINTS[mode]))
    x, y = valid.inputs, valid.labels
    images = data.kind == "images"
    jobs: list[Job] = []
    if history:
        jobs.append(("training_curves.png", lambda: viz.training_curves(history, steps)))
    if can(model, Reconstructor) and images:
        jobs.append(("reconstructions.png", lambda: viz.reconstructions(
            x[:10], batched(model.reconstruct, x[:10], 10))))
    if can(model, Denoiser) and images:
        jobs.append(("denoising.png", lambda: _denoising(model, x[:10], seed)))
    if can(model, Sampler) and images:
        jobs.append(("samples.png", lambda: _samples_figure(model, seed)))
    if can(model, LatentSampler) and images:
        jobs.append(("interpolation.png", lambda: generation.grid_figure(model, seed)))
    if can(model, IterativeSampler) and images:  # the denoising trajectory, x_t every few steps
        jobs.append(("trajectory.png", lambda: generation.trajectory_figure(model, seed)))
    elif can(model, LatentSampler) and images:
        dims = list(range(min(model.z_dim, 10)))
        jobs.append(("traversals.png", lambda: generation.traversal_figure(model, dims)))
    if can(model, StyleMixer) and can(model, TruncatedSampler) and images:
        from aegan import style_figures

        jobs.append(("style_mixing.png", lambda: style_figures.style_mixing_figure(model, seed)))
        jobs.append(("truncation.png", lambda: style_figures.truncation_figure(model, seed)))
        jobs.append(("noise_variation.png",
                     lambda: style_figures.noise_variation_figure(model, seed)))
    if can(model, Grower) and images:
        from aegan import style_figures

        jobs.append(("growth.png", lambda: style_figures.growth_figure(model)))
    if can(model, Translator) and images:
        jobs += _translation_jobs(model, data, derive)
    if can(model, Predictor) and data.kind == "image-sequences":
        jobs += _forecast_jobs(model, data)
    if can(model, Encoder) and not can(model, IterativeSampler):  # a diffusion model's codings
        # are its DDIM-inverted noise: no map to draw
        jobs += _coding_jobs(data, model, x, y, seed)
    return jobs


def _denoising(model, x: np.ndarray, seed: int):
    torch.manual_seed(seed)  # the same noisy examples at every redraw
    noisy = batched(model.corrupt, x, 10)
    return viz.denoising(x, noisy, batched(model.reconstruct, noisy, 10))


def _coding_jobs(data, model, x, y, seed: int) -> list[Job]:
    codings = batched(model.encode, x, 1024).reshape(len(x), -1)
    jobs: list[Job] = []
    if codings.min() >= 0 and codings.max() <= 1 and codings.shape[1] > 2:  # sigmoid codings
        jobs.append(("activations.png", lambda: viz.activation_histograms(codings)))
    if codings.shape[1] == 2 and data.sample_shape == (3,):
        from sklearn.decomposition import PCA

        def comparison():
            return viz.pca_comparison(x, codings, PCA(2).fit(data.train.inputs).transform(x))

        jobs.append(("pca_comparison.png", comparison))
    elif y is not None:
        def codings_map():
            points, title = _map_points(codings, seed)
            return viz.codings_map(points, y, x if data.kind == "images" else None,
                                   data.classes, title)

        jobs.append(("codings_map.png", codings_map))
    return jobs


def check_figures(mode: str) -> None:
    if mode not in FIGURE_MODES:
        raise ConfigError(f"unknown --figures {mode!r}; choose one of {', '.join(FIGURE_MODES)}")


def _translation_jobs(model, data: Dataset, derive) -> list[Job]:
    """Input | output | target of the first validation examples, and of the first test
    examples where the data set has a test split."""
    jobs: list[Job] = []
    for split in ("valid", "test"):
        examples = getattr(data, split)
        if examples is None:
            continue
        first = examples.select(np.arange(min(translation.FIGURE_EXAMPLES, len(examples))))
        jobs.append((f"translations_{split}.png", lambda first=first, split=split:
                     translation.translation_figure(model, first, derive, f"{split} split")))
    return jobs


def _forecast_jobs(model, data: Dataset) -> list[Job]:
    """Context | prediction | truth of the first validation and test sequences, and the
    per-step error beside copying the last frame on the first validation sequences."""
    jobs: list[Job] = []
    for split in ("valid", "test"):
        examples = getattr(data, split)
        if examples is None or examples.targets is None:
            continue
        first = examples.select(np.arange(min(forecast.FIGURE_SEQUENCES, len(examples))))
        jobs.append((f"forecasts_{split}.png", lambda first=first, split=split:
                     forecast.forecast_figure(model, first, f"{split} split")))
    if data.valid.targets is not None:
        curve = data.valid.select(np.arange(min(forecast.CURVE_SEQUENCES, len(data.valid))))
        jobs.append(("forecast_error.png", lambda: forecast.error_curve(
            forecast.forecast_scores(model, curve.inputs, curve.targets))))
    return jobs


def make_figures(run_dir: str | Path, out: str | Path | None = None, data_dir=None,
                 mode: str = "all", model=None, data: Dataset | None = None) -> list[Path]:
    """Write the run's PNG figures into ``out`` (default: the run folder); return their paths.
    ``mode``: ``all``, or ``fast`` (the codings map of fewer examples: seconds, not tens of
    seconds), or ``none``. ``model`` and ``data``: the run's, when the caller holds them
    already (else read from the run). Everything is read first, so a run that cannot be drawn
    leaves no figure behind."""
    check_figures(mode)
    if mode == "none":
        return []
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    history, steps = load_history(run_dir), load_history(run_dir, STEPS)
    data = data if data is not None else load_run_data(config, data_dir)
    if model is None:
        _, model = load_run(run_dir)
    model = model.cpu().eval()
    if out is None or Path(out).resolve() == run_dir.resolve():
        with writing_run(run_dir):  # the run folder has one writer at a time
            return _draw(run_dir, _jobs(history, steps, data, model, config.train.seed, mode,
                                        config.data.derive))
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {out} for the figures ({exc.strerror}); "
                       "choose an --out you can write to") from None
    return _draw(out, _jobs(history, steps, data, model, config.train.seed, mode,
                            config.data.derive))


def _draw(out: Path, jobs: list[Job]) -> list[Path]:
    return [viz.save(draw(), out / name)
            for name, draw in progress.track(jobs, "drawing the figures", unit="figures")]
