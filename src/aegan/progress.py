"""Progress of long work: a bar with the time left on a terminal, and elsewhere (a log, a pipe)
a line when a stage has run for a few seconds, another every half minute with the time left,
and one when it is done. Stages quicker than that print nothing.

The library is quiet unless the caller asks for progress with :func:`report_to` (the command
line sends it to standard error), so embedding aegan never prints.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")

QUIET_FOR_S = 3.0  # a stage says nothing before it has run this long
EVERY_S = 30.0  # then a line this often (not on a terminal)
_stream: IO[str] | None = None


def report_to(stream: IO[str] | None) -> None:
    """Send progress to ``stream`` (None: none at all, the default)."""
    global _stream
    _stream = stream


def duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _Lines:
    """The line-per-stage form: silent for :data:`QUIET_FOR_S`, then lines with the time left."""

    def __init__(self, stream: IO[str], desc: str, total: int | None, unit: str):
        self.stream, self.desc, self.total, self.unit = stream, desc, total, unit
        self.start = self.last = time.perf_counter()
        self.spoke = False

    def _say(self, text: str) -> None:
        print(f"aegan: {self.desc}: {text}", file=self.stream, flush=True)

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.start < QUIET_FOR_S or (self.spoke and now - self.last < EVERY_S):
            return
        if self.total and done >= self.total:  # finished: close() says so
            self.spoke = True
            return
        self.spoke, self.last = True, now
        if self.total:
            left = (now - self.start) / max(done, 1) * (self.total - done)
            self._say(f"{done:,} of {self.total:,} {self.unit}, about {duration(left)} left")
        else:
            self._say(f"{done:,} {self.unit} so far ({duration(now - self.start)})")

    def close(self) -> None:
        if self.spoke:
            self._say(f"done in {duration(time.perf_counter() - self.start)}")


class _Silent:
    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    def __init__(self, stream: IO[str], desc: str, total: int | None, unit: str):
        from tqdm.auto import tqdm

        self.bar = tqdm(desc=desc, total=total, unit=f" {unit}", file=stream, leave=False,
                        dynamic_ncols=True)

    def update(self, done: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


@contextlib.contextmanager
def counting(desc: str, total: int | None = None, unit: str = "steps") -> Iterator:
    """A counter for work done in ``total`` units: ``advance(n=1)`` after each unit."""
    if _stream is None:
        shown = _Silent()
    elif _stream.isatty():
        shown = _Bar(_stream, desc, total, unit)
    else:
        shown = _Lines(_stream, desc, total, unit)
    done = 0

    def advance(n: int = 1) -> None:
        nonlocal done
        done += n
        shown.update(done)

    try:
        yield advance
    finally:
        shown.close()


def track(items: Iterable[T], desc: str, total: int | None = None, unit: str = "steps"
          ) -> Iterator[T]:
    """``items``, with progress reported as they are consumed (``total`` of them)."""
    if total is None and isinstance(items, (list, tuple, range)):
        total = len(items)
    with counting(desc, total, unit) as advance:
        for item in items:
            yield item
            advance()
