"""TensorBoard logging of a run, beside ``history.jsonl``: every number of every epoch's history
record as a scalar (``train/loss``, ``valid/loss``, ``time_s``, …; step = epoch), and image
grids of fixed validation examples over their reconstructions (a
:class:`~aegan.models.Reconstructor`) and of samples from fixed prior draws (a
:class:`~aegan.models.Sampler`), when the data are images.

The optional ``tensorboard`` package (``pip install aegan[tensorboard]``) is needed; events go
to ``RUN/tensorboard/`` through :class:`torch.utils.tensorboard.SummaryWriter`. The callback
draws with its own random generator inside :func:`torch.random.fork_rng`, so a run with
logging trains exactly as one without (and resume stays exact).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aegan.errors import ConfigError
from aegan.generation import preview_options
from aegan.models import Reconstructor, Sampler, can, evaluating
from aegan.train import EpochEnd

FOLDER = "tensorboard"
SHOWN = 8  # images per grid row


def require_tensorboard():
    """The ``SummaryWriter`` class; a one-line :class:`ConfigError` when tensorboard is absent."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("--tensorboard needs the tensorboard package, which is not installed; "
                          "pip install aegan[tensorboard] (or pip install tensorboard)") from None
    return SummaryWriter


def image_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of images ``[N, C, H, W]`` in [0, 1] tiled into one ``[C, rows*H, N*W]`` image
    (white ink on black, as TensorBoard shows images)."""
    tiles = [np.concatenate(list(np.clip(r, 0, 1)), axis=2) for r in rows]  # [C, H, N*W] each
    return np.concatenate(tiles, axis=1)


class TensorBoardLogger:
    """A Trainer callback: log each epoch's record (and image grids) to ``RUN/tensorboard``."""

    def __init__(self, run_dir: Path, model: torch.nn.Module, x_valid: np.ndarray | None,
                 seed: int = 0):
        self.writer = require_tensorboard()(log_dir=str(Path(run_dir) / FOLDER))
        self.model = model
        images = x_valid is not None and x_valid.ndim == 4
        self.x = torch.as_tensor(x_valid[:SHOWN], dtype=torch.float32) if images else None
        self.seed = seed

    def __call__(self, event: EpochEnd) -> None:
        record = event.record
        step = int(record["epoch"])
        for key, value in record.items():
            if key in ("epoch",) or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            tag = key.replace("_", "/", 1) if key.startswith(("train_", "valid_")) else key
            self.writer.add_scalar(tag, value, step)
        if self.x is not None:
            for tag, grid in self._grids().items():
                self.writer.add_image(tag, grid, step, dataformats="CHW")
        self.writer.flush()

    @torch.no_grad()
    def _grids(self) -> dict[str, np.ndarray]:
        model = self.model
        device = next(model.parameters()).device
        devices = [device] if device.type == "cuda" else []
        grids = {}
        # training's random state and mode are untouched
        with torch.random.fork_rng(devices=devices), evaluating(model):
            if can(model, Reconstructor):
                recon = model.reconstruct(self.x.to(device)).cpu().numpy()
                grids["reconstructions"] = image_rows([self.x.numpy(), recon])
            if can(model, Sampler):
                generator = torch.Generator().manual_seed(self.seed)  # as generation.sample
                options = preview_options(model)  # an iterative sampler: a quick one
                samples = model.sample(SHOWN, generator, **options).cpu().numpy()
                grids["samples"] = image_rows([samples])
        return grids

    def close(self) -> None:
        self.writer.close()
