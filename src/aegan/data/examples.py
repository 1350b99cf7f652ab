"""Examples with named roles, the record every room passes along: the data layer reads them,
the Trainer batches them, a model's step takes them.

Roles (:data:`ROLES`):

- ``inputs``: what the model reads, always present;
- ``targets``: what it should output, where that differs from the inputs (a clean image for a
  noisy one, the high-resolution image for a small one, the next frames for the past ones);
- ``labels``: class indices ``[N]`` (int64);
- ``conditions``: any other per-example values a conditional model reads (float32).

A data set declares the kind of its examples (:data:`KINDS`): ``vectors`` ``[F]``, ``images``
``[C, H, W]``, ``sequences`` ``[T, F]``, ``image-sequences`` ``[T, C, H, W]``; an image pair is
images with image ``targets``. :class:`ExampleSpec` is what a model is built for: the kind, the
shape of one example of each role, the value range of the image roles, and the classes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

ROLES = ("inputs", "targets", "labels", "conditions")
KINDS = {"vectors": 1, "images": 3, "sequences": 2, "image-sequences": 4}  # dims per example
IMAGE_KINDS = ("images", "image-sequences")


def kind_of(ndim: int) -> str:
    """The kind of examples of ``ndim`` dimensions (an array's ndim minus one), guessed; a data
    config's ``kind`` says otherwise where the guess is wrong (``[N, T, H, W]`` frames)."""
    return {1: "vectors", 2: "sequences", 3: "images", 4: "image-sequences"}[ndim]


@dataclass
class Examples:
    """The examples of one split, one array per role (NumPy arrays, memory-mapped files or lazy
    readers with NumPy indexing). ``inputs`` is always present; the other roles may be None."""

    inputs: Any
    targets: Any = None
    labels: Any = None
    conditions: Any = None

    def __len__(self) -> int:
        return len(self.inputs)

    def roles(self) -> dict[str, Any]:
        """The present roles, in :data:`ROLES` order."""
        return {r: v for r in ROLES if (v := getattr(self, r)) is not None}

    def map(self, fn: Callable[[str, Any], Any]):
        """The same record with ``fn(role, value)`` in place of every present value."""
        return dataclasses.replace(self, **{r: fn(r, v) for r, v in self.roles().items()})

    def select(self, index):
        """The examples at ``index`` (a slice, a boolean mask or an index array) of every role."""
        return self.map(lambda _, v: v[index])


@dataclass
class Batch(Examples):
    """The examples of one training or validation step, as tensors on the model's device."""

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.roles().items())


@dataclass(frozen=True)
class ExampleSpec:
    """What a model is built for: the kind of example, the shape of one example of each present
    role (``labels``: ``()``), the value range of the image roles (None: unbounded values), and
    the number of classes and their names (0 and None without labels)."""

    kind: str
    shapes: dict[str, tuple[int, ...]]
    value_range: tuple[float, float] | None = (0.0, 1.0)
    num_classes: int = 0
    classes: tuple[str, ...] | None = None

    @property
    def inputs(self) -> tuple[int, ...]:
        return self.shapes["inputs"]

    @classmethod
    def of_shape(cls, shape, value_range: tuple[float, float] | None = (0.0, 1.0)) -> ExampleSpec:
        """A spec of inputs alone, of ``shape``, its kind guessed from the number of dims."""
        shape = tuple(int(n) for n in shape)
        return cls(kind_of(len(shape)), {"inputs": shape}, value_range)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shapes": {r: list(s) for r, s in self.shapes.items()},
                "value_range": None if self.value_range is None else list(self.value_range),
                "num_classes": self.num_classes,
                "classes": None if self.classes is None else list(self.classes)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExampleSpec:
        """The spec a run's ``config.json`` recorded (checked by :mod:`aegan.run`)."""
        value_range = values.get("value_range")
        classes = values.get("classes")
        return cls(values["kind"], {r: tuple(s) for r, s in values["shapes"].items()},
                   None if value_range is None else tuple(value_range),
                   int(values.get("num_classes") or 0),
                   None if classes is None else tuple(classes))

    def class_name(self, label: int) -> str:
        """The name of class ``label`` where the data set names its classes, else the number."""
        if self.classes and 0 <= label < len(self.classes):
            return self.classes[label]
        return str(label)


class Resampled:
    """Training examples drawn afresh for every epoch: ``draw(epoch) -> Examples`` (0-based
    epochs), a pure function of the epoch (seeded by it), so a resumed run sees the examples
    the uninterrupted one saw. ``size``: the examples of every epoch. For data that is made,
    not read (sequences of moving digits, random crops of photographs)."""

    def __init__(self, draw: Callable[[int], Examples], size: int, first: Examples | None = None):
        self.draw, self.size = draw, size
        self.first = first if first is not None else draw(0)  # shapes, checks, figures

    def __len__(self) -> int:
        return self.size

    @property
    def inputs(self):
        return self.first.inputs


def labels_range(*labels: np.ndarray | None) -> int:
    """The number of classes that labels ``0 .. max`` span (0 without labels)."""
    present = [y for y in labels if y is not None and len(y)]
    return int(max(int(y.max()) for y in present)) + 1 if present else 0
