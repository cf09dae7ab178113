"""The timeline scrubber and step back in the window (pytest-qt): a click or a drag on the timeline goes
to that bar time, ← and the Back button step back one bar time, and the chart and the Orders &
Positions panel then show the engine's state at that bar time (orders placed later are gone, the ones
placed before are back). Expectations come from the bar store and the geometry, not the widget."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt

from ui.widgets.timeline import GAP, MARGIN, Timeline, TimelineSession
from workstation.store import BarStore

MIN = 60_000_000_000
OPEN_1 = int(pd.Timestamp("2024-12-04 14:30", tz="UTC").value)
OPEN_2 = int(pd.Timestamp("2024-12-05 14:30", tz="UTC").value)
CLOSE_1, CLOSE_2 = OPEN_1 + 390 * MIN, OPEN_2 + 390 * MIN
WAIT_MS = 30_000


@pytest.fixture
def timeline(qtbot):
    w = Timeline()
    w.resize(800 + 2 * MARGIN + GAP, 34)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.set_sessions([TimelineSession(dt.date(2024, 12, 4), OPEN_1, CLOSE_1),
                    TimelineSession(dt.date(2024, 12, 5), OPEN_2, CLOSE_2)], MIN, "America/New_York")
    return w


def test_click_asks_for_the_bar_time_under_the_mouse(qtbot, timeline):
    # two equal sessions of 390 bars, 400 px each: x = MARGIN + 100 is bar 97 of the first (100/400*390)
    with qtbot.waitSignal(timeline.seek_requested, timeout=2000) as sent:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(MARGIN + 100, 12))
    assert sent.args == [OPEN_1 + 97 * MIN]
    with qtbot.waitSignal(timeline.seek_requested, timeout=2000) as sent:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(MARGIN + 400 + GAP + 200, 12))
    assert sent.args == [OPEN_2 + 195 * MIN]


def test_drag_sends_throttled_requests_and_the_release_point_last(qtbot, timeline):
    got = []
    timeline.seek_requested.connect(got.append)
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=QPoint(MARGIN + 10, 12))
    for x in range(MARGIN + 10, MARGIN + 600, 20):
        qtbot.mouseMove(timeline, QPoint(x, 12))
    qtbot.mouseRelease(timeline, Qt.MouseButton.LeftButton, pos=QPoint(MARGIN + 700, 12))
    assert got[-1] == OPEN_2 + int((700 - 400 - GAP) / 400 * 390) * MIN
    assert 1 <= len(got) < 30          # throttled: not one request per mouse move


def test_the_handle_follows_the_clock_and_the_furthest_point_stays(timeline):
    timeline.set_clock(OPEN_2 + 100 * MIN)
    timeline.set_clock(OPEN_1 + 50 * MIN)
    assert timeline.clock_ns == OPEN_1 + 50 * MIN and timeline.reached_ns == OPEN_2 + 100 * MIN
    assert timeline.x_of(OPEN_1 + 195 * MIN) == pytest.approx(MARGIN + 200)


# ---------------------------------------------------------------------------------- in the window

def store_bars(store_root, symbol: str, start_ns: int, last_bar_ns: int):
    frame = BarStore(store_root).read_bars([symbol], "1m", start_ns, last_bar_ns + 1)
    return pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8


def shown_session_bars(w, start_ns: int):
    ts = w.chart_panels[0].chart.bar_arrays()[0]
    return ts[ts >= start_ns]


def manual_orders(system) -> list[int]:
    return [o.id for o in system.broker.orders() if o.strategy == "manual" and o.is_open]


def open_orders(system) -> list[int]:
    return sorted(o.id for o in system.broker.orders() if o.is_open)


def go_to(qtbot, w, bar_ns: int) -> None:
    """Click the timeline where the bar time `bar_ns` lies and wait for the engine to get there."""
    x = w.timeline.x_of(bar_ns + MIN // 2)
    position_before = w.bridge.last_seek
    qtbot.mouseClick(w.timeline, Qt.MouseButton.LeftButton, pos=QPoint(int(round(x)), 12))
    qtbot.waitUntil(lambda: w.bridge.last_seek is not position_before and w.bridge.last_seek is not None,
                    timeout=WAIT_MS)


def test_timeline_click_and_left_key_keep_the_state(qtbot, ui_make_window, ui_small_config, ui_demo_store):
    w = ui_make_window()
    w.load_config(ui_small_config)
    w.chart_panels[0].set_current_symbol("ACME")
    w.chart_panels[0].set_current_interval("1m")
    system = w.bridge.system
    assert w.timeline.isEnabled() and not w.step_back_action.isEnabled()

    go_to(qtbot, w, OPEN_1 + 29 * MIN)            # forward from the start: 30 bar times, paused
    assert system.position == 30 and system.state == "paused"
    limit_price = 1.0                              # far below: stays working
    w.bridge.submit_order("ACME", 10, "limit", limit_price=limit_price)
    qtbot.waitUntil(lambda: bool(manual_orders(system)), timeout=WAIT_MS)
    first_order = manual_orders(system)[0]
    qtbot.waitUntil(lambda: first_order in w.orders_panel.working_order_ids(), timeout=WAIT_MS)

    go_to(qtbot, w, OPEN_1 + 59 * MIN)            # forward again, the order still works
    assert system.position == 60
    assert first_order in w.orders_panel.working_order_ids()
    expected = store_bars(ui_demo_store, "ACME", OPEN_1, OPEN_1 + 59 * MIN)
    qtbot.waitUntil(lambda: list(shown_session_bars(w, OPEN_1)) == list(expected), timeout=WAIT_MS)

    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    seek_before = w.bridge.last_seek
    qtbot.keyClick(w, Qt.Key.Key_Left)            # one bar time back
    qtbot.waitUntil(lambda: w.bridge.last_seek is not seek_before, timeout=WAIT_MS)
    assert system.position == 59 and system.state == "paused"
    expected = store_bars(ui_demo_store, "ACME", OPEN_1, OPEN_1 + 58 * MIN)
    assert list(shown_session_bars(w, OPEN_1)) == list(expected)
    assert manual_orders(system) == [first_order]                    # placed before: still there
    assert sorted(w.orders_panel.working_order_ids()) == open_orders(system)
    assert w.timeline.clock_ns == OPEN_1 + 59 * MIN

    seek_before = w.bridge.last_seek
    w.step_back_action.trigger()                  # the toolbar button does the same
    qtbot.waitUntil(lambda: w.bridge.last_seek is not seek_before, timeout=WAIT_MS)
    assert system.position == 58

    go_to(qtbot, w, OPEN_1 + 19 * MIN)            # back before the order was placed: it is gone
    assert system.position == 20
    assert first_order not in w.orders_panel.working_order_ids()
    assert sorted(w.orders_panel.working_order_ids()) == open_orders(system)
    assert not [o for o in system.broker.orders() if o.strategy == "manual"]
    expected = store_bars(ui_demo_store, "ACME", OPEN_1, OPEN_1 + 19 * MIN)
    assert list(shown_session_bars(w, OPEN_1)) == list(expected)
    assert all(int(r["time_ns"]) <= OPEN_1 + 20 * MIN for r in w.signal_log.shown_rows()
               if r.get("time_ns") is not None)
    # account equals the engine's (independent of what the panel folded)
    engine_account = system.broker.account_snapshot()
    assert w.bridge.account.cash == engine_account.cash and w.bridge.account.equity == engine_account.equity
    assert list(w.bridge.account.positions) == list(engine_account.positions)
    held = [s for s, q in zip(engine_account.symbols, engine_account.positions, strict=True) if q]
    assert sorted(row[0] for row in w.orders_panel.positions_rows()) == sorted(held)

    go_to(qtbot, w, OPEN_2 + 4 * MIN)             # forward across the session boundary
    assert system.position == 390 + 5
    expected = store_bars(ui_demo_store, "ACME", OPEN_2, OPEN_2 + 4 * MIN)
    assert list(shown_session_bars(w, OPEN_2)) == list(expected)
    go_to(qtbot, w, OPEN_1 + 300 * MIN)           # and back into the first session
    assert system.position == 301
    expected = store_bars(ui_demo_store, "ACME", OPEN_1, OPEN_1 + 300 * MIN)
    assert list(shown_session_bars(w, OPEN_1)) == list(expected)
    w.play()
    qtbot.waitUntil(lambda: system.state == "finished", timeout=60_000)
    qtbot.waitUntil(lambda: "FINISHED" in w.state_label.text(), timeout=10_000)   # the window saw the end
    assert not w.timeline.isEnabled() and not w.step_back_action.isEnabled()


def test_the_step_back_message_fits_the_status_bar_at_1280(qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.resize(1280, 800)
    w.load_config(ui_small_config)
    w.seek_to(OPEN_1 + 299 * MIN)                 # forward: said at once, then "went forward", 300 replayed
    assert w.statusBar().currentMessage() == "Going to the bar Wed 12-04 14:29…"
    qtbot.waitUntil(lambda: "went forward" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    w.hand_trading.market(+1)                     # a hand order: its answer shows in the trade bar
    qtbot.waitUntil(lambda: "done" in w.trade_bar.answer_text(), timeout=WAIT_MS)
    seek_before = w.bridge.last_seek
    w.step_back_action.trigger()                  # back one: "restored a snapshot"
    qtbot.waitUntil(lambda: w.bridge.last_seek is not seek_before, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "restored a snapshot" in w.statusBar().currentMessage(), timeout=WAIT_MS)
    message = w.statusBar().currentMessage()
    assert message.startswith("At the bar Wed 12-04 14:28: restored a snapshot, replayed "), message
    assert w.trade_bar.answer_text() == ""        # the order it answered is gone with the bar time
    qtbot.wait(50)                                # the read-outs laid out with this state's texts
    bar = w.statusBar()
    assert bar.full_message == message and "…" not in message               # shown whole, not shortened
    assert bar.fontMetrics().horizontalAdvance(message) <= bar.message_room(), message
    assert "every 60 bar times" in w.timeline.toolTip()          # the snapshots are told there
    position = w.bridge.system.position
    w.step()                                      # one forward: "At the bar 14:28" would be stale
    qtbot.waitUntil(lambda: w.bridge.system.position == position + 1, timeout=WAIT_MS)
    assert w.statusBar().currentMessage() == ""
    w.hand_trading.market(+1)                     # another message is not the step's to clear
    w.step()
    qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith("filled: bought 100 ACME"), timeout=WAIT_MS)
    message = w.statusBar().currentMessage()
    w.step()
    qtbot.waitUntil(lambda: w.bridge.system.position == position + 3, timeout=WAIT_MS)
    qtbot.wait(50)
    assert w.statusBar().currentMessage() == message


def test_gui_run_folder_after_going_back_equals_a_headless_run(qtbot, tmp_path, ui_write_config):
    """In the window's engine bridge: forward into the third session, back into the first (the bars
    parts written for the sessions gone back over are deleted at once), then to the end: the run folder
    equals a headless run of the config that never went back."""
    from ui.bridge import EngineBridge

    path = ui_write_config("three", start_date="2024-12-04", end_date="2024-12-06")
    bridge = EngineBridge(runs_dir=tmp_path / "runs")
    try:
        check_gui_folder(qtbot, tmp_path, bridge, path)
    finally:
        bridge.shutdown(2.0)


def check_gui_folder(qtbot, tmp_path, bridge, path) -> None:
    from workstation.config import load_config
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager

    bridge.load_config(path)

    def seek(bar_ns):
        before = bridge.last_seek
        bridge.seek(bar_ns)
        qtbot.waitUntil(lambda: bridge.last_seek is not before, timeout=WAIT_MS)

    seek(int(pd.Timestamp("2024-12-06 14:30", tz="UTC").value) + 40 * MIN)
    parts = bridge.run_dir / "bars.parquet"

    def sessions_written() -> int:      # the two finished sessions, in one part or two (RunWriter.COALESCE_S)
        files = sorted(parts.glob("part-*.parquet"))
        if not files:
            return 0
        stamps = pd.concat([pd.read_parquet(f, columns=["timestamp"]) for f in files])["timestamp"]
        return stamps.dt.tz_convert("America/New_York").dt.date.nunique()

    qtbot.waitUntil(lambda: sessions_written() == 2, timeout=WAIT_MS)
    seek(OPEN_1 + 99 * MIN)
    assert bridge.system.position == 100 and bridge.sessions_done == 0
    qtbot.waitUntil(lambda: not list(parts.glob("part-*.parquet")), timeout=WAIT_MS)
    with qtbot.waitSignal(bridge.finished, timeout=60_000):
        bridge.play()
    assert bridge.wait_writers(10.0)
    headless = SystemManager(load_config(path))
    writer = RunWriter(headless, tmp_path / "headless")
    headless.start()
    assert headless.wait(60.0)
    qtbot.waitUntil(lambda: writer.closed, timeout=10_000)
    for name in ("bars.parquet", "signals.parquet", "orders.parquet", "fills.parquet", "trades.parquet",
                 "equity.parquet", "quality.parquet"):
        gui = pd.read_parquet(bridge.run_dir / name).reset_index(drop=True)
        ref = pd.read_parquet(tmp_path / "headless" / name).reset_index(drop=True)
        assert len(gui) > 0, name
        pd.testing.assert_frame_equal(gui, ref, check_exact=True, obj=name)
    # the same rows in parts however they are cut (sessions ending within a second share one), and
    # nothing else left in the folder (no half-written or orphaned file)
    names = sorted(p.name for p in parts.iterdir())
    assert names and all(re.fullmatch(r"part-\d{4}\.parquet", n) for n in names), names


def _send_mouse(widget, kind, x: float, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}
    button = Qt.MouseButton.NoButton if kind == "move" else Qt.MouseButton.LeftButton
    pos = QPointF(x, 12)
    event = QMouseEvent(types[kind], pos, widget.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def _send_wheel(widget, notches: int, modifiers=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    pos = QPointF(MARGIN + 50, 12)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_step_bars_walks_the_sessions_bar_by_bar(timeline):
    assert timeline.step_bars(OPEN_1 + 389 * MIN, 1) == OPEN_2            # over the night: the next open
    assert timeline.step_bars(OPEN_2, -1) == OPEN_1 + 389 * MIN
    assert timeline.step_bars(OPEN_1 + 10 * MIN, 5) == OPEN_1 + 15 * MIN
    assert timeline.step_bars(OPEN_1 + 3 * MIN, -10) == OPEN_1            # clamped at the first bar
    assert timeline.step_bars(OPEN_2 + 385 * MIN, 50) == OPEN_2 + 389 * MIN   # and at the last


def test_the_wheel_goes_one_bar_time_a_notch_shift_fifteen(qtbot, timeline):
    """A pixel holds ~1 bar here (5 on a 1280 px window with a week): the wheel reaches every bar."""
    timeline.set_clock(OPEN_1 + 10 * MIN)          # the END of the bar starting at +9 min
    with qtbot.waitSignal(timeline.seek_requested, timeout=2000) as sent:
        _send_wheel(timeline, 3)
    assert sent.args == [OPEN_1 + 12 * MIN]
    timeline.set_clock(OPEN_1 + 13 * MIN)
    with qtbot.waitSignal(timeline.seek_requested, timeout=2000) as sent:
        _send_wheel(timeline, -1)
    assert sent.args == [OPEN_1 + 11 * MIN]
    timeline.set_clock(OPEN_1 + 389 * MIN)
    with qtbot.waitSignal(timeline.seek_requested, timeout=2000) as sent:
        _send_wheel(timeline, 1, Qt.KeyboardModifier.ShiftModifier)
    assert sent.args == [OPEN_2 + 13 * MIN]        # 15 bars from the bar at +388: 1 left today, 14 tomorrow


def test_shift_drag_moves_one_bar_time_per_few_pixels(qtbot, timeline):
    from ui.widgets.timeline import FINE_PX

    timeline.resize(200 + 2 * MARGIN + GAP, 34)    # ~4 bars a pixel: a plain drag cannot hit each bar
    got = []
    timeline.seek_requested.connect(got.append)
    left, shift = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier
    x0 = MARGIN + 50
    _send_mouse(timeline, "press", x0, left)
    start = timeline.bar_at(x0)
    _send_mouse(timeline, "move", x0, left, shift)                 # Shift pressed here: the anchor
    _send_mouse(timeline, "move", x0 + 7 * FINE_PX, left, shift)
    _send_mouse(timeline, "release", x0 + 7 * FINE_PX, Qt.MouseButton.NoButton, shift)
    assert got[-1] == start + 7 * MIN
    _send_mouse(timeline, "press", x0, left)
    _send_mouse(timeline, "move", x0 + 7 * FINE_PX, left)          # without Shift: the bar under the mouse
    _send_mouse(timeline, "release", x0 + 7 * FINE_PX, Qt.MouseButton.NoButton)
    assert got[-1] == timeline.bar_at(x0 + 7 * FINE_PX) and got[-1] - start > 20 * MIN
