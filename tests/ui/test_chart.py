"""Tests of the chart widget and its panel (offscreen, pytest-qt): bars, overlays, axes, crosshair."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtGui  # noqa: E402

from ui.widgets.chart import INDICATOR_CHOICES, CandleChart, ChartPanel  # noqa: E402
from workstation.indicators import compute_series  # noqa: E402

NS_MIN = 60_000_000_000


def make_bars(
    n: int,
    first_day: str = "2024-11-25",
    utc_open_minute: int = 14 * 60 + 30,
    per_day: int = 390,
    seed: int = 3,
):
    """n one-minute bars of a cent random walk: `per_day` bars per weekday from `utc_open_minute` UTC."""
    rng = np.random.default_rng(seed)
    days = np.busday_offset(np.datetime64(first_day), np.arange(n // per_day + 1), roll="forward")
    day_ns = days.astype("datetime64[ns]").astype(np.int64)
    i = np.arange(n)
    ts = day_ns[i // per_day] + utc_open_minute * NS_MIN + (i % per_day) * NS_MIN
    close = np.round(100 + np.cumsum(rng.normal(0, 0.05, n)), 2)
    open_ = np.round(np.concatenate([[100.0], close[:-1]]), 2)
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0, 0.03, n)), 2)
    low = np.round(np.minimum(open_, close) - np.abs(rng.normal(0, 0.03, n)), 2)
    volume = np.round(rng.lognormal(7, 0.5, n))
    return ts.astype(np.int64), open_, high, low, close, volume


@pytest.fixture
def chart(ui_chart):
    return ui_chart


def settle(qtbot, w: CandleChart) -> None:
    """Let the coalesced refresh run and force a full paint."""
    qtbot.wait(1)
    w.refresh()
    w.grab()


def test_set_and_append_bars_store_arrays_with_doubling(chart, qtbot):
    ts, o, h, low, c, v = make_bars(2100)
    chart.set_bars(ts[:2000], o[:2000], h[:2000], low[:2000], c[:2000], v[:2000])
    assert chart.bar_count == 2000
    cap0 = chart.capacity
    for k in range(2000, 2100):
        chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
    got = chart.bar_arrays()
    for arr, want in zip(got, (ts, o, h, low, c, v), strict=True):
        np.testing.assert_array_equal(arr, want[:2100])
    assert chart.bar_count == 2100
    assert chart.capacity >= 2100 and chart.capacity in (cap0, 2 * cap0)
    settle(qtbot, chart)
    assert chart.following


def test_append_only_touches_last_chunk(chart, qtbot):
    ts, o, h, low, c, v = make_bars(2040)
    chart.set_bars(ts[:2000], o[:2000], h[:2000], low[:2000], c[:2000], v[:2000])
    chart.set_visible_range(1200, 2010)  # fewer bars than pixels: drawn candle by candle
    settle(qtbot, chart)
    items = chart.candles
    cs = items.chunk_size
    assert items.cached_chunks() == list(range(1200 // cs, 1999 // cs + 1))
    chunks_before = {c: items._chunks[c] for c in items.cached_chunks()}
    for k in range(2000, 2040):
        builds = len(items.build_log)
        chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
        chart.set_visible_range(1200, k + 10)
        settle(qtbot, chart)
        assert list(items.build_log)[builds:] == [k // cs]  # exactly the open chunk, once
    for ci, chunk in chunks_before.items():
        if ci < 1999 // cs:
            assert items._chunks[ci] is chunk  # completed chunks untouched
    last = items._chunks[2039 // cs]
    assert last.stop == 2040
    drawn = np.sort(np.concatenate(last.idx))
    np.testing.assert_array_equal(drawn, np.arange(last.start, 2040))
    up = drawn[c[drawn] >= o[drawn]]
    np.testing.assert_array_equal(last.idx[0], up)
    np.testing.assert_allclose(last.glyphs[0][0][:, 3], h[up])  # wick tops at the highs


def test_follow_mode_pan_and_jump_to_live(chart, qtbot):
    ts, o, h, low, c, v = make_bars(600)
    chart.set_bars(ts[:500], o[:500], h[:500], low[:500], c[:500], v[:500])
    settle(qtbot, chart)
    x0, x1 = chart.visible_range()
    assert chart.following and x0 < 499 < x1 and x1 - x0 == pytest.approx(chart.DEFAULT_VISIBLE_BARS)
    chart.append_bar(ts[500], o[500], h[500], low[500], c[500], v[500])
    settle(qtbot, chart)
    assert chart.visible_range()[1] == pytest.approx(x1 + 1)
    assert not chart.live_button.isVisible()

    # a user pan to the left (as pyqtgraph's mouse drag does) stops following
    vb = chart.price.vb
    vb.translateBy(x=-200)
    vb.sigRangeChangedManually.emit([True, False])
    settle(qtbot, chart)
    assert not chart.following
    assert chart.live_button.isVisible()
    # in the corner below the price axis: over no pane (it hid the newest bars), inside the chart
    view = chart.graphics_view
    button = chart.live_button.geometry()
    for pane in chart.panes.all():
        scene = pane.vb.sceneBoundingRect()
        top_left = view.mapTo(chart, view.mapFromScene(scene.topLeft()))
        bottom_right = view.mapTo(chart, view.mapFromScene(scene.bottomRight()))
        assert not QtCore.QRect(top_left, bottom_right).intersects(button), (pane.name, button)
    assert chart.rect().contains(button)
    frozen = chart.visible_range()
    for k in range(501, 510):
        chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
    settle(qtbot, chart)
    assert chart.visible_range() == pytest.approx(frozen)

    qtbot.mouseClick(chart.live_button, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, chart)
    assert chart.following and not chart.live_button.isVisible()
    x0, x1 = chart.visible_range()
    assert x0 < 509 < x1

    # zooming while following keeps following with the new width
    chart.set_visible_range(x1 - 60, x1)
    settle(qtbot, chart)
    assert chart.following
    chart.append_bar(ts[510], o[510], h[510], low[510], c[510], v[510])
    settle(qtbot, chart)
    x0, x1 = chart.visible_range()
    assert x1 - x0 == pytest.approx(60) and x0 < 510 < x1

    chart.show_bar_at(ts[100] + 30 * 10**9)
    settle(qtbot, chart)
    x0, x1 = chart.visible_range()
    assert not chart.following and (x0 + x1) / 2 == pytest.approx(100)
    chart.jump_to_live()
    assert chart.following


def test_y_range_fits_visible_bars(chart, qtbot):
    ts, o, h, low, c, v = make_bars(800)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_visible_range(100, 200)
    qtbot.wait(60)
    settle(qtbot, chart)
    (_, _), (y0, y1) = chart.price.vb.viewRange()
    lo, hi = low[100:201].min(), h[100:201].max()
    assert y0 < lo and y1 > hi
    assert (y1 - y0) < 1.5 * (hi - lo)
    (_, _), (v0, v1) = chart.volume.vb.viewRange()
    assert v0 == 0 and v[100:201].max() < v1 < 1.3 * v[100:201].max()


def test_forming_bar_set_clear_and_replaced_by_append(chart, qtbot):
    ts, o, h, low, c, v = make_bars(302)
    chart.set_bars(ts[:300], o[:300], h[:300], low[:300], c[:300], v[:300])
    chart.set_forming(ts[300], 101.0, 150.0, 99.0, 100.5, 42.0)
    settle(qtbot, chart)
    assert chart.forming == (ts[300], 101.0, 150.0, 99.0, 100.5, 42.0)
    assert chart.display.forming_item._x == 300
    assert chart.price.vb.viewRange()[1][1] > 150.0  # the y fit includes the forming bar
    assert "(forming)" in chart.readout_text()
    chart.clear_forming()
    settle(qtbot, chart)
    assert chart.forming is None and chart.display.forming_item.boundingRect().isEmpty()
    chart.set_forming(ts[300], 101.0, 102.0, 99.0, 100.5, 42.0)
    chart.append_bar(ts[300], o[300], h[300], low[300], c[300], v[300])
    assert chart.forming is None and chart.bar_count == 301


def test_markers_at_bar_index(chart, qtbot):
    ts, o, h, low, c, v = make_bars(400)
    chart.set_bars(ts[:399], o[:399], h[:399], low[:399], c[:399], v[:399])
    chart.set_forming(ts[399], o[399], h[399], low[399], c[399], v[399])
    chart.add_marker(ts[10], 100.1, "buy")
    chart.add_marker(ts[20] + 59 * 10**9, 100.2, "sell")
    chart.add_marker(ts[0] - 1, 99.0, "buy")  # before the first bar: not drawn
    chart.add_marker(ts[399] + 5, 100.3, "sell")  # in the forming bar
    settle(qtbot, chart)
    assert chart.marker_positions() == [(10, 100.1, "buy"), (20, 100.2, "sell"), (399, 100.3, "sell")]
    with pytest.raises(ValueError, match="side"):
        chart.add_marker(ts[5], 1.0, "long")
    chart.clear_markers()
    assert chart.marker_positions() == []
    placed = []
    chart.markers.item.set_markers = lambda *args, f=chart.markers.item.set_markers: (placed.append(1), f(*args))
    chart.add_markers([(ts[10], 100.1, "buy"), (ts[20] + 59 * 10**9, 100.2, "sell"), (ts[0] - 1, 99.0, "buy"),
                       (ts[399] + 5, 100.3, "sell")])
    assert chart.marker_positions() == [(10, 100.1, "buy"), (20, 100.2, "sell"), (399, 100.3, "sell")]
    assert len(placed) == 1                     # placed once for the block, not once per fill
    with pytest.raises(ValueError, match="side"):
        chart.add_markers([(ts[30], 1.0, "buy"), (ts[31], 1.0, "long")])
    assert len(chart.marker_positions()) == 3   # nothing of a refused block is kept


def test_overlays_series_and_sub_panes(chart, qtbot):
    ts, o, h, low, c, v = make_bars(1300)
    chart.set_bars(ts[:1200], o[:1200], h[:1200], low[:1200], c[:1200], v[:1200])
    chart.set_overlays(["sma(20)", "bb(20,2)", "vwap"])
    assert chart.sub_pane_count == 0
    assert chart.overlays() == ["sma(20)", "bb(20,2)", "vwap"]
    chart.set_overlays(["sma(20)", "bb(20,2)", "vwap", "rsi(14)"])
    assert chart.sub_pane_count == 1
    chart.set_overlays(["sma(20)", "bb(20,2)", "vwap", "rsi(14)", "macd(12,26,9)", "ema(20)"])
    assert chart.sub_pane_count == 2
    for k in range(1200, 1300):
        chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
    settle(qtbot, chart)
    days = (ts - 5 * 3600 * 10**9) // (86400 * 10**9)  # EST dates of these bars
    session_start = np.concatenate([[True], days[1:] != days[:-1]])
    for spec in chart.overlays():
        got = chart.overlay_series(spec)
        want = compute_series(spec, o, h, low, c, v, session_start=session_start if spec == "vwap" else None)
        assert set(got) == set(want)
        for key, arr in got.items():
            assert len(arr) == 1300
            np.testing.assert_allclose(
                arr, want[key], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=f"{spec}:{key}"
            )
    assert np.isnan(chart.overlay_series("sma(20)")["value"][:19]).all()
    chart.set_overlays(["sma(20)"])
    assert chart.sub_pane_count == 0
    with pytest.raises(KeyError):
        chart.overlay_series("rsi(14)")
    with pytest.raises(ValueError, match=r"^indicator spec 'sma\(x\)': period must be an integer, got 'x'$"):
        chart.set_overlays(["sma(x)"])
    with pytest.raises(ValueError, match=r"^unknown indicator 'wma' in spec 'wma\(10\)'"):
        chart.set_overlays(["wma(10)"])


def test_time_axis_labels_in_exchange_zone(chart, qtbot):
    # winter: 14:00 UTC = 09:00 EST, so the 14:30 UTC bar is the 31st of the day
    ts, o, h, low, c, v = make_bars(800, first_day="2024-11-26", utc_open_minute=14 * 60, per_day=400)
    chart.set_bars(ts, o, h, low, c, v)
    settle(qtbot, chart)
    axis = chart.time_axis
    i = int(
        np.flatnonzero(ts == np.datetime64("2024-11-26T14:30").astype("datetime64[ns]").astype(np.int64))[0]
    )
    assert axis.tickStrings([float(i)], 1.0, 1.0) == ["09:30"]
    assert axis.label_for_index(i + 15) == "09:45"
    # a view over the day change labels the first bar of Nov 27 with its date
    levels = axis.tickValues(300.0, 500.0, 900.0)
    values = levels[0][1]
    strings = axis.tickStrings(values, 1.0, 1.0)
    assert 400.0 in values and strings[values.index(400.0)] == "Nov 27"
    assert all(s[2] == ":" for v_, s in zip(values, strings, strict=True) if v_ != 400.0)
    gaps = np.diff(values)
    assert gaps.min() * 900.0 / 200.0 >= axis.min_label_px - 1e-6  # labels never crowd
    # zoomed in further, labels are denser (adaptive)
    fine = axis.tickValues(300.0, 340.0, 900.0)[0][1]
    assert len(fine) >= 4 and np.diff(fine).min() < gaps.min()
    # summer (EDT): 13:30 UTC is 09:30
    ts2, *_ = make_bars(10, first_day="2024-07-09", utc_open_minute=13 * 60 + 30)
    chart.set_bars(ts2, *(np.full(10, 100.0),) * 4, np.full(10, 1.0))
    assert chart.time_axis.label_for_index(0) == "09:30"


def test_crosshair_readout_shows_hovered_bar(chart, qtbot):
    ts, o, h, low, c, v = make_bars(300)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_overlays(["sma(20)", "rsi(14)"])
    chart.set_title("ACME", "1m")
    settle(qtbot, chart)
    i = 250
    chart.set_crosshair(i + 0.2, float(c[i]))
    text = chart.readout_text()
    for label, val in (("O", o[i]), ("H", h[i]), ("L", low[i]), ("C", c[i])):
        assert f"{label} {val:.2f}" in text
    sma = chart.overlay_series("sma(20)")["value"][i]
    assert f"SMA(20) {sma:.2f}" in text
    assert "RSI(14) " in text
    assert chart.price.axis.badge_text("cross") == f"{c[i]:.2f}"
    assert chart.price.cross_v.isVisible() and chart.volume.cross_v.isVisible()
    # the mouse handler maps scene positions to the same call
    vb = chart.price.vb
    chart.crosshair.mouse_moved(vb.mapViewToScene(QtCore.QPointF(230.0, float(c[230]))))
    assert f"O {o[230]:.2f}" in chart.readout_text()
    chart.clear_crosshair()
    assert f"C {c[-1]:.2f}" in chart.readout_text() and not chart.price.cross_v.isVisible()


def test_title_shows_symbol_interval_last_and_change(chart, qtbot):
    ts, o, h, low, c, v = make_bars(780)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_title("ACME", "5m")
    settle(qtbot, chart)
    title = chart.title_text()
    prev_close = c[389]
    change = c[-1] - prev_close
    assert title.startswith("ACME \u00b7 5m")
    assert f"{c[-1]:.2f}" in title and f"{change:+.2f}" in title
    assert chart.price.axis.badge_text("last") == f"{c[-1]:.2f}"


def test_decimated_view_of_100k_bars(chart, qtbot):
    ts, o, h, low, c, v = make_bars(100_000)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_visible_range(-10, 100_010)
    settle(qtbot, chart)
    assert chart.candles.decimated_paints > 0 and chart.volume_bars.decimated_paints > 0
    assert chart.candles.cached_chunks() == []  # nothing drawn candle by candle
    img = chart.grab().toImage()
    assert _has_colour(img, chart.theme.up) and _has_colour(img, chart.theme.down)


def _has_colour(img: QtGui.QImage, hex_colour: str, tol: int = 40) -> bool:
    target = QtGui.QColor(hex_colour)
    for y in range(0, img.height(), 3):
        for x in range(0, img.width(), 3):
            px = img.pixelColor(x, y)
            if (
                abs(px.red() - target.red())
                + abs(px.green() - target.green())
                + abs(px.blue() - target.blue())
                < tol
            ):
                return True
    return False


def test_validation_errors(chart):
    ts, o, h, low, c, v = make_bars(10)
    with pytest.raises(ValueError, match="close has 9"):
        chart.set_bars(ts, o, h, low, c[:9], v)
    with pytest.raises(ValueError, match="ascending"):
        chart.set_bars(ts[::-1], o, h, low, c, v)
    chart.set_bars(ts, o, h, low, c, v)
    with pytest.raises(ValueError, match="not after the last bar"):
        chart.append_bar(ts[5], 1, 1, 1, 1, 1)
    chart.clear()
    assert chart.bar_count == 0 and chart.following


def test_chart_panel_signals_and_screenshot(qtbot, tmp_path):
    panel = ChartPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.set_symbols(["AAA", "BBB"])
    panel.set_intervals(["1m", "5m"])
    assert panel.current_symbol() == "AAA" and panel.current_interval() == "1m"
    with qtbot.waitSignal(panel.symbol_changed) as sym:
        panel.symbol_combo.setCurrentIndex(1)
    assert sym.args == ["BBB"] and panel.current_symbol() == "BBB"
    with qtbot.waitSignal(panel.interval_changed) as itv:
        panel.set_current_interval("5m")
    assert itv.args == ["5m"]
    assert panel.chart.title_text().startswith("BBB \u00b7 5m")
    menu = [a.text() for a in panel.indicator_menu.actions() if not a.isSeparator()]
    assert menu == [t for t, _ in INDICATOR_CHOICES] + ["Add indicator…"]
    with qtbot.waitSignal(panel.overlays_changed) as ov:
        panel.indicator_actions["rsi(14)"].setChecked(True)
    assert (
        ov.args == [["rsi(14)"]] and panel.chart.overlays() == ["rsi(14)"] and panel.chart.sub_pane_count == 1
    )
    with qtbot.waitSignal(panel.overlays_changed) as ov:
        panel.indicator_actions["sma(20)"].trigger()
    assert ov.args == [["sma(20)", "rsi(14)"]]

    ts, o, h, low, c, v = make_bars(600)
    chart = panel.chart
    panel.set_checked_overlays(["sma(20)", "bb(20,2)", "rsi(14)"])
    chart.set_bars(ts[:599], o[:599], h[:599], low[:599], c[:599], v[:599])
    chart.set_forming(ts[599], o[599], h[599], low[599], c[599], v[599] / 3)
    for j, i in enumerate(range(500, 590, 15)):
        chart.add_marker(ts[i], float(low[i] if j % 2 == 0 else h[i]), "buy" if j % 2 == 0 else "sell")
    panel.show()
    qtbot.waitExposed(panel)
    settle(qtbot, chart)
    assert not panel.live_action.isEnabled()
    chart.set_visible_range(100, 220)
    assert panel.live_action.isEnabled()
    panel.live_action.trigger()
    assert chart.following and not panel.live_action.isEnabled()
    settle(qtbot, chart)
    path = tmp_path / "chart_shot.png"
    assert panel.grab().save(str(path))
    img = QtGui.QImage(str(path))
    assert img.width() == 1200 and img.height() == 700
    assert _has_colour(img, chart.theme.up) and _has_colour(img, chart.theme.down)


class _ViewportPaints(QtCore.QObject):
    """Counts the paint events of one widget."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget
        self.count = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self.widget and event.type() == QtCore.QEvent.Type.Paint:
            self.count += 1
        return False


def test_each_refresh_paints_the_chart_once(chart, qtbot):
    """Appending bars and refreshing N times (the follow mode moves the view each time) paints the chart
    about N times, not twice as often: pyqtgraph's view boxes move to the new range before the paint, not
    during it (moving during the paint queued a second paint of the whole chart)."""
    ts, o, h, low, c, v = make_bars(600)
    chart.set_overlays(["sma(20)"])
    chart.set_bars(ts[:400], o[:400], h[:400], low[:400], c[:400], v[:400])
    chart.resize(900, 500)
    chart.show()
    qtbot.waitExposed(chart)
    settle(qtbot, chart)
    QtGui.QGuiApplication.processEvents()
    viewport = chart.graphics_view.viewport()
    paints = _ViewportPaints(viewport)
    viewport.installEventFilter(paints)
    refreshes = 20
    try:
        for r in range(refreshes):
            for k in range(400 + 10 * r, 410 + 10 * r):
                chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
            chart.refresh()
            for _ in range(3):
                QtGui.QGuiApplication.processEvents()
    finally:
        viewport.removeEventFilter(paints)
    assert chart.bar_count == 600
    assert refreshes // 2 <= paints.count <= refreshes + 2, paints.count


def test_append_bars_at_once_equals_appending_them_one_by_one(qtbot, ui_chart):
    """A block of bars crossing a day boundary and a reallocation: the same arrays, extremes, day start,
    previous day's close, bar width and overlay series as appending each bar, and a forming bar it
    passes is dropped; out-of-order blocks are refused."""
    ts, o, h, low, c, v = make_bars(1300)
    one = CandleChart()
    qtbot.addWidget(one)
    for w in (ui_chart, one):
        w.set_overlays(["sma(20)", "vwap"])
        w.set_bars(ts[:300], o[:300], h[:300], low[:300], c[:300], v[:300])
        w.set_forming(int(ts[450]), 1.0, 1.0, 1.0, 1.0, 1.0)
    ui_chart.append_bars(ts[300:1100], o[300:1100], h[300:1100], low[300:1100], c[300:1100], v[300:1100])
    for k in range(300, 1100):
        one.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
    for w in (ui_chart, one):
        settle(qtbot, w)
    for got, want in zip(ui_chart.bar_arrays(), one.bar_arrays(), strict=True):
        np.testing.assert_array_equal(got, want)
    a, b = ui_chart._bars, one._bars
    np.testing.assert_array_equal(a.local_ns[:a.n], b.local_ns[:b.n])
    assert (a.low_min, a.high_max, a.volume_max, a.day_start) == (b.low_min, b.high_max, b.volume_max, b.day_start)
    assert a.day_start == 780 and a.prev_day_close == b.prev_day_close == c[779]
    assert a.forming is None and b.forming is None
    assert ui_chart.time_axis.bar_minutes == one.time_axis.bar_minutes
    for spec in ("sma(20)", "vwap"):
        for key in ui_chart.overlays_set.get(spec).keys:
            np.testing.assert_array_equal(ui_chart.overlays_set.get(spec).series[key][:1100],
                                          one.overlays_set.get(spec).series[key][:1100])
    np.testing.assert_allclose(ui_chart.overlays_set.get("sma(20)").series["value"][1099], c[1080:1100].mean())
    with pytest.raises(ValueError, match="not after the last bar"):
        ui_chart.append_bars(ts[1050:1200], o[1050:1200], h[1050:1200], low[1050:1200], c[1050:1200], v[1050:1200])
    with pytest.raises(ValueError, match="strictly ascending"):
        ui_chart.append_bars(ts[[1101, 1100]], o[:2], h[:2], low[:2], c[:2], v[:2])
    assert ui_chart.bar_count == 1100


@pytest.mark.parametrize("which", ["indicator", "view"])
def test_a_menu_button_drops_its_hover_highlight_when_its_menu_closes_with_the_mouse_elsewhere(qtbot, which):
    """Picking an item further down a toolbar menu leaves the mouse over the chart, but the button got no
    leave event while its menu held the mouse and stayed highlighted (seen in Xvfb with real input)."""
    panel = ChartPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    qtbot.waitExposed(panel)
    button, menu = ((panel.indicator_button, panel.indicator_menu) if which == "indicator"
                    else (panel.view_button, panel.view_menu))
    away = panel.chart.mapToGlobal(panel.chart.rect().center())
    QtGui.QCursor.setPos(away)
    button.setAttribute(QtCore.Qt.WidgetAttribute.WA_UnderMouse, True)    # as the press left it
    assert button.underMouse()
    menu.popup(button.mapToGlobal(button.rect().bottomLeft()))
    qtbot.waitUntil(menu.isVisible)
    menu.hide()
    qtbot.waitUntil(lambda: not button.underMouse(), timeout=2000)
    # with the mouse really over it, it keeps the highlight
    button.setAttribute(QtCore.Qt.WidgetAttribute.WA_UnderMouse, True)
    QtGui.QCursor.setPos(button.mapToGlobal(button.rect().center()))
    if not button.rect().contains(button.mapFromGlobal(QtGui.QCursor.pos())):
        pytest.skip("this platform does not move the cursor")
    menu.popup(button.mapToGlobal(button.rect().bottomLeft()))
    qtbot.waitUntil(menu.isVisible)
    menu.hide()
    qtbot.wait(50)
    assert button.underMouse()


@pytest.mark.parametrize("digits, scale, shown", [(2, 1.0, 2), (3, 1.0007, 3), (5, 0.0108, 5), (4, 0.002, 4)])
def test_prices_show_the_decimals_their_data_carries(chart, qtbot, digits, scale, shown):
    """EURUSD's 1.08002 was shown as 1.08 (the chart showed 2 decimals at or above 1.00, 4 below): its
    open, high, low and close all read alike. Prices show the finest unit their data carries (2 to 6)."""
    ts, o, h, low, c, v = make_bars(400)
    o, h, low, c = (np.round(x * scale, digits) for x in (o, h, low, c))
    with qtbot.waitSignal(chart.price_decimals_changed, timeout=1000, raising=False):
        chart.set_bars(ts, o, h, low, c, v)
    assert chart.price.axis.decimals == shown
    chart.set_title("EURUSD", "1m")
    settle(qtbot, chart)
    assert f"{c[-1]:.{shown}f}" in chart.title_text() and chart.price.axis.badge_text("last") == f"{c[-1]:.{shown}f}"


def test_a_replay_without_history_widens_the_decimals_with_its_first_bars(chart, qtbot):
    ts, o, h, low, c, v = make_bars(100)
    o, h, low, c = (np.round(x * 0.0108, 5) for x in (o, h, low, c))
    chart.set_bars(ts[:0], o[:0], h[:0], low[:0], c[:0], v[:0])      # a run that starts with no bar
    assert chart.price.axis.decimals == 2
    with qtbot.waitSignal(chart.price_decimals_changed, timeout=2000) as signal:
        chart.append_bars(ts[:10], o[:10], h[:10], low[:10], c[:10], v[:10])
    assert signal.args == [5] and chart.price.axis.decimals == 5
    adjusted = make_bars(50)[4] / 1.0137                              # dividend-adjusted: on no decimal grid
    chart.set_bars(ts[:50], adjusted, adjusted, adjusted, adjusted, v[:50])
    assert chart.price.axis.decimals == 2                             # cents, as before, for such prices


def test_a_chart_without_bars_says_so_until_its_first_bar(chart, qtbot):
    """Bare axes (a price scale 0 to 1, no times) looked broken before a replay's first bar when the store
    holds nothing before its start: the chart says "No bars yet" over its price pane, and the hint goes with
    the first bar (completed or forming) and comes back when the bars are replaced by none."""
    chart.resize(900, 500)
    chart.show()
    qtbot.waitExposed(chart)
    settle(qtbot, chart)
    hint = chart.empty_hint
    assert hint.isVisible() and "No bars yet" in hint.text()
    pane = chart.graphics_view.mapFromScene(chart.price.vb.sceneBoundingRect()).boundingRect()
    centre = chart.graphics_view.mapTo(chart, pane.center())
    assert abs(hint.geometry().center().x() - centre.x()) <= 2 and abs(hint.geometry().center().y() - centre.y()) <= 2
    ts, o, h, low, c, v = make_bars(3)
    chart.set_forming(int(ts[0]), o[0], h[0], low[0], c[0], v[0])
    settle(qtbot, chart)
    assert not hint.isVisible()                     # a forming bar is a bar on screen
    chart.clear_forming()
    settle(qtbot, chart)
    assert hint.isVisible()
    chart.append_bars(ts, o, h, low, c, v)
    settle(qtbot, chart)
    assert not hint.isVisible()
    chart.set_bars(ts[:0], o[:0], h[:0], low[:0], c[:0], v[:0])
    settle(qtbot, chart)
    assert hint.isVisible()
