"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), raw or gzipped.

The header is two zero bytes, a type code, the number of dimensions, then one big-endian
uint32 per dimension; the data follow. Every structural fact is checked so that a truncated or
foreign file gives a clear :class:`DataError`, never a wrong array.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from aegan.errors import DataError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_bytes(raw: bytes, source: str) -> np.ndarray:
    """Parse IDX bytes into an array; ``source`` names the file in error messages."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{source} is not an IDX file (bad magic number); "
                        "re-download it or point --data-dir at the official files")
    code, ndim = raw[2], raw[3]
    if code not in _TYPES or not 1 <= ndim <= 4:
        raise DataError(f"{source} has an unknown IDX type code 0x{code:02x} or {ndim} dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{source} is truncated inside its IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_TYPES[code])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{source} holds {len(raw) - header} data bytes but its header "
                        f"{dims} promises {expected}: the file is truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip detected by its magic bytes, not by the name)."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a truncated stream is an EOFError
        raise DataError(f"cannot read {path}: {exc}; the file is damaged, re-download it") from None
    return read_idx_bytes(raw, str(path))


def read_idx_pair(images: Path, labels: Path, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, H, W]`` uint8 and labels ``[N]``, checked against each other."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or x.shape[1:] != shape or x.dtype != np.uint8:
        raise DataError(f"{images} holds {x.dtype} images of shape {x.shape[1:]}, expected "
                        f"uint8 images of shape {shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{labels} holds {y.shape} labels for {len(x)} images in {images}")
    return x, y.astype(np.int64)
