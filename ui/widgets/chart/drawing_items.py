"""Graphics items of the drawings, in price-pane PIXEL coordinates (children of the pane's ViewBox).

Each item maps its drawing's (time, price) points to pixels through its `DrawingGeometry` and is laid
out again whenever the view moves, so hit tests and handles work in pixels. Mouse handling follows
pyqtgraph's protocol (hoverEvent / mouseClickEvent / mouseDragEvent): a click selects, a drag on the
body moves the whole drawing (by bars and price), a drag on a handle moves that point; the change is
handed to the geometry's owner when the drag ends. UI thread only.
"""

from __future__ import annotations

import math
from typing import Protocol

from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.chart.drawing_model import Drawing, DrawingKind
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor

HANDLE_RADIUS = 4.5
HIT_WIDTH = 10.0
Z_DRAWINGS = 1e4
NOTE_PADDING = 5.0


class DrawingGeometry(Protocol):
    """What an item needs from its layer: point mapping, the pane's size, and where changes go."""

    vb: QtWidgets.QGraphicsItem

    def to_pixel(self, ts: int, price: float) -> QtCore.QPointF: ...

    def shifted(self, drawing: Drawing, k: int | None, start: QtCore.QPointF, now: QtCore.QPointF) -> Drawing: ...

    def pane_width(self) -> float: ...

    def tool_armed(self) -> bool: ...

    def item_clicked(self, item: DrawingItem, ev) -> None: ...

    def item_dragged(self, item: DrawingItem, drawing: Drawing, finished: bool) -> None: ...


class DrawingItem(QtWidgets.QGraphicsObject):
    """Base of the drawing items: selection, hover, handles and dragging."""

    def __init__(self, drawing: Drawing, geometry: DrawingGeometry, theme: ChartTheme):
        super().__init__(geometry.vb)
        self.drawing = drawing
        self._geo = geometry
        self._theme = theme
        self.selected = False
        self.hovered = False
        self.interactive = True  # False for the preview of a drawing being made: the mouse passes through
        self._pixels: list[QtCore.QPointF] = []
        self._shape = QtGui.QPainterPath()
        self._bounds = QtCore.QRectF()
        self._drag: tuple[Drawing, int | None] | None = None
        self.setZValue(Z_DRAWINGS)
        self.relayout()

    # geometry -----------------------------------------------------------------------------------
    def set_drawing(self, drawing: Drawing) -> None:
        self.drawing = drawing
        self.relayout()

    def relayout(self) -> None:
        """Map the points to pixels again (the view moved or the bars changed)."""
        self.prepareGeometryChange()
        self._pixels = [self._geo.to_pixel(t, p) for t, p in self.drawing.points]
        body = self._body_path()
        stroker = QtGui.QPainterPathStroker()
        stroker.setWidth(HIT_WIDTH)
        shape = stroker.createStroke(body) if self._stroke_hit() else QtGui.QPainterPath(body)
        for h in self.handle_points():
            shape.addEllipse(h, HANDLE_RADIUS + 3, HANDLE_RADIUS + 3)
        self._shape = shape
        r = shape.boundingRect()
        self._bounds = r.adjusted(-3, -3, 3, 3) if r.isValid() else QtCore.QRectF()
        self.update()

    def _body_path(self) -> QtGui.QPainterPath:
        raise NotImplementedError

    def _stroke_hit(self) -> bool:
        """True when the body is hit along its outline (lines), False for filled bodies (notes)."""
        return True

    def handle_points(self) -> list[QtCore.QPointF]:
        """Pixel positions of the points a drag can move one by one."""
        return list(self._pixels)

    def handle_at(self, pos: QtCore.QPointF) -> int | None:
        for k, h in enumerate(self.handle_points()):
            if math.hypot(h.x() - pos.x(), h.y() - pos.y()) <= HANDLE_RADIUS + 3:
                return k
        return None

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def shape(self) -> QtGui.QPainterPath:
        return self._shape

    def pixel_points(self) -> list[QtCore.QPointF]:
        """The drawing's points in pane pixels (for tests and tools)."""
        return list(self._pixels)

    # painting -----------------------------------------------------------------------------------
    def pen(self) -> QtGui.QPen:
        color = qcolor(self._theme.drawing_selected) if self.selected else qcolor(self.drawing.color)
        return cosmetic_pen(color, width=2 if (self.selected or self.hovered) else 1)

    def paint_handles(self, p: QtGui.QPainter) -> None:
        if not (self.selected or self.hovered):
            return
        p.setPen(cosmetic_pen(qcolor(self._theme.drawing_selected if self.selected else self.drawing.color)))
        p.setBrush(QtGui.QBrush(qcolor(self._theme.background)))
        for h in self.handle_points():
            p.drawEllipse(h, HANDLE_RADIUS, HANDLE_RADIUS)

    # pyqtgraph mouse protocol --------------------------------------------------------------------
    def takes_mouse(self) -> bool:
        """Clicks and drags on the drawing are its own unless it is the preview of one being made or a tool
        is armed: then they go to the tool (a trend line's second point on another line placed the point,
        not a selection of that line)."""
        return self.interactive and not self._geo.tool_armed()

    def hoverEvent(self, ev) -> None:
        if not self.takes_mouse():
            if self.hovered:
                self.hovered = False
                self.unsetCursor()
                self.update()
            return
        if ev.isExit() or not self._shape.contains(ev.pos()):
            if self.hovered:
                self.hovered = False
                self.unsetCursor()
                self.update()
            return
        ev.acceptClicks(QtCore.Qt.MouseButton.LeftButton)
        ev.acceptClicks(QtCore.Qt.MouseButton.RightButton)
        ev.acceptDrags(QtCore.Qt.MouseButton.LeftButton)
        on_handle = self.handle_at(ev.pos()) is not None
        self.setCursor(
            QtCore.Qt.CursorShape.SizeAllCursor if on_handle else QtCore.Qt.CursorShape.OpenHandCursor
        )
        if not self.hovered:
            self.hovered = True
            self.update()

    def mouseClickEvent(self, ev) -> None:
        if not self.takes_mouse():
            return
        if ev.button() not in (QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton):
            return
        if not self._shape.contains(ev.pos()):
            return
        ev.accept()
        self._geo.item_clicked(self, ev)

    def mouseDragEvent(self, ev) -> None:
        if not self.takes_mouse() or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        if ev.isStart():
            if not self._shape.contains(ev.buttonDownPos()):
                ev.ignore()
                return
            self._drag = (self.drawing, self.handle_at(ev.buttonDownPos()))
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        origin, handle = self._drag
        moved = self._geo.shifted(origin, handle, ev.buttonDownPos(), ev.pos())
        self.set_drawing(moved)
        finished = ev.isFinish()
        if finished:
            self._drag = None
        self._geo.item_dragged(self, moved, finished)


class HorizontalLineItem(DrawingItem):
    """A horizontal line across the pane at a price (its axis badge is the layer's)."""

    def _body_path(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        if self._pixels:
            y = self._pixels[0].y()
            path.moveTo(0.0, y)
            path.lineTo(self._geo.pane_width(), y)
        return path

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        if not self._pixels:
            return
        y = round(self._pixels[0].y()) + 0.5
        p.setPen(self.pen())
        p.drawLine(QtCore.QLineF(0.0, y, self._geo.pane_width(), y))
        self.paint_handles(p)


class TrendLineItem(DrawingItem):
    """A straight line between two points."""

    def _body_path(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        if len(self._pixels) == 2:
            path.moveTo(self._pixels[0])
            path.lineTo(self._pixels[1])
        return path

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        if len(self._pixels) != 2:
            return
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(self.pen())
        p.drawLine(QtCore.QLineF(self._pixels[0], self._pixels[1]))
        self.paint_handles(p)


class RectangleItem(DrawingItem):
    """A translucent box between two opposite corners; each of the four corners is a handle."""

    def _rect(self) -> QtCore.QRectF:
        a, b = self._pixels
        return QtCore.QRectF(a, b).normalized()

    def _body_path(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        if len(self._pixels) == 2:
            path.addRect(self._rect())
        return path

    def handle_points(self) -> list[QtCore.QPointF]:
        if len(self._pixels) != 2:
            return []
        a, b = self._pixels
        # corner k: 0 = point 0, 2 = point 1, 1 and 3 mix their coordinates
        return [a, QtCore.QPointF(b.x(), a.y()), b, QtCore.QPointF(a.x(), b.y())]

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        if len(self._pixels) != 2:
            return
        fill = qcolor(self.drawing.color, 40 if not self.selected else 60)
        p.setBrush(QtGui.QBrush(fill))
        p.setPen(self.pen())
        p.drawRect(self._rect())
        self.paint_handles(p)


class TextNoteItem(DrawingItem):
    """A text note in a box whose top-left corner is the drawing's point."""

    def __init__(self, drawing: Drawing, geometry: DrawingGeometry, theme: ChartTheme):
        self._font = QtGui.QFont()
        self._font.setPixelSize(theme.font_px + 2)
        self._metrics = QtGui.QFontMetricsF(self._font)
        super().__init__(drawing, geometry, theme)

    def _box(self) -> QtCore.QRectF:
        lines = self.drawing.text.splitlines() or [""]
        width = max(self._metrics.horizontalAdvance(line) for line in lines)
        height = self._metrics.height() * len(lines)
        a = self._pixels[0]
        return QtCore.QRectF(a.x(), a.y(), width + 2 * NOTE_PADDING, height + 2 * NOTE_PADDING)

    def _body_path(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        if self._pixels:
            path.addRect(self._box())
        return path

    def _stroke_hit(self) -> bool:
        return False

    def handle_points(self) -> list[QtCore.QPointF]:
        return []

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        if not self._pixels:
            return
        box = self._box()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setBrush(QtGui.QBrush(qcolor(self._theme.background, 215)))
        p.setPen(self.pen())
        p.drawRoundedRect(box, 3, 3)
        p.setFont(self._font)
        p.setPen(qcolor(self._theme.text_bright))
        p.drawText(
            box.adjusted(NOTE_PADDING, NOTE_PADDING, -NOTE_PADDING, -NOTE_PADDING),
            int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop),
            self.drawing.text,
        )


ITEM_CLASSES: dict[DrawingKind, type[DrawingItem]] = {
    DrawingKind.HORIZONTAL_LINE: HorizontalLineItem,
    DrawingKind.TREND_LINE: TrendLineItem,
    DrawingKind.RECTANGLE: RectangleItem,
    DrawingKind.TEXT_NOTE: TextNoteItem,
}
