"""Live on the backtest's pipeline: a LiveSystemManager is built once with its live clock and provider
feed (no clock rewiring, the backtest's coordinator), a replay through the provider feed trades as a
backtest through the store feed, and gap status changes travel from the gap filler (their owner) to
the quality stage as events applied in the quality stage's own thread."""

from __future__ import annotations

import threading

import pytest

from tests.workstation.live.test_live_replay import DAY, _cfg, _run
from tests.workstation.live.test_live_replay import store as store  # noqa: F401 - the module's fixture
from workstation.live.feed import ProviderFeed
from workstation.live.gap_filler import GapFiller
from workstation.live.replay import ReplayClock
from workstation.live.system import LiveSystemManager
from workstation.model import Bar
from workstation.pipeline.coordinator import SessionCoordinator
from workstation.pipeline.feed import GapStatusChanged, StoreFeed
from workstation.pipeline.quality import Gap, GapStatus
from workstation.system import SystemManager

MINUTE = 60_000_000_000


def test_live_system_is_built_once_with_the_clock_it_is_given(store, monkeypatch):  # noqa: F811
    builds = []
    original = SystemManager._build
    monkeypatch.setattr(SystemManager, "_build", lambda self: (builds.append(self), original(self))[1])
    clock = ReplayClock(1_704_295_800_000_000_000, 60.0)
    system = LiveSystemManager(_cfg(store, "live"), store=store, clock=clock)
    assert builds == [system]
    # every stage reads the clock it was built with: the one passed in
    assert system.clock is clock
    assert system.analysis.clock is clock and system.analysis.ctx._clock is clock
    assert system.analysis.desk.clock is clock          # (the old rewiring missed the order desk)
    assert system.coordinator.clock is clock          # (the processor reads bar times, not a clock)
    # the backtest's coordinator, fed by the provider feed on the same clock
    assert type(system.coordinator) is SessionCoordinator
    assert isinstance(system.feed, ProviderFeed) and system.coordinator.feed is system.feed
    assert system.feed.clock is clock and system.quality.on_gap == system.feed.on_gap
    # a backtest: a simulated clock and the store feed; no gap sink
    backtest = SystemManager(_cfg(store, "backtest"), store=store)
    assert isinstance(backtest.feed, StoreFeed) and backtest.quality.on_gap is None
    assert backtest.analysis.ctx._clock is backtest.clock is backtest.coordinator.clock


def test_a_feed_on_another_clock_is_refused(store):  # noqa: F811
    from workstation.live.system import provider_feed

    cfg = _cfg(store, "live")
    clock = ReplayClock(1_704_295_800_000_000_000, 60.0)
    feed = provider_feed(cfg, object(), clock)
    with pytest.raises(ValueError, match="share one clock"):
        SystemManager(cfg, store=store, feed=feed)              # the run would make a SimulatedClock


def test_clean_replay_through_the_provider_feed_trades_as_the_store_feed_backtest(store):  # noqa: F811
    """No drop, no delay: the live run (provider feed, replay clock; caught up from history until 15:10,
    then streamed) and the backtest (store feed, simulated clock) make the same trades and fills."""
    backtest = SystemManager(_cfg(store, "backtest"), store=store)
    expected = _run(backtest)
    live = LiveSystemManager(_cfg(store, "live", start=f"{DAY} 15:10", speed=300.0, grace_seconds=45,
                                  batch_quiet_ms=500), store=store)
    got = _run(live)
    assert live.feed.late_bars == 0 and live.feed.caught_up_bars > 0
    assert got["decisions"] == expected["decisions"] and len(got["decisions"]) >= 50

    def trades(system):
        return [(t.symbol, t.entry_time, t.entry_price, t.exit_time, t.exit_price, t.quantity, t.pnl)
                for t in system.broker.trades]
    assert trades(live) == trades(backtest) and len(trades(live)) >= 5
    assert [(f.symbol, f.time, f.quantity, f.price) for f in live.broker.fills] == \
        [(f.symbol, f.time, f.quantity, f.price) for f in backtest.broker.fills]
    assert live.bars_processed == backtest.bars_processed


class _ThreadRecordingDict(dict):
    """A dict recording the name of every thread that writes to it."""

    def __init__(self, *args, writers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.writers = writers

    def __setitem__(self, key, value):
        self.writers.append(threading.current_thread().name)
        super().__setitem__(key, value)


@pytest.mark.parametrize("stage_threads", [False, True])
def test_gap_status_reaches_the_quality_stage_as_events_applied_in_its_thread(store, stage_threads):  # noqa: F811
    cfg = _cfg(store, "live", start=f"{DAY} 15:45", speed=60.0, drop=0.05)
    cfg.backtest.stage_threads = stage_threads
    system = LiveSystemManager(cfg, store=store)
    quality = system.quality
    writers: list[str] = []
    quality.totals = {s: _ThreadRecordingDict(t, writers=writers) for s, t in quality.totals.items()}
    status_writers: list[str] = []
    applied: list[GapStatusChanged] = []
    apply = quality.apply_gap_status

    def recording_apply(change):
        status_writers.append(threading.current_thread().name)
        applied.append(change)
        apply(change)
    quality.apply_gap_status = recording_apply
    _run(system)
    owner_thread = quality.thread_name if stage_threads else "SessionCoordinator"
    s = system.summary()
    assert s["gaps_found"] >= 1 and s["gaps_filled"] == s["gaps_found"]
    # every settled gap was counted by the quality stage, in its own thread (never the filler's)
    assert sum(t["gaps_filled"] for t in quality.totals.values()) == s["gaps_filled"]
    assert writers and set(writers) == {owner_thread}
    assert status_writers and set(status_writers) == {owner_thread}
    assert {c.status for c in applied} >= {GapStatus.PENDING, GapStatus.FILLED}
    # the quality stage's own record of each gap (gaps.parquet rows) followed the filler's
    filler_gaps = {(g.symbol, g.start_ns): g for g in system.gap_filler.gaps}
    rows = [r for r in quality.session_gap_rows if r["interval"] == "1m"]
    assert rows and all(r["status"] == filler_gaps[(r["symbol"], r["start"])].status == GapStatus.FILLED
                        for r in rows)
    # ... through copies: the filler's gap objects are not the quality stage's
    assert not {id(g) for g in quality.gaps} & {id(g) for g in system.gap_filler.gaps}


class _RecordingGap(Gap):
    """A Gap recording which thread writes its status."""

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "writers", [])
        super().__init__(*args, **kwargs)

    def __setattr__(self, name, value):
        if name == "status":
            self.writers.append(threading.current_thread().name)
        super().__setattr__(name, value)


class _AnsweringProvider:
    """History with a bar for every minute asked."""

    def request_history_many(self, symbols, interval, start_ns, end_ns, timeout=10.0):
        return {s: [Bar(s, interval, t, 10.0, 11.0, 9.0, 10.5, 100.0) for t in range(start_ns, end_ns, MINUTE)]
                for s in symbols}


def test_the_filler_owns_the_status_and_settles_only_after_the_bars_were_inserted():
    """The submitting thread writes nothing to the gap; the filler's thread sets PENDING, delivers the
    answer and waits: only once the feed says the bars were inserted (`fill_applied`) does it settle
    the gap as FILLED and report it, each change once, as a GapStatusChanged."""
    inserted: set[int] = set()
    delivered = threading.Event()
    changes: list[tuple[str, GapStatusChanged]] = []
    gap = _RecordingGap("AAA", "1m", 0, 2 * MINUTE, 3)
    filler = GapFiller(_AnsweringProvider(), lambda g, bars: delivered.set(), "1m", MINUTE, max_retries=2,
                       retry_interval_s=0.05, present_starts=lambda g: sorted(inserted),
                       on_status=lambda c: changes.append((threading.current_thread().name, c)))
    gap.writers.clear()                                     # (the constructor's own write)
    filler.start()
    try:
        filler.submit(gap)
        assert gap.status == GapStatus.MEASURED and gap.writers == []     # handed over: nothing written here
        assert delivered.wait(5.0)
        assert not filler.wait_idle(0.3)                    # waits for the insertion, does not settle
        assert gap.status == GapStatus.PENDING and filler.pending() == 1
        inserted.update({0, MINUTE, 2 * MINUTE})            # the feed inserted the bars ...
        filler.fill_applied(gap)                            # ... and says so
        assert filler.wait_idle(5.0)
    finally:
        filler.stop()
    assert gap.status == GapStatus.FILLED and gap.filled == 3
    assert set(gap.writers) == {"GapFiller"}
    assert [c.status for _t, c in changes] == [GapStatus.PENDING, GapStatus.FILLED]
    assert {t for t, _c in changes} == {"GapFiller"}
    assert changes[-1][1] == GapStatusChanged("AAA", "1m", 0, GapStatus.FILLED, 3, 0, 0)


def test_bars_refused_after_delivery_are_asked_again_then_the_gap_fails():
    """The answer's bars never make it into SessionData (refused as bad): the gap is asked again up to
    max_retries, then FAILED, instead of staying pending forever."""
    delivered: list[int] = []
    filler = GapFiller(_AnsweringProvider(), lambda g, bars: (delivered.append(len(bars)), filler.fill_applied(g)),
                       "1m", MINUTE, max_retries=2, retry_interval_s=0.05, present_starts=lambda g: [])
    gap = Gap("AAA", "1m", 0, MINUTE, 2)
    filler.start()
    try:
        filler.submit(gap)
        assert filler.wait_idle(5.0)
    finally:
        filler.stop()
    assert delivered == [2, 2, 2] and gap.status == GapStatus.FAILED and gap.retries == 2


def test_hand_orders_in_a_live_run_are_applied_between_bar_times_and_fill_at_the_next_open(store):  # noqa: F811
    """A live run applies hand orders like a backtest (the old live loop never did): a market buy
    scheduled at 15:50 is accepted, marked manual, and fills at the open of the symbol's next bar (the
    stored bar: the replay here drops and delays nothing)."""
    import pandas as pd

    from workstation.execution.manual import MANUAL, SubmitOrder

    cfg = _cfg(store, "live", start=f"{DAY} 15:40", speed=120.0)
    cfg.strategies[0].enabled = False                   # only the hand order trades
    system = LiveSystemManager(cfg, store=store)
    symbol = cfg.symbols[0]
    at = pd.Timestamp(f"{DAY} 15:50", tz="America/New_York").value
    system.manual_orders.schedule([(at, SubmitOrder(symbol, 10))])
    answers = []
    system.events.subscribe("manual", lambda _k, result: answers.append(result))
    _run(system)
    assert len(answers) == 1 and answers[0].accepted, answers
    assert answers[0].applied_at_ns >= at                # never before its time
    fills = [f for f in system.broker.fills if f.strategy == MANUAL]
    assert len(fills) == 1 and fills[0].symbol == symbol and fills[0].quantity == 10
    # due once the bar time ending at 15:50 was delivered, so it fills at the open of the 15:50 bar (from the
    # store). (`applied_at_ns` reads the live clock, which at 120x runs a minute ahead in half a wall second.)
    bars = store.read_bars([symbol], "1m", at, at + 10 * MINUTE)
    assert bars["timestamp"].iloc[0].value == at
    assert fills[0].time == at and fills[0].price == float(bars["open"].iloc[0])
