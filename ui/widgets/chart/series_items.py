"""Graphics items drawing series over the bars: indicator and close lines, the forming bar, fill markers.

View coordinates: x = bar index, y = the pane's value; items on the price pane map prices through the
chart's PriceScale. UI thread only.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from ui.widgets.chart.bar_store import FormingBar
from ui.widgets.chart.painting import draw_lines, peak_decimate, polyline_segments
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor

CANDLE_HALF_WIDTH = 0.36


class SeriesLineItem(pg.GraphicsObject):
    """A line through one value per bar, clipped to the view and peak-decimated to the pixel width.

    Same idea as PlotDataItem(clipToView=True, autoDownsample=True, skipFiniteCheck) but it reads
    the chart's growing array directly, so an append costs nothing until the next paint.
    """

    def __init__(
        self,
        values: Callable[[], np.ndarray],
        count: Callable[[], int],
        pen: QtGui.QPen,
        scale: PriceScale | None = None,
    ):
        super().__init__()
        self._values = values
        self._count = count
        self._pen = pen
        self._scale = scale
        self._thin_pen = QtGui.QPen(pen)
        self._thin_pen.setWidth(1)
        self._rect = QtCore.QRectF()
        self._key: tuple | None = None
        self._segments = np.zeros((0, 4))

    def data_changed(self) -> None:
        """The series grew or changed: drop the cached segments and grow the bounds if needed."""
        self._key = None
        n = self._count()
        if n == 0:
            return
        v = self._values()[:n]
        last = self._y(float(v[-1]))
        r = self._rect
        if r.isNull() or (math.isfinite(last) and (last < r.top() or last > r.bottom())) or n + 2 > r.right():
            finite = v[np.isfinite(v)]
            lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            lo, hi = self._y(lo), self._y(hi)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                lo, hi = 0.0, 1.0
            span = max(hi - lo, 1e-9)
            self.prepareGeometryChange()
            self._rect = QtCore.QRectF(-2.0, lo - 0.05 * span, max(2.0 * n, 1024.0), span * 1.1)
        self.update()

    def scale_changed(self) -> None:
        """The price scale changed: rebuild bounds and segments."""
        self._rect = QtCore.QRectF()
        self.data_changed()

    def _y(self, value: float) -> float:
        return self._scale.y(value) if self._scale is not None else value

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        n = self._count()
        vb = self.getViewBox()
        if n == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        i0 = max(0, int(math.floor(x0)) - 1)
        i1 = min(n, int(math.ceil(x1)) + 2)
        if i1 - i0 < 2:
            return
        width_px = max(1.0, vb.width())
        k = max(1, math.ceil((i1 - i0) / width_px / 2))
        key = (i0 // k, i1, k, n)
        if key != self._key:
            x, y = peak_decimate(self._values(), i0, i1, k)
            if self._scale is not None:
                y = self._scale.to_view(y)
            self._segments = polyline_segments(x, y)
            self._key = key
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, k == 1)
        p.setPen(self._pen if k == 1 else self._thin_pen)
        draw_lines(p, self._segments)


class FormingItem(pg.GraphicsObject):
    """The forming (partial) bar: a hollow, dashed candle (or volume column), or in line mode a
    dashed segment from the last close to the forming close."""

    def __init__(self, theme: ChartTheme, volume: bool, scale: PriceScale | None = None):
        super().__init__()
        self._theme = theme
        self._volume = volume
        self._scale = scale
        self._bar: FormingBar | None = None
        self._x = 0.0
        self._prev_close: float | None = None
        self._rect = QtCore.QRectF()
        self.line_mode = False

    def _y(self, value: float) -> float:
        return self._scale.y(value) if self._scale is not None else value

    def set_bar(self, x: float, bar: FormingBar | None, prev_close: float | None = None) -> None:
        """Show ``bar`` at index ``x`` (or hide it with None); ``prev_close`` joins it in line mode."""
        if bar is None and self._bar is None:
            return
        self._bar, self._x, self._prev_close = bar, x, prev_close
        self.prepareGeometryChange()
        if bar is None:
            self._rect = QtCore.QRectF()
        elif self._volume:
            self._rect = QtCore.QRectF(x - 0.5, 0.0, 1.0, max(bar.volume, 1e-9))
        else:
            lo, hi = self._y(bar.low), self._y(bar.high)
            if prev_close is not None and self.line_mode:
                lo, hi = min(lo, self._y(prev_close)), max(hi, self._y(prev_close))
            left = x - 1.5 if self.line_mode else x - 0.5
            self._rect = QtCore.QRectF(left, lo, x - left + 0.5, max(hi - lo, 1e-9))
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        h = abs(self._rect.height()) * 0.05
        return self._rect.adjusted(-0.1, -h, 0.1, h)

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        bar = self._bar
        if bar is None:
            return
        up = bar.close >= bar.open
        base = self._theme.up if up else self._theme.down
        t = p.transform()
        if self.line_mode and not self._volume:
            self._paint_line(p, t, bar)
            return
        hw = CANDLE_HALF_WIDTH
        if self._volume:
            body = t.mapRect(QtCore.QRectF(self._x - hw, 0.0, 2 * hw, bar.volume))
            wick = None
        else:
            lo, hi = self._y(min(bar.open, bar.close)), self._y(max(bar.open, bar.close))
            body = t.mapRect(QtCore.QRectF(self._x - hw, lo, 2 * hw, hi - lo))
            wick = (
                t.map(QtCore.QPointF(self._x, self._y(bar.low))),
                t.map(QtCore.QPointF(self._x, self._y(bar.high))),
            )
        p.save()
        p.resetTransform()
        body = QtCore.QRectF(
            round(body.left()), round(body.top()), max(3.0, round(body.width())), max(1.0, round(body.height()))
        )
        if wick is not None:
            xw = body.center().x()
            p.setPen(cosmetic_pen(qcolor(base, 200)))
            p.drawLine(QtCore.QLineF(xw, wick[0].y(), xw, body.bottom()))
            p.drawLine(QtCore.QLineF(xw, body.top(), xw, wick[1].y()))
        p.setBrush(QtGui.QBrush(qcolor(base, 55)))
        p.setPen(cosmetic_pen(qcolor(base), QtCore.Qt.PenStyle.DashLine))
        p.drawRect(body)
        p.restore()

    def _paint_line(self, p: QtGui.QPainter, t: QtGui.QTransform, bar: FormingBar) -> None:
        end = t.map(QtCore.QPointF(self._x, self._y(bar.close)))
        p.save()
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        colour = qcolor(self._theme.line)
        if self._prev_close is not None:
            start = t.map(QtCore.QPointF(self._x - 1, self._y(self._prev_close)))
            p.setPen(cosmetic_pen(colour, QtCore.Qt.PenStyle.DashLine, 2))
            p.drawLine(QtCore.QLineF(start, end))
        p.setPen(cosmetic_pen(colour))
        p.setBrush(QtGui.QBrush(qcolor(self._theme.background)))
        p.drawEllipse(end, 3.0, 3.0)
        p.restore()


class MarkersItem(pg.GraphicsObject):
    """Buy (up, green, tip at the price) and sell (down, red) triangles of fixed pixel size."""

    SIZE = 11.0

    def __init__(self, theme: ChartTheme, scale: PriceScale):
        super().__init__()
        self._scale = scale
        self._fill = (qcolor(theme.buy_marker), qcolor(theme.sell_marker))
        self._outline = QtGui.QPen(qcolor(theme.background))
        self._outline.setCosmetic(True)
        self._x = np.zeros(0)
        self._price = np.zeros(0)
        self._y = np.zeros(0)
        self._buy = np.zeros(0, dtype=bool)
        self._rect = QtCore.QRectF()

    def set_markers(self, x: np.ndarray, price: np.ndarray, buy: np.ndarray) -> None:
        """Replace the markers (x sorted ascending; prices, not pane coordinates)."""
        self._x, self._price, self._buy = x, price, buy
        self.scale_changed()

    def markers(self) -> list[tuple[int, float, str]]:
        """(bar index, price, side) of each marker, in x order."""
        return [
            (int(a), float(b), "buy" if c else "sell")
            for a, b, c in zip(self._x, self._price, self._buy, strict=True)
        ]

    def scale_changed(self) -> None:
        self._y = self._scale.to_view(self._price) if len(self._price) else np.zeros(0)
        self._update_rect()

    def _update_rect(self) -> None:
        self.prepareGeometryChange()
        finite = self._y[np.isfinite(self._y)] if len(self._y) else self._y
        if len(finite) == 0:
            self._rect = QtCore.QRectF()
        else:
            vb = self.getViewBox()
            ph = 1.0
            if vb is not None and vb.height() > 0:
                (_, _), (y0, y1) = vb.viewRange()
                ph = abs(y1 - y0) / vb.height()
            pad = (self.SIZE + 4) * ph
            lo, hi = float(finite.min()) - pad, float(finite.max()) + pad
            self._rect = QtCore.QRectF(
                float(self._x.min()) - 2, lo, float(self._x.max() - self._x.min()) + 4, hi - lo
            )
        self.update()

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        if len(self._x):
            self._update_rect()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        vb = self.getViewBox()
        if len(self._x) == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        a = (
            bisect.bisect_left(self._x.tolist(), x0 - 1)
            if len(self._x) < 64
            else int(np.searchsorted(self._x, x0 - 1))
        )
        b = int(np.searchsorted(self._x, x1 + 1, side="right"))
        if b <= a:
            return
        t = p.transform()
        s = self.SIZE
        p.save()
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._outline)
        for i in range(a, b):
            y = float(self._y[i])
            if not math.isfinite(y):
                continue
            pt = t.map(QtCore.QPointF(float(self._x[i]), y))
            cx, cy = pt.x(), pt.y()
            tip = 1 if self._buy[i] else -1
            tri = QtGui.QPolygonF(
                [
                    QtCore.QPointF(cx, cy + tip),
                    QtCore.QPointF(cx - s / 2, cy + tip * s),
                    QtCore.QPointF(cx + s / 2, cy + tip * s),
                ]
            )
            p.setBrush(self._fill[0] if self._buy[i] else self._fill[1])
            p.drawPolygon(tri)
        p.restore()
