"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), raw or gzipped.

The header is two zero bytes, a type code, the number of dimensions, then one big-endian
uint32 per dimension; the data follow. Every structural fact is checked so that a truncated or
foreign file gives a clear :class:`DataError`, never a wrong array. The data are read from a
stream, never more than the header promises (itself capped at ``MAX_IDX_BYTES``), so a
damaged or hostile ``.gz`` cannot make the reader inflate without end.
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aegan.errors import DataError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_IDX_BYTES = 1 << 32  # 4 GiB: far beyond the data of any IDX set aegan reads
_REDOWNLOAD = "re-download it or point --data-dir at the official files"


def _header(stream: BinaryIO, source: str) -> tuple[tuple[int, ...], np.dtype]:
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{source} is not an IDX file (bad magic number); {_REDOWNLOAD}")
    code, ndim = head[2], head[3]
    if code not in _TYPES or not 1 <= ndim <= 4:
        raise DataError(f"{source} has an unknown IDX type code 0x{code:02x} or {ndim} "
                        f"dimensions; {_REDOWNLOAD}")
    raw = stream.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DataError(f"{source} is truncated inside its IDX header; {_REDOWNLOAD}")
    return struct.unpack(f">{ndim}I", raw), np.dtype(_TYPES[code])


def read_idx_stream(stream: BinaryIO, source: str) -> np.ndarray:
    """Parse an IDX stream into an array; ``source`` names the file in error messages."""
    dims, dtype = _header(stream, source)
    count = math.prod(dims)
    expected = count * dtype.itemsize
    if expected > MAX_IDX_BYTES:
        raise DataError(f"{source}: its IDX header {dims} promises {expected:,} bytes, more than "
                        f"any data set aegan reads; the file is corrupt; {_REDOWNLOAD}")
    data = stream.read(expected + 1)
    if len(data) != expected:
        held = f"{len(data)}" if len(data) < expected else "more"
        raise DataError(f"{source} holds {held} data bytes but its header {dims} promises "
                        f"{expected}: the file is truncated or corrupt; {_REDOWNLOAD}")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(dims)


def read_idx_bytes(raw: bytes, source: str) -> np.ndarray:
    """Parse IDX bytes (not gzipped) into an array."""
    return read_idx_stream(io.BytesIO(raw), source)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip detected by its magic bytes, not by the name)."""
    try:
        with open(path, "rb") as handle:
            if handle.read(2) == b"\x1f\x8b":
                handle.seek(0)
                with gzip.GzipFile(fileobj=handle) as stream:
                    return read_idx_stream(stream, str(path))
            handle.seek(0)
            return read_idx_stream(handle, str(path))
    except (OSError, EOFError, zlib.error) as exc:
        # gzip.BadGzipFile is an OSError; a truncated stream is an EOFError
        raise DataError(f"cannot read {path}: {exc}; the file is damaged, re-download it") from None


def read_idx_pair(images: Path, labels: Path, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, H, W]`` uint8 and labels ``[N]``, checked against each other."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or x.shape[1:] != shape or x.dtype != np.uint8:
        raise DataError(f"{images} holds {x.dtype} images of shape {x.shape[1:]}, expected "
                        f"uint8 images of shape {shape}; {_REDOWNLOAD}")
    if len(x) == 0:
        raise DataError(f"{images} holds no images; {_REDOWNLOAD}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{labels} holds {y.shape} labels for {len(x)} images in {images}; "
                        "the two files do not belong together; " + _REDOWNLOAD)
    return x, y.astype(np.int64)
