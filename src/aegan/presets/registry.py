"""The registry of named presets: a name, a one-line description, and the run config as data,
as a run's ``config.json`` holds it (the family's config, ``data``, ``optim``, ``train``).

Presets are data, so listing them (``aegan presets``) reads no model code and starts in a
fraction of a second; :func:`get_preset` turns one into a validated
:class:`~aegan.run.RunConfig`, a fresh one each call.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from aegan.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class PresetEntry:
    name: str
    description: str
    values: dict[str, Any]  # "model", "data", "optim", "train" sections, as in config.json

    @property
    def family(self) -> str:
        return self.values["model"]["family"]


PRESETS: dict[str, PresetEntry] = {}


def register_preset(name: str, description: str, values: dict[str, Any]) -> None:
    """Register the run config ``values`` (sections of a ``config.json``) as preset ``name``."""
    PRESETS[name] = PresetEntry(name, description, values)


def get_preset(name: str):
    """A fresh :class:`~aegan.run.RunConfig` of preset ``name``."""
    # aegan.run imports the model families (and PyTorch): imported on use, so that listing the
    # presets stays fast
    from aegan.run import RunConfig

    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}{did_you_mean(name, PRESETS)} (known: "
                          f"{', '.join(sorted(PRESETS))}; see 'aegan presets'), or give a path "
                          "to a config .json")
    config = RunConfig.from_dict(copy.deepcopy(PRESETS[name].values))
    config.preset = name
    return config
