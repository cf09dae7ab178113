"""StoreFeed's loader: when it reads which session. The first session is read as soon as the run is
bound; the read ahead of the following sessions starts only once a session's bar times stream
(`session()`), never at `prepare` (the session transition), so it does not compete with the
transition's own work; each session is read once; a session not read ahead is read when next."""

from __future__ import annotations

import threading

import numpy as np

from workstation.calendar import TimeManager
from workstation.metrics import PerformanceMetrics
from workstation.pipeline.feed import FeedRun, StoreFeed
from workstation.store.bar_store import SessionArrays

SYMBOLS = ["AAA", "BBB"]


class RecordingStore:
    """A bar store whose session reads are recorded (date order) and give one bar per symbol at the open."""

    def __init__(self, tm: TimeManager):
        self.tm = tm
        self.reads: list = []
        self.lock = threading.Lock()

    def read_session_arrays(self, day, interval, symbols, rth_only=True) -> SessionArrays:
        with self.lock:
            self.reads.append(day)
        open_ns = self.tm.session(day).open_ns
        n = len(symbols)
        price = np.full(n, 10.0 + len(self.reads))
        return SessionArrays(np.arange(n, dtype=np.int32), np.full(n, open_ns, dtype=np.int64),
                             price, price + 1, price - 1, price, np.full(n, 100.0))


def _feed(prefetch_days: int, days: int = 4):
    tm = TimeManager()
    sessions = tm.sessions("2024-03-04", "2024-03-11")[:days]
    store = RecordingStore(tm)
    feed = StoreFeed(store, tm, SYMBOLS, "1m", prefetch_days=prefetch_days)
    feed.bind(FeedRun(sessions, SYMBOLS, "1m", 60_000_000_000, None, None, None, PerformanceMetrics(), None))
    return feed, store, sessions


def _settled(feed: StoreFeed) -> None:
    """Wait until the loader has done everything queued so far (one worker: tasks run in order)."""
    feed._loader.submit(lambda: None).result(timeout=30)


def test_first_session_is_read_at_bind_and_read_ahead_waits_for_the_stream():
    feed, store, sessions = _feed(prefetch_days=3)
    try:
        _settled(feed)
        assert store.reads == [sessions[0].date]              # read at bind, nothing ahead yet
        feed.prepare(0)                                       # the first session's transition
        _settled(feed)
        assert store.reads == [sessions[0].date]              # prepare reads nothing ahead
        block = next(feed.session(sessions[0]).items)
        assert block.bar_starts == [sessions[0].open_ns]
        _settled(feed)
        assert store.reads == [s.date for s in sessions[:3]]  # streaming: the next 2 sessions read ahead
        feed.prepare(1)
        _settled(feed)
        assert store.reads == [s.date for s in sessions[:3]]  # session 1 was read ahead: not read again
        block = next(feed.session(sessions[1]).items)
        assert block.close.tolist() == [12.0, 12.0]           # the read-ahead's arrays (2nd read)
        _settled(feed)
        assert store.reads == [s.date for s in sessions[:4]]
    finally:
        feed.close()


def test_without_read_ahead_each_session_is_read_when_next():
    feed, store, sessions = _feed(prefetch_days=1, days=3)
    try:
        for k, session in enumerate(sessions):
            feed.prepare(k)
            block = next(feed.session(session).items)
            assert block.bar_starts == [session.open_ns]
            _settled(feed)
            assert store.reads == [s.date for s in sessions[:k + 1]]
    finally:
        feed.close()
