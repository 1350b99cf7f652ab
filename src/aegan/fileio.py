"""Safe file primitives shared by every room: atomic writes, the one-writer lock of a folder,
and paths that must stay inside a folder.

- :func:`atomic_write_bytes` writes to a temporary name, flushes, fsyncs, renames over the old
  file and fsyncs the folder, so a reader (or a process started after a crash) sees the old
  file or the new one, whole, never half of one.
- :func:`folder_lock` holds an exclusive ``fcntl.flock`` on ``FOLDER/.lock`` for as long as
  one process writes into the folder. The kernel drops the lock when the process ends, however
  it ends (``kill -9`` included), so a crash never leaves a stale lock behind.
- :func:`safe_join` resolves a name found in an archive or a folder listing and refuses one
  that would lead outside the folder (absolute paths, ``..``, links that point out).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from aegan.errors import RunError, UnsafeFile

try:  # POSIX; where fcntl is missing (Windows) folders are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

LOCK = ".lock"
_TEMP_MARK = ".tmp"
_HELD: dict[str, list[int]] = {}  # resolved folder -> [fd, depth]: the locks this process holds


# -- atomic writes ---------------------------------------------------------------------------
def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TEMP_MARK}{os.getpid()}")


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where the filesystem cannot)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole.

    On any failure (a full disk included) the temporary file is removed, the old file is left
    as it was, and the ``OSError`` propagates.
    """
    path = Path(path)
    tmp = _temp_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None  # the name the user gave
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files a killed writer left in ``folder``. Call it only while
    holding the folder's lock: then no live writer owns them."""
    stale = [p for p in Path(folder).glob(f".*{_TEMP_MARK}*") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


# -- the one-writer lock ---------------------------------------------------------------------
def _holder(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def _acquire(folder: Path) -> int:
    lock_path = folder / LOCK
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RunError(f"cannot lock {folder} for writing ({exc.strerror}); "
                       "choose a folder you can write to") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunError(f"{folder} is being written by {_holder(lock_path)}; wait for it to "
                       "finish, or write to another folder") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


@contextlib.contextmanager
def folder_lock(folder: str | Path) -> Iterator[Path]:
    """Hold ``folder``'s writer lock for the ``with`` block; re-entrant within one process.

    A second process that asks for the lock meanwhile gets a :class:`RunError` at once.
    """
    folder = Path(folder)
    key = str(folder.resolve())
    if fcntl is None:  # pragma: no cover
        yield folder
        return
    if key in _HELD:
        _HELD[key][1] += 1
    else:
        _HELD[key] = [_acquire(folder), 1]
    try:
        yield folder
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            os.close(_HELD.pop(key)[0])  # closing the descriptor releases the flock


# -- paths that must stay inside a folder ----------------------------------------------------
def safe_join(root: str | Path, name: str, what: str = "archive") -> Path:
    """``root / name`` for a ``name`` read from an archive or a listing, refusing one that is
    absolute, climbs out with ``..``, or resolves (through links) to a place outside ``root``."""
    root = Path(root)
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if (not name or "\x00" in name or PurePosixPath(name).is_absolute()
            or PureWindowsPath(name).drive or PureWindowsPath(name).is_absolute()
            or ".." in parts):
        raise UnsafeFile(f"{what} entry {name!r} points outside its folder; it is refused "
                         "(nothing was written); use a file made by a trusted tool")
    target = root.joinpath(*parts)
    inside = root.resolve()
    resolved = target.resolve()
    if resolved != inside and inside not in resolved.parents:
        raise UnsafeFile(f"{what} entry {name!r} leads through a link to {resolved}, outside "
                         f"{root}; it is refused; replace the link by the file itself")
    return target
