"""The chart's view: engine indicator specs, the crosshair read-out while bars arrive, few bars,
chart types (line, Heikin-Ashi), log scale, Home/End/reset zoom, keys, the context menu, PNG."""

from __future__ import annotations

import math
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from tests.ui.test_chart import _has_colour, make_bars, settle  # noqa: E402
from ui.widgets.chart import ChartPanel, ChartType, DrawingKind  # noqa: E402
from ui.widgets.chart.chart_actions import ChartPoint  # noqa: E402
from workstation.indicators import compute_series  # noqa: E402


@pytest.fixture
def chart(ui_chart):
    return ui_chart


def test_the_chart_accepts_every_spec_the_engine_accepts(chart, qtbot):
    ts, o, h, low, c, v = make_bars(400)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_overlays(["rsi", "bb", "atr(14)", "Bollinger(20, 2)"])
    assert chart.overlays() == ["rsi(14)", "bb(20,2)", "atr(14)"]  # canonical, duplicates folded
    assert chart.sub_pane_count == 2  # rsi and atr below, bb on the price
    for spec in ("rsi", "bb", "atr(14)"):
        got = chart.overlay_series(spec)
        want = compute_series(spec, o, h, low, c, v)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, equal_nan=True)
    settle(qtbot, chart)
    assert "ATR(14) " in chart.readout_text() and "RSI(14) " in chart.readout_text()
    with pytest.raises(ValueError, match="unknown indicator 'wma' in spec 'wma\\(3\\)'"):
        chart.set_overlays(["wma(3)"])


def test_crosshair_readout_follows_the_resting_mouse_while_bars_arrive(chart, qtbot):
    ts, o, h, low, c, v = make_bars(400, seed=9)
    chart.set_bars(ts[:300], o[:300], h[:300], low[:300], c[:300], v[:300])
    settle(qtbot, chart)
    assert chart.following
    vb = chart.price.vb
    scene_pos = vb.mapViewToScene(QtCore.QPointF(280.0, float(c[280])))  # the mouse rests here
    chart.crosshair.mouse_moved(scene_pos)
    assert f"O {o[280]:.2f} H {h[280]:.2f}" in chart.readout_text()
    for k in range(300, 330):  # play: 30 bars arrive, the view scrolls left under the mouse
        chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
    settle(qtbot, chart)
    under = int(round(vb.mapSceneToView(scene_pos).x()))
    assert under == 310  # the view moved by 30 bars
    text = chart.readout_text()
    assert f"O {o[under]:.2f} H {h[under]:.2f} L {low[under]:.2f} C {c[under]:.2f}" in text
    assert chart.crosshair.x == pytest.approx(vb.mapSceneToView(scene_pos).x())
    # the vertical line stays at the mouse (on the bar under it)
    line_px = chart.price.cross_v.pos().x()
    assert abs(line_px - vb.mapFromScene(scene_pos).x()) <= vb.width() / (chart.visible_range()[1] - chart.visible_range()[0])


def test_few_bars_fill_the_chart_from_the_first_bar(chart, qtbot):
    ts, o, h, low, c, v = make_bars(52)  # e.g. two days of 15m bars before the first session
    chart.set_bars(ts, o, h, low, c, v)
    settle(qtbot, chart)
    x0, x1 = chart.visible_range()
    assert x0 >= -1.0  # no empty left part
    assert (chart.bar_count - 1 - x0) / (x1 - x0) > 0.85  # the bars span the width
    assert chart.following
    # very few bars: not wider than MAX_BAR_PX each
    chart.set_bars(ts[:3], o[:3], h[:3], low[:3], c[:3], v[:3])
    settle(qtbot, chart)
    x0, x1 = chart.visible_range()
    assert x0 >= -1.0 and chart.price.vb.width() / (x1 - x0) <= chart.viewport.MAX_BAR_PX + 1e-6
    # more bars than the zoom: follow mode shows the zoom width at the newest bar
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_visible_range(20.0, 55.0)
    for tk, ok, hk, lk, ck, vk in zip(*make_bars(40, first_day="2024-12-02"), strict=True):
        chart.append_bar(tk, ok, hk, lk, ck, vk)
    settle(qtbot, chart)
    x0, x1 = chart.visible_range()
    assert x1 - x0 == pytest.approx(35.0) and x1 == pytest.approx(chart.bar_count - 1 + 0.5 + 4)


def _heikin_ashi_reference(o, h, low, c):
    n = len(o)
    ho, hc = np.empty(n), np.empty(n)
    hh, hl = np.empty(n), np.empty(n)
    for i in range(n):
        hc[i] = (o[i] + h[i] + low[i] + c[i]) / 4
        ho[i] = (o[0] + c[0]) / 2 if i == 0 else (ho[i - 1] + hc[i - 1]) / 2
        hh[i] = max(h[i], ho[i], hc[i])
        hl[i] = min(low[i], ho[i], hc[i])
    return ho, hh, hl, hc


def test_heikin_ashi_candles_equal_a_reference_loop_when_set_and_appended(chart, qtbot):
    ts, o, h, low, c, v = make_bars(700)
    chart.set_bars(ts[:600], o[:600], h[:600], low[:600], c[:600], v[:600])
    chart.set_chart_type(ChartType.HEIKIN_ASHI)
    for k in range(600, 700):
        chart.append_bar(ts[k], o[k], h[k], low[k], c[k], v[k])
    settle(qtbot, chart)
    ha = chart.display.heikin_ashi
    for got, want in zip((ha.open, ha.high, ha.low, ha.close), _heikin_ashi_reference(o, h, low, c), strict=True):
        np.testing.assert_allclose(got[:700], want, rtol=1e-13)
    chart.set_crosshair(650)
    ref = _heikin_ashi_reference(o, h, low, c)
    assert f"Heikin-Ashi   O {ref[0][650]:.2f} H {ref[1][650]:.2f}" in chart.readout_text()
    assert chart.candles.isVisible() and not chart.display.close_line.isVisible()


def test_line_chart_fits_the_closes(chart, qtbot):
    ts, o, h, low, c, v = make_bars(300)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_chart_type("line")
    settle(qtbot, chart)
    assert chart.chart_type is ChartType.LINE
    assert not chart.candles.isVisible() and chart.display.close_line.isVisible()
    i0, i1 = chart.viewport.visible_indices()
    (_, _), (y0, y1) = chart.price.vb.viewRange()
    lo, hi = float(c[i0:i1].min()), float(c[i0:i1].max())
    assert y0 < lo and y1 > hi
    span = hi - lo
    assert y0 == pytest.approx(lo - 0.08 * span) and y1 == pytest.approx(hi + 0.14 * span)


def test_log_scale_maps_prices_through_log10(chart, qtbot):
    ts, o, h, low, c, v = make_bars(300)
    scale = np.linspace(1.0, 8.0, 300)  # a price that grows eightfold: log and linear differ
    o, h, low, c = o * scale, h * scale, low * scale, c * scale
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_visible_range(-1, 304)
    chart.set_log_scale(True)
    settle(qtbot, chart)
    assert chart.log_scale
    (_, _), (y0, y1) = chart.price.vb.viewRange()
    lo, hi = math.log10(float(low.min())), math.log10(float(h.max()))
    assert y0 == pytest.approx(lo - 0.08 * (hi - lo)) and y1 == pytest.approx(hi + 0.14 * (hi - lo))
    values, labels = chart.price.axis.ticks_and_labels(chart.price.vb.height())
    assert len(values) >= 3
    for y, text in zip(values, labels, strict=True):
        assert y == pytest.approx(math.log10(float(text)))  # a label is the price at its place
    assert chart.price.axis.badge_text("last") == f"{c[-1]:.2f}"
    chart.set_crosshair(100, math.log10(float(c[100])))
    assert chart.price.axis.badge_text("cross") == f"{c[100]:.2f}"
    chart.set_log_scale(False)
    (_, _), (y0, y1) = chart.price.vb.viewRange()
    assert y1 > 50  # linear again


def test_home_end_and_reset_zoom(chart, qtbot):
    ts, o, h, low, c, v = make_bars(500)
    chart.set_bars(ts, o, h, low, c, v)
    settle(qtbot, chart)
    chart.set_visible_range(200, 240)
    assert not chart.following
    chart.go_to_first_bar()
    assert chart.visible_range() == pytest.approx((-1.0, 39.0))
    chart.jump_to_live()
    assert chart.following and chart.visible_range()[1] == pytest.approx(499 + 0.5 + 4)
    chart.reset_zoom()
    x0, x1 = chart.visible_range()
    assert x1 - x0 == pytest.approx(chart.viewport.DEFAULT_VISIBLE_BARS) and chart.following


def test_chart_keys(chart, qtbot):
    ts, o, h, low, c, v = make_bars(500)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_title("ACME", "1m")
    settle(qtbot, chart)
    chart.setFocus()
    qtbot.waitUntil(chart.hasFocus)
    qtbot.keyClick(chart, Qt.Key.Key_Home)
    assert chart.visible_range()[0] == pytest.approx(-1.0) and not chart.following
    qtbot.keyClick(chart, Qt.Key.Key_End)
    assert chart.following
    chart.set_visible_range(300, 320)
    qtbot.keyClick(chart, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert chart.following and chart.visible_range()[1] - chart.visible_range()[0] == pytest.approx(120)
    qtbot.keyClick(chart, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert chart.chart_type is ChartType.LINE
    qtbot.keyClick(chart, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert chart.chart_type is ChartType.HEIKIN_ASHI
    qtbot.keyClick(chart, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert chart.chart_type is ChartType.CANDLES
    qtbot.keyClick(chart, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    assert chart.log_scale
    qtbot.keyClick(chart, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    assert not chart.log_scale
    for key, kind in (
        (Qt.Key.Key_H, DrawingKind.HORIZONTAL_LINE),
        (Qt.Key.Key_T, DrawingKind.TREND_LINE),
        (Qt.Key.Key_B, DrawingKind.RECTANGLE),
        (Qt.Key.Key_N, DrawingKind.TEXT_NOTE),
    ):
        qtbot.keyClick(chart, key, Qt.KeyboardModifier.AltModifier)
        assert chart.drawings.tool is kind
    qtbot.keyClick(chart, Qt.Key.Key_Escape)
    assert chart.drawings.tool is None


def _menu_texts(menu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_context_menu_offers_the_chart_commands_and_takes_providers(chart, qtbot):
    ts, o, h, low, c, v = make_bars(300)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_title("ACME", "1m")
    seen = []
    chart.add_menu_provider(lambda menu, point: (seen.append(point), menu.addAction(f"Buy limit @ {point.price:.2f}")))
    point = ChartPoint(int(ts[100]), 101.25)
    menu = chart.context_menu(point)
    texts = _menu_texts(menu)
    for entry in ("Chart type", "Log scale", "Reset zoom", "Go to first bar", "Go to newest bar (follow)", "Draw",
                  "Buy limit @ 101.25", "Save chart as PNG…", "Keyboard shortcuts…"):
        assert entry in texts, texts
    assert seen == [point]
    types = next(a.menu() for a in menu.actions() if a.text() == "Chart type")
    assert _menu_texts(types) == ["Candles", "Line", "Heikin-Ashi"]
    next(a for a in types.actions() if a.text() == "Heikin-Ashi").trigger()
    assert chart.chart_type is ChartType.HEIKIN_ASHI
    next(a for a in menu.actions() if a.text() == "Log scale").trigger()
    assert chart.log_scale
    assert chart.context_menu(point).actions()[1].isChecked()  # the menu shows the state
    menu.close()


def test_save_png_writes_what_the_chart_shows(chart, qtbot, tmp_path):
    ts, o, h, low, c, v = make_bars(300)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_title("ACME", "1m")
    settle(qtbot, chart)
    path = tmp_path / "acme.png"
    chart.chart_actions.ask_png_path = lambda suggested: str(path) if suggested.endswith(".png") else None
    assert chart.chart_actions.save_png_interactive()
    img = QtGui.QImage(str(path))
    assert img.width() == chart.graphics_view.width() and img.height() == chart.graphics_view.height()
    assert _has_colour(img, chart.theme.up) and _has_colour(img, chart.theme.down)
    chart.chart_actions.ask_png_path = lambda suggested: None  # cancelled: nothing written
    assert not chart.chart_actions.save_png_interactive()


def test_panel_offers_custom_indicators_and_keeps_engine_specs(qtbot, monkeypatch):
    panel = ChartPanel()
    qtbot.addWidget(panel)
    panel.set_checked_overlays(["bb(20,2)", "macd(12,26,9)", "atr(7)"])
    assert panel.checked_overlays() == ["bb(20,2)", "macd(12,26,9)", "atr(7)"]
    assert "ATR(7)" in [a.text() for a in panel.indicator_menu.actions()]
    panel.ask_indicator = lambda: "EMA(50)"
    panel.custom_indicator_action.trigger()
    assert "ema(50)" in panel.checked_overlays() and "ema(50)" in panel.chart.overlays()
    with pytest.raises(ValueError, match=r"^unknown indicator 'nonsense' in spec 'nonsense\(3\)'; known kinds: "):
        panel.set_checked_overlays(["sma(20)", "nonsense(3)"])
    # a known kind with bad parameters is not called unknown
    panel.ask_indicator = lambda: "macd(5,3)"
    warnings = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *args: warnings.append(args[1:]))
    panel.custom_indicator_action.trigger()
    assert warnings == [("Indicator not added", "indicator spec 'macd(5,3)': fast must be < slow, got fast=5, slow=3")]
