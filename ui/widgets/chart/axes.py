"""Axes painted directly with cached text layouts and value badges: the right value axis of a pane and
the bottom time axis over bar indices (exchange-zone labels). Shared by the chart and the results view.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from ui.widgets.chart.decorations import StaticTexts
from ui.widgets.chart.formatting import (
    MONTHS,
    NS_PER_DAY,
    NS_PER_MINUTE,
    WEEKDAYS,
    fmt_date_md,
    fmt_time_hm,
    fmt_volume,
    local_parts,
    nice_step,
    step_decimals,
)
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor

_MINUTE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720)


BADGE_ON_TOP = ("last", "cross")
"""Badges painted over the others, the last of them on top (`_badges_in_paint_order`). On a value axis
they keep their place; the other badges move aside from them and from each other (`badge_rects`)."""


class LeanAxis(pg.AxisItem):
    """AxisItem painting one tick level directly, with cached text layouts and value badges.

    pyqtgraph's default axis re-measures every label with QPainter.boundingRect, rebuilds a QPicture
    and updates its label HTML on every range change, which costs milliseconds per frame.
    """

    TICK = 4
    GAP = 4

    def __init__(self, orientation: str, theme: ChartTheme):
        super().__init__(orientation, pen=cosmetic_pen(qcolor(theme.axis_line)), textPen=qcolor(theme.text))
        self._theme = theme
        font = QtGui.QFont()
        font.setPixelSize(theme.font_px)
        self._font = font
        self._fm = QtGui.QFontMetricsF(font)
        self._widths: dict[str, float] = {}
        self._texts = StaticTexts(font)
        self.enableAutoSIPrefix(False)
        self.setStyle(
            tickFont=font, tickLength=self.TICK, autoExpandTextSpace=False, hideOverlappingLabels=True
        )
        self._line_pen = cosmetic_pen(qcolor(theme.axis_line))
        self._text_color = qcolor(theme.text)
        self._badges: dict[str, tuple[float, str, QtGui.QColor, QtGui.QColor]] = {}
        self.separator = False
        self._sep_pen = cosmetic_pen(qcolor(theme.separator))
        self._bounds = QtCore.QRectF()
        self.geometryChanged.connect(self._geometry_changed)

    def _geometry_changed(self) -> None:
        self._bounds = self.mapRectFromParent(self.geometry())

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def linkedViewChanged(self, view, newRange=None) -> None:
        if newRange is None:
            newRange = view.viewRange()[1 if self.orientation in ("left", "right") else 0]
        if list(newRange) != self.range:
            self.range = [float(newRange[0]), float(newRange[1])]
            self.update()

    def setRange(self, mn: float, mx: float) -> None:
        self.range = [float(mn), float(mx)]
        self.update()

    def text_width(self, s: str) -> float:
        """Pixel width of a label (cached)."""
        w = self._widths.get(s)
        if w is None:
            if len(self._widths) > 4096:
                self._widths.clear()
            w = self._widths[s] = self._fm.horizontalAdvance(s)
        return w

    def invalidate(self) -> None:
        """Repaint ticks and labels."""
        self.update()

    def set_badge(
        self,
        name: str,
        value: float | None,
        text: str = "",
        bg: QtGui.QColor | None = None,
        fg: QtGui.QColor | None = None,
    ) -> None:
        """Show (or remove with None) a filled label at ``value`` on the axis."""
        if value is None:
            if self._badges.pop(name, None) is not None:
                self.update()
            return
        badge = (value, text, bg or qcolor(self._theme.badge), fg or QtGui.QColor("#ffffff"))
        if self._badges.get(name) != badge:
            self._badges[name] = badge
            self.update()

    def _badges_in_paint_order(self) -> list[tuple[str, tuple[float, str, QtGui.QColor, QtGui.QColor]]]:
        """(name, badge) from the bottom of the pile to the top: order, position and drawing badges first
        (in the order they came), then the last price, then the crosshair's."""
        top = {name: BADGE_ON_TOP.index(name) for name in BADGE_ON_TOP if name in self._badges}
        if not top:
            return list(self._badges.items())
        return sorted(self._badges.items(), key=lambda item: top.get(item[0], -1))

    def badge_rects(self, bounds: QtCore.QRectF | None = None) -> dict[str, QtCore.QRectF]:
        """Where each badge on screen is painted (badges outside the axis are left out).

        On a value axis two badges a few cents apart would cover each other: the last price (the one a
        trader must always read) and the crosshair's (where the mouse is) keep their place, and every
        other badge (orders, the position, drawings) moves aside as little as it takes, keeping the order
        of the values (below the last price downwards, above it upwards), with a notch at its own value.
        The crosshair's covers the others while the mouse is there rather than pushing them around as it
        moves."""
        bounds = self._bounds if bounds is None else bounds
        vertical = self.orientation in ("left", "right")
        hb = self._fm.height() + 4
        rects: dict[str, QtCore.QRectF] = {}
        movable: list[tuple[float, str]] = []
        for name, (value, text, _bg, _fg) in self._badges_in_paint_order():
            pos = self._to_pixel(bounds, value)
            if vertical:
                if pos < bounds.top() - hb / 2 or pos > bounds.bottom() + hb / 2:
                    continue
                top = min(max(pos - hb / 2, bounds.top()), bounds.bottom() - hb)
                rects[name] = QtCore.QRectF(bounds.left() + 1, top, bounds.width() - 1, hb)
                if name not in BADGE_ON_TOP:
                    movable.append((pos, name))
            else:
                if pos < bounds.left() or pos > bounds.right():
                    continue
                w = self.text_width(text) + 10
                left = min(max(pos - w / 2, bounds.left()), bounds.right() - w)
                rects[name] = QtCore.QRectF(left, bounds.top() + 1, w, hb)
        if movable:
            _stack_aside(rects, movable, rects.get("last"), hb, bounds.top(), bounds.bottom())
        return rects

    def badge_text(self, name: str) -> str | None:
        """Text of a badge, or None."""
        b = self._badges.get(name)
        return None if b is None else b[1]

    def ticks_and_labels(self, length_px: float) -> tuple[list[float], list[str]]:
        raise NotImplementedError

    def _to_pixel(self, bounds: QtCore.QRectF, v: float) -> float:
        lo, hi = self.range
        span = hi - lo if hi != lo else 1.0
        if self.orientation in ("left", "right"):
            return bounds.bottom() - (v - lo) / span * bounds.height()
        return bounds.left() + (v - lo) / span * bounds.width()

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        bounds = self._bounds
        vertical = self.orientation in ("left", "right")
        length = bounds.height() if vertical else bounds.width()
        if length <= 0:
            return
        values, labels = self.ticks_and_labels(length)
        h = self._fm.height()
        hb = h + 4
        rects = self.badge_rects(bounds) if self._badges else {}
        covered = [r.center().y() if vertical else r.center().x() for r in rects.values()]
        ticks: list[QtCore.QLineF] = []
        p.setFont(self._font)
        p.setPen(self._text_color)
        if vertical:
            ticks.append(
                QtCore.QLineF(bounds.left() + 0.5, bounds.top(), bounds.left() + 0.5, bounds.bottom())
            )
            x_text = bounds.left() + self.TICK + self.GAP
            for v, s in zip(values, labels, strict=True):
                y = self._to_pixel(bounds, v)
                if y < bounds.top() - 0.5 or y > bounds.bottom() + 0.5:
                    continue
                ticks.append(QtCore.QLineF(bounds.left(), y, bounds.left() + self.TICK, y))
                if any(abs(y - c) < (h + hb) / 2 for c in covered):
                    continue
                if y - h / 2 >= bounds.top() and y + h / 2 <= bounds.bottom():
                    p.drawStaticText(QtCore.QPointF(x_text, y - h / 2), self._texts.get(s))
        else:
            ticks.append(QtCore.QLineF(bounds.left(), bounds.top() + 0.5, bounds.right(), bounds.top() + 0.5))
            last_end = -math.inf
            y_text = bounds.top() + self.TICK + self.GAP - 1
            for v, s in zip(values, labels, strict=True):
                x = self._to_pixel(bounds, v)
                if x < bounds.left() - 0.5 or x > bounds.right() + 0.5:
                    continue
                ticks.append(QtCore.QLineF(x, bounds.top(), x, bounds.top() + self.TICK))
                w = self.text_width(s)
                left = x - w / 2
                if left < bounds.left() + 1 or left + w > bounds.right() - 1 or left < last_end + 8:
                    continue
                last_end = left + w
                p.drawStaticText(QtCore.QPointF(left, y_text), self._texts.get(s))
        p.setPen(self._line_pen)
        p.drawLines(ticks)
        if self.separator:
            p.setPen(self._sep_pen)
            p.drawLine(QtCore.QLineF(bounds.left(), bounds.top() + 0.5, bounds.right(), bounds.top() + 0.5))
        if not self._badges:
            return
        notches = []
        for name, (value, text, bg, fg) in self._badges_in_paint_order():
            rect = rects.get(name)
            if rect is None:
                continue
            p.fillRect(rect, bg)
            if vertical:
                pos = self._to_pixel(bounds, value)
                if not rect.top() <= pos <= rect.bottom():      # moved aside: a notch at its own value
                    notches.append((QtCore.QRectF(bounds.left() + 1, pos - 1.5, self.TICK + 2, 3), bg))
            p.setPen(fg)
            tw = self.text_width(text)
            p.drawStaticText(
                QtCore.QPointF(rect.center().x() - tw / 2, rect.center().y() - h / 2), self._texts.get(text)
            )
        for rect, bg in notches:                                # over the badges: one may sit on the last price's
            p.fillRect(rect, bg)


def _stack_aside(rects: dict[str, QtCore.QRectF], movable: list[tuple[float, str]], fixed: QtCore.QRectF | None,
                 height: float, top_edge: float, bottom_edge: float) -> None:
    """Move the `movable` badges' rects (pixel position, name) apart in their order on the axis: those at
    or below the `fixed` badge's value go down from under it, those above it go up from over it (all
    down from the top without one), each as little as it takes; a pile that would leave the axis is
    pushed back inside from its far end."""
    split = fixed.center().y() if fixed is not None else -math.inf
    below = sorted((p, n) for p, n in movable if p >= split)
    above = sorted(((p, n) for p, n in movable if p < split), reverse=True)
    floor = fixed.bottom() if fixed is not None else -math.inf
    for _p, name in below:
        rect = rects[name]
        rect.moveTop(max(rect.top(), floor))
        floor = rect.bottom()
    ceiling = bottom_edge
    for _p, name in reversed(below):
        rect = rects[name]
        rect.moveTop(min(rect.top(), ceiling - height))
        ceiling = rect.top()
    ceiling = fixed.top() if fixed is not None else math.inf
    for _p, name in above:
        rect = rects[name]
        rect.moveTop(min(rect.top(), ceiling - height))
        ceiling = rect.top()
    floor = top_edge
    for _p, name in reversed(above):
        rect = rects[name]
        rect.moveTop(max(rect.top(), floor))
        floor = rect.bottom()


class ValueAxisItem(LeanAxis):
    """Right-hand value axis with 'nice' steps; prices in fixed decimals or volumes as K/M.

    With a log `scale` (price axes only) the pane's y is log10(price): ticks are still nice prices,
    placed at their logarithm and thinned where they would crowd."""

    def __init__(
        self,
        theme: ChartTheme,
        kind: str = "price",
        min_spacing_px: float = 46.0,
        scale: PriceScale | None = None,
    ):
        super().__init__("right", theme)
        self.kind = kind
        self.decimals = 2
        self.fixed_ticks: tuple[float, ...] | None = None
        self.scale = scale
        self._min_spacing_px = min_spacing_px
        self._memo_key: tuple | None = None
        self._memo: tuple[list[float], list[str]] = ([], [])

    def tick_values_now(self) -> list[float]:
        """Tick values for the current range and height (used by the grid)."""
        return self.ticks_and_labels(self.mapRectFromParent(self.geometry()).height())[0]

    def ticks_and_labels(self, length_px: float) -> tuple[list[float], list[str]]:
        lo, hi = self.range
        log = self.scale is not None and self.scale.log
        key = (lo, hi, length_px, self.decimals, self.kind, self.fixed_ticks, log)
        if key == self._memo_key:
            return self._memo
        if log and hi > lo and length_px > 0:
            self._memo = self._log_ticks(lo, hi, length_px)
            self._memo_key = key
            return self._memo
        values: list[float] = []
        step = 1.0
        if self.fixed_ticks is not None:
            values = [v for v in self.fixed_ticks if lo <= v <= hi]
        elif hi > lo and length_px > 0:
            step = nice_step((hi - lo) * self._min_spacing_px / length_px)
            first = math.ceil(lo / step - 1e-9)
            last = math.floor(hi / step + 1e-9)
            values = [i * step for i in range(first, last + 1)][:200]
            if self.kind == "volume":
                values = [v for v in values if v > 0]
        self._memo = (values, [self.format_value(v, step) for v in values])
        self._memo_key = key
        return self._memo

    def _log_ticks(self, lo: float, hi: float, length_px: float) -> tuple[list[float], list[str]]:
        p_lo, p_hi = 10.0**lo, 10.0**hi
        px_per_unit = length_px / (hi - lo)
        # the densest part of a log axis is its top: pick the step that keeps labels apart there
        step = nice_step(p_hi * (1 - 10.0 ** (-self._min_spacing_px / px_per_unit)))
        first = math.ceil(p_lo / step - 1e-9)
        last = math.floor(p_hi / step + 1e-9)
        values, labels = [], []
        last_px = -math.inf
        for i in range(max(first, 1), last + 1)[:400]:
            price = i * step
            y = math.log10(price)
            px = (y - lo) * px_per_unit
            if px - last_px < self._min_spacing_px * 0.8:
                continue
            last_px = px
            values.append(y)
            labels.append(f"{price:.{self.decimals}f}")
        return values, labels

    def format_value(self, v: float, step: float | None = None) -> str:
        """Label text of a value on this axis."""
        if self.kind == "volume":
            return fmt_volume(v)
        if self.kind == "price":
            return f"{v:.{self.decimals}f}"
        return f"{v:.{2 if step is None else step_decimals(step)}f}"

    def tickStrings(self, values, scale, spacing):
        return [self.format_value(v, spacing) for v in values]

    def tickValues(self, minVal, maxVal, size):
        values, _ = self.ticks_and_labels(size)
        return [(0.0, values)]


class TimeAxisItem(LeanAxis):
    """Bottom axis over bar indices labelled with exchange-zone times ('09:45') and dates ('Nov 29').

    Label density adapts to the zoom: minute steps of 1..720 are chosen so that labels stay at least
    ``min_label_px`` apart; day, month and year changes take priority over times of day.
    """

    def __init__(
        self,
        theme: ChartTheme,
        times: Callable[[], tuple[np.ndarray, int]],
        min_label_px: float = 78.0,
        weekday_dates: bool = False,
    ):
        super().__init__("bottom", theme)
        self._times = times
        self.min_label_px = min_label_px
        self.weekday_dates = weekday_dates  # day changes as 'Mon Nov 25' instead of 'Nov 25'
        self.bar_minutes = 1.0
        self._memo_key: tuple | None = None
        self._memo: tuple[list[float], list[str]] = ([], [])
        self._labels: dict[int, str] = {}
        self.setHeight(int(self._fm.height() + self.TICK + 2 * self.GAP + 2))

    def reset_cache(self) -> None:
        """Forget memoised ticks (bars replaced or appended)."""
        self._memo_key = None
        self.invalidate()

    def tick_values_now(self) -> list[float]:
        """Tick positions (bar indices) for the current range and width."""
        return self.ticks_and_labels(self.mapRectFromParent(self.geometry()).width())[0]

    def label_for_index(self, index: int) -> str:
        """Time-of-day label of a bar index ('' when out of range)."""
        local, n = self._times()
        if 0 <= index < n:
            return fmt_time_hm(int(local[index]))
        return ""

    def tickValues(self, minVal, maxVal, size):
        values, _ = self._compute(minVal, maxVal, size)
        return [(1.0, values)]

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            i = int(round(v))
            s = self._labels.get(i)
            out.append(s if s is not None else self.label_for_index(i))
        return out

    def ticks_and_labels(self, length_px: float) -> tuple[list[float], list[str]]:
        lo, hi = self.range
        return self._compute(lo, hi, length_px)

    def _tick_label(self, local_ns: int, kind: int, daily: bool) -> str:
        """'09:45' inside a day; 'Nov 29' at a day change; 'Dec' / '2025' at month / year changes when zoomed out."""
        if kind == 0:
            return fmt_time_hm(local_ns)
        if daily and kind == 3:
            return str(local_parts(local_ns).year)
        if daily and kind == 2:
            return MONTHS[local_parts(local_ns).month - 1]
        if self.weekday_dates:
            d = local_parts(local_ns)
            return f"{WEEKDAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day:02d}"
        return fmt_date_md(local_ns)

    def _compute(self, lo: float, hi: float, length_px: float) -> tuple[list[float], list[str]]:
        local, n = self._times()
        key = (lo, hi, length_px, n, int(local[n - 1]) if n else 0)
        if key == self._memo_key:
            return self._memo
        self._memo_key = key
        self._memo = ([], [])
        self._labels: dict[int, str] = {}
        if n == 0 or hi <= lo or length_px <= 0:
            return self._memo
        i0 = max(0, int(math.ceil(lo)))
        i1 = min(n - 1, int(math.floor(hi)))
        if i1 < i0:
            return self._memo
        px_per_bar = length_px / (hi - lo)
        min_gap = self.min_label_px / px_per_bar
        seg = local[max(0, i0 - 1) : i1 + 1]
        offset = max(0, i0 - 1)
        minutes = seg // NS_PER_MINUTE
        days = seg // NS_PER_DAY
        first_is_new = i0 == 0
        day_change = np.flatnonzero(days[1:] != days[:-1]) + 1 + offset
        if first_is_new:
            day_change = np.concatenate([[0], day_change])
        target = min_gap * self.bar_minutes
        step = next((s for s in _MINUTE_STEPS if s >= target), None)
        # priority of each day change: 3 new year, 2 new month, 1 new day
        months = local[day_change].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        prev_idx = np.maximum(day_change - 1, 0)
        prev_months = local[prev_idx].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        new_year = (months // 12 != prev_months // 12) | (day_change == 0)
        new_month = months != prev_months
        priority = np.where(new_year, 3, np.where(new_month, 2, 1))
        candidates: list[tuple[int, int]] = list(zip((-priority).tolist(), day_change.tolist(), strict=True))
        kinds = dict(zip(day_change.tolist(), priority.tolist(), strict=True))
        if step is not None:
            buckets = minutes // step
            changes = np.flatnonzero(buckets[1:] != buckets[:-1]) + 1 + offset
            if len(changes) > 4 * length_px:
                changes = changes[:: max(1, len(changes) // int(4 * length_px))]
            candidates += [(0, i) for i in changes.tolist() if i not in kinds]
        candidates.sort()
        kept: list[int] = []
        for _, i in candidates:
            j = bisect.bisect_left(kept, i)
            if j > 0 and i - kept[j - 1] < min_gap:
                continue
            if j < len(kept) and kept[j] - i < min_gap:
                continue
            kept.insert(j, i)
            if len(kept) > 400:
                break
        labels = [self._tick_label(int(local[i]), kinds.get(i, 0), step is None) for i in kept]
        self._labels = dict(zip(kept, labels, strict=True))
        self._memo = ([float(i) for i in kept], labels)
        return self._memo
