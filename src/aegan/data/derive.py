"""Derived pairs: any image set becomes a paired task through a named transform of the data
config (``data.derive``), so that super-resolution, colorization, sketch-to-image, inpainting
and next-frame prediction are data configs plus a model family, never code paths of their own.

Each transform makes new ``inputs`` from an example and keeps (or cuts) the example as the
``targets``; labels and conditions are carried over unchanged:

- ``downscale`` (``factor`` k, ``method`` ``area`` or ``bicubic``): inputs ``[C, H/k, W/k]``,
  targets the image (super-resolution; ``area`` averages each k x k block, ``bicubic`` is
  PyTorch's antialiased bicubic resampling);
- ``grayscale`` (``mode`` ``luma`` or ``lab``): inputs the ITU-R BT.601 luma ``[1, H, W]`` and
  targets the colour image, or, with ``lab``, inputs the CIE L channel (L / 100) and targets the
  a and b channels ((ab + 128) / 255), as colorization models work in Lab (Zhang, Isola & Efros
  2016; Isola et al. 2017);
- ``edges`` (``sigma``): inputs the Canny edge map (Canny 1986, scikit-image's implementation)
  of the grey image ``[1, H, W]``, targets the image (edges2shoes, Isola et al. 2017);
- ``mask`` (``size``, the hole's side as a fraction of the image's, and ``seed``): inputs the
  image with a square hole set to 0, targets the image (inpainting). The hole of each example is
  drawn from a generator seeded by the seed, the split and the example's index, so it is the
  same in every epoch and after a resume;
- ``frames`` (``context``, ``horizon``): a sequence ``[T, ...]`` cut into its first ``context``
  steps (inputs) and the next ``horizon`` (targets; default: the rest).

The transforms run on the fly through :class:`Mapped`, a lazy view computed for the examples a
batch asks for; a data set held in memory is derived once when it is loaded, which gives the
same values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aegan.data.examples import Examples, Resampled
from aegan.data.memory import is_lazy
from aegan.errors import ConfigError, DataError

Fn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (examples [k, ...], their ids [k]) -> [k, ...]
_CHUNK = 4096


class Mapped:
    """A lazy array ``fn(source[i], ids[i])``: slices and masks give lazy views, an index array
    (or an int) computes those examples. ``ids`` are the examples' indices when the view was
    made, so a view of a view computes the same values for the same example."""

    dtype = np.dtype(np.float32)

    def __init__(self, source, fn: Fn, ids: np.ndarray | None = None,
                 example_shape: tuple[int, ...] | None = None):
        self.source, self.fn = source, fn
        self.ids = np.arange(len(source)) if ids is None else ids
        if example_shape is None:
            example_shape = fn(np.asarray(source[np.arange(1)]), self.ids[:1]).shape[1:]
        self.example_shape = tuple(example_shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.ids), *self.example_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice) or (isinstance(index, np.ndarray) and index.dtype == bool):
            return Mapped(self.source[index], self.fn, self.ids[index], self.example_shape)
        index = np.asarray(index)
        if index.ndim == 0:
            return self[index[None]][0]
        out = self.fn(np.asarray(self.source[index], dtype=np.float32), self.ids[index])
        return np.ascontiguousarray(out, dtype=np.float32)

    def __array__(self, dtype=None, copy=None):
        parts = [self[np.arange(a, min(a + _CHUNK, len(self)))] for a in range(0, len(self), _CHUNK)]
        whole = np.concatenate(parts) if parts else np.empty(self.shape, np.float32)
        return whole.astype(dtype or np.float32, copy=False)


def affine(array, scale: np.float32, offset: np.float32):
    """``array * scale + offset`` as float32: computed now for an array in memory, lazily for a
    reader or a memory-mapped file."""
    if is_lazy(array):
        return Mapped(array, lambda x, ids: x * scale + offset)
    return (np.asarray(array, dtype=np.float32) * scale + offset).astype(np.float32)


# -- the transforms: (examples [k, ...], ids [k], params) -> inputs, targets -----------------
@dataclass(frozen=True)
class Transform:
    kinds: tuple[str, ...]  # the kinds of data it takes
    params: dict[str, Any]  # the parameters and their defaults
    inputs: Callable[..., np.ndarray]
    targets: Callable[..., np.ndarray] | None = None  # None: the example itself


def _torch(x: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _downscale(x, ids, factor, method, **_):
    import torch.nn.functional as F

    t = _torch(x)
    if method == "area":
        return F.avg_pool2d(t, factor).numpy()
    size = (x.shape[-2] // factor, x.shape[-1] // factor)
    return F.interpolate(t, size=size, mode="bicubic", antialias=True,
                         align_corners=False).clamp_(0, 1).numpy()


def luma(x: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of RGB images ``[k, 3, H, W]`` in [0, 1]: ``[k, 1, H, W]``."""
    weights = np.array([0.299, 0.587, 0.114], np.float32).reshape(1, 3, 1, 1)
    return (x * weights).sum(axis=1, keepdims=True)


def rgb_to_lab(x: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of sRGB images ``[k, 3, H, W]`` in [0, 1], scikit-image's conversion:
    L in [0, 100], a and b about [-128, 127]."""
    from skimage.color import rgb2lab

    return rgb2lab(x, channel_axis=1).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] of CIE Lab images ``[k, 3, H, W]`` (the inverse of :func:`rgb_to_lab`)."""
    from skimage.color import lab2rgb

    return np.clip(lab2rgb(lab.astype(np.float64), channel_axis=1), 0, 1).astype(np.float32)


def lab_split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB ``[k, 3, H, W]`` -> (L / 100 ``[k, 1, H, W]``, (ab + 128) / 255 ``[k, 2, H, W]``),
    both in [0, 1]."""
    lab = rgb_to_lab(x)
    return lab[:, :1] / 100.0, (lab[:, 1:] + 128.0) / 255.0


def lab_join(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The inverse of :func:`lab_split`: sRGB ``[k, 3, H, W]`` in [0, 1]."""
    return lab_to_rgb(np.concatenate([lightness * 100.0, ab * 255.0 - 128.0], axis=1))


def _grey_inputs(x, ids, mode, **_):
    return lab_split(x)[0] if mode == "lab" else luma(x)


def _grey_targets(x, ids, mode, **_):
    return lab_split(x)[1] if mode == "lab" else x


def _edges(x, ids, sigma, **_):
    from skimage.feature import canny

    grey = luma(x) if x.shape[1] == 3 else x[:, :1]
    return np.stack([canny(g[0], sigma=sigma)[None] for g in grey]).astype(np.float32)


def _mask(x, ids, size, seed, split, **_):
    out = np.array(x, dtype=np.float32, copy=True)
    height, width = x.shape[-2:]
    side_h, side_w = max(1, round(size * height)), max(1, round(size * width))
    for i, example in enumerate(ids.tolist()):
        rng = np.random.default_rng([seed, split, example])
        top, left = rng.integers(0, height - side_h + 1), rng.integers(0, width - side_w + 1)
        out[i, ..., top:top + side_h, left:left + side_w] = 0.0
    return out


def _context(x, ids, context, horizon, **_):
    return x[:, :context]


def _future(x, ids, context, horizon, **_):
    return x[:, context:context + horizon] if horizon else x[:, context:]


TRANSFORMS: dict[str, Transform] = {
    "downscale": Transform(("images",), {"factor": 2, "method": "bicubic"}, _downscale),
    "grayscale": Transform(("images",), {"mode": "luma"}, _grey_inputs, _grey_targets),
    "edges": Transform(("images",), {"sigma": 1.0}, _edges),
    "mask": Transform(("images",), {"size": 0.25, "seed": 0}, _mask),
    "frames": Transform(("sequences", "image-sequences"), {"context": 10, "horizon": None},
                        _context, _future),
}


def _check_params(name: str, values: dict[str, Any]) -> dict[str, Any]:
    transform = TRANSFORMS[name]
    unknown = sorted(set(values) - set(transform.params))
    if unknown:
        known = ", ".join(transform.params) or "none"
        raise ConfigError(f"unknown parameter {unknown[0]!r} of data.derive {name!r}; "
                          f"known: {known}")
    params = {**transform.params, **values}
    checks = {
        "factor": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2,
        "method": lambda v: v in ("area", "bicubic"),
        "mode": lambda v: v in ("luma", "lab"),
        "sigma": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
        "size": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1,
        "seed": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "context": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "horizon": lambda v: v is None or isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    }
    for key, value in params.items():
        if not checks[key](value):
            raise ConfigError(f"data.derive {name!r}: {key} {value!r} is out of range; the "
                              f"default is {transform.params[key]!r}")
    return params


def parse_derive(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``{"name": ..., **params}`` of a data config, checked: (name, full params)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"data.derive must be an object with a 'name', such as "
                          f'{{"name": "downscale", "factor": 4}}, got {spec!r}')
    name = spec["name"]
    if name not in TRANSFORMS:
        raise ConfigError(f"unknown data.derive {name!r}; choose one of {', '.join(TRANSFORMS)}")
    return name, _check_params(name, {k: v for k, v in spec.items() if k != "name"})


def _fits(name: str, params: dict[str, Any], shape: tuple[int, ...], kind: str, data: str) -> None:
    transform = TRANSFORMS[name]
    if kind not in transform.kinds:
        raise DataError(f"data.derive {name!r} takes {' or '.join(transform.kinds)}, and {data} "
                        f"holds {kind} of shape {list(shape)}")
    if name == "downscale" and (shape[-1] % params["factor"] or shape[-2] % params["factor"]):
        raise DataError(f"data.derive 'downscale' by {params['factor']} needs a side that it "
                        f"divides; {data}'s images are {shape[-2]}x{shape[-1]}")
    if name in ("grayscale",) and shape[0] != 3:
        raise DataError(f"data.derive 'grayscale' makes grey inputs from colour images, and "
                        f"{data}'s images have {shape[0]} channel(s)")
    if name == "frames" and params["context"] + (params["horizon"] or 1) > shape[0]:
        raise DataError(f"data.derive 'frames' with context {params['context']} and horizon "
                        f"{params['horizon'] or 'the rest'} needs more than the {shape[0]} "
                        f"steps of {data}'s sequences")


def derive_split(examples: Examples, name: str, params: dict[str, Any], split: int) -> Examples:
    """``examples`` with inputs and targets made by transform ``name`` from the inputs."""
    transform = TRANSFORMS[name]
    args = {**params, "split": split}
    source = examples.inputs

    def inputs(x, ids):
        return transform.inputs(x, ids, **args)

    def targets(x, ids):
        return transform.targets(x, ids, **args)

    lazy = is_lazy(source)
    new_inputs = Mapped(source, inputs)
    new_targets = source if transform.targets is None else Mapped(source, targets)
    if not lazy:  # in memory: derive once (the same values)
        new_inputs = np.asarray(new_inputs)
        new_targets = np.asarray(new_targets) if isinstance(new_targets, Mapped) else new_targets
    return dataclasses.replace(examples, inputs=new_inputs, targets=new_targets)


def derive(dataset, spec: dict[str, Any] | None):
    """``dataset`` (a :class:`~aegan.data.dataset.Dataset`) made a paired task by ``spec``
    (``data.derive``), or as it is when ``spec`` is None."""
    if spec is None:
        return dataset
    name, params = parse_derive(spec)
    _fits(name, params, dataset.sample_shape, dataset.kind, dataset.name)
    if dataset.valid.targets is not None:
        raise DataError(f"{dataset.name} already pairs inputs with targets; data.derive makes "
                        "pairs from unpaired data only")
    train = dataset.train
    if isinstance(train, Resampled):
        draw = train.draw
        train = Resampled(lambda epoch: derive_split(draw(epoch), name, params, 0), train.size)
    else:
        train = derive_split(train, name, params, 0)
    test = None if dataset.test is None else derive_split(dataset.test, name, params, 2)
    return dataclasses.replace(dataset, train=train, valid=derive_split(dataset.valid, name, params, 1),
                               test=test, notes=[*dataset.notes, f"derived pairs: {name} {params}"])


def derive_images(images: np.ndarray, spec: dict[str, Any], where: str) -> Examples:
    """Images ``[N, C, H, W]`` in [0, 1] made pairs by ``spec`` (``data.derive``), as a test
    split's are; ``where`` names them in an error (a file, say)."""
    name, params = parse_derive(spec)
    _fits(name, params, tuple(images.shape[1:]), "images", where)
    return derive_split(Examples(np.asarray(images, dtype=np.float32)), name, params, 2)
