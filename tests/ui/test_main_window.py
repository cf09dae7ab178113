"""MainWindow: docks, playing a config to the end (signal log, charts, gauges, results), controls,
speed slider, close, settings persistence, trade jumps, errors and the scripted entry point."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget, QMessageBox

from tests.ui.test_signal_log import make_rows
from ui import theme
from ui.bridge import UpdateBatch
from ui.main_window import MAX_SPEED_VIEW_INTERVAL_S, NO_RESULTS_YET, MainWindow
from ui.widgets.chart import ChartPanel
from ui.widgets.metrics_panel import MetricsPanel
from ui.widgets.quality_gauges import QualityGaugePanel
from ui.widgets.signal_log import SignalLogView
from ui.widgets.speed_control import SpeedControl, speed_to_position
from ui.windows.results_view import ResultsView

ROOT = Path(__file__).resolve().parents[2]
FINISH_MS = 30_000


@pytest.fixture
def make_window(ui_make_window):
    return ui_make_window


def _play_to_end(qtbot, window: MainWindow) -> dict:
    with qtbot.waitSignal(window.bridge.finished, timeout=FINISH_MS) as done:
        window.play_action.trigger()
    qtbot.wait(50)
    return done.args[0]


def test_the_signal_log_from_decision_batches_holds_what_per_row_decisions_give(qtbot, make_window,
                                                                              ui_small_config):
    """The window's signal log reads the engine's "decisions" batches: after a whole replay it holds
    exactly the rows the per-row "decision" events (and "error" events) of the same run give as
    `decision_row` / `error_row` dicts, in the same order."""
    from ui.widgets.signal_log import SignalLogModel, decision_row, error_row

    w = make_window()
    w.load_config(ui_small_config)
    per_row: list = []
    w.bridge.system.events.subscribe("decision", lambda _k, d: per_row.append(decision_row(d)))
    w.bridge.system.events.subscribe("error", lambda _k, e: per_row.append(error_row(e)))
    _play_to_end(qtbot, w)
    w.refresh_views()
    model, expected = w.signal_log.model, SignalLogModel()
    expected.append_rows(per_row)
    n = model.row_count()
    assert n == expected.row_count() == len(per_row) > 0
    for name in SignalLogModel._array_names():
        np.testing.assert_array_equal(getattr(model, name)[:n], getattr(expected, name)[:n], err_msg=name)
    for table in ("symbols", "strategies", "actions", "reasons"):
        assert getattr(model, table).names == getattr(expected, table).names, table
    assert (model.signal_count, model.rejected_count) == (expected.signal_count, expected.rejected_count)


def test_window_builds_with_every_dock_and_control(make_window, ui_small_config):
    w = make_window()
    docks = {d.objectName(): d for d in w.findChildren(QDockWidget)}
    assert set(docks) == {"QualityDock", "MetricsDock", "SignalLogDock", "OrdersDock", "ResultsDock"}
    assert isinstance(docks["QualityDock"].widget(), QualityGaugePanel)
    assert isinstance(docks["MetricsDock"].widget(), MetricsPanel)
    assert isinstance(docks["SignalLogDock"].widget(), SignalLogView)
    assert isinstance(docks["ResultsDock"].widget().widget(), ResultsView)
    assert w.dockWidgetArea(docks["QualityDock"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert w.dockWidgetArea(docks["SignalLogDock"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert w.dockWidgetArea(docks["OrdersDock"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert isinstance(w.chart_splitter.widget(0), ChartPanel)
    assert isinstance(w.speed_control, SpeedControl)
    # the Run menu shows each replay control's key; the toolbar buttons their names only
    run_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Run")
    assert [a.text() for a in run_menu.actions()][:5] == ["Play\tSpace", "Pause\tSpace", "Back\tLeft",
                                                          "Step\tRight", "Stop"]
    assert w.play_action.iconText() == "Play" and w.step_back_action.iconText() == "Back"
    combo = [w.config_combo.itemText(i) for i in range(w.config_combo.count())]
    assert "small" in combo and combo[-1] == "Open…"
    assert not w.play_action.isEnabled()  # nothing loaded yet
    assert w.load_config(ui_small_config)
    assert w.play_action.isEnabled() and not w.stop_action.isEnabled()
    assert w.mode_badge.text() == "BACKTEST"
    assert w.config_combo.currentText() == "small"
    assert w.jump_date.minimumDate().toPython().isoformat() == "2024-12-04"
    assert w.jump_date.maximumDate().toPython().isoformat() == "2024-12-05"
    from ui.widgets.date_popup import OUT_OF_RANGE  # the popup marks the range's sessions

    marks = w.jump_date.calendarWidget()
    assert marks.dateTextFormat(QDate(2024, 12, 4)).foreground().color().name() == theme.TEXT
    assert marks.dateTextFormat(QDate(2024, 12, 3)).foreground().color().name() == OUT_OF_RANGE
    panel = w.chart_panels[0]
    assert [panel.symbol_combo.itemText(i) for i in range(panel.symbol_combo.count())] == [
        "ACME",
        "BOLT",
        "CYRX",
    ]
    assert panel.chart.bar_count > 0  # the days before the first session are shown at once


def test_play_runs_to_the_end_and_fills_every_view(qtbot, make_window, ui_small_config, ui_demo_store):
    w = make_window()
    w.load_config(ui_small_config)
    w.add_chart_clicked()
    assert [p.current_interval() for p in w.chart_panels] == ["1m", "15m"]
    # before the run ends its results say so (not "No run loaded ... open a run folder")
    view = w.results_view
    assert {view.title_label.text(), *(empty.title_label.text() for empty in (
        view.plots_empty, view.trades_empty, view.symbols_empty, view.gaps_empty))} == {NO_RESULTS_YET}
    summary = _play_to_end(qtbot, w)
    system = w.bridge.system
    assert summary["state"] == "finished"
    # signal log: one row per decision (and per strategy error), with the decisions' verdicts
    model = w.signal_log.model
    assert model.row_count() == summary["signals"] + sum(summary["strategy_errors"].values()) > 0
    assert model.rejected_count == summary["rejected"]
    # results: the run's trades
    assert w.results_view.results is not None
    assert len(w.results_view.results.trades) == len(system.broker.trades) == summary["trades"] > 0
    assert w.results_dock.isVisible()
    # charts: every bar of the run (and the pre-run days), markers at the symbol's fills
    for panel in w.chart_panels:
        sym, iv = panel.current_symbol(), panel.current_interval()
        expected = w.bridge.chart_bars(sym, iv)
        np.testing.assert_array_equal(panel.chart.bar_arrays()[0], expected.timestamp)
        np.testing.assert_allclose(panel.chart.bar_arrays()[4], expected.close)
    sd_bars = system.session_data.bars("ACME", "15m")
    assert w.chart_panels[1].chart.bar_arrays()[0][-1] == sd_bars.timestamp[-1]
    acme_fills = [f for f in system.broker.fills if f.symbol == "ACME"]
    assert len(w.chart_panels[0].chart.marker_positions()) == len(acme_fills) > 0
    # gauges: the engine's last quality per symbol and interval
    for sym in ("ACME", "BOLT", "CYRX"):
        for iv in ("1m", "5m", "15m"):
            assert w.gauges.quality(sym, iv) == pytest.approx(system.session_data.quality(sym, iv))
    assert "FINISHED" in w.state_label.text()
    assert "2024-12-05 16:00:00 ET" in w.clock_label.text()
    # switching symbol reloads history + the last session
    w.chart_panels[0].set_current_symbol("BOLT")
    np.testing.assert_array_equal(
        w.chart_panels[0].chart.bar_arrays()[0], w.bridge.chart_bars("BOLT", "1m").timestamp
    )


def test_step_pause_and_stop_drive_the_engine(qtbot, make_window, ui_small_config):
    w = make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    w.step_action.trigger()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    t1, n1 = system.clock.now_ns(), system.bars_processed
    w.step()  # Right arrow does the same
    qtbot.waitUntil(lambda: system.bars_processed > n1, timeout=5000)
    assert system.clock.now_ns() - t1 == 60 * 10**9
    qtbot.waitUntil(lambda: "PAUSED" in w.state_label.text(), timeout=2000)
    assert w.play_action.isEnabled() and not w.pause_action.isEnabled() and w.stop_action.isEnabled()
    w.speed_control.set_speed(60)
    w.set_speed(60)
    w.toggle_play()  # Space: resume
    qtbot.waitUntil(lambda: system.state == "running", timeout=2000)
    w.toggle_play()  # Space: pause
    qtbot.waitUntil(lambda: system.state == "paused", timeout=2000)
    with qtbot.waitSignal(w.bridge.finished, timeout=5000) as done:
        w.stop_action.trigger()
    assert done.args[0]["state"] == "stopped"
    assert w.bridge.join_threads(1.0)
    qtbot.waitUntil(lambda: "STOPPED" in w.state_label.text(), timeout=2000)


def test_a_run_paused_on_the_way_says_so_and_its_rate_leaves_the_pause_out(qtbot, make_window, ui_small_config):
    """Stepped, left paused, then played at MAX to the end: the status line and the metrics' final rate
    came from the whole time (a 6 s run paused 5.9 s of it read ~25 bars/s where it replayed thousands a
    second); they now say how long it stood paused and count the bars over the time it played."""
    w = make_window()
    w.load_config(ui_small_config)
    w.set_speed(0)
    w.step()
    qtbot.waitUntil(lambda: w.bridge.system is not None and w.bridge.system.position == 1, timeout=FINISH_MS)
    t0 = time.perf_counter()
    qtbot.wait(400)
    t1 = time.perf_counter()
    w.play()
    qtbot.waitUntil(lambda: "FINISHED" in w.state_label.text(), timeout=FINISH_MS)
    summary = w.bridge.last_summary
    assert t1 - t0 <= summary["paused_s"] < summary["elapsed_s"]
    bars = summary["bars_processed"]
    assert summary["bars_per_s"] == pytest.approx(bars / (summary["elapsed_s"] - summary["paused_s"]), rel=1e-3)
    assert (f"{bars:,} bars in {summary['elapsed_s']:.1f} s, {summary['paused_s']:.1f} s of it paused · "
            in w.statusBar().currentMessage())
    assert w.metrics_panel.rate_label.text() == f"{summary['bars_per_s']:,.0f}"


def test_speed_slider_changes_a_running_replay(qtbot, make_window, ui_small_config):
    w = make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    w.speed_control.set_speed(60)
    w.set_speed(60)
    w.play()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    w.speed_control.slider.setValue(speed_to_position(300))  # what a drag to 300x does
    assert w.speed_control.speed() == 300
    assert system.control.speed == 300
    qtbot.wait(300)
    c0, t0 = system.clock.now_ns(), time.perf_counter()
    qtbot.wait(1500)
    pace = (system.clock.now_ns() - c0) / 1e9 / (time.perf_counter() - t0)
    assert 120 < pace < 420, pace  # market seconds per wall second ~ 300
    w.set_speed(0)


def test_max_speed_redraws_the_views_at_most_every_interval(make_window, ui_small_config, monkeypatch):
    w = make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    w.set_speed(0)
    monkeypatch.setattr(system, "state", "running")  # as while the engine runs (no thread needed)
    now = [100.0]
    w.view_clock = lambda: now[0]
    w.view_cpu_clock = lambda: 0.0  # the views pace on the clock alone here
    rows = make_rows(20, seed=5)

    def frame(i: int) -> int:
        batch = UpdateBatch(run_id=w.bridge.run_id, clock_ns=system.clock.now_ns(), bars_processed=i, rows=rows[i : i + 1])
        w._on_batch(batch)
        return w.signal_log.model.row_count()

    assert frame(0) == 1  # the first frame of a run draws
    for i in range(1, 10):  # 16 ms frames, together shorter than the interval: held back
        now[0] += 0.016
        assert frame(i) == 1
    now[0] += MAX_SPEED_VIEW_INTERVAL_S
    assert frame(10) == 11  # the held-back rows arrive together, none lost
    now[0] += 0.016
    assert frame(11) == 11
    w.set_speed(60)  # a paced replay draws every frame
    now[0] += 0.016
    assert frame(12) == 13
    assert frame(13) == 14


def test_closing_the_window_stops_every_engine_thread(qtbot, make_window, ui_small_config):
    w = make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    w.set_speed(600)
    w.play()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    assert system.alive_threads()
    w.close()
    assert system.alive_threads() == [] and w.bridge.alive_threads() == []


def test_settings_keep_the_last_config_charts_and_dock_layout(
    qtbot, make_window, ui_settings, ui_small_config
):
    w = make_window()
    w.load_config(ui_small_config)
    w.add_chart_clicked()
    w.chart_panels[1].set_current_interval("5m")
    w.chart_panels[1].set_current_symbol("CYRX")
    w.removeDockWidget(w.signal_dock)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.signal_dock)
    w.signal_dock.show()
    w.metrics_dock.hide()
    w.close()

    w2 = make_window()
    assert w2.last_config() == ui_small_config.resolve()
    assert w2.load_config(w2.last_config())
    assert len(w2.chart_panels) == 2
    assert (w2.chart_panels[1].current_symbol(), w2.chart_panels[1].current_interval()) == ("CYRX", "5m")
    assert w2.chart_panels[1].checked_overlays() == ["ema(20)"]
    assert w2.dockWidgetArea(w2.signal_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert w2.metrics_dock.isHidden() and not w2.quality_dock.isHidden()


def test_trade_double_click_shows_the_trade_on_the_chart(qtbot, make_window, ui_small_config):
    w = make_window()
    w.load_config(ui_small_config)
    _play_to_end(qtbot, w)
    trade = next(t for t in w.bridge.system.broker.trades if t.symbol == "BOLT")
    w.results_view.trade_activated.emit(trade.symbol, trade.entry_time, trade.exit_time)
    panel = w.chart_panels[0]
    chart = panel.chart
    assert panel.current_symbol() == "BOLT"
    assert not chart.following
    x0, x1 = chart.visible_range()
    assert x0 <= chart.index_at(trade.entry_time) <= x1


def test_bad_config_is_reported_not_raised(
    qtbot, tmp_path, ui_settings, ui_configs_dir, ui_small_config, monkeypatch
):
    shown = []

    def shown_instead_of_exec(box):               # the error box as the user would see it, never blocking
        shown.append((box.windowTitle(), box.text(), [b.text() for b in box.buttons()]))
        return 0

    monkeypatch.setattr(QMessageBox, "exec", shown_instead_of_exec)
    w = MainWindow(settings=ui_settings, configs_dir=ui_configs_dir, runs_dir=tmp_path / "runs")
    qtbot.addWidget(w)
    data = json.loads(ui_small_config.read_text())
    data["risk"] = {"min_confidence": 3}
    bad = ui_configs_dir / "bad.json"
    bad.write_text(json.dumps(data))
    assert not w.load_config(bad)
    assert shown and "risk.min_confidence" in shown[0][1]
    assert shown[0][0] == "Cannot load the session config" and "Edit config\u2026" in shown[0][2]
    assert w.bridge.system is None and not w.play_action.isEnabled()


@pytest.mark.slow
def test_scripted_run_of_the_example_config_writes_a_screenshot(tmp_path, tmp_path_factory):
    from workstation.store import generate_demo

    store = tmp_path_factory.mktemp("example_store") / "store"
    generate_demo(store, symbols=5, days=10, seed=7)
    shot = tmp_path / "main.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ui.app",
            str(ROOT / "session_configs" / "example_session.json"),
            "--store",
            str(store),
            "--speed",
            "0",
            "--quit-when-done",
            "--screenshot",
            str(shot),
            "--size",
            "1280x800",
            "--runs",
            str(tmp_path / "runs"),
            "--settings",
            str(tmp_path / "gui.ini"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "run finished: 6/6 sessions" in proc.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    assert list((tmp_path / "runs").glob("example_session-*/trades.parquet"))


def test_open_run_folder_looks_in_the_windows_runs_folder(make_window, monkeypatch, tmp_path):
    from ui.windows.results_view import ResultsWindow

    asked = []
    monkeypatch.setattr(ResultsWindow, "choose_run_folder", lambda self: asked.append(self.runs_dir))
    w = make_window()
    w.open_run_folder()
    assert asked == [tmp_path / "runs"] == [w.bridge.runs_dir]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_closes_the_window_and_its_run_folder_gets_its_results(tmp_path, ui_demo_store,
                                                                                 ui_small_config, signum):
    """Ctrl+C in the terminal did nothing to the window, and SIGTERM ended it at once, leaving its run
    folder marked running (seen in Xvfb). Either now closes the window as its close button does: the run
    stops, its folder says stopped and complete, and the process exits with 128 + the signal's number."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.app", str(ui_small_config), "--speed", "1", "--quit-when-done",
         "--runs", str(runs), "--settings", str(tmp_path / "gui.ini")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(runs.glob("small-*/run_status.json")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            time.sleep(0.1)
        time.sleep(1.0)                                 # playing at 1x: minutes from its end
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err[-2000:]
    assert f"{signal.Signals(signum).name}: closing" in err
    (status_file,) = runs.glob("small-*/run_status.json")
    status = json.loads(status_file.read_text())
    assert status["state"] == "stopped" and status["complete"] is True


def test_keyboard_shortcuts_step_play_pause_and_speed(qtbot, make_window, ui_small_config):
    w = make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    qtbot.keyClick(w, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    assert system.state == "paused"
    w.speed_control.set_speed(10)
    qtbot.keyClick(w, Qt.Key.Key_Plus)
    assert w.speed_control.speed() == 20 and system.control.speed == 20
    qtbot.keyClick(w, Qt.Key.Key_Minus)
    assert system.control.speed == 10
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: system.state == "running", timeout=2000)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: system.state == "paused", timeout=2000)


def test_a_jump_to_a_day_the_exchange_is_shut_says_where_the_run_starts(make_window, ui_write_config):
    """Saturday 2024-11-30: the run starts on Monday 12-02 (the calendar's next session) and the status
    bar says so; with no trading day left before the config's last day, the jump is refused."""
    w = make_window()
    assert w.load_config(ui_write_config("weekend", start_date="2024-11-29", end_date="2024-12-03"))
    w.jump_to(dt.date(2024, 11, 30))
    assert [s.date for s in w.bridge.system.sessions] == [dt.date(2024, 12, 2), dt.date(2024, 12, 3)]
    assert w.statusBar().currentMessage() == "Jumped to Mon 2024-12-02, the first trading day from Sat 2024-11-30"
    w.jump_to(dt.date(2024, 12, 3))
    assert w.statusBar().currentMessage() == "Jumped to Tue 2024-12-03"
    assert w.load_config(ui_write_config("to_sunday", start_date="2024-11-29", end_date="2024-12-01"))
    system = w.bridge.system
    w.jump_to(dt.date(2024, 11, 30))
    assert w.bridge.system is system                  # the run loaded stays
    assert w.error_messages[-1] == ("Replay", "XNYS has no trading day from 2024-11-30 to the config's last "
                                              "day 2024-12-01: pick an earlier day")


def test_jump_and_config_editor_run(qtbot, make_window, ui_small_config, ui_write_config):
    w = make_window()
    w.load_config(ui_small_config)
    w.jump_date.setDate(w.jump_date.maximumDate())
    w.jump_button.click()
    system = w.bridge.system
    assert system.cfg.backtest.start_date.isoformat() == "2024-12-05"
    first_shown = w.chart_panels[0].chart.bar_arrays()[0]
    assert first_shown.size and first_shown[-1] < system.sessions[0].open_ns  # the days before the jump
    other = ui_write_config("other", start_date="2024-12-05")
    w.edit_config()
    editor = w._editor
    assert editor is not None and editor.config_path() == ui_small_config
    with qtbot.waitSignal(w.bridge.finished, timeout=FINISH_MS) as done:
        editor.run_requested.emit(str(other))
    assert w.bridge.config_path == other and done.args[0]["state"] == "finished"
    assert w.config_combo.currentText() == "other"
    editor.close()


def test_a_laptop_window_takes_a_second_chart_without_growing_past_its_width(qtbot, make_window, ui_small_config,
                                                                            ui_themed):
    """At 1366 x 768 a second chart made the window 1,495 px wide (each chart toolbar needed 610 px): the
    mode badge and the right-hand panels went off the screen. The toolbars now shorten to fit, and an
    Add chart that would not fit is refused with a status message."""
    w = make_window()
    w.resize(1350, 720)
    w.load_config(ui_small_config)
    qtbot.wait(50)
    w.add_chart_clicked()
    qtbot.wait(50)
    assert len(w.chart_panels) == 2 and w.width() == 1350
    for panel in w.chart_panels:
        assert panel.toolbar_level > 0 and panel.toolbar.minimumSizeHint().width() <= panel.width()
    w.add_chart_clicked()                     # a third would not fit beside the right-hand panels
    qtbot.wait(50)
    assert len(w.chart_panels) == 2 and w.width() == 1350
    assert w.statusBar().currentMessage().startswith("No room for another chart")
    assert not w.add_chart_action.isEnabled()
    for dock in (w.quality_dock, w.metrics_dock):     # the right column closed: the charts get its width
        dock.hide()
    qtbot.waitUntil(w.add_chart_action.isEnabled, timeout=2000)   # without the View menu being opened
    for dock in (w.quality_dock, w.metrics_dock):
        dock.show()
    qtbot.waitUntil(lambda: not w.add_chart_action.isEnabled(), timeout=2000)
    w.remove_chart()
    assert w.add_chart_action.isEnabled()


def test_file_new_config_opens_the_editor_on_a_config_without_a_file(qtbot, make_window, ui_small_config):
    w = make_window()
    w.load_config(ui_small_config)
    file_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&File")
    assert file_menu.actions()[0] is w.new_config_action
    assert w.new_config_action.shortcut().toString() == "Ctrl+N"
    w.new_config_action.trigger()
    editor = w._editor
    assert editor is not None and editor.isVisible()
    assert editor.config_path() is None and editor.current_dict()["name"] == "New session"   # Save asks a name
    assert w.bridge.config_path == ui_small_config                    # the loaded run is left as it is
    editor.discard_changes()
    editor.close()


def test_a_config_that_cannot_load_offers_to_open_it_in_the_editor(qtbot, make_window, ui_small_config, tmp_path):
    """A config whose strategy cannot be imported: the error box has Edit config…, which opens that file
    in the editor with the problem at its field (before, the window was left with no config and no way
    to the file but File → Open, which failed again)."""
    config = json.loads(Path(ui_small_config).read_text())
    config["strategies"][0]["class_path"] = "no_such_module_xyz:Strategy"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(config))
    w = make_window()
    assert w.load_config(path) is False
    title, message = w.error_messages[-1]
    assert "no_such_module_xyz" in message
    box = w.error_box(title, message, path)
    [edit] = [b for b in box.buttons() if b.text() == "Edit config\u2026"]
    edit.click()
    editor = w._editor
    assert editor is not None and editor.config_path() == path
    qtbot.waitUntil(lambda: any("no_such_module_xyz" in m for _, m in editor.problems()), timeout=5000)
    assert [p for p, m in editor.problems() if "no_such_module_xyz" in m] == ["strategies.0.class_path"]
    assert [b.text() for b in w.error_box(title, message).buttons()] == ["OK"]     # no file: nothing to edit
    editor.close()
    assert w.jump_date.text() == "\u2014" and not w.jump_date.isEnabled()      # no config: no date shown
    w.load_config(ui_small_config)
    config_start = json.loads(Path(ui_small_config).read_text())["backtest"]["start_date"]
    assert w.jump_date.text() == config_start and w.jump_date.isEnabled()


def test_the_metrics_panel_shows_the_status_bars_clock(qtbot, make_window, ui_small_config):
    """Both clocks show the time of the frame drawn last: the metrics refresh (every ~250 ms) used to
    read the engine's clock and could be a bar time behind or ahead of the status bar at 60x."""
    w = make_window()
    w.load_config(ui_small_config)
    system = w.bridge.system
    w.step_action.trigger()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    for _ in range(3):
        n = system.bars_processed
        w.step()
        qtbot.waitUntil(lambda n=n: system.bars_processed > n, timeout=5000)
        qtbot.waitUntil(lambda: w.clock_label.text().split()[1] == w.metrics_panel.clock_label.text(), timeout=3000)
    shown = w.clock_label.text().split()[1]
    n = system.bars_processed
    w.step()
    deadline = time.monotonic() + 5
    while system.bars_processed == n and time.monotonic() < deadline:
        time.sleep(0.01)        # the engine moved on; its frame is not drawn yet (no Qt events meanwhile)
    assert system.bars_processed > n
    w.update_metrics()
    assert w.metrics_panel.clock_label.text() == shown == w.clock_label.text().split()[1]
    assert w.rate_label.text() == "0 bars/s"          # paused: no rate


def test_the_replay_buttons_are_readable_on_the_dark_toolbar_and_disabled_ones_look_disabled(make_window):
    """Qt's standard media icons are black glyphs: on the dark toolbar and in the Run menu the enabled Play
    was as dark as the disabled Pause (contrast ~1.2 against the panel). The transport icons are drawn in
    the theme's text colour (contrast >= 7) and muted when disabled."""
    from PySide6.QtGui import QIcon

    from tests.ui.colour import icon_contrast
    from ui import theme

    window = make_window()
    for action in (window.play_action, window.pause_action, window.step_action, window.step_back_action,
                   window.stop_action, window.edit_action):
        icon = action.icon()
        normal = icon_contrast(icon.pixmap(16, 16, QIcon.Mode.Normal), theme.PANEL)
        disabled = icon_contrast(icon.pixmap(16, 16, QIcon.Mode.Disabled), theme.PANEL)
        assert normal >= 7.0, (action.iconText(), normal)
        assert 1.5 <= disabled < normal / 2, (action.iconText(), disabled, normal)


def test_a_batch_the_views_do_not_redraw_lets_the_held_engine_go_at_once(qtbot, make_window, ui_write_config):
    """At MAX the views redraw only when their interval is up; a batch in between (about every other one
    when a redraw took more than its share of the UI thread) has no frame to paint, so it ends the host
    gate's hold itself: before, the engine waited there the whole GATE_HOLD_MS for a paint that never came
    (a tenth of a one-symbol replay). A due batch still holds it until its paint. The gate's own timeouts
    are out of reach and no event is processed: only the batch can open it."""
    w = make_window()
    w.load_config(ui_write_config("not_due", start_date="2024-11-26", end_date="2024-12-06"))
    bridge = w.bridge
    bridge.gate_hold_ms = 60_000
    bridge.host_gate.max_wait_s = 60.0
    system = bridge.system
    bridge.set_speed(0)
    bridge.host_gate.close()                        # as a frame at MAX closes it
    bridge.play()
    time.sleep(0.3)
    assert bridge.host_gate.closed and system.state == "running"
    clock = [1_000.0]
    w.view_clock = lambda: clock[0]
    w._views_at = clock[0] - 0.01                   # the views were drawn 10 ms ago: the next batch is not due
    w._on_batch(UpdateBatch(run_id=bridge.run_id, clock_ns=system.clock.now_ns(), bars_processed=1))
    assert not bridge.host_gate.closed              # opened by the batch itself, no paint in between
    bridge.host_gate.close()
    clock[0] += 10.0                                # the interval is up: this batch redraws the views
    w._on_batch(UpdateBatch(run_id=bridge.run_id, clock_ns=system.clock.now_ns(), bars_processed=2))
    assert bridge.host_gate.closed                  # held until the window has drawn the frame
    w.update()
    qtbot.waitUntil(lambda: not bridge.host_gate.closed, timeout=5_000)
    bridge.stop()
    assert bridge.join_threads(2.0)


def test_a_report_exported_from_the_results_dock_is_confirmed_in_the_status_bar(make_window):
    """Export report… of the main window's Results dock wrote the file without a word (the results window
    alone said where)."""
    window = make_window()
    window.results_view.report_exported.emit("/tmp/runs/x/report.html")
    assert window.statusBar().full_message == "Report written to /tmp/runs/x/report.html"


def test_a_frame_held_at_max_lets_the_engine_go_once_the_window_has_drawn_it(qtbot, make_window, ui_write_config):
    """At MAX the one engine thread is held for a frame (a frame closes the host gate: test_bridge.py);
    the window's repaint of that frame ends the hold (before, a fixed GATE_HOLD_MS: a one-symbol replay
    over many sessions, whose frame is drawn in a few ms, spent a tenth of its time waiting at the gate).
    Here the gate is closed as a frame closes it, before the run starts, and its own timeout is out of
    reach: only the window's paint can let the engine go."""
    w = make_window()
    w.load_config(ui_write_config("drawn", start_date="2024-11-26", end_date="2024-12-06"))
    bridge = w.bridge
    bridge.gate_hold_ms = 60_000
    bridge.host_gate.max_wait_s = 60.0              # the gate does not open itself (after 0.25 s) meanwhile
    system = bridge.system
    bridge.set_speed(0)
    bridge.host_gate.close()                        # as a frame at MAX closes it
    bridge.play()
    time.sleep(0.3)                                 # no event processed: nothing draws, the gate stays closed
    held_at = system.position
    assert bridge.host_gate.closed and system.state == "running" and held_at <= 2
    time.sleep(0.1)
    assert system.position == held_at               # held between two bar times
    w.update()                                      # the frame's repaint, which the window posts
    qtbot.waitUntil(lambda: not bridge.host_gate.closed, timeout=5_000)  # opened by the paint
    qtbot.waitUntil(lambda: system.position > held_at + 1 or system.state == "finished", timeout=20_000)
    bridge.stop()
    assert bridge.join_threads(2.0)
