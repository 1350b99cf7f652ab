"""Self-contained HTML: one page with inline CSS and images as base64 PNG data URIs, no script
and no network, so a report opens anywhere and can be mailed as one file.

Every string put on a page goes through :func:`html.escape` here; callers pass plain text.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable
from typing import Any

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1c1c1c;
       max-width: 1200px; margin: 24px auto; padding: 0 20px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.sub { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 14px; }
th, td { border: 1px solid #d4d4d4; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums;
         font-family: ui-monospace, monospace; }
td.none { color: #999; text-align: center; }
tr.diff td, tr.diff th { background: #fff4c2; }
.cols { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.cols > div { flex: 0 1 auto; }
.scroll { overflow-x: auto; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
           gap: 12px 20px; align-items: start; }
figure { margin: 8px 0 16px; } figcaption { color: #444; font-size: 13px; margin-top: 2px; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
details summary { cursor: pointer; color: #333; margin: 6px 0; }
.note { color: #555; font-size: 13px; }
"""

NONE = "–"  # shown where a value is unknown


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A number as a short readable string (6 significant digits); anything else as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)


def cell(value: Any, header: bool = False) -> str:
    """One table cell: numbers right-aligned, ``None`` as a grey dash."""
    if header:
        return f"<th>{esc(value)}</th>"
    if value is None:
        return f'<td class="none">{NONE}</td>'
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{esc(fmt(value))}</td>' if numeric else f"<td>{esc(fmt(value))}</td>"


def table(header: list[Any], rows: Iterable[list[Any]], marked: Iterable[bool] = ()) -> str:
    """A table whose first column is a row label; rows whose ``marked`` is true get the
    ``diff`` class (a highlight)."""
    marks = list(marked)
    lines = ["<div class=\"scroll\"><table>",
             "<tr>" + "".join(cell(h, header=True) for h in header) + "</tr>"]
    for i, row in enumerate(rows):
        attr = ' class="diff"' if i < len(marks) and marks[i] else ""
        lines.append(f"<tr{attr}>" + cell(row[0], header=True)
                     + "".join(cell(v) for v in row[1:]) + "</tr>")
    lines.append("</table></div>")
    return "\n".join(lines)


def image(png: bytes, alt: str, width: int | None = None) -> str:
    """An ``<img>`` holding ``png`` as a data URI."""
    data = base64.b64encode(png).decode("ascii")
    style = f' style="width:{int(width)}px"' if width else ""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}"{style}>'


def figure(png: bytes, caption: str, width: int | None = None) -> str:
    return f"<figure>{image(png, caption, width)}<figcaption>{esc(caption)}</figcaption></figure>"


def gallery(items: list[str]) -> str:
    """Figures on a grid of columns at least 520 px wide (two on a wide screen)."""
    return '<div class="gallery">' + "".join(items) + "</div>"


def section(title: str, body: str) -> str:
    return f"<section><h2>{esc(title)}</h2>\n{body}\n</section>"


def page(title: str, subtitle: str, sections: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
            f"<h1>{esc(title)}</h1><p class=\"sub\">{esc(subtitle)}</p>\n"
            + "\n".join(sections) + "\n</body></html>\n")
