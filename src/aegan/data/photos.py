"""Colour photographs that ship inside scikit-image and scikit-learn, as a data set of random
crops (``photos``): the colorization task's data (Zhang, Isola & Efros 2016 train on crops of
ImageNet photographs; this is the same recipe on the photographs a plain install holds).

Whole photographs are held out: six are the training set, two others (``chelsea``, scikit-image's
cat, and ``flower.jpg``, scikit-learn's) are never cropped for training. Each held-out
photograph is resized (antialiased) to 256 pixels high and centre-cropped to 256x384: the test
split holds the two whole; the validation split, their 64x64 tiles (48). The training split is
a :class:`~aegan.data.examples.Resampled`: ``per_epoch`` crops of ``crop`` x ``crop`` pixels drawn
afresh every epoch, each from a photograph chosen in proportion to its area, at a uniform
position, mirrored left-right with probability 1/2, by a generator seeded with
``(seed, epoch)``: the same crops at every run and after a resume.

:func:`photo_crops` makes the same data set of any colour photographs (a list of arrays).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, register_dataset
from aegan.data.examples import Examples, Resampled
from aegan.errors import DataError

TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "motorcycle", "hubble", "china")
HELD_OUT = ("chelsea", "flower")
CROP = 64
PER_EPOCH = 1024
TEST_SIZE = (256, 384)  # height, width of a held-out photograph
SEED = 0


def _skimage(name: str):
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]  # the left view
    if name == "hubble":
        return skimage.data.hubble_deep_field()
    return getattr(skimage.data, name)()


def _sklearn(name: str):
    from sklearn.datasets import load_sample_image

    return load_sample_image(f"{name}.jpg")


@cache
def photo(name: str) -> np.ndarray:
    """One of the shipped photographs, ``[3, H, W]`` float32 in [0, 1]."""
    try:
        pixels = _sklearn(name) if name in ("china", "flower") else _skimage(name)
    except (OSError, ValueError, ImportError, AttributeError) as exc:
        raise DataError(f"photograph {name!r} could not be read from the installed scikit-image "
                        f"or scikit-learn ({type(exc).__name__}: {exc}); reinstall them") from None
    pixels = np.asarray(pixels)[..., :3]  # [H, W, 3]; an alpha channel dropped
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / 255.0


def fit_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` ``[3, H, W]`` resized (antialiased) to ``size[0]`` pixels high, keeping its
    aspect, then centre-cropped to ``size`` (height, width)."""
    import torch
    import torch.nn.functional as F

    height, width = size
    scale = height / image.shape[1]
    new_width = max(width, round(image.shape[2] * scale))
    t = torch.from_numpy(image)[None]
    resized = F.interpolate(t, size=(height, new_width), mode="bilinear", antialias=True,
                            align_corners=False)[0].clamp_(0, 1).numpy()
    left = (new_width - width) // 2
    return np.ascontiguousarray(resized[:, :, left:left + width])


def tiles(images: np.ndarray, side: int) -> np.ndarray:
    """The non-overlapping ``side`` x ``side`` tiles of images ``[N, C, H, W]``, row by row:
    ``[N * (H // side) * (W // side), C, side, side]``."""
    n, c, h, w = images.shape
    rows, cols = h // side, w // side
    cut = images[:, :, :rows * side, :cols * side].reshape(n, c, rows, side, cols, side)
    return np.ascontiguousarray(cut.transpose(0, 2, 4, 1, 3, 5).reshape(-1, c, side, side))


def draw_crops(photos: list[np.ndarray], n: int, side: int, seed: int, epoch: int) -> np.ndarray:
    """``n`` random crops ``[n, 3, side, side]`` of ``photos``: a photograph in proportion to
    its area, a uniform position, a left-right mirror with probability 1/2."""
    rng = np.random.default_rng([seed, epoch])
    areas = np.array([p.shape[1] * p.shape[2] for p in photos], dtype=np.float64)
    which = rng.choice(len(photos), size=n, p=areas / areas.sum())
    out = np.empty((n, 3, side, side), np.float32)
    for i, k in enumerate(which):
        _, h, w = photos[k].shape
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = photos[k][:, top:top + side, left:left + side]
        out[i] = crop[:, :, ::-1] if rng.random() < 0.5 else crop
    return out


def photo_crops(name: str, train: list[np.ndarray], held_out: list[np.ndarray], crop: int = CROP,
                per_epoch: int = PER_EPOCH, test_size: tuple[int, int] = TEST_SIZE,
                seed: int = SEED) -> Dataset:
    """A data set of colour photographs ``[3, H, W]`` in [0, 1]: ``per_epoch`` random crops of
    the ``train`` photographs each epoch; the ``held_out`` ones whole (fitted to ``test_size``)
    as the test split and as their ``crop``-sized tiles as the validation split."""
    small = [p for p in train if min(p.shape[1:]) < crop]
    if small or not train or not held_out:
        raise DataError(f"{name}: random crops of {crop} pixels need training photographs at "
                        f"least that large, and photographs held out for testing")
    if test_size[0] % crop or test_size[1] % crop:
        raise DataError(f"{name}: the held-out size {test_size} must be a multiple of {crop}")
    test = np.stack([fit_to(p, test_size) for p in held_out])  # [k, 3, 256, 384]

    def draw(epoch: int) -> Examples:
        return Examples(draw_crops(train, per_epoch, crop, seed, epoch))

    return Dataset(name, "images", Resampled(draw, per_epoch), Examples(tiles(test, crop)),
                   Examples(test), notes=[f"{len(train)} photographs cropped afresh each epoch "
                                          f"({per_epoch} crops of {crop}x{crop}); {len(held_out)}"
                                          " held out whole (test) and as tiles (valid)"])


@register_dataset("photos", "colour photographs shipped with scikit-image and scikit-learn: "
                  f"{PER_EPOCH} random {CROP}x{CROP} crops of 6 per epoch; 2 held out whole "
                  "(test, 256x384) and as tiles (valid)", embedded=True)
def photos(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return photo_crops("photos", [photo(n) for n in TRAIN_PHOTOS], [photo(n) for n in HELD_OUT])
