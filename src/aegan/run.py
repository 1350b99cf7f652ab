"""What defines a run, and how its pieces are made from it.

:class:`RunConfig` nests the family's model config with the data, optimizer and Trainer
configs of :mod:`aegan.config`, and records the :class:`~aegan.data.examples.ExampleSpec` of the
data it was trained on. The whole resolved config is written to a run's ``config.json``, and
``aegan train RUN/config.json`` repeats the run. :func:`load_data` loads the data of a config
as its model needs them: the image roles scaled to the range the model asks for.

Config files are JSON, parsed as data: nothing in them is executed or turned into objects
(there are no tags, as YAML has), and whatever they hold either builds a valid config or
raises :class:`~aegan.errors.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aegan.config import DataConfig, OptimConfig, TrainConfig, from_dict, is_int
from aegan.data import DATASETS, Dataset, load_dataset
from aegan.data.dataset import RANGES
from aegan.data.examples import KINDS, ROLES, ExampleSpec
from aegan.errors import ConfigError, DataError
from aegan.models import model_class, model_config_from_dict

SECTIONS = ("preset", "spec", "model", "data", "optim", "train")
LEGACY_TRAIN_KEYS = {"hand_backward": "closed_form"}  # the names of earlier versions


@dataclass
class RunConfig:
    """Everything that defines a run. ``model`` is the family's own config dataclass; ``spec``
    is recorded from the data when the run trains."""

    model: Any
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None
    spec: ExampleSpec | None = None

    @property
    def sample_shape(self) -> tuple[int, ...] | None:
        """The shape of one example's inputs, once the run has seen its data."""
        return None if self.spec is None else self.spec.inputs

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "spec": None if self.spec is None else self.spec.to_dict(),
            "model": asdict(self.model),
            "data": asdict(self.data),
            "optim": asdict(self.optim),
            "train": asdict(self.train),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        if not isinstance(values, dict):
            raise ConfigError("a run config must be a JSON object, like a run's config.json")
        values = dict(values)
        legacy_shape = values.pop("sample_shape", None)  # written by earlier versions
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r} in the config; known keys: "
                              f"{', '.join(sorted(SECTIONS))}")
        if "model" not in values:
            raise ConfigError("the config has no 'model' section; start from a preset's "
                              "config.json (aegan train PRESET writes one)")
        preset = values.get("preset")
        _check(preset is None or isinstance(preset, str),
               f"preset must be a name or null, got {preset!r}")
        train = values.get("train", {})
        if isinstance(train, dict):
            train = {LEGACY_TRAIN_KEYS.get(k, k): v for k, v in train.items()}
        model = model_config_from_dict(values["model"])
        spec = values.get("spec")
        return cls(
            model=model,
            data=from_dict(DataConfig, values.get("data", {}), "data"),
            optim=from_dict(OptimConfig, values.get("optim", {}), "optim"),
            train=from_dict(TrainConfig, train, "train"),
            preset=preset,
            spec=(spec_from_dict(spec) if spec is not None
                  else legacy_spec(legacy_shape, model) if legacy_shape is not None else None),
        )

    def replace(self, section: str, **changes: Any) -> RunConfig:
        """A copy with some fields of one section changed (validated again)."""
        new = dataclasses.replace(getattr(self, section), **changes)
        return dataclasses.replace(self, **{section: new})

    def assign(self, setting: str) -> RunConfig:
        """A copy with one field changed by ``SECTION.KEY=VALUE`` (``model.hid_t=256``): the
        value read as JSON (``true``, ``[1, 2]``), else kept as a string (``bf16``)."""
        key, sep, text = setting.partition("=")
        section, dot, name = key.partition(".")
        _check(sep and dot and section in ("model", "data", "optim", "train"),
               f"a setting reads SECTION.KEY=VALUE with SECTION one of model, data, optim, "
               f"train; got {setting!r}")
        fields = [f.name for f in dataclasses.fields(getattr(self, section))]
        _check(name in fields, f"{section} has no field {name!r}; it has {', '.join(fields)}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        return self.replace(section, **{name: value})


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _shape(value) -> bool:
    return isinstance(value, list) and len(value) <= 4 and all(is_int(n) and n >= 1 for n in value)


def spec_from_dict(values: Any) -> ExampleSpec:
    """The ``spec`` of a ``config.json``, checked."""
    _check(isinstance(values, dict) and values.get("kind") in KINDS
           and isinstance(values.get("shapes"), dict) and "inputs" in values["shapes"],
           f"spec must hold the data's kind ({', '.join(KINDS)}) and shapes, with the inputs', "
           f"as a run's config.json records them; got {values!r}")
    shapes, value_range = values["shapes"], values.get("value_range")
    _check(set(shapes) <= set(ROLES) and all(_shape(s) for s in shapes.values())
           and len(shapes["inputs"]) == KINDS[values["kind"]],
           f"spec.shapes must give each role's example shape, such as "
           f'{{"inputs": [1, 28, 28]}}, got {shapes!r}')
    _check(value_range is None or (isinstance(value_range, list) and len(value_range) == 2
                                   and all(isinstance(v, (int, float)) for v in value_range)),
           f"spec.value_range must be two numbers or null, got {value_range!r}")
    n, classes = values.get("num_classes", 0), values.get("classes")
    _check(is_int(n) and n >= 0, f"spec.num_classes must be a number >= 0, got {n!r}")
    _check(classes is None or (isinstance(classes, list) and all(isinstance(c, str) for c in classes)),
           f"spec.classes must list names or be null, got {classes!r}")
    return ExampleSpec.from_dict(values)


def legacy_spec(shape: Any, model_config) -> ExampleSpec:
    """The spec of a run written before specs were recorded: its ``sample_shape``, as the
    model needs its data (its range, labels when it learns from them)."""
    _check(_shape(shape) and len(shape) >= 1,
           f"sample_shape must list 1 to 4 positive sizes, such as [1, 28, 28], got {shape!r}")
    return model_class(model_config).spec_for(model_config, shape)


def data_range(config: RunConfig) -> tuple[float, float]:
    """The range the run's images are loaded in: ``data.scale`` when set, else the range the
    model asks for, else [0, 1]."""
    if config.data.scale is not None:
        return RANGES[config.data.scale]
    return model_class(config.model).needs(config.model).value_range or (0.0, 1.0)


def remember_data(config: RunConfig, data_dir: str | Path | None) -> RunConfig:
    """``config`` with where its data came from, for every later command on the run: the
    folder of a named set (``data_dir``, else ``$AEGAN_DATA_DIR``) and the absolute path of
    a file or folder named by a relative one."""
    d = config.data
    folder = data_dir or os.environ.get("AEGAN_DATA_DIR") or None
    name = d.name
    if name not in DATASETS and Path(name).exists():
        name = str(Path(name).resolve())
    return config.replace("data", name=name,
                          dir=str(Path(folder).resolve()) if folder and name in DATASETS else d.dir)


def load_data(config: RunConfig, data_dir: str | Path | None = None) -> Dataset:
    """The data of ``config``, as its model needs them (see :func:`data_range`), read from
    ``data_dir`` when given, else from where a run read them (``data.dir``) when that is still
    there, else as any named set is found (``$AEGAN_DATA_DIR``, the cache, a download)."""
    d = config.data
    folder = data_dir or (d.dir if d.dir and Path(d.dir).is_dir() else None)
    return load_dataset(d.name, folder, d.limit, d.valid_size, d.classes, data_range(config),
                        d.kind, d.pairs, d.derive)


def load_run_data(config: RunConfig, data_dir: str | Path | None = None) -> Dataset:
    """A run's data (:func:`load_data` of its config); when they are not where the run read
    them and cannot be found, the error says which data the run needs and how to get them."""
    try:
        return load_data(config, data_dir)
    except DataError as exc:
        d = config.data
        named = d.name in DATASETS
        moved = data_dir is None and (bool(d.dir) and not Path(d.dir).is_dir() if named
                                      else not Path(d.name).exists())
        if not moved:
            raise
        where = f"{d.name} (read from {d.dir})" if named else d.name
        way = ("pass --data-dir DIR holding it, set AEGAN_DATA_DIR, or connect to the internet "
               "so aegan can download it" if named else "pass --data PATH with the same data")
        raise DataError(f"this run was trained on {where}, which is not on this machine; "
                        f"{way} ({exc})") from None


def _no_constant(name: str):
    raise ConfigError(f"{name} is not a number a config may hold; write a finite number")


def parse_config(text: str | bytes, source: str = "the config") -> RunConfig:
    """A :class:`RunConfig` from JSON text, parsed as data: anything else is a ConfigError."""
    try:
        values = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg}); "
                          "a config is one JSON object, like a run's config.json") from None
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ConfigError(f"{source} is not valid JSON ({type(exc).__name__}); "
                          "a config is one JSON object, like a run's config.json") from None
    try:
        return RunConfig.from_dict(values)
    except ConfigError:
        raise
    except (TypeError, ValueError, RecursionError) as exc:  # a value of a kind no check expects
        raise ConfigError(f"{source} holds a value aegan cannot use ({type(exc).__name__}: "
                          f"{exc}); compare it with a preset's config.json") from None


def load_config(path: str | Path) -> RunConfig:
    """Read a run config from a JSON file, as data (nothing in it is executed)."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        raise ConfigError(f"{path}: aegan reads configs as JSON only (YAML could build "
                          "objects); write it as .json, like a run's config.json")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}; check the path, "
                          "or name a preset (see 'aegan presets')") from None
    return parse_config(raw, str(path))
