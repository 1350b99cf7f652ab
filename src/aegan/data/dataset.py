"""The in-memory data set every model trains on, and the registry of named sets.

A :class:`Dataset` holds NumPy arrays split into train / valid / test. Pixels are scaled here
and nowhere else: images are float32 in [0, 1] (or in [-1, 1] with ``scale="symmetric"``),
shaped ``[N, C, H, W]``; tabular data is ``[N, F]``; sequences are ``[N, T, F]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from aegan.errors import DataError

SPLITS = ("train", "valid", "test")


@dataclass
class Dataset:
    """Arrays of one data set, split three ways. Labels are int64 or None."""

    name: str
    kind: str  # "image" | "tabular" | "sequence"
    x_train: np.ndarray
    x_valid: np.ndarray
    x_test: np.ndarray | None = None
    y_train: np.ndarray | None = None
    y_valid: np.ndarray | None = None
    y_test: np.ndarray | None = None
    classes: list[str] | None = None
    value_range: tuple[float, float] | None = (0.0, 1.0)  # None: unbounded (tabular)
    notes: list[str] = field(default_factory=list)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """``(x, y)`` of split ``name``; a clear error where the set has no such split."""
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        x = getattr(self, f"x_{name}")
        if x is None:
            raise DataError(f"data set {self.name!r} has no {name} split; use --split valid")
        return x, getattr(self, f"y_{name}")

    def limited(self, limit: int | None) -> Dataset:
        """The same set with only the first ``limit`` training examples."""
        if limit is None or limit >= len(self.x_train):
            return self
        y = None if self.y_train is None else self.y_train[:limit]
        return dataclasses.replace(self, x_train=self.x_train[:limit], y_train=y)

    def scaled(self, scale: str = "unit") -> Dataset:
        """The same set with pixels in [0, 1] (``unit``, as loaded) or in [-1, 1]
        (``symmetric``: ``2 x - 1``, as GANs with a tanh output want them)."""
        if scale == "unit":
            return self
        if self.value_range != (0.0, 1.0):
            raise DataError(f"data.scale {scale!r} maps values in [0, 1] to [-1, 1], and "
                            f"{self.name} is not in [0, 1]; use data.scale 'unit'")
        two = [None if a is None else (2 * a - 1).astype(np.float32)
               for a in (self.x_train, self.x_valid, self.x_test)]
        return dataclasses.replace(self, x_train=two[0], x_valid=two[1], x_test=two[2],
                                   value_range=(-1.0, 1.0))

    def of_classes(self, classes: list[int] | None) -> Dataset:
        """The same set with only the examples labelled one of ``classes`` in its train and
        valid splits; the test split is kept whole (the one-class protocol of Ruff et al. 2018
        trains on one class and tests on all)."""
        if classes is None:
            return self
        if self.y_train is None:
            raise DataError(f"--classes needs labels, and data set {self.name!r} has none")
        absent = sorted(set(classes) - set(np.unique(self.y_train).tolist()))
        if absent:
            known = ", ".join(str(c) for c in np.unique(self.y_train))
            raise DataError(f"class {absent[0]} does not occur in {self.name}'s training labels "
                            f"({known})")
        keep, keep_valid = np.isin(self.y_train, classes), np.isin(self.y_valid, classes)
        if not keep_valid.any():
            raise DataError(f"no example of classes {classes} in {self.name}'s validation split")
        return dataclasses.replace(self, x_train=self.x_train[keep], y_train=self.y_train[keep],
                                   x_valid=self.x_valid[keep_valid],
                                   y_valid=self.y_valid[keep_valid])


@dataclass
class DatasetEntry:
    name: str
    loader: Callable[..., Dataset]
    description: str
    embedded: bool  # ships with the installed packages: needs no download


DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(name: str, description: str, embedded: bool = False):
    """Decorator: register ``loader(data_dir: Path | None, valid_size: int | None) -> Dataset``."""

    def wrap(loader):
        DATASETS[name] = DatasetEntry(name, loader, description, embedded)
        return loader

    return wrap


FILE_SUFFIXES = (".npy", ".npz", ".csv")


def load_dataset(name: str, data_dir: str | Path | None = None, limit: int | None = None,
                 valid_size: int | None = None, classes: list[int] | None = None,
                 scale: str = "unit") -> Dataset:
    """Load a registered data set by name, a .npy/.npz/.csv file or an image folder by path;
    keep only ``classes`` (train and valid splits), then the first ``limit`` training examples;
    pixels scaled to ``scale`` (see :meth:`Dataset.scaled`)."""
    from aegan.data.files import load_file  # imported here: files imports this module

    if name in DATASETS:
        data = DATASETS[name].loader(Path(data_dir) if data_dir else None, valid_size)
    elif Path(name).is_dir():  # root/CLASS/*.png, read lazily
        from aegan.data.folder import load_image_folder

        data = load_image_folder(Path(name), valid_size)
    elif Path(name).suffix.lower() in FILE_SUFFIXES or Path(name).exists():
        data = load_file(Path(name), valid_size)
    else:
        raise DataError(
            f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))} "
            f"(see 'aegan datasets'), or give a path to a {'/'.join(FILE_SUFFIXES)} file "
            "or to a folder of images"
        )
    return data.of_classes(classes).limited(limit).scaled(scale)


def split_last(x: np.ndarray, y: np.ndarray | None, n_valid: int):
    """Split off the last ``n_valid`` examples, as the book does for its validation set."""
    if not 0 < n_valid < len(x):
        raise DataError(f"validation size {n_valid} must be between 1 and {len(x) - 1} "
                        f"for a training set of {len(x)} examples; set data.valid_size "
                        "in that range, or use more data")
    cut = len(x) - n_valid
    ys = (None, None) if y is None else (y[:cut], y[cut:])
    return x[:cut], x[cut:], ys[0], ys[1]
