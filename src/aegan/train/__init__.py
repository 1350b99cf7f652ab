"""The one Trainer and its checkpoints."""

from aegan.train import distributed
from aegan.train.trainer import CHECKPOINT, HISTORY, STEPS, EpochEnd, Trainer, resolve_device

__all__ = ["CHECKPOINT", "HISTORY", "STEPS", "EpochEnd", "Trainer", "distributed", "resolve_device"]
