"""``aegan compare``: several runs side by side on one page, one column per run. Settings
that differ between the runs are highlighted (those they share are folded away), the final
numbers sit in one table, and figures of the same name are shown in one row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aegan.errors import RunError
from aegan.fileio import atomic_write_bytes
from aegan.io import read_config
from aegan.report import check_out, curves_section, quantities, read_run, subtitle
from aegan.viz import html as h


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model": {"z_dim": 10}}`` -> ``{"model.z_dim": "10"}`` (values as JSON text)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.dumps(value)
    return flat


def runs_section(views) -> str:
    def row(v) -> list[Any]:
        env = v.environment
        return [v.label, str(v.run_dir), v.config.get("preset"), v.config["data"]["name"],
                v.history[-1].get("epoch") if v.history else None, env.get("created"),
                env.get("device"), env.get("torch")]

    header = ["run", "folder", "preset", "data", "epochs trained", "created", "device", "torch"]
    return h.section("Runs", h.table(header, [row(v) for v in views]))


def config_diff_section(views) -> str:
    flats = [_flat(v.config) for v in views]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    differ = [k for k in keys if len({f.get(k) for f in flats}) > 1]
    same = [k for k in keys if k not in differ]
    header = ["setting"] + [v.label for v in views]
    body = ('<p class="note">settings that differ between the runs (highlighted); '
            "missing: –.</p>")
    if differ:
        body += h.table(header, [[k] + [f.get(k) for f in flats] for k in differ],
                        marked=[True] * len(differ))
    else:
        body += '<p class="note">the runs have the same config.</p>'
    if same:
        body += (f"<details><summary>{len(same)} settings the runs share</summary>"
                 + h.table(["setting", "value"], [[k, flats[0][k]] for k in same])
                 + "</details>")
    return h.section("Config differences", body)


def metrics_section(views) -> str:
    per_run = [{key: value for key, _, value in quantities(v, beside=False)} for v in views]
    keys = list(dict.fromkeys(k for q in per_run for k in q))
    if not keys:
        return h.section("Final metrics", '<p class="note">no history and no metrics</p>')
    rows = [[k] + [q.get(k) for q in per_run] for k in keys]
    note = ('<p class="note">train_* / valid_*: the last epoch of the history; the others: '
            "'aegan evaluate' of each run. – : the run has no such number.</p>")
    return h.section("Final metrics", h.table(["quantity"] + [v.label for v in views], rows) + note)


def figures_section(views) -> str:
    names = list(dict.fromkeys(name for v in views for name, _ in v.figures))
    if not names:
        return h.section("Figures", '<p class="note">no figures</p>')
    width = max(240, 1100 // len(views))
    parts = []
    for name in names:
        cells = []
        for v in views:
            png = dict(v.figures).get(name)
            inner = (h.figure(png, v.label, width) if png is not None
                     else f'<p class="note">{h.esc(v.label)}: {h.NONE}</p>')
            cells.append(f"<div>{inner}</div>")
        parts.append(f"<h3>{h.esc(name)}</h3><div class=\"cols\">{''.join(cells)}</div>")
    return h.section("Figures", "\n".join(parts))


def _labels(run_dirs: list[Path]) -> list[str]:
    names = [p.resolve().name for p in run_dirs]
    return names if len(set(names)) == len(names) else [str(p) for p in run_dirs]


def write_comparison(run_dirs: list[str | Path], out: str | Path, data_dir=None,
                     metrics: list[Mapping[str, Any]] | None = None,
                     names: list[str] | None = None) -> Path:
    """Write a page comparing two or more runs to ``out`` (.html); return ``out``."""
    run_dirs = [Path(p) for p in run_dirs]
    if len(run_dirs) < 2:
        raise RunError(f"compare needs at least two runs, got {len(run_dirs)}; name two or more "
                       "run folders (one run: 'aegan report RUN')")
    out = check_out(out)
    for run_dir in run_dirs:
        read_config(run_dir)  # every run is checked before any is evaluated
    given = metrics if metrics is not None else [None] * len(run_dirs)
    views = [read_run(p, data_dir, m, names, label)
             for p, m, label in zip(run_dirs, given, _labels(run_dirs))]
    sections = [runs_section(views), config_diff_section(views), metrics_section(views),
                curves_section({v.label: v.history for v in views}),
                figures_section(views)]
    what = subtitle(", ".join(v.label for v in views))
    text = h.page(f"Comparison of {len(views)} runs", what, sections)
    atomic_write_bytes(out, text.encode("utf-8"))
    return out
