"""What a newcomer waits for: the figures drawn after training, the listing commands' start-up,
and the demo, in seconds of wall time.

    python benchmarks/newcomer.py --data-dir DATA [--rounds 3] [--src DIR] [--json F]

- ``figures``: ``aegan train book/stacked --limit 3000 --epochs 1`` with ``--figures none``,
  ``fast`` (the default) and ``all``, in alternating processes; the figure time of a mode is
  its wall time less that of ``none`` in the same round (the median round is reported);
- ``start-up``: ``aegan presets``, ``aegan datasets``, ``aegan metrics`` and ``aegan
  --version`` (the installed console script's way: ``aegan.cli.main``), the median of the
  rounds;
- ``demo``: ``aegan demo``, once.

``--src`` runs another checkout's aegan (its ``src`` folder) for a before/after; modes or
commands that checkout lacks are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(args: list[str], src: Path, cwd: Path) -> float | None:
    env = dict(os.environ, PYTHONPATH=str(src))
    code = "import sys; from aegan.cli import main; sys.exit(main(sys.argv[1:]))"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd,
                          capture_output=True, text=True)
    took = time.perf_counter() - start
    return took if done.returncode == 0 else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--src", help="another checkout's src folder (default: this one's)")
    p.add_argument("--json", help="append the result, one JSON line, to this file")
    a = p.parse_args()
    src = Path(a.src).resolve() if a.src else HERE.parent / "src"
    train = ["train", "book/stacked", "--limit", "3000", "--epochs", "1", "--data-dir", a.data_dir]
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        for r in range(a.rounds):
            for mode in ("none", "fast", "all", "default"):
                extra = [] if mode == "default" else ["--figures", mode]
                took = _run(train + extra + ["--out", f"{mode}-{r}"], src, cwd)
                if took is not None:
                    times.setdefault(f"train {mode}", []).append(took)
            for command in (["presets"], ["datasets"], ["metrics"], ["--version"]):
                took = _run(command, src, cwd)
                if took is not None:
                    times.setdefault("aegan " + " ".join(command), []).append(took)
        demo = _run(["demo", "--out", "demo"], src, cwd)
    row = {"src": str(src), "machine": platform.node(), "cpu_count": os.cpu_count(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_average": os.getloadavg(), "rounds": times, "demo_s": demo,
           "median_s": {k: round(statistics.median(v), 2) for k, v in times.items()}}
    if "train none" in times:
        none = times["train none"]
        row["figure_s"] = {mode: round(statistics.median(
            t - n for t, n in zip(times[f"train {mode}"], none)), 2)
            for mode in ("fast", "all", "default") if f"train {mode}" in times}
    print(json.dumps(row))
    if a.json:
        with open(a.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
