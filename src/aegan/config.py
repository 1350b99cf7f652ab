"""Typed configuration of a run's components: data, optimizer and Trainer, one dataclass each,
and the validators every config (a model family's too) shares.

Each dataclass owns its defaults and checks its values in ``__post_init__`` with messages a
user can act on. A model family's own config class lives beside the model
(:mod:`aegan.models`); :class:`aegan.run.RunConfig` nests them all into one run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from aegan.errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "nadam")
DEVICES = ("auto", "cpu", "cuda")
SCALES = ("unit", "symmetric")  # pixel ranges [0, 1] and [-1, 1]
DATA_KINDS = ("auto", "vectors", "images", "sequences", "image-sequences")
PAIRS = ("left-right", "right-left", "folders")
KERNELS = ("auto", "foreach", "fused", "loop")
PRECISIONS = ("fp32", "bf16", "auto")
SWITCHES = ("auto", "on", "off")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def is_int(value: Any) -> bool:
    """An integer, not a bool (JSON's ``true`` is not a number of epochs)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite real number (``NaN``, ``inf`` and bools are not)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _in_unit(value: Any) -> bool:
    return is_number(value) and 0 <= value < 1


def from_dict(cls, values: dict[str, Any], where: str):
    """Build dataclass ``cls`` from ``values``, refusing keys it does not know."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {where}; known keys: {', '.join(sorted(known))}"
        )
    try:
        return cls(**values)
    except TypeError as exc:  # a wrong type that __post_init__ did not catch
        raise ConfigError(f"bad value in {where}: {exc}; compare it with a preset's "
                          "config.json") from None


@dataclass
class DataConfig:
    """Which data to train on, and how to read it: a registered name or a path (a .npy / .npz /
    .csv file, a folder of images or of image pairs)."""

    name: str = "digits"
    limit: int | None = None  # train on the first N training examples only
    valid_size: int | None = None  # None: the data set's own split
    classes: list[int] | None = None  # keep only these labels in train and valid (not test)
    # None: the range the model asks for (its config); "unit" [0, 1] or "symmetric" [-1, 1]
    scale: str | None = None
    kind: str = "auto"  # what a file's examples are; auto: from their number of dimensions
    pairs: str | None = None  # a folder of image pairs: "left-right", "right-left" or "folders"
    derive: dict[str, Any] | None = None  # a derived pair, e.g. {"name": "downscale", "factor": 4}
    dir: str | None = None  # the folder a named set was read from (recorded by aegan train)

    def __post_init__(self) -> None:
        _check(isinstance(self.name, str) and self.name != "", "data.name must be a non-empty string")
        _check(self.scale is None or self.scale in SCALES,
               f"unknown data.scale {self.scale!r}; choose one of {', '.join(SCALES)}, or null "
               "(the model's own range)")
        _check(self.kind in DATA_KINDS,
               f"unknown data.kind {self.kind!r}; choose one of {', '.join(DATA_KINDS)}")
        _check(self.pairs is None or self.pairs in PAIRS,
               f"unknown data.pairs {self.pairs!r}; choose one of {', '.join(PAIRS)}")
        _check(self.dir is None or (isinstance(self.dir, str) and self.dir != ""),
               f"data.dir must be a folder's path or null, got {self.dir!r}")
        _check(self.derive is None or (isinstance(self.derive, dict)
                                       and isinstance(self.derive.get("name"), str)),
               f"data.derive must be an object with a 'name', such as "
               f'{{"name": "downscale", "factor": 4}}, got {self.derive!r}')
        if self.classes is not None:
            self.classes = list(self.classes)
            _check(len(self.classes) > 0 and len(set(self.classes)) == len(self.classes)
                   and all(is_int(c) and c >= 0 for c in self.classes),
                   f"--classes must list distinct labels >= 0, got {self.classes}")
        _check(self.limit is None or (is_int(self.limit) and self.limit > 0),
               f"--limit must be a positive number of examples, got {self.limit}")
        _check(self.valid_size is None or (is_int(self.valid_size) and self.valid_size > 0),
               f"data.valid_size must be a positive number of examples, got {self.valid_size}")


@dataclass
class OptimConfig:
    """Optimizer and learning rate. ``eps`` and ``rho`` default to PyTorch's values when None."""

    name: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    rho: float | None = None  # RMSprop's decay (Keras: 0.9, PyTorch: 0.99)
    eps: float | None = None  # Keras uses 1e-7 throughout, PyTorch 1e-8
    schedule: str = "constant"  # or "cosine": decays to 0 over the run's steps
    kernels: str = "auto"  # foreach, fused or loop; auto: what measured fastest (aegan.optim)

    def __post_init__(self) -> None:
        _check(self.kernels in KERNELS,
               f"unknown optimizer kernels {self.kernels!r}; choose one of {', '.join(KERNELS)}")
        _check(isinstance(self.betas, (list, tuple)) and len(self.betas) == 2
               and all(_in_unit(b) for b in self.betas),
               f"optim.betas must be two numbers in [0, 1), such as [0.9, 0.999], got {self.betas}")
        self.betas = tuple(self.betas)
        _check(self.name in OPTIMIZERS,
               f"unknown optimizer {self.name!r}; choose one of {', '.join(OPTIMIZERS)}")
        _check(is_number(self.lr) and self.lr > 0,
               f"--lr must be a positive finite number, such as 0.001, got {self.lr}")
        _check(_in_unit(self.momentum), f"momentum must be in [0, 1), got {self.momentum}")
        _check(is_number(self.weight_decay) and self.weight_decay >= 0,
               f"weight_decay must be a number >= 0, got {self.weight_decay}")
        _check(self.rho is None or _in_unit(self.rho), f"rho must be in [0, 1), got {self.rho}")
        _check(self.eps is None or (is_number(self.eps) and self.eps > 0),
               f"eps must be a small positive number, such as 1e-7, got {self.eps}")
        _check(self.schedule in ("constant", "cosine"),
               f"unknown schedule {self.schedule!r}; choose constant or cosine")


@dataclass
class TrainConfig:
    """The Trainer's settings; nothing here depends on the model family."""

    epochs: int = 10
    batch_size: int = 32
    seed: int = 42
    device: str = "auto"
    valid_batch_size: int = 1024
    # Fast paths (see aegan.train.fast): each recorded in the run's config, each switchable off.
    # "bf16": autocast the training step (losses and metrics in fp32); "auto": bf16 where the
    # device computes it natively (a CUDA card with bf16, a CPU with AVX-512 BF16 or AMX)
    precision: str = "fp32"
    channels_last: str = "auto"  # auto: on for models with Conv2d layers
    compile: bool = False  # torch.compile each of the model's networks
    cuda_graph: str = "auto"  # auto: capture the whole step on CUDA when the model allows it
    closed_form: str = "auto"  # auto: the model's closed-form step on the CPU, where it has one
    # "auto": the whole data on the device unless it is read lazily (a memory-mapped .npy
    # above a quarter of the free memory, an image folder); "always" / "never" force it
    data_on_device: str = "auto"
    num_workers: int = 0  # reader processes of the streaming path (0: read in the trainer)
    log_every: int | None = None  # steps between points of steps.jsonl (None: 20 an epoch)

    def __post_init__(self) -> None:
        _check(self.precision in PRECISIONS,
               f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        _check(self.channels_last in SWITCHES,
               f"unknown channels_last {self.channels_last!r}; choose one of {', '.join(SWITCHES)}")
        _check(isinstance(self.compile, bool), f"compile must be true or false, got {self.compile!r}")
        _check(self.cuda_graph in ("auto", "off"),
               f"unknown cuda_graph {self.cuda_graph!r}; choose auto or off")
        _check(self.closed_form in ("auto", "off"),
               f"unknown closed_form {self.closed_form!r}; choose auto or off")
        _check(is_int(self.epochs) and self.epochs >= 1,
               f"--epochs must be at least 1, got {self.epochs}")
        _check(is_int(self.batch_size) and self.batch_size >= 1,
               f"--batch-size must be at least 1, got {self.batch_size}")
        _check(is_int(self.seed) and 0 <= self.seed < 2**63,
               f"--seed must be a whole number >= 0, got {self.seed}")
        _check(self.device in DEVICES,
               f"unknown device {self.device!r}; choose one of {', '.join(DEVICES)}")
        _check(is_int(self.valid_batch_size) and self.valid_batch_size >= 1,
               f"valid_batch_size must be at least 1, got {self.valid_batch_size}")
        _check(self.data_on_device in ("auto", "always", "never"),
               f"train.data_on_device must be auto, always or never, got {self.data_on_device!r}")
        _check(self.log_every is None or (is_int(self.log_every) and self.log_every >= 1),
               f"train.log_every must be a number of steps >= 1, or null, got {self.log_every}")
        _check(is_int(self.num_workers) and 0 <= self.num_workers <= 64,
               f"--num-workers must be between 0 and 64, got {self.num_workers}")
