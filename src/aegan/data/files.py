"""Data from a user's file: ``.npy`` (one array), ``.npz`` (named arrays, one per role) or
``.csv`` (numbers only, an optional header row). The last 10% of the rows are the validation
set.

An array of ``N`` examples has the kind its other dimensions suggest: ``[N, F]`` vectors,
``[N, T, F]`` sequences, ``[N, C, H, W]`` images, ``[N, T, C, H, W]`` image sequences; the data
config's ``kind`` settles the ambiguous cases (``images`` for ``[N, H, W]``, ``image-sequences``
for ``[N, T, H, W]``: a channel axis is added). An ``.npz`` names its roles by its arrays'
names (:data:`ROLE_NAMES`: ``x`` or ``inputs``, ``targets``, ``y`` or ``labels``,
``conditions``). Values are used as they are (tabular data is not rescaled), except 8-bit
images, which are divided by 255.

The readers treat a file as untrusted: ``.npy`` / ``.npz`` are read with ``allow_pickle=False``
after their headers are checked against the bytes really there (so a damaged header cannot ask
for terabytes), and anything malformed is a :class:`DataError` naming the file.

An ``.npy`` file is opened memory-mapped (``np.load(mmap_mode="r")``) and checked in chunks
whose pages are released as the scan goes. When it holds native float32 values and is larger
than a quarter of the available memory it stays memory-mapped, never read whole, and the
Trainer streams it batch by batch (:mod:`aegan.data.stream`), so a file larger than the RAM
trains with flat resident memory; a smaller one is read into memory as before.
"""

from __future__ import annotations

import csv
import math
import struct
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aegan.data.dataset import Dataset, split_last
from aegan.data.examples import KINDS, Examples, kind_of
from aegan.data.memory import in_memory_budget, release_pages
from aegan.errors import DataError

ROLE_NAMES = {"x": "inputs", "X": "inputs", "data": "inputs", "inputs": "inputs",
              "targets": "targets", "target": "targets", "y": "labels", "labels": "labels",
              "conditions": "conditions", "c": "conditions"}
# What NumPy and zipfile raise on damaged input (UnicodeDecodeError is a ValueError).
# NumPy parses an .npy header with ``ast.literal_eval`` (data only, never code), hence the
# tokenizer's errors.
_UNREADABLE = (ValueError, OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile,
               NotImplementedError, RuntimeError, zlib.error, MemoryError, KeyError,
               struct.error, SyntaxError, TypeError, OverflowError, tokenize.TokenError)


def _csv_rows(path: Path, handle) -> list[list[float]]:
    rows: list[list[float]] = []
    for line_no, row in enumerate(csv.reader(handle), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            rows.append([float(cell) for cell in row])
        except ValueError:
            if line_no == 1 and not rows:
                continue  # a header row
            bad = next(c for c in row if not _is_number(c))
            raise DataError(f"{path}, line {line_no}: {bad[:40]!r} is not a number; "
                            "a CSV for aegan holds numbers only (one header row allowed)") from None
        if len(rows[-1]) != len(rows[0]):
            raise DataError(f"{path}, line {line_no}: {len(rows[-1])} columns, but the first "
                            f"data row has {len(rows[0])}; give every row the same columns")
    return rows


def _read_csv(path: Path) -> np.ndarray:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = _csv_rows(path, handle)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); save the CSV as UTF-8 "
                        "text of numbers") from None
    except csv.Error as exc:
        raise DataError(f"{path} is not a readable CSV ({exc}); save it as plain "
                        "comma-separated numbers") from None
    with np.errstate(over="ignore"):  # beyond float32: infinite, refused with the NaNs below
        return np.asarray(rows, dtype=np.float32)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _npy_header(stream: BinaryIO, size: int, source: str) -> None:
    """Check that an .npy stream of ``size`` bytes holds the data its header promises."""
    version = np.lib.format.read_magic(stream)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    with warnings.catch_warnings():  # a damaged header is an error below, not a warning
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        raise DataError(f"{source} holds Python objects, which aegan never unpickles; "
                        "save plain numbers (np.save of a float array)")
    needed = math.prod(shape) * dtype.itemsize
    if size - stream.tell() < needed:
        raise DataError(f"{source} is truncated: its header promises {needed:,} bytes of data "
                        f"but {max(0, size - stream.tell()):,} follow; save the file again")


def _read_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as handle:
        _npy_header(handle, path.stat().st_size, str(path))
    return np.load(path, mmap_mode="r", allow_pickle=False)  # np.memmap (or [] when empty)


_CHUNK_BYTES = 16 * 2**20


def map_above() -> int:
    """Bytes above which a float32 ``.npy`` stays memory-mapped."""
    return in_memory_budget()


def _scan(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Rows of ``x`` that hold a NaN or infinite float32 value, and the min and max, read in
    chunks of 16 MiB so that a memory-mapped file is never resident whole."""
    rows = max(1, _CHUNK_BYTES // max(1, x[0].nbytes))
    bad, low, high = [], math.inf, -math.inf
    for start in range(0, len(x), rows):
        with np.errstate(over="ignore", invalid="ignore"):
            chunk = np.asarray(x[start:start + rows]).astype(np.float32)
        bad.append(~np.isfinite(chunk.reshape(len(chunk), -1)).all(axis=1))
        if not bad[-1].any():
            low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
        release_pages(x)
    return np.concatenate(bad), low, high


def _npz_member(archive: zipfile.ZipFile, name: str, source: str) -> np.ndarray:
    info = archive.getinfo(name + ".npy")
    with archive.open(info) as stream:
        _npy_header(stream, info.file_size, f"{source}[{name!r}]")
    with archive.open(info) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        keys = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
        if not keys:
            raise DataError(f"{path} holds no arrays; save one with np.savez(path, x=...)")
        roles: dict[str, str] = {}
        for key in keys:
            role = ROLE_NAMES.get(key)
            if role is None and len(keys) == 1:
                role = "inputs"  # one array, whatever its name
            if role is None:
                raise DataError(f"{path}: array {key!r} names no role; name the arrays "
                                f"{', '.join(sorted(set(ROLE_NAMES)))}, as in "
                                "np.savez(path, x=inputs, targets=..., y=labels)")
            if role in roles:
                raise DataError(f"{path}: arrays {roles[role]!r} and {key!r} both name the "
                                f"{role}; keep one")
            roles[role] = key
        if "inputs" not in roles:
            raise DataError(f"{path} has no inputs array; name it x (np.savez(path, x=...))")
        return {role: _npz_member(archive, key, str(path)) for role, key in roles.items()}


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a ``.npy``, ``.npz`` or ``.csv`` by role, read as untrusted (checked headers,
    no pickles); a damaged file is a :class:`DataError` naming it."""
    if path.suffix.lower() == ".csv":
        return {"inputs": _read_csv(path)}
    try:
        with open(path, "rb") as handle:
            is_zip = handle.read(2) == b"PK"
        return _read_npz(path) if is_zip else {"inputs": _read_npy(path)}
    except DataError:
        raise
    except _UNREADABLE as exc:
        kind = path.suffix.lower() or "an array file"
        raise DataError(f"cannot read {path} as {kind}: {type(exc).__name__}: "
                        f"{str(exc)[:120]}; the file is damaged or not a NumPy file") from None


def _check_labels(path: Path, y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: the labels have shape {y.shape}, expected one label per "
                        f"example ({n})")
    if (not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating)
            or not np.isfinite(y).all() or not np.array_equal(y, np.round(y))
            or (y.size and np.abs(y).max() >= 2**62)):
        raise DataError(f"{path}: the labels must be whole numbers (class indices); "
                        "save them as integers")
    if y.size and y.min() < 0:
        raise DataError(f"{path}: the labels must be class indices >= 0, got {int(y.min())}")
    return y.astype(np.int64)


def _kind(path: Path, x: np.ndarray, asked: str) -> tuple[str, np.ndarray]:
    """The kind of ``x``'s examples (``asked``, or guessed from its dimensions) and ``x`` with a
    channel axis added where the kind asked for needs one."""
    dims = x.ndim - 1
    if not 1 <= dims <= 4:
        raise DataError(f"{path} holds an array of shape {x.shape}; expected [N, F] (vectors), "
                        "[N, T, F] (sequences), [N, C, H, W] (images) or [N, T, C, H, W] (image "
                        "sequences); reshape it")
    kind = kind_of(dims) if asked == "auto" else asked
    if KINDS[kind] == dims + 1 and kind in ("images", "image-sequences"):
        return kind, x[:, None] if kind == "images" else x[:, :, None]  # one channel
    if KINDS[kind] != dims:
        raise DataError(f"{path} holds examples of shape {list(x.shape[1:])}, which are not "
                        f"{kind} (that needs {KINDS[kind]} dimensions per example); set "
                        "data.kind to what they are, or 'auto'")
    return kind, x


def _values(path: Path, role: str, x: np.ndarray, kind: str) -> tuple[np.ndarray, float, float]:
    """A role's array checked (real numbers, finite, float32; 8-bit images divided by 255,
    large float32 files left memory-mapped) and its minimum and maximum."""
    if x.size == 0:
        raise DataError(f"{path} holds 0 examples; it is empty; give a file with data")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{path} holds {x.dtype} values; aegan needs real numbers; "
                        "save a float array")
    bytes_8 = x.dtype == np.uint8 and kind in ("images", "image-sequences")
    bad, low, high = _scan(x)
    if not (isinstance(x, np.memmap) and x.dtype == np.dtype(np.float32)
            and x.nbytes > map_above()):  # else read whole, as a writable array
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.array(x, dtype=np.float32)  # an ndarray, not a memmap
    if bad.any():
        what = "" if role == "inputs" else f" ({role})"
        raise DataError(f"{path}{what} has NaN or infinite values (or values beyond float32) in "
                        f"{bad.sum()} rows (first: row {int(np.argmax(bad))}); remove or "
                        "impute them first")
    if bytes_8:
        x, low, high = x / np.float32(255.0), low / 255.0, high / 255.0
    return x, low, high


def load_file(path: Path, valid_size: int | None = None, kind: str = "auto") -> Dataset:
    """Read ``path`` into a :class:`Dataset` after checking shape, dtype and finiteness."""
    if not path.is_file():
        raise DataError(f"data file {path} does not exist; check the path, or name a data set "
                        "(see 'aegan datasets')")
    arrays = read_arrays(path)
    if arrays["inputs"].size == 0:
        raise DataError(f"{path} holds 0 examples; it is empty; give a file with data")
    kind, inputs = _kind(path, arrays["inputs"], kind)
    n = len(inputs)
    if n < 2:
        raise DataError(f"{path} holds {n} examples; at least 2 are needed")
    roles: dict[str, np.ndarray] = {}
    low, high = math.inf, -math.inf
    for role, array in {**arrays, "inputs": inputs}.items():
        if role == "labels":
            roles[role] = _check_labels(path, array, n)
            continue
        if len(array) != n:
            raise DataError(f"{path}: {role} has {len(array)} rows but the inputs have {n}; "
                            "give one row per example")
        roles[role], lo, hi = _values(path, role, array, kind)
        if role != "conditions":
            low, high = min(low, lo), max(high, hi)
    train, valid = split_last(Examples(**roles), valid_size or max(1, n // 10))
    in_unit = low >= 0.0 and high <= 1.0
    return Dataset(path.name, kind, train, valid, None,
                   value_range=(0.0, 1.0) if in_unit else None)
