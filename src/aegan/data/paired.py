"""Paired image folders: each example an input image and its target image, as the data sets of
image-to-image translation are laid out (Isola et al. 2017, pix2pix). ``data.pairs`` says how:

- ``left-right`` / ``right-left``: each file holds the two images side by side (pix2pix's
  facades, edges2shoes, maps...: an image of width 2W), the input on the left or on the right;
- ``folders``: twin folders ``DIR/A/NAME`` (the input) and ``DIR/B/NAME`` (its target) with the
  same file names.

A folder with ``train/`` (and ``val/`` or ``valid/``, ``test/``) sub-folders, as pix2pix's
downloads have, is split by them; otherwise 10% of the pairs (in a fixed shuffled order) are
the validation set. Images are read lazily, as in :mod:`aegan.data.folder`; the inputs share
one size and the targets one size (the two may differ). A missing twin or an image of another
size is one error naming the first offender.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, split_last
from aegan.data.examples import Examples
from aegan.data.folder import ImageFiles, image_paths, one_size
from aegan.errors import DataError

PAIRS = ("left-right", "right-left", "folders")
_SPLITS = {"train": ("train",), "valid": ("val", "valid", "validation"), "test": ("test",)}


def _names(paths: list[Path], shuffle: bool) -> np.ndarray:
    names = np.array([str(p) for p in paths])
    return names[np.random.RandomState(0).permutation(len(names))] if shuffle else names


def _side_by_side(root: Path, folder: Path, inputs_left: bool, shuffle: bool) -> Examples:
    paths = image_paths(root, folder)
    if not paths:
        raise DataError(f"{folder} holds no images; data.pairs side by side reads image files "
                        "that hold an input and its target next to each other")
    size, channels = one_size(root, paths)
    if size[0] % 2:
        raise DataError(f"{paths[0]} is {size[0]} pixels wide, an odd width: side-by-side "
                        "pairs are two images of the same width next to each other")
    names = _names(paths, shuffle)
    left, right = (ImageFiles(names, channels, size, half) for half in ("left", "right"))
    return Examples(left, right) if inputs_left else Examples(right, left)


def _twins(root: Path, folder: Path, shuffle: bool) -> Examples:
    a, b = folder / "A", folder / "B"
    if not (a.is_dir() and b.is_dir()):
        raise DataError(f"{folder} has no A/ and B/ folders; data.pairs 'folders' reads inputs "
                        "from A/ and their targets from B/, with the same file names")
    inputs, targets = image_paths(root, a), image_paths(root, b)
    names_a, names_b = [p.name for p in inputs], [p.name for p in targets]
    if names_a != names_b:
        missing = sorted(set(names_a) ^ set(names_b))
        where = "B" if missing[0] in names_a else "A"
        raise DataError(f"{folder}: {missing[0]} has no twin in {where}/; every input in A/ "
                        "needs a target of the same name in B/")
    if not inputs:
        raise DataError(f"{a} holds no images")
    size_a, channels_a = one_size(root, inputs)
    size_b, channels_b = one_size(root, targets)
    return Examples(ImageFiles(_names(inputs, shuffle), channels_a, size_a),
                    ImageFiles(_names(targets, shuffle), channels_b, size_b))


def _read(root: Path, folder: Path, pairs: str, shuffle: bool = False) -> Examples:
    """The pairs in ``folder``, in the order of their names (``shuffle``: in a fixed shuffled
    order, for a split cut from them)."""
    if pairs == "folders":
        return _twins(root, folder, shuffle)
    return _side_by_side(root, folder, pairs == "left-right", shuffle)


def _whole(examples: Examples) -> Examples:
    return examples.map(lambda role, v: np.asarray(v))


def load_pairs(root: Path, pairs: str, valid_size: int | None = None) -> Dataset:
    """A lazy :class:`Dataset` of image pairs in ``root`` (inputs and targets)."""
    if pairs not in PAIRS:
        raise DataError(f"unknown data.pairs {pairs!r}; choose one of {', '.join(PAIRS)}")
    found = {split: next((root / n for n in names if (root / n).is_dir()), None)
             for split, names in _SPLITS.items()}
    if found["train"] is not None:
        train = _read(root, found["train"], pairs, shuffle=found["valid"] is None)
        if found["valid"] is not None:
            valid = _whole(_read(root, found["valid"], pairs))
        else:
            train, valid = split_last(train, valid_size or max(1, len(train) // 10))
            valid = _whole(valid)
        test = None if found["test"] is None else _read(root, found["test"], pairs)
    else:
        every = _read(root, root, pairs, shuffle=True)
        train, valid = split_last(every, valid_size or max(1, len(every) // 10))
        valid, test = _whole(valid), None
    shapes = {r: tuple(v.shape[1:]) for r, v in (("inputs", train.inputs), ("targets", train.targets))}
    for other in (valid, test):
        if other is not None and tuple(other.inputs.shape[1:]) != shapes["inputs"]:
            raise DataError(f"{root}: the splits' images differ in size ({list(shapes['inputs'])} "
                            f"and {list(other.inputs.shape[1:])}); resize them to one size")
    return Dataset(root.name, "images", train, valid, test)
