"""EngineBridge: QThread hosting, coalesced batches, session history, step/pause/stop/jump, shutdown."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import numpy as np
import pandas as pd
import pytest

from ui.bridge import EngineBridge, EngineThread, UpdateBatch
from workstation.errors import ConfigError, StoreError, WorkstationError
from workstation.store import BarStore

FINISH_MS = 30_000


@pytest.fixture
def bridge(qtbot, tmp_path):
    b = EngineBridge(runs_dir=tmp_path / "runs")
    yield b
    b.shutdown(2.0)


def _collect(bridge: EngineBridge) -> list[UpdateBatch]:
    batches: list[UpdateBatch] = []
    bridge.batch_ready.connect(batches.append)
    return batches


def _store_bars(store_path, symbol: str, first: str, last: str) -> pd.DataFrame:
    store = BarStore(store_path)
    tm = store.time_manager
    start = tm.session(dt.date.fromisoformat(first)).open_ns
    end = tm.session(dt.date.fromisoformat(last)).close_ns
    return store.read_bars([symbol], "1m", start, end, rth_only=True)


@pytest.mark.parametrize("stage_threads", [None, False, True])
def test_stages_run_in_qthreads_and_every_event_arrives_coalesced(qtbot, bridge, ui_write_config, stage_threads):
    """A backtest config that leaves backtest.stage_threads unset runs as `workstation run` runs it: its
    stages in the coordinator's QThread; one that sets it true gets a QThread per stage."""
    backtest = {} if stage_threads is None else {"stage_threads": stage_threads}
    bridge.load_config(ui_write_config("threads", **backtest))
    system = bridge.system
    threads = stage_threads is True
    assert system.cfg.backtest.stage_threads is threads
    assert system.coordinator.host_gate is bridge.host_gate
    batches = _collect(bridge)
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS) as done:
        t0 = time.perf_counter()
        bridge.play()
        assert isinstance(system.coordinator._thread, EngineThread)
        stages = (system.processor, system.analysis, system.quality)
        if threads:
            assert all(isinstance(s._thread, EngineThread) for s in stages)
        else:       # run in the coordinator's thread: no thread of their own
            assert not system.pipeline.threaded and all(s._thread is None for s in stages)
    elapsed_ms = (time.perf_counter() - t0) * 1000
    summary = done.args[0]
    assert summary["state"] == "finished"
    assert not bridge.host_gate.closed
    assert sum(b.decisions for b in batches) == summary["signals"] > 0
    # the GUI takes decisions a round at a time: nobody asks the engine for a Decision per signal
    assert system.events.wants("decisions") and not system.events.wants("decision")
    assert sum(len(b.fills) for b in batches) == len(system.broker.fills) == summary["fills"]
    # every session end once (two may share a batch: at MAX a batch spans 100 ms)
    assert [e["index"] for b in batches for e in b.session_ends] == [0, 1] and summary["sessions_total"] == 2
    # one batch per frame at most: a 16 ms timer cannot fire more often
    assert len(batches) <= elapsed_ms / 16 + 5
    assert batches[-1].finished == summary
    assert bridge.join_threads(1.0)
    assert system.alive_threads() == []
    assert (bridge.run_dir / "trades.parquet").exists()


@pytest.mark.parametrize("stage_threads", [None, True])
def test_a_frame_at_max_holds_the_single_engine_thread_until_it_is_drawn(qtbot, bridge, ui_write_config,
                                                                         stage_threads):
    """At MAX a frame closes the host gate: the single engine thread stops after its bar time until
    GATE_HOLD_MS after the views had the batch (the frame's paint runs without it); a thread per stage
    is never held."""
    from ui.bridge import GATE_HOLD_MS

    backtest = {"start_date": "2024-11-26", "end_date": "2024-12-06"}
    if stage_threads is not None:
        backtest["stage_threads"] = stage_threads
    bridge.load_config(ui_write_config("held", **backtest))
    system = bridge.system
    bridge.set_speed(0)
    bridge.play()
    qtbot.waitUntil(lambda: system.position > 100, timeout=FINISH_MS)
    bridge._drain()                                 # a frame, as the frame timer calls it
    held = bridge.host_gate.closed
    start = system.position
    time.sleep(0.1)                                 # no event processed: the gate stays as it is
    moved = system.position - start
    assert held is (stage_threads is None)
    if held:
        assert moved <= 1                           # the bar time in progress ends, then it waits
        qtbot.waitUntil(lambda: not bridge.host_gate.closed, timeout=GATE_HOLD_MS + 1000)
        qtbot.waitUntil(lambda: system.position > start + 1 or system.state == "finished", timeout=FINISH_MS)
        assert bridge.host_gate.waits >= 1
    else:
        assert moved > 1
    bridge.stop()
    assert bridge.join_threads(2.0)


def test_history_holds_prerun_days_and_finished_sessions(qtbot, tmp_path, ui_small_config, ui_demo_store):
    bridge = EngineBridge(runs_dir=tmp_path / "runs", chart_days_before=2)
    bridge.load_config(ui_small_config)
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS):
        bridge.play()
    for symbol in ("ACME", "CYRX"):
        hist = bridge.history_bars(symbol, "1m")
        expected = _store_bars(ui_demo_store, symbol, "2024-12-02", "2024-12-05")
        ts = pd.DatetimeIndex(expected["timestamp"]).as_unit("ns").asi8
        np.testing.assert_array_equal(hist.timestamp, ts)
        np.testing.assert_allclose(hist.close, expected["close"].to_numpy(dtype=float))
        # derived 5m history: the engine's buckets (09:30, 09:35 ...) with the same total volume
        five = bridge.history_bars(symbol, "5m")
        assert ((five.timestamp - five.timestamp[0]) % (5 * 60 * 10**9) == 0).all()
        assert five.volume.sum() == pytest.approx(hist.volume.sum())
        assert five.high.max() == pytest.approx(hist.high.max())
    bridge.shutdown(1.0)


def test_history_is_capped_to_the_last_sessions(qtbot, tmp_path, ui_small_config, ui_demo_store):
    bridge = EngineBridge(runs_dir=tmp_path / "runs", history_sessions=1, chart_days_before=0)
    bridge.load_config(ui_small_config)
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS):
        bridge.play()
    hist = bridge.history_bars("BOLT", "1m")
    expected = _store_bars(ui_demo_store, "BOLT", "2024-12-05", "2024-12-05")
    np.testing.assert_array_equal(hist.timestamp, pd.DatetimeIndex(expected["timestamp"]).as_unit("ns").asi8)
    bridge.shutdown(1.0)


def test_step_advances_exactly_one_bar_time_then_pauses(qtbot, bridge, ui_small_config):
    bridge.load_config(ui_small_config)
    system = bridge.system
    bridge.step()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    t1, n1 = system.clock.now_ns(), system.bars_processed
    assert system.state == "paused"
    bridge.step()
    qtbot.waitUntil(lambda: system.bars_processed > n1, timeout=5000)
    assert system.clock.now_ns() - t1 == 60 * 10**9
    n2 = system.bars_processed
    qtbot.wait(150)
    assert system.bars_processed == n2 and system.state == "paused"
    with qtbot.waitSignal(bridge.finished, timeout=5000) as done:
        bridge.stop()
    assert done.args[0]["state"] == "stopped"
    assert bridge.join_threads(1.0)


def test_pause_resume_and_speed_reach_the_engine(qtbot, bridge, ui_small_config):
    bridge.load_config(ui_small_config)
    system = bridge.system
    bridge.set_speed(120)
    assert system.control.speed == 120
    bridge.play()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    bridge.pause()
    qtbot.waitUntil(lambda: system.state == "paused", timeout=2000)
    qtbot.wait(50)
    n = system.bars_processed
    qtbot.wait(700)  # at 120x a bar is due every 0.5 s: none may come while paused
    assert system.bars_processed == n
    bridge.set_speed(0)
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS) as done:
        bridge.play()
    assert done.args[0]["state"] == "finished"


def test_jump_to_builds_a_new_run_without_duplicate_events(qtbot, bridge, ui_small_config):
    bridge.load_config(ui_small_config)
    first = bridge.system
    old_run = bridge.run_id
    with pytest.raises(WorkstationError, match=r"2024-12-20 is outside the config's dates 2024-12-04 \.\. 2024-12-05"):
        bridge.jump_to("2024-12-20")
    system = bridge.jump_to("2024-12-05")
    assert system is not first and bridge.run_id == old_run + 1
    assert [s.date for s in system.sessions] == [dt.date(2024, 12, 5)]
    batches = _collect(bridge)
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS) as done:
        bridge.play()
    assert done.args[0]["sessions_total"] == 1
    assert sum(b.decisions for b in batches) == done.args[0]["signals"] == bridge.decision_count
    assert "from-20241205" in bridge.run_dir.name
    # play after the end replays the same range as a fresh run
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS):
        bridge.play()
    assert bridge.system is not system and bridge.system.cfg.backtest.start_date == dt.date(2024, 12, 5)


def test_shutdown_joins_every_thread_within_a_second(qtbot, bridge, ui_small_config):
    bridge.load_config(ui_small_config)
    system = bridge.system
    bridge.set_speed(30)
    bridge.play()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=FINISH_MS)
    assert system.alive_threads()
    assert bridge.shutdown(1.0)
    assert system.alive_threads() == [] and bridge.alive_threads() == []


def test_bad_configs_raise_clear_errors(bridge, ui_configs_dir, ui_demo_store, ui_small_config):
    data = json.loads(ui_small_config.read_text())
    data["backtest"]["end_date"] = "2024-11-01"
    bad = ui_configs_dir / "bad_dates.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="backtest"):
        bridge.load_config(bad)
    data = json.loads(ui_small_config.read_text())
    data["symbols"] = ["ACME", "NOPE"]
    bad.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="NOPE"):
        bridge.load_config(bad)
    assert bridge.system is None


def test_the_bars_writer_joins_sessions_and_a_step_back_keeps_the_sessions_before_it(tmp_path):
    """Sessions held together are written as one part named after the last; a step back into a session
    inside that part rewrites it with the sessions before it only, and the replayed sessions come after:
    the folder holds each session's bars once, in order (expected rows made here from the arrays)."""
    from types import SimpleNamespace

    from ui.bridge import SessionBarsWriter
    from workstation.session import BarsView

    day = 86_400 * 10**9

    def session(k: int, price: float) -> dict:
        ts = np.arange(3, dtype=np.int64) * 60 * 10**9 + (k + 1) * day
        return {("AAA", "1m"): BarsView(ts, *(np.full(3, price + i) for i in range(4)), np.full(3, 100.0))}

    def rows(sessions: list[dict]) -> pd.DataFrame:
        return pd.DataFrame([(k[0], k[1], int(t), v.open[i], v.close[i]) for bars in sessions
                             for k, v in bars.items() for i, t in enumerate(v.timestamp)],
                            columns=["symbol", "interval", "timestamp", "open", "close"])

    def folder_rows() -> pd.DataFrame:
        frame = pd.read_parquet(tmp_path / "run" / "bars.parquet")
        return pd.DataFrame({"symbol": frame["symbol"].astype(str), "interval": frame["interval"].astype(str),
                             "timestamp": frame["timestamp"].astype("int64"), "open": frame["open"],
                             "close": frame["close"]})

    writer = SessionBarsWriter(tmp_path / "run", SimpleNamespace(symbols=["AAA"], intervals=["1m"]), coalesce_s=3600)
    first = [session(k, 10.0 * (k + 1)) for k in range(3)]
    for k, bars in enumerate(first):
        writer.submit(k, bars)
    writer.discard_from(3)                  # nothing after session 3: the held sessions are written, joined
    deadline = time.monotonic() + 10
    while not list((tmp_path / "run" / "bars.parquet").glob("part-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [p.name for p in (tmp_path / "run" / "bars.parquet").glob("part-*.parquet")] == ["part-0003.parquet"]
    writer.discard_from(1)                  # back into session 1: session 0 stays, 1 and 2 go
    replayed = [session(k, 500.0 + k) for k in (1, 2)]      # what the replay gives for them
    writer.submit(1, replayed[0])
    writer.submit(2, replayed[1])
    writer.close()
    deadline = time.monotonic() + 10
    while not writer.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.done() and not writer.errors
    names = sorted(p.name for p in (tmp_path / "run" / "bars.parquet").iterdir())
    assert names == ["part-0001.parquet", "part-0003.parquet"]     # session 0; sessions 1-2 replayed, joined
    pd.testing.assert_frame_equal(folder_rows(), rows([first[0], *replayed]))


def test_the_bars_writer_writes_a_big_session_as_it_comes(tmp_path, monkeypatch):
    """A session of RunWriter.JOIN_ROWS bars or more (100 symbols) is not held: its part is written at
    once, after the small sessions held before it, even with a long coalescing time."""
    from types import SimpleNamespace

    from ui.bridge import SessionBarsWriter
    from workstation.run_writer import RunWriter
    from workstation.session import BarsView

    monkeypatch.setattr(RunWriter, "JOIN_ROWS", 5)

    def session(k: int, n: int) -> dict:
        ts = np.arange(n, dtype=np.int64) * 60 * 10**9 + (k + 1) * 86_400 * 10**9
        return {("AAA", "1m"): BarsView(ts, *(np.full(n, 1.0 + k) for _ in range(4)), np.full(n, 10.0))}

    writer = SessionBarsWriter(tmp_path / "run", SimpleNamespace(symbols=["AAA"], intervals=["1m"]), coalesce_s=3600)
    folder = tmp_path / "run" / "bars.parquet"
    writer.submit(0, session(0, 2))             # small: held
    writer.submit(1, session(1, 2))             # small: held with it
    writer.submit(2, session(2, 6))             # big: the held ones, then it, at once
    deadline = time.monotonic() + 10
    while len(list(folder.glob("part-*.parquet"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(p.name for p in folder.glob("part-*.parquet")) == ["part-0002.parquet", "part-0003.parquet"]
    assert len(pd.read_parquet(folder / "part-0002.parquet")) == 4 and len(pd.read_parquet(folder / "part-0003.parquet")) == 6
    writer.close()


def test_run_folder_matches_a_headless_run_of_the_same_config(qtbot, tmp_path, ui_small_config, monkeypatch):
    from ui.bridge import SessionBarsWriter
    from workstation.config import load_config
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager

    write_bars = SessionBarsWriter._write

    def slow_write(self, sessions):         # the bars' parts come after the run writer's last file
        time.sleep(0.3)
        write_bars(self, sessions)

    monkeypatch.setattr(SessionBarsWriter, "_write", slow_write)
    bridge = EngineBridge(runs_dir=tmp_path / "runs")
    bridge.load_config(ui_small_config)
    assert bridge.folder_written_at() is None
    with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS):
        bridge.play()
        assert bridge.folder_written_at() is None
    # when the folder was complete (benchmarks/bench_gui.py's run time to the folder written): not before
    # the bars' last part, which comes after the run writer's last file here
    qtbot.waitUntil(lambda: bridge.writer.closed, timeout=10_000)
    assert not bridge.bars_writer.done() and bridge.folder_written_at() is None
    assert bridge.wait_writers(10.0)
    at = bridge.folder_written_at()
    assert at is not None and bridge.system.started_at < at <= time.perf_counter()
    assert at == bridge.bars_writer.written_at > bridge.writer.closed_at
    assert sorted((bridge.run_dir / "bars.parquet").glob("part-*.parquet"))
    headless = SystemManager(load_config(ui_small_config))
    writer = RunWriter(headless, tmp_path / "headless")
    assert headless.started_at is None and writer.closed_at is None
    headless.start()
    assert headless.wait(30.0)
    qtbot.waitUntil(lambda: writer.closed, timeout=10_000)
    assert headless.started_at < writer.closed_at <= time.perf_counter()
    order = ["interval", "symbol", "timestamp"]
    for name, keys in (
        ("bars.parquet", order),
        ("trades.parquet", ["symbol", "entry_time"]),
        ("signals.parquet", ["time", "symbol", "strategy"]),
    ):
        gui = pd.read_parquet(bridge.run_dir / name).sort_values(keys).reset_index(drop=True)
        ref = pd.read_parquet(tmp_path / "headless" / name).sort_values(keys).reset_index(drop=True)
        assert len(gui) > 0
        pd.testing.assert_frame_equal(gui, ref, check_dtype=True)
    bridge.shutdown(1.0)


def test_open_orders_are_folded_from_change_records_without_an_order_per_change(qtbot, bridge, ui_small_config,
                                                                                 monkeypatch):
    """Bar time by bar time, the bridge's open orders equal the broker's (as Order snapshots), while the UI
    thread builds no OrderEvent for the run's order changes (thousands a second at MAX): batches carry
    the broker's light OrderChange records."""
    import threading

    from workstation.execution import OrderChange

    built_in_ui: list[int] = []
    original = OrderChange.event

    def counting(self):
        if threading.current_thread() is threading.main_thread():
            built_in_ui.append(self.order_id)
        return original(self)

    monkeypatch.setattr(OrderChange, "event", counting)
    batches = _collect(bridge)
    bridge.load_config(ui_small_config)
    system = bridge.system
    seen_open = 0
    for _ in range(120):
        n = system.position
        bridge.step()
        qtbot.waitUntil(lambda n=n: system.position > n and system.state == "paused", timeout=5000)
        # the step's events reach the bridge with the next frame or two
        qtbot.waitUntil(lambda: bridge.open_orders() == [o for o in system.broker.orders() if o.is_open],
                        timeout=5000)
        seen_open += bool(bridge.open_orders())
    changes = [c for b in batches for c in b.orders]
    assert seen_open > 5 and len(changes) > 20 and all(isinstance(c, OrderChange) for c in changes)
    assert built_in_ui == []


def test_playing_at_max_uses_a_headless_runs_switch_interval_and_gives_the_guis_back(qtbot, bridge, ui_write_config):
    """Playing at MAX with a thread per stage the interpreter switches threads every 5 ms (as a headless
    run); paused, stepping, paced or ended it is the GUI's interval again (1 ms here). One engine thread
    keeps the GUI's interval at MAX too (test below)."""
    from ui.bridge import MAX_SPEED_SWITCH_INTERVAL_S

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        bridge.load_config(ui_write_config("switch_threads", stage_threads=True))
        bridge.set_speed(0)
        seen: list[tuple[str, float]] = []
        bridge.batch_ready.connect(lambda _b: seen.append((bridge.state, sys.getswitchinterval())))
        bridge.step()
        qtbot.waitUntil(lambda: bridge.system.bars_processed > 0, timeout=FINISH_MS)
        assert sys.getswitchinterval() == 0.001
        bridge.play()
        assert sys.getswitchinterval() == MAX_SPEED_SWITCH_INTERVAL_S
        bridge.pause()
        assert sys.getswitchinterval() == 0.001
        bridge.set_speed(60)
        bridge.play()
        qtbot.wait(50)
        assert sys.getswitchinterval() == 0.001
        with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS):
            bridge.set_speed(0)
            assert sys.getswitchinterval() == MAX_SPEED_SWITCH_INTERVAL_S
        assert sys.getswitchinterval() == 0.001
        assert seen[-1] == ("finished", 0.001)
    finally:
        sys.setswitchinterval(before)


def test_one_engine_thread_keeps_the_guis_switch_interval_at_max(qtbot, bridge, ui_write_config):
    """A config run in one engine thread (stage_threads unset) plays at MAX with the GUI's 1 ms switch
    interval: no other engine thread to hand over to, and the UI thread waits at most ~1 ms for the lock
    (the host gate holds the engine for the frames themselves: tests/workstation/pipeline/test_host_gate.py)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        bridge.load_config(ui_write_config("switch_one_thread"))
        assert bridge.system.cfg.backtest.stage_threads is False
        bridge.set_speed(0)
        intervals: list[float] = []
        bridge.batch_ready.connect(lambda _b: intervals.append(sys.getswitchinterval()))
        with qtbot.waitSignal(bridge.finished, timeout=FINISH_MS):
            bridge.play()
            assert sys.getswitchinterval() == 0.001
        assert intervals and set(intervals) == {0.001}
    finally:
        sys.setswitchinterval(before)


def test_session_bars_are_copied_whole_and_equal_the_sessions_bars(ui_small_config):
    """copy_session_bars at each session end: for every symbol and interval exactly the session's bars
    (same values and dtypes), as copies that later sessions do not change."""
    from ui.bridge import copy_session_bars
    from workstation.config import load_config
    from workstation.system import SystemManager

    system = SystemManager(load_config(ui_small_config))
    sd = system.session_data
    copies: list[tuple[dict, dict]] = []

    def at_end(_kind, _payload):
        expected = {(sym, iv): tuple(np.array(col) for col in sd.bars(sym, iv))
                    for iv in sd.intervals for sym in sd.symbols if len(sd.bars(sym, iv).timestamp)}
        copies.append((copy_session_bars(sd), expected))

    system.events.subscribe("session_end", at_end)
    system.start()
    assert system.wait(60) and system.error is None
    assert len(copies) == 2
    for copied, expected in copies:
        assert set(copied) == set(expected) and len(expected) == len(sd.symbols) * len(sd.intervals)
        for key, columns in expected.items():
            for got, want in zip(copied[key], columns, strict=True):
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
    first_copied, first_expected = copies[0]
    assert not np.array_equal(first_copied[("ACME", "1m")].timestamp, copies[1][0][("ACME", "1m")].timestamp)


def test_hand_commands_are_counted_per_run(qtbot, bridge, ui_small_config):
    """The views read the run's order changes for hand orders only once the trader sent one in this run."""
    bridge.load_config(ui_small_config)
    assert bridge.hand_commands == 0
    bridge.submit_order("ACME", 10)
    bridge.cancel_order(999)
    assert bridge.hand_commands == 2
    bridge.jump_to(bridge.config.backtest.start_date)      # a new run
    assert bridge.hand_commands == 0


def test_a_finished_run_shows_without_waiting_for_the_next_frame(qtbot, tmp_path, ui_write_config):
    """At MAX the bridge drains the engine's events only every MAX_SPEED_FRAME_MS; the run's end wakes
    the UI thread at once. With a frame a minute long, the end still arrives within seconds, in a batch."""
    slow = EngineBridge(runs_dir=tmp_path / "runs", frame_ms=60_000)
    try:
        slow.load_config(ui_write_config("wake"))
        slow.set_speed(0)
        batches = _collect(slow)
        with qtbot.waitSignal(slow.finished, timeout=FINISH_MS) as done:
            slow.play()
        assert done.args[0]["state"] == "finished"
        assert batches and batches[-1].finished == done.args[0]
    finally:
        slow.shutdown(2.0)


def test_a_seek_replays_at_the_max_speed_pacing_and_its_end_shows_at_once(qtbot, tmp_path, ui_write_config):
    """A seek forward replays bar times headless while the run is paused; the GUI paced it like a paused
    run (a frame every 16 ms, a 1 ms switch interval), so it ran at a third of MAX's speed (Xvfb: 1,707
    bar times in 2.2 s). While seeking the bridge paces as at MAX, and the seek's end wakes the UI thread
    at once: with a frame a minute long the seek's batch still arrives within seconds."""
    from ui.bridge import MAX_SPEED_SWITCH_INTERVAL_S

    before = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    slow = EngineBridge(runs_dir=tmp_path / "runs", frame_ms=60_000)
    try:
        slow.load_config(ui_write_config("seek_pacing", stage_threads=True))
        slow.set_speed(0)
        batches = _collect(slow)
        slow.step()
        qtbot.waitUntil(lambda: slow.system.bars_processed > 0, timeout=FINISH_MS)
        assert sys.getswitchinterval() == 0.001
        last = slow.system.sessions[-1]
        target = last.open_ns + 90 * 60 * 10**9
        slow.seek(target)
        assert sys.getswitchinterval() == MAX_SPEED_SWITCH_INTERVAL_S       # from the request on
        qtbot.waitUntil(lambda: any(b.seek is not None for b in batches), timeout=FINISH_MS)
        done = next(b.seek for b in batches if b.seek is not None)
        assert done.last_bar_ns == target and done.replayed > 300
        qtbot.waitUntil(lambda: sys.getswitchinterval() == 0.001, timeout=2000)   # paused again: the GUI's
        assert not slow.system.seeking and slow.state == "paused"
    finally:
        slow.shutdown(2.0)
        sys.setswitchinterval(before)


def test_a_frames_order_changes_are_folded_once_for_every_view(qtbot, bridge, ui_small_config):
    """At MAX a frame holds thousands of order changes: the bridge folds them once (the newest change of
    each order decides: open or not) and hands the fold to the views with the batch; the fills are indexed
    by symbol only when read. Both equal what the change records and fills say, frame by frame, and the
    engine's open orders at the end. The bridge's runs leave the collector to the GUI (no heap freeze)."""
    batches = _collect(bridge)
    bridge.load_config(ui_small_config)
    system = bridge.system
    assert system.freeze_heap is False
    bridge.set_speed(0)
    bridge.play()
    qtbot.waitUntil(lambda: bridge.last_summary is not None, timeout=FINISH_MS)
    folded = 0
    for batch in batches:
        if not batch.orders:
            assert batch.orders_latest is None and not batch.orders_opened and not batch.orders_closed
            continue
        newest: dict = {}
        for change in batch.orders:
            newest[change.order_id] = change
        assert batch.orders_latest == newest
        assert batch.orders_opened == {i: c for i, c in newest.items() if c.is_open}
        assert batch.orders_closed == [i for i, c in newest.items() if not c.is_open]
        assert batch.order_symbols == {c.symbol for c in newest.values()}
        folded += len(batch.orders) > len(newest)     # an order submitted and filled within one frame
    assert folded
    assert bridge.open_orders() == [o for o in system.broker.orders() if o.is_open]
    fills = [f for b in batches for f in b.fills]
    assert fills and bridge.fill_count == len(fills)
    for symbol in {f.symbol for f in fills}:
        assert bridge.fills_of(symbol) == [f for f in fills if f.symbol == symbol]
    by_symbol: dict = {}
    for f in fills:
        by_symbol.setdefault(f.symbol, []).append(f)
    assert bridge.fills() == sorted((f for part in by_symbol.values() for f in part), key=lambda f: f.time)


def test_a_bar_times_fills_orders_and_account_come_in_one_round_event(qtbot, bridge, ui_small_config, monkeypatch):
    """The bridge observes "round" (TradingRound: a bar time's fills, order changes and account) instead
    of "fills", "orders" and "account": one event a bar time, order changes taken once a round. It makes
    the AccountSnapshot of the newest round of a frame only, in the UI thread (none per bar time in the
    engine's), and what the views get is what the engine says."""
    import threading

    from workstation.execution import AccountSnapshot

    made: list[bool] = []
    original = AccountSnapshot.__init__

    def counting(self, *args, **kwargs):
        made.append(threading.current_thread() is threading.main_thread())
        original(self, *args, **kwargs)

    monkeypatch.setattr(AccountSnapshot, "__init__", counting)
    batches = _collect(bridge)
    bridge.load_config(ui_small_config)
    system = bridge.system
    bridge.set_speed(0)
    bridge.play()
    qtbot.waitUntil(lambda: bridge.last_summary is not None, timeout=FINISH_MS)
    events = system.events
    assert events.wants("round") and not any(events.wants(k) for k in ("fills", "orders", "account"))
    with_account = [b for b in batches if b.account is not None]
    assert with_account and all(made) and len(made) == len(with_account) < system.bars_processed
    engine = system.broker.account_snapshot()
    shown = bridge.account
    assert (shown.time_ns, shown.equity, shown.cash, shown.buying_power, shown.open_orders) == (
        engine.time_ns, engine.equity, engine.cash, engine.buying_power, engine.open_orders)
    assert np.array_equal(shown.positions, engine.positions)
    fills = [f for b in batches for f in b.fills]
    assert fills == system.broker.fills and bridge.fill_count == len(fills)
    changes = [c for b in batches for c in b.orders]
    assert {c.order_id for c in changes} == {o.id for o in system.broker.orders()}
    assert bridge.open_orders() == [o for o in system.broker.orders() if o.is_open]


def test_each_round_moves_the_shown_clock_so_a_rewinds_replay_of_its_bar_time_is_dropped(bridge, ui_small_config):
    """Every bar time ends with a "round" event at its clock, which marks it shown: while a step back
    replays bar times headless, their rounds and decisions up to that clock are dropped (the views
    have them), and what comes after it is kept."""
    from workstation.execution import TradingRound

    bridge.load_config(ui_small_config)
    system = bridge.system
    on_event, on_frequent, on_round = bridge._observer(bridge.run_id, system, None)
    minute = 60_000_000_000
    t = system.sessions[0].open_ns
    system.clock.advance_to(t)
    on_round("round", TradingRound(t, [], [], None))                   # shown: bar time t
    system.coordinator._replay_until = t + 10 * minute                  # a step back replays from here
    on_frequent("decisions", "replayed decisions of t")
    on_round("round", TradingRound(t, [], [], None))
    system.clock.advance_to(t + minute)
    on_frequent("decisions", "decisions of t + 1 minute")
    on_round("round", TradingRound(t + minute, [], [], None))
    system.coordinator._replay_until = None
    assert [(kind, getattr(payload, "time_ns", payload)) for _run, kind, payload in bridge._queue] == [
        ("round", t), ("decisions", "decisions of t + 1 minute"), ("round", t + minute)]


def test_a_frame_made_inside_a_bar_time_does_not_count_it_as_shown(qtbot, bridge, ui_small_config, monkeypatch):
    """The clock moves when a bar time starts; its fills and order changes come at its end. A frame made
    between the two carries the new clock but not those events: batch_position, the bar times delivered
    when the frame was made, does not count that bar time until a frame after its end (a wait on the clock
    flaked in CI: no fill in the views after a step)."""
    import threading

    bridge.load_config(ui_small_config)
    system = bridge.system
    bridge.step()
    qtbot.waitUntil(lambda: system.position == 1 and bridge.batch_position == 1, timeout=FINISH_MS)
    inside, release = threading.Event(), threading.Event()
    pipeline = system.coordinator.pipeline
    original = pipeline.bar_time

    def held(*args, **kwargs):
        inside.set()                 # the clock has moved to this bar time; its stages have not run
        assert release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "bar_time", held)
    clock = system.clock.now_ns()
    bridge.step()
    assert inside.wait(10)
    try:
        qtbot.waitUntil(lambda: bridge.batch_clock_ns == clock + 60 * 10**9, timeout=5000)
        assert bridge.batch_position == 1 and system.position == 1
    finally:
        release.set()
    qtbot.waitUntil(lambda: bridge.batch_position == 2, timeout=5000)
    assert system.position == 2 and bridge.fill_count == len(system.broker.fills)
