"""Live monitoring window on a replay run of a small synthetic store (pytest-qt, offscreen)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.shared_data import require_shared
from ui.windows.live_monitor import (
    FeedRates,
    LiveMonitorWindow,
    RecordTableModel,
    ThroughputHistory,
    build_live_system,
)
from workstation.errors import ConfigError
from workstation.live.system import LiveSystemManager
from workstation.store import BarStore

MAKE_BARS = Path(__file__).resolve().parents[2] / ".." / "shared" / "bench" / "make_bars.py"
DAY = "2024-01-02"
FINAL = ("finished", "stopped", "failed")


@pytest.fixture(scope="module")
def lm_store(tmp_path_factory) -> Path:
    """5 synthetic symbols x 1 session (make_bars, seed 42) in a bar store."""
    require_shared(MAKE_BARS, "../shared/bench/make_bars.py")
    spec = importlib.util.spec_from_file_location("lm_make_bars", MAKE_BARS)
    make_bars = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_bars)
    root = tmp_path_factory.mktemp("live_monitor") / "store"
    BarStore(root, create=True).write_bars(make_bars.make_bars(5, 1, seed=42), "1m")
    return root


def lm_config(store: Path, mode: str = "live", start: str = "15:50", speed: float = 300.0) -> dict:
    return {
        "name": "live monitor test",
        "mode": mode,
        "symbols": BarStore(store).symbols("1m"),
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 0.2},
        "backtest": {"start_date": DAY, "end_date": DAY},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "data_source": {"store_path": str(store)},
        "live": {
            "provider": "replay",
            "replay": {"start": f"{DAY} {start}", "speed": speed, "drop_fraction": 0.05, "seed": 42},
        },
    }


def lm_system(tmp_path: Path, store: Path, **kwargs) -> LiveSystemManager:
    path = tmp_path / "live.json"
    path.write_text(json.dumps(lm_config(store, **kwargs)), encoding="utf-8")
    return build_live_system(path)


def shown_monitor(qtbot, tmp_path: Path, store: Path, width: int, height: int):
    """(system, window): a live monitor of a replay run (not started), shown at width x height."""
    system = lm_system(tmp_path, store)
    window = LiveMonitorWindow(system, refresh_ms=100, owns_system=True)
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    return system, window


def test_replay_run_shows_health_feed_gaps_signals_and_throughput(qtbot, tmp_path, lm_store):
    system = lm_system(tmp_path, lm_store)
    decisions: list[object] = []
    system.events.subscribe("decision", lambda _k, d: decisions.append(d))
    window = LiveMonitorWindow(system, refresh_ms=100, owns_system=True)
    qtbot.addWidget(window)
    window.show()
    assert window.mode_badge.text() == "LIVE · PAPER"
    assert window.start_action.isEnabled() and not window.stop_action.isEnabled()
    # not started, at 15:50 of a session (the replay's start): the market is open, the feed not connected
    qtbot.waitUntil(lambda: window.session_label.text() == "Tue 2024-01-02 · open until 16:00", timeout=5000)
    assert window.header_pill.state == window.health_pill.state == "NOT STARTED"    # not "DISCONNECTED": nothing failed
    # the replay's clock waits for Start: the header shows where the replay will start (it ran on before:
    # 12:10 for a replay that then started at 12:00)
    qtbot.wait(300)                                   # 300 ms = 90 s of market time at 300x
    window.refresh_now()
    assert window.clock_label.text() == "15:50:00" and system.clock.now_ns() == system.clock.origin_ns

    window.start_action.trigger()
    qtbot.waitUntil(lambda: system.state in FINAL, timeout=45_000)
    qtbot.waitUntil(window.run_ended, timeout=10_000)
    assert system.state == "finished", system.summary()
    status = system.live_status()

    # connection health and its history
    assert window.health_states()[:2] == ["CONNECTING", "STREAMING"]
    assert window.health_states() == [state for _t, state, _d in status["health_history"]]
    assert window.health_pill.state == status["health"]
    assert window.provider_label.text() == "replay"

    # one row per symbol with the last bar time, latency, messages and quality
    model = window.symbol_model
    assert model.rowCount() == 5
    for row in range(5):
        record = model.record(row)
        assert record["symbol"] == status["symbols"][row]
        last_bar = model.data(model.index(row, 1))
        assert last_bar and last_bar != "—"
        assert last_bar == window._times.text(int(status["last_bar_ts"][row]), "%H:%M")
        latency = model.data(model.index(row, 2))
        assert latency and latency != "—"
        assert record["messages"] == int(status["messages"][row]) > 0
        assert model.data(model.index(row, 5)).endswith("%")

    # the gaps the gap filler saw, newest first, with their status; the dropped bars' gaps filled
    gaps = [g.as_dict() for g in system.gap_filler.gaps]
    assert window.gap_model.records() == list(reversed(gaps))
    dropped = set(system.provider.dropped)
    dropped_rows = [
        r for r, g in enumerate(window.gap_model.records()) if (g["symbol"], g["start_ns"]) in dropped
    ]
    assert dropped_rows, "the replay should drop some bars (drop_fraction 0.05, seed 42)"
    status_column = [c.title for c in window.gap_model.columns].index("Status")
    assert {window.gap_model.data(window.gap_model.index(r, status_column)) for r in dropped_rows} == {
        "filled"
    }
    filled = sum(1 for g in gaps if g["status"] == "filled")
    assert sum(model.record(r)["filled"] for r in range(5)) == filled >= len(dropped_rows)
    assert sum(model.record(r)["gaps"] for r in range(5)) == len(gaps)
    assert window.fill_log_model.rowCount() == len(system.gap_filler.log) >= len(gaps)

    # every decision of the run in the signal log (paper)
    assert decisions
    assert window.decision_count() == len(decisions)
    assert window.signal_log.model.row_count() == len(decisions)

    # throughput samples of the last minutes
    x, bars, messages = window.throughput_data()
    assert len(x) >= 1 and len(bars) == len(x) == len(messages)
    assert np.all(x <= 0) and messages.max() > 0

    # the run ended: no control but the window stays readable
    assert not window.start_action.isEnabled() and not window.stop_action.isEnabled()
    assert "finished" in window.state_label.text()
    assert window.session_label.text() == "Tue 2024-01-02 · closed"
    assert window.header_pill.state == window.health_pill.state == "DISCONNECTED"

    window.close()
    assert system.alive_threads() == []


def test_pause_resume_and_closing_mid_run_stops_an_owned_system(qtbot, tmp_path, lm_store):
    system = lm_system(tmp_path, lm_store, start="15:40", speed=60.0)
    window = LiveMonitorWindow(system, refresh_ms=50, owns_system=True)
    qtbot.addWidget(window)
    window.show()
    window.start_action.trigger()
    qtbot.waitUntil(lambda: "STREAMING" in window.health_states(), timeout=20_000)
    assert window.stop_action.isEnabled() and not window.start_action.isEnabled()
    qtbot.waitUntil(lambda: window.session_label.text() == "Tue 2024-01-02 · open until 16:00", timeout=5_000)

    window.pause_action.trigger()
    assert system.state == "paused"
    qtbot.waitUntil(lambda: window.pause_action.text() == "Resume", timeout=5_000)
    window.pause_action.trigger()
    assert system.state == "running"
    qtbot.waitUntil(lambda: window.pause_action.text() == "Pause", timeout=5_000)

    window.close()
    assert system.alive_threads() == []
    assert system.state == "stopped"


def test_stop_button_stops_the_run_and_the_window_shows_the_summary(qtbot, tmp_path, lm_store):
    system = lm_system(tmp_path, lm_store, start="15:40", speed=60.0)
    window = LiveMonitorWindow(system, refresh_ms=50)
    qtbot.addWidget(window)
    window.start()
    qtbot.waitUntil(lambda: "STREAMING" in window.health_states(), timeout=20_000)
    window.stop_action.trigger()
    assert not window.stop_action.isEnabled()  # returns at once; the engine stops in the background
    qtbot.waitUntil(window.run_ended, timeout=10_000)
    assert system.state == "stopped" and system.alive_threads() == []
    assert window.state_label.text().startswith("Run stopped")
    assert window.health_states()[-1] == "DISCONNECTED"
    # stopped at ~15:41 of a session open until 16:00: the market is still open (the run is not)
    window.refresh_now()
    text = window.session_label.text()       # (on two lines when the header is narrow)
    assert text.replace("\n", " · ") == "Tue 2024-01-02 · open until 16:00", text
    assert not window.start_action.isEnabled() and not window.pause_action.isEnabled()
    window.close()


def test_start_after_a_stop_begins_a_new_run_of_the_same_config(qtbot, tmp_path, lm_store):
    """Stopped, a live monitor could not start again (Start stayed disabled: the window had to be
    reopened). Given how to build the run, Start after the end builds a new one of the same config,
    shows it and starts it; the stopped run is left as it ended."""
    path = tmp_path / "live.json"
    path.write_text(json.dumps(lm_config(lm_store, start="15:40", speed=60.0)), encoding="utf-8")
    built: list[LiveSystemManager] = []

    def new_system() -> LiveSystemManager:
        built.append(build_live_system(path))
        return built[-1]

    window = LiveMonitorWindow(new_system(), refresh_ms=50, owns_system=True, new_system=new_system)
    qtbot.addWidget(window)
    first = window.system
    window.start_action.trigger()
    qtbot.waitUntil(lambda: "STREAMING" in window.health_states(), timeout=20_000)
    assert not window.start_action.isEnabled()             # running: nothing to start
    window.stop_action.trigger()
    qtbot.waitUntil(window.run_ended, timeout=10_000)
    qtbot.waitUntil(window.start_action.isEnabled, timeout=5_000)
    window.start_action.trigger()
    assert len(built) == 2 and window.system is built[1] and window.system is not first
    assert first.state == "stopped" and first.alive_threads() == []
    qtbot.waitUntil(lambda: "STREAMING" in window.health_states(), timeout=20_000)
    assert window.system.state in ("running", "paused") and not window.start_action.isEnabled()
    window.close()                                          # owned: closing stops the new run
    qtbot.waitUntil(lambda: window.system is None or window.system.alive_threads() == [], timeout=10_000)
    assert built[1].alive_threads() == []


def test_window_without_a_run_then_attach(qtbot, tmp_path, lm_store):
    window = LiveMonitorWindow(refresh_ms=100)
    qtbot.addWidget(window)
    assert window.system is None
    assert not window.start_action.isEnabled()
    assert window.state_label.text() == "No live run attached"
    with pytest.raises(TypeError):
        window.attach(object())

    system = lm_system(tmp_path, lm_store)
    window.attach(system)
    assert window.start_action.isEnabled()
    assert window.symbol_model.rowCount() == 5
    assert window.health_states() == []
    assert window.windowTitle() == "Live monitor — live monitor test"
    window.close()  # the window does not own the run: nothing was started
    assert system.state == "stopped" and system.alive_threads() == []


def test_build_live_system_needs_a_live_config(tmp_path, lm_store):
    path = tmp_path / "backtest.json"
    path.write_text(json.dumps(lm_config(lm_store, mode="backtest")), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        build_live_system(path)
    assert err.value.problems[0][0] == "mode" and "live" in err.value.problems[0][1]
    with pytest.raises(ConfigError):
        build_live_system(tmp_path / "missing.json")
    system = lm_system(tmp_path, lm_store)
    assert isinstance(system, LiveSystemManager) and system.state == "stopped"


def test_feed_rates_come_from_successive_message_counts():
    rates = FeedRates(window_s=5.0)
    assert rates.add(0.0, [0, 0]).tolist() == [0.0, 0.0]
    assert rates.add(1.0, [5, 10]).tolist() == [5.0, 10.0]
    assert rates.add(2.0, [9, 10]).tolist() == [4.5, 5.0]  # over the 2 s since the first sample
    assert rates.add(10.0, [50, 10]).tolist() == [41 / 8, 0.0]  # window: samples older than 5 s dropped
    assert rates.add(11.0, [1, 2, 3]).tolist() == [0.0, 0.0, 0.0]  # new symbol list: starts again


def test_throughput_history_samples_every_second_over_the_window():
    history = ThroughputHistory(window_s=300.0, sample_s=1.0, smooth_s=5.0)
    assert not history.add(0.0, 0, 0)
    assert not history.add(0.5, 50, 10)  # within a second of the last sample: ignored
    assert history.add(1.0, 100, 20)
    assert history.latest() == (100.0, 20.0)
    assert history.add(3.0, 100, 40)
    assert history.latest() == (100 / 3, 40 / 3)  # smoothed over the counts of the last seconds
    x, bars, messages = history.arrays(now_s=3.0)
    assert (
        x.tolist() == [-2.0, 0.0]
        and bars.tolist() == [100.0, 100 / 3]
        and messages.tolist() == [20.0, 40 / 3]
    )
    assert history.add(10.0, 100, 40)
    assert history.latest() == (0.0, 0.0)  # nothing new since more than 5 s
    history.add(400.0, 100, 40)
    assert len(history.samples) == 1  # older samples left the 5-minute window


def test_the_throughput_key_sits_above_the_plot_not_over_the_oldest_minute(qtbot):
    """The key (bars/s, messages/s) was a legend inside the plot's top-left corner, over the values of
    the oldest minute: it is now a row above the plot, naming each series in its line's colour."""
    from ui.windows.live_monitor import ThroughputChart

    chart = ThroughputChart()
    qtbot.addWidget(chart)
    chart.resize(420, 160)
    chart.show()
    qtbot.waitExposed(chart)
    x = np.arange(-300.0, 1.0)
    chart.set_data(x, np.full(len(x), 400.0), np.full(len(x), 12.0))      # the oldest minute at the top
    plot = chart.getPlotItem()
    qtbot.waitUntil(lambda: plot.titleLabel.isVisible())
    key = plot.titleLabel.sceneBoundingRect()
    data = plot.vb.sceneBoundingRect()
    assert key.height() > 0 and key.bottom() <= data.top() + 0.5
    assert plot.legend is None
    text = plot.titleLabel.text
    for curve, name in ((chart.bars_curve, "bars/s"), (chart.messages_curve, "messages/s")):
        colour = curve.opts["pen"].color().name()
        assert name in text and text.index(colour) < text.index(name)


def test_the_run_buttons_are_readable_on_the_dark_toolbar(qtbot):
    """Start, Pause (Resume) and Stop were Qt's black media glyphs on the dark toolbar."""
    from PySide6.QtGui import QIcon

    from tests.ui.colour import icon_contrast
    from ui import theme

    window = LiveMonitorWindow()
    qtbot.addWidget(window)
    for action in (window.start_action, window.pause_action, window.stop_action):
        assert icon_contrast(action.icon().pixmap(16, 16, QIcon.Mode.Normal), theme.PANEL) >= 7.0, action.text()


def test_record_model_inserts_new_leading_rows_and_repaints_changed_ones(qtbot):
    from ui.windows.live_monitor import Column

    model = RecordTableModel(
        [Column("Name", lambda r: r["name"]), Column("Status", lambda r: r["status"])],
        key=lambda r: r["name"],
    )
    inserted, changed, resets = [], [], []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.dataChanged.connect(lambda top, bottom: changed.append((top.row(), bottom.row())))
    model.modelReset.connect(lambda: resets.append(1))
    model.set_records([{"name": "a", "status": "pending"}])
    model.set_records([{"name": "b", "status": "pending"}, {"name": "a", "status": "filled"}])
    assert inserted == [(0, 0), (0, 0)] and changed == [(1, 1)] and not resets
    assert model.data(model.index(1, 1)) == "filled"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) is not None
    model.set_records([{"name": "c", "status": "x"}])
    assert resets == [1] and model.rowCount() == 1


def test_header_wraps_its_longest_figures_instead_of_widening_the_window(qtbot, tmp_path, lm_store, ui_themed):
    """At 1280 x 800 the header's gap counts ("14 found 12 filled 0 failed 2 no trades") and an early
    close's session line grew the window to ~1,400 px, past the screen's edge. The header now puts such
    a figure on two lines when one would not fit: through a replay in a window narrower than the
    one-line header, the window never widens and every header label shows its whole text."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QLabel

    system, window = shown_monitor(qtbot, tmp_path, lm_store, 1060, 700)
    widths: list[int] = []
    sampler = QTimer(window)
    sampler.timeout.connect(lambda: widths.append(window.width()))
    sampler.start(20)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: system.state in FINAL, timeout=45_000)
    qtbot.waitUntil(window.run_ended, timeout=10_000)
    qtbot.wait(300)
    sampler.stop()
    assert system.state == "finished" and len(widths) > 10
    assert max(widths) == 1060, max(widths)
    assert "<br>" in window.kpi_gaps.value.text()       # the gap counts took two lines here
    for label in window.header.findChildren(QLabel):
        if label.isVisible():
            assert label.width() >= label.minimumSizeHint().width(), label.text()
    window.close()


def test_the_symbols_table_shows_every_row_when_there_is_room(qtbot, tmp_path, lm_store, ui_themed):
    """At 1366 x 768 the symbols table got 2/5 of the left column and showed 4 of the 5 symbols, a
    scroll bar and an empty signal log under it (Xvfb). Once shown it takes the height of its rows, at
    most half of the column."""
    _system, window = shown_monitor(qtbot, tmp_path, lm_store, 1366, 720)
    view = window.symbol_view
    qtbot.waitUntil(lambda: window.symbol_model.rowCount() == 5, timeout=5000)
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() == 0, timeout=5000)
    assert view.viewport().height() >= 5 * view.rowHeight(0)
    top, bottom = window.left_splitter.sizes()
    assert top <= (top + bottom) // 2 and bottom > top          # the tabs keep the larger share
    window.close()
