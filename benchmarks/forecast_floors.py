"""The floor under a forecaster's predictions: SSIM and MSE per frame against ``model.floor``,
on the validation sequences (where the floor is chosen) and the test sequences (where it is
reported), with the floor the rule picks marked.

The rule, fixed before the full run's numbers were seen: among the floors whose validation MSE
per frame is within ``--tolerance`` (1%) of the unfloored model's, the one with the highest
validation SSIM. Reads the rows ``benchmarks/forecast.py --floors ... --json`` wrote.

Usage::

    python benchmarks/forecast_floors.py results/forecast-2026-12-05-simvp-wide-floors-cpu.jsonl \
        --out ../docs/figures/simvp-wide-floors.png --ssim-target 0.85 --mse-target 60
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def choose_floor(floors: list[dict], tolerance: float = 0.01) -> float:
    """The rule above, on ``forecast.py``'s ``floors`` (each ``{"floor", "valid", "test"}``);
    the unfloored model (floor 0) must be among them."""
    base = [f for f in floors if f["floor"] == 0]
    if not base:
        raise ValueError("the floors must include 0, the unfloored model the rule compares with")
    limit = base[0]["valid"]["mse_frame"] * (1 + tolerance)
    allowed = [f for f in floors if f["valid"]["mse_frame"] <= limit]
    return max(allowed, key=lambda f: f["valid"]["ssim"])["floor"]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path, help="a .jsonl file of forecast.py with floors")
    parser.add_argument("--out", type=Path, required=True, help="the figure (.png)")
    parser.add_argument("--tolerance", type=float, default=0.01,
                        help="validation MSE allowed above the unfloored model's (0.01: 1%%)")
    parser.add_argument("--ssim-target", type=float, help="drawn as a line")
    parser.add_argument("--mse-target", type=float, help="drawn as a line")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("floors")]
    if not rows:
        raise SystemExit(f"forecast_floors: no row with floors in {args.rows}")
    fig, (ax_ssim, ax_mse) = plt.subplots(1, 2, figsize=(9.6, 3.8), constrained_layout=True)
    for r in rows:
        floors = sorted(r["floors"], key=lambda f: f["floor"])
        chosen = choose_floor(floors, args.tolerance)
        x = [f["floor"] for f in floors]
        for split, style in (("valid", "o--"), ("test", "s-")):
            label = f"{r['preset']}, {'validation' if split == 'valid' else 'test'}"
            ax_ssim.plot(x, [f[split]["ssim"] for f in floors], style, ms=4, label=label)
            ax_mse.plot(x, [f[split]["mse_frame"] for f in floors], style, ms=4, label=label)
        pick = next(f for f in floors if f["floor"] == chosen)
        for ax, key, fmt in ((ax_ssim, "ssim", ".3f"), (ax_mse, "mse_frame", ".1f")):
            ax.axvline(chosen, color="black", linewidth=0.8)
            ax.annotate(f"chosen {chosen:g}: test {pick['test'][key]:{fmt}}",
                        (chosen, pick["test"][key]), textcoords="offset points", xytext=(6, -14),
                        fontsize=8)
        limit = floors[0]["valid"]["mse_frame"] * (1 + args.tolerance)
        ax_mse.axhline(limit, color="grey", linestyle=":",
                       label=f"validation MSE + {args.tolerance:.0%} ({limit:.2f})")
    if args.ssim_target is not None:
        ax_ssim.axhline(args.ssim_target, color="black", linestyle="--",
                        label=f"target ({args.ssim_target:g})")
    if args.mse_target is not None:
        ax_mse.axhline(args.mse_target, color="black", linestyle="--",
                       label=f"target ({args.mse_target:g})")
    for ax, name in ((ax_ssim, "SSIM (data range 1)"), (ax_mse, "MSE per frame")):
        ax.set_xlabel("floor: predicted pixels below it set to 0")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(args.out, dpi=120)
    print(args.out)


if __name__ == "__main__":
    main()
