"""Checkpoints as safetensors: weights, optimizer state, random state and counters.

Everything that is a tensor goes in the safetensors body; everything else (optimizer
hyper-parameters, counters, the history so far) goes in its JSON metadata. Loading never
unpickles. Files are written atomically: to a temporary name, flushed, fsynced, renamed over
the old one, and the folder fsynced, so a crash at any moment leaves the previous checkpoint
or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from aegan.errors import RunError

_META_KEY = "aegan"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # some filesystems cannot fsync a folder; the rename is still atomic
        pass


def _cpu(t: torch.Tensor) -> torch.Tensor:
    # A private contiguous copy: safetensors refuses shared storage (tied weights).
    return t.detach().to("cpu", copy=True).contiguous()


def state_tensors(module: torch.nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    return {prefix + k: _cpu(v) for k, v in module.state_dict().items()}


def save_safetensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    atomic_write_bytes(path, st_save(tensors, metadata={_META_KEY: json.dumps(meta)}))


def load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata of a file, or a :class:`RunError` that names the damage."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get(_META_KEY, "{}"))
            return {k: handle.get_tensor(k) for k in handle.keys()}, meta
    except FileNotFoundError:
        raise RunError(f"{path} does not exist") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path} is damaged or not a safetensors file ({exc})") from None


def read_counters(path: Path) -> dict[str, Any]:
    """The counters of a checkpoint (epoch, step) without loading its tensors."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {}).get(_META_KEY, "{}")).get("counters", {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path} is damaged or not a safetensors file ({exc})") from None


def save_checkpoint(path: Path, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    rng: dict[str, torch.Tensor], counters: dict[str, Any]) -> None:
    tensors = state_tensors(model, "model/")
    meta: dict[str, Any] = {"counters": counters, "optimizers": {}}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for pid, state in sd["state"].items():
            for key, value in state.items():
                if torch.is_tensor(value):
                    tensors[f"optim/{name}/{pid}/{key}"] = _cpu(value)
                else:
                    scalars.setdefault(str(pid), {})[key] = value
        meta["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    for key, value in rng.items():
        tensors[f"rng/{key}"] = _cpu(value)
    save_safetensors(path, tensors, meta)


def load_checkpoint(path: Path, model: torch.nn.Module,
                    optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    """Restore ``model`` and ``optimizers`` in place; return ``(rng tensors, counters)``."""
    tensors, meta = load_safetensors(path)
    weights = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise RunError(f"{path} holds weights of another model ({first})") from None
    for name, opt in optimizers.items():
        saved = meta.get("optimizers", {}).get(name)
        if saved is None:
            raise RunError(f"{path} has no state for optimizer {name!r}")
        state: dict[int, dict[str, Any]] = {}
        for pid, values in saved["scalars"].items():
            state.setdefault(int(pid), {}).update(values)
        prefix = f"optim/{name}/"
        for key, value in tensors.items():
            if key.startswith(prefix):
                pid, field = key[len(prefix):].split("/", 1)
                state.setdefault(int(pid), {})[field] = value
        opt.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    rng = {k[len("rng/"):]: v for k, v in tensors.items() if k.startswith("rng/")}
    return rng, meta.get("counters", {})
