"""The registry of named presets: a name, a one-line description, and a function that
returns a fresh :class:`~aegan.config.RunConfig`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aegan.errors import ConfigError
from aegan.run import RunConfig


@dataclass
class PresetEntry:
    name: str
    build: Callable[[], RunConfig]
    description: str


PRESETS: dict[str, PresetEntry] = {}


def register_preset(name: str, description: str):
    """Decorator: register ``build() -> RunConfig`` under ``name``."""

    def wrap(build):
        PRESETS[name] = PresetEntry(name, build, description)
        return build

    return wrap


def get_preset(name: str) -> RunConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))} "
                          "(see 'aegan presets'), or give a path to a config .json")
    config = PRESETS[name].build()
    config.preset = name
    return config
