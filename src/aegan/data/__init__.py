"""Data sets as arrays: the registry of named sets, file readers, downloads and splits."""

from aegan.data import sets  # noqa: F401  (registers the named sets)
from aegan.data.dataset import DATASETS, Dataset, load_dataset, register_dataset

__all__ = ["DATASETS", "Dataset", "load_dataset", "register_dataset"]
