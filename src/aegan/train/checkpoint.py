"""Checkpoints: the model's weights, every optimizer's state, the random state and the counters,
in one safetensors file of :mod:`aegan.weights` (digest-checked, written atomically); and the
run's record files trimmed back to a checkpoint on resume.

Tensors (weights, optimizer moments, generator states) go in the body; optimizer
hyper-parameters and the counters go in the JSON metadata. Loading never unpickles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from aegan.errors import RunError
from aegan.fileio import atomic_write_bytes
from aegan.optim import match_state_layouts
from aegan.weights import (cpu_copy, damaged_file, load_safetensors, load_weights, read_metadata,
                           save_safetensors, state_tensors)

__all__ = ["kept_records", "load_checkpoint", "read_counters", "rng_state", "save_checkpoint",
           "set_rng_state"]


def read_counters(path: Path) -> dict[str, Any]:
    """The counters of a checkpoint (epoch, step), read from its header only."""
    path = Path(path)
    counters = read_metadata(path).get("counters", {})
    if not isinstance(counters, dict) or not isinstance(counters.get("epoch", 0), int):
        raise damaged_file(path, "counters are not numbers")
    return counters


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
                    tensors[f"optim/{name}/{pid}/{key}"] = cpu_copy(value)
                else:
                    scalars.setdefault(str(pid), {})[key] = value
        meta["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    for key, value in rng.items():
        tensors[f"rng/{key}"] = cpu_copy(value)
    save_safetensors(path, tensors, meta)


def _optimizer_state(saved: dict[str, Any], tensors: dict[str, torch.Tensor],
                     prefix: str) -> dict[str, Any]:
    """One optimizer's ``state_dict`` from a checkpoint's metadata and tensors."""
    state: dict[int, dict[str, Any]] = {}
    for pid, values in saved["scalars"].items():
        state.setdefault(int(pid), {}).update(values)
    for key, value in tensors.items():
        if key.startswith(prefix):
            pid, field = key[len(prefix):].split("/", 1)
            state.setdefault(int(pid), {})[field] = value
    return {"state": state, "param_groups": saved["param_groups"]}


def load_checkpoint(path: Path, model: torch.nn.Module,
                    optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    """Restore ``model`` and ``optimizers`` in place; return ``(rng tensors, counters)``."""
    tensors, meta = load_safetensors(path)
    load_weights(model, {k[len("model/"):]: v for k, v in tensors.items()
                         if k.startswith("model/")}, path)
    for name, opt in optimizers.items():
        saved = meta.get("optimizers", {}).get(name)
        if not isinstance(saved, dict):
            raise RunError(f"{path} has no state for optimizer {name!r}; it belongs to another "
                           "kind of run; start a new run")
        try:
            opt.load_state_dict(_optimizer_state(saved, tensors, f"optim/{name}/"))
            match_state_layouts(opt)
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            raise RunError(f"{path}: the state of optimizer {name!r} does not fit this run "
                           f"({type(exc).__name__}); start a new run") from None
    rng = {k[len("rng/"):]: v for k, v in tensors.items() if k.startswith("rng/")}
    return rng, meta.get("counters", {})


def rng_state(generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """The random state a resumed run needs: the shuffling generator's, the global CPU one's
    and, on a CUDA device, that device's."""
    state = {"shuffle": generator.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(generator: torch.Generator, device: torch.device,
                  state: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_state` returned."""
    generator.set_state(state["shuffle"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def kept_records(path: Path, key: str, last: int, rewrite: bool = True) -> list[dict[str, Any]]:
    """The JSON-lines records of ``path`` up to the checkpoint's ``key`` (epoch or step)
    ``last``. With ``rewrite`` the file is rewritten without the later ones (written before a
    crash); a line cut short by a crash ends the records."""
    records = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    kept = [r for r in records
            if isinstance(r, dict) and isinstance(r.get(key), int) and r[key] <= last]
    if rewrite and path.exists():
        atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in kept).encode())
    return kept
