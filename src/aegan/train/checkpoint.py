"""Checkpoints as safetensors: weights, optimizer state, random state and counters.

Everything that is a tensor goes in the safetensors body; everything else (optimizer
hyper-parameters, counters) goes in its JSON metadata, beside a SHA-256 of the whole file (the
header in canonical JSON, then the tensor bytes). Loading never unpickles, and checks that
digest, so a file damaged after it was written is named as such instead of loading wrong
numbers or counters. Files are written atomically
(:func:`aegan.fileio.atomic_write_bytes`), and a tensor holding NaN or infinity is never written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from aegan.errors import RunError, TrainingDiverged
from aegan.fileio import atomic_write_bytes
from aegan.optim import match_state_layouts

__all__ = ["atomic_write_bytes", "load_checkpoint", "load_safetensors", "load_weights",
           "read_counters", "save_checkpoint", "save_safetensors", "state_tensors"]

_META_KEY = "aegan"
_DIGEST_KEY = "sha256"  # of the canonical header (without this key) and the tensor bytes
_MAX_HEADER = 100 << 20


def _cpu(t: torch.Tensor) -> torch.Tensor:
    # A private contiguous copy: safetensors refuses shared storage (tied weights).
    return t.detach().to("cpu", copy=True).contiguous()


def state_tensors(module: torch.nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    return {prefix + k: _cpu(v) for k, v in module.state_dict().items()}


def _digest(header: dict[str, Any], body: memoryview) -> str:
    """SHA-256 of ``header`` (its digest left out, keys sorted) followed by ``body``."""
    meta = {k: v for k, v in (header.get("__metadata__") or {}).items() if k != _DIGEST_KEY}
    canonical = dict(header, __metadata__=meta)
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())
    digest.update(body)
    return digest.hexdigest()


def _with_digest(raw: bytes) -> bytes:
    """A safetensors file ``raw`` with its SHA-256 added to its metadata."""
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    header.setdefault("__metadata__", {})[_DIGEST_KEY] = _digest(header, body)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the tensor bytes stay 8-byte aligned
    return len(text).to_bytes(8, "little") + text + body


def save_safetensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write ``tensors`` and ``meta`` atomically, with a digest; refuse NaN or infinity."""
    bad = [k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise TrainingDiverged(f"refusing to write {path.name}: {bad[0]} holds NaN or infinite "
                               "values; the previous file is kept; lower the learning rate")
    atomic_write_bytes(path, _with_digest(st_save(tensors, metadata={_META_KEY: json.dumps(meta)})))


def _damaged(path: Path, why: str) -> RunError:
    return RunError(f"{path} is damaged or not a safetensors file ({why}); restore it from a "
                    "copy, or train the run again")


def _header(path: Path, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Length and JSON of a safetensors header, checked before anything trusts them."""
    n = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    if not 0 < n <= min(len(raw) - 8, _MAX_HEADER):
        raise _damaged(path, "bad header length")
    try:
        header = json.loads(raw[8:8 + n])
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _damaged(path, "header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__", {}), dict):
        raise _damaged(path, "header is not a JSON object")
    return n, header


def _meta(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads((header.get("__metadata__") or {}).get(_META_KEY, "{}"))
    except (TypeError, ValueError, RecursionError):
        raise _damaged(path, "metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise _damaged(path, "metadata is not a JSON object")
    return meta


def _read(path: Path, limit: int | None = None) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read() if limit is None else handle.read(limit)
    except FileNotFoundError:
        raise RunError(f"{path} does not exist; train the run first") from None
    except OSError as exc:
        raise _damaged(path, exc.strerror or str(exc)) from None


def load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata of a file whose digest matches, or a :class:`RunError` that names
    the damage."""
    path = Path(path)
    raw = _read(path)
    n, header = _header(path, raw)
    digest = (header.get("__metadata__") or {}).get(_DIGEST_KEY)
    if digest is None:
        raise RunError(f"{path} carries no SHA-256 of its contents, so aegan cannot tell whether "
                       "it is whole; it was not written by this version of aegan; train the run "
                       "again")
    if _digest(header, memoryview(raw)[8 + n:]) != digest:
        raise RunError(f"{path} is corrupt: its contents do not match the SHA-256 recorded when "
                       "it was written; restore it from a copy, or train the run again")
    try:
        tensors = st_load(raw)
    except (SafetensorError, ValueError, RuntimeError, TypeError) as exc:
        raise _damaged(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return tensors, _meta(path, header)


def read_counters(path: Path) -> dict[str, Any]:
    """The counters of a checkpoint (epoch, step), read from its header only."""
    path = Path(path)
    start = _read(path, 8)
    n = int.from_bytes(start, "little") if len(start) == 8 else -1
    raw = _read(path, 8 + max(0, min(n, _MAX_HEADER)))
    counters = _meta(path, _header(path, raw)[1]).get("counters", {})
    if not isinstance(counters, dict) or not isinstance(counters.get("epoch", 0), int):
        raise _damaged(path, "counters are not numbers")
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
                    tensors[f"optim/{name}/{pid}/{key}"] = _cpu(value)
                else:
                    scalars.setdefault(str(pid), {})[key] = value
        meta["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    for key, value in rng.items():
        tensors[f"rng/{key}"] = _cpu(value)
    save_safetensors(path, tensors, meta)


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: Path) -> None:
    """Load ``weights`` into ``model``, or a :class:`RunError` when they are another model's."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0])[:160]
        raise RunError(f"{source} holds weights of another model ({detail}); the files come "
                       "from different runs; restore the run's own files, or start a new run") from None


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
