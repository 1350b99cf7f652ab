"""What a run of a forecaster (a :class:`~aegan.models.Predictor`) draws and writes: the strip
figure (context | prediction | truth, one row per sequence), the per-step error curve beside
copying the last context frame, an animated GIF, the same validation sequences predicted after
every epoch (``forecasts/epoch_001.png``...), and ``aegan predict``: sequences from a file, a
folder of numbered frames or a data set, predicted and written as a GIF, a strip, a ``.npy``
or all of them into a folder.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import torch

from aegan import viz
from aegan.capabilities import require
from aegan.data import Examples
from aegan.data.files import read_arrays
from aegan.data.frames import read_frames
from aegan.errors import ConfigError, DataError, RunError
from aegan.fileio import atomic_write_bytes
from aegan.io import load_run
from aegan.metrics.forecast import BASELINE, forecast_scores
from aegan.models import Predictor
from aegan.run import load_data

FIGURE_SEQUENCES = 4  # rows of the strip figures
CURVE_SEQUENCES = 200  # validation sequences of the run's error curve
OUT_KINDS = {".gif": "gif", ".png": "png", ".npy": "npy"}


# -- pictures ---------------------------------------------------------------------------------
def _row(frames: np.ndarray) -> np.ndarray:
    """Frames ``[T, C, H, W]`` side by side, ``[H, T * (W + 1), 3]`` with a 1-pixel gap."""
    t, c, h, w = frames.shape
    rgb = np.repeat(frames, 3, axis=1) if c == 1 else frames[:, :3]
    out = np.ones((h, t * (w + 1), 3), np.float32)
    for i in range(t):
        out[:, i * (w + 1):i * (w + 1) + w] = rgb[i].transpose(1, 2, 0)
    return out


def strip_figure(context: np.ndarray, predicted: np.ndarray, truth: np.ndarray | None,
                 title: str | None = None):
    """Context | prediction | truth of sequences ``[N, T, C, H, W]`` in [0, 1], one row of
    panels per sequence."""
    import matplotlib.pyplot as plt

    panels = [("context", context), ("prediction", predicted)]
    if truth is not None:
        panels.append(("truth", truth))
    n, widths = len(context), [p.shape[1] for _, p in panels]
    fig, axes = plt.subplots(n, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths},
                             figsize=(0.55 * sum(widths) + 0.5, 0.7 * n + 0.6))
    for i in range(n):
        for j, (name, frames) in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(np.clip(_row(frames[i]), 0, 1), interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{name} ({frames.shape[1]} frames)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def error_curve(per_step: dict[str, np.ndarray]):
    """MSE per frame and SSIM against the step predicted, the model's beside copying the last
    context frame."""
    import matplotlib.pyplot as plt

    keys = [k for k in ("mse_frame", "ssim") if k in per_step]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        steps = np.arange(1, len(per_step[key]) + 1)
        ax.plot(steps, per_step[key], "o-", label="this run")
        ax.plot(steps, per_step[f"{key}_{BASELINE}"], "s--", label="copy last frame")
        ax.set_xlabel("step predicted"), ax.set_ylabel(key.replace("_", " per "))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def gif_bytes(context: np.ndarray, predicted: np.ndarray, truth: np.ndarray | None,
              ms_per_frame: int = 200, scale: int = 2) -> bytes:
    """An animated GIF of sequences ``[N, T, C, H, W]`` in [0, 1]: one column per sequence, the
    top row the truth (the context, then the true future where known), the bottom row the
    prediction (the context, then the predicted frames)."""
    from PIL import Image

    shown = np.concatenate([context, predicted], axis=1)
    rows = [shown]
    if truth is not None:
        steps = min(truth.shape[1], predicted.shape[1])
        rows.insert(0, np.concatenate([context, truth[:, :steps]], axis=1))
    length = min(r.shape[1] for r in rows)
    images = []
    for t in range(length):
        grid = np.concatenate([_row(r[:, t]) for r in rows], axis=0)  # sequences side by side
        pixels = (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)
        image = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                               Image.NEAREST)
        images.append(image.convert("P"))
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=ms_per_frame, loop=0)
    return buffer.getvalue()


def forecast_figure(model, examples: Examples, title: str):
    """The strip of ``examples`` (context inputs, future targets) predicted by ``model``."""
    context = np.asarray(examples.inputs, np.float32)
    truth = None if examples.targets is None else np.asarray(examples.targets, np.float32)
    steps = truth.shape[1] if truth is not None else model.config.horizon
    predicted = model.predict_frames(torch.as_tensor(context), steps).cpu().numpy()
    return strip_figure(context, predicted, truth, title)


def epoch_forecasts(model, run_dir: Path, examples: Examples, n: int = FIGURE_SEQUENCES):
    """A Trainer callback: the same ``n`` sequences predicted after every epoch into
    ``run_dir/forecasts/epoch_001.png``... (no random draw: resume stays exact)."""
    shown = examples.select(np.arange(min(n, len(examples)))).map(lambda _, v: np.asarray(v))

    def draw(event) -> None:
        if event.label:
            return
        epoch = event.record["epoch"]
        folder = run_dir / "forecasts"
        folder.mkdir(exist_ok=True)
        viz.save(forecast_figure(model, shown, f"epoch {epoch}"), folder / f"epoch_{epoch:03d}.png")

    return draw


# -- aegan predict ----------------------------------------------------------------------------
def read_sequences(source: Path) -> np.ndarray:
    """Sequences ``[N, T, C, H, W]`` in [0, 1] from a ``.npy`` / ``.npz`` of ``[N, T, H, W]``
    or ``[N, T, C, H, W]`` (8-bit values divided by 255), or one sequence from a folder of
    numbered frames (:func:`aegan.data.frames.read_frames`)."""
    if source.is_dir():
        return read_frames(source)[None]
    if source.suffix.lower() not in (".npy", ".npz"):
        raise DataError(f"--frames {source}: give a .npy/.npz of sequences [N, T, H, W] or "
                        "[N, T, C, H, W], a folder of numbered frames, or a data set name")
    x = read_arrays(source)["inputs"]
    if x.ndim not in (4, 5) or not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{source} holds an array of shape {list(x.shape)}; expected sequences "
                        "[N, T, H, W] or [N, T, C, H, W]")
    x = x[:, :, None] if x.ndim == 4 else x
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise DataError(f"{source}: frame values must lie in [0, 1] (or be 8-bit)")
    return x


def _from_data(config, name: str, n: int, data_dir) -> tuple[np.ndarray, np.ndarray | None]:
    dataset = load_data(config.replace("data", name=name, limit=None, classes=None), data_dir)
    examples = dataset.split("test" if dataset.test is not None else "valid")
    picked = examples.select(np.arange(min(n, len(examples))))
    truth = None if picked.targets is None else np.asarray(picked.targets, np.float32)
    return np.asarray(picked.inputs, np.float32), truth


def _check_out(out: Path) -> str:
    kind = OUT_KINDS.get(out.suffix.lower())
    if kind:
        if out.is_dir() or not out.parent.is_dir():
            raise RunError(f"--out {out}: name a file in a folder that exists")
        return kind
    if out.suffix:
        raise RunError(f"--out must name a .gif, a .png strip, a .npy or a folder, got {out}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists and is not an empty folder; choose another --out")
    return "dir"


def _cut(model, sequences: np.ndarray, context: int, steps: int, where: str):
    """Context ``[N, context, ...]`` and the truth that follows it (None where none)."""
    problem = model.input_problem((max(sequences.shape[1], context), *sequences.shape[2:]))
    if problem:
        raise DataError(f"{where}: {problem}")
    if context < model.config.context:
        raise DataError(f"this forecaster reads {model.config.context} context frames, and "
                        f"--context {context} gives fewer; give --context "
                        f"{model.config.context} or more")
    if sequences.shape[1] < context:
        raise DataError(f"{where}: the sequences have {sequences.shape[1]} frames, fewer than "
                        f"--context {context}; give longer sequences or a smaller --context "
                        f"(at least {model.config.context})")
    truth = sequences[:, context:context + steps]
    return sequences[:, :context], truth if truth.shape[1] else None


def predict(run_dir: str | Path, source: str, out: str | Path, context: int | None = None,
            steps: int | None = None, n: int = FIGURE_SEQUENCES, data_dir=None,
            floor: float | None = None) -> dict:
    """Predict ``steps`` frames after the first ``context`` frames of each sequence of
    ``source`` (a file, a folder of frames, or a data set: its test split's first ``n``) and
    write ``out``: a ``.gif``, a ``.png`` strip, a ``.npy`` of the predictions, or a new folder
    with all three and, when the truth is known, ``error_curve.png``. ``floor``: predicted
    pixels below it are set to 0 (default: the run's ``model.floor``). Everything is checked
    and predicted before anything is written."""
    out = Path(out)
    kind = _check_out(out)
    for name, value in (("--steps", steps), ("--context", context), ("-n", n)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a whole number of at least 1, got {value}")
    if floor is not None and not 0 <= floor < 1:
        raise ConfigError(f"--floor is the level below which predicted pixels are set to 0, "
                          f"in [0, 1); got {floor}")
    config, model = load_run(run_dir)
    require(model, Predictor, "predict frames", str(run_dir))
    if floor is not None:
        model.config = dataclasses.replace(model.config, floor=floor)
    asked, steps = context, steps or model.config.horizon
    context = context or model.config.context
    path = Path(source)
    if path.exists():
        x, truth = _cut(model, read_sequences(path), context, steps, source)
    else:
        x, truth = _from_data(config, source, n, data_dir)
        if asked is not None and asked != x.shape[1]:
            raise ConfigError(f"the sequences of data set {source} are cut as the run's "
                              f"data.derive cuts them, {x.shape[1]} frames of context; drop "
                              "--context, or give the sequences as a file")
        problem = model.input_problem(tuple(x.shape[1:]))
        if problem:
            raise DataError(f"{source}: {problem}")
        truth = None if truth is None else truth[:, :steps]
    predicted = model.predict_frames(torch.as_tensor(x), steps).cpu().numpy()
    per_step = None if truth is None else forecast_scores(model, x, truth)
    written = _write(out, kind, x, predicted, truth, per_step)
    result = {"run": str(run_dir), "sequences": len(x), "context": int(x.shape[1]),
              "steps": steps, "truth_steps": 0 if truth is None else int(truth.shape[1]),
              "wrote": [str(p) for p in written]}
    if per_step is not None:
        result.update({k: float(v.mean()) for k, v in per_step.items()})
    return result


def _write(out: Path, kind: str, x, predicted, truth, per_step) -> list[Path]:
    shown = slice(0, FIGURE_SEQUENCES)
    if kind == "npy":
        buffer = io.BytesIO()
        np.save(buffer, predicted.astype(np.float32))
        atomic_write_bytes(out, buffer.getvalue())
        return [out]
    if kind == "gif":
        atomic_write_bytes(out, gif_bytes(x[shown], predicted[shown], _part(truth, shown)))
        return [out]
    if kind == "png":
        return [viz.save(strip_figure(x[shown], predicted[shown], _part(truth, shown)), out)]
    out.mkdir(parents=True, exist_ok=True)
    written = _write(out / "predictions.npy", "npy", x, predicted, truth, per_step)
    written += _write(out / "strip.png", "png", x, predicted, truth, per_step)
    written += _write(out / "frames.gif", "gif", x, predicted, truth, per_step)
    if per_step is not None:
        written.append(viz.save(error_curve(per_step), out / "error_curve.png"))
    return written


def _part(truth, index):
    return None if truth is None else truth[index]
