"""The replay window as a study tool: step at paced speeds, indicators kept across restarts, no
stale results after Stop, a usable 1280x800 layout with results, drawings kept per config, F1."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from tests.ui.test_main_window import FINISH_MS
from ui.main_window import saved_overlays
from ui.shortcuts import SHORTCUTS
from ui.widgets.chart import ChartType, Drawing, DrawingKind

MINUTE_NS = 60_000_000_000


@pytest.mark.parametrize("speed", [10, 50])
def test_step_at_a_paced_speed_moves_the_clock_at_once(qtbot, ui_make_window, ui_small_config, speed):
    w = ui_make_window()
    w.load_config(ui_small_config)
    w.speed_control.set_speed(speed)
    w.set_speed(speed)
    bridge = w.bridge
    bar_s = 60 / speed  # a paced bar time
    if speed == 50:  # play, then pause and step
        w.play()
        qtbot.waitUntil(lambda: bridge.progress().bars_processed > 0, timeout=FINISH_MS)
        w.pause()
        qtbot.waitUntil(lambda: bridge.state == "paused", timeout=2000)
    else:  # step from stopped
        w.step()
        qtbot.waitUntil(lambda: bridge.progress().bars_processed > 0, timeout=int(bar_s * 500))
    qtbot.wait(50)
    t0 = bridge.progress().clock_ns
    for k in (1, 2, 3):
        w.step()
        qtbot.waitUntil(lambda k=k: bridge.progress().clock_ns == t0 + k * MINUTE_NS, timeout=int(bar_s * 500))
    qtbot.wait(int(bar_s * 1200))  # longer than a paced bar time: still paused, nothing owed
    assert bridge.progress().clock_ns == t0 + 3 * MINUTE_NS and bridge.state == "paused"


def test_chart_indicators_type_and_scale_survive_a_restart(qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.load_config(ui_small_config)
    panel = w.chart_panels[0]
    panel.set_checked_overlays(["sma(20)", "bb(20,2)", "macd(12,26,9)", "atr(7)"])
    panel.chart.set_chart_type(ChartType.HEIKIN_ASHI)
    panel.chart.set_log_scale(True)
    w.close()
    w2 = ui_make_window()
    assert w2.load_config(w2.last_config())
    panel2 = w2.chart_panels[0]
    assert panel2.checked_overlays() == ["sma(20)", "bb(20,2)", "macd(12,26,9)", "atr(7)"]
    assert panel2.chart.overlays() == ["sma(20)", "bb(20,2)", "macd(12,26,9)", "atr(7)"]
    assert panel2.chart.chart_type is ChartType.HEIKIN_ASHI and panel2.chart.log_scale


def test_settings_of_older_versions_keep_their_indicators():
    assert saved_overlays("sma(20),bb(20,2),macd(12,26,9),rsi(14)") == ["sma(20)", "bb(20,2)", "macd(12,26,9)", "rsi(14)"]
    assert saved_overlays("-") == [] and saved_overlays(None) is None
    assert saved_overlays(json.dumps(["bb(20,2)"])) == ["bb(20,2)"]


def test_play_after_stop_puts_away_the_stopped_runs_results(qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.resize(1280, 800)
    w.load_config(ui_small_config)
    qtbot.wait(50)
    chart_area = w.centralWidget().height()
    w.set_speed(600)
    w.play()
    qtbot.waitUntil(lambda: w.bridge.progress().bars_processed > 200, timeout=FINISH_MS)
    with qtbot.waitSignal(w.results_loaded, timeout=FINISH_MS, check_params_cb=bool):
        w.stop()
    assert w.results_view.results is not None
    # the dock layout settles (waited for, not a fixed time: under load it takes longer)
    qtbot.waitUntil(lambda: not w.results_view.visibleRegion().isEmpty()
                    and w.centralWidget().height() < chart_area - 50, timeout=3000)  # the results took room from the chart
    w.play()  # a new run plays: the stopped run's results leave
    qtbot.waitUntil(lambda: w.bridge.state == "running", timeout=5000)
    assert w.results_view.results is None
    qtbot.waitUntil(lambda: not w.signal_log.visibleRegion().isEmpty() and w.results_view.visibleRegion().isEmpty()
                    and abs(w.centralWidget().height() - chart_area) <= 8, timeout=3000)  # and gave it back
    w.stop()


def played_at(qtbot, ui_make_window, config, width: int, height: int):
    """A main window of width x height that played `config` to its end, its results shown."""
    w = ui_make_window()
    w.resize(width, height)
    w.load_config(config)
    with qtbot.waitSignal(w.results_loaded, timeout=FINISH_MS, check_params_cb=bool):
        w.play()
    qtbot.wait(100)
    return w


def test_at_1366x768_every_symbol_of_the_per_symbol_results_is_whole(qtbot, ui_make_window, ui_small_config):
    """The per-symbol table beside the trades is ~250 px wide at 1366 x 768: its Symbol column, stretched
    by Qt, shrank to a few pixels and showed "…" for every symbol. It keeps its content's width (the
    table scrolls sideways when it must) and still takes the room the other columns leave."""
    w = played_at(qtbot, ui_make_window, ui_small_config, 1366, 768)
    symbols = w.results_view.symbol_table
    header = symbols.horizontalHeader()
    assert symbols.isVisible() and symbols.model().rowCount() >= 3
    assert symbols.viewport().width() < header.length() + 40          # cramped: the columns need the width
    assert header.sectionSize(0) >= symbols.sizeHintForColumn(0)       # every symbol whole
    assert header.sectionViewportPosition(1) + header.sectionSize(1) <= symbols.viewport().width()  # net P&L
    # with room, the Symbol column takes what the other columns leave
    w.results_view.side_panel.setMinimumWidth(header.length() + 200)
    qtbot.waitUntil(lambda: symbols.viewport().width() > header.length() - header.sectionSize(0)
                    + symbols.sizeHintForColumn(0) + 50, timeout=3000)
    qtbot.waitUntil(lambda: header.length() == symbols.viewport().width(), timeout=3000)
    assert header.sectionSize(0) > symbols.sizeHintForColumn(0) + 40
    w.stop()


def test_at_1280x800_the_results_leave_a_chart_and_show_trade_rows(qtbot, ui_make_window, ui_small_config):
    w = played_at(qtbot, ui_make_window, ui_small_config, 1280, 800)
    chart = w.chart_panels[0].chart
    assert chart.height() >= 280  # was ~220 before the results made the chart share the height
    table = w.results_view.trade_table
    assert table.model().rowCount() > 0
    shown = table.viewport().visibleRegion().boundingRect()
    assert shown.height() >= 3 * table.rowHeight(0)  # at least three trade rows without scrolling
    assert w.results_view.compact
    symbols = w.results_view.symbol_table  # and of the per-symbol table beside it (was a header, no row)
    assert symbols.isVisible() and symbols.model().rowCount() >= 3
    assert symbols.viewport().visibleRegion().boundingRect().height() >= 3 * symbols.rowHeight(0)
    # the key figures, a trade's P&L and a symbol's net P&L, in sight without scrolling sideways (they came
    # after both times and prices, and last: scrolled out)
    for view, title in ((table, "P&L"), (symbols, "Net P&L")):
        header = view.horizontalHeader()
        column = next(c for c in range(view.model().columnCount())
                      if str(view.model().headerData(c, Qt.Orientation.Horizontal)).split(" ▴")[0]
                      .split(" ▾")[0] == title)
        assert view.horizontalScrollBar().value() == 0
        assert 0 <= header.sectionViewportPosition(column), title
        assert header.sectionViewportPosition(column) + header.sectionSize(column) <= view.viewport().width(), title


def test_at_1280x800_the_speed_control_and_the_mode_badge_are_in_sight(qtbot, ui_make_window, ui_themed):
    """The replay toolbar needs ~1,430 px with its buttons' names: at 1280 x 800 the speed control and the
    mode badge went into its overflow (a dark 12 px arrow), out of sight. When the names do not fit, the
    buttons show their icons only, each tooltip starting with the name; with room, the names come back."""
    from PySide6.QtWidgets import QToolButton

    w = ui_make_window()

    def shown(widget) -> bool:        # visible, whole, inside the toolbar
        return widget.isVisible() and w.toolbar.rect().contains(widget.geometry())

    for width, style in ((1280, Qt.ToolButtonStyle.ToolButtonIconOnly),
                         (1700, Qt.ToolButtonStyle.ToolButtonTextBesideIcon),
                         (1280, Qt.ToolButtonStyle.ToolButtonIconOnly)):
        w.resize(width, 800)
        qtbot.wait(50)
        assert shown(w.speed_control) and shown(w.mode_badge), width
        assert w.toolbar.toolButtonStyle() == style, width
        play = w.toolbar.widgetForAction(w.play_action)
        assert isinstance(play, QToolButton) and shown(play)
    assert w.play_action.toolTip().startswith("Play: ") and w.edit_action.toolTip().startswith("Edit config: ")


def test_the_quality_dock_fits_its_tiles_and_the_metrics_get_the_rest(qtbot, ui_make_window, ui_small_config):
    """At 1280x800 the Data quality dock kept 300 px of the right column whatever its tiles needed (five
    symbols' tiles left ~90 px empty) while the Metrics dock below cut its stage table. The dock is now
    as tall as its tiles (full ones while they take at most QUALITY_DOCK_SHARE of the column, else
    one-line ones), the rest goes to Metrics, also beside the results. Once the trader presses on a
    dock divider, the docks keep the trader's heights, in this window and the next (settings)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    from ui.main_window import QUALITY_DOCK_SHARE

    w = ui_make_window()
    w.resize(1280, 800)
    w.load_config(ui_small_config)
    gauges, quality, metrics = w.gauges, w.quality_dock, w.metrics_dock

    def fitted() -> bool:
        spare = gauges.scroll_area.height() - gauges.tiles_height(gauges.grid.compact)
        return 0 <= spare <= 4            # every tile shown, no empty band under them

    qtbot.waitUntil(fitted, timeout=3000)
    column = quality.height() + metrics.height()
    assert not gauges.grid.compact and quality.height() <= column * QUALITY_DOCK_SHARE + 2
    assert metrics.height() >= column - quality.height() - 2
    # clicks on the chart and on a label: presses those widgets do not take reach the window too (Qt
    # passes them on to the parent), but they do not arrange the docks (seen in Xvfb: a click on the
    # chart left the right column unfitted beside the results, its tiles cut)
    chart_view = w.chart_panels[0].chart
    for widget in (chart_view, w.statusBar()):
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, widget.rect().center())
    assert not w.right_docks_by_hand
    with qtbot.waitSignal(w.results_loaded, timeout=FINISH_MS, check_params_cb=bool):
        w.play()
    # the column is shorter beside the results: fitted again (the results dock in after results_loaded,
    # and the fit before them still holds until they do: wait for both)
    qtbot.waitUntil(lambda: quality.height() + metrics.height() < column and fitted(), timeout=3000)
    # the trader presses on the divider between the two docks (the window's own area) and moves it
    divider = QPoint(quality.geometry().center().x(), quality.geometry().bottom() + 2)
    assert w.childAt(divider) is None
    QTest.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, divider)
    QTest.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, divider)
    assert w.right_docks_by_hand
    w.resizeDocks([quality], [quality.height() + 40], Qt.Orientation.Vertical)
    qtbot.wait(50)
    by_hand = quality.height()
    w.fit_right_docks()
    qtbot.wait(50)
    assert abs(quality.height() - by_hand) <= 2 and not fitted()
    w.load_config(ui_small_config)       # the results leave, the column grows: Qt shares it, no fit
    qtbot.wait(100)
    assert not fitted()
    w.save_settings()
    assert ui_make_window().right_docks_by_hand


def test_drawings_are_kept_with_the_config_and_follow_the_symbol(qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.load_config(ui_small_config)
    sidecar = ui_small_config.with_name("small.drawings.json")
    chart = w.chart_panels[0].chart
    assert chart.symbol == "ACME"
    ts = int(chart.bar_arrays()[0][-30])
    drawing = Drawing.new(DrawingKind.TREND_LINE, [(ts, 10.0), (ts + 20 * MINUTE_NS, 11.0)])
    w.drawing_book.add("ACME", drawing)
    assert json.loads(sidecar.read_text())["symbols"]["ACME"][0]["id"] == drawing.id
    assert [i.drawing.id for i in chart.drawings.items()] == [drawing.id]
    w.add_chart_clicked()  # ACME at 15m: the same drawing at the same times
    second = w.chart_panels[1].chart
    assert second.interval == "15m" and [i.drawing.id for i in second.drawings.items()] == [drawing.id]
    w.chart_panels[0].set_current_symbol("BOLT")
    assert chart.drawings.items() == []
    w.close()
    w2 = ui_make_window()
    w2.load_config(ui_small_config)
    assert w2.chart_panels[0].current_symbol() == "BOLT"
    w2.chart_panels[0].set_current_symbol("ACME")
    assert [i.drawing for i in w2.chart_panels[0].chart.drawings.items()] == [drawing]


def test_f1_and_question_mark_list_every_shortcut(qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.load_config(ui_small_config)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    qtbot.keyClick(w, Qt.Key.Key_F1)
    dialog = w._shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    for s in SHORTCUTS:
        assert s.description in text
    # long descriptions wrap in their column: nothing runs off to the right (it scrolled sideways, seen in Xvfb)
    qtbot.waitUntil(lambda: dialog.scroll.viewport().width() > 0, timeout=2000)
    assert dialog.label.width() <= dialog.scroll.viewport().width()
    assert dialog.scroll.horizontalScrollBar().maximum() == 0
    dialog.close()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    qtbot.keyClick(w, Qt.Key.Key_Question)
    assert dialog.isVisible()
    dialog.close()
