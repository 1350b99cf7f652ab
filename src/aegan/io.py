"""Run folders: ``config.json``, ``model.safetensors``, ``history.jsonl``, ``environment.json``,
``checkpoint.safetensors`` and the figures. Loading reads JSON and safetensors only; nothing in
a run folder is ever unpickled or executed.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aegan import __version__
from aegan.config import RunConfig, load_config
from aegan.errors import ConfigError, RunError
from aegan.models import build_model
from aegan.train import CHECKPOINT, HISTORY
from aegan.train.checkpoint import atomic_write_bytes, load_safetensors, save_safetensors, state_tensors

CONFIG = "config.json"
MODEL = "model.safetensors"
ENVIRONMENT = "environment.json"


def write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


def new_run_dir(out: str | Path) -> Path:
    """Create ``out`` for a new run; refuse one that already holds anything."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists and is not empty; choose another --out, "
                       f"or continue that run with --resume {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create run folder {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise RunError(f"run folder {out} is not writable; choose another --out")
    return out


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
        raise RunError(f"run folder {run_dir} does not exist")
    if not (run_dir / CONFIG).is_file():
        raise RunError(f"{run_dir} is not a run folder: it has no {CONFIG}")
    try:
        return load_config(run_dir / CONFIG)
    except ConfigError as exc:
        raise RunError(f"{run_dir / CONFIG}: {exc}") from None


def load_history(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise RunError(f"{path} is damaged (line {exc.lineno}: {exc.msg})") from None


def load_run(run_dir: str | Path, sample_shape: tuple[int, ...] | None = None):
    """``(config, model)`` of a run: the final weights, or the last checkpoint's for a run that
    has not finished. The model is in eval mode on the CPU."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if (run_dir / MODEL).is_file():
        tensors, _ = load_safetensors(run_dir / MODEL)
    elif (run_dir / CHECKPOINT).is_file():
        all_tensors, _ = load_safetensors(run_dir / CHECKPOINT)
        tensors = {k[6:]: v for k, v in all_tensors.items() if k.startswith("model/")}
    else:
        raise RunError(f"{run_dir} holds no weights ({MODEL} or {CHECKPOINT}); train it first")
    shape = sample_shape or config.sample_shape
    if not shape:
        raise RunError(f"{run_dir / CONFIG} does not record the data's sample_shape")
    model = build_model(config.model, tuple(shape))
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise RunError(f"the weights in {run_dir} do not fit its config ({first})") from None
    return config, model.eval()
