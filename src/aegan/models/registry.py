"""The registry of model families: name -> (config dataclass, model class)."""

from __future__ import annotations

from typing import Any

from aegan.config import from_dict
from aegan.errors import ConfigError

MODELS: dict[str, tuple[type, type]] = {}


def register_model(name: str, config_cls: type):
    """Class decorator: register a :class:`~aegan.models.base.Model` under ``name``."""

    def wrap(model_cls):
        MODELS[name] = (config_cls, model_cls)
        return model_cls

    return wrap


def model_config_from_dict(values: dict[str, Any]):
    family = values.get("family") if isinstance(values, dict) else None
    if family not in MODELS:
        raise ConfigError(f"unknown model family {family!r}; known: {', '.join(sorted(MODELS))}")
    return from_dict(MODELS[family][0], values, "model")


def build_model(config, sample_shape: tuple[int, ...]):
    """A fresh model of ``config``'s family for data of ``sample_shape``."""
    return MODELS[config.family][1](config, sample_shape)
