"""Batches read from host arrays as training goes: the path for data larger than memory.

The Trainer keeps small data on the device whole (the fast path); a memory-mapped ``.npy``
larger than a budget, or a lazy source such as an image folder (:mod:`aegan.data.folder`), is
read batch by batch through a ``torch.utils.data.DataLoader`` instead, with ``num_workers``
reader processes and pinned memory on CUDA. The sampler hands out whole batches of indices,
taken from the same shuffled permutation the in-memory path uses, so both paths give the same
batches for the same seed.

:class:`BatchReader` reads the rows of a memory-mapped array from the file under the map and
releases the mapped pages after each batch (:mod:`aegan.data.memory`), so the peak resident
memory stays flat however large the file.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from aegan.data import memory
from aegan.errors import AeganError


def in_memory_budget(device: torch.device) -> int:
    """The most bytes of float32 data copied whole to ``device``: a quarter of the available
    RAM, and of the free GPU memory on CUDA."""
    budget = memory.in_memory_budget()
    if device.type == "cuda":
        budget = min(budget, torch.cuda.mem_get_info(device)[0] // 4)
    return budget


class BatchReader(torch.utils.data.Dataset):
    """``reader[indices]`` -> one tensor per array (floating-point values as float32, labels as
    they are) for an index array, read in ascending order (sequential on disk) and returned in
    the order asked for; the mapped pages are released after each batch."""

    def __init__(self, arrays: Sequence):
        self.arrays = list(arrays)
        self.fds: dict[str, int] = {}  # open files of memory-mapped arrays, by path

    def __del__(self):
        for fd in self.fds.values():
            os.close(fd)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, indices: np.ndarray) -> tuple[torch.Tensor, ...]:
        order = np.argsort(indices, kind="stable")
        ascending = indices[order]
        out = []
        for array in self.arrays:
            rows = memory.read_rows(array, ascending, self.fds)
            batch = np.empty_like(rows)
            batch[order] = rows
            dtype = torch.float32 if np.issubdtype(batch.dtype, np.floating) else None
            out.append(torch.as_tensor(batch, dtype=dtype))
            memory.release_pages(array)
        return tuple(out)


def loader(arrays: Sequence, batches: list[np.ndarray], num_workers: int,
           pin: bool) -> Iterator[tuple[torch.Tensor, ...]]:
    """A ``DataLoader`` yielding one batch per index array of ``batches``. A user error in a
    worker (an image that cannot be decoded) stays one line: torch would prefix the
    worker's traceback to its message."""
    fork = "fork" in multiprocessing.get_all_start_methods()  # workers share the mapping
    data = torch.utils.data.DataLoader(
        BatchReader(arrays), sampler=batches, batch_size=None, num_workers=num_workers,
        pin_memory=pin, multiprocessing_context="fork" if fork and num_workers else None)
    try:
        yield from data
    except AeganError as exc:
        lines = str(exc).strip().splitlines()
        if len(lines) > 1:  # "Caught DataError in DataLoader worker…", …, "…DataError: message"
            raise type(exc)(lines[-1].split(": ", 1)[-1]) from None
        raise
