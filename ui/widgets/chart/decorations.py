"""Items of a pane in pixel coordinates (children of a ViewBox, not of its view group): the grid,
price levels and last-price line, crosshair lines, and the text block of title and read-outs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor

if TYPE_CHECKING:
    from ui.widgets.chart.session_shading import SessionShading


class GridItem(QtWidgets.QGraphicsItem):
    """Subtle grid at the axes' tick positions, horizontal levels and a pane separator line."""

    def __init__(
        self,
        vb: pg.ViewBox,
        theme: ChartTheme,
        x_ticks: Callable[[], list[float]],
        y_ticks: Callable[[], list[float]],
    ):
        super().__init__(vb)
        self._vb = vb
        self._x_ticks = x_ticks
        self._y_ticks = y_ticks
        self._pen = cosmetic_pen(qcolor(theme.grid))
        self._sep_pen = cosmetic_pen(qcolor(theme.separator))
        self._level_pen = cosmetic_pen(qcolor(theme.text_dim, 140), QtCore.Qt.PenStyle.DashLine)
        self._band_brush = QtGui.QBrush(qcolor("#7e57c2", 22))
        self.levels: tuple[float, ...] = ()
        self.band: tuple[float, float] | None = None
        self.separator = False
        self.shading: SessionShading | None = None        # pre/post-market bands (extended hours)
        self._shade_brushes = {1: QtGui.QBrush(qcolor(theme.pre_market, theme.extended_hours_alpha)),
                               2: QtGui.QBrush(qcolor(theme.post_market, theme.extended_hours_alpha)),
                               3: QtGui.QBrush(qcolor(theme.closing_window, theme.extended_hours_alpha))}
        self._last_price: float | None = None
        self._last_pen = cosmetic_pen(qcolor(theme.up), QtCore.Qt.PenStyle.DotLine)
        self.setZValue(-1e5)
        self._rect = QtCore.QRectF(vb.rect())
        vb.sigResized.connect(self._resized)

    def _resized(self, *_args) -> None:
        self.prepareGeometryChange()
        self._rect = QtCore.QRectF(self._vb.rect())

    def set_last_price(self, value: float | None, color: QtGui.QColor | None = None) -> None:
        """Dotted horizontal line at the last price (None hides it)."""
        if color is not None and color != self._last_pen.color():
            self._last_pen.setColor(color)
        elif value == self._last_price:
            return
        self._last_price = value
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        r = self._rect
        (x0, x1), (y0, y1) = self._vb.viewRange()
        if x1 <= x0 or y1 <= y0:
            return
        sx = r.width() / (x1 - x0)
        sy = r.height() / (y1 - y0)
        if self.shading is not None and self.shading.enabled:
            for a, b, kind in self.shading.bands(x0, x1):
                left = max(r.left(), (a - x0) * sx + r.left())
                right = min(r.right(), (b - x0) * sx + r.left())
                if right > left:
                    p.fillRect(QtCore.QRectF(left, r.top(), right - left, r.height()), self._shade_brushes[kind])
        if self.band is not None:
            top = r.bottom() - (self.band[1] - y0) * sy
            bot = r.bottom() - (self.band[0] - y0) * sy
            p.fillRect(QtCore.QRectF(r.left(), top, r.width(), bot - top), self._band_brush)
        p.setPen(self._pen)
        lines = [
            QtCore.QLineF(xp, r.top(), xp, r.bottom())
            for xp in ((x - x0) * sx + r.left() for x in self._x_ticks())
        ]
        lines += [
            QtCore.QLineF(r.left(), yp, r.right(), yp)
            for yp in (r.bottom() - (y - y0) * sy for y in self._y_ticks())
        ]
        if lines:
            p.drawLines(lines)
        if self.levels:
            p.setPen(self._level_pen)
            p.drawLines(
                [
                    QtCore.QLineF(r.left(), yp, r.right(), yp)
                    for yp in (r.bottom() - (y - y0) * sy for y in self.levels)
                ]
            )
        if self._last_price is not None:
            yp = round(r.bottom() - (self._last_price - y0) * sy) + 0.5
            p.setPen(self._last_pen)
            p.drawLine(QtCore.QLineF(r.left(), yp, r.right(), yp))
        if self.separator:
            p.setPen(self._sep_pen)
            p.drawLine(QtCore.QLineF(r.left(), r.top(), r.right(), r.top()))


class CrossLine(QtWidgets.QGraphicsItem):
    """One dashed crosshair line (vertical or horizontal) across a pane, with a thin bounding rect."""

    def __init__(self, vb: pg.ViewBox, pen: QtGui.QPen, vertical: bool):
        super().__init__(vb)
        self._vb = vb
        self._pen = pen
        self._vertical = vertical
        self.setZValue(1e5)
        self.hide()

    def boundingRect(self) -> QtCore.QRectF:
        r = self._vb.rect()
        if self._vertical:
            return QtCore.QRectF(-1.0, 0.0, 2.0, r.height())
        return QtCore.QRectF(0.0, -1.0, r.width(), 2.0)

    def place(self, pixel: float) -> None:
        """Move the line to a pane pixel coordinate."""
        if self._vertical:
            self.setPos(round(pixel) + 0.5, 0.0)
        else:
            self.setPos(0.0, round(pixel) + 0.5)
        if not self.isVisible():
            self.show()

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        r = self._vb.rect()
        p.setPen(self._pen)
        if self._vertical:
            p.drawLine(QtCore.QLineF(0.0, 0.0, 0.0, r.height()))
        else:
            p.drawLine(QtCore.QLineF(0.0, 0.0, r.width(), 0.0))


class StaticTexts:
    """Bounded cache of prepared QStaticText per string (text layout is the costly part of drawText)."""

    def __init__(self, font: QtGui.QFont, limit: int = 2048):
        self._font = font
        self._limit = limit
        self._texts: dict[str, QtGui.QStaticText] = {}

    def get(self, s: str) -> QtGui.QStaticText:
        st = self._texts.get(s)
        if st is None:
            if len(self._texts) >= self._limit:
                self._texts.clear()
            st = QtGui.QStaticText(s)
            st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            st.prepare(QtGui.QTransform(), self._font)
            self._texts[s] = st
        return st


class TextBlock(QtWidgets.QGraphicsItem):
    """Lines of coloured text runs at a pane's top-left (title, OHLCV read-out, overlay values)."""

    def __init__(self, vb: pg.ViewBox, theme: ChartTheme):
        super().__init__(vb)
        font = QtGui.QFont()
        font.setPixelSize(theme.font_px + 1)
        title_font = QtGui.QFont(font)
        title_font.setPixelSize(theme.title_font_px)
        title_font.setBold(True)
        self._fonts = (font, title_font)
        self._metrics = (QtGui.QFontMetricsF(font), QtGui.QFontMetricsF(title_font))
        self._texts = (StaticTexts(font), StaticTexts(title_font))
        self._widths: tuple[dict[str, float], dict[str, float]] = ({}, {})
        self._bg = QtGui.QBrush(qcolor(theme.background, 220))   # lines and bars behind the text stay faint
        self._lines: list[tuple[bool, list[tuple[str, QtGui.QColor]]]] = []
        self._layout: list[tuple[int, float, float, list[tuple[float, str, QtGui.QColor]]]] = []
        self._rect = QtCore.QRectF()
        self.setPos(8.0, 6.0)
        self.setZValue(2e5)

    def _width(self, kind: int, s: str) -> float:
        cache = self._widths[kind]
        w = cache.get(s)
        if w is None:
            if len(cache) > 4096:
                cache.clear()
            w = cache[s] = self._metrics[kind].horizontalAdvance(s)
        return w

    def set_lines(self, lines: list[tuple[bool, list[tuple[str, QtGui.QColor]]]]) -> None:
        """Replace the text: each line is (is_title, [(text, colour), ...])."""
        if lines == self._lines:
            return
        self._lines = lines
        layout = []
        width = 0.0
        y = 0.0
        for is_title, runs in lines:
            kind = 1 if is_title else 0
            x = 0.0
            placed = []
            for text, color in runs:
                placed.append((x, text, color))
                x += self._width(kind, text)
            layout.append((kind, y, x, placed))
            width = max(width, x)
            y += self._metrics[kind].height() + 2
        self._layout = layout
        rect = QtCore.QRectF(-3.0, -2.0, width + 6, y + 4)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def plain_text(self) -> str:
        """The text as plain lines (for tests and accessibility)."""
        return "\n".join("".join(t for t, _ in runs) for _, runs in self._lines)

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        for kind, y, line_w, placed in self._layout:
            h = self._metrics[kind].height()
            p.fillRect(QtCore.QRectF(-3.0, y - 1, line_w + 6, h + 2), self._bg)
            p.setFont(self._fonts[kind])
            texts = self._texts[kind]
            for x, text, color in placed:
                p.setPen(color)
                p.drawStaticText(QtCore.QPointF(x, y), texts.get(text))
