"""Folders of numbered frames as image sequences: ``root/SEQUENCE/frame_001.png``..., one
sub-folder per sequence (or the frames directly in ``root``: one sequence), read when the data
config says ``kind: image-sequences``.

Frames are ordered by the numbers in their names (``frame_2`` before ``frame_10``), then by
name. Every sequence must have as many frames as the others and every frame the same size;
grey frames give ``[T, 1, H, W]``, colour ones ``[T, 3, H, W]``, in [0, 1]. The sequences are
read into memory; the last 10% (in the order of their folders' names) validate.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, split_last
from aegan.data.examples import Examples
from aegan.data.folder import IMAGE_SUFFIXES
from aegan.errors import DataError


def numbered(paths: list[Path]) -> list[Path]:
    """``paths`` in the order of the numbers in their names, then of the names."""
    def key(path: Path):
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.stem)]

    return sorted(paths, key=lambda p: (key(p), p.name))


def frame_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, in frame order (hidden files left out)."""
    return numbered([p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                     and p.suffix.lower() in IMAGE_SUFFIXES])


def read_frames(folder: Path) -> np.ndarray:
    """One sequence ``[T, C, H, W]`` in [0, 1] from a folder of numbered frames."""
    from PIL import Image

    frames = []
    for path in frame_files(folder):
        try:
            with Image.open(path) as image:
                grey = image.mode in ("1", "L", "I;16", "I", "F")
                pixels = np.asarray(image.convert("L" if grey else "RGB"), np.float32) / 255.0
        except (OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{path} is not a readable image ({type(exc).__name__}); remove or "
                            "replace it") from None
        frames.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
    if not frames:
        raise DataError(f"{folder} holds no frames ({'/'.join(IMAGE_SUFFIXES)})")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise DataError(f"the frames in {folder} differ in size or channels ({sorted(shapes)}); "
                        "give frames of one size")
    return np.stack(frames)


def load_frame_folders(root: Path, valid_size: int | None = None) -> Dataset:
    """An image-sequence :class:`Dataset` of ``root`` (see the module's docstring)."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    sequences = [read_frames(f) for f in folders] if folders else [read_frames(root)]
    shapes = {s.shape for s in sequences}
    if len(shapes) > 1:
        raise DataError(f"the sequences in {root} differ in length or frame size "
                        f"({sorted(shapes)[:3]}); give sequences of one shape")
    if len(sequences) < 2:
        raise DataError(f"{root} holds one sequence; put at least 2 sub-folders of frames in "
                        "it (one is validated on)")
    x = np.stack(sequences)  # [N, T, C, H, W]
    train, valid = split_last(Examples(x), valid_size or max(1, len(x) // 10))
    return Dataset(root.name, "image-sequences", train, valid, None)
