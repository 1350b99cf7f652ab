"""Image folders: ``root/CLASS/*.png`` (PNG, JPEG, BMP or GIF), one sub-folder per class, as
``torchvision.datasets.ImageFolder`` lays them out (images directly in ``root``: one set
without labels).

The training images are read lazily (:class:`ImageFiles`): each batch is decoded when the
Trainer's ``DataLoader`` asks for it, by its worker processes, so a folder larger than memory
trains (:mod:`aegan.data.stream`). Every image must have the same size; grey images
(modes ``1``/``L``) give ``[N, 1, H, W]``, any other mode is converted to RGB,
``[N, 3, H, W]``; pixels are scaled to [0, 1] here, as for every image set. The examples are
put in a fixed shuffled order (seed 0) before the last 10% are split off for validation, so
every class is in both splits; the validation split is read into memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, split_last
from aegan.data.examples import Examples
from aegan.errors import DataError
from aegan.fileio import safe_join

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GREY_MODES = ("1", "L")


def _unreadable(path: Path, exc: Exception) -> DataError:
    return DataError(f"{path} is not a readable image ({type(exc).__name__}); remove or "
                     "replace it")


def _header(path: Path) -> tuple[tuple[int, int], str]:
    """``((width, height), mode)`` of an image, from its header only."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size, image.mode
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _unreadable(path, exc) from None


class ImageFiles:
    """A lazy array ``[N, C, H, W]`` float32 in [0, 1] over image files. Slices and boolean
    masks give lazy views; an integer index array reads and decodes those images. ``half``:
    ``left`` or ``right`` reads that half of each image (pairs stored side by side)."""

    dtype = np.dtype(np.float32)
    ndim = 4

    def __init__(self, paths: np.ndarray, channels: int, size: tuple[int, int],
                 half: str | None = None):
        self.paths = paths  # [N] of str
        self.channels, self.size, self.half = channels, size, half
        width = size[0] // 2 if half else size[0]
        self.shape = (len(paths), channels, size[1], width)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        if isinstance(index, slice) or np.asarray(index).dtype == bool:
            return ImageFiles(self.paths[index], self.channels, self.size, self.half)
        index = np.asarray(index)
        if index.ndim == 0:
            return self._read(self.paths[int(index)])
        out = np.empty((len(index), *self.shape[1:]), np.float32)  # [k, C, H, W]
        for i, path in enumerate(self.paths[index]):
            out[i] = self._read(path)
        return out

    def __array__(self, dtype=None, copy=None):
        return self[np.arange(len(self))].astype(dtype or np.float32, copy=False)

    def _read(self, path: str) -> np.ndarray:
        from PIL import Image

        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("L" if self.channels == 1 else "RGB"))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise _unreadable(Path(path), exc) from None
        if pixels.shape[:2] != (self.size[1], self.size[0]):
            raise DataError(f"{path} changed size while training; keep the folder unchanged")
        pixels = pixels.astype(np.float32) / 255.0
        if self.half:
            width = self.size[0] // 2
            pixels = pixels[:, :width] if self.half == "left" else pixels[:, width:2 * width]
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)  # [C, H, W]


def _listing(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """Image paths, their class indices and the class names (sorted, so stable)."""
    def images(folder: Path) -> list[Path]:
        return image_paths(root, folder)

    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths, labels = [], []
    for label, name in enumerate(classes):
        found = images(root / name)
        paths += found
        labels += [label] * len(found)
    if not paths:
        return images(root), [], []
    return paths, labels, classes


def one_size(root: Path, paths: list[Path]) -> tuple[tuple[int, int], int]:
    """The one ``(width, height)`` of the images at ``paths``, from their headers, and their
    channels (1 when every one is grey, else 3); a clear error naming the first image of
    another size."""
    size, modes = _header(paths[0])[0], set()
    for path in paths:
        other, mode = _header(path)
        if other != size:
            raise DataError(f"{root}: images differ in size: {paths[0].name} is {size[0]}x"
                            f"{size[1]} but {path} is {other[0]}x{other[1]}; resize them all "
                            "to one size")
        modes.add(mode)
    return size, 1 if modes <= set(GREY_MODES) else 3


def image_paths(root: Path, folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (inside ``root``), sorted by name."""
    return [safe_join(root, str(p.relative_to(root)), "image folder")
            for p in sorted(folder.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]


def load_image_folder(root: Path, valid_size: int | None = None) -> Dataset:
    """A lazy image :class:`Dataset` of ``root``; every header is checked first."""
    paths, labels, classes = _listing(root)
    if len(paths) < 2:
        raise DataError(f"{root} holds {len(paths)} images ({'/'.join(IMAGE_SUFFIXES)}); put "
                        "at least 2 in it, one sub-folder per class")
    size, channels = one_size(root, paths)
    order = np.random.RandomState(0).permutation(len(paths))
    x = ImageFiles(np.array([str(p) for p in paths])[order], channels, size)
    y = np.array(labels, dtype=np.int64)[order] if classes else None
    train, valid = split_last(Examples(x, labels=y), valid_size or max(1, len(x) // 10))
    valid = valid.map(lambda role, v: np.asarray(v))  # the validation split is read whole
    return Dataset(root.name, "images", train, valid, None, classes=classes or None)
