"""Indicator warm-up before a run's first session: the last whole bars of every interval.

Each interval (the streamed one and every derived one) is warmed up with its own last
`warmup_bars` bars before the first session, and never with fewer than its longest indicator needs
to be ready (an RSI(14) on 60m bars gets at least 15 whole 60m bars). Derived bars are built from
whole stored sessions with the engine's DerivedBarBuilder (the same slots as the replay: anchored at
the open, cut at a lunch break and at the close), so the first warm-up bar is never a fragment.
`warmup_bars = 0` turns the warm-up off.

`WarmupLoader` finds how many trading days back are needed (reading back until every symbol has
enough bars of every interval, at most `max_days` days and never before the store's first date;
each day is read once), then yields the bars to feed, each interval's in time order: `blocks`, one
WarmupBars per stored day and interval (what the run feeds: the processor gives each indicator
every symbol's bars in one go), or `batches`, one (interval, symbol indices, (open, high, low,
close, volume)) per bar time, the intervals interleaved by the time their bars complete. A day
none of whose bars of an interval is kept is not aggregated for it. It keeps the store's reads
(`stored_days`), which the first session's history takes instead of reading those days again.

`session_interval_bars` builds one stored day's bars of the streamed and derived intervals at once
(numpy, per slot: first open, highest high, lowest low, last close, volumes added in time order:
the bars the replay's DerivedBarBuilder builds, to the bit). It serves the engine's warm-up and the
window's chart history before the first session (`prerun_bars`, N trading days back), so both show
and use the same bars. Runs in the caller's thread (the coordinator's before the first session;
any thread for `prerun_bars`); times are int ns UTC bar starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from workstation.calendar import TimeManager, TradingSession, session_slot_bounds
from workstation.errors import WorkstationError
from workstation.model import parse_interval
from workstation.pipeline.bar_times import bar_time_slices
from workstation.pipeline.stage_events import WarmupBars
from workstation.session import BarsView

log = logging.getLogger(__name__)

Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def config_warmup_counts(cfg) -> dict[str, int]:
    """`warmup_counts` of a session config without building a run: the indicators the config keeps
    (`streams.indicators` on every interval when a strategy runs, plus each enabled strategy's
    `required_indicators()` on its interval: `kept_stream_indicators`), as the processor keeps them.
    Used by planners (e.g. the sweep's data shipping) that must know which stored days a run's warm-up
    may read. A strategy that cannot be built is left out: the run of that config fails on the same
    error where it is built."""
    from workstation.indicators import make_indicator
    from workstation.pipeline.pipeline import kept_stream_indicators
    from workstation.strategies import load_strategy

    strategies = []
    for i, st in enumerate(cfg.strategies):
        if st.enabled:
            try:
                strategies.append(load_strategy(cfg, st, i))
            except Exception:  # noqa: BLE001 - reported by the run itself
                continue
    intervals = [cfg.streams.interval, *cfg.streams.derived]
    if not strategies:          # no warm-up (Pipeline.warmup_needed)
        return {iv: 0 for iv in intervals}
    kept = kept_stream_indicators(cfg, strategies)
    needed = {iv: max((make_indicator(spec).warmup for spec in kept), default=0) for iv in intervals}
    for strategy in strategies:
        need = max((make_indicator(spec).warmup for spec in strategy.required_indicators()), default=0)
        needed[strategy.interval] = max(needed.get(strategy.interval, 0), need)
    return warmup_counts(cfg.historical.warmup_bars, needed)


def warmup_max_days(counts: dict[str, int]) -> int:
    """The most trading days a warm-up reads back: three times the days a symbol with every bar
    would need, plus a week (`WarmupLoader`'s bound)."""
    days = 1
    for iv, n in counts.items():
        days = max(days, math.ceil(n * parse_interval(iv).seconds / 60 / 390))
    return 3 * days + 5


def warmup_counts(warmup_bars: int, needed: dict[str, int]) -> dict[str, int]:
    """Bars of each interval to warm up with: `warmup_bars`, or more when an indicator of that
    interval needs more to be ready (`needed`: interval -> longest indicator warm-up); none at all
    when `warmup_bars` is 0."""
    if warmup_bars <= 0:
        return {iv: 0 for iv in needed}
    return {iv: max(int(warmup_bars), int(n)) for iv, n in needed.items()}


class IntervalBars(NamedTuple):
    """One day's whole bars of one interval for all symbols, sorted by (bar start, symbol index):
    `bounds[j]:bounds[j + 1]` are the rows of the j-th bar time; `done_ns` is when each bar time's
    bars are complete (the end of its last streamed bar)."""

    start: np.ndarray           # int64 ns UTC bar start, per row
    symbol_index: np.ndarray    # int64
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bounds: np.ndarray          # int64 row offsets of the bar times
    done_ns: np.ndarray         # int64, per bar time

    @property
    def rows(self) -> int:
        return int(self.start.shape[0])

    def columns(self, rows) -> Columns:
        return (self.open[rows], self.high[rows], self.low[rows], self.close[rows], self.volume[rows])


def _bar_time_bounds(start: np.ndarray) -> np.ndarray:
    """Row bounds of the bar times (bar_time_slices): bar time k is rows bounds[k]:bounds[k + 1]."""
    starts, ends = bar_time_slices(start)
    return np.array([*starts, ends[-1]] if ends else [0], dtype=np.int64)


def session_interval_bars(session: TradingSession, arrays, base_interval: str,
                          intervals: Sequence[str]) -> dict[str, IntervalBars]:
    """The whole bars of each of `intervals` (the streamed one and/or derived ones) in one day's
    streamed bars `arrays` (SessionArrays sorted by (timestamp, symbol index), inside the session's
    trading hours): the streamed bars as they are, derived bars per session slot exactly as the
    replay's DerivedBarBuilder builds them (first open, highest high, lowest low, last close, the
    volumes added one bar after another in time order; a slot cut at a lunch break or the close
    gives a short bar)."""
    base_ns = parse_interval(base_interval).ns
    ts = np.asarray(arrays.timestamp, dtype=np.int64)
    symbol = np.asarray(arrays.symbol_index, dtype=np.int64)
    out: dict[str, IntervalBars] = {}
    for iv in intervals:
        if iv == base_interval:
            bounds = _bar_time_bounds(ts)
            out[iv] = IntervalBars(ts, symbol, arrays.open, arrays.high, arrays.low, arrays.close, arrays.volume,
                                   bounds, ts[bounds[:-1]] + base_ns)
            continue
        out[iv] = _derived_bars(session, ts, symbol, arrays, parse_interval(iv).ns, base_ns)
    return out


def _derived_bars(session: TradingSession, ts: np.ndarray, symbol: np.ndarray, arrays, length_ns: int,
                  base_ns: int) -> IntervalBars:
    if not len(ts):
        e = np.empty(0)
        return IntervalBars(np.empty(0, np.int64), np.empty(0, np.int64), e, e, e, e, e, np.zeros(1, np.int64),
                            np.empty(0, np.int64))
    slot_starts, _ = session_slot_bounds(session.open_ns, session.close_ns, length_ns, session.break_start_ns,
                                         session.break_end_ns, session.pre_market_start_ns,
                                         session.post_market_end_ns)
    slot = np.maximum(np.searchsorted(slot_starts, ts, side="right") - 1, 0)
    n = int(symbol.max()) + 1
    key = slot * n + symbol
    order = np.argsort(key, kind="stable")             # by slot, then symbol; each group in time order
    key = key[order]
    first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    last = np.concatenate((first[1:], [len(key)])) - 1
    high, low, volume = arrays.high[order], arrays.low[order], arrays.volume[order]
    total = volume[first].copy()
    size = last - first + 1
    for k in range(1, int(size.max())):                 # volumes added in time order, as the builder does
        more = np.flatnonzero(size > k)
        total[more] += volume[first[more] + k]
    start = slot_starts[slot[order][first]]
    bounds = _bar_time_bounds(start)
    done = ts[order][last] + base_ns                    # each group's last streamed bar's end
    return IntervalBars(start, symbol[order][first], arrays.open[order][first], np.maximum.reduceat(high, first),
                        np.minimum.reduceat(low, first), arrays.close[order][last], total, bounds,
                        np.maximum.reduceat(done, bounds[:-1]))


def read_day(store, session: TradingSession, base_interval: str, symbols: Sequence[str]):
    """A stored day's streamed bars inside the session's hours (lunch break excluded; pre/post-market
    included in extended hours), as SessionArrays."""
    return inside_session(session, store.read_session_arrays(session.date, base_interval, symbols,
                                                             rth_only=not session.extended))


def inside_session(session: TradingSession, arr):
    """The bars of a day's store read (`read_session_arrays` with rth_only=not session.extended)
    inside the session's hours: `read_day`."""
    if len(arr.timestamp):
        inside = session.trading_mask(arr.timestamp)
        if not inside.all():
            arr = type(arr)(*(a[inside] for a in arr))
    return arr


def prerun_bars(store, tm: TimeManager, symbols: Sequence[str], base_interval: str, derived: Sequence[str],
                first_day: dt.date, days: int) -> dict[tuple[str, str], BarsView]:
    """Every bar of the streamed and derived intervals of the `days` trading days before `first_day`,
    per (symbol, interval) in time order (the window's chart history before the run's first
    session); {} when the calendar has no such days."""
    try:
        start = tm.trading_days_back(first_day, days)
    except WorkstationError:
        return {}
    intervals = [base_interval, *derived]
    parts: dict[str, list[IntervalBars]] = {iv: [] for iv in intervals}
    for day in tm.trading_dates(start, first_day - dt.timedelta(days=1))[-days:]:
        session = tm.session(day)
        if session is None:
            continue
        arrays = read_day(store, session, base_interval, symbols)
        if not len(arrays.timestamp):
            continue
        for iv, bars in session_interval_bars(session, arrays, base_interval, intervals).items():
            parts[iv].append(bars)
    out: dict[tuple[str, str], BarsView] = {}
    for iv, day_bars in parts.items():
        if not day_bars:
            continue
        sidx = np.concatenate([b.symbol_index for b in day_bars])
        columns = [np.concatenate([getattr(b, f) for b in day_bars])
                   for f in ("start", "open", "high", "low", "close", "volume")]
        order = np.lexsort((columns[0], sidx))
        sidx = sidx[order]
        columns = [c[order] for c in columns]
        edges = np.searchsorted(sidx, np.arange(len(symbols) + 1))
        for i, sym in enumerate(symbols):
            lo, hi = int(edges[i]), int(edges[i + 1])
            if hi > lo:
                out[(sym, iv)] = BarsView(columns[0][lo:hi].astype(np.int64),
                                          *(c[lo:hi].astype(np.float64) for c in columns[1:]))
    return out


class WarmupLoader:
    """Reads the stored bars a warm-up needs and yields them in time order (see the module doc)."""

    def __init__(self, store, time_manager: TimeManager, symbols: Sequence[str], base_interval: str,
                 derived: Sequence[str], counts: dict[str, int], max_days: int | None = None):
        self.store = store
        self.tm = time_manager
        self.symbols = list(symbols)
        self.base_interval = base_interval
        self.base_ns = parse_interval(base_interval).ns
        self.derived = list(derived)
        self.counts = {iv: int(counts.get(iv, 0)) for iv in [base_interval, *self.derived]}
        self.max_days = max_days if max_days is not None else warmup_max_days(self.counts)
        self.days_read = 0
        # the store's reads of the days read, as read (rth_only=not session.extended): the history of
        # the first session reads most of them again (see HistoricalService.offer_stored_days)
        self.stored_days: dict[dt.date, object] = {}

    def batches(self, first_day: dt.date) -> Iterator[tuple[str, np.ndarray, Columns]]:
        """The warm-up bars before session `first_day`, oldest first, whole bars only: one batch per
        bar time, the intervals interleaved by the time their bars complete."""
        for day_blocks in self._day_blocks(first_day):
            kept: list[tuple[int, int, str, np.ndarray, Columns]] = []
            for rank, bars in day_blocks:
                o, h, lo, c, v = bars.columns
                for j in range(len(bars.bounds) - 1):
                    a, b = int(bars.bounds[j]), int(bars.bounds[j + 1])
                    kept.append((int(bars.done_ns[j]), rank, bars.interval, bars.symbol_index[a:b],
                                 (o[a:b], h[a:b], lo[a:b], c[a:b], v[a:b])))
            kept.sort(key=lambda item: (item[0], item[1]))
            for _, _, iv, idx, columns in kept:
                yield iv, idx, columns

    def blocks(self, first_day: dt.date) -> Iterator[WarmupBars]:
        """The bars of `batches`, per stored day and interval (oldest day first): each interval's bars
        in time order, several bar times at once."""
        for day_blocks in self._day_blocks(first_day):
            for _, bars in day_blocks:
                yield bars

    def _day_blocks(self, first_day: dt.date) -> Iterator[list[tuple[int, WarmupBars]]]:
        """Per stored day needed (oldest first), the kept bars of each interval with its rank."""
        if not any(self.counts.values()):
            return
        days = self._days_needed(first_day)
        n = len(self.symbols)
        intervals = [iv for iv in [self.base_interval, *self.derived] if self.counts[iv] > 0]
        totals = {iv: sum((per_day[iv] for _, _, per_day in days), np.zeros(n, dtype=np.int64)) for iv in intervals}
        skip = {iv: np.maximum(totals[iv] - self.counts[iv], 0) for iv in intervals}
        seen = {iv: np.zeros(n, dtype=np.int64) for iv in intervals}
        for session, arrays, per_day in days:
            # an interval none of whose bars of this day is kept is only counted
            wanted = [iv for iv in intervals if (seen[iv] + per_day[iv] > skip[iv]).any()]
            built = session_interval_bars(session, arrays, self.base_interval, wanted) if wanted else {}
            day_blocks: list[tuple[int, WarmupBars]] = []
            for rank, iv in enumerate(intervals):
                bars = built.get(iv)
                if bars is not None:
                    kept = self._keep(iv, bars, seen[iv], skip[iv])
                    if kept is not None:
                        day_blocks.append((rank, kept))
                seen[iv] += per_day[iv]
            yield day_blocks

    @staticmethod
    def _keep(interval: str, bars: IntervalBars, seen: np.ndarray, skip: np.ndarray) -> WarmupBars | None:
        """The rows of `bars` kept (a symbol's bars are kept from its `skip`-th on, counting `seen`
        earlier ones), with the bounds and completion times of the bar times holding them; None if
        none is kept."""
        if not bars.rows:
            return None
        idx = bars.symbol_index
        order = np.argsort(idx, kind="stable")
        position = np.empty(bars.rows, dtype=np.int64)     # each row's place among its symbol's bars
        sorted_idx = idx[order]
        group_first = np.searchsorted(sorted_idx, sorted_idx, side="left")
        position[order] = np.arange(bars.rows) - group_first
        keep = seen[idx] + position >= skip[idx]
        if keep.all():
            return WarmupBars(interval, idx, bars.columns(slice(None)), bars.bounds, bars.done_ns)
        rows = np.flatnonzero(keep)
        if not rows.shape[0]:
            return None
        bar_time = np.searchsorted(bars.bounds, rows, side="right") - 1
        first = np.flatnonzero(np.concatenate(([True], bar_time[1:] != bar_time[:-1])))
        bounds = np.concatenate((first, [rows.shape[0]])).astype(np.int64)
        return WarmupBars(interval, idx[rows], bars.columns(rows), bounds, bars.done_ns[bar_time[first]])

    def _days_needed(self, first_day: dt.date) -> list[tuple[TradingSession, object, dict[str, np.ndarray]]]:
        """The sessions before `first_day` to use, oldest first, each with its streamed bars and the
        bars per symbol of each interval it holds: back until every symbol has its bars of every
        interval, or `max_days` sessions, or the store's first date."""
        n = len(self.symbols)
        have = {iv: np.zeros(n, dtype=np.int64) for iv in self.counts}
        want = {iv: np.full(n, c, dtype=np.int64) for iv, c in self.counts.items()}
        dates = self.store.dates(self.base_interval)
        earliest = dates[0] if dates else first_day
        days: list[tuple[TradingSession, object, dict[str, np.ndarray]]] = []
        day = first_day
        while len(days) < self.max_days:
            try:
                day = self.tm.previous_trading_date(day)
            except WorkstationError:
                break                                   # before the calendar's start
            if day < earliest:
                break
            session = self.tm.session(day)
            if session is None:
                continue
            stored = self.store.read_session_arrays(day, self.base_interval, self.symbols,
                                                    rth_only=not session.extended)
            self.stored_days[day] = stored
            arrays = inside_session(session, stored)
            self.days_read += 1
            counted = self._counts(session, arrays)
            days.append((session, arrays, counted))
            for iv in have:
                have[iv] += counted[iv]
            if all((have[iv] >= want[iv]).all() for iv in have):
                break
        days.reverse()
        return days

    def _counts(self, session, arr) -> dict[str, np.ndarray]:
        """Bars per symbol of each interval in one session's streamed bars (a derived bar exists
        where at least one streamed bar falls in its slot)."""
        n = len(self.symbols)
        codes = arr.symbol_index.astype(np.int64)
        out = {self.base_interval: np.bincount(codes, minlength=n)}
        for iv in self.derived:
            starts = session.slot_starts(parse_interval(iv).ns)
            width = max(len(starts), 1)
            slots = np.maximum(np.searchsorted(starts, arr.timestamp, side="right") - 1, 0)
            occupied = np.zeros(n * width, dtype=bool)       # (symbol, slot) holding a streamed bar
            occupied[codes * width + slots] = True
            out[iv] = occupied.reshape(n, width).sum(axis=1)
        return out
