"""Batches read from host arrays as training goes: the path for data larger than memory.

The Trainer keeps small data on the device whole (the fast path); a memory-mapped ``.npy``
larger than a budget, or a lazy source such as an image folder (:mod:`aegan.data.folder`), is
read batch by batch through a ``torch.utils.data.DataLoader`` instead, with ``num_workers``
reader processes and pinned memory on CUDA. The sampler hands out whole batches of indices,
taken from the same shuffled permutation the in-memory path uses, so both paths give the same
batches for the same seed.

Reading a memory-mapped file through the mapping maps its pages into the process, where they
count as resident memory (and each fault maps the whole cached folio around the row, so a
batch of random rows can map most of a file: benchmarks/RESULTS.md, "Growth"). So
:class:`BatchReader` reads the rows of a memory-mapped array with ``os.preadv`` from the file
under the map (the page cache serves them, the process keeps only the batch), and releases
any mapped pages after each batch (``madvise(MADV_DONTNEED)``); the peak resident memory stays
flat however large the file.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from aegan.errors import AeganError


def release_pages(array) -> None:
    """Drop the mapped pages of a memory-mapped ``array`` from this process (a no-op for an
    array in memory)."""
    handle = getattr(array, "_mmap", None)
    if isinstance(handle, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)


def available_memory() -> int:
    """Bytes of RAM available to new allocations (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def in_memory_budget(device: torch.device | None = None) -> int:
    """The most bytes of float32 data read whole into memory, or copied whole to ``device``:
    a quarter of the available RAM (and of the free GPU memory on CUDA)."""
    budget = available_memory() // 4
    if device is not None and device.type == "cuda":
        budget = min(budget, torch.cuda.mem_get_info(device)[0] // 4)
    return budget


def is_lazy(x) -> bool:
    """A source read on demand: a memory-mapped array or a lazy reader such as an image
    folder (anything that is not a plain array in memory)."""
    return isinstance(x, np.memmap) or not isinstance(x, np.ndarray)


def float_bytes(x) -> int:
    return int(np.prod(x.shape, dtype=np.int64)) * 4


def file_rows(array) -> tuple[str, int, int] | None:
    """``(path, byte offset of row 0, bytes per row)`` of a C-contiguous memory-mapped
    ``array`` (a view of a file's memmap, sliced along its first axis), else None."""
    handle = getattr(array, "_mmap", None)
    if (not isinstance(array, np.memmap) or not isinstance(handle, mmap.mmap)
            or not array.filename or not array.flags.c_contiguous or not len(array)):
        return None
    mapped = np.frombuffer(handle, np.uint8).ctypes.data  # where the mapping starts
    start = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY  # the file byte there
    return array.filename, start + array.ctypes.data - mapped, array[0].nbytes


def read_rows(array, rows: np.ndarray, fds: dict[str, int]) -> np.ndarray:
    """``array[rows]`` for ascending ``rows``: memory-mapped rows read from the file."""
    where = file_rows(array)
    if where is None:
        return np.asarray(array[rows])
    path, offset, size = where
    if path not in fds:
        fds[path] = os.open(path, os.O_RDONLY)
    out = np.empty((len(rows), *array.shape[1:]), array.dtype)
    view = memoryview(out).cast("B")  # [k * size] bytes
    for i, row in enumerate(rows.tolist()):
        if os.preadv(fds[path], [view[i * size:(i + 1) * size]], offset + row * size) != size:
            raise OSError(f"{path} is shorter than its header says; it changed while training")
    return out


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
            rows = read_rows(array, ascending, self.fds)
            batch = np.empty_like(rows)
            batch[order] = rows
            dtype = torch.float32 if np.issubdtype(batch.dtype, np.floating) else None
            out.append(torch.as_tensor(batch, dtype=dtype))
            release_pages(array)
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
