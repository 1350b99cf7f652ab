"""Host memory and memory-mapped files: how much data may be read whole, and reading rows of a
memory-mapped ``.npy`` from its file without mapping its pages into the process.

Reading a memory-mapped file through the mapping maps its pages into the process, where they
count as resident memory (and each fault maps the whole cached folio around the row, so a
batch of random rows can map most of a file: benchmarks/RESULTS.md, "Growth"). So
:func:`read_rows` reads the rows with ``os.preadv`` from the file under the map (the page cache
serves them, the process keeps only the batch), and :func:`release_pages` drops any mapped
pages; the peak resident memory stays flat however large the file.
"""

from __future__ import annotations

import mmap
import os

import numpy as np


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


def in_memory_budget() -> int:
    """The most bytes of float32 data read whole into memory: a quarter of the available RAM."""
    return available_memory() // 4


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
