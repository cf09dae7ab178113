"""SessionData: the central in-memory bar store of one run (bars, metrics, quality, historical, quotes).

Storage: per interval, one block of 2-D numpy arrays [n_symbols, capacity] (timestamp int64 ns UTC =
bar START; open, high, low, close, volume float64) and a per-symbol `count`. Row s holds symbol s
(`symbols[s]`, `symbol_index[symbol]`).

Thread-safety rule (one writer per interval, many readers, readers never blocked):
- Writers of one interval serialize on that interval's lock (uncontended, so the per-bar-time
  cost is ~0.1 us); normally only one thread writes an interval (the coordinator the streamed one,
  the processor the derived ones), the lock only makes a late-bar `insert_bar` from another thread
  safe. Readers take no lock.
- Publish order: a writer fills the bar slots first and increments `count` LAST. Readers read the
  count first, then the storage, and only look at slots < count. Published slots never change
  until `clear_session`.
- Anything that moves data (block growth, `insert_bar`, `add_symbols`, `clear_session`) builds NEW
  arrays and then swaps one reference, so a reader holding old views (or an old block) keeps a
  consistent, complete picture. Blocks never shrink or drop published slots, so a count read
  before the block reference is always covered by that block.
- Readers must look up `symbol_index` before the interval state (`add_symbols` publishes the
  grown state first and the new symbols last).
- Session metrics, forming bars and the latest-bar arrays are immutable snapshots replaced as a
  whole (after the count), so a reader never sees a half-updated set. The metrics of bar times of
  every symbol are folded in when first read (under the metrics interval's lock), not per write. `latest_bar` may lag
  `bar_count` by one write for an instant, never the other way round.
- The Python mirror of the counts (`count_list`, used by the scalar readers) is replaced by a new
  list on every write, never mutated; readers' caches (latest Bar, last-N view) are keyed by the
  identity of the snapshot they were built from, so a write invalidates them without a lock.
- This relies on CPython's GIL making single reference swaps, list/dict item stores and single
  numpy element writes atomic; no reader relies on several numpy assignments being atomic together.

Hot-path CPU costs measured on a shared 2-core machine, 500 symbols (benchmarks/bench_session_data.py):
latest_bar ~0.15 us cached / ~1.8 us after a write, bar_count ~0.15 us, last_bars(20) ~0.2 us cached /
~2 us after a write, append_bars of one bar time ~130-180 us (mostly the column-wise writes into the
per-symbol rows, which touch one cache line per symbol and field).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from workstation.errors import WorkstationError
from workstation.model import Bar, parse_interval
from workstation.session.quote_bars import QuoteBar, QuoteBars
from workstation.session.storage import (
    M_HIGH,
    M_LAST,
    M_LOW,
    M_PV,
    M_VOLUME,
    BarBlock,
    FormingBlock,
    IntervalState,
    freeze,
    new_metrics,
)
from workstation.session.views import (
    BarsView,
    LatestBars,
    Quote,
    SessionMetrics,
    SessionMetricsArrays,
    as_bars_view,
    empty_bars_view,
)

logger = logging.getLogger(__name__)

_new_tuple = tuple.__new__
_MAX_DEFAULT_CAPACITY = 32768
_MIN_CAPACITY = 16
DEFAULT_QUOTE_HISTORY = 256


class UnknownSymbolError(WorkstationError, KeyError):
    """A symbol that SessionData does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownIntervalError(WorkstationError, KeyError):
    """An interval that SessionData does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BarOrderError(WorkstationError, ValueError):
    """A bar appended out of time order (a late bar must go through `insert_bar`)."""


def default_capacity(interval_seconds: int) -> int:
    """Initial bars per symbol row: 1024 for 1m, scaled by interval length, a power of two in [16, 32768]."""
    wanted = math.ceil(1024 * 60 / interval_seconds)
    cap = _MIN_CAPACITY
    while cap < wanted and cap < _MAX_DEFAULT_CAPACITY:
        cap *= 2
    return cap


def format_ns(ns: int) -> str:
    """An int ns UTC time as 'ISO (ns)' for messages."""
    try:
        iso = dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        iso = "?"
    return f"{iso} ({ns})"


class SessionData:
    """The bars, session metrics, quality, historical data and quotes of all symbols of one run."""

    def __init__(
        self,
        symbols: Sequence[str],
        intervals: Sequence[str],
        tz: str = "America/New_York",
        capacity: dict[str, int] | None = None,
        metrics_interval: str | None = None,
        quote_history: int = DEFAULT_QUOTE_HISTORY,
    ):
        names: list[str] = []
        seconds: dict[str, int] = {}
        for text in intervals:
            iv = parse_interval(text)
            if iv.name in seconds:
                raise ValueError(f"intervals: {text!r} is listed twice")
            names.append(iv.name)
            seconds[iv.name] = iv.seconds
        if not names:
            raise ValueError("intervals: give at least one interval, e.g. ['1m']")
        caps = {name: default_capacity(seconds[name]) for name in names}
        for text, cap in (capacity or {}).items():
            name = parse_interval(text).name
            if name not in caps:
                raise ValueError(f"capacity: interval {text!r} is not one of {names}")
            if int(cap) < 1:
                raise ValueError(f"capacity[{text!r}]: must be a positive bar count, got {cap!r}")
            caps[name] = int(cap)
        if metrics_interval is None:
            metrics_name = min(names, key=lambda n: seconds[n])
        else:
            metrics_name = parse_interval(metrics_interval).name
            if metrics_name not in seconds:
                raise ValueError(f"metrics_interval: {metrics_interval!r} is not one of {names}")
        if quote_history < 1:
            raise ValueError(f"quote_history: must be at least 1, got {quote_history!r}")
        syms = self._checked_new_symbols(symbols, existing=())
        if len(syms) != len(list(symbols)):
            raise ValueError(f"symbols: listed more than once in {list(symbols)}")

        self.tz = tz
        self.intervals: list[str] = names
        self.metrics_interval = metrics_name
        self.session_date: dt.date | None = None
        self.session_generation = 0
        self._seconds = seconds
        self._capacity = caps
        self._quote_history = quote_history
        self._locks = {name: threading.Lock() for name in names}
        self._admin_lock = threading.RLock()
        self._historical_lock = threading.Lock()
        n = len(syms)
        self._states: dict[str, IntervalState] = {
            name: IntervalState(
                name, seconds[name], self._locks[name], syms, caps[name], name == metrics_name
            )
            for name in names
        }
        self._metrics = self._empty_metrics(n)
        # slots [k0, k1) of the metrics interval's block, appended for every symbol at once and not yet
        # folded into `_metrics` (None: none): folded, bar by bar as they came, when the metrics are
        # read or before any other write of that interval, so a bar time of every symbol pays no
        # metrics arithmetic while nobody reads them
        self._metrics_lag: tuple[int, int] | None = None
        self._latest_quote: list[Quote | None] = [None] * n
        self._quote_rings: list[deque[Quote]] = [deque(maxlen=quote_history) for _ in range(n)]
        # quote bars (bid/ask per bar) of the replayed session, advanced by the coordinator
        self.quote_bars = QuoteBars(n, min(seconds.values()) * 1_000_000_000)
        self._historical: dict[tuple[str, str], BarsView] = {}
        # trailing bars built on first read (history on demand): (symbol, interval) -> builder
        self._historical_pending: dict[tuple[str, str], Callable[[], Any]] = {}
        self._historical_indicators: dict[str, dict[str, float | np.ndarray]] = {}
        # published by the processor stage, read by strategies (through their context): its real-time
        # indicator set (publish_indicators; updated in place per bar time) and, per interval, each
        # symbol's newest completed bar's close (NaN before the first) and start (-1), across sessions
        self.indicators: Any = None
        self.last_close: dict[str, np.ndarray] = {name: np.full(n, np.nan) for name in names}
        self.last_start: dict[str, np.ndarray] = {name: np.full(n, -1, dtype=np.int64) for name in names}
        self.symbols: list[str] = syms
        self.symbol_index: dict[str, int] = {s: i for i, s in enumerate(syms)}

    def publish_indicators(self, indicators: Any) -> None:
        """The processor's real-time indicator set (an IndicatorSet), published once when built; it is
        updated in place by the processor, between the analysis engine's reads (the pipeline orders them)."""
        self.indicators = indicators

    @staticmethod
    def _empty_metrics(n: int) -> np.ndarray:
        metrics = new_metrics(n)
        freeze(metrics)
        return metrics

    def __repr__(self) -> str:
        return (
            f"SessionData({len(self.symbols)} symbols, intervals={self.intervals}, "
            f"session_date={self.session_date}, generation={self.session_generation})"
        )

    # ------------------------------------------------------------------ lookups

    @staticmethod
    def _checked_new_symbols(symbols: Iterable[str], existing: Iterable[str]) -> list[str]:
        """Validate symbol names; return the ones not already in `existing`, in order."""
        have = set(existing)
        out: list[str] = []
        for s in symbols:
            if not isinstance(s, str) or not s.strip():
                raise ValueError(f"symbols: {s!r} is not a symbol name")
            if s in have:
                continue
            have.add(s)
            out.append(s)
        return out

    def _lookup_error(self, symbol: Any, interval: Any) -> WorkstationError:
        """The specific error for a failed (symbol, interval) lookup."""
        if symbol not in self.symbol_index:
            return UnknownSymbolError(
                f"unknown symbol {symbol!r}: SessionData holds {len(self.symbols)} symbols"
            )
        return UnknownIntervalError(f"unknown interval {interval!r}: SessionData holds {self.intervals}")

    def _index(self, symbol: str) -> int:
        try:
            return self.symbol_index[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"unknown symbol {symbol!r}: SessionData holds {len(self.symbols)} symbols"
            ) from None

    def _lock(self, interval: str) -> threading.Lock:
        try:
            return self._locks[interval]
        except KeyError:
            raise UnknownIntervalError(
                f"unknown interval {interval!r}: SessionData holds {self.intervals}"
            ) from None

    def _state(self, interval: str) -> IntervalState:
        try:
            return self._states[interval]
        except KeyError:
            raise UnknownIntervalError(
                f"unknown interval {interval!r}: SessionData holds {self.intervals}"
            ) from None

    def _indices(self, which: Any) -> np.ndarray:
        """Symbol indices from a symbol, an index, or a sequence/array of either; None means all."""
        n = len(self.symbols)
        if which is None:
            return np.arange(n, dtype=np.int64)
        if isinstance(which, str):
            return np.array([self._index(which)], dtype=np.int64)
        if isinstance(which, (int, np.integer)):
            idx = np.array([which], dtype=np.int64)
        else:
            items = which if isinstance(which, np.ndarray) else list(which)
            if len(items) and isinstance(items[0], str):
                idx = np.array([self._index(s) for s in items], dtype=np.int64)
            else:
                idx = np.asarray(items, dtype=np.int64).reshape(-1)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise UnknownSymbolError(f"symbol index {bad} out of range: SessionData holds {n} symbols")
        return idx

    @property
    def n_symbols(self) -> int:
        """Number of symbols held."""
        return len(self.symbols)

    # ------------------------------------------------------------------ writers

    def append_bars(
        self,
        interval: str,
        sym_idx: np.ndarray | Sequence[int] | None,
        ts: int | np.ndarray,
        o: Any,
        h: Any,
        l: Any,  # noqa: E741
        c: Any,
        v: Any,
    ) -> None:
        """Append one bar per listed symbol (bar START `ts`, scalar or per symbol); writer of `interval`.

        `sym_idx`: int64 symbol indices (no repeats), or None for every symbol in `symbols` order
        (the fastest path). Values are scalars or arrays aligned with the symbols. Each symbol's
        bars must come in strictly increasing time (else BarOrderError; a late bar goes through
        `insert_bar`).
        """
        lock = self._lock(interval)
        idx: np.ndarray | None = None
        if sym_idx is not None:
            idx = np.asarray(sym_idx, dtype=np.int64)
            if idx.ndim != 1:
                raise ValueError(f"append_bars({interval}): sym_idx must be 1-D, got shape {idx.shape}")
            if idx.shape[0] == 0:
                return
        scalar_ts = isinstance(ts, (int, np.integer))
        ts_vals: Any = int(ts) if scalar_ts else np.asarray(ts, dtype=np.int64)
        with lock:
            st = self._states[interval]
            n_sym = st.count.shape[0]
            sel: Any
            if idx is None or self._check_indices(idx, n_sym, interval):
                if n_sym == 0:
                    return
                idx = None  # every symbol in order: dense slices instead of fancy indexing
                sel, n = slice(None), n_sym
            else:
                sel, n = idx, idx.shape[0]
            if not scalar_ts and ts_vals.shape != (n,):
                raise ValueError(f"append_bars({interval}): ts has shape {ts_vals.shape}, expected ({n},)")
            top = st.aligned_count
            pos: np.ndarray | None
            if idx is None and scalar_ts and top >= 0 and ts_vals > st.aligned_last_ts:
                # every symbol, all at the same count and last bar start (the common bar time):
                # in order without a per-symbol check, one slot for all
                pos = None
                same_pos = True
            else:
                last = st.last_ts[sel]
                if np.count_nonzero(last >= ts_vals):
                    self._raise_order(st, sel, last, ts_vals)
                pos = st.count.copy() if idx is None else st.count[idx]
                top = int(np.maximum.reduce(pos))
                same_pos = idx is None and int(np.minimum.reduce(pos)) == top
            blk = st.block
            if top + 1 > blk.capacity:
                blk = self._grow(st, top + 1)
            values = (ts_vals, o, h, l, c, v)
            if same_pos:
                for col, value in zip(blk.columns, values, strict=True):
                    col[:, top] = value
                st.count.fill(top + 1)  # publish: count after the data
                st.count_list = [top + 1] * n_sym
            else:
                assert pos is not None
                rows = np.arange(n_sym, dtype=np.int64) if idx is None else idx
                flat = rows * blk.capacity + pos
                for col, value in zip(blk.flat, values, strict=True):
                    col[flat] = value
                pos += 1
                st.count[sel] = pos  # publish: count after the data
                st.count_list = st.count.tolist()
            st.last_ts[sel] = ts_vals
            if same_pos and scalar_ts:
                st.aligned_count, st.aligned_last_ts = top + 1, ts_vals
            else:
                st.aligned_count = -1
            if top + 1 > st.max_count:
                st.max_count = top + 1
            st.invalidate_latest()
            if st.is_metrics:
                lag = self._metrics_lag
                if same_pos and (lag is None or lag[1] == top):
                    self._metrics_lag = (top if lag is None else lag[0], top + 1)   # folded on read
                else:
                    if lag is not None:
                        self._fold_metrics_lag(st)
                    self._metrics = self._metrics_with_bars(sel, h, l, c, v)
            if idx is None:
                st.changes += 1
            else:
                st.changes[idx] += 1

    @staticmethod
    def _check_indices(idx: np.ndarray, n_symbols: int, interval: str) -> bool:
        """Reject out-of-range or repeated symbol indices (cheap when `idx` is increasing);
        True when `idx` is exactly 0..n_symbols-1."""
        increasing = idx.shape[0] < 2 or not np.count_nonzero(idx[1:] <= idx[:-1])
        if increasing:
            lo, hi = int(idx[0]), int(idx[-1])
        else:
            uniq = np.unique(idx)
            if uniq.shape[0] != idx.shape[0]:
                raise ValueError(f"append_bars({interval}): a symbol index is listed twice in sym_idx")
            lo, hi = int(uniq[0]), int(uniq[-1])
        if lo < 0 or hi >= n_symbols:
            raise UnknownSymbolError(
                f"append_bars({interval}): symbol index {lo if lo < 0 else hi} out of range "
                f"(SessionData holds {n_symbols} symbols)"
            )
        return increasing and idx.shape[0] == n_symbols

    def _raise_order(self, st: IntervalState, sel: Any, last: np.ndarray, ts_vals: Any) -> None:
        rows = np.arange(st.count.shape[0])[sel]
        ts_arr = np.broadcast_to(np.asarray(ts_vals, dtype=np.int64), rows.shape)
        k = int(np.flatnonzero(last >= ts_arr)[0])
        symbol = self.symbols[int(rows[k])]
        raise BarOrderError(
            f"{symbol} {st.name}: bar at {format_ns(int(ts_arr[k]))} is not after the last bar at "
            f"{format_ns(int(last[k]))}; use insert_bar for a late bar"
        )

    def _grow(self, st: IntervalState, need: int) -> BarBlock:
        """Replace the interval's block by one with doubled capacity (old views stay valid)."""
        cap = st.block.capacity
        while cap < need:
            cap *= 2
        logger.debug(
            "SessionData %s: growing block %d -> %d bars per symbol", st.name, st.block.capacity, cap
        )
        blk = st.block.copy_to(st.block.n_symbols, cap, st.max_count)
        st.block = blk
        return blk

    def _fold_metrics_lag(self, st: IntervalState) -> None:
        """Fold the lagging slots of the metrics interval (`st`, its lock held) into `_metrics`, one
        bar time after the other with the arithmetic of the write itself (the same values)."""
        lag = self._metrics_lag
        if lag is None:
            return
        _, _, high, low, close, volume = st.block.columns
        for k in range(lag[0], lag[1]):
            self._metrics = self._metrics_with_bars(slice(None), high[:, k], low[:, k], close[:, k], volume[:, k])
        self._metrics_lag = None

    def _current_metrics(self) -> np.ndarray:
        """`_metrics` with every bar written so far (folds a lag under the metrics interval's lock)."""
        if self._metrics_lag is not None:
            with self._lock(self.metrics_interval):
                self._fold_metrics_lag(self._states[self.metrics_interval])
        return self._metrics

    def _metrics_with_bars(self, sel: Any, h: Any, l: Any, c: Any, v: Any) -> np.ndarray:  # noqa: E741
        """A new read-only metrics array with one more bar for each selected symbol."""
        h = np.asarray(h, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        if type(sel) is slice:
            # every symbol: the new rows computed out of place (no copy of the old array first)
            old = self._metrics
            m = np.empty_like(old)
            np.add(old[0], v, out=m[0])
            np.fmax(old[1], h, out=m[1])
            np.fmin(old[2], l, out=m[2])
            m[3] = c
            np.add(old[4], (h + l + c) * (1.0 / 3.0) * v, out=m[4])
            m.flags.writeable = False
            return m
        m = self._metrics.copy()
        volume, high, low, last, pv = m
        volume[sel] += v
        pv[sel] += (h + l + c) * (1.0 / 3.0) * v
        high[sel] = np.fmax(high[sel], h)
        low[sel] = np.fmin(low[sel], l)
        last[sel] = c
        m.flags.writeable = False
        return m

    def append_bar(
        self,
        symbol: str,
        interval: str,
        ts: int,
        o: float,
        h: float,
        l: float,  # noqa: E741
        c: float,
        v: float,
    ) -> None:
        """Append one bar of one symbol (scalar convenience of `append_bars`)."""
        i = self._index(symbol)
        with self._lock(interval):
            st = self._states[interval]
            ts = int(ts)
            last = int(st.last_ts[i])
            if ts <= last:
                raise BarOrderError(
                    f"{symbol} {st.name}: bar at {format_ns(ts)} is not after the last bar at "
                    f"{format_ns(last)}; use insert_bar for a late bar"
                )
            self._append_one(st, i, ts, o, h, l, c, v)

    def _append_one(
        self,
        st: IntervalState,
        i: int,
        ts: int,
        o: float,
        h: float,
        l: float,  # noqa: E741
        c: float,
        v: float,
    ) -> int:
        """Write one in-order bar of symbol `i` (caller holds the interval lock); returns its index."""
        pos = st.count_list[i]
        blk = st.block
        if pos + 1 > blk.capacity:
            blk = self._grow(st, pos + 1)
        j = i * blk.capacity + pos
        cols = blk.flat
        cols[0][j] = ts
        cols[1][j] = o
        cols[2][j] = h
        cols[3][j] = l
        cols[4][j] = c
        cols[5][j] = v
        st.count[i] = pos + 1  # publish: count after the data
        st.aligned_count = -1
        counts = st.count_list.copy()  # a new list object per write (readers' cache key)
        counts[i] = pos + 1
        st.count_list = counts
        st.last_ts[i] = ts
        if pos + 1 > st.max_count:
            st.max_count = pos + 1
        st.invalidate_latest()
        if st.is_metrics:
            self._fold_metrics_lag(st)
            h, l, c, v = float(h), float(l), float(c), float(v)  # noqa: E741
            m = self._metrics.copy()
            high, low = m.item(M_HIGH, i), m.item(M_LOW, i)
            m[M_VOLUME, i] = m.item(M_VOLUME, i) + v
            m[M_PV, i] = m.item(M_PV, i) + (h + l + c) * (1.0 / 3.0) * v
            m[M_HIGH, i] = high if high >= h else h  # NaN (no bar yet) compares False
            m[M_LOW, i] = low if low <= l else l
            m[M_LAST, i] = c
            m.flags.writeable = False
            self._metrics = m
        st.changes[i] += 1
        return pos

    def insert_bar(
        self,
        symbol: str,
        interval: str,
        ts: int,
        o: float,
        h: float,
        l: float,  # noqa: E741
        c: float,
        v: float,
    ) -> int:
        """Place a LATE bar in time order (same start replaces the values); returns its index.

        Copy-on-write: builds a new block with the changed row and publishes it with one swap, so
        readers never see a torn row. Costs a copy of the interval's used storage (rare: live gap fill).
        """
        i = self._index(symbol)
        with self._lock(interval):
            st = self._states[interval]
            if st.is_metrics:
                self._fold_metrics_lag(st)       # (from the block before the late bar moves a row)
            ts = int(ts)
            count = st.count_list[i]
            old = st.block
            row_ts = old.columns[0][i, :count]
            k = int(row_ts.searchsorted(ts))
            if k == count:
                return self._append_one(st, i, ts, o, h, l, c, v)
            replace = int(row_ts[k]) == ts
            new_count = count if replace else count + 1
            cap = old.capacity
            while cap < new_count:
                cap *= 2
            blk = old.copy_to(old.n_symbols, cap, st.max_count)
            for src, dst, value in zip(old.columns, blk.columns, (ts, o, h, l, c, v), strict=True):
                if not replace:
                    dst[i, k + 1 : count + 1] = src[i, k:count]
                dst[i, k] = value
            st.block = blk
            st.count[i] = new_count  # publish: block first, then count
            st.aligned_count = -1
            counts = st.count_list.copy()
            counts[i] = new_count
            st.count_list = counts
            if new_count > st.max_count:
                st.max_count = new_count
            st.invalidate_latest()
            if st.is_metrics:
                self._metrics = self._metrics_recomputed(i, blk, new_count)
            st.changes[i] += 1
            logger.debug("SessionData %s %s: inserted late bar %s at %d", symbol, st.name, format_ns(ts), k)
            return k

    def _metrics_recomputed(self, i: int, blk: BarBlock, count: int) -> np.ndarray:
        """A new read-only metrics array with symbol `i` recomputed from its stored bars."""
        m = self._metrics.copy()
        _, _, high, low, close, volume = (col[i, :count] for col in blk.columns)
        vol = float(volume.sum())
        pv = float(((high + low + close) * (1.0 / 3.0) * volume).sum())
        m[M_VOLUME, i] = vol
        m[M_PV, i] = pv
        m[M_HIGH, i] = np.nanmax(high)
        m[M_LOW, i] = np.nanmin(low)
        m[M_LAST, i] = close[count - 1]
        m.flags.writeable = False
        return m

    def set_forming(
        self,
        interval: str,
        sym_idx: Any,
        ts: int | np.ndarray,
        o: Any,
        h: Any,
        l: Any,  # noqa: E741
        c: Any,
        v: Any,
    ) -> None:
        """Set the forming (partial, not yet complete) bar of the listed symbols; writer of `interval`."""
        idx = self._indices(sym_idx)
        with self._lock(interval):
            st = self._states[interval]
            f = st.forming.copy()
            for col, value in zip(f.columns, (ts, o, h, l, c, v), strict=True):
                col[idx] = value
            f.present[idx] = True
            st.forming = f
            st.changes[idx] += 1

    def publish_forming(
        self, interval: str, ts: int, present: np.ndarray, o: np.ndarray, h: np.ndarray, l: np.ndarray,  # noqa: E741
        c: np.ndarray, v: np.ndarray, changed: np.ndarray | None = None,
    ) -> None:
        """Replace the forming bars of every symbol at once (the processor's per-bar-time path).

        All symbols share the forming bucket start `ts`; arrays span every symbol (`present` marks
        those with a forming bar). The arrays are kept, not copied: the caller must never write into
        them afterwards (the processor's DerivedBarBuilder replaces its arrays instead), so a reader in
        any thread sees exactly the values of this call until the next one, at no copy per bar time.
        `changed` (symbol indices, no repeats) bumps their change counters."""
        st = self._states[interval]
        previous = st.forming
        f = FormingBlock.__new__(FormingBlock)
        f.present = present
        f.start = ts
        # the same `present` array (never written into once published) and start: the same timestamps
        timestamps = (previous.columns[0] if previous.present is present and previous.start == ts
                      else np.where(present, np.int64(ts), np.int64(-1)))
        f.columns = (timestamps, o, h, l, c, v)
        st.forming = f
        if changed is not None:
            if changed.shape[0] == st.changes.shape[0]:    # every symbol (indices never repeat)
                st.changes += 1
            else:
                st.changes[changed] += 1

    def publish_quality(self, intervals: Sequence[str], pct: np.ndarray) -> None:
        """Replace the quality of every symbol for these intervals by `pct` (one value per symbol, in
        percent). The array is shared and must not be modified afterwards (the quality manager
        publishes a new array each time)."""
        for interval in intervals:
            self._states[interval].quality = pct

    def clear_forming(self, interval: str, sym_idx: Any = None) -> None:
        """Drop the forming bar of the listed symbols (all when None), e.g. when it completed."""
        if sym_idx is None:                 # every symbol (a derived bar completed): a fresh empty block
            with self._lock(interval):
                st = self._states[interval]
                st.forming = st.empty_forming
                st.changes += 1
            return
        idx = self._indices(sym_idx)
        with self._lock(interval):
            st = self._states[interval]
            f = st.forming.copy()
            f.present[idx] = False
            f.columns[0][idx] = -1
            for col in f.columns[1:]:
                col[idx] = np.nan
            st.forming = f
            st.changes[idx] += 1

    # ------------------------------------------------------------------ readers

    def bar_count(self, symbol: str, interval: str) -> int:
        """Number of session bars of (symbol, interval)."""
        try:
            return self._states[interval].count_list[self.symbol_index[symbol]]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None

    def bar_counts(self, interval: str) -> np.ndarray:
        """Session bar counts of all symbols (a copy), indexed like `symbols`."""
        return self._state(interval).count.copy()

    def latest_bar(self, symbol: str, interval: str) -> Bar | None:
        """The last complete session bar of (symbol, interval), or None before the first one.

        Cached per (symbol, interval): the Bar is rebuilt only after the interval's latest-bar
        snapshot was replaced by a write, so repeated reads cost a few dict look-ups.
        """
        try:
            st = self._states[interval]
            entry = st.latest_cache[symbol]
        except KeyError:
            return self._latest_bar_built(symbol, interval)
        if entry[0] is st.latest:
            return entry[1]
        return self._latest_bar_built(symbol, interval)

    def _latest_bar_built(self, symbol: str, interval: str) -> Bar | None:
        """Build (and cache) the latest Bar from the interval's current latest-bar snapshot."""
        try:
            i = self.symbol_index[symbol]
            st = self._states[interval]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None
        snapshot = st.latest
        ts_arr, values = snapshot
        ts = ts_arr.item(i)
        bar = None if ts < 0 else _new_tuple(Bar, (symbol, st.name, ts, *values[:, i].tolist()))
        st.latest_cache[symbol] = (snapshot, bar)
        return bar

    def last_bars(self, symbol: str, interval: str, n: int) -> BarsView:
        """Zero-copy read-only views of the last min(n, count) session bars.

        The view last built per (symbol, interval) is reused until the interval is written again.
        """
        try:
            st = self._states[interval]
            entry = st.view_cache[symbol]
        except KeyError:
            return self._last_bars_built(symbol, interval, n)
        if entry[0] is st.count_list and entry[1] == n:
            return entry[2]
        return self._last_bars_built(symbol, interval, n)

    def _last_bars_built(self, symbol: str, interval: str, n: int) -> BarsView:
        """Build (and cache) the view of the last `n` bars."""
        try:
            i = self.symbol_index[symbol]
            st = self._states[interval]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None
        counts = st.count_list
        c = counts[i]
        blk = st.block
        r = blk.rows[i]
        if r is None:
            r = blk.row(i)
        lo = c - n if c > n else 0
        if lo > c:
            lo = c
        view = _new_tuple(BarsView, (r[0][lo:c], r[1][lo:c], r[2][lo:c], r[3][lo:c], r[4][lo:c], r[5][lo:c]))
        st.view_cache[symbol] = (counts, n, view)
        return view

    def bars(self, symbol: str, interval: str) -> BarsView:
        """Zero-copy read-only views of all session bars of (symbol, interval)."""
        try:
            i = self.symbol_index[symbol]
            st = self._states[interval]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None
        c = st.count_list[i]
        r = st.block.row(i)
        return _new_tuple(BarsView, (r[0][:c], r[1][:c], r[2][:c], r[3][:c], r[4][:c], r[5][:c]))

    def bars_since(self, symbol: str, interval: str, ts_ns: int) -> BarsView:
        """Session bars whose START is >= `ts_ns` (binary search; zero-copy views)."""
        try:
            i = self.symbol_index[symbol]
            st = self._states[interval]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None
        c = st.count_list[i]
        r = st.block.row(i)
        lo = int(r[0][:c].searchsorted(ts_ns))
        return _new_tuple(BarsView, (r[0][lo:c], r[1][lo:c], r[2][lo:c], r[3][lo:c], r[4][lo:c], r[5][lo:c]))

    def bars_between(self, symbol: str, interval: str, start_ns: int, end_ns: int) -> BarsView:
        """Session bars whose START lies in [start_ns, end_ns) (zero-copy views)."""
        try:
            i = self.symbol_index[symbol]
            st = self._states[interval]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None
        c = st.count_list[i]
        r = st.block.row(i)
        ts = r[0][:c]
        lo = int(ts.searchsorted(start_ns))
        hi = max(lo, int(ts.searchsorted(end_ns)))
        return _new_tuple(
            BarsView, (r[0][lo:hi], r[1][lo:hi], r[2][lo:hi], r[3][lo:hi], r[4][lo:hi], r[5][lo:hi])
        )

    def latest_bars(self, symbols: Sequence[str] | np.ndarray | None, interval: str) -> LatestBars:
        """Latest bar of many symbols at once (None = all; an int array is taken as symbol indices)."""
        if symbols is None:
            st = self._state(interval)
            idx = np.arange(st.count.shape[0], dtype=np.int64)
        else:
            if isinstance(symbols, np.ndarray) and symbols.dtype.kind in "iu":
                idx = self._indices(symbols)
            else:
                try:
                    idx = np.fromiter(map(self.symbol_index.__getitem__, symbols), dtype=np.int64)
                except KeyError as e:
                    raise UnknownSymbolError(
                        f"unknown symbol {e.args[0]!r}: SessionData holds {len(self.symbols)} symbols"
                    ) from None
            st = self._state(interval)
        lts, lvals = st.latest  # one immutable snapshot
        if symbols is None:
            return LatestBars(idx, lts.copy(), *lvals.copy())
        return LatestBars(idx, lts[idx], *lvals[:, idx])

    def forming_bar(self, symbol: str, interval: str) -> Bar | None:
        """The forming (partial) bar of (symbol, interval), or None."""
        try:
            i = self.symbol_index[symbol]
            st = self._states[interval]
        except KeyError:
            raise self._lookup_error(symbol, interval) from None
        f = st.forming
        if not f.present[i]:
            return None
        cols = f.columns
        return Bar(
            symbol,
            st.name,
            cols[0].item(i),
            cols[1].item(i),
            cols[2].item(i),
            cols[3].item(i),
            cols[4].item(i),
            cols[5].item(i),
        )

    # ------------------------------------------------------------------ session metrics

    def session_metrics(self, symbol: str) -> SessionMetrics:
        """Volume, high, low, last price and VWAP of `symbol` this session (streamed interval)."""
        try:
            i = self.symbol_index[symbol]
        except KeyError:
            raise self._lookup_error(symbol, None) from None
        volume, high, low, last, pv = self._current_metrics()[:, i].tolist()
        return _new_tuple(SessionMetrics, (volume, high, low, last, pv / volume if volume > 0 else math.nan))

    def session_metrics_arrays(self) -> SessionMetricsArrays:
        """Session metrics of all symbols as read-only arrays (one consistent snapshot)."""
        m = self._current_metrics()
        volume = m[M_VOLUME]
        vwap = np.full(volume.shape, np.nan)
        np.divide(m[M_PV], volume, out=vwap, where=volume > 0)
        vwap.flags.writeable = False
        return SessionMetricsArrays(volume, m[M_HIGH], m[M_LOW], m[M_LAST], vwap)

    # ------------------------------------------------------------------ quality

    def set_quality(self, interval: str, sym_idx_or_symbol: Any, pct: float | np.ndarray) -> None:
        """Set bar quality (percent 0..100) of the listed symbols for `interval`."""
        idx = self._indices(sym_idx_or_symbol)
        values = np.asarray(pct, dtype=np.float64)
        if values.size and (np.isnan(values).any() or (values < 0).any() or (values > 100).any()):
            raise ValueError(f"set_quality({interval}): quality must be a percent in [0, 100], got {pct!r}")
        self._state(interval).quality[idx] = values

    def quality(self, symbol: str, interval: str) -> float:
        """Bar quality percent of (symbol, interval); 100.0 until measured."""
        try:
            return self._states[interval].quality.item(self.symbol_index[symbol])
        except KeyError:
            raise self._lookup_error(symbol, interval) from None

    def quality_array(self, interval: str) -> np.ndarray:
        """Bar quality percent of all symbols for `interval` (a copy)."""
        return self._state(interval).quality.copy()

    # ------------------------------------------------------------------ change counters

    def change_counter(self, symbol: str, interval: str) -> int:
        """A number that grows on every write to (symbol, interval): append, insert, forming, clear."""
        try:
            return self._states[interval].changes.item(self.symbol_index[symbol])
        except KeyError:
            raise self._lookup_error(symbol, interval) from None

    def counters(self, interval: str) -> np.ndarray:
        """A snapshot (copy) of the change counters of all symbols for `interval`."""
        return self._state(interval).changes.copy()

    def changes_since(self, interval: str, counters_snapshot: np.ndarray) -> np.ndarray:
        """Indices of the symbols whose (symbol, interval) changed since `counters_snapshot`."""
        now = self._state(interval).changes.copy()
        snap = np.asarray(counters_snapshot, dtype=np.int64)
        k = min(snap.shape[0], now.shape[0])
        changed = np.empty(now.shape[0], dtype=bool)
        changed[:k] = now[:k] != snap[:k]
        changed[k:] = now[k:] > 0
        return np.flatnonzero(changed)

    # ------------------------------------------------------------------ quotes

    def append_quote(
        self,
        symbol: str,
        ts: int,
        bid: float,
        ask: float,
        bid_size: float = math.nan,
        ask_size: float = math.nan,
    ) -> None:
        """Record a quote of `symbol` (kept in a small per-symbol ring of recent quotes)."""
        i = self._index(symbol)
        q = Quote(int(ts), float(bid), float(ask), float(bid_size), float(ask_size))
        self._quote_rings[i].append(q)
        self._latest_quote[i] = q

    def latest_quote(self, symbol: str) -> Quote | None:
        """The last quote of `symbol` this session, or None."""
        return self._latest_quote[self._index(symbol)]

    def latest_quote_bar(self, symbol: str) -> QuoteBar | None:
        """The latest completed quote bar (bid/ask OHLC and sizes) of `symbol` this session, or None
        (no quote bars streamed, or none yet)."""
        return self.quote_bars.latest_bar(self._index(symbol))

    def quotes(self, symbol: str) -> list[Quote]:
        """The recent quotes of `symbol` (oldest first, at most `quote_history`)."""
        return list(self._quote_rings[self._index(symbol)])

    # ------------------------------------------------------------------ historical

    def _historical_key(self, symbol: str, interval: str) -> tuple[str, str]:
        self._index(symbol)
        return symbol, parse_interval(interval).name

    def set_historical_bars(self, symbol: str, interval: str, frame: Any) -> BarsView:
        """Store the trailing historical bars of (symbol, interval) (copied, read-only); returns them."""
        key = self._historical_key(symbol, interval)
        view = as_bars_view(frame, f"historical bars of {symbol} {key[1]}")
        with self._historical_lock:
            self._historical_pending.pop(key, None)
            self._historical[key] = view
        return view

    def set_historical_bars_on_demand(self, symbol: str, interval: str, build: Callable[[], Any]) -> None:
        """Store how to build the trailing historical bars of (symbol, interval): `build()` (returning
        BarsView-like columns) runs on the first `historical_bars` read, in the reader's thread, and
        its bars are kept (copied, read-only) until replaced. Bars nobody reads are never built."""
        key = self._historical_key(symbol, interval)
        with self._historical_lock:
            self._historical.pop(key, None)
            self._historical_pending[key] = build

    def historical_bars(self, symbol: str, interval: str) -> BarsView:
        """The historical bars of (symbol, interval); empty when none were loaded."""
        view = self._historical.get((symbol, interval))
        if view is None:
            key = self._historical_key(symbol, interval)
            view = self._historical.get(key)
            if view is None and key in self._historical_pending:
                view = self._build_pending_historical(key)
        return view if view is not None else empty_bars_view()

    def _build_pending_historical(self, key: tuple[str, str]) -> BarsView | None:
        with self._historical_lock:
            view = self._historical.get(key)
            build = self._historical_pending.pop(key, None)
            if view is None and build is not None:
                view = as_bars_view(build(), f"historical bars of {key[0]} {key[1]}")
                self._historical[key] = view
            return view

    def historical_intervals(self, symbol: str) -> list[str]:
        """Intervals with historical bars stored for `symbol`."""
        keys = set(self._historical) | set(self._historical_pending)
        return sorted((iv for s, iv in keys if s == symbol), key=lambda n: parse_interval(n))

    def roll_historical(
        self, symbol: str, interval: str, new_day_bars: Any, keep_days_from_ns: int
    ) -> BarsView:
        """Append a finished session's bars to the historical bars and drop bars starting before
        `keep_days_from_ns` (the first bar time of the trailing window); returns the new bars.

        Stored bars at or after the first new bar are replaced by the new ones.
        """
        key = self._historical_key(symbol, interval)
        new = as_bars_view(new_day_bars, f"new day bars of {symbol} {key[1]}")
        if key in self._historical_pending:
            self._build_pending_historical(key)
        with self._historical_lock:
            old = self._historical.get(key)
            if old is None:
                old = empty_bars_view()
            cut = int(old.timestamp.searchsorted(new.timestamp[0])) if new.size else old.size
            merged = []
            for a, b in zip(old, new, strict=True):
                joined = np.concatenate((a[:cut], b))
                merged.append(joined)
            start = int(merged[0].searchsorted(int(keep_days_from_ns)))
            cols = []
            for arr in merged:
                kept = np.ascontiguousarray(arr[start:])
                kept.flags.writeable = False
                cols.append(kept)
            view = BarsView(*cols)
            self._historical[key] = view
        return view

    def roll_session_into_historical(
        self, interval: str, keep_days_from_ns: int, symbols: Sequence[str] | None = None
    ) -> int:
        """Roll this session's bars of `interval` into each symbol's historical bars (call before
        `clear_session`); returns the number of session bars added."""
        added = 0
        for symbol in list(self.symbols) if symbols is None else symbols:
            day = self.bars(symbol, interval)
            self.roll_historical(symbol, interval, day, keep_days_from_ns)
            added += day.size
        return added

    def set_historical_indicators(self, name: str, values: Sequence[float | np.ndarray],
                                  symbols: Sequence[str] | None = None) -> None:
        """Store historical indicator `name` of many symbols at once (`values[k]` of `symbols[k]`,
        default every symbol); like `set_historical_indicator` for each."""
        symbols = list(self.symbols) if symbols is None else list(symbols)
        if len(values) != len(symbols):
            raise ValueError(f"set_historical_indicators({name}): {len(values)} values for {len(symbols)} symbols")
        if not name:
            raise ValueError("set_historical_indicators: indicator name is empty")
        stored_values = []
        for symbol, value in zip(symbols, values, strict=True):
            self._index(symbol)
            stored_values.append(_indicator_value(value))
        with self._historical_lock:
            updated = dict(self._historical_indicators)
            for symbol, stored in zip(symbols, stored_values, strict=True):
                per_symbol = dict(updated.get(symbol, {}))
                per_symbol[name] = stored
                updated[symbol] = per_symbol
            self._historical_indicators = updated

    def set_historical_indicator(self, symbol: str, name: str, value: float | np.ndarray) -> None:
        """Store a historical indicator of `symbol` (e.g. 'avg_volume_10d'); arrays are copied read-only."""
        self._index(symbol)
        if not name:
            raise ValueError(f"set_historical_indicator({symbol}): indicator name is empty")
        stored = _indicator_value(value)
        with self._historical_lock:
            per_symbol = dict(self._historical_indicators.get(symbol, {}))
            per_symbol[name] = stored
            self._historical_indicators[symbol] = per_symbol

    def historical_indicator(self, symbol: str, name: str) -> float | np.ndarray | None:
        """A historical indicator of `symbol`, or None when not computed."""
        per_symbol = self._historical_indicators.get(symbol)
        if per_symbol is None:
            self._index(symbol)
            return None
        return per_symbol.get(name)

    def historical_indicators(self, symbol: str) -> dict[str, float | np.ndarray]:
        """All historical indicators of `symbol` (a new dict)."""
        self._index(symbol)
        return dict(self._historical_indicators.get(symbol, {}))

    def historical_indicator_names(self) -> list[str]:
        """Names of the historical indicators stored for any symbol, sorted."""
        return sorted({name for d in list(self._historical_indicators.values()) for name in d})

    def clear_historical(self) -> None:
        """Forget all historical bars and indicators (e.g. before loading a new window from scratch)."""
        with self._historical_lock:
            self._historical = {}
            self._historical_pending = {}
            self._historical_indicators = {}

    # ------------------------------------------------------------------ lifecycle

    def _acquire_all(self) -> list[threading.Lock]:
        locks = [self._locks[name] for name in self.intervals]
        for lock in locks:
            lock.acquire()
        return locks

    def clear_session(self) -> None:
        """Drop session bars, forming bars, metrics, quality (back to 100) and quotes; keep historical.

        Fresh storage is allocated (old views stay valid); change counters all move on by one;
        `session_generation` increases.
        """
        with self._admin_lock:
            locks = self._acquire_all()
            try:
                n = len(self.symbols)
                new_states = {}
                for name, st in self._states.items():
                    new_states[name] = IntervalState(
                        name,
                        st.seconds,
                        st.lock,
                        self.symbols,
                        st.block.capacity,
                        st.is_metrics,
                        changes=st.changes + 1,
                    )
                self._states = new_states
                self._metrics = self._empty_metrics(n)
                self._metrics_lag = None
                self._latest_quote = [None] * n
                self._quote_rings = [deque(maxlen=self._quote_history) for _ in range(n)]
                self.quote_bars.clear()
                self.session_generation += 1
            finally:
                for lock in locks:
                    lock.release()
        logger.debug("SessionData cleared (generation %d)", self.session_generation)

    def add_symbols(self, symbols: Sequence[str]) -> list[int]:
        """Add symbols (already held ones are skipped); returns the indices of all given symbols."""
        with self._admin_lock:
            new = self._checked_new_symbols(symbols, existing=self.symbol_index)
            if new:
                locks = self._acquire_all()
                try:
                    self._extend(new)
                finally:
                    for lock in locks:
                        lock.release()
            return [self.symbol_index[s] for s in symbols]

    def _extend(self, new: list[str]) -> None:
        """Grow every per-symbol structure by `new` symbols (caller holds all locks)."""
        n_old = len(self.symbols)
        n = n_old + len(new)
        self._fold_metrics_lag(self._states[self.metrics_interval])
        new_states = {}
        for name, st in self._states.items():
            changes = np.zeros(n, dtype=np.int64)
            changes[:n_old] = st.changes
            ns = IntervalState(
                name,
                st.seconds,
                st.lock,
                self.symbols + new,
                st.block.capacity,
                st.is_metrics,
                changes=changes,
            )
            ns.block = st.block.copy_to(n, st.block.capacity, st.max_count)
            ns.count[:n_old] = st.count
            ns.count_list = ns.count.tolist()
            ns.max_count = st.max_count
            ns.aligned_count = -1
            ns.last_ts[:n_old] = st.last_ts
            ns.forming = st.forming.copy(n)
            ns.quality[:n_old] = st.quality
            new_states[name] = ns
        self._states = new_states
        metrics = new_metrics(n, self._metrics)
        freeze(metrics)
        self._metrics = metrics
        self._latest_quote = self._latest_quote + [None] * len(new)
        self._quote_rings = self._quote_rings + [deque(maxlen=self._quote_history) for _ in new]
        self.quote_bars.resize(n)
        symbols = self.symbols + new
        index = dict(self.symbol_index)
        for k, s in enumerate(new):
            index[s] = n_old + k
        self.symbols = symbols
        self.symbol_index = index  # published last: readers look it up first


def _indicator_value(value: float | np.ndarray) -> float | np.ndarray:
    """A historical indicator value as stored: arrays (and lists) copied read-only, scalars as float."""
    if isinstance(value, (np.ndarray, list, tuple)):
        array = np.array(value, dtype=np.float64, copy=True)
        array.flags.writeable = False
        return array
    return float(value)


__all__ = [
    "BarOrderError",
    "SessionData",
    "UnknownIntervalError",
    "UnknownSymbolError",
    "default_capacity",
]

