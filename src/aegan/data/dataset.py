"""The data set every model trains on, and the registry of named sets.

A :class:`Dataset` holds :class:`~aegan.data.examples.Examples` (named roles) split into train /
valid / test, and declares the kind of its examples. Pixels are scaled here and nowhere else:
every image role is float32 in [0, 1] as loaded, and :meth:`Dataset.scaled` maps the inputs and
targets to the range the model asks for ([-1, 1] for a GAN with a tanh output).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from aegan.data.derive import affine
from aegan.data.examples import Examples, ExampleSpec, Resampled, labels_range
from aegan.errors import DataError

SPLITS = ("train", "valid", "test")
RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}  # the scales data may be loaded in


@dataclass
class Dataset:
    """One data set, split three ways. ``value_range``: the range of the inputs and targets
    (None: unbounded, as tabular data). ``classes``: the names of the labels, where known."""

    name: str
    kind: str  # a key of aegan.data.examples.KINDS
    train: Examples | Resampled
    valid: Examples
    test: Examples | None = None
    classes: list[str] | None = None
    value_range: tuple[float, float] | None = (0.0, 1.0)
    notes: list[str] = field(default_factory=list)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one example's inputs."""
        return tuple(self.valid.inputs.shape[1:])

    @property
    def spec(self) -> ExampleSpec:
        """What a model for these data is built for."""
        valid = self.valid.roles()
        shapes = {role: tuple(array.shape[1:]) for role, array in valid.items()}
        train = self.train.first if isinstance(self.train, Resampled) else self.train
        n = labels_range(train.labels, self.valid.labels)
        if n and self.classes:
            n = max(n, len(self.classes))
        return ExampleSpec(self.kind, shapes, self.value_range, n,
                           tuple(self.classes) if n and self.classes else None)

    def split(self, name: str) -> Examples:
        """The examples of split ``name``; a clear error where the set has no such split."""
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        examples = getattr(self, name)
        if examples is None:
            raise DataError(f"data set {self.name!r} has no {name} split; use --split valid")
        return examples

    def limited(self, limit: int | None) -> Dataset:
        """The same set with only the first ``limit`` training examples (of each epoch's, for
        examples drawn afresh every epoch)."""
        if limit is None or limit >= len(self.train):
            return self
        if isinstance(self.train, Resampled):
            draw, cut = self.train.draw, slice(0, limit)
            return dataclasses.replace(self, train=Resampled(lambda epoch: draw(epoch).select(cut),
                                                             limit, self.train.first.select(cut)))
        return dataclasses.replace(self, train=self.train.select(slice(0, limit)))

    def scaled(self, scale: str | tuple[float, float]) -> Dataset:
        """The same set with inputs and targets in [0, 1] (``unit``, as loaded) or in [-1, 1]
        (``symmetric``: ``2 x - 1``, as GANs with a tanh output want them)."""
        wanted = RANGES[scale] if isinstance(scale, str) else tuple(scale)
        if wanted == self.value_range or self.value_range != (0.0, 1.0):
            return self  # unbounded data stay as they are: a model that cannot take them says so
        low, high = wanted

        def scale_role(role: str, array):
            if role not in ("inputs", "targets"):
                return array
            return affine(array, np.float32(high - low), np.float32(low))

        train = self.train
        if isinstance(train, Resampled):
            draw = train.draw
            train = Resampled(lambda epoch: draw(epoch).map(scale_role), train.size,
                              train.first.map(scale_role))
        else:
            train = train.map(scale_role)
        test = None if self.test is None else self.test.map(scale_role)
        return dataclasses.replace(self, train=train, valid=self.valid.map(scale_role),
                                   test=test, value_range=(low, high))

    def of_classes(self, classes: list[int] | None) -> Dataset:
        """The same set with only the examples labelled one of ``classes`` in its train and
        valid splits; the test split is kept whole (the one-class protocol of Ruff et al. 2018
        trains on one class and tests on all)."""
        if classes is None:
            return self
        if isinstance(self.train, Resampled) or self.train.labels is None:
            raise DataError(f"--classes needs labels, and data set {self.name!r} has none")
        present = np.unique(self.train.labels)
        absent = sorted(set(classes) - set(present.tolist()))
        if absent:
            known = ", ".join(str(c) for c in present)
            raise DataError(f"class {absent[0]} does not occur in {self.name}'s training labels "
                            f"({known})")
        keep_valid = np.isin(self.valid.labels, classes)
        if not keep_valid.any():
            raise DataError(f"no example of classes {classes} in {self.name}'s validation split")
        return dataclasses.replace(self, train=self.train.select(np.isin(self.train.labels, classes)),
                                   valid=self.valid.select(keep_valid))


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


def split_last(examples: Examples, n_valid: int) -> tuple[Examples, Examples]:
    """Split off the last ``n_valid`` examples, as the book does for its validation set."""
    n = len(examples)
    if not 0 < n_valid < n:
        raise DataError(f"validation size {n_valid} must be between 1 and {n - 1} "
                        f"for a training set of {n} examples; set data.valid_size "
                        "in that range, or use more data")
    cut = n - n_valid
    return examples.select(slice(0, cut)), examples.select(slice(cut, n))
