"""DataProcessor: derived bars (5m, 15m, ...) and real-time indicators, incrementally, per bar time.

Runs in its own thread (or in the coordinator's, single-threaded), given its events by the Pipeline
(never polls). For every bar time (BarTime) it receives the streamed bars of all symbols with a bar
at that time (index arrays, no per-symbol Python), folds
them into the forming derived bar of each interval, completes derived bars whose end the clock has
reached (anchored at the session open in the exchange zone and cut at the close, so an early close
ends the last bar early; on exchanges with a lunch break also anchored at the break's end and cut
at its start), updates the indicators of every (interval, spec) and hands the analysis stage a
ProcessedBars event through its output (it never sees that stage). Indicators are continuous across
sessions (VWAP resets at each open).

Every completed derived bar reaches the strategies exactly once, in time order, with the indicators
stepped between two bars: on thin data a bar time can complete two bars of one interval (the
forming bar, whose end passed while no bar came, and the new bar, when the bar time is its last
minute). The older ones are written and handed on first (ProcessedBars with the bar time's fills and
streamed-interval strategies, waited for), and only then are the newer ones written (CompletedBars).
"""

from __future__ import annotations

import itertools
import logging
from bisect import bisect_right
from collections.abc import Iterable

import numpy as np

from workstation.calendar import session_slot_bounds
from workstation.events import Bars
from workstation.indicators import Indicator, input_fields, make_indicator
from workstation.indicators.block import WarmupBlock
from workstation.indicators.price_grid import PriceGrid
from workstation.model import parse_interval
from workstation.pipeline.stage import Handler, Stage
from workstation.pipeline.stage_events import (
    BarTime,
    CompletedBars,
    ProcessedBars,
    Revise,
    Revised,
    SessionEnd,
    SessionStart,
    WarmUp,
    WarmupBars,
)

log = logging.getLogger(__name__)

_FIELD_POS = {"open": 0, "high": 1, "low": 2, "close": 3, "volume": 4}


class IndicatorSet:
    """Every real-time indicator of the run: one vectorised bank per (interval, spec), and the
    price grid (decimals per symbol) of every close fed to them."""

    def __init__(self, n_symbols: int):
        self.n_symbols = n_symbols
        self.price_grid = PriceGrid(n_symbols)
        self._banks: dict[tuple[str, str], Indicator] = {}
        self._by_spec: dict[tuple[str, str], Indicator] = {}   # (interval, spec as asked) -> bank
        self._by_interval: dict[str, list[tuple[Indicator, tuple[int, ...], bool]]] = {}

    def add(self, interval: str, spec: str) -> Indicator:
        key = (interval, _norm(spec))
        bank = self._banks.get(key)
        if bank is None:
            bank = make_indicator(spec, lanes=self.n_symbols)
            self._banks[key] = bank
            fields = tuple(_FIELD_POS[f] for f in input_fields(spec))
            session_reset = key[1].startswith("vwap")
            self._by_interval.setdefault(interval, []).append((bank, fields, session_reset))
        return bank

    def get(self, interval: str, spec: str) -> Indicator:
        bank = self._by_spec.get((interval, spec))       # as asked before: no normalisation per call
        if bank is not None:
            return bank
        try:
            bank = self._by_spec[(interval, spec)] = self._banks[(interval, _norm(spec))]
            return bank
        except KeyError:
            known = ", ".join(f"{i}:{s}" for i, s in self._banks) or "none"
            raise KeyError(
                f"indicator {spec!r} on {interval!r} is not kept; add it to streams.indicators or to the "
                f"strategy's required_indicators() (kept: {known})"
            ) from None

    def specs(self) -> list[tuple[str, str]]:
        return list(self._banks)

    def warmup_needed(self, interval: str) -> int:
        """Inputs the slowest indicator kept on `interval` needs before it is ready (0: none kept)."""
        return max((bank.warmup for bank, _, _ in self._by_interval.get(interval, ())), default=0)

    def update(self, interval: str, idx: np.ndarray, columns: tuple[np.ndarray, ...], observe: bool = True,
               every_lane: bool = False) -> None:
        """Feed one bar per listed symbol (columns = open, high, low, close, volume arrays); `observe`
        False: their closes are known to the price grid already (a derived bar's close is a streamed
        one, or the feed worked out what they add: BarTime.decimal_raises); `every_lane`: `idx` is
        every symbol in order (0..n-1), so a bank may update its lanes as a whole."""
        if observe:
            self.price_grid.observe(idx, columns[3])
        lanes = None if every_lane else idx
        for bank, fields, _ in self._by_interval.get(interval, ()):
            if len(fields) == 1:                 # (most indicators: the close) no generator per bar time
                bank.update(columns[fields[0]], lanes=lanes)
            else:
                bank.update(*(columns[f] for f in fields), lanes=lanes)

    def warm_up(self, blocks: Iterable[WarmupBars]) -> None:
        """Feed the bars before the run's first session (each interval's oldest first), then restart
        VWAP: the same state as `update` per bar time and `session_reset`, bit for bit, but each bank
        is fed every bar of its interval in one go (`Indicator.warm_up`), and the session-reset banks
        (VWAP) are not fed at all, since the reset gives them their fresh state whatever they were
        fed. The price grid takes every close at once (a lane's decimals are the most any of its
        prices needs, whatever the order)."""
        by_interval: dict[str, list[WarmupBars]] = {}
        for bars in blocks:
            by_interval.setdefault(bars.interval, []).append(bars)
        every = [bars for parts in by_interval.values() for bars in parts]
        if every:
            self.price_grid.observe(np.concatenate([bars.symbol_index for bars in every]),
                                    np.concatenate([bars.columns[3] for bars in every]))
        for interval, parts in by_interval.items():
            banks = [bank for bank, _, session_reset in self._by_interval.get(interval, ()) if not session_reset]
            if not banks:
                continue
            offsets = np.cumsum([0] + [bars.symbol_index.shape[0] for bars in parts])
            bounds = np.concatenate([bars.bounds + offset for bars, offset in zip(parts, offsets, strict=False)])
            columns = {field: np.concatenate([bars.columns[pos] for bars in parts]) for field, pos in _FIELD_POS.items()}
            block = WarmupBlock(self.n_symbols, np.concatenate([bars.symbol_index for bars in parts]), bounds, columns)
            for bank in banks:
                bank.warm_up(block)
        self.session_reset()

    def session_reset(self) -> None:
        for banks in self._by_interval.values():
            for bank, _, session_reset in banks:
                if session_reset:
                    bank.reset()

    def snapshot(self, interval: str, symbol_index: int) -> dict[str, float]:
        """Values of every indicator of one (symbol, interval), for display."""
        out = {}
        for (iv, spec), bank in self._banks.items():
            if iv != interval:
                continue
            for name, arr in bank.outputs().items():
                out[spec if name == "value" else f"{spec}.{name}"] = float(arr[symbol_index])
        return out


def _norm(spec: str) -> str:
    return spec.replace(" ", "").lower()


class DerivedBarBuilder:
    """Builds one derived interval for all symbols from streamed bars, vectorised per bar time.

    Buckets are the session's slots of the interval (see `TradingSession.slot_starts`): anchored at
    the open and at the end of a lunch break, cut at the break's start and at the close; in extended
    hours pre-market buckets are counted back from the open and post-market ones start at the close.

    The forming arrays (`has`, `o`, `h`, `lo`, `c`, `v`) are replaced, never written into: SessionData
    publishes them as the forming bars without a copy (`publish_forming`), so an array once published
    never changes under a reader. A fold of every symbol computes new arrays out of place; a fold of
    some symbols, a completion and a revision copy first (`_own`)."""

    def __init__(self, interval: str, base_interval: str, n_symbols: int):
        self.interval = interval
        self.length_ns = parse_interval(interval).ns
        self.base_ns = parse_interval(base_interval).ns
        n = n_symbols
        self.has = np.zeros(n, dtype=bool)
        self.has_all = False        # True: `has` is known to be all True (no count of it per bar time)
        self.o = np.zeros(n)
        self.h = np.zeros(n)
        self.lo = np.zeros(n)
        self.c = np.zeros(n)
        self.v = np.zeros(n)
        self.bucket_start = -1
        self.bucket_end = -1
        self.session_open = 0
        self.session_close = 0
        self._slot_starts = np.empty(0, dtype=np.int64)
        self._slot_ends = np.empty(0, dtype=np.int64)
        self._slot_starts_list: list[int] = []
        self._slot_ends_list: list[int] = []

    def start_session(self, open_ns: int, close_ns: int, break_start_ns: int = -1, break_end_ns: int = -1,
                      pre_market_start_ns: int = -1, post_market_end_ns: int = -1) -> None:
        self.session_open, self.session_close = open_ns, close_ns
        self._slot_starts, self._slot_ends = session_slot_bounds(
            open_ns, close_ns, self.length_ns, break_start_ns, break_end_ns, pre_market_start_ns, post_market_end_ns)
        self._slot_starts_list = self._slot_starts.tolist()
        self._slot_ends_list = self._slot_ends.tolist()
        self.has = np.zeros(self.has.shape[0], dtype=bool)
        self.has_all = False
        self.bucket_start = self.bucket_end = -1

    def _own(self) -> None:
        """Fresh copies of the forming arrays, to be written in place (published ones never are)."""
        self.has_all = False
        self.has, self.o, self.h = self.has.copy(), self.o.copy(), self.h.copy()
        self.lo, self.c, self.v = self.lo.copy(), self.c.copy(), self.v.copy()

    def bucket_starts_of(self, ts: np.ndarray) -> np.ndarray:
        """Start of the bucket of each bar start in `ts` (int ns UTC)."""
        k = np.maximum(np.searchsorted(self._slot_starts, ts, side="right") - 1, 0)
        return self._slot_starts[k]

    def _bucket_of(self, ts: int) -> tuple[int, int]:
        k = max(bisect_right(self._slot_starts_list, ts) - 1, 0)
        return self._slot_starts_list[k], self._slot_ends_list[k]

    def complete(self):
        """Close the forming bucket: (bucket_start, idx, o, h, l, c, v) of symbols with data, or None."""
        if self.bucket_start < 0:
            return None
        idx = np.flatnonzero(self.has)
        out = None
        if len(idx):
            out = (self.bucket_start, idx, self.o[idx], self.h[idx], self.lo[idx], self.c[idx], self.v[idx])
        self.has = np.zeros(self.has.shape[0], dtype=bool)
        self.has_all = False
        self.bucket_start = self.bucket_end = -1
        return out

    def close_stale(self, ts: int):
        """Complete the forming bucket when a bar at `ts` lies outside it (its end passed while no
        bar came, or a new session began); the completed bar or None."""
        if self.bucket_start >= 0 and (ts >= self.bucket_end or ts < self.bucket_start):
            return self.complete()
        return None

    def fold(self, ts: int, idx: np.ndarray, o, h, lo, c, v, clock_ns: int):
        """Fold streamed bars at `ts` into their bucket (call `close_stale` first); the bucket if the
        clock has reached its end (completed), else None."""
        if self.bucket_start < 0:
            self.bucket_start, self.bucket_end = self._bucket_of(ts)
        n = self.has.shape[0]
        if idx.shape[0] == n:           # every symbol (idx = 0..n-1): new arrays, out of place
            n_had = n if self.has_all else np.count_nonzero(self.has)
            if n_had == n:                             # the common case: every symbol already has this bucket
                self.has_all = True
                self.h = np.maximum(self.h, h)
                self.lo = np.minimum(self.lo, lo)
                self.v = self.v + v
                self.c = np.array(c, dtype=np.float64)
                return self.complete() if clock_ns >= self.bucket_end else None
            if n_had == 0:                             # first bar of the bucket for every symbol
                self.o = np.array(o, dtype=np.float64)
                self.h = np.array(h, dtype=np.float64)
                self.lo = np.array(lo, dtype=np.float64)
                self.v = np.array(v, dtype=np.float64)
                self.c = np.array(c, dtype=np.float64)
                self.has = np.ones(n, dtype=bool)
                self.has_all = True
                return self.complete() if clock_ns >= self.bucket_end else None
        self._own()
        had = self.has[idx]
        n_had = np.count_nonzero(had)     # (cheaper than .all()/.any() on a small array)
        if n_had == had.shape[0]:                      # every listed symbol already has this bucket
            self.h[idx] = np.maximum(self.h[idx], h)
            self.lo[idx] = np.minimum(self.lo[idx], lo)
            self.v[idx] += v
        elif n_had == 0:                # first bar of the bucket for every symbol
            self.o[idx] = o
            self.h[idx] = h
            self.lo[idx] = lo
            self.v[idx] = v
            self.has[idx] = True
        else:
            self.o[idx] = np.where(had, self.o[idx], o)
            self.h[idx] = np.where(had, np.maximum(self.h[idx], h), h)
            self.lo[idx] = np.where(had, np.minimum(self.lo[idx], lo), lo)
            self.v[idx] = np.where(had, self.v[idx] + v, v)
            self.has[idx] = True
        self.c[idx] = c
        if clock_ns >= self.bucket_end:
            return self.complete()
        return None

    def add(self, ts: int, idx: np.ndarray, o, h, lo, c, v, clock_ns: int):
        """`close_stale` then `fold`: the completed derived bars (0, 1 or 2, oldest first)."""
        completed = []
        done = self.close_stale(ts)
        if done is not None:
            completed.append(done)
        done = self.fold(ts, idx, o, h, lo, c, v, clock_ns)
        if done is not None:
            completed.append(done)
        return completed

    def flush_due(self, clock_ns: int):
        """Complete the forming bucket if the clock has reached its end (e.g. at the close)."""
        if self.bucket_start >= 0 and clock_ns >= self.bucket_end:
            return self.complete()
        return None


class DataProcessor(Stage):
    """The processor stage: given bar times, session starts and ends, the warm-up and (live) revisions by
    the Pipeline; hands the analysis engine ProcessedBars, CompletedBars and Revised through its output.

    Publishes into SessionData (read by the strategies through their context): the derived bars, the
    forming bars, its real-time indicator set and, per interval, each symbol's newest completed bar's
    close and start (`SessionData.last_close` / `last_start`, kept across sessions)."""

    thread_name = "DataProcessor"
    stat_name = "processor.event"

    def __init__(self, session_data, base_interval: str, derived: Iterable[str], indicator_specs: Iterable[str],
                 metrics, events=None):
        self.session_data = session_data
        self.base_interval = base_interval
        self.base_ns = parse_interval(base_interval).ns
        self.derived = list(derived)
        self.events = events          # EventBus: "derived" (Bars) when observed
        n = len(session_data.symbols)
        self.builders = [DerivedBarBuilder(iv, base_interval, n) for iv in self.derived]
        self.indicators = IndicatorSet(n)
        for iv in [base_interval, *self.derived]:
            for spec in indicator_specs:
                self.indicators.add(iv, spec)
        session_data.publish_indicators(self.indicators)
        # newest completed bar's close and start per (interval, symbol): what strategies price at
        self.last_close = session_data.last_close
        self.last_start = session_data.last_start
        super().__init__(metrics)

    def require(self, interval: str, specs: Iterable[str]) -> None:
        for spec in specs:
            self.indicators.add(interval, spec)

    def warmup_needed(self) -> dict[str, int]:
        """Inputs the slowest indicator of each interval needs before it is ready (0: none kept)."""
        return {iv: self.indicators.warmup_needed(iv) for iv in [self.base_interval, *self.derived]}

    # -------------------------------------------------------------- stage
    def handlers(self) -> dict[type, Handler]:
        return {BarTime: self._on_bars, SessionStart: self._on_session_start, SessionEnd: self._on_session_end,
                WarmUp: self._on_warm_up, Revise: self._on_revise}

    # -------------------------------------------------------------- events
    def _on_session_start(self, event: SessionStart) -> None:
        session = event.session
        for b in self.builders:
            b.start_session(session.open_ns, session.close_ns, session.break_start_ns, session.break_end_ns,
                            session.pre_market_start_ns, session.post_market_end_ns)
        self.indicators.session_reset()

    def _on_warm_up(self, event: WarmUp) -> None:
        """Stored bars before the first session fed to the indicators (see WarmUp); VWAP then restarts."""
        self.indicators.warm_up(event.blocks)

    def _on_bars(self, event: BarTime) -> None:
        ts, idx = event.start_ns, event.symbol_indices
        o, h, lo, c, v = event.open, event.high, event.low, event.close, event.volume
        clock_ns = ts + self.base_ns
        self.last_close[self.base_interval][idx] = c
        self.last_start[self.base_interval][idx] = ts
        raises = event.decimal_raises
        if raises is not None and len(raises[0]):
            self.indicators.price_grid.raise_to(*raises)
        self.indicators.update(self.base_interval, idx, (o, h, lo, c, v), observe=raises is None,
                               every_lane=event.every_symbol)
        # bars whose end passed while no bar came complete first (written, indicators stepped)
        stale = []
        for b in self.builders:
            done = b.close_stale(ts)
            if done is not None:
                self._write_derived(b.interval, done)
                stale.append((b.interval, done[1]))
        fresh = []
        for b in self.builders:
            done = b.fold(ts, idx, o, h, lo, c, v, clock_ns)
            if done is not None:
                fresh.append((b.interval, done))
        if stale and fresh:
            # the strategies see the older bars before the indicators move on to the newer ones
            self.pass_and_wait(ProcessedBars(event, tuple(stale)))
        for interval, done in fresh:
            self._write_derived(interval, done)
        sd = self.session_data
        for b in self.builders:
            if b.bucket_start >= 0:
                sd.publish_forming(b.interval, b.bucket_start, b.has, b.o, b.h, b.lo, b.c, b.v, idx)
            elif any(interval == b.interval for interval, _ in (*stale, *fresh)):
                sd.clear_forming(b.interval)
        completed = [(interval, done[1]) for interval, done in fresh]
        if stale and fresh:
            self.pass_on(CompletedBars(clock_ns, tuple(completed)))
        else:
            self.pass_on(ProcessedBars(event, (*stale, *completed)))

    def _write_derived(self, interval: str, done: tuple) -> None:
        start, idx, o, h, lo, c, v = done
        sd = self.session_data
        # `idx` is increasing (the builder's flatnonzero): as long as the symbols, it is every symbol
        every = idx.shape[0] == sd.n_symbols
        sd.append_bars(interval, None if every else idx, start, o, h, lo, c, v)
        self.last_close[interval][idx] = c
        self.last_start[interval][idx] = start
        # built from streamed bars the price grid has seen: its close is one of theirs
        self.indicators.update(interval, idx, (o, h, lo, c, v), observe=False, every_lane=every)
        events = self.events
        if events is not None and events.wants("derived"):
            events.emit("derived", Bars(start, interval, idx))

    def _on_session_end(self, event: SessionEnd) -> None:
        session = event.session
        completed = []
        for b in self.builders:
            done = b.flush_due(session.end_ns)
            if done is None:
                done = b.complete()   # data ended before the bucket end: the short bar is final
            if done is not None:
                self._write_derived(b.interval, done)
                completed.append((b.interval, done[1]))
        if completed:
            self.pass_on(CompletedBars(session.end_ns, tuple(completed)))

    # -------------------------------------------------------------- live: late and gap-filled bars
    def _on_revise(self, event: Revise) -> None:
        """Streamed bars of symbols `idx` were inserted out of order (late bars, gap fills): rebuild
        their derived bars of this session, their forming bars and their indicator lanes."""
        idx = event.symbol_indices
        for i in idx.tolist():       # the inserted bars' prices count for the price grid too
            closes = np.asarray(self.session_data.bars(self.session_data.symbols[i], self.base_interval).close)
            self.indicators.price_grid.observe(np.full(len(closes), i, dtype=np.int64), closes)
        revised = [(self.base_interval, idx)]
        for b in self.builders:
            for i in idx.tolist():
                self._rebuild_lane(b, int(i))
            revised.append((b.interval, idx))
        for interval, _ in revised:
            for i in idx.tolist():
                self._recompute_indicators(interval, int(i))
        self.pass_on(Revised(tuple(revised)))

    def _rebuild_lane(self, b: DerivedBarBuilder, i: int) -> None:
        sd = self.session_data
        sym = sd.symbols[i]
        bars = sd.bars(sym, self.base_interval)
        ts = np.asarray(bars.timestamp)
        if b.session_open == 0 or len(ts) == 0:
            return
        start = b.bucket_starts_of(ts)
        forming_start = b.bucket_start
        o, h, lo, c, v = (np.asarray(x) for x in (bars.open, bars.high, bars.low, bars.close, bars.volume))
        stored = sd.bars(sym, b.interval)
        stored_ts = np.asarray(stored.timestamp)
        # the bars are in time order, so each bucket's bars are one run of `start` (np.unique would
        # import numpy.ma, ~10 ms in the engine thread at a live run's first revision)
        edges = [0, *(np.flatnonzero(start[1:] != start[:-1]) + 1).tolist(), len(start)]
        for a, z in itertools.pairwise(edges):
            bucket = int(start[a])
            vals = (float(o[a]), float(h[a:z].max()), float(lo[a:z].min()), float(c[z - 1]), float(v[a:z].sum()))
            if bucket == forming_start:
                b._own()                # the published forming arrays never change
                b.o[i], b.h[i], b.lo[i], b.c[i], b.v[i] = vals
                b.has[i] = True
                sd.set_forming(b.interval, np.array([i]), bucket, *(np.array([x]) for x in vals))
                continue
            if forming_start >= 0 and bucket > forming_start:
                continue
            k = int(np.searchsorted(stored_ts, bucket))
            if k < len(stored_ts) and stored_ts[k] == bucket:
                cur = (stored.open[k], stored.high[k], stored.low[k], stored.close[k], stored.volume[k])
                if all(abs(float(a) - x) <= 1e-12 for a, x in zip(cur, vals, strict=True)):
                    continue
            sd.insert_bar(sym, b.interval, bucket, *vals)

    def _recompute_indicators(self, interval: str, i: int) -> None:
        """Rebuild one symbol's indicator lanes of `interval` from its bars (trailing history first,
        then this session's): each bank's lane is the state of a fresh one-lane indicator fed those
        bars in one go (`Indicator.warm_up`, `load_lane`): the same state, bit for bit, as resetting
        the lane and feeding it bar after bar, in ~1 ms instead of ~60 ms for a 5-day history."""
        sd = self.session_data
        sym = sd.symbols[i]
        banks = self.indicators._by_interval.get(interval, ())
        if not banks:
            return
        hist = sd.historical_bars(sym, interval)
        sess = sd.bars(sym, interval)
        parts = {True: [np.asarray(x, dtype=float) for x in (sess.open, sess.high, sess.low, sess.close,
                                                             sess.volume)]}
        parts[False] = [np.concatenate((np.asarray(h, dtype=float), s)) for h, s in zip(
            (hist.open, hist.high, hist.low, hist.close, hist.volume), parts[True], strict=True)]
        for bank, _fields, session_only in banks:
            cols = parts[bool(session_only)]
            n = len(cols[0])
            block = WarmupBlock(1, np.zeros(n, dtype=np.int64), np.arange(n + 1, dtype=np.int64),
                                {field: cols[pos] for field, pos in _FIELD_POS.items()})
            fresh = make_indicator(bank.spec, lanes=1)
            fresh.warm_up(block)
            bank.load_lane(i, fresh)

