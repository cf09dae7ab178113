"""ProviderFeed's readiness rules on a clock the test moves: a bar time is handed to the coordinator
when every symbol's bar is in, when the provider says it is complete, when no bar for it came for
`batch_quiet_ms`, or `grace` after the bar's end; never before an earlier incomplete one; a bar for a
bar time already handed over comes back as LateBars (typed items, read by name)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from workstation.calendar import TimeManager
from workstation.events import EventBus
from workstation.live.feed import FillSettings, ProviderFeed
from workstation.metrics import PerformanceMetrics
from workstation.model import Bar
from workstation.pipeline.control import RunControl
from workstation.pipeline.feed import BarTimes, FeedRun, LateBars
from workstation.session import SessionData

MINUTE = 60_000_000_000
SYMBOLS = ["AAA", "BBB", "CCC"]


class _Clock:
    def __init__(self, now_ns: int):
        self.now = now_ns

    def now_ns(self) -> int:
        return self.now


class _Provider:
    name = "test"


@pytest.fixture
def setup():
    session = TimeManager().sessions(dt.date(2024, 1, 3), dt.date(2024, 1, 3))[0]
    clock = _Clock(session.open_ns)
    feed = ProviderFeed(_Provider(), clock, FillSettings(1, 1.0, 0.0), grace_s=20.0, batch_quiet_ms=10_000.0)
    feed.bind(FeedRun([session], SYMBOLS, "1m", MINUTE, SessionData(SYMBOLS, ["1m"]), clock, RunControl(),
                      PerformanceMetrics(), EventBus()))
    feed.session(session)
    return feed, clock, session.open_ns


def _bar(symbol: str, ts: int, close: float = 10.0) -> Bar:
    return Bar(symbol, "1m", ts, 10.0, 11.0, 9.0, close, 100.0)


def _arrive(feed, clock, *bars):
    for bar in bars:
        feed.on_bar(bar, clock.now)
    return list(feed._drain(0.0))


def _rows(block: BarTimes) -> list[tuple[int, str]]:
    return [(int(t), SYMBOLS[int(i)]) for t, i in zip(block.timestamp, block.symbol_index, strict=True)]


def test_a_bar_time_waits_for_every_symbol(setup):
    feed, clock, t = setup
    clock.now = t + MINUTE
    assert _arrive(feed, clock, _bar("BBB", t), _bar("AAA", t)) == []
    assert feed._due(clock.now) is None                        # CCC is missing, no rule fired yet
    _arrive(feed, clock, _bar("CCC", t))
    block = feed._due(clock.now)
    assert block is not None and block.bar_starts == [t] and _rows(block) == [(t, s) for s in SYMBOLS]
    assert feed._due(clock.now) is None                        # handed over once


def test_provider_complete_and_grace_and_quiet_window(setup):
    feed, clock, t = setup
    clock.now = t + MINUTE
    _arrive(feed, clock, _bar("AAA", t))
    assert feed._due(clock.now) is None
    feed.on_bar_time_complete("1m", t, clock.now)              # the provider says nothing more comes
    feed.on_bar_time_complete("5m", t + MINUTE, clock.now)     # (another interval's: ignored)
    _arrive(feed, clock)
    assert _rows(feed._due(clock.now)) == [(t, "AAA")]
    # grace: 20 s of clock after the bar's end
    clock.now = t + 2 * MINUTE
    _arrive(feed, clock, _bar("BBB", t + MINUTE))
    assert feed._due(t + 2 * MINUTE + 20 * 10**9 - 1) is None
    assert _rows(feed._due(t + 2 * MINUTE + 20 * 10**9)) == [(t + MINUTE, "BBB")]
    # quiet window: no bar for the bar time for batch_quiet_ms of wall time
    feed.batch_quiet_ns = 300_000_000
    clock.now = t + 3 * MINUTE
    _arrive(feed, clock, _bar("CCC", t + 2 * MINUTE))
    assert feed._due(clock.now) is None
    time.sleep(0.35)
    assert _rows(feed._due(clock.now)) == [(t + 2 * MINUTE, "CCC")]


def test_bar_times_go_in_order_and_late_bars_come_back_typed(setup):
    feed, clock, t = setup
    feed.grace_ns = 90 * 10**9                         # bar time t is not past its grace at t + 2m
    clock.now = t + 2 * MINUTE
    _arrive(feed, clock, _bar("AAA", t), *[_bar(s, t + MINUTE) for s in SYMBOLS])
    assert feed._due(clock.now) is None                # t + 1m is complete, but t is not: both wait
    _arrive(feed, clock, _bar("BBB", t), _bar("CCC", t))
    block = feed._due(clock.now)
    assert block.bar_starts == [t, t + MINUTE] and block.starts == [0, 3] and block.ends == [3, 6]
    block.on_done(0)
    assert len(feed.latencies_ms) == 3                 # bar time 0's bars: receive -> done
    items = _arrive(feed, clock, _bar("BBB", t, close=10.5))
    assert items == [LateBars((_bar("BBB", t, close=10.5),), (1,), from_fill=False)]
    assert feed.late_bars == 1 and list(feed.late_marks) == [("BBB", t)]
    # a bar of the same batch repeated unchanged is a duplicate, not a second late bar
    items = _arrive(feed, clock, _bar("CCC", t, close=9.5), _bar("CCC", t, close=9.5))
    assert [len(i.bars) for i in items] == [1] and feed.duplicate_bars == 1 and feed.late_bars == 2
    # the newest bar time handed over is late too
    items = _arrive(feed, clock, _bar("AAA", t + MINUTE, close=10.8))
    assert [type(i) for i in items] == [LateBars] and feed.late_bars == 3 and feed._due(clock.now) is None


def test_a_bars_latency_leaves_out_the_time_the_run_stood_paused(setup):
    """A bar received, then the user pauses the live run for a while before its bar time goes through:
    its receive -> decision latency counted the pause (p99 2,987 ms on a run paused once); now the
    paused time is taken out (RunControl.paused_between), and a bar of a run never paused keeps its
    whole latency."""
    import threading

    feed, clock, t = setup
    control = feed.run.control
    clock.now = t + MINUTE
    _arrive(feed, clock, *(_bar(s, t) for s in SYMBOLS))
    block = feed._due(clock.now)
    received = time.perf_counter_ns()
    control.pause()
    waiter = threading.Thread(target=control.gate)          # the coordinator, waiting at the gate
    waiter.start()
    time.sleep(0.5)
    control.resume()
    waiter.join(5)
    assert not waiter.is_alive()
    block.on_done(0)
    whole_ms = (time.perf_counter_ns() - received) / 1e6
    pause_ms = control.paused_s * 1e3
    assert 500 <= pause_ms <= whole_ms
    assert len(feed.latencies_ms) == 3 and max(feed.latencies_ms) < whole_ms - pause_ms + 50
    # the next bar time, no pause: its whole latency
    clock.now = t + 2 * MINUTE
    _arrive(feed, clock, *(_bar(s, t + MINUTE) for s in SYMBOLS))
    block = feed._due(clock.now)
    before = time.perf_counter_ns()
    time.sleep(0.05)
    block.on_done(0)
    assert all(lat >= 50 and lat <= (time.perf_counter_ns() - before) / 1e6 + 50 for lat in feed.latencies_ms[3:])
    assert control.paused_between(received, time.perf_counter_ns()) == pytest.approx(pause_ms * 1e6, rel=1e-6)
