"""Data from a user's file: ``.npy`` (one array), ``.npz`` (``x`` and optional ``y``) or
``.csv`` (numbers only, an optional header row). Values are used as they are: tabular data
is not rescaled. The last 10% of the rows are the validation set.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, split_last
from aegan.errors import DataError

_KINDS = {2: "tabular", 3: "sequence", 4: "image"}


def _read_csv(path: Path) -> np.ndarray:
    rows = []
    with open(path, newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            try:
                rows.append([float(cell) for cell in row])
            except ValueError:
                if line_no == 1 and not rows:
                    continue  # a header row
                bad = next(c for c in row if not _is_number(c))
                raise DataError(f"{path}, line {line_no}: {bad!r} is not a number; "
                                "a CSV for aegan holds numbers only (one header row allowed)") from None
            if len(rows[-1]) != len(rows[0]):
                raise DataError(f"{path}, line {line_no}: {len(rows[-1])} columns, "
                                f"but the first data row has {len(rows[0])}")
    return np.asarray(rows, dtype=np.float32)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _read_array(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path), None
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {path} as {suffix}: {exc}") from None
    if suffix == ".npz" or isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            if not keys:
                raise DataError(f"{path} holds no arrays")
            x_key = next((k for k in ("x", "X", "data") if k in keys), keys[0])
            y = loaded["y"] if "y" in keys else None
            return loaded[x_key], y
    return loaded, None


def load_file(path: Path, valid_size: int | None = None) -> Dataset:
    """Read ``path`` into a :class:`Dataset` after checking shape, dtype and finiteness."""
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    x, y = _read_array(path)
    if x.size == 0:
        raise DataError(f"{path} holds 0 examples; it is empty")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{path} holds {x.dtype} values; aegan needs real numbers")
    if x.ndim not in _KINDS:
        raise DataError(f"{path} holds an array of shape {x.shape}; expected [N, F] (tabular), "
                        "[N, T, F] (sequences) or [N, C, H, W] (images)")
    if len(x) < 2:
        raise DataError(f"{path} holds {len(x)} examples; at least 2 are needed")
    x = x.astype(np.float32)
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise DataError(f"{path} has NaN or infinite values in {bad.sum()} rows (first: row "
                        f"{int(np.argmax(bad))}); remove or impute them first")
    if y is not None and (y.ndim != 1 or len(y) != len(x)):
        raise DataError(f"{path}: 'y' has shape {y.shape}, expected one label per example ({len(x)})")
    y = None if y is None else y.astype(np.int64)
    n_valid = valid_size or max(1, len(x) // 10)
    x_train, x_valid, y_train, y_valid = split_last(x, y, n_valid)
    in_unit = float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    return Dataset(path.name, _KINDS[x.ndim], x_train, x_valid, None, y_train, y_valid,
                   value_range=(0.0, 1.0) if in_unit else None)
