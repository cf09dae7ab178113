"""DataQualityManager: bar quality % and gaps per (symbol, interval), measured as the session goes.

Quality = bars present / bars expected since the session open up to the clock, in percent; the
expected count comes from the real session (390 minutes, 210 on an early close, 330 on XHKG whose
lunch break is not counted; in extended hours the pre- and post-market slots count too: 960 on
NYSE). Bar slots come from `TradingSession.slot_starts`: anchored at the open (and at the end of a
lunch break), cut at the break and at the close (pre-market slots counted back from the open). Gaps are runs of missing
slots (start, end, missing count); a gap may span the lunch break, whose minutes are not missing.
The streamed interval's gaps are found as bars arrive (and handed to the live gap filler); the
derived intervals' present bars, gaps and missing bars are counted at the session end from the
streamed bars in SessionData (a derived bar is present when at least one streamed bar falls in its
slot), so a short last bar flushed at the close counts. The quality % propagates from the streamed
interval to the derived ones (that is what the risk check reads). Backtest: measure only. Live:
a copy of each streamed-interval gap is handed to the gap filler (`on_gap`), which owns its status
from then on; its changes come back as GapStatusChanged events ("gap_status"), applied here to this
stage's own record and totals, in this stage's thread (see workstation.live.gap_filler). Runs in its own thread and is woken per bar
time; it never blocks the pipeline. Times are int ns UTC bar starts.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from workstation.model import parse_interval
from workstation.pipeline.stage import Handler, Stage
from workstation.pipeline.stage_events import (
    BarTime,
    GapStatusChanged,
    Recount,
    SessionEnd,
    SessionStart,
    TrailingGaps,
)

if TYPE_CHECKING:
    from workstation.calendar import TradingSession

log = logging.getLogger(__name__)


class GapStatus(StrEnum):
    """Where a gap stands. A backtest only measures gaps (MEASURED); live, the gap filler owns the
    status: PENDING while it waits or retries, then FILLED (bars arrived or were fetched), NO_TRADES
    (history says nothing traded) or FAILED (no answer after the retries). The values are the
    strings written to gaps.parquet and gap_fills.json."""

    MEASURED = "measured"
    PENDING = "pending"
    FILLED = "filled"
    NO_TRADES = "no_trades"
    FAILED = "failed"


@dataclass(slots=True)
class Gap:
    """A run of missing bars of one symbol: bar starts in [start_ns, end_ns] (both inclusive)."""

    symbol: str
    interval: str
    start_ns: int
    end_ns: int
    missing: int
    status: GapStatus = GapStatus.MEASURED
    retries: int = 0
    filled: int = 0
    no_trades: int = 0             # live: bar times history confirmed had no trade
    history: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "interval": self.interval, "start_ns": self.start_ns,
                "end_ns": self.end_ns, "missing": self.missing, "status": self.status,
                "retries": self.retries, "filled": self.filled, "no_trades": self.no_trades}


def slot_gaps(present_slots: np.ndarray, n_slots: int, trailing: bool) -> list[tuple[int, int]]:
    """Runs of missing slots as (first, last) slot indices (inclusive), given the sorted unique
    indices of the slots that have a bar among `n_slots`. Leading and interior runs always; the run
    after the last present slot only when `trailing` (a symbol without any bar: one run of every
    slot, or nothing)."""
    if len(present_slots) == 0:
        return [(0, n_slots - 1)] if trailing and n_slots > 0 else []
    edges = np.concatenate(([-1], present_slots, [n_slots] if trailing else []))
    jumps = np.flatnonzero(np.diff(edges) > 1)
    return [(int(edges[k]) + 1, int(edges[k + 1]) - 1) for k in jumps.tolist()]


class DataQualityManager(Stage):
    """Quality and gap bookkeeping for one run; `submit()` is called by the coordinator."""

    thread_name = "DataQualityManager"
    stat_name = "quality.pass"

    def __init__(self, session_data, base_interval: str, derived: list[str], metrics, events,
                 enabled: bool = True):
        super().__init__(metrics)
        self.session_data = session_data
        self.base_interval = base_interval
        self.base_ns = parse_interval(base_interval).ns
        self.derived = list(derived)
        self.events = events
        self.enabled = enabled
        self._intervals = (base_interval, *self.derived)
        n = len(session_data.symbols)
        self.n = n
        self.last_slot = np.full(n, -1, dtype=np.int64)     # slot index of each symbol's last bar
        self._aligned_slot: int | None = -1     # every symbol's last slot when they are all the same, or None
        self._slot_starts = np.empty(0, dtype=np.int64)     # this session's streamed-interval slots
        self._slot_ends = np.empty(0, dtype=np.int64)
        self._slot_starts_list: list[int] = []
        self._slot_ends_list: list[int] = []
        self.present = np.zeros(n, dtype=np.int64)
        self.quality_pct = np.full(n, 100.0)
        # k when every symbol has exactly k bars present and `quality_pct` is all 100 (-1: not known):
        # while every bar time has a bar of every symbol, the quality stays 100 without arithmetic
        self._complete = 0
        self.gaps: list[Gap] = []                       # this session's gaps, in detection order
        self.gaps_by_symbol: dict[str, list[Gap]] = {}
        self.session_gap_rows: list[dict] = []          # every gap of the session (gaps.parquet)
        self.session: TradingSession | None = None
        self.session_rows: list[dict] = []              # per-session summary rows (quality.parquet)
        self.totals = {s: {"gaps_found": 0, "gaps_filled": 0, "gaps_failed": 0, "missing_bars": 0}
                       for s in session_data.symbols}
        self.on_gap: Callable[[Gap], None] | None = None  # callback(Gap) e.g. the live gap filler
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ stage
    def handlers(self) -> dict[type, Handler]:
        return {BarTime: self.on_bars, SessionStart: lambda e: self.start_session(e.session),
                SessionEnd: lambda e: self.end_session(e.session, stopped=e.stopped),
                Recount: lambda e: self.recount(e.clock_ns), TrailingGaps: lambda e: self.trailing_gaps(e.close_ns),
                GapStatusChanged: lambda e: self.apply_gap_status(e)}

    # ------------------------------------------------------------------ logic
    def start_session(self, session) -> None:
        with self._lock:
            self.session = session
            self._slot_starts = session.slot_starts(self.base_ns)
            self._slot_ends = session.slot_ends(self.base_ns)
            # per bar time: bisect on lists (no numpy call on a small array, the GIL is kept)
            self._slot_starts_list = self._slot_starts.tolist()
            self._slot_ends_list = self._slot_ends.tolist()
            self.last_slot[:] = -1
            self._aligned_slot = -1
            self.present[:] = 0
            self.quality_pct[:] = 100.0
            self._complete = 0
            self.gaps = []
            self.gaps_by_symbol = {}
            self.session_gap_rows = []

    def expected_until(self, clock_ns: int) -> int:
        """Bars expected from the open up to `clock_ns` (bar END): the slots that have ended by
        then (capped at the close; lunch-break minutes are not slots)."""
        return bisect_right(self._slot_ends_list, clock_ns)

    def _slot_of(self, ts: int) -> int:
        return bisect_right(self._slot_starts_list, ts) - 1

    def on_bars(self, event: BarTime) -> None:
        """Streamed bars of one bar time arrived (clock = bar start + base interval); the bar time
        then goes on (to the processor) once its quality is published."""
        if self.enabled and self.session is not None:
            self._measure(event.start_ns, event.symbol_indices, event.every_symbol)
        self.pass_on(event)

    def _measure(self, ts: int, idx: np.ndarray, every_symbol: bool = False) -> None:
        slot = self._slot_of(ts)
        aligned = self._aligned_slot
        if aligned is not None and every_symbol:
            # every symbol, all with their last bar in one slot: one jump for all
            if slot - aligned > 1:
                starts = self._slot_starts
                for i in idx.tolist():
                    self._add_gap(i, int(starts[aligned + 1]), int(starts[slot - 1]), slot - aligned - 1)
            self.last_slot.fill(slot)
            self._aligned_slot = slot
        else:
            prev = self.last_slot[idx]
            jump = slot - prev
            if np.count_nonzero(jump > 1):
                starts = self._slot_starts
                for k in np.flatnonzero(jump > 1).tolist():
                    self._add_gap(int(idx[k]), int(starts[prev[k] + 1]), int(starts[slot - 1]),
                                  slot - int(prev[k]) - 1)
            self.last_slot[idx] = slot
            self._aligned_slot = slot if every_symbol else None
        if every_symbol:
            self.present += 1
        else:
            self.present[idx] += 1
        if self._complete >= 0:
            self._complete = self._complete + 1 if every_symbol else -1
        self._publish(ts + self.base_ns)

    def _add_gap(self, i: int, start: int, end: int, missing: int) -> None:
        """A streamed-interval gap of symbol `i`: bar starts `start` .. `end` (inclusive), `missing`
        bars (the lunch break is not counted)."""
        sym = self.session_data.symbols[i]
        gap = Gap(sym, self.base_interval, start, end, missing)
        with self._lock:
            self.gaps.append(gap)
            self.gaps_by_symbol.setdefault(sym, []).append(gap)
        t = self.totals[sym]
        t["gaps_found"] += 1
        t["missing_bars"] += gap.missing
        if self.on_gap is not None:
            self.on_gap(replace(gap, history=[]))     # the filler's own copy: it owns the status from now
        if self.events.wants("gap"):
            self.events.emit("gap", gap)

    def apply_gap_status(self, change) -> None:
        """A GapStatusChanged from the gap filler (the status's owner): update this stage's record of
        the gap (gap list, gaps.parquet) and count a settled gap in the totals."""
        with self._lock:
            for gap in self.gaps_by_symbol.get(change.symbol, ()):
                if gap.start_ns == change.start_ns and gap.interval == change.interval:
                    gap.status, gap.filled = change.status, change.filled
                    gap.no_trades, gap.retries = change.no_trades, change.retries
                    break
        key = {GapStatus.FILLED: "gaps_filled", GapStatus.NO_TRADES: "gaps_no_trades",
               GapStatus.FAILED: "gaps_failed"}.get(change.status)
        t = self.totals.get(change.symbol)
        if key is not None and t is not None:
            t[key] = t.get(key, 0) + 1

    def _publish(self, clock_ns: int) -> None:
        expected = self.expected_until(clock_ns)
        if expected <= 0:
            return
        if self._complete == expected:          # every symbol has every bar: still all 100 (100 * k / k)
            self.session_data.publish_quality(self._intervals, self.quality_pct)
            return
        self._complete = -1
        q = np.minimum(100.0, 100.0 * self.present / expected)
        previous = self.quality_pct
        self.quality_pct = q
        self.session_data.publish_quality(self._intervals, q)
        if self.events.wants("quality"):
            changed = q != previous
            if np.count_nonzero(changed):
                self.events.emit("quality", (clock_ns, np.flatnonzero(changed), q))

    def trailing_gaps(self, close_ns: int) -> None:
        """Gaps from each symbol's last bar to the close (bars that never came)."""
        if not self.enabled or self.session is None:
            return
        last = int(np.searchsorted(self._slot_starts, close_ns, side="left")) - 1
        if last < 0:
            return
        starts = self._slot_starts
        for i in np.flatnonzero(self.last_slot < last).tolist():
            first = int(self.last_slot[i]) + 1
            self._add_gap(i, int(starts[first]), int(starts[last]), last - first + 1)
            self.last_slot[i] = last
            self._aligned_slot = None

    def recount(self, clock_ns: int) -> None:
        """Recompute presence from SessionData (after late bars or gap fills were inserted)."""
        sd = self.session_data
        counts = np.array([sd.bar_count(s, self.base_interval) for s in sd.symbols], dtype=np.int64)
        self.present = counts
        self._complete = -1
        self._publish(clock_ns)

    def end_session(self, session, stopped: bool = False) -> list[dict]:
        """Close trailing gaps at the close and record one summary row per (symbol, interval) and
        the session's gap list. A run stopped mid-session is measured up to its last bar time (no
        trailing gap)."""
        if self.session is None:
            return []
        if stopped:
            top = int(self.last_slot.max())
            until = int(self._slot_ends[top]) if top >= 0 else session.start_ns
            self._publish(until)
            expected = self.expected_until(until)
        else:
            until = session.end_ns                  # the close, or the post-market end in extended hours
            expected = self.expected_until(session.end_ns)
        if self.enabled and not stopped:
            self.trailing_gaps(session.end_ns)
            self._publish(session.end_ns)
        derived = self._derived_counts(session, until, trailing=self.enabled and not stopped)
        rows = []
        gap_rows = [self._gap_row(session, g, self._slot_starts, self._slot_ends) for g in self.gaps]
        for i, sym in enumerate(self.session_data.symbols):
            gaps = self.gaps_by_symbol.get(sym, [])
            quality_pct = float(self.quality_pct[i]) if self.enabled else 100.0
            rows.append({
                "session_date": session.date, "symbol": sym, "interval": self.base_interval,
                "expected": int(expected), "present": int(self.present[i]), "quality_pct": quality_pct,
                "gaps": len(gaps), "missing": int(sum(g.missing for g in gaps)),
            })
            for iv in self.derived:
                exp_iv, present_iv, gaps_iv = derived[iv][i]
                rows.append({
                    "session_date": session.date, "symbol": sym, "interval": iv,
                    "expected": exp_iv, "present": present_iv, "quality_pct": quality_pct,
                    "gaps": len(gaps_iv), "missing": int(sum(g.missing for g in gaps_iv)),
                })
        for iv in self.derived:
            starts, ends = session.slot_starts(parse_interval(iv).ns), session.slot_ends(parse_interval(iv).ns)
            gap_rows += [self._gap_row(session, g, starts, ends)
                         for i in range(self.n) for g in derived[iv][i][2]]
        with self._lock:
            self.session_gap_rows = gap_rows
        self.session_rows = rows
        return rows

    def _derived_counts(self, session, until_ns: int, trailing: bool) -> dict[str, list[tuple]]:
        """Per derived interval and symbol: (expected, present, gaps) of this session up to
        `until_ns`, from the streamed bars in SessionData. Expected = the interval's slots that
        started before `until_ns` (a short slot at an early close or before the lunch break counts);
        present = slots holding at least one streamed bar."""
        sd = self.session_data
        views = [np.asarray(sd.bars(sym, self.base_interval).timestamp, dtype=np.int64) for sym in sd.symbols]
        ts = np.concatenate(views) if views else np.empty(0, dtype=np.int64)
        codes = np.repeat(np.arange(self.n, dtype=np.int64), [len(v) for v in views])
        keep = session.trading_mask(ts) & (ts < until_ns)
        ts, codes = ts[keep], codes[keep]
        out: dict[str, list[tuple]] = {}
        for iv in self.derived:
            starts = session.slot_starts(parse_interval(iv).ns)
            n_slots = int(np.searchsorted(starts, until_ns, side="left"))
            width = max(n_slots, 1)
            # the sorted distinct (symbol, slot) keys, by marking them (linear; np.unique sorts)
            marks = np.zeros(self.n * width, dtype=bool)
            marks[codes * width + (np.searchsorted(starts, ts, side="right") - 1)] = True
            occupied = np.flatnonzero(marks)
            owner = occupied // width
            present = np.bincount(owner, minlength=self.n)
            bounds = np.searchsorted(owner, np.arange(self.n + 1))
            per_symbol = []
            for i, sym in enumerate(sd.symbols):
                gaps: list[Gap] = []
                if self.enabled and present[i] < n_slots:
                    slots = occupied[bounds[i]:bounds[i + 1]] % width
                    gaps = [Gap(sym, iv, int(starts[a]), int(starts[b]), b - a + 1)
                            for a, b in slot_gaps(slots, n_slots, trailing)]
                per_symbol.append((n_slots, int(present[i]), gaps))
            out[iv] = per_symbol
        return out

    @staticmethod
    def _gap_row(session, gap: Gap, starts: np.ndarray, ends: np.ndarray) -> dict:
        """One row of the run folder's gap list: the missing bars cover [start, end)."""
        last = int(np.searchsorted(starts, gap.end_ns, side="right")) - 1
        return {"session_date": session.date, "symbol": gap.symbol, "interval": gap.interval,
                "start": gap.start_ns, "end": int(ends[last]), "missing": gap.missing, "status": gap.status}

    # ------------------------------------------------------------------ reads
    def gap_list(self, symbol: str) -> list[dict]:
        """The session's gaps of one symbol (for the GUI gap list)."""
        with self._lock:
            return [g.as_dict() for g in self.gaps_by_symbol.get(symbol, [])]

    def stats(self) -> dict:
        return {s: dict(t) for s, t in self.totals.items()}
