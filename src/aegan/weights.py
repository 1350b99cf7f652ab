"""Weights as safetensors files that carry a SHA-256 of themselves.

Everything that is a tensor goes in the safetensors body; anything else (a family's name, an
optimizer's hyper-parameters, counters) goes in its JSON metadata, beside a SHA-256 of the
whole file (the header in canonical JSON, then the tensor bytes). Loading never unpickles and
checks that digest, so a file damaged after it was written is named as such instead of loading
wrong numbers. Files are written atomically (:func:`aegan.fileio.atomic_write_bytes`), and a
tensor holding NaN or infinity is never written. Run folders (:mod:`aegan.io`), checkpoints
(:mod:`aegan.train.checkpoint`) and cached feature networks (:mod:`aegan.metrics.features`)
all use this one codec.
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

__all__ = ["cpu_copy", "damaged_file", "load_safetensors", "load_weights", "read_metadata",
           "save_safetensors", "state_tensors"]

_META_KEY = "aegan"
_DIGEST_KEY = "sha256"  # of the canonical header (without this key) and the tensor bytes
_MAX_HEADER = 100 << 20


def cpu_copy(t: torch.Tensor) -> torch.Tensor:
    # A private contiguous copy: safetensors refuses shared storage (tied weights).
    return t.detach().to("cpu", copy=True).contiguous()


def state_tensors(module: torch.nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    return {prefix + k: cpu_copy(v) for k, v in module.state_dict().items()}


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


def damaged_file(path: Path, why: str) -> RunError:
    return RunError(f"{path} is damaged or not a safetensors file ({why}); restore it from a "
                    "copy, or train the run again")


def _header(path: Path, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Length and JSON of a safetensors header, checked before anything trusts them."""
    n = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    if not 0 < n <= min(len(raw) - 8, _MAX_HEADER):
        raise damaged_file(path, "bad header length")
    try:
        header = json.loads(raw[8:8 + n])
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise damaged_file(path, "header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__", {}), dict):
        raise damaged_file(path, "header is not a JSON object")
    return n, header


def _meta(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads((header.get("__metadata__") or {}).get(_META_KEY, "{}"))
    except (TypeError, ValueError, RecursionError):
        raise damaged_file(path, "metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise damaged_file(path, "metadata is not a JSON object")
    return meta


def _read(path: Path, limit: int | None = None) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read() if limit is None else handle.read(limit)
    except FileNotFoundError:
        raise RunError(f"{path} does not exist; train the run first") from None
    except OSError as exc:
        raise damaged_file(path, exc.strerror or str(exc)) from None


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
        raise damaged_file(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    return tensors, _meta(path, header)


def read_metadata(path: Path) -> dict[str, Any]:
    """The JSON metadata of a file written by :func:`save_safetensors`, read from its header
    only (the tensors are not read, the digest not checked)."""
    path = Path(path)
    start = _read(path, 8)
    n = int.from_bytes(start, "little") if len(start) == 8 else -1
    raw = _read(path, 8 + max(0, min(n, _MAX_HEADER)))
    return _meta(path, _header(path, raw)[1])


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: Path) -> None:
    """Load ``weights`` into ``model``, or a :class:`RunError` when they are another model's."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0])[:160]
        raise RunError(f"{source} holds weights of another model ({detail}); the files come "
                       "from different runs; restore the run's own files, or start a new run") from None
