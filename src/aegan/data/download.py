"""Downloads into a cache folder, verified by SHA-256 before use.

A file whose digest does not match is deleted; a partial download never takes the final name
(it is written beside it and renamed once complete and verified). A copy already in the cache
is verified again before each use, so a file damaged or replaced there is fetched anew.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from aegan import progress
from aegan.errors import DataError

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """``$AEGAN_CACHE_DIR``, else ``$XDG_CACHE_HOME/aegan``, else ``~/.cache/aegan``."""
    if os.environ.get("AEGAN_CACHE_DIR"):
        return Path(os.environ["AEGAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aegan"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, target: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``target`` unless a verified copy is there; return ``target``."""
    if target.is_file():
        if sha256_of(target) == sha256:
            return target
        log.warning("%s does not match its SHA-256; fetching it again", target)
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            size = (getattr(response, "headers", None) or {}).get("Content-Length")
            total = -(-int(size) // 2**20) if size and size.isdigit() else None
            with progress.counting(f"downloading {target.name}", total, "MiB") as advance:
                while block := response.read(1 << 20):
                    out.write(block)
                    advance()
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(f"could not download {url} ({getattr(exc, 'reason', exc)})") from None
    actual = sha256_of(partial)
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise DataError(f"download of {url} has SHA-256 {actual[:16]}…, expected {sha256[:16]}…; "
                        "the file was deleted; try again later or use --data-dir")
    os.replace(partial, target)
    return target
