"""Do two checkouts train to the same numbers? Every preset, short runs, one history each.

    python benchmarks/same_results.py --data-dir DATA [--src DIR] [--presets a,b] [--limit 2000]
                                      [--epochs 2] --json OUT.json
    python benchmarks/same_results.py --compare A.json B.json

Each preset is trained through the command line (``aegan train PRESET --limit N --epochs E``,
the preset's own seed) in a fresh process that imports aegan from ``--src`` (default: this
checkout), with one thread, so that the arithmetic is the same in every run. The last epoch's
history record of each run is written to ``--json``. ``--compare`` prints, per preset, the
largest relative difference between two such files over the numbers both records hold: a
refactoring that keeps behaviour shows 0 (bit for bit on the CPU) for every preset.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def presets(src: Path) -> list[str]:
    code = "import json; from aegan.presets import PRESETS; print(json.dumps(list(PRESETS)))"
    out = subprocess.run([sys.executable, "-c", code], env=_env(src), capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def _env(src: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def last_record(src: Path, preset: str, data_dir: str, limit: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "aegan", "train", preset, "--data-dir", data_dir,
               "--epochs", str(epochs), "--limit", str(limit), "--out", str(out),
               "--device", "cpu"]
        done = subprocess.run(cmd, env=_env(src), capture_output=True, text=True)
        if done.returncode:
            return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
        lines = (out / "history.jsonl").read_text().splitlines()
        return {k: v for k, v in json.loads(lines[-1]).items() if k != "time_s"}


def compare(a: dict, b: dict) -> None:
    width = max(map(len, a))
    for preset in a:
        ra, rb = a[preset], b.get(preset)
        if rb is None:
            print(f"{preset:<{width}}  only in the first file")
            continue
        keys = sorted(set(ra) & set(rb) - {"epoch", "step", "error"})
        diffs = [abs(ra[k] - rb[k]) / max(abs(ra[k]), 1e-12) for k in keys]
        only = sorted(set(ra) ^ set(rb))
        worst = max(diffs) if diffs else None
        print(f"{preset:<{width}}  max relative difference {worst!r} over {len(keys)} numbers"
              + (f"; keys in one only: {only}" if only else ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir")
    p.add_argument("--src", help="the source folder to import aegan from (default: this checkout)")
    p.add_argument("--presets", help="comma-separated (default: every registered preset)")
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--json")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = p.parse_args()
    if args.compare:
        compare(*(json.loads(Path(f).read_text()) for f in args.compare))
        return
    src = Path(args.src).resolve() if args.src else HERE.parent / "src"
    names = args.presets.split(",") if args.presets else presets(src)
    results = {}
    for name in names:
        results[name] = last_record(src, name, args.data_dir, args.limit, args.epochs)
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
