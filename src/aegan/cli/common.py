"""What the command groups share: printing results and tables, figures, the data and split
flags, and the one line an ``OSError`` becomes."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from pathlib import Path

from aegan.errors import AeganError

FIGURE_MODES = ("all", "fast", "none")  # aegan.figures.FIGURE_MODES, without importing it



def _epoch_printer(event) -> None:
    r = event.record
    parts = [f"{event.label} epoch {r['epoch']:>3}/{event.epochs}".lstrip()]
    parts += [f"{k} {v:.4f}" for k, v in r.items() if k.startswith(("train_", "valid_"))]
    print("  ".join(parts) + f"  ({r['time_s']:.2f} s)", flush=True)


def _int_list(text: str) -> list[int]:
    """``"0,3"`` -> ``[0, 3]`` for flags that list labels."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected labels like 0,3, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one label, like 0,3")
    return values


def _print_result(result: dict, as_json: bool) -> None:
    """One JSON object, or one ``key: value`` line per entry (lists of rows as a table)."""
    if as_json:
        print(json.dumps(result))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key:>{width}}:")
            for row in value:
                print(" " * (width + 2) + "  ".join(f"{k} {_fmt(v)}" for k, v in row.items()))
        elif isinstance(value, dict):
            print(f"{key:>{width}}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in value.items()))
        else:
            print(f"{key:>{width}}: {_fmt(value)}")


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _save_figure(fig, out: str | None, as_json: bool) -> None:
    """Write ``fig`` to ``out`` (a .png) when asked for one; say so (on stderr beside JSON)."""
    from aegan import viz

    if out is None:
        return
    stream = sys.stderr if as_json else sys.stdout
    if fig is None:
        print("no figure: it draws images, and these data are not images", file=stream)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"figure: {viz.save(fig, path)}", file=stream)


def _check_png(out: str | None) -> None:
    if out is not None and Path(out).suffix.lower() != ".png":
        raise AeganError(f"--out must name a .png file, got {out}")


def _default_out(name: str) -> Path:
    slug = name.replace("/", "-").replace(".json", "")
    return Path("runs") / f"{Path(slug).name}-{time.strftime('%Y%m%d-%H%M%S')}"


_OS_ADVICE = {
    errno.ENOSPC: "the disk is full; free some space and try again (a stopped run continues "
                  "with 'aegan train --resume RUN')",
    errno.EDQUOT: "the disk quota is used up; free some space and try again",
    errno.EACCES: "choose a folder you can write to",
    errno.EPERM: "choose a folder you can write to",
    errno.EROFS: "the filesystem is read-only; choose another folder",
    errno.ENOENT: "check the path; its folder must exist",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "the path is a folder; name a file",
}


def os_error_line(exc: OSError) -> str:
    """One line for an ``OSError``: what failed, on which file, and what to do."""
    where = f"{exc.filename}: " if exc.filename else ""
    advice = _OS_ADVICE.get(exc.errno, "check the path and the disk")
    return f"{where}{exc.strerror or exc}; {advice}"


def _print_table(title: str, rows: list[dict]) -> None:
    """Rows of numbers as one table, a column per key (a metric beside its baselines)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_fmt(row.get(k, "-")) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print(f"{title:>16}: " + "  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for cell in cells:
        print(" " * 18 + "  ".join(c.rjust(w) for c, w in zip(cell, widths)))


SPLITS = ["train", "valid", "test"]


def _data_flags(p: argparse.ArgumentParser, train: bool = False) -> None:
    own = "the preset's or config's" if train else "the run's own"
    p.add_argument("--data", metavar="NAME|PATH",
                   help="a data set name (see 'aegan datasets'), a .npy/.npz/.csv file or a "
                        f"folder of images (default: {own})")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding MNIST / Fashion-MNIST IDX files (default: "
                        + ("$AEGAN_DATA_DIR, else the download cache; the run remembers it)"
                           if train else "where the run read them, $AEGAN_DATA_DIR, the cache)"))


def _split_flag(p: argparse.ArgumentParser, default: str, what: str = "the split used") -> None:
    p.add_argument("--split", choices=SPLITS, default=default,
                   help=f"{what} (default: {default})")


def _run_command(sub, name: str, handler, text: str, split: str | None = None):
    """A subcommand on a run: RUN, the data flags, ``--split`` (given a default) and ``--json``."""
    p = sub.add_parser(name, help=text, description=text)
    p.add_argument("run", metavar="RUN", help="a run folder written by 'aegan train'")
    _data_flags(p)
    if split is not None:
        _split_flag(p, split)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handler)
    return p
