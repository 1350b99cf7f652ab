"""The curve of validation MSE per frame against training time, one line per measured run.

Reads the rows ``benchmarks/forecast.py --json`` wrote (each carries its run's curve: cumulative
training seconds and the validation MSE per frame after every epoch) and draws them in hours,
with the target and the copy-last-frame baseline of the rows as horizontal lines, so the cost
of every point is plain.

Usage::

    python benchmarks/forecast_curve.py results/forecast-A.jsonl results/forecast-B.jsonl \
        --out ../docs/figures/simvp-curve.png --target 60 --budget-h 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="+", type=Path, help=".jsonl files of forecast.py")
    parser.add_argument("--out", type=Path, required=True, help="the figure (.png)")
    parser.add_argument("--target", type=float, help="a target MSE per frame, drawn as a line")
    parser.add_argument("--budget-h", type=float, help="a time budget in hours, drawn as a line")
    args = parser.parse_args()
    rows = [json.loads(line) for path in args.rows for line in path.read_text().splitlines()
            if line.strip()]
    rows = [r for r in rows if r.get("curve")]
    if not rows:
        raise SystemExit("forecast_curve: no row with a curve in " + ", ".join(map(str, args.rows)))
    fig, ax = plt.subplots(figsize=(6.4, 4.0), constrained_layout=True)
    for r in rows:
        hours = [p["train_s"] / 3600 for p in r["curve"]]
        mse = [p["valid_mse_frame"] for p in r["curve"]]
        width = r.get("model", {}).get("hid_t")  # older rows do not carry the model
        name = r["preset"] + (f", translator {width}" if width else "")
        ax.plot(hours, mse, marker=".",
                label=f"{name}, {r['epochs']} epochs: test {r['mse_frame']:.1f}")
    copy_last = sum(r["mse_frame_copy_last"] for r in rows) / len(rows)
    ax.axhline(copy_last, color="grey", linestyle=":", label=f"copy last frame ({copy_last:.1f})")
    if args.target is not None:
        ax.axhline(args.target, color="black", linestyle="--", label=f"target ({args.target:g})")
    if args.budget_h is not None:
        ax.axvline(args.budget_h, color="black", linestyle="-.", linewidth=0.8,
                   label=f"{args.budget_h:g} h")
    ax.set_xlabel("training time (hours)")
    ax.set_ylabel("validation MSE per frame")
    ax.set_ylim(0, copy_last * 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    fig.savefig(args.out, dpi=120)
    print(args.out)


if __name__ == "__main__":
    main()
