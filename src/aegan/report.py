"""Run reports: one self-contained HTML page per run (``aegan report``) or for several runs side
by side (``aegan compare``).

(:mod:`aegan.compare` writes the second kind.) A report shows the run's config, its environment, its training curves, every figure of the run
(those in the run folder; drawn into a temporary folder by :func:`aegan.figures.make_figures`
when the folder has none), and its metrics beside the PCA baseline and the published numbers of
:mod:`aegan.references` (Géron, 2nd ed., chapter 17 notebook; Burda et al. 2016). A report
never writes into a run folder: its only output is the page, written atomically.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aegan import __version__, api, viz
from aegan.errors import RunError
from aegan.figures import make_figures
from aegan.fileio import atomic_write_bytes
from aegan.io import ENVIRONMENT, load_history, read_config
from aegan.references import BASELINES, references_for
from aegan.train import STEPS
from aegan.viz import compare as vc
from aegan.viz import html as h

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EPOCH_GRIDS_SHOWN = 3  # the last few epoch grids (samples/epoch_*.png) of each folder
MAX_FIGURE_BYTES = 20 * 2**20
_EPOCH = re.compile(r"epoch[_-]?(\d+)")
_SKIPPED = {"training_curves.png"}  # drawn afresh from the history


@dataclass
class RunView:
    """What a report shows of one run, read once."""

    run_dir: Path
    label: str
    config: dict[str, Any]
    environment: dict[str, Any]
    history: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (name, PNG bytes)
    steps: list[dict[str, Any]] = field(default_factory=list)  # steps.jsonl


# -- checks ----------------------------------------------------------------------------------
def check_out(out: str | Path) -> Path:
    """Refuse an ``--out`` that is not an .html file in an existing folder, before any work."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise RunError(f"--out must name a .html file, got {out}; add .html to the name")
    if out.is_dir():
        raise RunError(f"--out {out} is a folder; name a .html file inside it")
    if not out.parent.is_dir():
        raise RunError(f"the folder of --out {out} does not exist; create it first or choose "
                       "another --out")
    return out


# -- reading a run ---------------------------------------------------------------------------
def _environment(run_dir: Path) -> dict[str, Any]:
    try:
        value = json.loads((run_dir / ENVIRONMENT).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _read_png(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_FIGURE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


def _shown_pngs(run_dir: Path) -> list[Path]:
    """The run folder's PNGs to show: every one at the top, and in sub-folders the last
    :data:`EPOCH_GRIDS_SHOWN` epoch grids of each folder (and any other PNG)."""
    top = sorted(p for p in run_dir.glob("*.png") if p.name not in _SKIPPED)
    grids: dict[Path, list[tuple[int, Path]]] = {}
    others = []
    for path in sorted(run_dir.glob("*/**/*.png")):
        match = _EPOCH.search(path.stem)
        if match:
            grids.setdefault(path.parent, []).append((int(match.group(1)), path))
        elif path.name not in _SKIPPED:
            others.append(path)
    for folder in sorted(grids):
        others += [p for _, p in sorted(grids[folder])[-EPOCH_GRIDS_SHOWN:]]
    return top + others


def _figures(run_dir: Path, data_dir) -> list[tuple[str, bytes]]:
    paths = _shown_pngs(run_dir)
    found = [(str(p.relative_to(run_dir)), _read_png(p)) for p in paths]
    found = [(name, png) for name, png in found if png is not None]
    if any(len(Path(name).parts) == 1 for name, _ in found):  # a figure at the top
        return found
    with tempfile.TemporaryDirectory(prefix="aegan-report-") as tmp:
        drawn = [(p.name, _read_png(p)) for p in make_figures(run_dir, tmp, data_dir)
                 if p.name not in _SKIPPED]
    return [(n, png) for n, png in drawn if png is not None] + found


def read_run(run_dir: str | Path, data_dir=None, metrics: Mapping[str, Any] | None = None,
             names: list[str] | None = None, label: str | None = None) -> RunView:
    """Everything a report shows of ``run_dir``; ``metrics`` (numbers already computed) or, when
    None, :func:`aegan.api.evaluate` of the metrics ``names`` (default: all that apply)."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    view = RunView(run_dir, label or run_dir.resolve().name, config.to_dict(),
                   _environment(run_dir), load_history(run_dir),
                   steps=load_history(run_dir, STEPS))
    if metrics is None:
        metrics = api.evaluate(run_dir, data_dir=data_dir, names=names)
    view.metrics = dict(metrics)
    view.figures = _figures(run_dir, data_dir)
    return view


# -- sections --------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def quantities(view: RunView, beside: bool = True) -> list[tuple[str, str, Any]]:
    """``(key, where from, value)``: the last epoch's losses, then the metrics' numbers
    (``beside``: without the baselines' numbers, which a report shows in their own column)."""
    last = view.history[-1] if view.history else {}
    rows = [(k, f"history, epoch {last.get('epoch', '?')}", v) for k, v in last.items()
            if k.startswith(("train_", "valid_")) and _is_number(v)]
    split = view.metrics.get("split", "")
    where = f"evaluate, {split} split" if split else "evaluate"
    shown_beside = set(BASELINES.values()) | {"pca_components"}  # in the PCA column
    rows += [(k, where, v) for k, v in view.metrics.items()
             if _is_number(v) and k != "examples" and not (beside and k in shown_beside)]
    return rows


def metrics_section(view: RunView) -> str:
    """Our numbers, with the PCA baseline and the published references beside them."""
    refs = references_for(view.config.get("preset"), view.config["data"]["name"])
    sources = list(dict.fromkeys(r.source for r in refs))
    pca_k = view.metrics.get("pca_components")
    epochs = view.history[-1].get("epoch") if view.history else None
    header = ["quantity", "from", f"this run ({view.label}, {epochs} epochs)" if epochs
              else f"this run ({view.label})",
              f"PCA, {pca_k} components" if pca_k else "PCA baseline"]
    header += [s + (f", {e} epochs" if (e := next(r.epochs for r in refs if r.source == s))
                    else "") for s in sources]
    rows = []
    for key, where, value in quantities(view):
        baseline = view.metrics.get(BASELINES.get(key, ""))
        published = [next((r.value for r in refs if r.source == s and r.key == key), None)
                     for s in sources]
        rows.append([key, where, value, baseline if _is_number(baseline) else None, *published])
    if not rows:
        return h.section("Metrics", '<p class="note">no history and no metrics</p>')
    if all(row[3] is None for row in rows):  # no PCA number (a GAN, or no evaluation): no column
        header, rows = header[:3] + header[4:], [row[:3] + row[4:] for row in rows]
    examples = view.metrics.get("examples")
    note = (f'<p class="note">evaluated on {h.esc(view.metrics.get("data", ""))} '
            f'({h.esc(examples)} examples). – : no such number.</p>' if examples else "")
    note += "".join(f'<p class="note">{h.esc(n)}</p>' for n in view.metrics.get("notes", []))
    return h.section("Metrics", h.table(header, rows) + note)


def config_section(view: RunView) -> str:
    top = [["preset", view.config.get("preset")], ["family", view.config["model"].get("family")],
           ["sample_shape", json.dumps(view.config.get("sample_shape"))]]
    parts = [h.table(["", "value"], top), '<div class="cols">']
    for name in ("model", "data", "optim", "train"):
        values = view.config.get(name) or {}
        rows = [[k, v if _is_number(v) else json.dumps(v)] for k, v in values.items()]
        parts.append(f"<div><h3>{h.esc(name)}</h3>{h.table(['key', 'value'], rows)}</div>")
    parts.append("</div>")
    return h.section("Config", "\n".join(parts))


def environment_section(view: RunView) -> str:
    if not view.environment:
        return h.section("Environment", f'<p class="note">{ENVIRONMENT} is missing or '
                                        "unreadable</p>")
    rows = [[k, " ".join(map(str, v)) if isinstance(v, list) else v]
            for k, v in view.environment.items()]
    return h.section("Environment", h.table(["", "value"], rows))


def curves_section(histories: dict[str, list[dict[str, Any]]]) -> str:
    keys = vc.loss_keys(histories)
    if not keys:
        return h.section("Training curves", '<p class="note">no history recorded</p>')
    figures = [f"<div>{h.image(vc.to_png(vc.overlaid_curves(histories, k)), k)}</div>"
               for k in keys]
    note = '<p class="note">solid: training; dashed: validation.</p>'
    return h.section("Training curves", note + '<div class="cols">' + "".join(figures) + "</div>")


def run_curves_section(view: RunView) -> str:
    """One run's training curves: every quantity, per epoch and every few steps."""
    if not view.history:
        return h.section("Training curves", '<p class="note">no history recorded</p>')
    png = vc.to_png(viz.training_curves(view.history, view.steps))
    return h.section("Training curves", h.image(png, "training curves"))


def figures_section(view: RunView) -> str:
    if not view.figures:
        return h.section("Figures", '<p class="note">no figures</p>')
    return h.section("Figures", h.gallery([h.figure(png, name) for name, png in view.figures]))


def subtitle(what: str) -> str:
    return f"{what} · written {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by aegan {__version__}"


# -- the pages -------------------------------------------------------------------------------
def write_report(run_dir: str | Path, out: str | Path, data_dir=None,
                 metrics: Mapping[str, Any] | None = None,
                 names: list[str] | None = None) -> Path:
    """Write the report of one run to ``out`` (.html); return ``out``. ``metrics``: numbers
    already computed (``{}`` for none); None computes ``names`` (default: all that apply)."""
    out = check_out(out)
    view = read_run(run_dir, data_dir, metrics, names)
    sections = [metrics_section(view), run_curves_section(view),
                figures_section(view), config_section(view), environment_section(view)]
    text = h.page(f"Run {view.label}", subtitle(str(view.run_dir)), sections)
    atomic_write_bytes(out, text.encode("utf-8"))
    return out
