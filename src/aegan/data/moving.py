"""Moving MNIST (Srivastava, Mansimov & Salakhutdinov 2015) made from the local digit files:
``moving-mnist`` and ``moving-fashion-mnist``.

Each sequence is ``FRAMES`` (20) frames of a 64x64 canvas on which ``DIGITS`` (2) 28x28 images
move, by the protocol of the paper as OpenSTL's generator implements it (Tan et al. 2023): each
image starts at a uniform position ``(x, y)`` in [0, 1]^2 with a uniform direction ``theta`` in
[0, 2 pi); every frame it first steps ``STEP`` (0.1) along its direction, and where it reaches a
wall it stops there and the velocity's component across that wall changes sign (a bounce);
positions are scaled to the ``64 - 28`` = 36 free pixels and truncated to whole pixels; the
images are drawn by a pixel-wise maximum. Values are in [0, 1] (the digits' intensities / 255).

Splits: the training sequences are drawn afresh for every epoch
(:class:`~aegan.data.examples.Resampled`) from the first 55,000 training images, epoch ``e``'s
``i``-th sequence from a generator seeded by ``(seed, 0, e, i)``, so a resumed run sees the
sequences the uninterrupted one saw; the validation sequences (1,000 by default,
``data.valid_size``) are fixed draws from the last 5,000 training images; the test split is a
fixed seeded set of 10,000 sequences of the test images. Sequences are made when a batch asks
for them (:class:`MovingDigits`, a lazy array): nothing of the 3 GB the test set would take as
float32 is held in memory.

The standard test file of the literature (``mnist_test_seq.npy``, 10,000 x 20 frames, shaped
``[20, 10000, 64, 64]``, uint8) is a different fixed draw. ``moving-mnist-standard`` is
``moving-mnist`` with that file as its test split (downloaded and checked against the SHA-256
TensorFlow Datasets publishes, or read from ``--data-dir``), read through a memory map, so a
model trained on ``moving-mnist`` is measured on the literature's sequences with ``aegan
evaluate RUN --data moving-mnist-standard --split test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aegan.data.dataset import Dataset, register_dataset
from aegan.data.downloaded import fetched
from aegan.data.examples import Examples, Resampled
from aegan.data.sets import load_idx_set
from aegan.errors import DataError

FRAMES, DIGITS, CANVAS, STEP = 20, 2, 64, 0.1
PER_EPOCH = 10_000  # training sequences of an epoch (OpenSTL's Moving MNIST train set size)
VALID, TEST = 1_000, 10_000
SEED = 0
TRAIN, VALID_SPLIT, TEST_SPLIT = 0, 1, 2


def trajectory(rng: np.random.Generator, frames: int = FRAMES, step: float = STEP
               ) -> tuple[np.ndarray, np.ndarray]:
    """The positions ``(y, x)`` in [0, 1] of one bouncing image over ``frames`` frames, each
    ``[frames]``: a uniform start and direction, a step of ``step`` per frame, reflected at the
    walls."""
    y, x, theta = rng.random(), rng.random(), rng.random() * 2 * np.pi
    vy, vx = np.sin(theta), np.cos(theta)
    ys, xs = np.empty(frames), np.empty(frames)
    for t in range(frames):
        y, x = y + vy * step, x + vx * step
        if x <= 0 or x >= 1:
            x, vx = min(max(x, 0.0), 1.0), -vx
        if y <= 0 or y >= 1:
            y, vy = min(max(y, 0.0), 1.0), -vy
        ys[t], xs[t] = y, x
    return ys, xs


def moving_sequence(images: np.ndarray, rng: np.random.Generator, frames: int = FRAMES,
                    digits: int = DIGITS, canvas: int = CANVAS, step: float = STEP) -> np.ndarray:
    """One sequence ``[frames, canvas, canvas]`` float32 of ``digits`` images drawn uniformly
    from ``images`` ``[M, h, w]`` (values in [0, 1]) moving and bouncing, combined by their
    pixel-wise maximum."""
    side = images.shape[-1]
    out = np.zeros((frames, canvas, canvas), np.float32)
    free = canvas - side
    for _ in range(digits):
        ys, xs = trajectory(rng, frames, step)
        image = images[rng.integers(len(images))]
        tops, lefts = (free * ys).astype(np.int64), (free * xs).astype(np.int64)
        for t in range(frames):
            window = out[t, tops[t]:tops[t] + side, lefts[t]:lefts[t] + side]
            np.maximum(window, image, out=window)
    return out


class LazySequences:
    """A lazy array of sequences ``[n, frames, 1, H, W]`` float32, addressed by ``ids``: slices
    and masks give lazy views (:meth:`view`), an index array (or an int) reads those sequences
    (:meth:`read`)."""

    dtype = np.dtype(np.float32)
    ids: np.ndarray

    @property
    def ndim(self) -> int:
        return 5

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice) or (isinstance(index, np.ndarray) and index.dtype == bool):
            return self.view(self.ids[index])
        index = np.asarray(index)
        if index.ndim == 0:
            return self[index[None]][0]
        return self.read(self.ids[index])

    def __array__(self, dtype=None, copy=None):
        return self[np.arange(len(self))].astype(dtype or np.float32, copy=False)


class MovingDigits(LazySequences):
    """``n`` moving-digit sequences ``[n, frames, 1, canvas, canvas]``: sequence ``i`` is made
    when asked for, from a generator seeded by ``(*key, i)``, so it is the same whenever and in
    whatever order it is read."""

    def __init__(self, images: np.ndarray, n: int, key: tuple[int, ...],
                 ids: np.ndarray | None = None, frames: int = FRAMES, canvas: int = CANVAS):
        self.images, self.key, self.frames, self.canvas = images, tuple(key), frames, canvas
        self.ids = np.arange(n) if ids is None else ids

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.ids), self.frames, 1, self.canvas, self.canvas)

    def view(self, ids: np.ndarray) -> MovingDigits:
        return MovingDigits(self.images, 0, self.key, ids, self.frames, self.canvas)

    def read(self, ids: np.ndarray) -> np.ndarray:
        made = [moving_sequence(self.images, np.random.default_rng([*self.key, int(i)]),
                                self.frames, canvas=self.canvas) for i in ids]
        return np.stack(made)[:, :, None] if made else np.empty((0, *self.shape[1:]), np.float32)


def moving_digits(name: str, train_images: np.ndarray, test_images: np.ndarray,
                  valid_size: int | None = None, per_epoch: int = PER_EPOCH, test: int = TEST,
                  seed: int = SEED, held_out: int = 5000) -> Dataset:
    """A Moving-MNIST-style data set of grey images ``[M, h, w]`` in [0, 1]: ``per_epoch``
    training sequences drawn afresh each epoch from all but the last ``held_out`` training
    images, ``valid_size`` fixed ones from those, ``test`` fixed ones from ``test_images``."""
    if len(train_images) <= held_out or not len(test_images):
        raise DataError(f"{name}: needs more than {held_out} training images and some test images")
    train_pool, valid_pool = train_images[:-held_out], train_images[-held_out:]
    valid_n = valid_size or VALID

    def draw(epoch: int) -> Examples:
        return Examples(MovingDigits(train_pool, per_epoch, (seed, TRAIN, epoch)))

    return Dataset(
        name, "image-sequences", Resampled(draw, per_epoch),
        Examples(MovingDigits(valid_pool, valid_n, (seed, VALID_SPLIT))),
        Examples(MovingDigits(test_images, test, (seed, TEST_SPLIT))),
        notes=[(f"{per_epoch:,} sequences of {DIGITS} moving digits drawn afresh each epoch; "
                f"{valid_n:,} fixed validation and {test:,} fixed test sequences (seed {seed})")])


def _digits(source: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    data = load_idx_set(source, data_dir, None, [])
    train = np.concatenate([np.asarray(data.train.inputs), np.asarray(data.valid.inputs)])
    return train[:, 0], np.asarray(data.test.inputs)[:, 0]  # [M, 28, 28] in [0, 1]


@register_dataset("moving-mnist", "Moving MNIST (Srivastava et al. 2015): 2 bouncing digits, "
                  "64x64, 20 frames; 10k training sequences drawn afresh each epoch, 1k valid, "
                  "10k fixed test (made from the MNIST files)")
def moving_mnist(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return moving_digits("moving-mnist", *_digits("mnist", data_dir), valid_size)


@register_dataset("moving-fashion-mnist", "Moving Fashion-MNIST: Moving MNIST's protocol with "
                  "Fashion-MNIST items (made from the Fashion-MNIST files)")
def moving_fashion_mnist(data_dir: Path | None, valid_size: int | None) -> Dataset:
    return moving_digits("moving-fashion-mnist", *_digits("fashion-mnist", data_dir), valid_size)


class TimeMajor(LazySequences):
    """The sequences ``[N, T, 1, H, W]`` in [0, 1] of a uint8 array ``[T, N, H, W]`` (the
    layout of ``mnist_test_seq.npy``), read when a batch asks for them (a memory map stays on
    disk)."""

    def __init__(self, raw: np.ndarray, ids: np.ndarray | None = None):
        self.raw = raw
        self.ids = np.arange(raw.shape[1]) if ids is None else ids

    @property
    def shape(self) -> tuple[int, ...]:
        t, _, h, w = self.raw.shape
        return (len(self.ids), t, 1, h, w)

    def view(self, ids: np.ndarray) -> TimeMajor:
        return TimeMajor(self.raw, ids)

    def read(self, ids: np.ndarray) -> np.ndarray:
        frames = np.asarray(self.raw[:, ids], dtype=np.float32) / 255.0  # [T, n, H, W]
        return frames.transpose(1, 0, 2, 3)[:, :, None]


@register_dataset("moving-mnist-standard", "Moving MNIST with the literature's test set: "
                  "moving-mnist's training and validation sequences, the 10,000 fixed sequences "
                  "of mnist_test_seq.npy as the test split (download, SHA-256 checked, or "
                  "--data-dir)")
def moving_mnist_standard(data_dir: Path | None, valid_size: int | None) -> Dataset:
    made = moving_mnist(data_dir, valid_size)
    path = fetched("moving-mnist-test", data_dir)
    try:
        raw = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable .npy file ({exc}); download it again") from None
    if raw.dtype != np.uint8 or raw.ndim != 4 or raw.shape[0] != FRAMES or raw.shape[2:] != (
            CANVAS, CANVAS):
        raise DataError(f"{path} holds {raw.dtype} {list(raw.shape)}, not the test file's uint8 "
                        f"[{FRAMES}, N, {CANVAS}, {CANVAS}]; download it again")
    return Dataset("moving-mnist-standard", "image-sequences", made.train, made.valid,
                   Examples(TimeMajor(raw)),
                   notes=[*made.notes, f"test: the {raw.shape[1]:,} sequences of "
                          f"mnist_test_seq.npy (Srivastava et al. 2015)"])
