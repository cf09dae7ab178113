"""Working orders and the open position of the chart's symbol, drawn as horizontal lines on the price pane.

One line per working order at its price: limit (solid), stop (dashed), stop-limit (dash-dot, at its
stop), trailing stop (dotted, at its current level), a bracket's stop loss (orange, dashed) and take
profit (green); buy orders blue, sell orders red; bracket exits waiting for their entry faded. Each line
has a label at the right of the pane with the type, side, quantity and price (and the owner when a
strategy placed it), a "✕" that asks to cancel it, and a badge on the price axis. The average price of
the position is a grey line whose label shows the side, size and open P&L, and whose "✕" asks to
flatten. A line above or below the visible prices keeps its label pinned to the top or bottom edge
(with ▲ or ▼), so a far stop loss or target is never out of sight. Market orders (no price) are not
drawn.

The layer is a view: it is given the engine's `Order` snapshots (`set_orders`) and the position
(`set_position`) by its owner, and only asks for changes through its signals: `cancel_requested`,
`flatten_requested`, `modify_requested` (a line dragged to a new price: the limit of a limit or take
profit, the stop of a stop, stop-limit or stop loss; trailing stops are not dragged). A dragged line
stays at its new price, marked pending, until the engine's next snapshot shows it there or the owner
calls `revert` (the change was refused). Items live in pane PIXEL coordinates like the drawings and
are laid out again whenever the view moves. UI thread only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor

Z_ORDER_LINES = 9000
LABEL_PAD = 5.0
LABEL_GAP = 4.0
RIGHT_MARGIN = 6.0
HIT_HALF_HEIGHT = 5.0
HELD_ALPHA = 110

BUY_COLOUR = "#42a5f5"
SELL_COLOUR = "#ef5350"
STOP_LOSS_COLOUR = "#ff7043"
TAKE_PROFIT_COLOUR = "#66bb6a"
TRAIL_COLOUR = "#ffca28"
POSITION_COLOUR = "#b2b5be"

_TYPE_TEXT = {"limit": "LMT", "stop": "STP", "stop_limit": "STP LMT", "trailing_stop": "TRAIL"}
_PEN_STYLES = {
    "limit": QtCore.Qt.PenStyle.SolidLine,
    "stop": QtCore.Qt.PenStyle.DashLine,
    "stop_limit": QtCore.Qt.PenStyle.DashDotLine,
    "trailing_stop": QtCore.Qt.PenStyle.DotLine,
}


def line_price(order: Any) -> float | None:
    """Where an order's line is drawn: the stop of stops, stop-limits and trailing stops (their current
    level), else the limit; None for a market order."""
    kind = order.order_type.value
    if kind in ("stop", "stop_limit", "trailing_stop"):
        return order.stop_price
    if kind == "limit":
        return order.limit_price
    return None


def price_field(order: Any) -> str | None:
    """The price a drag of the order's line changes ("limit_price" / "stop_price"), None when it cannot."""
    kind = order.order_type.value
    if kind == "limit":
        return "limit_price"
    if kind in ("stop", "stop_limit"):
        return "stop_price"
    return None


def order_label(order: Any, price_text: Callable[[float], str], owner_hidden: str = "manual") -> str:
    """'BUY LMT 100 @ 101.25', 'SL SELL STP 100 @ 99.50 (held)', '... · orb' for a strategy's order."""
    kind = order.order_type.value
    side = "BUY" if order.quantity > 0 else "SELL"
    remaining = abs(order.quantity - order.filled_quantity)
    qty = f"{remaining:,.0f}" if float(remaining).is_integer() else f"{remaining:,.4g}"
    price = line_price(order)
    text = f"{side} {_TYPE_TEXT.get(kind, kind.upper())} {qty} @ {price_text(price) if price is not None else '-'}"
    if kind == "stop_limit" and order.limit_price is not None:
        text += f" / {price_text(order.limit_price)}"
    role = order.role.value
    if role == "stop_loss":
        text = "SL " + text
    elif role == "take_profit":
        text = "TP " + text
    if order.status.value == "held":
        text += " (held)"
    if order.strategy != owner_hidden:
        text += f" · {order.strategy}"
    return text


def line_style(order: Any) -> tuple[str, QtCore.Qt.PenStyle]:
    """(colour, pen style) of an order's line."""
    role = order.role.value
    kind = order.order_type.value
    if role == "stop_loss":
        return STOP_LOSS_COLOUR, QtCore.Qt.PenStyle.DashLine
    if role == "take_profit":
        return TAKE_PROFIT_COLOUR, QtCore.Qt.PenStyle.SolidLine
    if kind == "trailing_stop":
        return TRAIL_COLOUR, QtCore.Qt.PenStyle.DotLine
    return (BUY_COLOUR if order.quantity > 0 else SELL_COLOUR), _PEN_STYLES.get(kind, QtCore.Qt.PenStyle.SolidLine)


class PriceLineItem(QtWidgets.QGraphicsObject):
    """One horizontal line with its label box ("text ✕") at the right of the pane (pane pixel coordinates)."""

    def __init__(self, layer: OrderLineLayer, key: str, price: float, text: str, colour: str,
                 style: QtCore.Qt.PenStyle, draggable: bool, faded: bool = False, closable: bool = True):
        super().__init__(layer.vb)
        self._layer = layer
        self.key = key
        self.price = price
        self.text = text
        self.colour = colour
        self.style = style
        self.draggable = draggable
        self.faded = faded
        self.closable = closable
        self.pending = False          # dragged to `price`, waiting for the engine to confirm
        self.hovered = False
        self.label_x = 0.0            # left edge of the label box (set by the layer's layout)
        self.pinned = 0               # -1 above the visible prices (label at the top edge), +1 below, 0 in view
        self._y = 0.0
        self._drag_from: float | None = None
        self.text_colour: str | None = None   # the label's text colour (None: the theme's)
        self.setZValue(Z_ORDER_LINES)

    # geometry ------------------------------------------------------------------------------------
    def label_text(self) -> str:
        arrow = "\u25b2 " if self.pinned < 0 else "\u25bc " if self.pinned > 0 else ""
        return arrow + self.text + (" …" if self.pending else "")

    def label_width(self) -> float:
        fm = self._layer.metrics
        return fm.horizontalAdvance(self.label_text()) + 2 * LABEL_PAD + (self.close_width() if self.closable else 0.0)

    def close_width(self) -> float:
        return self._layer.metrics.height() + 2.0

    def label_rect(self) -> QtCore.QRectF:
        h = self._layer.metrics.height() + 4.0
        return QtCore.QRectF(self.label_x, self.label_y() - h / 2, self.label_width(), h)

    def label_y(self) -> float:
        """Pixel row of the label's middle: the line's, or the edge it is pinned to."""
        if not self.pinned:
            return self._y
        h = self._layer.metrics.height() + 4.0
        return h / 2 + 1.0 if self.pinned < 0 else self._layer.pane_height() - h / 2 - 1.0

    def close_rect(self) -> QtCore.QRectF:
        r = self.label_rect()
        return QtCore.QRectF(r.right() - self.close_width(), r.top(), self.close_width(), r.height())

    @property
    def y(self) -> float:
        """Pane pixel row of the line."""
        return self._y

    def relayout(self) -> None:
        self.prepareGeometryChange()
        self._y = y = self._layer.pixel_y(self.price)
        self.pinned = 0 if not math.isfinite(y) or 0.0 <= y <= self._layer.pane_height() else (-1 if y < 0 else 1)
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        width = self._layer.pane_width()
        h = max(self._layer.metrics.height() + 6.0, 2 * HIT_HALF_HEIGHT)
        return QtCore.QRectF(0.0, self.label_y() - h / 2 - 1, width, h + 2)

    def shape(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        path.setFillRule(QtCore.Qt.FillRule.WindingFill)     # the label over the line is inside, not a hole
        if not self.pinned:
            path.addRect(QtCore.QRectF(0.0, self._y - HIT_HALF_HEIGHT, self._layer.pane_width(), 2 * HIT_HALF_HEIGHT))
        path.addRect(self.label_rect())
        return path

    def visible_in_pane(self) -> bool:
        return math.isfinite(self._y) and 0.0 <= self._y <= self._layer.pane_height()

    # painting ------------------------------------------------------------------------------------
    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        if not math.isfinite(self._y):
            return
        alpha = HELD_ALPHA if self.faded else 255
        colour = qcolor(self.colour, alpha)
        y = round(self._y) + 0.5
        width = 2 if (self.hovered or self.pending or self._drag_from is not None) else 1
        p.setPen(cosmetic_pen(colour, self.style, width))
        label = self.label_rect()
        if not self.pinned:
            p.drawLine(QtCore.QLineF(0.0, y, label.left(), y))
            p.drawLine(QtCore.QLineF(label.right(), y, self._layer.pane_width(), y))
        p.setPen(cosmetic_pen(colour))
        p.setBrush(QtGui.QBrush(qcolor(self._layer.theme.background, 230)))
        p.drawRect(label)
        p.setFont(self._layer.font)
        p.setPen(qcolor(self.text_colour or self._layer.theme.text_bright, alpha))
        text_rect = label.adjusted(LABEL_PAD, 0, -(self.close_width() if self.closable else 0) - LABEL_PAD, 0)
        p.drawText(text_rect, int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft),
                   self.label_text())
        if self.closable:
            box = self.close_rect()
            p.setPen(cosmetic_pen(colour))
            p.drawLine(QtCore.QLineF(box.left(), box.top(), box.left(), box.bottom()))
            p.setPen(qcolor(self._layer.theme.text_bright, alpha))
            p.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignCenter), "\u2715")

    # pyqtgraph mouse protocol --------------------------------------------------------------------
    def hoverEvent(self, ev) -> None:
        if ev.isExit() or not self.shape().contains(ev.pos()) or self._layer.drawing_tool_armed():
            if self.hovered:
                self.hovered = False
                self.unsetCursor()
                self.update()
            return
        ev.acceptClicks(QtCore.Qt.MouseButton.LeftButton)
        ev.acceptClicks(QtCore.Qt.MouseButton.RightButton)
        if self.draggable:
            ev.acceptDrags(QtCore.Qt.MouseButton.LeftButton)
        on_close = self.closable and self.close_rect().contains(ev.pos())
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor if on_close else
                       QtCore.Qt.CursorShape.SizeVerCursor if self.draggable else QtCore.Qt.CursorShape.ArrowCursor)
        if not self.hovered:
            self.hovered = True
            self.update()

    def mouseClickEvent(self, ev) -> None:
        # a drawing tool armed takes the click, also on an order line: drawing a line at an order's price
        # must not cancel the order (its ✕) or open its menu
        if not self.shape().contains(ev.pos()) or self._layer.drawing_tool_armed():
            return
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            if self.closable and self.close_rect().contains(ev.pos()):
                self._layer.close_clicked(self)
        elif ev.button() == QtCore.Qt.MouseButton.RightButton:
            ev.accept()
            self._layer.menu_requested(self, ev.screenPos().toPoint())

    def mouseDragEvent(self, ev) -> None:
        if (not self.draggable or ev.button() != QtCore.Qt.MouseButton.LeftButton
                or (ev.isStart() and self._layer.drawing_tool_armed())):
            ev.ignore()                 # (a drag with a drawing tool armed draws: it must not move the order)
            return
        if ev.isStart():
            if not self.shape().contains(ev.buttonDownPos()) or (
                    self.closable and self.close_rect().contains(ev.buttonDownPos())):
                ev.ignore()
                return
            self._drag_from = self.price
        if self._drag_from is None:
            ev.ignore()
            return
        ev.accept()
        self.price = self._layer.price_at(ev.pos().y() - ev.buttonDownPos().y() + self._layer.pixel_y(self._drag_from))
        self._layer.dragged(self, finished=ev.isFinish(), start_price=self._drag_from)
        if ev.isFinish():
            self._drag_from = None


class OrderLineLayer(QtCore.QObject):
    """The order and position lines of one chart (see the module docstring)."""

    cancel_requested = QtCore.Signal(int)                 # order id
    modify_requested = QtCore.Signal(int, str, float)     # order id, "limit_price" | "stop_price", new price
    flatten_requested = QtCore.Signal()                   # the position's ✕
    context_menu_requested = QtCore.Signal(QtCore.QPoint, object)   # screen position, order id (None: position)

    def __init__(self, price: Pane, scale: PriceScale, theme: ChartTheme, price_text: Callable[[float], str],
                 decimals: Callable[[], int], parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._pane = price
        self.vb = price.vb
        self._scale = scale
        self.theme = theme
        self._price_text = price_text
        self._decimals = decimals
        # a dragged line's price: on the nearest tick (set by hand trading: the config's tick size), else
        # rounded to the chart's decimals
        self.snap_price: Callable[[float], float] | None = None
        self.font = QtGui.QFont()
        self.font.setPixelSize(theme.font_px)
        self.metrics = QtGui.QFontMetricsF(self.font)
        self._orders: dict[int, Any] = {}
        self._items: dict[int, PriceLineItem] = {}
        self._position_item: PriceLineItem | None = None
        self.position: tuple[float, float, float] = (0.0, 0.0, 0.0)   # quantity, average price, last price
        # True while one of the chart's drawing tools is armed (set by the chart): the lines leave the mouse
        # to the tool then
        self.drawing_tool_armed: Callable[[], bool] = lambda: False
        self.vb.sigResized.connect(self.relayout)

    # feeding -------------------------------------------------------------------------------------
    def set_orders(self, orders: Sequence[Any]) -> None:
        """Show these working orders (engine Order snapshots of the chart's symbol)."""
        wanted = {o.id: o for o in orders if line_price(o) is not None and o.is_open}
        for oid in [k for k in self._items if k not in wanted]:
            self._drop(self._items.pop(oid), f"order:{oid}")
        for oid, order in wanted.items():
            price = float(line_price(order))
            colour, style = line_style(order)
            item = self._items.get(oid)
            draggable = price_field(order) is not None
            faded = order.status.value == "held"
            text = order_label(order, self._price_text)
            if item is None:
                item = self._items[oid] = PriceLineItem(self, f"order:{oid}", price, text, colour, style, draggable,
                                                        faded)
            else:
                self._orders[oid] = order
                if item._drag_from is not None:
                    continue                             # the user holds it: leave it where the mouse is
                if item.pending and not math.isclose(price, item.price, rel_tol=0.0,
                                                     abs_tol=10 ** -(self._decimals() + 2)):
                    continue                             # the engine has not applied the move yet
                item.pending = False
                item.price, item.text, item.colour, item.style = price, text, colour, style
                item.draggable, item.faded = draggable, faded
            self._orders[oid] = order
        self._orders = {k: v for k, v in self._orders.items() if k in self._items}
        self.relayout()

    def set_position(self, quantity: float, avg_price: float, last_price: float) -> None:
        """The open position of the chart's symbol (quantity 0: no line)."""
        self.position = (float(quantity), float(avg_price), float(last_price))
        if not quantity or not avg_price > 0:
            if self._position_item is not None:
                self._drop(self._position_item, "position")
                self._position_item = None
            return
        pnl = quantity * (last_price - avg_price)
        side = "LONG" if quantity > 0 else "SHORT"
        qty = f"{abs(quantity):,.0f}" if float(quantity).is_integer() else f"{abs(quantity):,.4g}"
        text = f"{side} {qty} @ {self._price_text(avg_price)}  {pnl:+,.2f}"
        item = self._position_item
        if item is None:
            item = self._position_item = PriceLineItem(self, "position", avg_price, text, POSITION_COLOUR,
                                                       QtCore.Qt.PenStyle.SolidLine, draggable=False)
            item.setZValue(Z_ORDER_LINES - 1)
        item.price, item.text = avg_price, text
        item.text_colour = self.theme.up if pnl > 0 else self.theme.down if pnl < 0 else None
        self.relayout()

    def clear(self) -> None:
        self.set_orders([])
        self.set_position(0.0, 0.0, 0.0)

    def revert(self, order_id: int) -> None:
        """A move of `order_id` was refused or called off: its line and label go back to the engine's price
        (the label kept the dragged price before)."""
        item = self._items.get(order_id)
        order = self._orders.get(order_id)
        if item is None or order is None:
            return
        item.pending = False
        item.price = float(line_price(order))
        item.text = order_label(order, self._price_text)
        self.relayout()

    # reads (tests, menus) ------------------------------------------------------------------------
    def items(self) -> dict[int, PriceLineItem]:
        """The order lines by order id."""
        return dict(self._items)

    @property
    def position_item(self) -> PriceLineItem | None:
        return self._position_item

    def order(self, order_id: int) -> Any | None:
        """The snapshot the line of `order_id` was drawn from."""
        return self._orders.get(order_id)

    def labels(self) -> list[str]:
        """Every label, position first, then by price from the top."""
        items = sorted(self._items.values(), key=lambda it: -it.price)
        out = [self._position_item.label_text()] if self._position_item is not None else []
        return out + [it.label_text() for it in items]

    # geometry ------------------------------------------------------------------------------------
    def pixel_y(self, price: float) -> float:
        y = self._scale.y(price)
        if not math.isfinite(y):
            return math.nan
        return self.vb.mapFromView(QtCore.QPointF(0.0, y)).y()

    def price_at(self, pixel_y: float) -> float:
        """The price at a pane pixel row, on the nearest tick (`snap_price`) or rounded to the chart's
        decimals."""
        y = self.vb.mapToView(QtCore.QPointF(0.0, pixel_y)).y()
        price = self._scale.price(y)
        return self.snap_price(price) if self.snap_price is not None else round(price, self._decimals())

    def pane_width(self) -> float:
        return float(self.vb.width())

    def pane_height(self) -> float:
        return float(self.vb.height())

    def relayout(self) -> None:
        """Place every line and label again (the view moved or resized, prices changed); labels at the
        same height are put side by side leftwards, so none hides another."""
        items = list(self._items.values())
        if self._position_item is not None:
            items.insert(0, self._position_item)
        for item in items:
            item.relayout()
        placed: list[QtCore.QRectF] = []
        width = self.pane_width()
        for item in sorted(items, key=lambda it: it.label_y() if math.isfinite(it.label_y()) else 0.0):
            item.label_x = width - RIGHT_MARGIN - item.label_width()
            rect = item.label_rect()
            for _ in range(len(placed) + 1):
                clash = next((r for r in placed if r.intersects(rect)), None)
                if clash is None:
                    break
                item.label_x = clash.left() - LABEL_GAP - item.label_width()
                rect = item.label_rect()
            placed.append(rect)
            item.update()
        self._update_badges()

    def _update_badges(self) -> None:
        axis = self._pane.axis
        for oid, item in self._items.items():
            bg = qcolor(item.colour, HELD_ALPHA if item.faded else 255)
            axis.set_badge(f"order:{oid}", self._scale.y(item.price), self._price_text(item.price), bg)
        if self._position_item is not None:
            item = self._position_item
            axis.set_badge("position", self._scale.y(item.price), self._price_text(item.price), qcolor(POSITION_COLOUR),
                           QtGui.QColor("#131722"))

    def _drop(self, item: PriceLineItem, badge: str) -> None:
        self._pane.axis.set_badge(badge, None)
        item.setParentItem(None)
        if item.scene() is not None:
            item.scene().removeItem(item)

    # from the items ------------------------------------------------------------------------------
    def close_clicked(self, item: PriceLineItem) -> None:
        if item is self._position_item:
            self.flatten_requested.emit()
        else:
            self.cancel_requested.emit(int(item.key.split(":")[1]))

    def menu_requested(self, item: PriceLineItem, screen_pos: QtCore.QPoint) -> None:
        oid = None if item is self._position_item else int(item.key.split(":")[1])
        self.context_menu_requested.emit(screen_pos, oid)

    def dragged(self, item: PriceLineItem, finished: bool, start_price: float) -> None:
        oid = int(item.key.split(":")[1])
        order = self._orders.get(oid)
        field = price_field(order) if order is not None else None
        if field is None:
            return
        if order is not None:
            item.text = order_label(_Moved(order, field, item.price), self._price_text)
        if finished:
            if item.price > 0 and abs(item.price - start_price) >= 10 ** -self._decimals() / 2:
                item.pending = True
                self.relayout()
                self.modify_requested.emit(oid, field, float(item.price))
                return
            item.price = start_price
            item.text = order_label(order, self._price_text)
        self.relayout()


class _Moved:
    """An order seen with one price changed (the label of a line being dragged)."""

    def __init__(self, order: Any, field: str, price: float):
        self._order, self._field, self._price = order, field, price

    def __getattr__(self, name: str) -> Any:
        if name == self._field:
            return self._price
        return getattr(self._order, name)
