"""``aegan interpolate``: one latent-space figure of a run (the book's semantic grid, a line
between two examples' codings, or traversals of one coding at a time), drawn by the figures of
:mod:`aegan.generation`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aegan import viz
from aegan.capabilities import require
from aegan.errors import ConfigError
from aegan.generation import _check_images, grid_figure, line_figure, traversal_figure
from aegan.io import load_run
from aegan.models import Decoder, Encoder, LatentSampler, StyleMixer
from aegan.run import load_run_data


# -- the interpolate command's modes: (model, run_dir, options, data) -> Figure -----------------
def _grid_mode(model, run_dir, o: dict, data_fn):
    require(model, LatentSampler, "interpolate between prior codings", str(run_dir))
    if o["space"] == "w":
        require(model, StyleMixer, "interpolate in w space", str(run_dir))
    return grid_figure(model, o["seed"], o["space"])


def _line_mode(model, run_dir, o: dict, data_fn):
    require(model, Encoder, "interpolate between examples' codings", str(run_dir))
    require(model, Decoder, "interpolate between examples' codings", str(run_dir))
    return line_figure(model, data_fn().inputs, *o["between"], o["steps"],
                       f"the {o['split']} split")


def _traverse_mode(model, run_dir, o: dict, data_fn):
    require(model, LatentSampler, "traverse its codings", str(run_dir))
    return traversal_figure(model, o["dims"], o["steps"], o["span"], o["seed"])


MODES: dict[str, Callable] = {"grid": _grid_mode, "line": _line_mode, "traverse": _traverse_mode}


def interpolate(run_dir: str | Path, out: str | Path, mode: str = "grid", seed: int = 0,
                between: tuple[int, int] = (0, 1), dims: list[int] | None = None, steps: int = 9,
                span: float = 3.0, split: str = "valid", data_dir=None,
                space: str = "auto") -> Path:
    """Draw one latent-space figure of a run into the PNG ``out``: ``grid`` (the book's
    semantic interpolation; ``space`` 'w' for a style model, the default with 'auto', or 'z'),
    ``line`` (between two examples of ``split``) or ``traverse``."""
    if mode not in MODES:
        raise ConfigError(f"unknown --mode {mode!r}; choose one of {', '.join(MODES)}")
    if space not in ("auto", "z", "w"):
        raise ConfigError(f"unknown --space {space!r}; choose auto, z or w")
    if space == "w" and mode != "grid":
        raise ConfigError(f"--space w draws the grid mode; --mode {mode} works on the codings z")
    if Path(out).suffix != ".png":
        raise ConfigError(f"--out must name a .png file, got {out}")
    if not isinstance(steps, int) or steps < 2:
        raise ConfigError(f"--steps must be at least 2, got {steps}")
    config, model = load_run(run_dir)
    _check_images(model.sample_shape, "there is nothing to draw")

    def data_fn():
        return load_run_data(config, data_dir).split(split)

    options = dict(seed=seed, between=between, dims=dims, steps=steps, span=span, split=split,
                   space=space)
    return viz.save(MODES[mode](model, run_dir, options, data_fn), Path(out))
