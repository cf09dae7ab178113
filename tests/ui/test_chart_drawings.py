"""Drawings with the mouse: horizontal line, trend line, rectangle, text note; select, move, move a
handle, delete; kept per symbol in the config's sidecar file and shown on every interval."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from tests.ui import mouse  # noqa: E402
from tests.ui.test_chart import make_bars, settle  # noqa: E402
from ui.widgets.chart import CandleChart, Drawing, DrawingBook, DrawingKind, sidecar_path  # noqa: E402
from ui.widgets.chart.bar_store import ChartBars, TimeMap, UtcOffsets  # noqa: E402

NS_MIN = 60_000_000_000


@pytest.fixture
def bars():
    return make_bars(400)


@pytest.fixture
def make_chart(qtbot, bars):
    def make(book: DrawingBook | None = None, interval: str = "1m", data=None) -> CandleChart:
        chart = CandleChart()
        chart.resize(1100, 650)
        qtbot.addWidget(chart)
        ts, o, h, low, c, v = data if data is not None else bars
        chart.set_bars(ts, o, h, low, c, v)
        if book is not None:
            chart.set_drawing_book(book)
        chart.set_title("ACME", interval)
        chart.set_visible_range(250, 380)
        chart.show()
        qtbot.waitExposed(chart)
        settle(qtbot, chart)
        return chart

    return make


def at(chart: CandleChart, x: float, price: float) -> QtCore.QPointF:
    """Viewport pixel of chart point (bar x, price)."""
    scene = chart.price.vb.mapViewToScene(QtCore.QPointF(x, chart._scale.y(price)))
    return QtCore.QPointF(chart.graphics_view.mapFromScene(scene))


def points_xy(chart: CandleChart, drawing: Drawing) -> list[tuple[float, float]]:
    return [(chart._time_map.x_of(t), p) for t, p in drawing.points]


def one_pixel(chart: CandleChart) -> tuple[float, float]:
    """(bars, price) one pixel spans."""
    (x0, x1), (y0, y1) = chart.price.vb.viewRange()
    return (x1 - x0) / chart.price.vb.width(), (y1 - y0) / chart.price.vb.height()


def test_trend_line_drawn_moved_by_its_handle_and_by_its_body_then_deleted(make_chart, bars, qtbot):
    ts, o, h, low, c, v = bars
    book = DrawingBook()
    chart = make_chart(book)
    vp = chart.graphics_view.viewport()
    dx, dp = one_pixel(chart)
    chart.drawings.arm(DrawingKind.TREND_LINE)
    a, b = at(chart, 300, 100.5), at(chart, 340, 100.85)
    mouse.drag(vp, a, b)  # press, drag, release
    (drawing,) = book.drawings("ACME")
    assert drawing.kind is DrawingKind.TREND_LINE and chart.drawings.tool is None
    assert chart.drawings.selected_id == drawing.id
    (x0, p0), (x1, p1) = points_xy(chart, drawing)
    assert x0 == pytest.approx(300, abs=2 * dx) and p0 == pytest.approx(100.5, abs=2 * dp)
    assert x1 == pytest.approx(340, abs=2 * dx) and p1 == pytest.approx(100.85, abs=2 * dp)
    # drag the second handle
    mouse.drag(vp, at(chart, x1, p1), at(chart, 360, 100.2))
    (moved,) = book.drawings("ACME")
    assert points_xy(chart, moved)[0] == pytest.approx((x0, p0))
    assert points_xy(chart, moved)[1] == pytest.approx((360, 100.2), abs=3 * max(dx, dp))
    # drag the body: both points move by the same bars and price
    (x0, p0), (x1, p1) = points_xy(chart, moved)
    mid = (at(chart, x0, p0) + at(chart, x1, p1)) / 2
    mouse.drag(vp, mid, mid + QtCore.QPointF(-60, 40))
    (shifted,) = book.drawings("ACME")
    (sx0, sp0), (sx1, sp1) = points_xy(chart, shifted)
    assert sx0 - x0 == pytest.approx(sx1 - x1, abs=1e-6) and sx0 - x0 == pytest.approx(-60 * dx, rel=0.05)
    assert sp0 - p0 == pytest.approx(sp1 - p1, abs=1e-9) and sp0 - p0 == pytest.approx(-40 * dp, rel=0.05)
    # Delete removes the selected drawing
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Delete)
    assert book.drawings("ACME") == [] and chart.drawings.items() == []


def test_click_click_trend_line_horizontal_line_and_rectangle_corners(make_chart, qtbot):
    book = DrawingBook()
    chart = make_chart(book)
    vp = chart.graphics_view.viewport()
    dx, dp = one_pixel(chart)
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.click(vp, at(chart, 280, 100.0))
    assert book.drawings("ACME") == []  # waits for the second point, a preview follows the mouse
    mouse.move(vp, at(chart, 300, 100.4))
    mouse.click(vp, at(chart, 320, 100.8))
    (trend,) = book.drawings("ACME")
    assert points_xy(chart, trend)[1] == pytest.approx((320, 100.8), abs=2 * max(dx, dp))
    chart.drawings.arm(DrawingKind.HORIZONTAL_LINE)
    mouse.click(vp, at(chart, 350, 100.6))
    hline = book.drawings("ACME")[-1]
    assert hline.kind is DrawingKind.HORIZONTAL_LINE and hline.points[0][1] == pytest.approx(100.6, abs=2 * dp)
    assert chart.price.axis.badge_text(f"drawing:{hline.id}") == f"{hline.points[0][1]:.2f}"
    chart.drawings.arm(DrawingKind.RECTANGLE)
    mouse.drag(vp, at(chart, 290, 100.8), at(chart, 330, 100.3))
    rect = book.drawings("ACME")[-1]
    (rx0, rp0), (rx1, rp1) = points_xy(chart, rect)
    # corner 1 (x of the second point, price of the first) moves only those two coordinates
    mouse.drag(vp, at(chart, rx1, rp0), at(chart, 345, 100.85))
    (nx0, np0), (nx1, np1) = points_xy(chart, book.get("ACME", rect.id))
    assert (nx0, np1) == pytest.approx((rx0, rp1))
    assert (nx1, np0) == pytest.approx((345, 100.85), abs=2 * max(dx, dp))


def test_text_note_is_typed_and_edited_with_a_double_click(make_chart, qtbot):
    book = DrawingBook()
    chart = make_chart(book)
    vp = chart.graphics_view.viewport()
    answers = iter(["breakout?", "breakout confirmed"])
    chart.drawings.ask_text = lambda initial: next(answers)
    chart.drawings.arm(DrawingKind.TEXT_NOTE)
    mouse.click(vp, at(chart, 300, 101.0))
    (note,) = book.drawings("ACME")
    assert note.kind is DrawingKind.TEXT_NOTE and note.text == "breakout?"
    box = chart.drawings.item(note.id).boundingRect().center()
    mouse.double_click(vp, QtCore.QPointF(chart.graphics_view.mapFromScene(chart.price.vb.mapToScene(box))))
    assert book.get("ACME", note.id).text == "breakout confirmed"
    chart.drawings.ask_text = lambda initial: None  # a cancelled note makes nothing
    chart.drawings.arm(DrawingKind.TEXT_NOTE)
    mouse.click(vp, at(chart, 320, 100.0))
    assert len(book.drawings("ACME")) == 1 and chart.drawings.tool is None


def test_escape_cancels_a_tool_and_clicking_away_deselects(make_chart, qtbot):
    book = DrawingBook()
    chart = make_chart(book)
    vp = chart.graphics_view.viewport()
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.click(vp, at(chart, 300, 100.0))
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Escape)
    assert chart.drawings.tool is None and chart.drawings.items() == []
    mouse.click(vp, at(chart, 320, 100.8))
    assert book.drawings("ACME") == []  # the pending point was dropped
    chart.drawings.arm(DrawingKind.HORIZONTAL_LINE)
    mouse.click(vp, at(chart, 300, 100.7))
    assert chart.drawings.selected_id is not None
    mouse.click(vp, at(chart, 330, 100.2))
    assert chart.drawings.selected_id is None


def test_drawings_are_saved_next_to_the_config_and_shown_on_every_interval(make_chart, bars, tmp_path, qtbot):
    ts, o, h, low, c, v = bars
    config = tmp_path / "session_configs" / "my_session.json"
    config.parent.mkdir()
    config.write_text("{}")
    path = sidecar_path(config)
    assert path == tmp_path / "session_configs" / "my_session.drawings.json"
    book = DrawingBook(path)
    chart = make_chart(book)
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.drag(chart.graphics_view.viewport(), at(chart, 300, 100.5), at(chart, 340, 100.85))
    (drawing,) = book.drawings("ACME")
    saved = json.loads(path.read_text())
    assert saved["symbols"]["ACME"][0]["kind"] == "trend_line"
    # reopened: the same drawing, times and prices exact
    again = DrawingBook(path)
    assert again.drawings("ACME") == [drawing] and again.drawings("BOLT") == []
    # a 5m chart of the same bars shows it at the same moments
    five = _five_minute(ts, o, h, low, c, v)
    chart5 = make_chart(again, interval="5m", data=five)
    item = chart5.drawings.item(drawing.id)
    x5 = [chart5._time_map.x_of(t) for t, _ in drawing.points]
    for t, x in zip((t for t, _ in drawing.points), x5, strict=True):
        i = int(np.searchsorted(five[0], t, side="right")) - 1
        assert x == pytest.approx(i - 0.5 + (t - five[0][i]) / (5 * NS_MIN))
    assert len(item.pixel_points()) == 2
    # an edit on one chart shows on the other chart of the symbol at once
    again.remove("ACME", drawing.id)
    assert chart5.drawings.items() == []


def _five_minute(ts, o, h, low, c, v):
    groups = (ts - ts[0]) // (5 * NS_MIN)
    starts = np.flatnonzero(np.diff(groups, prepend=-1))
    ends = np.append(starts[1:], len(ts))
    return (
        ts[starts],
        o[starts],
        np.maximum.reduceat(h, starts),
        np.minimum.reduceat(low, starts),
        c[ends - 1],
        np.add.reduceat(v, starts),
    )


def test_an_unreadable_drawings_file_is_kept_aside_not_overwritten(tmp_path):
    path = tmp_path / "cfg.drawings.json"
    path.write_text("{ this is not json")
    book = DrawingBook(path)
    assert book.load_problem is not None and "cannot be read" in book.load_problem
    kept = list(tmp_path.glob("cfg.drawings.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{ this is not json"
    book.add("ACME", Drawing.new(DrawingKind.HORIZONTAL_LINE, [(0, 10.0)]))
    assert json.loads(path.read_text())["symbols"]["ACME"][0]["kind"] == "horizontal_line"
    bad = tmp_path / "bad.drawings.json"
    bad.write_text(json.dumps({"format": "backtest-workstation drawings", "version": 1,
                               "symbols": {"ACME": [{"id": "x", "kind": "circle", "points": []}]}}))
    assert "circle" in DrawingBook(bad).load_problem


def test_time_map_round_trips_inside_between_and_beyond_the_bars():
    offsets = UtcOffsets(__import__("zoneinfo").ZoneInfo("America/New_York"))
    bars = ChartBars(offsets)
    ts, o, h, low, c, v = make_bars(800)  # two days of 390 bars and a few more
    bars.replace(ts, o, h, low, c, v)
    tmap = TimeMap(bars)
    tmap.bar_ns = NS_MIN
    for x in (-30.3, -0.5, 0.0, 17.25, 389.4, 390.0, 799.2, 820.7):
        assert tmap.x_of(tmap.time_of(x)) == pytest.approx(x, abs=1e-9)
    assert tmap.time_of(10.0) == ts[10] + NS_MIN // 2  # the middle of bar 10
    overnight = int(ts[389]) + 3 * 3_600_000_000_000  # between the sessions: end of the last bar
    assert 389.0 < tmap.x_of(overnight) < 389.5


def test_drawings_stay_at_their_price_when_the_view_rescales(make_chart, bars, qtbot):
    ts = bars[0]
    book = DrawingBook()
    chart = make_chart(book)
    hline = Drawing.new(DrawingKind.HORIZONTAL_LINE, [(int(ts[300]), 100.5)])
    book.add("ACME", hline)
    item = chart.drawings.item(hline.id)
    for move in (chart.go_to_first_bar, chart.jump_to_live, lambda: chart.set_log_scale(True)):
        move()  # each changes the x range and the y fit (no bar arrives, so no refresh lays them out)
        qtbot.wait(60)
        want = chart.price.vb.mapFromView(QtCore.QPointF(0.0, chart._scale.y(100.5))).y()
        assert item.pixel_points()[0].y() == pytest.approx(want, abs=0.5)


def test_the_note_dialog_keeps_the_text_with_ctrl_enter(qtbot):
    from ui.widgets.chart.note_dialog import NoteDialog

    dialog = NoteDialog(None, "")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.editor, "first line")
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.editor, "second")
    qtbot.keyClick(dialog.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.text() == "first line\nsecond"


def test_a_new_drawing_is_not_in_an_indicators_colour_and_its_menu_recolours_it(make_chart, tmp_path, qtbot):
    """A trend line drawn along the default SMA(20) was the SMA's own blue (#2962ff), so the two could not
    be told apart: a new drawing takes a colour no overlay of the window's charts uses, and its context
    menu's Colour entries recolour it (saved with the drawings, drawn in the new colour)."""
    from ui.main_window import DEFAULT_OVERLAYS, SECOND_CHART_OVERLAYS
    from ui.widgets.chart.chart_actions import ChartPoint
    from ui.widgets.chart.drawing_model import DRAWING_COLORS

    config = tmp_path / "cfg.json"
    config.write_text("{}")
    book = DrawingBook(sidecar_path(config))
    chart = make_chart(book)
    chart.set_overlays([*DEFAULT_OVERLAYS, *SECOND_CHART_OVERLAYS, "macd", "vwap"])
    used = {c.name().lower() for spec in chart.overlays() for c in chart.overlays_set.get(spec).colors.values()}
    assert "#2962ff" in used                                   # the SMA's blue: what a drawing was
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.drag(chart.graphics_view.viewport(), at(chart, 300, 100.5), at(chart, 340, 100.85))
    (drawing,) = book.drawings("ACME")
    assert drawing.color.lower() not in used
    assert drawing.color.lower() == chart.theme.new_drawing.lower() == DRAWING_COLORS[0][1].lower()
    # its context menu: Colour, the current one checked; Yellow recolours and saves it
    menu = chart.context_menu(ChartPoint(drawing.points[0][0], drawing.points[0][1], drawing.id))
    colours = next(a.menu() for a in menu.actions() if a.text() == "Colour")
    entries = {a.text().removesuffix("  ✓"): a for a in colours.actions()}
    assert list(entries) == [name for name, _ in DRAWING_COLORS]
    assert [a.text() for a in entries.values() if a.isChecked()] == ["White  ✓"]
    entries["Yellow"].trigger()
    (recoloured,) = book.drawings("ACME")
    assert recoloured.color == "#ffeb3b" and recoloured.points == drawing.points
    assert json.loads(sidecar_path(config).read_text())["symbols"]["ACME"][0]["color"] == "#ffeb3b"
    chart.drawings.select(None)
    settle(qtbot, chart)
    # drawn in it: the pixel at the line's middle is yellow
    mid = (at(chart, 300, 100.5) + at(chart, 340, 100.85)) / 2
    image = chart.graphics_view.viewport().grab().toImage()
    near = [image.pixelColor(int(mid.x()) + dx, int(mid.y()) + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert any(c.red() > 200 and c.green() > 200 and c.blue() < 120 for c in near)


def test_a_second_point_on_another_drawing_finishes_the_new_one(make_chart, qtbot):
    """With the trend line tool armed and its first point placed, the second click landed on an existing
    trend line: it selected that line and the new one stayed unfinished. The tool takes the click."""
    book = DrawingBook()
    chart = make_chart(book)
    vp = chart.graphics_view.viewport()
    dx, dp = one_pixel(chart)
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.drag(vp, at(chart, 280, 100.2), at(chart, 340, 100.8))
    (first,) = book.drawings("ACME")
    chart.drawings.select(None)
    # a point on the first line, half way along it
    (x0, p0), (x1, p1) = points_xy(chart, first)
    on_line = ((x0 + x1) / 2, (p0 + p1) / 2)
    chart.drawings.arm(DrawingKind.TREND_LINE)
    mouse.click(vp, at(chart, 290, 100.0))
    mouse.move(vp, at(chart, 300, 100.2))
    mouse.click(vp, at(chart, *on_line))
    drawings = book.drawings("ACME")
    assert len(drawings) == 2 and chart.drawings.tool is None
    second = drawings[1]
    assert points_xy(chart, second)[1] == pytest.approx(on_line, abs=2 * max(dx, dp))
    assert chart.drawings.selected_id == second.id and book.get("ACME", first.id) == first
    # with the pointer back, a click on the first line (away from the second) selects it
    mouse.click(vp, at(chart, x0 + 0.8 * (x1 - x0), p0 + 0.8 * (p1 - p0)))
    assert chart.drawings.selected_id == first.id
