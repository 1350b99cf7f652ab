"""Generation and latent-space exploration of a run (Géron, 2nd ed., section 17.8: "Generating
Fashion MNIST images" and "Semantic interpolation").

Which runs can do what is decided by the capabilities their model declares
(:mod:`aegan.models.base`), never by its family's name:

- ``generate`` needs a :class:`~aegan.models.Sampler` (VAEs, GANs, diffusion models),
  ``--label`` and ``augment`` a :class:`~aegan.models.ConditionalSampler`, the sampling options
  (``--steps``, ``--eta``, ``--guidance``, ``--sampler``, ``--variance``) an
  :class:`~aegan.models.IterativeSampler`, which also draws the denoising trajectory;
- the semantic-interpolation grid and traversals need a :class:`~aegan.models.LatentSampler`
  (prior codings and ``decode``); a traversal holds the other codings at the model's
  ``traversal_base`` (a VAE: the prior's mean, 0; a GAN: one draw from the prior);
- a straight line between two images' codings needs an :class:`~aegan.models.Encoder` and a
  :class:`~aegan.models.Decoder`.

Lines and grids move between codings by the model's ``interpolate``: straight lines unless the
family says otherwise (a diffusion model's noise: great circles).

The semantic interpolation follows the book: 12 codings drawn from the prior are laid on a 3x4
grid, the grid is resized bilinearly to 5x7, and every coding of the larger grid is decoded.
The book's ``tf.image.resize`` uses half-pixel centres, which moves the original codings off
the grid's nodes; here the corners are aligned, so the framed cells are exactly the images of
the original codings. The resize is bilinear when the model interpolates linearly: along each
row, then along each column. The ``aegan interpolate`` command that draws these figures is
:mod:`aegan.interpolation`.
"""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import numpy as np
import torch

from aegan import progress, viz
from aegan.capabilities import require
from aegan.errors import ConfigError, RunError, did_you_mean
from aegan.fileio import atomic_write_bytes
from aegan.io import load_run
from aegan.models import (ConditionalSampler, IterativeSampler, Sampler, StyleMixer,
                          TruncatedSampler, can, evaluating)

log = logging.getLogger(__name__)

PREVIEW_STEPS = 25  # an iterative sampler's per-epoch grids: deterministic DDIM at this many steps


def _check_images(shape: tuple[int, ...], what: str) -> None:
    if len(shape) != 3:
        raise ConfigError(f"this model's examples have shape {shape}, not images [C, H, W]; "
                          f"{what}")


# -- samples from the prior -------------------------------------------------------------------
def displayable(model, images: np.ndarray) -> np.ndarray:
    """``images`` in the model's ``value_range`` mapped to [0, 1] to be shown (values of a
    model without a range are shown as they are)."""
    if model.value_range is None:
        return images
    lo, hi = model.value_range
    return images if (lo, hi) == (0.0, 1.0) else (images - lo) / (hi - lo)


@torch.no_grad()
def sample(model, n: int, seed: int = 0, batch_size: int = 1024, labels=None,
           options: dict | None = None) -> np.ndarray:
    """``n`` samples ``[n, *sample_shape]`` drawn with a generator seeded by ``seed``; with
    ``labels`` (one label, or ``[n]``), of those classes (a conditional model); ``options``:
    an :class:`~aegan.models.IterativeSampler`'s sampling options."""
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for start in progress.track(range(0, n, batch_size), f"drawing {n:,} samples",
                                unit="batches"):
        m = min(batch_size, n - start)
        kwargs = dict(options or {})
        if labels is not None:
            kwargs["labels"] = labels if np.ndim(labels) == 0 else labels[start:start + m]
        parts.append(model.sample(m, generator, **kwargs).cpu().numpy())
    return np.concatenate(parts).astype(np.float32)


def preview_options(model) -> dict:
    """Sampling options for quick looks during training (the per-epoch grids): an
    :class:`~aegan.models.IterativeSampler` samples by deterministic DDIM at
    :data:`PREVIEW_STEPS` steps, whatever its default; other models have no options."""
    if not can(model, IterativeSampler):
        return {}
    return {"sampler": "ddim", "steps": min(PREVIEW_STEPS, model.num_timesteps), "eta": 0.0}


def sampling_options(model, run_dir, **given) -> dict:
    """The sampling options given (None: not given); refused unless the model is an
    :class:`~aegan.models.IterativeSampler`."""
    options = {k: v for k, v in given.items() if v is not None}
    if options:
        flags = ", ".join("--" + k for k in options)
        require(model, IterativeSampler, f"take sampling options ({flags})", str(run_dir))
    return options


def class_label(model, label: int | str) -> int:
    """The class index of ``label`` for a conditional model: an index, its number as text, or
    the class's name (any case; a unique beginning of it will do)."""
    classes = model.num_classes
    names = [model.spec.class_name(k) for k in range(classes)]
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        label = int(label)
    if isinstance(label, int) and not isinstance(label, bool):
        if 0 <= label < classes:
            return label
        raise ConfigError(f"--label {label} is not a class of this model: choose 0 to "
                          f"{classes - 1} or a name ({', '.join(names)})")
    wanted = str(label).strip().lower()
    exact = [k for k, name in enumerate(names) if name.lower() == wanted]
    starts = [k for k, name in enumerate(names) if name.lower().startswith(wanted)]
    if exact or len(starts) == 1:
        return (exact or starts)[0]
    hint = did_you_mean(str(label), names) if not starts else f"; it begins {len(starts)} names"
    raise ConfigError(f"--label {label!r} is not a class of this model{hint}; the classes: "
                      f"{', '.join(names)}")


def describe_class(model, label: int) -> str:
    """``"3 (Dress)"``, or ``"3"`` where the data set does not name its classes."""
    name = model.spec.class_name(label)
    return str(label) if name == str(label) else f"{label} ({name})"


def _check_out(out: Path) -> None:
    """``out`` is one image (a known image suffix) or a folder (no suffix); refuse anything
    else, and a folder that already holds files."""
    if out.suffix.lower() in viz.IMAGE_SUFFIXES:
        return
    if out.suffix:
        raise ConfigError(f"--out {out} is neither an image ({', '.join(viz.IMAGE_SUFFIXES)}: "
                          "one grid of every sample) nor a folder (a name without a suffix: one "
                          "PNG per sample)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists and is not an empty folder; choose another --out")


def generate(run_dir: str | Path, n: int, out: str | Path | None = None, seed: int = 0,
             npy: str | Path | None = None, label: int | str | None = None,
             steps: int | None = None, eta: float | None = None, guidance: float | None = None,
             sampler: str | None = None, variance: str | None = None,
             truncation: float | None = None,
             precision: str | None = None) -> tuple[np.ndarray, list[Path], str, float]:
    """Draw ``n`` samples from a run's model (of class ``label``, an index or a name, for a
    conditional model; an :class:`~aegan.models.IterativeSampler` with the sampling options
    given; a :class:`~aegan.models.TruncatedSampler` with ``truncation`` psi); write them as
    one grid (``out`` with an image suffix: .png, .jpg, ...), one PNG each in the new folder ``out`` (no suffix), and/or a ``.npy`` array (in the model's value range).
    Returns the samples, the paths written, what they are ("from the prior", "of class 3
    (Dress)") and the seconds that sampling took."""
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    if out is None and npy is None:
        raise ConfigError("nothing to write: give --out FILE.png|DIR and/or --npy FILE.npy")
    if npy is not None and Path(npy).suffix != ".npy":
        raise ConfigError(f"--npy must name a .npy file, got {npy}")
    if truncation is not None and not 0.0 <= truncation <= 1.0:
        raise ConfigError(f"--truncation is psi in [0, 1] (1: no truncation, 0: the mean "
                          f"image), such as 0.7, got {truncation}")
    out = Path(out) if out is not None else None
    if out is not None:
        _check_out(out)
    _, model = load_run(run_dir)
    require(model, Sampler, "generate samples", str(run_dir))
    options = sampling_options(model, run_dir, steps=steps, eta=eta, guidance=guidance,
                               sampler=sampler, variance=variance, precision=precision)
    if label is not None:
        require(model, ConditionalSampler, "generate examples of a chosen class (--label)",
                str(run_dir))
        label = class_label(model, label)
    if truncation is not None:
        require(model, TruncatedSampler, "sample with the truncation trick (--truncation)",
                str(run_dir))
        options["truncation"] = truncation
    if out is not None:
        _check_images(model.sample_shape, "write the samples with --npy FILE.npy instead")
    start = time.perf_counter()
    samples = sample(model, n, seed, labels=label, options=options)
    seconds = time.perf_counter() - start
    of = "from the prior" if label is None else f"of class {describe_class(model, label)}"
    of += "" if truncation is None else f", truncation psi {truncation:g}"
    written = write_samples(displayable(model, samples), out, f"{n} samples {of}")
    if npy is not None:
        np.save(npy, samples)
        written.append(Path(npy))
    return samples, written, of, seconds


def augment(run_dir: str | Path, per_class: int, out: str | Path,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` synthetic examples of every class of a conditional run, written to the
    ``.npz`` ``out`` as ``x`` ``[N, *shape]`` (float32, in [0, 1], the range of the data as
    loaded) and ``y`` ``[N]`` (int64). Returns ``(x, y)``."""
    if Path(out).suffix != ".npz":
        raise ConfigError(f"--out must name a .npz file, got {out}; add .npz to the name")
    if not isinstance(per_class, int) or per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}")
    _, model = load_run(run_dir)
    require(model, ConditionalSampler, "generate examples of chosen classes", str(run_dir))
    y = np.repeat(np.arange(model.num_classes), per_class).astype(np.int64)
    x = displayable(model, sample(model, len(y), seed, labels=torch.as_tensor(y)))
    buffer = io.BytesIO()
    np.savez(buffer, x=np.clip(x, 0, 1).astype(np.float32), y=y)
    atomic_write_bytes(Path(out), buffer.getvalue())
    return x, y


def epoch_samples(model, run_dir: Path, seed: int, n: int = 36):
    """A Trainer callback: the same ``n`` codings drawn every epoch (the book's per-epoch
    figures) into ``run_dir/samples/epoch_001.png``... It draws from its own seeded generator,
    never the global one, so a resumed run stays exact."""

    classes = model.num_classes if can(model, ConditionalSampler) else 0  # a column per class
    rows, cols = ((-(-n // classes), classes) if classes else (None, None))
    n = rows * cols if classes else n
    names = [model.spec.class_name(k) for k in range(classes)] if classes else None

    options = preview_options(model)
    how = f" (DDIM, {options['steps']} steps)" if options else ""

    def draw(event) -> None:
        if event.label:  # a pretraining stage, not the model's own training
            return
        with evaluating(model):
            images = sample(model, n, seed, options=options)  # a conditional model's classes in turn
        folder = run_dir / "samples"
        folder.mkdir(exist_ok=True)
        epoch = event.record["epoch"]
        viz.save(viz.image_grid(displayable(model, images), rows, cols,
                                title=f"epoch {epoch}{how}", col_labels=names),
                 folder / f"epoch_{epoch:03d}.png")

    return draw


def write_samples(samples: np.ndarray, out: Path | None, title: str) -> list[Path]:
    """``samples`` in [0, 1] as one grid titled ``title`` (``out`` an image file) or one PNG
    each in the folder ``out``."""
    if out is None:
        return []
    if out.suffix.lower() in viz.IMAGE_SUFFIXES:
        return [viz.save(viz.image_grid(samples, title=title), out)]
    out.mkdir(parents=True, exist_ok=True)
    return [viz.save_image(x, out / f"sample_{i:05d}.png") for i, x in enumerate(samples)]


# -- latent-space exploration -----------------------------------------------------------------
class InW:
    """A style model seen through its intermediate space W: codings are w (of prior codings),
    the line between two is straight in W, where StyleGAN's images change most smoothly
    (Karras et al. 2019, section 4: shorter perceptual paths in W than in Z)."""

    def __init__(self, model):
        self.model, self.value_range = model, model.value_range

    def sample_codings(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model.styles(self.model.sample_codings(n, generator))

    def interpolate(self, w_a: torch.Tensor, w_b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.lerp(w_a, w_b, t)

    def decode(self, w: torch.Tensor) -> torch.Tensor:
        return self.model.synthesize(w)


@torch.no_grad()
def semantic_grid(model, seed: int = 0, rows: int = 3, cols: int = 4, out_rows: int = 5,
                  out_cols: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The book's semantic interpolation: ``rows x cols`` prior codings resized bilinearly
    (corners aligned) to ``out_rows x out_cols`` and decoded. Returns the images
    ``[out_rows * out_cols, *shape]`` and the ``[out_rows, out_cols]`` mask of the cells that
    hold an original coding."""
    z = model.sample_codings(rows * cols, torch.Generator().manual_seed(seed))  # [12, z]
    grid = z.reshape(rows, cols, -1)
    wide = _resize_axis(model, grid, out_cols, axis=1)  # [rows, out_cols, z]
    big = _resize_axis(model, wide, out_rows, axis=0)  # [out_rows, out_cols, z]
    images = model.decode(big.reshape(out_rows * out_cols, -1))
    r, c = np.arange(out_rows), np.arange(out_cols)
    framed = np.outer(r * (rows - 1) % max(out_rows - 1, 1) == 0,
                      c * (cols - 1) % max(out_cols - 1, 1) == 0)
    return images.numpy(), framed


def _resize_axis(model, grid: torch.Tensor, size: int, axis: int) -> torch.Tensor:
    """``grid`` ``[A, B, z]`` resampled to ``size`` points along ``axis`` (corners aligned), each
    between its two neighbours by ``model.interpolate``."""
    n = grid.shape[axis]
    grid = grid.movedim(axis, 0)  # [n, other, z]
    if n == 1:
        return grid.expand(size, *grid.shape[1:]).movedim(0, axis)
    position = torch.arange(size, dtype=torch.float32) * ((n - 1) / max(size - 1, 1))
    low = position.floor().long().clamp(max=n - 2)
    frac = (position - low).reshape(-1, 1, 1)  # [size, 1, 1]
    return model.interpolate(grid[low], grid[low + 1], frac).movedim(0, axis)


@torch.no_grad()
def line(model, x_a: np.ndarray, x_b: np.ndarray, steps: int = 9) -> np.ndarray:
    """Decoded codings on the line (the model's ``interpolate``: straight unless the family
    says otherwise) from ``encode(x_a)`` to ``encode(x_b)`` (``steps`` points, both ends
    included): ``[steps, *shape]``."""
    z = model.encode(torch.as_tensor(np.stack([x_a, x_b])))  # [2, z]
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return model.decode(model.interpolate(z[0], z[1], t)).numpy()


@torch.no_grad()
def traversal(model, dims: list[int], steps: int = 9, span: float = 3.0,
              base: torch.Tensor | None = None) -> np.ndarray:
    """One row per coding dimension ``d`` in ``dims``: ``base`` (the prior's mean by default)
    with ``z[d]`` swept over ``steps`` values from ``-span`` to ``span`` (standard deviations of
    the prior), decoded: ``[len(dims) * steps, *shape]``."""
    z_dim = model.z_dim
    bad = [d for d in dims if not 0 <= d < z_dim]
    if bad:
        raise ConfigError(f"--dim {bad[0]} is not a coding dimension: choose 0 to {z_dim - 1}")
    base = torch.zeros(z_dim) if base is None else base
    z = base.repeat(len(dims) * steps, 1)  # [rows * steps, z]
    values = torch.linspace(-span, span, steps)
    for row, d in enumerate(dims):
        z[row * steps:(row + 1) * steps, d] = values
    return model.decode(z).numpy()


# -- figures ---------------------------------------------------------------------------------
def samples_figure(samples: np.ndarray):
    """The book's figure 17-12: samples on a grid (3x4 for 12)."""
    return viz.image_grid(samples, title=f"{len(samples)} samples from the prior")  # in [0, 1]


def grid_figure(model, seed: int = 0, space: str = "auto"):
    """The book's figure 17-13: the semantic interpolation, original codings framed; in a
    style model's w (``space`` 'w', or 'auto' for a :class:`~aegan.models.StyleMixer`) or in
    the codings z."""
    in_w = space == "w" or (space == "auto" and can(model, StyleMixer))
    images, framed = semantic_grid(InW(model) if in_w else model, seed)
    return viz.image_grid(displayable(model, images), *framed.shape, framed=framed,
                          title=f"semantic interpolation{' in w' if in_w else ''} (framed: the "
                                "original codings)")


def traversal_figure(model, dims: list[int] | None = None, steps: int = 9, span: float = 3.0,
                     seed: int = 0):
    """Rows of traversals, one per coding dimension in ``dims`` (default: all). The other codings
    are held at the model's ``traversal_base(generator)`` (a GAN: one draw from the prior,
    ``seed``; a VAE: the prior's mean, 0)."""
    dims = list(range(model.z_dim)) if dims is None else dims
    base = model.traversal_base(torch.Generator().manual_seed(seed))
    others = "the others 0" if not base.any() else "the others one sample of the prior"
    images = traversal(model, dims, steps, span, base)
    return viz.image_grid(displayable(model, images), len(dims), steps,
                          row_labels=[f"z[{d}]" for d in dims],
                          title=f"each coding from -{span:g} to {span:g}, {others}")


def trajectory_figure(model, seed: int = 0, n: int = 6, frames: int = 8):
    """An :class:`~aegan.models.IterativeSampler`'s denoising: ``n`` samples (rows) seen at
    ``frames`` steps of one sampling run (columns, from the noise to the samples)."""
    at, x = model.trajectory(n, torch.Generator().manual_seed(seed), frames)  # [frames, n, ...]
    images = x.transpose(0, 1).reshape(-1, *x.shape[2:]).cpu().numpy()  # row by row
    return viz.image_grid(displayable(model, images), n, len(at),
                          col_labels=[f"t = {t}" for t in at],
                          title=f"denoising, {model.num_timesteps} timesteps (t = 0: the samples)")


def line_figure(model, x: np.ndarray, i: int, j: int, steps: int = 9, where: str = "the data"):
    """Example ``i``, the decoded line from its codings to example ``j``'s, example ``j``
    (the two originals framed)."""
    for index in (i, j):
        if not 0 <= index < len(x):
            raise ConfigError(f"--between {index} is not an example of {where}: "
                              f"choose 0 to {len(x) - 1}")
    images = np.concatenate([x[i:i + 1], line(model, x[i], x[j], steps), x[j:j + 1]])
    framed = np.zeros((1, steps + 2), dtype=bool)
    framed[0, [0, -1]] = True
    return viz.image_grid(images, 1, steps + 2, framed=framed,
                          title=f"the codings of examples {i} and {j} of {where}, joined by a line")
