"""DataQualityManager: bar quality % and gaps per (symbol, interval), measured as the session goes.

Quality = bars present / bars expected since the session open up to the clock, in percent; the
expected count comes from the real session (390 minutes, 210 on an early close). Gaps are runs of
missing bar times (start, end, missing count). Quality propagates from the streamed interval to the
derived ones. Backtest: measure only. Live: gaps are handed to a gap filler (see workstation.live).
Runs in its own thread and is woken per bar time; it never blocks the pipeline.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from workstation.model import parse_interval
from workstation.pipeline.stage import Stage

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Gap:
    """A run of missing bars of one symbol: bar starts in [start_ns, end_ns] (both inclusive)."""

    symbol: str
    interval: str
    start_ns: int
    end_ns: int
    missing: int
    status: str = "measured"       # measured | pending | filled | no_trades | failed
    retries: int = 0
    filled: int = 0
    no_trades: int = 0             # live: bar times history confirmed had no trade
    history: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "interval": self.interval, "start_ns": self.start_ns,
                "end_ns": self.end_ns, "missing": self.missing, "status": self.status,
                "retries": self.retries, "filled": self.filled, "no_trades": self.no_trades}


class DataQualityManager(Stage):
    """Quality and gap bookkeeping for one run; `submit()` is called by the coordinator."""

    thread_name = "DataQualityManager"
    stat_name = "quality.pass"

    def __init__(self, session_data, base_interval: str, derived: list[str], metrics, events,
                 enabled: bool = True):
        super().__init__(metrics, "coordinator->quality")
        self.session_data = session_data
        self.base_interval = base_interval
        self.base_ns = parse_interval(base_interval).ns
        self.derived = list(derived)
        self.events = events
        self.enabled = enabled
        self._intervals = (base_interval, *self.derived)
        n = len(session_data.symbols)
        self.n = n
        self.last_ts = np.full(n, -1, dtype=np.int64)
        self.present = np.zeros(n, dtype=np.int64)
        self.quality_pct = np.full(n, 100.0)
        self.gaps: list[Gap] = []                       # this session's gaps, in detection order
        self.gaps_by_symbol: dict[str, list[Gap]] = {}
        self.session = None
        self.session_rows: list[dict] = []              # per-session summary rows (quality.parquet)
        self.totals = {s: {"gaps_found": 0, "gaps_filled": 0, "gaps_failed": 0, "missing_bars": 0}
                       for s in session_data.symbols}
        self.on_gap = None                              # callback(Gap) e.g. the live gap filler
        self._lock = threading.Lock()
        self.next_stage = None          # threaded runs: the processor, handed each bar time after quality

    # ------------------------------------------------------------------ stage
    def handle(self, kind: str, event: tuple) -> None:
        if kind == "bars":
            self.on_bars(event[1], event[2])
            if self.next_stage is not None and not self.inline:
                # the bar time goes on to the processor only once its quality is published
                self.next_stage.submit_bars(event)
        elif kind == "session_start":
            self.start_session(event[1])
        elif kind == "session_end":
            self.end_session(event[1], stopped=len(event) > 2 and event[2])
        elif kind == "recount":
            self.recount(event[1])
        elif kind == "trailing_gaps":
            self.trailing_gaps(event[1])

    # ------------------------------------------------------------------ logic
    def start_session(self, session) -> None:
        with self._lock:
            self.session = session
            self.last_ts[:] = session.open_ns - self.base_ns
            self.present[:] = 0
            self.quality_pct[:] = 100.0
            self.gaps = []
            self.gaps_by_symbol = {}

    def expected_until(self, clock_ns: int) -> int:
        """Bars expected from the open up to `clock_ns` (bar END), capped at the close."""
        s = self.session
        end = min(clock_ns, s.close_ns)
        return max(0, (end - s.open_ns) // self.base_ns)

    def on_bars(self, ts: int, idx: np.ndarray) -> None:
        """Streamed bars at `ts` arrived for symbols `idx` (clock = ts + base interval)."""
        if not self.enabled or self.session is None:
            return
        step = self.base_ns
        prev = self.last_ts[idx]
        jump = ts - prev
        if (jump > step).any():
            for k in np.flatnonzero(jump > step).tolist():
                i = int(idx[k])
                self._add_gap(i, int(prev[k]) + step, ts - step)
        self.last_ts[idx] = ts
        self.present[idx] += 1
        self._publish(ts + step)

    def _add_gap(self, i: int, start: int, end: int) -> None:
        sym = self.session_data.symbols[i]
        gap = Gap(sym, self.base_interval, start, end, (end - start) // self.base_ns + 1)
        with self._lock:
            self.gaps.append(gap)
            self.gaps_by_symbol.setdefault(sym, []).append(gap)
        t = self.totals[sym]
        t["gaps_found"] += 1
        t["missing_bars"] += gap.missing
        if self.on_gap is not None:
            self.on_gap(gap)
        if self.events.wants("gap"):
            self.events.emit("gap", gap)

    def _publish(self, clock_ns: int) -> None:
        expected = self.expected_until(clock_ns)
        if expected <= 0:
            return
        q = np.minimum(100.0, 100.0 * self.present / expected)
        changed = q != self.quality_pct
        self.quality_pct = q
        self.session_data.publish_quality(self._intervals, q)
        if changed.any() and self.events.wants("quality"):
            self.events.emit("quality", (clock_ns, np.flatnonzero(changed), q))

    def done(self, kind: str, failed: bool) -> None:
        if kind != "bars" or self.next_stage is None:
            self.ready.signal_ready()
        elif failed and self.cycle is not None:
            self.cycle.signal_ready()           # never leave the coordinator waiting

    def trailing_gaps(self, close_ns: int) -> None:
        """Gaps from each symbol's last bar to the close (bars that never came)."""
        if not self.enabled or self.session is None:
            return
        last_start = close_ns - self.base_ns
        for i in np.flatnonzero(self.last_ts < last_start).tolist():
            self._add_gap(i, int(self.last_ts[i]) + self.base_ns, last_start)
            self.last_ts[i] = last_start

    def recount(self, clock_ns: int) -> None:
        """Recompute presence from SessionData (after late bars or gap fills were inserted)."""
        sd = self.session_data
        counts = np.array([sd.bar_count(s, self.base_interval) for s in sd.symbols], dtype=np.int64)
        self.present = counts
        self._publish(clock_ns)

    def end_session(self, session, stopped: bool = False) -> list[dict]:
        """Close trailing gaps at the close and record one summary row per (symbol, interval).
        A run stopped mid-session is measured up to its last bar time (no trailing gap)."""
        if self.session is None:
            return []
        step = self.base_ns
        if stopped:
            last = int(self.last_ts.max()) + step
            self._publish(last)
            expected = self.expected_until(last)
        else:
            expected = self.expected_until(session.close_ns)
        if self.enabled and not stopped:
            self.trailing_gaps(session.close_ns)
            self._publish(session.close_ns)
        rows = []
        for i, sym in enumerate(self.session_data.symbols):
            gaps = self.gaps_by_symbol.get(sym, [])
            for iv in (self.base_interval, *self.derived):
                ivs = parse_interval(iv).ns
                span = (expected * step) if stopped else (session.close_ns - session.open_ns)
                exp_iv = expected if iv == self.base_interval else -(-span // ivs)
                present_iv = int(self.present[i]) if iv == self.base_interval else self.session_data.bar_count(sym, iv)
                rows.append({
                    "session_date": session.date, "symbol": sym, "interval": iv,
                    "expected": int(exp_iv), "present": present_iv,
                    "quality_pct": float(self.quality_pct[i]) if self.enabled else 100.0,
                    "gaps": len(gaps) if iv == self.base_interval else 0,
                    "missing": int(sum(g.missing for g in gaps)) if iv == self.base_interval else 0,
                })
        self.session_rows = rows
        return rows

    # ------------------------------------------------------------------ reads
    def gap_list(self, symbol: str) -> list[dict]:
        """The session's gaps of one symbol (for the GUI gap list)."""
        with self._lock:
            return [g.as_dict() for g in self.gaps_by_symbol.get(symbol, [])]

    def stats(self) -> dict:
        return {s: dict(t) for s, t in self.totals.items()}
