"""Order lines on the chart: every working order of the symbol at its price, labelled with type, side,
quantity and price, a distinct style per kind; the position's average price with its P&L; a line
dragged with the mouse asks for the new price and stays pending until the engine confirms or refuses;
✕ cancels (flattens on the position line); far lines stay visible pinned to the pane's edge."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtGui  # noqa: E402

from tests.ui import mouse  # noqa: E402
from tests.ui.test_chart import make_bars, settle  # noqa: E402
from ui.widgets.chart import CandleChart  # noqa: E402
from ui.widgets.chart.order_lines import (  # noqa: E402
    BUY_COLOUR,
    SELL_COLOUR,
    STOP_LOSS_COLOUR,
    TAKE_PROFIT_COLOUR,
    TRAIL_COLOUR,
)
from workstation.config.models import ExecutionConfig  # noqa: E402
from workstation.execution import SimulatedBroker, make_request  # noqa: E402

DASH, SOLID = QtCore.Qt.PenStyle.DashLine, QtCore.Qt.PenStyle.SolidLine


@pytest.fixture
def chart(qtbot):
    ts, o, h, low, c, v = make_bars(300)
    chart = CandleChart()
    chart.resize(1100, 650)
    qtbot.addWidget(chart)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_title("ACME", "1m")
    chart.set_visible_range(200, 300)
    chart.show()
    qtbot.waitExposed(chart)
    settle(qtbot, chart)
    return chart


def broker_with_orders(last: float):
    """A broker holding one of each order kind on ACME (plus one of another symbol)."""
    b = SimulatedBroker(["ACME", "BOLT"], ExecutionConfig(starting_cash=1e6, allow_short=True))
    b.on_bar_time(0, np.array([0, 1]), np.array([last, 50.0]), np.array([last, 50.0]))
    r = lambda p: round(p, 2)  # noqa: E731
    b.submit_order(make_request("ACME", 100, "limit", limit_price=r(last - 0.5), stop_loss=r(last - 0.9),
                                take_profit=r(last + 0.4)), "manual", 60)                          # 1, 2, 3
    b.submit_order(make_request("ACME", -30, "stop", stop_price=r(last - 0.3)), "orb", 60)          # 4
    b.submit_order(make_request("ACME", -20, "trailing_stop", trail_amount=0.25), "manual", 60)     # 5
    b.submit_order(make_request("ACME", 10, "stop_limit", stop_price=r(last + 0.2),
                                limit_price=r(last + 0.3)), "manual", 60)                          # 6
    b.submit_order(make_request("ACME", 5, "market"), "manual", 60)                                 # 7: no line
    b.submit_order(make_request("BOLT", 5, "limit", limit_price=49.0), "manual", 60)                # 8: other symbol
    return b


def y_of(chart: CandleChart, price: float) -> float:
    """Viewport pixel row of a price."""
    scene = chart.price.vb.mapViewToScene(QtCore.QPointF(250, chart._scale.y(price)))
    return chart.graphics_view.mapFromScene(scene).y()


def label_point(chart: CandleChart, item, dx: float) -> QtCore.QPointF:
    """Viewport pixel `dx` from the left of an order line's label."""
    rect = item.label_rect()
    scene = item.mapToScene(QtCore.QPointF(rect.left() + dx, rect.center().y()))
    return QtCore.QPointF(chart.graphics_view.mapFromScene(scene))


def close_point(chart: CandleChart, item) -> QtCore.QPointF:
    scene = item.mapToScene(item.close_rect().center())
    return QtCore.QPointF(chart.graphics_view.mapFromScene(scene))


def test_every_working_order_of_the_symbol_is_a_labelled_line_of_its_own_style(chart):
    last = float(chart.bar_arrays()[4][-1])
    b = broker_with_orders(last)
    lines = chart.order_lines
    lines.set_orders(b.open_orders("ACME"))
    lines.set_position(100, last - 0.2, last)
    chart.set_visible_range(200, 300)
    items = lines.items()
    assert sorted(items) == [1, 2, 3, 4, 5, 6]                      # the market order has no price: no line
    text = {oid: item.text for oid, item in items.items()}
    p = chart.legend.price_text
    assert text[1] == f"BUY LMT 100 @ {p(round(last - 0.5, 2))}"
    assert text[2] == f"SL SELL STP 100 @ {p(round(last - 0.9, 2))} (held)"
    assert text[3] == f"TP SELL LMT 100 @ {p(round(last + 0.4, 2))} (held)"
    assert text[4] == f"SELL STP 30 @ {p(round(last - 0.3, 2))} · orb"
    assert text[5] == f"SELL TRAIL 20 @ {p(last - 0.25)}"           # at its current level
    assert text[6] == f"BUY STP LMT 10 @ {p(round(last + 0.2, 2))} / {p(round(last + 0.3, 2))}"
    styles = {oid: (item.colour, item.style, item.faded, item.draggable) for oid, item in items.items()}
    assert styles[1] == (BUY_COLOUR, SOLID, False, True)
    assert styles[2] == (STOP_LOSS_COLOUR, DASH, True, True)
    assert styles[3] == (TAKE_PROFIT_COLOUR, SOLID, True, True)
    assert styles[4] == (SELL_COLOUR, DASH, False, True)
    assert styles[5][:2] == (TRAIL_COLOUR, QtCore.Qt.PenStyle.DotLine) and styles[5][3] is False
    assert styles[6][:2] == (BUY_COLOUR, QtCore.Qt.PenStyle.DashDotLine)
    # each line sits at its price; the axis carries a badge for it; labels never overlap
    for oid, item in items.items():
        if not item.pinned:
            assert item.y == pytest.approx(lines.pixel_y(item.price), abs=0.01)
        assert chart.price.axis.badge_text(f"order:{oid}") == p(item.price)
    rects = [it.label_rect() for it in items.values() if not it.pinned]
    assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    position = lines.position_item
    assert position is not None and position.text == f"LONG 100 @ {p(last - 0.2)}  {100 * 0.2:+,.2f}"
    # orders that end leave; the position line goes when flat
    b.cancel_order(4, 120)
    lines.set_orders(b.open_orders("ACME"))
    lines.set_position(0, 0, last)
    assert 4 not in lines.items() and chart.price.axis.badge_text("order:4") is None
    assert lines.position_item is None and chart.price.axis.badge_text("position") is None


def test_a_line_beyond_the_visible_prices_is_pinned_to_the_edge(chart):
    last = float(chart.bar_arrays()[4][-1])
    b = SimulatedBroker(["ACME"], ExecutionConfig(starting_cash=1e6, allow_short=True))
    b.on_bar_time(0, np.array([0]), np.array([last]), np.array([last]))
    b.submit_order(make_request("ACME", -10, "limit", limit_price=round(last * 3, 2)), "manual", 60)
    b.submit_order(make_request("ACME", 10, "limit", limit_price=round(last / 3, 2)), "manual", 60)
    chart.order_lines.set_orders(b.open_orders())
    high, low = chart.order_lines.items()[1], chart.order_lines.items()[2]
    assert (high.pinned, low.pinned) == (-1, 1)
    assert high.label_text().startswith("\u25b2") and low.label_text().startswith("\u25bc")
    assert 0 <= high.label_rect().top() and low.label_rect().bottom() <= chart.order_lines.pane_height()


def test_dragging_a_line_asks_for_the_new_price_and_it_stays_pending_until_confirmed(chart, qtbot):
    last = float(chart.bar_arrays()[4][-1])
    b = broker_with_orders(last)
    lines = chart.order_lines
    lines.set_orders(b.open_orders("ACME"))
    chart.set_visible_range(200, 300)
    settle(qtbot, chart)
    asked = []
    lines.modify_requested.connect(lambda oid, field, price: asked.append((oid, field, price)))
    vp = chart.graphics_view.viewport()
    item = lines.items()[4]                                        # SELL STP 30
    start = label_point(chart, item, 12)
    target = round(item.price - 0.15, 2)
    end = QtCore.QPointF(start.x() - 200, y_of(chart, target))
    mouse.drag(vp, start, end)
    assert len(asked) == 1
    oid, field, price = asked[0]
    pixel = (chart.price.vb.viewRange()[1][1] - chart.price.vb.viewRange()[1][0]) / chart.price.vb.height()
    assert (oid, field) == (4, "stop_price") and price == pytest.approx(target, abs=2 * pixel + 0.01)
    assert item.pending and item.price == price and item.label_text().endswith("…")
    # the engine has not answered yet: a snapshot with the old price leaves the line where it was dropped
    lines.set_orders(b.open_orders("ACME"))
    assert item.pending and item.price == price
    # the engine applies it: confirmed
    b.modify_order(4, 120, stop_price=price)
    lines.set_orders(b.open_orders("ACME"))
    assert not item.pending and item.price == price and "…" not in item.label_text()
    # a refused move goes back to the engine's price
    mouse.drag(vp, label_point(chart, item, 12), QtCore.QPointF(start.x(), y_of(chart, price + 0.3)))
    assert item.pending and len(asked) == 2
    lines.revert(4)
    assert not item.pending and item.price == price
    # a limit (the bracket's entry) is moved by its limit price; a trailing stop is not dragged
    entry = lines.items()[1]
    mouse.drag(vp, label_point(chart, entry, 12), QtCore.QPointF(start.x(), y_of(chart, entry.price - 0.1)))
    assert asked[-1][:2] == (1, "limit_price")
    assert lines.items()[3].draggable and not lines.items()[5].draggable


def test_the_cross_cancels_an_order_and_flattens_the_position(chart, qtbot):
    last = float(chart.bar_arrays()[4][-1])
    b = broker_with_orders(last)
    lines = chart.order_lines
    lines.set_orders(b.open_orders("ACME"))
    lines.set_position(-50, last + 0.1, last)
    settle(qtbot, chart)
    cancelled, flattened, menus = [], [], []
    lines.cancel_requested.connect(cancelled.append)
    lines.flatten_requested.connect(lambda: flattened.append(1))
    lines.context_menu_requested.connect(lambda _pos, oid: menus.append(oid))
    vp = chart.graphics_view.viewport()
    mouse.click(vp, close_point(chart, lines.items()[1]))
    assert cancelled == [1] and flattened == []
    mouse.click(vp, close_point(chart, lines.position_item))
    assert flattened == [1]
    assert lines.position_item.text.startswith("SHORT 50")
    # a right-click on a line asks for its menu (with the order's id)
    mouse.click(vp, label_point(chart, lines.items()[6], 10), mouse.RIGHT)
    assert menus == [6]



def test_the_last_price_badge_stays_readable_over_a_position_badge_a_cent_away(chart, qtbot):
    """Badges a few cents apart overlap on the price axis; the position's badge (added after the last
    price's) covered the last price. The last price is painted over order and position badges, the
    crosshair's over all."""
    last = float(chart.bar_arrays()[4][-1])
    chart.order_lines.set_position(100, last - 0.01, last)
    axis = chart.price.axis
    assert axis.badge_text("last") is not None and axis.badge_text("position") is not None
    settle(qtbot, chart)

    def colour_at_last_badge():
        image = chart.graphics_view.grab().toImage()
        bounds = axis.sceneBoundingRect()
        scene = QtCore.QPointF(bounds.left() + bounds.width() * 0.75, chart.price.vb.mapViewToScene(
            QtCore.QPointF(250, chart._scale.y(last))).y())
        point = chart.graphics_view.mapFromScene(scene)
        return image.pixelColor(point.x(), point.y()).name()

    last_bg, position_bg = axis._badges["last"][2].name(), axis._badges["position"][2].name()
    assert last_bg != position_bg
    assert colour_at_last_badge() == last_bg
    axis.set_badge("cross", last, "x", QtGui.QColor("#123456"))         # the crosshair's on top of both
    axis.update()
    settle(qtbot, chart)
    assert colour_at_last_badge() == "#123456"


def test_badges_a_few_cents_apart_move_aside_so_each_is_read_and_the_last_price_keeps_its_place(chart, qtbot):
    """The position's badge a cent under the last price and two stops a cent apart used to pile up (only
    the top one readable): the last price's badge stays at its price, the others move to the nearest free
    place, none covers another, and each keeps a notch at its own price. A badge far from the others is
    where its price is; the crosshair's covers badges rather than pushing them as the mouse moves."""
    last = float(chart.bar_arrays()[4][-1])
    axis = chart.price.axis
    chart.order_lines.set_position(100, last - 0.01, last)
    axis.set_badge("order:1", last - 0.02, f"{last - 0.02:.2f}", QtGui.QColor(STOP_LOSS_COLOUR))
    axis.set_badge("order:2", last - 0.03, f"{last - 0.03:.2f}", QtGui.QColor(TAKE_PROFIT_COLOUR))
    lo, hi = axis.range
    far = max((round(lo + 0.2 * (hi - lo), 2), round(hi - 0.2 * (hi - lo), 2)), key=lambda v: abs(v - last))
    axis.set_badge("order:3", far, f"{far:.2f}", QtGui.QColor(BUY_COLOUR))
    settle(qtbot, chart)
    bounds = axis._bounds
    rects = axis.badge_rects()
    names = ["last", "position", "order:1", "order:2", "order:3"]
    assert set(names) <= set(rects)
    y_of = lambda v: axis._to_pixel(bounds, v)  # noqa: E731
    assert rects["last"].center().y() == pytest.approx(y_of(last), abs=0.01)
    assert abs(y_of(far) - y_of(last)) > 100
    assert rects["order:3"].center().y() == pytest.approx(y_of(far), abs=0.01)     # nothing near it
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not rects[a].intersected(rects[b]).height() > 0.5, (a, b)
        assert bounds.top() - 0.5 <= rects[a].top() and rects[a].bottom() <= bounds.bottom() + 0.5
    # the moved ones went the nearest way: below the last price (their prices are under it), in price order
    assert rects["last"].bottom() <= rects["position"].top() + 0.5
    assert rects["position"].top() < rects["order:1"].top() < rects["order:2"].top()

    image = chart.graphics_view.grab().toImage()

    def colour(x: float, y: float) -> str:
        point = chart.graphics_view.mapFromScene(axis.mapToScene(QtCore.QPointF(x, y)))
        return image.pixelColor(point.x(), point.y()).name()

    for name in names:                                      # each badge shows its own colour
        r = rects[name]
        assert colour(r.right() - 3, r.center().y()) == axis._badges[name][2].name(), name
    r = rects["order:2"]                                    # the moved badge's notch at its own price
    assert colour(bounds.left() + 3, y_of(last - 0.03)) == axis._badges["order:2"][2].name()

    axis.set_badge("cross", last - 0.02, "x", QtGui.QColor("#123456"))
    assert axis.badge_rects() == rects | {"cross": axis.badge_rects()["cross"]}      # nothing moved for it


def test_with_a_drawing_tool_armed_the_order_lines_leave_the_mouse_to_the_tool(chart, qtbot):
    """A trader drawing a line at a working order's price: with a tool armed, a click on the order's ✕
    places the drawing instead of cancelling the order, and a drag that starts on an order line draws
    instead of moving the order; once the tool is done (back to the pointer) the lines take the mouse again."""
    from ui.widgets.chart import DrawingBook, DrawingKind

    last = float(chart.bar_arrays()[4][-1])
    b = broker_with_orders(last)
    lines = chart.order_lines
    lines.set_orders(b.open_orders("ACME"))
    book = DrawingBook()
    chart.set_drawing_book(book)
    settle(qtbot, chart)
    cancelled, asked, menus = [], [], []
    lines.cancel_requested.connect(cancelled.append)
    lines.modify_requested.connect(lambda oid, field, price: asked.append((oid, field, price)))
    lines.context_menu_requested.connect(lambda _pos, oid: menus.append(oid))
    vp = chart.graphics_view.viewport()
    entry = lines.items()[1]                                       # BUY LMT 100, the bracket's entry
    chart.drawings.arm(DrawingKind.HORIZONTAL_LINE)
    mouse.click(vp, close_point(chart, entry))
    assert cancelled == [] and b.order(1).is_open
    (hline,) = book.drawings("ACME")
    pixel = (chart.price.vb.viewRange()[1][1] - chart.price.vb.viewRange()[1][0]) / chart.price.vb.height()
    assert hline.kind is DrawingKind.HORIZONTAL_LINE and hline.points[0][1] == pytest.approx(entry.price,
                                                                                           abs=3 * pixel)
    stop = lines.items()[4]                                        # SELL STP 30
    start = label_point(chart, stop, 12)
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.drag(vp, start, QtCore.QPointF(start.x() - 200, start.y() + 60))
    assert asked == [] and stop.price == b.order(4).stop_price and not stop.pending
    assert [d.kind for d in book.drawings("ACME")] == [DrawingKind.HORIZONTAL_LINE, DrawingKind.TREND_LINE]
    # the tool is done: the lines are the order's again (a right-click on one asks for its menu)
    assert chart.drawings.tool is None
    mouse.click(vp, label_point(chart, lines.items()[6], 10), mouse.RIGHT)
    assert menus == [6]
