"""Run folders: ``config.json``, ``model.safetensors``, ``history.jsonl``, ``environment.json``,
``checkpoint.safetensors`` and the figures. Loading reads JSON and safetensors only; nothing in
a run folder is ever unpickled or executed. A legacy ``model.pt`` is read with
``torch.load(weights_only=True)``, which refuses any pickle that holds more than tensors.

One run folder has one writer: :func:`writing_run` holds the folder's lock
(:func:`aegan.fileio.folder_lock`) while a process trains into it or draws its figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aegan import __version__
from aegan.errors import ConfigError, RunError, UnsafeFile
from aegan.fileio import LOCK, atomic_write_bytes, folder_lock, remove_stale_temporaries
from aegan.models import build_model
from aegan.run import RunConfig, load_config
from aegan.train import CHECKPOINT, HISTORY
from aegan.weights import load_safetensors, load_weights, save_safetensors, state_tensors

CONFIG = "config.json"
MODEL = "model.safetensors"
ENVIRONMENT = "environment.json"
LEGACY_MODEL = "model.pt"  # weights saved by torch.save: read with weights_only=True


def write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


def _refuse_taken(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(p.name != LOCK for p in out.iterdir())):
        raise RunError(f"{out} already exists and is not empty; choose another --out, "
                       f"or continue that run with --resume {out}")


def new_run_dir(out: str | Path) -> Path:
    """Create ``out`` for a new run; refuse one that already holds anything."""
    out = Path(out)
    _refuse_taken(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create run folder {out}: {exc.strerror}; "
                       "choose an --out you can write to") from None
    if not os.access(out, os.W_OK):
        raise RunError(f"run folder {out} is not writable; choose another --out")
    return out


@contextlib.contextmanager
def writing_run(run_dir: str | Path, new: bool = False) -> Iterator[Path]:
    """Hold ``run_dir``'s writer lock for the block (creating the folder when ``new``).

    A second process that tries to write into the same folder meanwhile is refused with a
    :class:`RunError`; files a killed writer left half-written are removed first.
    """
    run_dir = new_run_dir(run_dir) if new else Path(run_dir)
    with folder_lock(run_dir):
        if new:
            _refuse_taken(run_dir)  # another process may have started there meanwhile
        remove_stale_temporaries(run_dir)
        yield run_dir


def environment(device: torch.device, seed: int) -> dict[str, Any]:
    env = {
        "aegan": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
        "torch": torch.__version__, "numpy": np.__version__, "device": str(device),
        "cpu_threads": torch.get_num_threads(), "seed": seed,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv,
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def save_model(run_dir: Path, model: torch.nn.Module) -> None:
    save_safetensors(run_dir / MODEL, state_tensors(model), {"family": model.family})


def read_config(run_dir: str | Path) -> RunConfig:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {run_dir} does not exist; check the path (new runs are "
                       "in runs/ unless --out named another folder)")
    if not (run_dir / CONFIG).is_file():
        raise RunError(f"{run_dir} is not a run folder: it has no {CONFIG}; "
                       "name the folder that 'aegan train' wrote")
    try:
        return load_config(run_dir / CONFIG)
    except ConfigError as exc:
        message = str(exc)
        prefix = "" if str(run_dir / CONFIG) in message else f"{run_dir / CONFIG}: "
        raise RunError(prefix + message) from None


def load_history(run_dir: str | Path, name: str = HISTORY) -> list[dict[str, Any]]:
    """The records of a run's ``history.jsonl`` (one per epoch), or of another JSON-lines
    file of it (``steps.jsonl``: the training losses every few steps)."""
    path = Path(run_dir) / name
    if not path.is_file():
        return []
    try:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path} is damaged ({exc}); delete it to draw the other figures") from None
    if not all(isinstance(r, dict) for r in records):
        raise RunError(f"{path} is damaged (a line is not a JSON object); delete it to draw "
                       "the other figures")
    return records


def load_legacy_pt(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.save``d state dict, read with ``weights_only=True``: a pickle
    that would build any other object (and so could run code) is refused."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UnsafeFile(f"{path} is refused: it is a pickle that holds more than tensors and "
                         "could run code when loaded; aegan loads weights only; re-save the "
                         "weights as safetensors where you trust the file") from None
    except Exception as exc:  # a damaged file: torch raises many kinds here
        raise RunError(f"{path} is damaged or not a PyTorch weights file ({type(exc).__name__}); "
                       "restore it from a copy") from None
    if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in loaded.items()):
        raise RunError(f"{path} is not a state dict of tensors; aegan reads weights only")
    return loaded


def _weights(run_dir: Path) -> tuple[Path, dict[str, torch.Tensor], str | None]:
    """The run's weights, their file and the family they were saved for: the final model,
    else the last checkpoint's, else a legacy ``model.pt``."""
    if (run_dir / MODEL).is_file():
        tensors, meta = load_safetensors(run_dir / MODEL)
        return run_dir / MODEL, tensors, meta.get("family")
    if (run_dir / CHECKPOINT).is_file():
        all_tensors, _ = load_safetensors(run_dir / CHECKPOINT)
        model = {k[6:]: v for k, v in all_tensors.items() if k.startswith("model/")}
        return run_dir / CHECKPOINT, model, None
    if (run_dir / LEGACY_MODEL).is_file():
        return run_dir / LEGACY_MODEL, load_legacy_pt(run_dir / LEGACY_MODEL), None
    raise RunError(f"{run_dir} holds no weights ({MODEL} or {CHECKPOINT}); train it first, or "
                   f"continue it with 'aegan train --resume {run_dir}'")


def load_run(run_dir: str | Path):
    """``(config, model)`` of a run: the final weights, or the last checkpoint's for a run that
    has not finished, in a model built for the data the run recorded. The model is in eval
    mode on the CPU."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    source, tensors, family = _weights(run_dir)
    if family is not None and family != config.model.family:
        raise RunError(f"{source} holds a model of family {family!r}, but {run_dir / CONFIG} "
                       f"describes one of family {config.model.family!r}; the files come from "
                       "different runs; restore the run's own files, or train it again")
    if config.spec is None:
        raise RunError(f"{run_dir / CONFIG} does not record the data it was trained on (its "
                       "spec); train the run again with this version of aegan")
    model = build_model(config.model, config.spec)
    load_weights(model, tensors, source)
    return config, model.eval()
