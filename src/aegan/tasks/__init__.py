"""Uses of a trained autoencoder (Géron, *Hands-On Machine Learning*, 2nd ed., chapter 17):
anomaly detection by reconstruction error (:mod:`~aegan.tasks.anomaly`), a classifier
pretrained as an autoencoder and fine-tuned on few labels (:mod:`~aegan.tasks.classify`) and
semantic hashing with binary codings (:mod:`~aegan.tasks.hashing`).

Each works with any model that has the capability it needs (a
:class:`~aegan.models.Reconstructor` or an :class:`~aegan.models.Encoder`), never by the
model's family name.
"""

from __future__ import annotations

from pathlib import Path

from aegan.capabilities import require
from aegan.config import ConfigError
from aegan.data import Dataset
from aegan.data.dataset import SPLITS
from aegan.errors import DataError
from aegan.io import load_run, read_config
from aegan.run import RunConfig, load_run_data


def check_options(split: str, fraction: float, flag: str, meaning: str) -> None:
    """A task's common options: a known split, and a number strictly between 0 and 1."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError(f"{flag} {meaning} and must be strictly between 0 and 1, got {fraction}")


def load_for_task(run_dir: str | Path, data: str | None, data_dir: str | Path | None,
                  needs: type, purpose: str) -> tuple[RunConfig, object, Dataset, Dataset]:
    """``(config, model, whole, own)`` for a task on a run.

    ``whole`` is ``data`` (default: the run's data set) with every class and example, to be
    scored; ``own`` is the run's training data as it was trained (its ``classes`` and ``limit``
    applied), the reference for thresholds. ``needs``: the capability the task uses, for
    ``purpose`` (a verb phrase, for the error when the model lacks it).
    """
    config = read_config(run_dir)
    _, model = load_run(run_dir)
    require(model, needs, purpose, str(run_dir))
    every = config.replace("data", limit=None, classes=None)
    whole = load_run_data(every if data is None else every.replace("data", name=data), data_dir)
    own = load_run_data(config, data_dir) if data is not None else \
        whole.of_classes(config.data.classes).limited(config.data.limit)
    if whole.sample_shape != model.sample_shape:
        raise DataError(f"this run was made for examples of shape {model.sample_shape}, "
                        f"but {whole.name} has {whole.sample_shape}")
    return config, model, whole, own
