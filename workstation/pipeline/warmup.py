"""Indicator warm-up before a run's first session: the last whole bars of every interval.

Each interval (the streamed one and every derived one) is warmed up with its own last
`warmup_bars` bars before the first session, and never with fewer than its longest indicator needs
to be ready (an RSI(14) on 60m bars gets at least 15 whole 60m bars). Derived bars are built from
whole stored sessions with the engine's DerivedBarBuilder (the same slots as the replay: anchored at
the open, cut at a lunch break and at the close), so the first warm-up bar is never a fragment.
`warmup_bars = 0` turns the warm-up off.

`WarmupLoader` finds how many trading days back are needed (reading back until every symbol has
enough bars of every interval, at most `max_days` days and never before the store's first date),
then yields the bars to feed in time order: (interval, symbol indices, (open, high, low, close,
volume)). Runs in the coordinator's thread before the first session; times are int ns UTC bar
starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator, Sequence

import numpy as np

from workstation.calendar import TimeManager, TradingSession
from workstation.errors import WorkstationError
from workstation.model import parse_interval
from workstation.pipeline.bar_times import bar_time_slices
from workstation.pipeline.processor import DerivedBarBuilder

log = logging.getLogger(__name__)

Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def config_warmup_counts(cfg) -> dict[str, int]:
    """`warmup_counts` of a session config without building a run: the indicators the config keeps
    (`streams.indicators` on every interval, plus each enabled strategy's `required_indicators()`
    on its interval), as the processor keeps them. Used by planners (e.g. the sweep's data shipping)
    that must know which stored days a run's warm-up may read. A strategy that cannot be built is
    left out: the run of that config fails on the same error where it is built."""
    from workstation.indicators import make_indicator
    from workstation.strategies import load_strategy

    intervals = [cfg.streams.interval, *cfg.streams.derived]
    needed = {iv: max((make_indicator(spec).warmup for spec in cfg.streams.indicators), default=0)
              for iv in intervals}
    for i, st in enumerate(cfg.strategies):
        if st.enabled:
            try:
                strategy = load_strategy(cfg, st, i)
            except Exception:  # noqa: BLE001 - reported by the run itself
                continue
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

    def batches(self, first_day: dt.date) -> Iterator[tuple[str, np.ndarray, Columns]]:
        """The warm-up bars before session `first_day`, oldest first, whole bars only."""
        if not any(self.counts.values()):
            return
        sessions, totals = self._days_needed(first_day)
        n = len(self.symbols)
        intervals = [self.base_interval, *self.derived]
        skip = {iv: np.maximum(totals[iv] - self.counts[iv], 0) for iv in intervals}
        seen = {iv: np.zeros(n, dtype=np.int64) for iv in intervals}
        builders = [DerivedBarBuilder(iv, self.base_interval, n) for iv in self.derived if self.counts[iv] > 0]
        feed_base = self.counts[self.base_interval] > 0
        for session in sessions:
            arr = self._read(session)
            if not len(arr.timestamp):
                continue
            for bld in builders:
                bld.start_session(session.open_ns, session.close_ns, session.break_start_ns, session.break_end_ns,
                                  session.pre_market_start_ns, session.post_market_end_ns)
            ts_all = arr.timestamp
            starts, ends = bar_time_slices(ts_all)
            for a, b in zip(starts, ends, strict=True):
                idx = arr.symbol_index[a:b].astype(np.int64)
                cols = (arr.open[a:b], arr.high[a:b], arr.low[a:b], arr.close[a:b], arr.volume[a:b])
                ts = int(ts_all[a])
                if feed_base:
                    out = self._keep(self.base_interval, idx, cols, seen, skip)
                    if out is not None:
                        yield out
                for bld in builders:
                    for done in bld.add(ts, idx, *cols, ts + self.base_ns):
                        out = self._keep(bld.interval, done[1], done[2:], seen, skip)
                        if out is not None:
                            yield out
            for bld in builders:
                done = bld.complete()
                if done is not None:
                    out = self._keep(bld.interval, done[1], done[2:], seen, skip)
                    if out is not None:
                        yield out

    @staticmethod
    def _keep(interval, idx, cols, seen, skip):
        keep = seen[interval][idx] >= skip[interval][idx]
        seen[interval][idx] += 1
        if not keep.any():
            return None
        if keep.all():
            return interval, idx, tuple(cols)
        return interval, idx[keep], tuple(c[keep] for c in cols)

    def _read(self, session):
        """A session's streamed bars inside its hours (lunch break excluded; pre/post-market included
        in extended hours)."""
        arr = self.store.read_session_arrays(session.date, self.base_interval, self.symbols,
                                             rth_only=not session.extended)
        if len(arr.timestamp):
            inside = session.trading_mask(arr.timestamp)
            if not inside.all():
                arr = type(arr)(*(a[inside] for a in arr))
        return arr

    def _days_needed(self, first_day: dt.date) -> tuple[list, dict[str, np.ndarray]]:
        """The sessions before `first_day` to read, oldest first, and the bars per symbol of each
        interval they hold: back until every symbol has its bars of every interval, or `max_days`
        sessions, or the store's first date."""
        n = len(self.symbols)
        have = {iv: np.zeros(n, dtype=np.int64) for iv in self.counts}
        want = {iv: np.full(n, c, dtype=np.int64) for iv, c in self.counts.items()}
        dates = self.store.dates(self.base_interval)
        earliest = dates[0] if dates else first_day
        sessions: list[TradingSession | None] = []
        day = first_day
        while len(sessions) < self.max_days:
            try:
                day = self.tm.previous_trading_date(day)
            except WorkstationError:
                break                                   # before the calendar's start
            if day < earliest:
                break
            session = self.tm.session(day)
            sessions.append(session)
            self.days_read += 1
            for iv, counted in self._counts(session, self._read(session)).items():
                have[iv] += counted
            if all((have[iv] >= want[iv]).all() for iv in have):
                break
        sessions.reverse()
        return sessions, have

    def _counts(self, session, arr) -> dict[str, np.ndarray]:
        """Bars per symbol of each interval in one session's streamed bars (a derived bar exists
        where at least one streamed bar falls in its slot)."""
        n = len(self.symbols)
        codes = arr.symbol_index.astype(np.int64)
        out = {self.base_interval: np.bincount(codes, minlength=n)}
        for iv in self.derived:
            starts = session.slot_starts(parse_interval(iv).ns)
            width = max(len(starts), 1)
            slots = np.searchsorted(starts, arr.timestamp, side="right") - 1
            occupied = np.unique(codes * width + slots)
            out[iv] = np.bincount(occupied // width, minlength=n)
        return out
