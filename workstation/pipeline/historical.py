"""Historical phase of each session: trailing bars, historical indicators and historical quality.

Trailing windows come from the TimeManager. The first session loads the whole trailing window;
every later session rolls it forward by one day (the session just finished is added, the oldest
day dropped) instead of reloading. Each day is kept once as columns grouped by symbol (`_Day`,
built once when the day enters the window: from the store, or from the finished session's bars
without a copy per symbol), so rolling never regroups the window. Trailing bars are history on
demand: SessionData builds a symbol's window (its slices of the window's days, concatenated) only
when something reads it. Daily history (52-week highs, average daily volume) is read once for the
whole run from the store's 1d bars (or aggregated from 1m bars when there are none) into a
[day, symbol] table; a finished session replaces its day's row.

Threads: called by the coordinator thread between sessions. Times: int64 ns UTC bar starts; days
are exchange-local dates.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from workstation.calendar import TimeManager, TradingSession
from workstation.session import BarsView

if TYPE_CHECKING:
    from workstation.config import SessionConfig
    from workstation.store.bar_store import DailyArrays, SessionArrays

log = logging.getLogger(__name__)


def _trading_session(tm: TimeManager, day: dt.date) -> TradingSession:
    """The session of `day`, a trading date (from the calendar's trading dates or the store's)."""
    session = tm.session(day)
    if session is None:
        raise ValueError(f"{day} is not a trading day of {tm.exchange}")
    return session


_FIELDS = ("open", "high", "low", "close", "volume")


class _Day(NamedTuple):
    """One trading day's 1m bars of the historical symbols, grouped by symbol: symbol i's bars (in
    time order) are rows offsets[i]:offsets[i + 1] of every column."""

    offsets: np.ndarray
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def codes(self) -> np.ndarray:
        """The symbol index of every row."""
        return np.repeat(np.arange(len(self.offsets) - 1), self.counts())

    def columns(self, i: int) -> tuple[np.ndarray, ...]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return tuple(col[a:b] for col in (self.timestamp, self.open, self.high, self.low, self.close, self.volume))

    @staticmethod
    def from_arrays(arrays: SessionArrays, n: int) -> _Day:
        """From one date's store arrays (rows by time, then symbol index < n): regrouped by symbol,
        each symbol's rows kept in time order."""
        if not len(arrays.timestamp):
            return _Day.empty(n)
        codes = arrays.symbol_index.astype(np.int64)
        order = np.argsort(codes, kind="stable")
        offsets = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n)))).astype(np.int64)
        return _Day(offsets, arrays.timestamp[order], *(getattr(arrays, f)[order] for f in _FIELDS))

    @staticmethod
    def from_views(views: list[BarsView]) -> _Day:
        """From one view per symbol (a finished session's bars)."""
        sizes = [len(v.timestamp) for v in views]
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        ts = np.concatenate([np.asarray(v.timestamp, dtype=np.int64) for v in views]) if views else np.empty(
            0, dtype=np.int64)
        cols = [np.concatenate([np.asarray(getattr(v, c), dtype=float) for v in views]) if views else np.empty(0)
                for c in _FIELDS]
        return _Day(offsets, ts, *cols)

    @staticmethod
    def empty(n: int) -> _Day:
        e = np.empty(0)
        return _Day(np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int64), e, e, e, e, e)


def _regular_part(bars: _Day, session: TradingSession | None) -> _Day:
    """A day's bars inside its regular session: all of them, except in extended hours (daily values
    stay regular-hours)."""
    if session is None or not session.extended or not bars.size:
        return bars
    keep = session.regular_mask(bars.timestamp)
    offsets = np.concatenate(([0], np.cumsum(np.bincount(bars.codes()[keep], minlength=len(bars.offsets) - 1))))
    return _Day(offsets.astype(np.int64), bars.timestamp[keep], *(getattr(bars, f)[keep] for f in _FIELDS))


class _DailyTable:
    """Daily OHLCV of the historical symbols as a [day, symbol] table per field (NaN = no bar)."""

    def __init__(self, n_symbols: int):
        self.n = n_symbols
        self.rows: dict[dt.date, int] = {}
        self.values = {f: np.full((0, n_symbols), np.nan) for f in _FIELDS}

    def _row(self, day: dt.date) -> int:
        row = self.rows.get(day)
        if row is None:
            row = len(self.rows)
            cap = self.values["open"].shape[0]
            if row >= cap:
                grow = max(16, cap)
                for f in _FIELDS:
                    self.values[f] = np.vstack((self.values[f], np.full((grow, self.n), np.nan)))
            self.rows[day] = row
        return row

    def set_arrays(self, daily: DailyArrays) -> None:
        """Rows of daily store arrays (symbol index, exchange-local date, OHLCV)."""
        if not daily.rows:
            return
        rows = np.array([self._row(d) for d in daily.date.astype(object)], dtype=np.int64)
        codes = daily.symbol_index.astype(np.int64)
        for f in _FIELDS:
            self.values[f][rows, codes] = getattr(daily, f)

    def replace_day(self, day: dt.date, aggregate: _DayAggregate) -> None:
        """A finished session's aggregate replaces every symbol's row of `day`."""
        row = self._row(day)
        for f in _FIELDS:
            self.values[f][row] = np.nan
            self.values[f][row, aggregate.symbols] = getattr(aggregate, f)

    def window(self, field: str, dates: list[dt.date]) -> np.ndarray:
        """[days of `dates` known, symbol] values in date order."""
        rows = [self.rows[d] for d in sorted(dates) if d in self.rows]
        return self.values[field][rows]


class HistoricalService:
    """Computes and rolls the historical state kept in SessionData for each session."""

    def __init__(self, cfg: SessionConfig, store, tm: TimeManager, session_data, metrics):
        self.cfg = cfg
        self.store = store
        self.tm = tm
        self.sd = session_data
        self.metrics = metrics
        self.symbols = cfg.historical_symbols()
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self.intervals = [iv for iv in cfg.historical.intervals if iv != "1d"]
        self.trailing_days = cfg.historical.trailing_days
        self._daily: _DailyTable | None = None
        self._minute_days: dict[dt.date, _Day] = {}   # 1m bars of trailing days (for intraday stats)
        self._loaded_for: dt.date | None = None
        self._unread_days: set[dt.date] = set()      # daily rows from 1m bars not read yet (see prepare)
        self._minute_range = (0, 0)                  # [start, end) ns of the 1m bars the daily rows come from
        self.quality_rows: list[dict] = []
        self._offered: dict[dt.date, SessionArrays] = {}   # store reads made before the run (offer_stored_days)

    # ------------------------------------------------------------------ daily
    def prepare(self, first: dt.date, last: dt.date) -> None:
        """Read the daily history the run needs once (longest indicator period before `first`)."""
        inds = self.cfg.historical.indicators
        daily_needed = [i for i in inds if i.kind in ("avg_daily", "max", "min")]
        if not daily_needed:
            return
        earliest = min(self.tm.trailing_dates(first, i.period)[0] if self.tm.trailing_dates(first, i.period)
                       else first for i in daily_needed)
        with self.metrics.timer("historical.daily_load"):
            daily = self.store.read_daily_arrays(self.symbols, earliest, last)
            if not daily.rows:
                table = _DailyTable(len(self.symbols))
                dates = self._minute_dates(earliest, last)
                # the run's own sessions enter the table as they finish (roll_session); a day the run
                # does not roll (a session skipped or without bars) is read when a later session needs it
                self._unread_days = {d for d in dates if d >= first}
                self._add_daily_from_minutes(table, [d for d in dates if d < first])
            else:
                table = _DailyTable(len(self.symbols))
                table.set_arrays(daily)
        self._daily = table

    def _minute_dates(self, earliest: dt.date, last: dt.date) -> list[dt.date]:
        """The store has no daily bars: the trading dates of [earliest, last] whose regular-hours 1m
        bars make the daily history (`_minute_range`: between the first one's open and the last one's
        close)."""
        first = self.tm.first_trading_date_on_or_after(earliest)
        start_ns = _trading_session(self.tm, first).open_ns
        end_sess = self.tm.session(self.tm.previous_trading_date(last + dt.timedelta(days=1)))
        end_ns = end_sess.close_ns if end_sess else start_ns
        self._minute_range = (start_ns, end_ns)
        return self.tm.trading_dates(first, last) if end_ns > start_ns else []

    def _add_daily_from_minutes(self, table: _DailyTable, dates: list[dt.date]) -> None:
        """Daily OHLCV per (symbol, trading date) of `dates` from the store's regular-hours 1m bars (in
        `_minute_range`), read one date at a time as arrays: first open, highest high, lowest low,
        last close and the volume summed as pandas sums a group (the store holds no NaN volume, so
        reading the dates in several calls sums them as one call would)."""
        start_ns, end_ns = self._minute_range
        days: list[_Day] = []
        read: list[dt.date] = []
        # none before the store's first 1m date (a 52-week high over a store holding a week: ~250
        # dates the store has no file of, each a path built and looked for)
        stored = self.store.dates("1m") if dates else []
        for day in dates:
            if not stored or day < stored[0]:
                continue
            arrays = self.store.read_session_arrays(day, "1m", self.symbols, rth_only=True)
            inside = (arrays.timestamp >= start_ns) & (arrays.timestamp < end_ns)
            if not inside.all():
                arrays = type(arrays)(*(column[inside] for column in arrays))
            if arrays.rows:
                days.append(_Day.from_arrays(arrays, len(self.symbols)))
                read.append(day)
        for day, aggregate in zip(read, _aggregate_days(days), strict=True):
            row = table._row(day)
            for f in _FIELDS:
                table.values[f][row, aggregate.symbols] = getattr(aggregate, f)

    def _read_unrolled_days(self, day: dt.date) -> None:
        """Daily rows of the run's days before `day` that no finished session replaced (from the store)."""
        due = sorted(d for d in self._unread_days if d < day)
        if due and self._daily is not None:
            with self.metrics.timer("historical.daily_load"):
                self._add_daily_from_minutes(self._daily, due)
        self._unread_days.difference_update(due)

    def offer_stored_days(self, days: dict[dt.date, SessionArrays], symbols: list[str], interval: str) -> None:
        """The store's reads of some days made before the run (the indicator warm-up's: `interval`
        bars of `symbols`, rth_only=not session.extended, as `_load_minutes` reads them): the first
        session's history takes those it needs instead of reading them again; the rest are dropped
        there. Ignored unless they are this service's reads (1m bars of its symbols)."""
        if interval == "1m" and list(symbols) == self.symbols:
            self._offered = dict(days)

    # ------------------------------------------------------------------ per session
    def load_session(self, day: dt.date) -> None:
        """Set trailing bars, historical indicators and historical quality for session `day`."""
        with self.metrics.timer("historical.load"):
            trailing = self.tm.trailing_dates(day, f"{self.trailing_days}d") if self.trailing_days else []
            intraday_days = self._intraday_window(day)
            need = sorted(set(trailing) | set(intraday_days))
            missing = [d for d in need if d not in self._minute_days]
            if missing:
                self._load_minutes(missing)
            for d in list(self._minute_days):
                if d not in need:
                    del self._minute_days[d]
            self._set_trailing_bars(trailing)
            if self._unread_days:
                self._read_unrolled_days(day)
            self._historical_indicators(day, intraday_days)
            self._historical_quality(trailing)
            self._loaded_for = day
            self._offered = {}

    def needs_minutes(self) -> bool:
        """Whether finished sessions' 1m bars must be kept (trailing bars or intraday averages)."""
        return bool(self.symbols) and (self.trailing_days > 0 or any(
            i.kind == "avg_intraday" for i in self.cfg.historical.indicators) or self._daily is not None)

    def roll_session(self, day: dt.date, views: list[BarsView]) -> None:
        """Keep the finished session's 1m bars (one view per historical symbol, in `symbols` order)
        so the next session needs no reload of that day."""
        with self.metrics.timer("historical.roll"):
            self._roll(day, _Day.from_views(views))

    def _roll(self, day: dt.date, bars: _Day) -> None:
        self._minute_days[day] = bars
        if self._daily is not None and bars.size:
            self._daily.replace_day(day, _aggregate_days([_regular_part(bars, self.tm.session(day))])[0])
            self._unread_days.discard(day)

    def _intraday_window(self, day: dt.date) -> list[dt.date]:
        days: set[dt.date] = set()
        for ind in self.cfg.historical.indicators:
            if ind.kind == "avg_intraday":
                days |= set(self.tm.trailing_dates(day, ind.period))
        return sorted(days)

    def _load_minutes(self, dates: list[dt.date]) -> None:
        with self.metrics.timer("historical.minute_load"):
            for d in dates:
                sess = self.tm.session(d)
                if sess is None:
                    continue
                # the session's hours: pre/post-market too in extended hours (daily values stay regular)
                arrays = self._offered.pop(d, None)
                if arrays is None:
                    arrays = self.store.read_session_arrays(d, "1m", self.symbols, rth_only=not sess.extended)
                inside = (arrays.timestamp >= sess.start_ns) & (arrays.timestamp < sess.end_ns)
                if not inside.all():
                    arrays = type(arrays)(*(column[inside] for column in arrays))
                self._minute_days[d] = _Day.from_arrays(arrays, len(self.symbols))

    def _set_trailing_bars(self, trailing: list[dt.date]) -> None:
        """History on demand: each symbol's trailing bars are built when first read."""
        days = [self._minute_days[d] for d in trailing if d in self._minute_days and self._minute_days[d].size]
        empty = _empty_view()
        for i, sym in enumerate(self.symbols):
            for iv in self.intervals:
                if iv == "1m" and days and any(day.offsets[i + 1] > day.offsets[i] for day in days):
                    self.sd.set_historical_bars_on_demand(sym, iv, _TrailingBars(days, i))
                else:
                    self.sd.set_historical_bars(sym, iv, empty)

    def _historical_indicators(self, day: dt.date, intraday_days: list[dt.date]) -> None:
        for ind in self.cfg.historical.indicators:
            dates = self.tm.trailing_dates(day, ind.period)
            if ind.skip_early_close:
                dates = [d for d in dates if not _trading_session(self.tm, d).early_close]
            if ind.kind == "avg_intraday":
                self._avg_intraday(ind, dates, max(_trading_session(self.tm, d).minutes for d in [*dates, day]))
                continue
            daily = self._daily
            if daily is None or not daily.rows:
                self.sd.set_historical_indicators(ind.name, [float("nan")] * len(self.symbols), self.symbols)
                continue
            values = _reduce_by_symbol(daily.window(ind.field, dates), ind.kind)
            self.sd.set_historical_indicators(ind.name, [float(v) for v in values], self.symbols)

    def _avg_intraday(self, ind, dates: list[dt.date], minutes: int) -> None:
        """One mean per trading minute of a full session (`minutes` values: the longest session of the
        window, 390 on XNYS, 330 on XHKG whose lunch break is not a minute of the session), over the
        trailing days (vectorised: a [days, symbols, minutes] grid filled from each day's bars, each
        placed by its trading minute since that day's open; an early close leaves its tail NaN)."""
        days = [d for d in dates if d in self._minute_days and self._minute_days[d].size]
        grid = np.full((len(days), len(self.symbols), minutes), np.nan)
        for k, d in enumerate(days):
            bars = self._minute_days[d]
            minute = _trading_session(self.tm, d).trading_minute_index(bars.timestamp)
            rows = bars.codes()
            ok = (minute >= 0) & (minute < minutes)
            grid[k, rows[ok], minute[ok]] = getattr(bars, ind.field)[ok]
        with np.errstate(all="ignore"):
            cnt = np.sum(~np.isnan(grid), axis=0)
            mean = np.where(cnt > 0, np.nansum(grid, axis=0) / np.maximum(cnt, 1), np.nan)
        self.sd.set_historical_indicators(
            ind.name, [mean[i] if len(days) else np.full(minutes, np.nan) for i in range(len(self.symbols))],
            self.symbols)

    def _historical_quality(self, trailing: list[dt.date]) -> None:
        expected = sum(_trading_session(self.tm, d).minutes for d in trailing)
        present = np.zeros(len(self.symbols), dtype=np.int64)
        for d in trailing:
            bars = self._minute_days.get(d)
            if bars is not None:
                present += bars.counts()
        rows = []
        for i, sym in enumerate(self.symbols):
            have = int(present[i])
            pct = 100.0 if not self.cfg.historical.enable_quality or expected == 0 else 100.0 * have / expected
            rows.append({"symbol": sym, "days": len(trailing), "present": have, "expected": expected,
                         "quality_pct": pct})
        self.sd.set_historical_indicators("historical_quality_pct", [r["quality_pct"] for r in rows], self.symbols)
        self.quality_rows = rows


class _TrailingBars:
    """Builds one symbol's trailing bars from the window's days (called on first read)."""

    __slots__ = ("days", "i")

    def __init__(self, days: list[_Day], i: int):
        self.days = days
        self.i = i

    def __call__(self) -> BarsView:
        parts = [day.columns(self.i) for day in self.days]
        return BarsView(*(np.concatenate([p[k] for p in parts]) for k in range(6)))


def _reduce_by_symbol(window: np.ndarray, kind: str) -> np.ndarray:
    """Per symbol (column) of a [day, symbol] window: mean, max or min of the days with a value (NaN
    when none). The mean is pandas' grouped mean over the days in date order, as the daily history
    has always been computed."""
    n = window.shape[1]
    if not window.shape[0]:
        return np.full(n, np.nan)
    if kind in ("max", "min"):
        with np.errstate(all="ignore"):
            filled = np.where(np.isnan(window), -np.inf if kind == "max" else np.inf, window)
            out = filled.max(axis=0) if kind == "max" else filled.min(axis=0)
        return np.where(np.isnan(window).all(axis=0), np.nan, out)
    total, count = kahan_column_sums(window)
    with np.errstate(all="ignore"):
        return np.where(count > 0, total / count, np.nan)


def kahan_column_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sum, count) of each column of a [row, column] float array over its non-NaN values, summed row
    by row with Kahan compensation exactly as pandas sums and averages a group (its `group_sum` and
    `group_mean`: the same operations in the same order, so the same bits), without pandas."""
    n = values.shape[1]
    total = np.zeros(n)
    compensation = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    for row in values:
        present = ~np.isnan(row)
        with np.errstate(invalid="ignore"):
            y = row - compensation
            t = total + y
            c = t - total - y
        c[np.isnan(c)] = 0.0            # an infinite value: the compensation is NaN, pandas resets it
        total = np.where(present, t, total)
        compensation = np.where(present, c, compensation)
        count += present
    return total, count


class _DayAggregate(NamedTuple):
    """One day's daily OHLCV of the symbols (indices) that had bars that day."""

    symbols: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _aggregate_days(days: list[_Day]) -> list[_DayAggregate]:
    """Each day's daily OHLCV per symbol index (the symbols with bars) from its 1m bars: first open,
    highest high, lowest low, last close, and the volume summed as pandas sums the groups of bars
    sorted by (symbol, time) (`sorted_group_sums`: the sum the daily history has always had). The
    volume sums of all the days are one call, over the days' volumes laid out by symbol, then day."""
    haves = [np.flatnonzero(bars.counts()) for bars in days]
    starts = [bars.offsets[:-1][have] for bars, have in zip(days, haves, strict=True)]
    ends = [bars.offsets[1:][have] for bars, have in zip(days, haves, strict=True)]
    if days:
        bases = np.cumsum([0] + [bars.size for bars in days[:-1]])
        first = np.concatenate([a + base for a, base in zip(starts, bases, strict=True)])
        lengths = np.concatenate(ends) - np.concatenate(starts)
        symbol = np.concatenate(haves)
        day = np.repeat(np.arange(len(days)), [len(h) for h in haves])
        by_symbol = np.lexsort((day, symbol))                 # segments in (symbol, day) order
        n = lengths[by_symbol]
        position = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        laid_out = np.concatenate([bars.volume for bars in days])[np.repeat(first[by_symbol], n) + position]
        volumes = np.empty(len(lengths))
        volumes[by_symbol] = sorted_group_sums(laid_out, n)
    else:
        volumes = np.empty(0)
    out = []
    at = 0
    for bars, have, a, b in zip(days, haves, starts, ends, strict=True):
        k = len(have)
        if k:
            high, low = np.fmax.reduceat(bars.high, a), np.fmin.reduceat(bars.low, a)
        else:
            high = low = np.empty(0)
        out.append(_DayAggregate(have, bars.open[a], high, low, bars.close[b - 1], volumes[at:at + k]))
        at += k
    return out


def sorted_group_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sums of consecutive groups of `values` (group k: the next lengths[k] > 0 values) as
    pandas >= 3.1 sums a Series grouped by sorted codes (`Series.groupby(codes).sum()`), bit for bit:
    `np.add.reduceat` over the whole array when it holds no NaN, else each group summed in order
    with Kahan compensation over its non-NaN values (pandas' Cython `group_sum`)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if not len(lengths):
        return np.empty(0)
    starts = np.cumsum(lengths) - lengths
    if not np.isnan(values).any():
        return np.add.reduceat(values, starts)
    return kahan_segment_sums(values, starts, starts + lengths)


def kahan_segment_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """The sum of each segment values[starts[k]:ends[k]], summed in order with Kahan compensation over
    its non-NaN values exactly as pandas' grouped sum sums a group (`kahan_column_sums`: the same
    operations in the same order, so the same bits); an empty or all-NaN segment sums to 0. The
    segments are the columns of a [position, segment] grid (NaN-padded), `chunk` segments at a time."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - starts
    totals = np.zeros(len(starts))
    for first in range(0, len(starts), chunk):
        a, n = starts[first:first + chunk], lengths[first:first + chunk]
        longest = int(n.max(initial=0))
        if not longest:
            continue
        position = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        grid = np.full((longest, len(a)), np.nan)
        grid[position, np.repeat(np.arange(len(a)), n)] = values[np.repeat(a, n) + position]
        totals[first:first + chunk] = kahan_column_sums(grid)[0]
    return totals


def _empty_view() -> BarsView:
    e = np.empty(0)
    return BarsView(np.empty(0, dtype=np.int64), e, e, e, e, e)
