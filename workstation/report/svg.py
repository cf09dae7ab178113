"""Inline SVG charts for the HTML reports: line/area charts, bar charts and histograms.

Pure string building (no plotting library, no script, no external resource), so a report opens
offline in any browser and prints as drawn. Every chart has a fixed viewBox and scales to the page
width. Long series are thinned per horizontal pixel keeping each pixel's first, lowest, highest and
last point, so a 100,000-point equity curve draws with its extremes intact in a few thousand points.
Hover tooltips are native SVG <title> elements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

WIDTH = 960
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
AXIS = "#8a8f98"
GRID = "#e6e8ec"
TEXT = "#3c4048"
UP = "#1e9e8f"
DOWN = "#e0474c"
ACCENT = "#2962ff"
# Distinct line colours for several runs on one chart (colour-blind friendly order).
PALETTE = ("#2962ff", "#e8710a", "#1e9e8f", "#c2185b", "#7b1fa2", "#5d4037", "#0097a7", "#827717")

Formatter = Callable[[float], str]


@dataclass
class Series:
    """One line: y values at x positions (x in the chart's own units, e.g. equity-point number)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    colour: str = ACCENT
    width: float = 1.6
    fill_to: float | None = None  # shade between the line and this y value (-inf: the chart's bottom)
    fill_opacity: float = 0.12
    dashed: bool = False


@dataclass
class Axis:
    """Labels of the x axis: (x, text) pairs, and vertical separators (e.g. session starts)."""

    ticks: list[tuple[float, str]] = field(default_factory=list)
    separators: list[float] = field(default_factory=list)


def nice_step(span: float, target: int = 5) -> float:
    """A 1, 2, 2.5 or 5 x 10^k step giving about `target` intervals over `span`."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def nice_ticks(lo: float, hi: float, target: int = 5, outer: bool = False) -> list[float]:
    """Round tick values inside [lo, hi], or (`outer`) from the last tick at or below `lo` to the first
    at or above `hi`."""
    if hi <= lo:
        pad = abs(lo) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    ticks = [round(first + k * step, 10) for k in range(int(round((last - first) / step)) + 1)]
    if not outer:
        ticks = [t for t in ticks if lo - step * 1e-9 <= t <= hi + step * 1e-9]
    return ticks


def thin(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ~4 points per bucket of x: each bucket's first, lowest, highest and last point, in x order."""
    n = len(x)
    if n <= buckets * 4:
        return x, y
    bucket = np.minimum((np.arange(n) * buckets) // n, buckets - 1)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], n] - 1
    lows = np.empty(len(starts), dtype=np.int64)
    highs = np.empty(len(starts), dtype=np.int64)
    for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        seg = y[s : e + 1]
        lows[k] = s + int(np.argmin(seg))
        highs[k] = s + int(np.argmax(seg))
    keep = np.unique(np.concatenate([starts, ends, lows, highs]))
    return x[keep], y[keep]


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if abs(v - round(v)) > 1e-9 else str(int(round(v)))


class _Frame:
    """Maps data coordinates to the SVG plot area."""

    def __init__(self, width: int, height: int, x_lo: float, x_hi: float, y_lo: float, y_hi: float,
                 left: int = 74, right: int = 16, top: int = 14, bottom: int = 28):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.x_lo, self.x_hi = x_lo, (x_hi if x_hi > x_lo else x_lo + 1)
        self.y_lo, self.y_hi = y_lo, (y_hi if y_hi > y_lo else y_lo + 1)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def px(self, x):
        return self.left + (np.asarray(x, dtype=float) - self.x_lo) / (self.x_hi - self.x_lo) * self.plot_w

    def py(self, y):
        return self.top + (self.y_hi - np.asarray(y, dtype=float)) / (self.y_hi - self.y_lo) * self.plot_h


def _open(width: int, height: int, label: str, css_class: str) -> list[str]:
    return [
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(label)}" '
        f'font-family="{escape(FONT)}" font-size="11">',
        f"<title>{escape(label)}</title>",
    ]


def _y_axis(frame: _Frame, ticks: list[float], fmt: Formatter) -> list[str]:
    out = []
    for t in ticks:
        y = float(frame.py(t))
        out.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{frame.left - 6}" y="{y + 3.5:.1f}" text-anchor="end" fill="{AXIS}">'
                   f"{escape(fmt(t))}</text>")
    return out


def _x_axis(frame: _Frame, axis: Axis | None) -> list[str]:
    out = [f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{frame.height - frame.bottom}" '
           f'y2="{frame.height - frame.bottom}" stroke="{AXIS}" stroke-width="1"/>']
    if axis is None:
        return out
    for s in axis.separators:
        x = float(frame.px(s))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{frame.height - frame.bottom}" '
                   f'stroke="{GRID}" stroke-width="1" stroke-dasharray="3 3"/>')
    last_x = -1e9
    for pos, text in axis.ticks:
        x = float(frame.px(pos))
        if x - last_x < 58 or x < frame.left - 1 or x > frame.width - frame.right + 1:
            continue
        last_x = x
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.height - frame.bottom}" '
                   f'y2="{frame.height - frame.bottom + 4}" stroke="{AXIS}"/>')
        anchor = "start" if x - frame.left < 30 else "middle"
        out.append(f'<text x="{x:.1f}" y="{frame.height - frame.bottom + 16}" text-anchor="{anchor}" '
                   f'fill="{AXIS}">{escape(text)}</text>')
    return out


def line_chart(series: Sequence[Series], *, height: int = 260, width: int = WIDTH, axis: Axis | None = None,
               y_format: Formatter = _num, reference: float | None = None, reference_label: str = "",
               label: str = "chart", css_class: str = "line-chart", y_floor: float | None = None,
               y_ceiling: float | None = None) -> str:
    """A chart of one or more lines (optionally shaded to a level), a dashed reference level, and axes."""
    live = [s for s in series if len(s.x)]
    if not live:
        return empty_chart("No data to draw", height=height, width=width, css_class=css_class)
    x_lo = min(float(np.min(s.x)) for s in live)
    x_hi = max(float(np.max(s.x)) for s in live)
    ys = [np.asarray(s.y, dtype=float) for s in live]
    y_lo = min(float(np.nanmin(y)) for y in ys)
    y_hi = max(float(np.nanmax(y)) for y in ys)
    for extra in (reference, *(s.fill_to for s in live)):
        if extra is not None and math.isfinite(extra):
            y_lo, y_hi = min(y_lo, extra), max(y_hi, extra)
    if y_floor is not None:
        y_lo = min(y_lo, y_floor)
    if y_ceiling is not None:
        y_hi = max(y_hi, y_ceiling)
    if y_hi - y_lo < max(abs(y_hi), abs(y_lo), 1e-9) * 1e-6:  # flat: show a small band around it
        pad = max(abs(y_hi) * 0.005, 1e-6)
        y_lo, y_hi = y_lo - pad, y_hi + pad
    ticks = nice_ticks(y_lo, y_hi, outer=True)
    y_lo, y_hi = min(y_lo, ticks[0]), max(y_hi, ticks[-1])
    frame = _Frame(width, height, x_lo, x_hi, y_lo, y_hi)
    out = _open(width, height, label, css_class)
    out += _y_axis(frame, ticks, y_format)
    out += _x_axis(frame, axis)
    if reference is not None:
        y_reference = float(frame.py(reference))
        out.append(f'<line class="reference" x1="{frame.left}" x2="{width - frame.right}" y1="{y_reference:.1f}" '
                   f'y2="{y_reference:.1f}" stroke="{AXIS}" stroke-width="1" stroke-dasharray="5 4"/>')
        if reference_label:
            out.append(f'<text x="{width - frame.right - 4}" y="{y_reference - 4:.1f}" text-anchor="end" fill="{AXIS}">'
                       f"{escape(reference_label)}</text>")
    buckets = int(frame.plot_w)
    for s in live:
        x, y = thin(np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float), buckets)
        px, py = frame.px(x), frame.py(y)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px.tolist(), py.tolist(), strict=True))
        if s.fill_to is not None:
            base = float(frame.py(max(s.fill_to, frame.y_lo)))
            out.append(f'<path d="M{px[0]:.1f},{base:.1f} L{points} L{px[-1]:.1f},{base:.1f} Z" '
                       f'fill="{s.colour}" fill-opacity="{s.fill_opacity}" stroke="none"/>')
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(f'<polyline class="series" points="{points}" fill="none" stroke="{s.colour}" '
                   f'stroke-width="{s.width}" stroke-linejoin="round"{dash}><title>{escape(s.name)}</title>'
                   f"</polyline>")
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(values: Sequence[float] | np.ndarray, labels: Sequence[str], *, height: int = 220, width: int = WIDTH,
              y_format: Formatter = _num, tooltips: Sequence[str] | None = None, label: str = "bars",
              css_class: str = "bar-chart", colours: Sequence[str] | None = None,
              tick_every: int | None = None) -> str:
    """Vertical bars from 0 (up colour above, down colour below unless `colours` is given)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return empty_chart("No data to draw", height=height, width=width, css_class=css_class)
    finite = v[np.isfinite(v)]
    lo, hi = min(0.0, float(finite.min(initial=0.0))), max(0.0, float(finite.max(initial=0.0)))
    ticks = nice_ticks(lo, hi, outer=True)
    frame = _Frame(width, height, 0, len(v), min(lo, ticks[0]), max(hi, ticks[-1]))
    out = _open(width, height, label, css_class)
    out += _y_axis(frame, ticks, y_format)
    slot = frame.plot_w / len(v)
    gap = max(slot - 56.0, min(slot * 0.2, 6.0)) if slot > 2 else 0.0  # bars at most 56 px wide
    zero = float(frame.py(0.0))
    every = tick_every or max(1, math.ceil(len(v) / max(1, int(frame.plot_w // 70))))
    for i, val in enumerate(v.tolist()):
        if not math.isfinite(val):
            continue
        x = frame.left + i * slot + gap / 2
        y = float(frame.py(val))
        top, h = (y, zero - y) if val >= 0 else (zero, y - zero)
        colour = colours[i] if colours is not None else (UP if val >= 0 else DOWN)
        tip = tooltips[i] if tooltips is not None else f"{labels[i]}: {y_format(val)}"
        out.append(f'<rect x="{x:.2f}" y="{top:.1f}" width="{max(slot - gap, 0.8):.2f}" '
                   f'height="{max(h, 0.8):.1f}" fill="{colour}"><title>{escape(tip)}</title></rect>')
    out.append(f'<line x1="{frame.left}" x2="{width - frame.right}" y1="{zero:.1f}" y2="{zero:.1f}" '
               f'stroke="{AXIS}" stroke-width="1"/>')
    base = height - frame.bottom
    for i in range(0, len(v), every):
        x = frame.left + (i + 0.5) * slot
        out.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="{AXIS}">'
                   f"{escape(labels[i])}</text>")
    out.append("</svg>")
    return "\n".join(out)


def empty_chart(message: str, *, height: int = 120, width: int = WIDTH, css_class: str = "empty-chart") -> str:
    out = _open(width, height, message, css_class)
    out.append(f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" stroke="{GRID}" '
               f'rx="6"/><text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" fill="{AXIS}" '
               f'font-size="13">{escape(message)}</text></svg>')
    return "\n".join(out)


def legend(items: Sequence[tuple[str, str]]) -> str:
    """An HTML legend: (colour, text) swatches."""
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{c}"></i>{escape(t)}</span>' for c, t in items) + "</div>"
