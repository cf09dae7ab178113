"""Step back and seek keep state: going back k bar times and forward k again gives bit-identical bars,
indicators, signals, orders, fills and equity, and the same run folder (the same rows in each table), as
a run that never went back.

The reference is the same config run straight through without snapshots (rewindable=False). The
rewound runs use the ORB example's strategy (bracketed stop entries, OCO, flat before the close) and
hand orders (workstation.execution.manual): scheduled ones and one entered while paused. k covers one
bar time, several, a snapshot boundary (snapshot_every=25) and a session boundary.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.config import validate_config_dict
from workstation.execution.manual import FlattenPosition, SubmitOrder
from workstation.pipeline.snapshots import SeekDone, SnapshotKeeper
from workstation.run_writer import RunWriter
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager

ROOT = Path(__file__).resolve().parents[3]
MIN = 60_000_000_000
OPEN_1 = int(pd.Timestamp("2024-12-04 14:30", tz="UTC").value)
OPEN_2 = int(pd.Timestamp("2024-12-05 14:30", tz="UTC").value)
EVERY = 25
DATA_FILES = ("bars.parquet", "signals.parquet", "orders.parquet", "fills.parquet", "trades.parquet",
              "equity.parquet", "quality.parquet", "gaps.parquet")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("step_back_store") / "store"
    generate_demo(root, symbols=["ACME", "BOLT", "CYRX"], days=3, seed=11)
    return BarStore(root)


def orb_config(threads: bool = False, end_date: str = "2024-12-05"):
    """The ORB example (strategy, 5m/15m derived bars, sma(20) and vwap) on two sessions of three symbols."""
    raw = json.loads((ROOT / "session_configs" / "example_orb.json").read_text())
    raw["symbols"] = ["ACME", "BOLT", "CYRX"]
    raw["backtest"].update(start_date="2024-12-04", end_date=end_date, snapshot_every=EVERY,
                           stage_threads=threads)
    raw["strategies"][0]["params"]["flat_minutes_before_close"] = 20
    # the engine's session-close rule too (its state goes back with a step back): the hand positions and
    # working orders it closes and cancels 10 minutes before the close
    raw["risk"]["flatten_before_close_minutes"] = 10
    # and the daily loss limit: reached at the first session's 60th bar time (a loss of 150 from its start);
    # the positions it closes, the orders it cancels and the refusals after it go back with a step back
    raw["risk"]["max_daily_loss"] = 150
    return validate_config_dict(raw)


def hand_script(store: BarStore) -> list[tuple[int, object]]:
    acme = store.read_bars(["ACME"], "1m", OPEN_1, OPEN_1 + 60 * MIN)
    a = float(acme["close"].iloc[10])
    return [
        (OPEN_1 + 12 * MIN, SubmitOrder("ACME", 30, "market", stop_loss=round(a * 0.99, 2),
                                        take_profit=round(a * 1.01, 2))),
        (OPEN_1 + 40 * MIN, SubmitOrder("BOLT", -20, "market")),
        (OPEN_1 + 41 * MIN, SubmitOrder("CYRX", 10, "limit", limit_price=round(a * 0.5, 2), tif="gtc")),
        (OPEN_1 + 200 * MIN, FlattenPosition("BOLT")),
        (OPEN_2 + 3 * MIN, SubmitOrder("CYRX", 15, "market")),
        (OPEN_2 + 385 * MIN, SubmitOrder("ACME", 12, "market_on_close")),    # after the flatten: fills at 15:59
    ]


class Observed:
    """Every bar time's base bars and indicator values, and the decisions, as the engine emits them."""

    def __init__(self, system: SystemManager):
        self.system = system
        self.seeks: list[SeekDone] = []
        self.seek_event = threading.Event()
        system.events.subscribe("seek", self._on_seek)

    def _on_seek(self, _kind, done: SeekDone) -> None:
        self.seeks.append(done)
        self.seek_event.set()


def wait_position(system: SystemManager, position: int, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while system.position != position or system.control.steps_owed:
        assert time.monotonic() < deadline, f"stuck at position {system.position}, waiting for {position}"
        assert system.error is None, system.error
        time.sleep(0.002)


def state_of(system: SystemManager) -> dict:
    """Everything a trader compares: session bars of every interval, indicator banks, broker state."""
    sd = system.session_data
    bars = {(s, iv): tuple(np.asarray(getattr(sd.bars(s, iv), c)).copy() for c in
                           ("timestamp", "open", "high", "low", "close", "volume"))
            for iv in sd.intervals for s in sd.symbols}
    indicators = {spec: {k: np.asarray(v).copy() for k, v in system.processor.indicators.get(*spec).outputs().items()}
                  for spec in system.processor.indicators.specs()}
    b = system.broker
    return {
        "bars": bars, "indicators": indicators,
        "fills": [(f.time, f.symbol, f.quantity, f.price, f.commission, f.order_id) for f in b.fills],
        "orders": [dataclasses.astuple(o) for o in b.orders()],
        "trades": [(t.symbol, t.quantity, t.entry_time, t.entry_price, t.exit_time, t.exit_price, t.pnl)
                   for t in b.trades],
        "equity": b.equity_curve().to_dict("list"),
        "signals": system.analysis.signal_count, "rejected": system.analysis.rejected_count,
        "clock": system.clock.now_ns(), "bars_processed": system.bars_processed,
    }


def assert_same(a, b, path="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path      # bit-identical values
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def straight_run(store, out: Path, hand, stop_at: int | None = None, paused_order=None, threads=False):
    """The reference: no snapshots, never goes back. `stop_at`: pause there and compare the state."""
    system = SystemManager(orb_config(threads), store=store, rewindable=False)
    system.manual_orders.schedule(hand)
    RunWriter(system, out, write_bars=True, coalesce_s=0)   # a part per session, as a rewindable run
    states = {}
    if stop_at is not None or paused_order is not None:
        system.control.pause()
    system.start()
    enter_paused_order(system, paused_order)
    if stop_at is not None:
        system.step(stop_at - system.position)
        wait_position(system, stop_at)
        states["at"] = state_of(system)
    system.resume()
    assert system.wait(120) and system.error is None, system.error
    states["end"] = state_of(system)
    return system, states


def wait_applied(system: SystemManager, timeout: float = 30.0) -> None:
    """Until the hand order put while paused was applied (the coordinator applies it before going on)."""
    import time

    deadline = time.monotonic() + timeout
    while len(system.manual_orders) or system.analysis.hand_orders_applied == 0:
        assert time.monotonic() < deadline
        time.sleep(0.002)


def enter_paused_order(system: SystemManager, paused_order) -> None:
    """Step to `paused_order`'s position and enter its command there by hand, while paused."""
    if paused_order is None:
        return
    position, command = paused_order
    system.step(position)
    wait_position(system, position)
    system.manual_orders.put(command)
    wait_applied(system)


def rewound_run(store, out: Path, hand, reach: int, back: int, paused_order=None, threads=False):
    """Go to position `reach`, step back `back` bar times (one request per bar time when back <= 3, else
    one request for all), compare nothing yet, step forward `back` again, then run to the end."""
    system = SystemManager(orb_config(threads), store=store, rewindable=True)
    system.snapshots.max_overhead = None      # a snapshot at every due position: the restored ones are known
    system.manual_orders.schedule(hand)
    RunWriter(system, out, write_bars=True)
    seen = Observed(system)
    system.control.pause()
    system.start()
    enter_paused_order(system, paused_order)
    system.step(reach - system.position)
    wait_position(system, reach)
    requests = [1] * back if back <= 3 else [back]
    for n in requests:
        seen.seek_event.clear()
        system.step_back(n)
        assert seen.seek_event.wait(60), "no seek event"
    assert system.position == reach - back
    assert seen.seeks[-1].position == reach - back
    at_back = state_of(system)
    system.step(back)
    wait_position(system, reach)
    at_reach = state_of(system)
    system.resume()
    assert system.wait(120) and system.error is None, system.error
    return system, seen, at_back, at_reach, state_of(system)


def folder_frames(folder: Path) -> dict:
    out = {}
    for name in DATA_FILES:
        path = folder / name
        if path.exists():
            frame = pd.read_parquet(path)
            out[name] = frame.reset_index(drop=True)
            # the rows, not how they are cut into parts: a rewindable run joins the sessions that end
            # within RunWriter.COALESCE_S between two snapshots (the references write one per session);
            # no part is left half written
            assert not list(path.glob("*.tmp*")) if path.is_dir() else True, path
    manual = folder / "manual_orders.json"
    out["manual_orders.json"] = json.loads(manual.read_text()) if manual.exists() else None
    return out


def assert_same_folder(a: Path, b: Path) -> None:
    fa, fb = folder_frames(a), folder_frames(b)
    assert fa.keys() == fb.keys()
    for key in fa:
        if isinstance(fa[key], pd.DataFrame):
            pd.testing.assert_frame_equal(fa[key], fb[key], check_exact=True, obj=key)
        else:
            assert fa[key] == fb[key], key


@pytest.fixture(scope="module")
def reference(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    system, states = straight_run(store, out, hand_script(store))
    assert len(system.broker.trades) >= 3 and any(o.strategy == "manual" for o in system.broker.orders())
    assert any(o.role.value != "entry" for o in system.broker.orders()), "the ORB brackets are in the run"
    halts = {o.submitted_at for o in system.broker.orders() if o.tag == "daily loss limit"}
    assert len(halts) == 1 and OPEN_1 + 55 * MIN < min(halts) < OPEN_1 + 62 * MIN, "74/12 and 230/188 cross it"
    assert [o.status.value for o in system.broker.orders() if o.order_type.value == "market_on_close"] == ["filled"]
    return out, states["end"]


@pytest.mark.parametrize(("reach", "back"), [
    (30, 1),            # one bar time, inside the session
    (52, 3),            # three single steps back, across the snapshot at 50
    (74, 12),           # one request across the snapshot at 75 ... back to 62 (snapshot 50 restored)
    (395, 10),          # across the session boundary: the first session has 390 bar times
    (230, 188),         # far back to 42: snapshot 25 restored, the hand orders at 40 and 41 replayed
])
def test_back_and_forward_equals_a_run_that_never_went_back(store, tmp_path, reference, reach, back):
    ref_folder, ref_end = reference
    _, ref_states = straight_run(store, tmp_path / "ref_at", hand_script(store), stop_at=reach - back)
    system, seen, at_back, at_reach, end = rewound_run(store, tmp_path / "run", hand_script(store), reach, back)
    assert_same(at_back, ref_states["at"], "after going back")
    assert_same(end, ref_end, "at the end")
    assert_same_folder(tmp_path / "run", ref_folder)
    last = seen.seeks[-1]
    assert last.restored_position <= reach - back and last.restored_position % EVERY in (0, 390 % EVERY)
    assert last.replayed == reach - back - last.restored_position
    assert system.snapshot_stats()["restored"] == len(seen.seeks)


def test_state_after_going_back_equals_the_state_reached_straight(store, tmp_path):
    """Also in a run with one thread per stage: at the target the state equals a straight run's there."""
    _, ref = straight_run(store, tmp_path / "ref", hand_script(store), stop_at=388, threads=True)
    _, _, at_back, _, _ = rewound_run(store, tmp_path / "run", hand_script(store), 400, 12, threads=True)
    assert_same(at_back, ref["at"])


def test_hand_order_entered_while_paused_is_replayed_and_discarded_after_the_target(store, tmp_path):
    """An order entered at position 20 while paused: replayed when going back to 20 or later, and gone
    (with everything it caused) when going back before it: a new hand order then replaces that future."""
    order = (20, SubmitOrder("BOLT", 25, "market"))
    _, ref = straight_run(store, tmp_path / "ref", [], paused_order=order)
    _, _, _, _, end = rewound_run(store, tmp_path / "run", [], 60, 40, paused_order=order)   # back to 20
    assert_same(end, ref["end"])
    assert_same_folder(tmp_path / "run", tmp_path / "ref")
    # back before the order: its fill is discarded, the run then continues without it
    _, plain = straight_run(store, tmp_path / "plain", [])
    system = SystemManager(orb_config(), store=store, rewindable=True)
    seen = Observed(system)
    RunWriter(system, tmp_path / "discard", write_bars=True)
    system.control.pause()
    system.start()
    system.step(20)
    wait_position(system, 20)
    system.manual_orders.put(order[1])
    wait_applied(system)
    system.step(10)
    wait_position(system, 30)
    assert any(o.strategy == "manual" for o in system.broker.orders())
    system.seek(OPEN_1 + 18 * MIN)          # the bar time 14:48 (position 19): before the hand order
    assert seen.seek_event.wait(60)
    assert system.position == 19 and not any(o.strategy == "manual" for o in system.broker.orders())
    system.resume()
    assert system.wait(120) and system.error is None
    assert_same(state_of(system), plain["end"])
    assert_same_folder(tmp_path / "discard", tmp_path / "plain")


def test_seek_forward_replays_headless_and_pauses_at_the_target(store):
    system = SystemManager(orb_config(), store=store, rewindable=True)
    seen = Observed(system)
    system.control.pause()
    system.start()
    system.seek(OPEN_2 + 9 * MIN)                   # second session, 14:39
    assert seen.seek_event.wait(60)
    assert system.position == 390 + 10 and seen.seeks[-1].restored_position == -1
    assert seen.seeks[-1].session_index == 1 and system.state == "paused"
    system.stop()


@pytest.mark.parametrize("back_first", [False, True])
def test_a_seek_forward_applies_scheduled_hand_orders_at_their_times(store, tmp_path, reference, back_first):
    """Hand orders scheduled at a time (a continued run's, --manual-orders) are applied at that time on a
    seek forward as on a straight run, also when a step back before them queued them again (they were
    applied all at once at the seek's end). Reference: the straight run paused at the same bar time."""
    ref_folder, ref_end = reference
    system = SystemManager(orb_config(), store=store, rewindable=True)
    system.manual_orders.schedule(hand_script(store))
    RunWriter(system, tmp_path / "run", write_bars=True)
    seen = Observed(system)
    system.control.pause()
    system.start()
    if back_first:                   # past the orders at 12, 40 and 41, then back before them
        system.step(60)
        wait_position(system, 60)
        system.seek(OPEN_1 + 5 * MIN)
        assert seen.seek_event.wait(60) and system.position == 6
        assert not any(o.strategy == "manual" for o in system.broker.orders())
        seen.seek_event.clear()
    system.seek(OPEN_2 + 9 * MIN)    # over the orders of the first session and the second's at 3
    assert seen.seek_event.wait(60) and system.position == 400
    _, ref = straight_run(store, tmp_path / "ref", hand_script(store), stop_at=400)
    assert_same(state_of(system), ref["at"], "at the seek's target")
    system.resume()
    assert system.wait(120) and system.error is None
    assert_same(state_of(system), ref_end)
    assert_same_folder(tmp_path / "run", ref_folder)


def test_memory_budget_thins_snapshots_and_keeps_the_first():
    class Thing:
        def __init__(self):
            self.values = np.zeros(1000)

    thing = Thing()
    keeper = SnapshotKeeper({"thing": thing}, every=1, memory_budget_bytes=40_000, max_overhead=None)
    for p in range(40):
        thing.values[:] = np.random.default_rng(p).random(1000)      # incompressible: ~8 kB a snapshot
        thing.values[0] = p
        keeper.capture(p, 0, p, p * MIN - 1 if p else -1, p * MIN)
    stats = keeper.stats()
    assert stats["bytes"] <= 40_000 and stats["dropped"] == 40 - stats["count"] and stats["count"] >= 3
    positions = [pt.position for pt in keeper.points()]
    assert positions[0] == 0 and positions[-1] == 39
    # restoring the nearest snapshot at or before a time gives that snapshot's values back, in place
    point = keeper.nearest(20 * MIN)
    assert point.position <= 21
    keeper.restore(point)
    assert thing.values[0] == point.position and keeper.points()[-1] == point


def test_going_back_over_written_sessions_deletes_their_parts(store, tmp_path):
    """Three sessions: at the third, go back into the first and stop there. The folder equals a run
    stopped at that point: the parts the later sessions wrote are gone, nothing of them is left."""
    hand = hand_script(store)
    system = SystemManager(orb_config(end_date="2024-12-06"), store=store, rewindable=True)
    system.manual_orders.schedule(hand)
    writer = RunWriter(system, tmp_path / "run", write_bars=True)
    seen = Observed(system)
    system.control.pause()
    system.start()
    system.step(2 * 390 + 30)
    wait_position(system, 2 * 390 + 30)
    assert (tmp_path / "run" / "bars.parquet" / "part-0002.parquet").exists()
    system.seek(OPEN_1 + 99 * MIN)
    assert seen.seek_event.wait(60) and system.position == 100
    assert not (tmp_path / "run" / "bars.parquet" / "part-0002.parquet").exists()
    assert not (tmp_path / "run" / "bars.parquet" / "part-0001.parquet").exists()
    system.stop()
    assert writer.wait_closed(30)

    ref = SystemManager(orb_config(end_date="2024-12-06"), store=store, rewindable=False)
    ref.manual_orders.schedule(hand)
    ref_writer = RunWriter(ref, tmp_path / "ref", write_bars=True)
    ref.control.pause()
    ref.start()
    ref.step(100)
    wait_position(ref, 100)
    ref.stop()
    assert ref_writer.wait_closed(30)
    assert_same(state_of(system), state_of(ref))
    assert_same_folder(tmp_path / "run", tmp_path / "ref")


def sessions_in(part: Path) -> int:
    """How many sessions (New York dates) a bars part holds."""
    return len(pd.read_parquet(part)["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())


def run_with_snapshots_at(store, out: Path, positions: tuple[int, ...]):
    """A rewindable ORB run over the store's three sessions that takes snapshots at `positions` only (not
    at the sessions' starts nor while stepping paused), its writer holding sessions until a flush."""
    system = SystemManager(orb_config(end_date="2024-12-06"), store=store, rewindable=True)
    system.manual_orders.schedule(hand_script(store))
    system.snapshots.due = lambda position, bar_index, near_target=False: position in positions
    system.snapshots.behind = lambda position: 0
    writer = RunWriter(system, out, write_bars=True, coalesce_s=3600)
    return system, writer, Observed(system)


def assert_equals_a_run_stopped_at(store, tmp_path, system, writer, position: int) -> None:
    system.stop()
    assert writer.wait_closed(30)
    ref = SystemManager(orb_config(end_date="2024-12-06"), store=store, rewindable=False)
    ref.manual_orders.schedule(hand_script(store))
    ref_writer = RunWriter(ref, tmp_path / "ref", write_bars=True)
    ref.control.pause()
    ref.start()
    ref.step(position)
    wait_position(ref, position)
    ref.stop()
    assert ref_writer.wait_closed(30)
    assert_same(state_of(system), state_of(ref))
    assert_same_folder(writer.run_dir, tmp_path / "ref")


def test_a_rewindable_run_joins_sessions_into_parts_and_going_back_deletes_whole_parts(store, tmp_path):
    """A rewindable run's writer joins sessions into one part as a headless one does (a part per session
    cost ~17 % of a one-symbol replay of 231 sessions). Only a snapshot at the start here: the two
    finished sessions are written as one part, going back into the first deletes it, and the folder then
    equals a run stopped there."""
    assert RunWriter(SystemManager(orb_config(), store=store, rewindable=True), tmp_path / "default").coalesce_s \
        == RunWriter.COALESCE_S                 # joining is the default of a rewindable run too
    system, writer, seen = run_with_snapshots_at(store, tmp_path / "run", (0,))
    system.control.pause()
    system.start()
    system.step(2 * 390 + 30)
    wait_position(system, 2 * 390 + 30)
    assert system.snapshot_stats()["taken"] == 1
    assert writer.flush(30)
    (joined,) = (tmp_path / "run" / "bars.parquet").glob("part-*.parquet")
    assert sessions_in(joined) == 2
    system.step_back(2 * 390 + 30 - 100)
    assert seen.seek_event.wait(60) and system.position == 100
    assert not joined.exists()
    assert_equals_a_run_stopped_at(store, tmp_path, system, writer, 100)


def test_a_snapshot_writes_the_sessions_held_so_no_part_spans_it(store, tmp_path):
    """A snapshot in the second session writes the first, held until then, as its own part; the second
    session is written after it. Going back to that snapshot deletes the second's part and keeps the
    first's (joined with the second, the first session would go with it)."""
    system, writer, seen = run_with_snapshots_at(store, tmp_path / "run", (0, 420))
    system.control.pause()
    system.start()
    system.step(2 * 390 + 30)
    wait_position(system, 2 * 390 + 30)
    assert system.snapshot_stats()["taken"] == 2
    bars_dir = tmp_path / "run" / "bars.parquet"
    (first,) = bars_dir.glob("part-*.parquet")          # written when the snapshot at 420 was taken
    assert sessions_in(first) == 1
    assert writer.flush(30)
    (second,) = set(bars_dir.glob("part-*.parquet")) - {first}
    assert sessions_in(second) == 1
    system.step_back(2 * 390 + 30 - 430)
    assert seen.seek_event.wait(60) and system.position == 430
    assert seen.seeks[-1].restored_position == 420
    assert first.exists() and not second.exists()
    assert_equals_a_run_stopped_at(store, tmp_path, system, writer, 430)


def test_snapshots_taken_after_a_restore_restore_exactly_too(store, tmp_path, reference):
    """Back, forward past new snapshots (captured from restored state), back onto one of them, twice:
    each point and the end equal the straight run (numpy views still share memory after restores)."""
    ref_folder, ref_end = reference
    system = SystemManager(orb_config(), store=store, rewindable=True)
    system.snapshots.max_overhead = None
    system.manual_orders.schedule(hand_script(store))
    RunWriter(system, tmp_path / "run", write_bars=True)
    seen = Observed(system)
    system.control.pause()
    system.start()
    for reach, target in ((100, 30), (120, 80), (160, 77), (420, 101)):
        system.step(reach - system.position)
        wait_position(system, reach)
        seen.seek_event.clear()
        system.seek(system.coordinator._bar_starts[target - 1])
        assert seen.seek_event.wait(60) and system.position == target
        _, ref = straight_run(store, tmp_path / f"ref{target}", hand_script(store), stop_at=target)
        assert_same(state_of(system), ref["at"], f"at {target}")
    assert [d.restored_position for d in seen.seeks] == [25, 75, 75, 100]
    system.resume()
    assert system.wait(120) and system.error is None
    assert_same(state_of(system), ref_end)
    assert_same_folder(tmp_path / "run", ref_folder)


def test_snapshots_wait_when_they_would_slow_a_fast_replay_down():
    """Back to back (no work between them, as at MAX), due snapshots beyond the first are skipped while
    their cost exceeds the allowed share; with no limit every due one is taken; compression counts."""
    class Thing:
        def __init__(self):
            self.values = np.random.default_rng(1).random(200_000)
            self.ones = np.ones(1_000_000)        # packs (all-zero room would not even be pickled)

    for limit, expect_skips in ((0.2, True), (None, False)):
        keeper = SnapshotKeeper({"thing": Thing()}, every=1, max_overhead=limit)
        for p in range(20):
            if keeper.due(p, p):
                keeper.capture(p, 0, p, p * MIN - 1 if p else -1, p * MIN)
        stats = keeper.stats()
        assert (stats["skipped_for_speed"] > 0) is expect_skips and stats["count"] + stats["skipped_for_speed"] == 20
        assert stats["bytes"] < stats["uncompressed_bytes_taken"] / stats["taken"] * stats["count"] / 2   # ones pack


def test_a_seek_keeps_the_last_snapshot_before_its_target_so_steps_back_from_there_replay_little(store):
    """Snapshots that wait because of their cost (here all but the first) still leave one less than
    `snapshot_every` bar times before where a seek stops: a step back from there restores it and
    replays a few bar times, not the whole way from the run's start."""
    system = SystemManager(orb_config(), store=store, rewindable=True)
    system.snapshots.max_overhead = 1e-12      # every snapshot but the first would cost too much
    seen = Observed(system)
    system.control.pause()
    system.start()
    system.seek(OPEN_1 + 109 * MIN)                       # forward: the bar times up to 10:39 ET, 110
    assert seen.seek_event.wait(60) and system.position == 110
    keeper = system.snapshots
    assert keeper.has(0) and keeper.has(100)              # 100: the last one due before position 110
    assert not any(keeper.has(p) for p in (25, 50, 75))  # the others still wait (one forced a seek)
    seen.seek_event.clear()
    system.step_back(1)
    assert seen.seek_event.wait(60) and system.position == 109
    done = seen.seeks[-1]
    assert done.restored_position == 100 and done.replayed == 9
    seen.seek_event.clear()
    system.step_back(1)                                   # and again: from the same snapshot
    assert seen.seek_event.wait(60) and system.position == 108
    assert seen.seeks[-1].restored_position == 100 and seen.seeks[-1].replayed == 8
    system.stop()


def test_state_that_cannot_be_copied_turns_step_back_off_and_the_run_goes_on(store, tmp_path, reference):
    """A strategy holding an open file cannot be snapshotted: the run says so once, keeps running to the
    same results, and a step back is refused with the reason (a seek back stays where it is)."""
    from workstation.errors import WorkstationError

    _, ref_end = reference
    system = SystemManager(orb_config(), store=store, rewindable=True)
    system.manual_orders.schedule(hand_script(store))
    errors = []
    system.events.subscribe("error", lambda _k, e: errors.append(e["message"]))
    seen = Observed(system)
    with open(tmp_path / "notes.txt", "w") as notes:
        system.strategies[0].notes = notes
        system.control.pause()
        system.start()
        system.step(40)
        wait_position(system, 40)
        with pytest.raises(WorkstationError, match="cannot be copied"):
            system.step_back(1)
        system.seek(OPEN_1 + 5 * MIN)
        assert seen.seek_event.wait(60) and system.position == 40 and seen.seeks[-1].replayed == 0
        system.resume()
        assert system.wait(120) and system.error is None
    assert sum("step back is off" in m for m in errors) == 1 and any("cannot go back" in m for m in errors)
    assert_same(state_of(system), ref_end)


@dataclasses.dataclass(frozen=True, slots=True)
class _FrozenWithList:
    name: str
    items: list


def test_immutable_records_are_kept_by_reference_and_the_rest_copied():
    """An Order (frozen, every field immutable) comes back as the same object; a frozen record with a
    list field, a mutable Fill and a list are copies: changing them after the snapshot does not leak
    into the restored state."""
    from workstation.execution.orders import Order, OrderRole, OrderStatus, OrderType, TimeInForce
    from workstation.model import Fill

    order = Order(1, "ACME", 100.0, OrderType.MARKET, None, None, None, None, TimeInForce.DAY, OrderStatus.FILLED,
                  100.0, 10.5, MIN, MIN, "", "s", None, None, None, OrderRole.ENTRY)

    class Thing:
        def __init__(self):
            self.orders = [order]
            self.fill = Fill("ACME", 100.0, 10.5, MIN, 1.0, "s", 1)
            self.frozen = _FrozenWithList("x", [1, 2])

    thing = Thing()
    keeper = SnapshotKeeper({"thing": thing}, every=1, max_overhead=None)
    point = keeper.capture(0, 0, 0, -1, MIN)
    thing.orders.append(order)
    thing.fill.price = 99.0
    thing.frozen.items.append(3)
    keeper.restore(point)
    assert thing.orders == [order] and thing.orders[0] is order
    assert thing.fill.price == 10.5
    assert thing.frozen.items == [1, 2]


@dataclasses.dataclass
class _Record:
    value: int
    final: bool = False


def test_a_history_is_kept_by_reference_and_only_its_unsettled_records_are_copied():
    """A History comes back as a new list of its records up to the snapshot: the settled ones the same
    objects, the unsettled ones as they were then (changes after the snapshot do not leak back, records
    settled since are copies again); the list the run used is left as it was (a writer may hold it),
    and a second reference to it in the state is the restored list too."""
    from workstation.model.history import History

    records = History((_Record(k, final=k != 3) for k in range(6)), settled=lambda r: r.final)

    class Thing:
        def __init__(self):
            self.records = records
            self.same = records
            self.fills = History(["f0", "f1"])

    thing = Thing()
    keeper = SnapshotKeeper({"thing": thing}, every=1, max_overhead=None)
    point = keeper.capture(0, 0, 0, -1, MIN)
    assert records.settled_upto == 3
    live = list(records)
    records[3].value, records[3].final = 33, True      # the open record changes and settles
    records.append(_Record(6, final=True))
    thing.fills.append("f2")
    keeper.restore(point)
    restored = thing.records
    assert type(restored) is History and restored is not records and thing.same is restored
    assert [r.value for r in restored] == [0, 1, 2, 3, 4, 5] and restored[3].final is False
    assert all(restored[k] is live[k] for k in (0, 1, 2, 4, 5)) and restored[3] is not live[3]
    assert restored.settled is records.settled and restored.settled_upto == 3
    assert records == [*live, records[6]] and records[3].value == 33      # the run's list: untouched
    assert thing.fills == ["f0", "f1"] and type(thing.fills) is History


def test_a_snapshot_of_the_broker_costs_its_open_orders_not_its_history():
    """The broker's orders, fills and trades are Histories: 300 more round trips (600 final orders,
    600 fills, 300 trades) make the next snapshot bigger by their equity curve rows only, and a restore
    gives back the orders, fills, trades and account of the snapshot's time (a GTC limit order still
    open then, filled since)."""
    from workstation.config.models import ExecutionConfig
    from workstation.execution.broker import SimulatedBroker
    from workstation.execution.orders import OrderRequest, OrderType, TimeInForce

    broker = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(starting_cash=1e9))
    index = np.array([0, 1], dtype=np.int64)
    t = [OPEN_1]

    def round_trips(n: int) -> None:
        for k in range(n):
            for qty in (100.0, -100.0):
                broker.submit(0, qty, t[0], "s", 10.0)
                t[0] += MIN
                price = 10.0 + (k % 7) * 0.01
                broker.on_bar_time(t[0], index, np.array([price, 50.0]), np.array([price, 50.0]))

    round_trips(50)
    broker.submit_order(OrderRequest("BBB", 10.0, OrderType.LIMIT, limit_price=40.0, tif=TimeInForce.GTC), "s", t[0])
    keeper = SnapshotKeeper({"broker": broker}, every=1, max_overhead=None)
    keeper.capture(0, 0, 0, -1, t[0])
    first = keeper.raw_bytes
    state = (broker.orders(), [dataclasses.astuple(f) for f in broker.fills], broker.trades, broker.cash)
    assert len(state[0]) == 101 and len(state[1]) == 100 and len(state[2]) == 50
    assert state[0][-1].status.value == "working"
    round_trips(300)
    keeper.capture(1, 0, 1, -1, t[0])
    # 600 more bar times: at most their equity curve rows (time + 7 values); copied, the history would add
    # over 200 bytes per record (1,500 records)
    grown = keeper.raw_bytes - 2 * first
    assert grown <= 600 * 64 + 2048, (first, grown)
    t[0] += MIN
    broker.on_bar_time(t[0], index, np.array([10.0, 39.0]), np.array([10.0, 39.0]))   # the limit order fills
    assert broker.orders()[100].status.value == "filled"
    keeper.restore(keeper.points()[0])
    assert (broker.orders(), [dataclasses.astuple(f) for f in broker.fills], broker.trades, broker.cash) == state


def test_the_snapshot_overhead_cap_counts_the_first_snapshot_too(monkeypatch):
    """At MAX the first snapshot is taken whatever it costs; the next waits until the snapshots taken
    plus it stay within `max_overhead` of the wall time since the first, not only of the time since
    the last one (which let a short run spend twice the share). On a fake clock (the real one made
    this test fail on a busy machine, when one capture took longer than predicted): every capture
    costs COST, every bar time's work COST / 20."""
    import time

    COST = 0.05
    clock = {"now": 1000.0}
    monkeypatch.setattr(time, "perf_counter", lambda: clock["now"])

    class Thing:
        def __init__(self):
            self.values = np.arange(1000.0)

    keeper = SnapshotKeeper({"thing": Thing()}, every=1, max_overhead=0.2)
    enforce_budget = keeper._enforce_budget

    def enforce_budget_then_charge_the_capture():     # runs between the capture's two clock reads
        enforce_budget()
        clock["now"] += COST

    monkeypatch.setattr(keeper, "_enforce_budget", enforce_budget_then_charge_the_capture)
    start = clock["now"]
    assert keeper.due(0, 0)
    keeper.capture(0, 0, 0, -1, 0)
    assert keeper.capture_seconds == pytest.approx(COST)
    position = 1

    def replay_until(multiple: float) -> None:
        nonlocal position
        while clock["now"] - start < multiple * COST:
            clock["now"] += COST / 20                   # a bar time's work
            if keeper.due(position, position):
                keeper.capture(position, 0, position, position * MIN - 1, position * MIN)
            position += 1

    replay_until(8)      # since the last: due after 4 costs of work; over the run: only after 10 costs
    assert keeper.taken == 1 and keeper.skipped > 0
    replay_until(10.5)
    assert keeper.taken == 2                            # due at 10 costs of run time, taken then
    replay_until(40)
    assert keeper.taken >= 4                            # later ones still come, each when the share allows
    assert keeper.capture_seconds <= 0.2 * (clock["now"] - start) + 1e-9


def test_the_next_snapshots_cost_is_predicted_from_the_states_size():
    """Exact figures: through the last two (size, cost) points when the cost grew with the size; with one
    point (or costs that did not grow) the last cost scaled up by the size ratio; never below the
    costlier of the two."""
    from workstation.pipeline.snapshots import predict_snapshot_cost

    assert predict_snapshot_cost([(100, 0.010), (300, 0.030)], 600) == pytest.approx(0.060)
    assert predict_snapshot_cost([(1000, 0.020), (3000, 0.030)], 5000) == pytest.approx(0.040)   # fixed part
    assert predict_snapshot_cost([(100, 0.010)], 400) == pytest.approx(0.040)
    assert predict_snapshot_cost([(100, 0.010)], 50) == pytest.approx(0.010)
    assert predict_snapshot_cost([(100, 0.030), (200, 0.020)], 400) == pytest.approx(0.040)     # noise: ratio
    assert predict_snapshot_cost([(100, 0.010), (300, 0.030)], 200) == pytest.approx(0.030)     # the costlier
    assert predict_snapshot_cost([(100, 0.030), (200, 0.020)], 150) == pytest.approx(0.030)


def test_a_snapshot_waits_when_the_state_grew_since_the_last_one():
    """The state's history grew 200-fold since the only snapshot: after an idle time long enough for one
    costing as much as the last, the next is still not due (it will cost ~200 times more); with the
    history back to its size it is. Times are relative to the measured cost of the first snapshot."""
    import time

    class Thing:
        def __init__(self):
            self.values = np.random.default_rng(3).random(300_000)
            self.history = [{"n": k} for k in range(200)]

    thing = Thing()
    keeper = SnapshotKeeper({"thing": thing}, every=1, max_overhead=0.05)
    assert keeper.due(0, 0)
    keeper.capture(0, 0, 0, -1, 0)
    cost = keeper.capture_seconds
    items = keeper.state_items()
    thing.history.extend({"n": k} for k in range(200 * 199))
    assert keeper.state_items() == items + 200 * 199
    assert keeper.predicted_cost(keeper.state_items()) >= 150 * cost
    time.sleep(60 * cost)             # enough for a snapshot as costly as the first (within 5 %: 19 costs)
    assert not keeper.due(1, 1)
    del thing.history[200:]
    assert keeper.due(2, 2)


def test_room_left_for_data_to_come_costs_a_snapshot_nothing_and_restores_to_the_same_bytes():
    """Pre-allocated storage (SessionData's blocks: ~7 MB at 100 symbols, mostly room for the session's
    bars to come) is snapshotted without its all-zero end; the restore gives back the same bytes,
    -0.0, NaN and the zero room included, and views of it still share its memory."""
    from workstation.pipeline.snapshots import TRIM_MIN_BYTES

    class Holder:
        pass

    rng = np.random.default_rng(3)
    holder = Holder()
    block = np.zeros((100, 1024))             # like a block early in a session: 40 bars of each symbol
    block[:, :40] = rng.normal(size=(100, 40))
    block[7, 3] = np.nan
    block[99, 39] = -0.0                      # the last item written is a negative zero: kept
    block[5, 40] = -0.0
    times = np.zeros((100, 1024), dtype=np.int64)
    times[:, :41] = np.arange(41) * MIN
    curve = np.zeros(20_000)                  # 1-D: the filled part at the start
    curve[:300] = rng.normal(size=300)
    dense = rng.normal(size=(100, 200))       # no zero end: pickled whole
    holder.block, holder.times, holder.curve, holder.dense = block, times, curve, dense
    holder.row = block[5]                     # a view: shares the restored array's memory
    expected = {name: getattr(holder, name).copy() for name in ("block", "times", "curve", "dense")}
    assert block.nbytes >= TRIM_MIN_BYTES and dense.nbytes >= TRIM_MIN_BYTES
    keeper = SnapshotKeeper({"holder": holder}, every=1, max_overhead=None)
    point = keeper.capture(0, 0, 0, -1, MIN)
    assert keeper.raw_bytes < (41 * 100 * 8) * 2 + 300 * 8 + dense.nbytes + 100_000   # not the 1.8 MB held
    holder.block[:, :50] = 1.0
    holder.curve[:] = 2.0
    holder.dense[:] = 0.0
    keeper.restore(point)
    for name, want in expected.items():
        got = getattr(holder, name)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), name          # bit for bit: -0.0 and NaN as they were
    assert np.signbit(holder.block[5, 40]) and np.signbit(holder.block[99, 39])
    holder.block[5, 0] = 123.0
    assert holder.row[0] == 123.0 and holder.row.base is not None
