"""Feeds: where the session coordinator's bar times come from.

The coordinator runs one session loop and one streaming loop (`SessionCoordinator._stream`) for
backtests and live runs alike; only its feed differs:

- `StoreFeed` (backtests): each session's stored bars, read ahead by a background loader thread
  (`prefetch_days` sessions), quote bars beside them when asked for, grouped into bar times by
  `bar_time_slices`. The coordinator moves the simulated clock to each bar time's END and paces
  the bar times by the run's speed.
- `workstation.live.feed.ProviderFeed` (live): bars arrive from a market-data provider on the
  live clock; the feed turns them into bar times when they are complete, and hands the coordinator
  the things that happen between bar times (late bars, gap fills, trailing gaps at the close, gap
  status changes) as typed events. The live clock moves by itself.

A feed yields, per session, items of these kinds (immutable records, read by name):

    BarTimes          a block of bar times, columnar (one row per bar, sorted by bar start); the
                      coordinator delivers them one bar time at a time through the stages
    LateBars          bars to insert in time order into bar times already delivered (a late bar, a
                      gap fill); the coordinator inserts them and has the stages recompute
    TrailingGaps      the session closed: the quality stage finds the gaps up to the close now
    GapStatusChanged  the gap filler settled a gap: the quality stage counts it (in its thread)

Threads: a feed's `session()` iterator runs in the coordinator's thread; StoreFeed's loader in its
own; a live feed's provider and gap filler put their messages into the feed's inbox from theirs.
Times are int ns UTC; a bar's timestamp is its START.
"""

from __future__ import annotations

import datetime as dt
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from workstation.pipeline.bar_times import bar_time_slices
from workstation.pipeline.stage_events import GapStatusChanged

if TYPE_CHECKING:
    from workstation.calendar import TradingSession
    from workstation.model import Bar
    from workstation.pipeline.quality import Gap


@dataclass(frozen=True, slots=True, eq=False)
class BarTimes:
    """A block of bar times: rows sorted by bar start; rows starts[k]:ends[k] hold bar time k, whose
    start is bar_starts[k]. `on_done(k)`, when set, is called in the coordinator's thread right after
    the stages ran bar time k (a live feed measures its latency there)."""

    timestamp: np.ndarray        # int64 ns UTC bar starts, one per row
    symbol_index: np.ndarray     # int64 index into the run's symbols
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    starts: list[int]
    ends: list[int]
    bar_starts: list[int]
    on_done: Callable[[int], None] | None = None

    @classmethod
    def from_arrays(cls, timestamp: np.ndarray, symbol_index: np.ndarray, open_: np.ndarray, high: np.ndarray,
                    low: np.ndarray, close: np.ndarray, volume: np.ndarray,
                    on_done: Callable[[int], None] | None = None) -> BarTimes:
        """Group rows already sorted by bar start (then symbol) into bar times."""
        starts, ends = bar_time_slices(timestamp)
        return cls(timestamp, symbol_index.astype(np.int64, copy=False), open_, high, low, close, volume,
                   starts, ends, timestamp[starts].tolist() if len(timestamp) else [], on_done)

    @classmethod
    def from_bars(cls, rows: list[tuple[int, int, Bar]], on_done: Callable[[int], None] | None = None) -> BarTimes:
        """From (bar start, symbol index, Bar) rows sorted by bar start then symbol index."""
        n = len(rows)
        bars = [r[2] for r in rows]
        return cls.from_arrays(
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
            np.fromiter((r[1] for r in rows), dtype=np.int64, count=n),
            np.fromiter((b.open for b in bars), dtype=float, count=n),
            np.fromiter((b.high for b in bars), dtype=float, count=n),
            np.fromiter((b.low for b in bars), dtype=float, count=n),
            np.fromiter((b.close for b in bars), dtype=float, count=n),
            np.fromiter((b.volume for b in bars), dtype=float, count=n), on_done)

    def __len__(self) -> int:
        return len(self.timestamp)

    def every_symbol(self, n_symbols: int) -> list[bool]:
        """Per bar time: True when its rows are exactly symbols 0..n_symbols-1 in order (a bar of every
        symbol), which SessionData appends without checking the indices (`sym_idx=None`)."""
        starts = self.starts
        if not starts or n_symbols == 0:
            return [False] * len(starts)
        sizes = np.asarray(self.ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64)
        # each row's place in its bar time equals its symbol index on every row of a complete bar time
        in_place = self.symbol_index == np.arange(len(self.symbol_index), dtype=np.int64) - np.repeat(starts, sizes)
        return ((sizes == n_symbols) & np.logical_and.reduceat(in_place, starts)).tolist()

    def decimal_raises(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per bar time k (only those with any), the (symbol indices, decimals) of its closes that have
        more decimals (indicators.price_grid.decimals_of) than every earlier close of their symbol in
        the block. A price grid keeps per symbol the most decimals of the closes it observed, so
        raising it to these alone, bar time after bar time, leaves it as observing every close does
        (PriceGrid.observe): the other closes have no more decimals than one observed before them.
        Worked out once for the block (a few numpy calls) instead of per bar time."""
        from workstation.indicators.price_grid import MAX_DECIMALS, decimals_of

        n = len(self.close)
        if not n:
            return {}
        decimals = decimals_of(self.close)
        order = np.argsort(self.symbol_index, kind="stable")     # each symbol's rows, in time order
        # one key per row that orders symbols first, then decimals: a running maximum of the keys is
        # each symbol's running maximum of decimals (every earlier symbol's keys are smaller)
        key = self.symbol_index[order] * (MAX_DECIMALS + 1) + decimals[order]
        before = np.empty_like(key)
        before[0] = -1
        np.maximum.accumulate(key[:-1], out=before[1:])
        rows = np.sort(order[(key > before) & (decimals[order] > 0)])    # 0 decimals raise nothing
        if not len(rows):
            return {}
        bar_time = np.searchsorted(np.asarray(self.starts, dtype=np.int64), rows, side="right") - 1
        bounds = np.flatnonzero(np.diff(bar_time)) + 1
        raises = {}
        for part in np.split(np.arange(len(rows)), bounds):
            picked = rows[part]
            raises[int(bar_time[part[0]])] = (self.symbol_index[picked], decimals[picked])
        return raises


class LateBars(NamedTuple):
    """Bars of bar times already delivered, to insert in time order (SessionData.insert_bar); the
    processor then rebuilds those symbols' derived bars and indicators, the quality stage recounts.
    `symbol_index[i]` is the run's index of `bars[i].symbol`."""

    bars: tuple[Bar, ...]
    symbol_index: tuple[int, ...]
    from_fill: bool              # a gap-fill answer (True) or bars that arrived late (False)


class TrailingGaps(NamedTuple):
    """The session closed at `close_ns`: the gaps from each symbol's last bar to the close are found
    now (so a live gap filler can fill them before the session ends)."""

    close_ns: int


FeedItem = BarTimes | LateBars | TrailingGaps | GapStatusChanged


class SessionStream:
    """One session's items from a feed. `missing_symbols`: indices of the symbols without any bar in
    the session (a store feed knows it up front; None for a live feed). `quotes`: the session's quote
    bars to stream beside the bars (None: none). `stopped` turns True when the feed ended the
    session early (a stop, a deadline)."""

    def __init__(self, items: Iterator[FeedItem], missing_symbols: np.ndarray | None = None, quotes: Any = None):
        self.items = items
        self.missing_symbols = missing_symbols
        self.quotes = quotes
        self.stopped = False


class FeedRun(NamedTuple):
    """What a feed is told about the run it feeds (once, by the SystemManager's build)."""

    sessions: list[TradingSession]
    symbols: list[str]
    base_interval: str
    base_ns: int
    session_data: Any
    clock: Any
    control: Any                 # RunControl (stop requests)
    metrics: Any
    events: Any


class Feed(ABC):
    """What the coordinator asks its feed. Subclasses: StoreFeed, workstation.live.feed.ProviderFeed."""

    drives_clock = True      # the coordinator sets a simulated clock to each bar time's end
    paced = True             # RunControl's speed paces the bar times (False: their arrival does)
    rewindable = True        # step back and seek can replay the session's bar times again

    def __init__(self) -> None:
        self.run: FeedRun | None = None

    def bind(self, run: FeedRun) -> None:
        """The run this feed feeds (once, before the run starts)."""
        self.run = run

    def gap_sink(self) -> Callable[[Gap], None] | None:
        """Where the quality stage hands the gaps it finds (live: to the gap filler); None: nowhere."""
        return None

    def open(self) -> None:  # noqa: B027 - optional hook, empty by default
        """The run starts (coordinator thread, after the warm-up)."""

    def close(self) -> None:  # noqa: B027 - optional hook, empty by default
        """The run ended (coordinator thread; also after a failure)."""

    def stopping(self) -> bool:
        """True when the feed ends the run before its next session (a deadline; may raise)."""
        return False

    def passed(self, session: TradingSession) -> bool:
        """True when `session` is over before it could be streamed (live: started after its close)."""
        return False

    def wait_for_open(self, session: TradingSession) -> bool:
        """Wait until `session` may start; False when the run was stopped meanwhile."""
        return True

    def prepare(self, session_index: int) -> None:  # noqa: B027 - optional hook, empty by default
        """Session `session_index` is next: start reading what it needs."""

    @abstractmethod
    def session(self, session: TradingSession, resumed: bool = False) -> SessionStream:
        """The items of `session` (from its start, or where a restored snapshot resumes: `resumed`)."""


class StoreFeed(Feed):
    """Stored bars of each session, read by one background loader thread, with the session's quote
    bars when `quotes`. Regular-hours runs read only the session's hours; rows outside the session's
    trading minutes (a lunch break) are dropped.

    When the loader reads (all in the loader thread; the coordinator only waits for a read it needs):
    the first session as soon as the run is bound (it overlaps the rest of the build, the start-up
    and the warm-up); sessions k+1 .. k+prefetch_days-1 once session k's bar times start streaming
    (`session`), so a read ahead never competes for the GIL with a session transition's own work
    (historical loads, session start); a session not read ahead (prefetch_days 1, a seek) when it is
    next (`prepare`)."""

    def __init__(self, store, time_manager, symbols: list[str], interval: str, prefetch_days: int = 1,
                 quotes: bool = False):
        super().__init__()
        self.store = store
        self.tm = time_manager
        self.symbols = list(symbols)
        self.interval = interval
        self.prefetch_days = max(1, int(prefetch_days))
        self.quotes = quotes
        self._quote_arrays: dict[dt.date, Any] = {}
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="QueueLoader")
        self._queued: dict[dt.date, Future] = {}
        self._session_index: dict[dt.date, int] = {}

    def bind(self, run: FeedRun) -> None:
        """Also start reading the first session now (it overlaps the build, start-up and warm-up)."""
        super().bind(run)
        self._session_index = {s.date: k for k, s in enumerate(run.sessions)}
        if run.sessions:
            self._queue(0)

    def close(self) -> None:
        self._loader.shutdown(wait=True, cancel_futures=True)

    def _queue(self, session_index: int) -> None:
        """Have the loader read session `session_index` unless it is read or being read already."""
        assert self.run is not None
        day = self.run.sessions[session_index].date
        if day not in self._queued:
            self._queued[day] = self._loader.submit(self._load_session_arrays, day)

    def prepare(self, session_index: int) -> None:
        """Session `session_index` is next: make sure it is being read (the read ahead of the following
        ones starts with its bar times, in `session`)."""
        self._queue(session_index)

    def _read_ahead(self, day: dt.date) -> None:
        """Session `day` starts streaming: queue the next prefetch_days - 1 sessions."""
        assert self.run is not None
        k = self._session_index.get(day)
        if k is None:
            return
        for j in range(k + 1, min(k + self.prefetch_days, len(self.run.sessions))):
            self._queue(j)

    def _rth_only(self) -> bool:
        return self.tm.session_hours == "regular"

    def _load_session_arrays(self, day: dt.date):
        t0 = time.perf_counter()
        arrays = self.store.read_session_arrays(day, self.interval, self.symbols, rth_only=self._rth_only())
        if self.quotes:
            from workstation.store.quote_store import read_quote_session_arrays

            self._quote_arrays[day] = read_quote_session_arrays(self.store, day, self.symbols, self.interval,
                                                                rth_only=self._rth_only())
        if self.run is not None:
            self.run.metrics.record("queue.load", time.perf_counter() - t0)
        return arrays

    def _session_quotes(self, day: dt.date):
        """The quote bars of `day` the loader read (read now when it has not, e.g. a session streamed
        again); earlier days' are forgotten."""
        from workstation.store.quote_store import read_quote_session_arrays

        for old in [d for d in list(self._quote_arrays) if d < day]:
            self._quote_arrays.pop(old, None)
        arrays = self._quote_arrays.get(day)
        return arrays if arrays is not None else read_quote_session_arrays(self.store, day, self.symbols,
                                                                           self.interval)

    def session(self, session: TradingSession, resumed: bool = False) -> SessionStream:
        """The session's bar times as one block (waits for the loader)."""
        future = self._queued.pop(session.date, None)
        arrays = future.result() if future is not None else self._load_session_arrays(session.date)
        self._read_ahead(session.date)
        present = np.zeros(len(self.symbols), dtype=bool)
        if len(arrays.symbol_index):
            present[arrays.symbol_index] = True        # (no np.unique: it imports numpy.ma, ~10 ms of start-up)
        missing = np.flatnonzero(~present)
        # every call, a resumed one too: the session's quotes restart and advance with the clock again
        quotes = self._session_quotes(session.date) if self.quotes else None
        ts_all = arrays.timestamp
        if len(ts_all):
            inside = session.trading_mask(ts_all)          # the session's hours less a lunch break
            if not inside.all():
                arrays = type(arrays)(*(a[inside] for a in arrays))
        block = BarTimes.from_arrays(arrays.timestamp, arrays.symbol_index, arrays.open, arrays.high, arrays.low,
                                     arrays.close, arrays.volume)
        return SessionStream(iter((block,)), missing, quotes)
