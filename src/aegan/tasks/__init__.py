"""Uses of a trained autoencoder (Géron, *Hands-On Machine Learning*, 2nd ed., chapter 17):
anomaly detection by reconstruction error (:mod:`~aegan.tasks.anomaly`), a classifier
pretrained as an autoencoder and fine-tuned on few labels (:mod:`~aegan.tasks.classify`) and
semantic hashing with binary codings (:mod:`~aegan.tasks.hashing`).

Each works with any model that can do what it needs (``reconstruct`` or ``encode``), never by
the model's family name.
"""

from __future__ import annotations

from pathlib import Path

from aegan.config import ConfigError, RunConfig
from aegan.data import Dataset, load_dataset
from aegan.data.dataset import SPLITS
from aegan.errors import DataError, RunError
from aegan.io import load_run, read_config


def check_options(split: str, fraction: float, flag: str, meaning: str) -> None:
    """A task's common options: a known split, and a number strictly between 0 and 1."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError(f"{flag} {meaning} and must be strictly between 0 and 1, got {fraction}")


def load_for_task(run_dir: str | Path, data: str | None, data_dir: str | Path | None,
                  needs: str) -> tuple[RunConfig, object, Dataset, Dataset]:
    """``(config, model, whole, own)`` for a task on a run.

    ``whole`` is ``data`` (default: the run's data set) with every class and example, to be
    scored; ``own`` is the run's training data as it was trained (its ``classes`` and ``limit``
    applied), the reference for thresholds. ``needs`` names the model method the task calls.
    """
    config = read_config(run_dir)
    d = config.data
    same = data is None or data == d.name
    own = load_dataset(d.name, data_dir, valid_size=d.valid_size)
    whole = own if same else load_dataset(data, data_dir)
    own = own.of_classes(d.classes).limited(d.limit)
    _, model = load_run(run_dir)
    if not hasattr(model, needs):
        raise RunError(f"{run_dir} holds a {model.family}, which cannot {needs}")
    if whole.sample_shape != model.sample_shape:
        raise DataError(f"this run was made for examples of shape {model.sample_shape}, "
                        f"but {whole.name} has {whole.sample_shape}")
    return config, model, whole, own
