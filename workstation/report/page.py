"""The HTML page around a report: one self-contained file (inline CSS, inline SVG, a few lines of
inline script to sort tables), no external resource of any kind, so it opens offline, in a mail
attachment or from a USB stick the same way, and prints on light paper.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from workstation.report.svg import DOWN, UP

CSS = """
:root { --text:#1f2329; --muted:#6b7280; --line:#e3e6eb; --panel:#f7f8fa; --up:UP_COLOUR; --down:DOWN_COLOUR;
        --accent:#2962ff; }
* { box-sizing: border-box; }
body { margin:0; background:#fff; color:var(--text); font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,
       'DejaVu Sans',sans-serif; }
main { max-width:1120px; margin:0 auto; padding:28px 28px 60px; }
h1 { font-size:24px; margin:0 0 4px; font-weight:650; }
h2 { font-size:17px; margin:34px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); font-weight:650; }
h3 { font-size:14px; margin:18px 0 6px; color:var(--muted); font-weight:600; }
.sub { color:var(--muted); margin:0 0 18px; }
.sub span + span::before { content:"\\00b7"; margin:0 8px; }
.warn { background:#fff6e0; border:1px solid #f0c36d; border-radius:6px; padding:8px 12px; margin:12px 0; }
.note { color:var(--muted); font-size:12.5px; margin:6px 0; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(172px,1fr)); gap:10px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.card .t { color:var(--muted); font-size:11px; font-weight:600; letter-spacing:.04em; text-transform:uppercase; }
.card .v { font-size:21px; font-weight:650; margin-top:2px; white-space:nowrap; }
.card .c { color:var(--muted); font-size:12px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.up { color:var(--up); } .down { color:var(--down); }
.panel { border:1px solid var(--line); border-radius:8px; padding:8px 10px 4px; margin:8px 0; }
.panel .cap { font-weight:600; font-size:13px; margin:0 0 2px 4px; }
svg.chart { display:block; }
table { border-collapse:collapse; width:100%; font-size:13px; font-variant-numeric:tabular-nums; }
th, td { padding:4px 8px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { background:var(--panel); font-weight:600; color:#374151; position:sticky; top:0; }
th.l, td.l { text-align:left; }
table.sortable th { cursor:pointer; user-select:none; }
table.sortable th.sorted-asc::after { content:" \\25b2"; font-size:9px; }
table.sortable th.sorted-desc::after { content:" \\25bc"; font-size:9px; }
.scroll { max-height:520px; overflow:auto; border:1px solid var(--line); border-radius:6px; }
.grid td { text-align:center; min-width:46px; }
.grid td.l { text-align:left; }
.two { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
@media (max-width:900px) { .two { grid-template-columns:1fr; } }
.legend { display:flex; flex-wrap:wrap; gap:16px; margin:4px 6px 6px; font-size:12.5px; }
.legend i { display:inline-block; width:14px; height:3px; vertical-align:middle; margin-right:6px; border-radius:2px; }
pre { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:10px 12px; overflow:auto;
      font-size:12px; line-height:1.4; }
details summary { cursor:pointer; color:var(--accent); margin:6px 0; }
footer { margin-top:40px; color:var(--muted); font-size:12px; border-top:1px solid var(--line); padding-top:10px; }
@media print { .scroll { max-height:none; overflow:visible; } h2 { break-after:avoid; } .panel { break-inside:avoid; } }
""".replace("UP_COLOUR", UP).replace("DOWN_COLOUR", DOWN)

# Click a header to sort its table by that column (numbers by the cell's data-v, else by text).
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      function key(r) { var c = r.cells[col]; var v = c.getAttribute('data-v');
                        return v === null ? c.textContent : parseFloat(v); }
      rows.sort(function (a, b) { var x = key(a), y = key(b);
        if (typeof x === 'number' && typeof y === 'number') { return asc ? x - y : y - x; }
        return asc ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x)); });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def page(title: str, body: str, generator: str) -> str:
    """A whole HTML document around `body`."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
        f"<footer>{escape(generator)} \u00b7 generated {stamp} \u00b7 a self-contained file: "
        "no part of it is loaded from elsewhere.</footer>\n</main>\n"
        f"<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n"
    )


@dataclass
class Column:
    """One table column: title, how a value is shown, alignment and optional class per value."""

    title: str
    text: Callable[[Any], str]
    left: bool = False
    tone: Callable[[Any], str] | None = None  # CSS class of the cell ("up"/"down"/"")
    sort_value: Callable[[Any], float | None] | None = None


def tone(x: float | None) -> str:
    """'up' for positive, 'down' for negative, '' for zero or undefined."""
    if x is None or not isinstance(x, int | float) or not math.isfinite(x) or abs(x) < 1e-12:
        return ""
    return "up" if x > 0 else "down"


def _number(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, sortable: bool = False,
          css_class: str = "", scroll: bool = False) -> str:
    """An HTML table; numeric cells carry data-v (their raw value) so sorting is numeric."""
    classes = " ".join(c for c in (css_class, "sortable" if sortable else "") if c)
    head = "".join(f'<th class="{"l" if c.left else ""}">{escape(c.title)}</th>' for c in columns)
    lines = []
    for row in rows:
        cells = []
        for col, value in zip(columns, row, strict=True):
            cls = " ".join(x for x in ("l" if col.left else "", col.tone(value) if col.tone else "") if x)
            raw = col.sort_value(value) if col.sort_value else (None if col.left else _number(value))
            data = f' data-v="{raw!r}"' if raw is not None else ""
            cells.append(f'<td class="{cls}"{data}>{escape(col.text(value))}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    html = (f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(lines)
            + "\n</tbody></table>")
    return f'<div class="scroll">{html}</div>' if scroll else html


def cards(items: Sequence[tuple[str, str, str, str]]) -> str:
    """Headline figures: (title, value, tone class, caption)."""
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="t">{escape(t)}</div><div class="v {cls}">{escape(v)}</div>'
        f'<div class="c">{escape(c)}</div></div>' for t, v, cls, c in items) + "</div>"


def heat_colour(value: float | None, scale: float) -> str:
    """Background for a return cell: green for gains, red for losses, stronger towards `scale`."""
    if value is None or not math.isfinite(value) or scale <= 0:
        return "transparent"
    strength = min(abs(value) / scale, 1.0) * 0.55 + 0.08
    rgb = (30, 158, 143) if value >= 0 else (224, 71, 76)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{strength:.2f})"


def quality_colour(pct: float | None) -> str:
    """Background for a quality cell: white at 100 %, amber below 99.5 %, red towards 90 % and under."""
    if pct is None or not math.isfinite(pct):
        return "#f1f2f4"
    if pct >= 99.999:
        return "rgba(30,158,143,0.10)"
    if pct >= 99.5:
        return "rgba(240,185,11,0.22)"
    strength = min((99.5 - pct) / 9.5, 1.0) * 0.5 + 0.2
    return f"rgba(224,71,76,{strength:.2f})"
