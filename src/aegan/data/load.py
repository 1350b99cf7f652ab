"""Loading a data set by name or path, in the order every loader follows: open it (a registered
set, a file, an image folder or a folder of image pairs), keep the classes asked for, then the
first ``limit`` training examples, make derived pairs (:mod:`aegan.data.derive`), and scale the
inputs and targets to the range the model asks for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aegan.data.dataset import DATASETS, Dataset
from aegan.data.derive import derive as derive_pairs
from aegan.data.files import load_file
from aegan.data.folder import load_image_folder
from aegan.data.frames import load_frame_folders
from aegan.data.paired import load_pairs
from aegan.errors import DataError, did_you_mean

FILE_SUFFIXES = (".npy", ".npz", ".csv")


def open_dataset(name: str, data_dir: str | Path | None = None, valid_size: int | None = None,
                 kind: str = "auto", pairs: str | None = None) -> Dataset:
    """A registered data set by name, a .npy/.npz/.csv file, an image folder (``root/CLASS/*``),
    with ``pairs`` a folder of image pairs, or with ``kind`` ``image-sequences`` a folder of
    sequences of numbered frames (``root/SEQUENCE/*``), as stored: every class and example."""
    path = Path(name)
    if name in DATASETS:
        if pairs is not None:
            raise DataError(f"data.pairs reads a folder of image pairs, and {name!r} is a named "
                            "data set; drop data.pairs (or use data.derive to make pairs)")
        return DATASETS[name].loader(Path(data_dir) if data_dir else None, valid_size)
    if path.is_dir():
        if pairs:
            return load_pairs(path, pairs, valid_size)
        if kind == "image-sequences":  # sub-folders of numbered frames
            return load_frame_folders(path, valid_size)
        return load_image_folder(path, valid_size)
    if path.suffix.lower() in FILE_SUFFIXES or path.exists():
        return load_file(path, valid_size, kind)
    raise DataError(
        f"unknown data set {name!r}{did_you_mean(name, DATASETS)} (known: "
        f"{', '.join(sorted(DATASETS))}; "
        f"see 'aegan datasets'), or give a path to a {'/'.join(FILE_SUFFIXES)} file "
        "or to a folder of images"
    )


def load_dataset(name: str, data_dir: str | Path | None = None, limit: int | None = None,
                 valid_size: int | None = None, classes: list[int] | None = None,
                 scale: str | tuple[float, float] = "unit", kind: str = "auto",
                 pairs: str | None = None, derive: dict[str, Any] | None = None) -> Dataset:
    """Open ``name`` (:func:`open_dataset`); keep only ``classes`` (train and valid splits),
    then the first ``limit`` training examples; derive pairs by ``derive``; inputs and targets
    scaled to ``scale`` (see :meth:`Dataset.scaled`)."""
    data = open_dataset(name, data_dir, valid_size, kind, pairs)
    data = data.of_classes(classes).limited(limit)
    return derive_pairs(data, derive).scaled(scale)
