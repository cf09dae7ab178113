"""The drawing layer of a chart: the drawing tools, selection, moving and deleting drawings, and their
link to the config's DrawingBook (what is drawn on a symbol shows on every chart of that symbol).

Tools: horizontal line (one click), trend line and rectangle (click, move, click; or press, drag,
release), text note (click, then type the text). After a drawing is made the tool returns to the
pointer and the new drawing is selected. Esc cancels a tool (or clears the selection); Delete removes
the selected drawing. Points are kept as (time, price), mapped through the chart's TimeMap and
PriceScale. UI thread only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from PySide6 import QtCore, QtWidgets

from ui.widgets.chart.bar_store import TimeMap
from ui.widgets.chart.drawing_items import ITEM_CLASSES, DrawingItem
from ui.widgets.chart.drawing_model import Drawing, DrawingBook, DrawingKind
from ui.widgets.chart.note_dialog import ask_note_text
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.theme import ChartTheme, qcolor

MIN_DRAG_PX = 4.0


class DrawingLayer(QtCore.QObject):
    """Drawings of the chart's symbol on its price pane, and the tools that make and edit them."""

    tool_changed = QtCore.Signal(object)  # DrawingKind or None (pointer)
    selection_changed = QtCore.Signal(object)  # the selected drawing's id or None
    context_menu_requested = QtCore.Signal(QtCore.QPoint, object)  # screen position, the drawing's id

    def __init__(
        self,
        price: Pane,
        time_map: TimeMap,
        scale: PriceScale,
        theme: ChartTheme,
        price_text: Callable[[float], str],
        dialog_parent: QtWidgets.QWidget | None = None,
    ):
        super().__init__(dialog_parent)
        self._pane = price
        self.vb = price.vb
        self._time_map = time_map
        self._scale = scale
        self._theme = theme
        self._price_text = price_text
        self._dialog_parent = dialog_parent
        self.ask_text: Callable[[str], str | None] = lambda initial: ask_note_text(self._dialog_parent, initial)
        self.book = DrawingBook()
        self.book.changed.connect(self._on_book_changed)
        self.symbol = ""
        self._items: dict[str, DrawingItem] = {}
        self._tool: DrawingKind | None = None
        self._selected: str | None = None
        self._pending: list[tuple[int, float]] = []  # first point of a two-point drawing being made
        self._preview: DrawingItem | None = None

    # book and symbol ----------------------------------------------------------------------------
    def set_book(self, book: DrawingBook) -> None:
        """Show (and edit) the drawings of this book."""
        if book is self.book:
            return
        self.book.changed.disconnect(self._on_book_changed)
        self.book = book
        book.changed.connect(self._on_book_changed)
        self._rebuild()

    def set_symbol(self, symbol: str) -> None:
        if symbol != self.symbol:
            self.symbol = symbol
            self.cancel()
            self._selected = None
            self._rebuild()

    def _on_book_changed(self, symbol: str) -> None:
        if symbol == self.symbol:
            self._rebuild()

    def _rebuild(self) -> None:
        wanted = {d.id: d for d in self.book.drawings(self.symbol)} if self.symbol else {}
        for drawing_id in [k for k in self._items if k not in wanted]:
            self._drop_item(self._items.pop(drawing_id))
        for drawing_id, drawing in wanted.items():
            item = self._items.get(drawing_id)
            if item is None or item.drawing.kind is not drawing.kind:
                if item is not None:
                    self._drop_item(item)
                self._items[drawing_id] = self._make_item(drawing)
            elif item.drawing != drawing:
                item.set_drawing(drawing)
        if self._selected not in self._items:
            self._set_selected(None)
        self._apply_selection()
        self._update_badges()

    def _make_item(self, drawing: Drawing) -> DrawingItem:
        return ITEM_CLASSES[drawing.kind](drawing, self, self._theme)

    def _make_preview(self, kind: DrawingKind, a: tuple[int, float], b: tuple[int, float]) -> DrawingItem:
        item = self._make_item(Drawing("preview", kind, (a, b)))
        item.interactive = False
        item.selected = True
        return item

    def _drop_item(self, item: DrawingItem) -> None:
        self._pane.axis.set_badge(f"drawing:{item.drawing.id}", None)
        item.setParentItem(None)
        if item.scene() is not None:
            item.scene().removeItem(item)

    # public state -------------------------------------------------------------------------------
    @property
    def tool(self) -> DrawingKind | None:
        return self._tool

    @property
    def selected_id(self) -> str | None:
        return self._selected

    def items(self) -> list[DrawingItem]:
        """The items of the shown drawings, oldest first."""
        return list(self._items.values())

    def item(self, drawing_id: str) -> DrawingItem:
        return self._items[drawing_id]

    def drawings(self) -> list[Drawing]:
        return self.book.drawings(self.symbol)

    def arm(self, kind: DrawingKind | None) -> None:
        """Choose a drawing tool (None: back to the pointer)."""
        self._clear_pending()
        if kind != self._tool:
            self._tool = kind
            self.vb.setCursor(QtCore.Qt.CursorShape.CrossCursor if kind else QtCore.Qt.CursorShape.ArrowCursor)
            self.tool_changed.emit(kind)

    def cancel(self) -> bool:
        """Esc: drop a drawing being made and the tool, else the selection. True when something changed."""
        if self._tool is not None or self._pending:
            self.arm(None)
            return True
        if self._selected is not None:
            self.select(None)
            return True
        return False

    def select(self, drawing_id: str | None) -> None:
        self._set_selected(drawing_id if drawing_id in self._items else None)
        self._apply_selection()

    def _set_selected(self, drawing_id: str | None) -> None:
        if drawing_id != self._selected:
            self._selected = drawing_id
            self.selection_changed.emit(drawing_id)

    def _apply_selection(self) -> None:
        for drawing_id, item in self._items.items():
            selected = drawing_id == self._selected
            if item.selected != selected:
                item.selected = selected
                item.relayout()

    def delete_selected(self) -> bool:
        """Remove the selected drawing. True when one was removed."""
        if self._selected is None:
            return False
        self.book.remove(self.symbol, self._selected)
        return True

    def remove_all(self) -> None:
        """Remove every drawing of the shown symbol."""
        self.book.clear(self.symbol)

    def edit_text(self, drawing_id: str) -> None:
        drawing = self.book.get(self.symbol, drawing_id)
        if drawing is None or drawing.kind is not DrawingKind.TEXT_NOTE:
            return
        text = self.ask_text(drawing.text)
        if text is not None and text != drawing.text:
            self.book.update(self.symbol, replace(drawing, text=text))

    def set_color(self, drawing_id: str, color: str) -> None:
        """Recolour a drawing (kept in the book, so saved and shown on every chart of the symbol)."""
        drawing = self.book.get(self.symbol, drawing_id)
        if drawing is not None and drawing.color != color:
            self.book.update(self.symbol, replace(drawing, color=color))

    # geometry (DrawingGeometry) -------------------------------------------------------------------
    def to_view(self, ts: int, price: float) -> tuple[float, float]:
        return self._time_map.x_of(ts), self._scale.y(price)

    def from_view(self, x: float, y: float) -> tuple[int, float]:
        return self._time_map.time_of(x), self._scale.price(y)

    def to_pixel(self, ts: int, price: float) -> QtCore.QPointF:
        x, y = self.to_view(ts, price)
        if not math.isfinite(y):
            y = 0.0
        return self.vb.mapFromView(QtCore.QPointF(x, y))

    def from_pixel(self, pos: QtCore.QPointF) -> tuple[int, float]:
        pt = self.vb.mapToView(pos)
        return self.from_view(pt.x(), pt.y())

    def pane_width(self) -> float:
        return float(self.vb.width())

    def tool_armed(self) -> bool:
        return self._tool is not None

    def shifted(self, drawing: Drawing, k: int | None, start: QtCore.QPointF, now: QtCore.QPointF) -> Drawing:
        """``drawing`` after a drag from pixel ``start`` to ``now``: the whole drawing (k None) moves by
        the same number of bars and the same distance on the price scale; else handle k moves there
        (a rectangle's corners 1 and 3 mix the coordinates of its two points)."""
        a, b = self.vb.mapToView(start), self.vb.mapToView(now)
        if k is None:
            dx, dy = b.x() - a.x(), b.y() - a.y()
            pts = [self.from_view(x + dx, y + dy) for x, y in (self.to_view(t, p) for t, p in drawing.points)]
            return replace(drawing, points=tuple(pts))
        ts, price = self.from_view(b.x(), b.y())
        if drawing.kind is DrawingKind.RECTANGLE:
            (t0, p0), (t1, p1) = drawing.points
            corners = {
                0: ((ts, price), (t1, p1)),
                1: ((t0, price), (ts, p1)),
                2: ((t0, p0), (ts, price)),
                3: ((ts, p0), (t1, price)),
            }
            return replace(drawing, points=corners[k])
        return drawing.with_point(k, ts, price)

    def item_clicked(self, item: DrawingItem, ev) -> None:
        drawing_id = item.drawing.id
        self.select(drawing_id)
        if ev.button() == QtCore.Qt.MouseButton.RightButton:
            self.context_menu_requested.emit(ev.screenPos().toPoint(), drawing_id)
        elif ev.double() and item.drawing.kind is DrawingKind.TEXT_NOTE:
            self.edit_text(drawing_id)

    def item_dragged(self, item: DrawingItem, drawing: Drawing, finished: bool) -> None:
        if item.drawing.id != self._selected:
            self.select(item.drawing.id)
        self._update_badge(drawing)
        if finished and self.book.get(self.symbol, drawing.id) is not None:
            self.book.update(self.symbol, drawing)

    def relayout(self) -> None:
        """The view moved, resized or the bars changed: place every drawing again."""
        for item in self._items.values():
            item.relayout()
        if self._preview is not None:
            self._preview.relayout()
        self._update_badges()

    def _update_badges(self) -> None:
        for item in self._items.values():
            self._update_badge(item.drawing)

    def _update_badge(self, drawing: Drawing) -> None:
        if drawing.kind is DrawingKind.HORIZONTAL_LINE:
            price = drawing.points[0][1]
            self._pane.axis.set_badge(
                f"drawing:{drawing.id}", self._scale.y(price), self._price_text(price), qcolor(drawing.color)
            )

    # making drawings (from the pane's ViewBox) --------------------------------------------------
    def view_click(self, ev) -> bool:
        """A click on the pane's empty area: place a point when a tool is armed, else clear the
        selection (and let the view have the click)."""
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return False
        if self._tool is None:
            if self._selected is not None:
                self.select(None)
            return False
        point = self.from_pixel(ev.pos())
        kind = self._tool
        if kind.point_count == 1:
            self._finish(kind, [point])
        elif not self._pending:
            self._pending = [point]
            self._preview = self._make_preview(kind, point, point)
        else:
            self._finish(kind, [self._pending[0], point])
        return True

    def view_drag(self, ev) -> bool:
        """A drag on the pane's empty area with a two-point tool armed draws from press to release."""
        if self._tool is None or self._tool.point_count != 2 or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return False
        start = self.from_pixel(ev.buttonDownPos())
        now = self.from_pixel(ev.pos())
        if ev.isStart():
            self._clear_pending()
            self._pending = [start]
            self._preview = self._make_preview(self._tool, start, now)
        elif self._preview is not None:
            self._preview.set_drawing(Drawing("preview", self._tool, (self._pending[0], now)))
        if ev.isFinish():
            moved = ev.pos() - ev.buttonDownPos()
            if math.hypot(moved.x(), moved.y()) >= MIN_DRAG_PX:
                self._finish(self._tool, [self._pending[0], now])
            # a press without a real drag is the first click: the second click finishes the drawing
        return True

    def mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        """Move the preview's second point with the mouse (click, move, click)."""
        if self._preview is None or not self._pending:
            return
        pos = self.vb.mapFromScene(scene_pos)
        point = self.from_pixel(pos)
        self._preview.set_drawing(Drawing("preview", self._preview.drawing.kind, (self._pending[0], point)))

    def _finish(self, kind: DrawingKind, points: list[tuple[int, float]]) -> None:
        text = ""
        if kind is DrawingKind.TEXT_NOTE:
            typed = self.ask_text("")
            if typed is None:
                self.arm(None)
                return
            text = typed
        drawing = Drawing.new(kind, points, text=text, color=self._theme.new_drawing)
        self.arm(None)
        if self.symbol:
            self.book.add(self.symbol, drawing)
            self.select(drawing.id)

    def _clear_pending(self) -> None:
        self._pending = []
        if self._preview is not None:
            self._drop_item(self._preview)
            self._preview = None
