"""Data sets as named arrays: the registry of named sets, file and folder readers, downloads
with checksums, splits, derived pairs and scaling (:mod:`aegan.data.load`)."""

from aegan.data import downloaded, moving, photos, sets  # noqa: F401  (register the named sets)
from aegan.data.dataset import DATASETS, Dataset, register_dataset
from aegan.data.examples import Batch, Examples, ExampleSpec, Resampled
from aegan.data.load import load_dataset, open_dataset

__all__ = ["DATASETS", "Batch", "Dataset", "ExampleSpec", "Examples", "Resampled",
           "load_dataset", "open_dataset", "register_dataset"]
