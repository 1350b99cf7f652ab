"""The registry of model families: name -> (config dataclass, model class)."""

from __future__ import annotations

from typing import Any

from aegan.config import from_dict
from aegan.data.examples import ExampleSpec
from aegan.errors import ConfigError, did_you_mean

MODELS: dict[str, tuple[type, type]] = {}


def register_model(name: str, config_cls: type):
    """Class decorator: register a :class:`~aegan.models.base.Model` under ``name``."""

    def wrap(model_cls):
        MODELS[name] = (config_cls, model_cls)
        return model_cls

    return wrap


def model_class(config) -> type:
    """The model class of ``config``'s family."""
    return MODELS[config.family][1]


def model_config_from_dict(values: dict[str, Any]):
    family = values.get("family") if isinstance(values, dict) else None
    if family not in MODELS:
        hint = did_you_mean(family, MODELS) if isinstance(family, str) else ""
        raise ConfigError(f"unknown model family {family!r}{hint} (known: "
                          f"{', '.join(sorted(MODELS))})")
    return from_dict(MODELS[family][0], values, "model")


def build_model(config, spec: ExampleSpec | tuple[int, ...]):
    """A fresh model of ``config``'s family for data of ``spec`` (or a shape of the inputs),
    after the family has checked that it can learn from such data
    (:meth:`~aegan.models.base.Model.check_data`)."""
    cls = model_class(config)
    spec = spec if isinstance(spec, ExampleSpec) else cls.spec_for(config, spec)
    cls.check_data(config, spec)
    return cls(config, spec)
