"""Archives and folders of files, opened without trusting the names inside them.

:func:`extract_archive` unpacks a ``.zip`` or ``.tar[.gz|.bz2|.xz]`` only after checking every
member: a name that is absolute or climbs out with ``..``, a link, a device or any other
special file is refused before anything is written (the "zip slip" / tar path-traversal
family of attacks). :func:`list_files` lists a folder's files (an image folder, say), refusing
a link that leads outside it. Readers of image folders and archived data sets resolve their
paths here.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from aegan.errors import DataError, UnsafeFile
from aegan.fileio import safe_join


def _zip_members(archive: zipfile.ZipFile, dest: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    members = []
    for info in archive.infolist():
        target = safe_join(dest, info.filename, "archive")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeFile(f"archive entry {info.filename!r} is a link; it is refused "
                             "(nothing was written); use an archive of plain files")
        members.append((info, target))
    return members


def _tar_members(archive: tarfile.TarFile, dest: Path) -> list[tuple[tarfile.TarInfo, Path]]:
    members = []
    for info in archive.getmembers():
        target = safe_join(dest, info.name, "archive")
        if not (info.isfile() or info.isdir()):
            raise UnsafeFile(f"archive entry {info.name!r} is a link or a special file; it is "
                             "refused (nothing was written); use an archive of plain files")
        members.append((info, target))
    return members


def _write(target: Path, is_dir: bool, open_member) -> Path:
    """Create the folder ``target``, or copy the member that ``open_member()`` opens there."""
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_member() as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
    return target


def extract_archive(path: str | Path, dest: str | Path) -> list[Path]:
    """Unpack the archive ``path`` into ``dest``; return the files written.

    Every member is checked before the first is written, so a hostile archive leaves ``dest``
    untouched.
    """
    path, dest = Path(path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return [_write(target, info.is_dir(), lambda info=info: archive.open(info))
                        for info, target in _zip_members(archive, dest)]
        with tarfile.open(path) as archive:
            return [_write(target, info.isdir(), lambda info=info: archive.extractfile(info))
                    for info, target in _tar_members(archive, dest)]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read archive {path} ({exc}); the file is damaged or not a "
                        "zip or tar archive; download it again") from None


def list_files(root: str | Path, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """The files under ``root`` (with one of ``suffixes``, if given), sorted; a link that leads
    outside ``root`` is refused."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; check the path")
    found = []
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs) + sorted(files):
            relative = str(Path(folder, name).relative_to(root))
            target = safe_join(root, relative, "folder")  # refuses links that lead out
            if name in files and (not suffixes or target.suffix.lower() in suffixes):
                found.append(target)
    return sorted(found)
