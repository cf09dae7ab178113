"""LiveCoordinator: the session loop of live mode; the live clock drives it, the provider feeds it.

Same stages and phases as a backtest (SessionCoordinator): only what drives the clock and the
data differs. Bars arrive from the provider's thread into an inbox; every bar is checked first
(workstation.live.bar_checks: a bad bar is quarantined, never stored, and cannot move the clock
or make later bars late). A bar time is processed (all symbols' bars at that time together, like
a backtest) once every symbol has its bar, the provider says the bar time is complete (a replay
can), no bar for it came for `batch_quiet_ms`, or the clock is `grace` past the bar's end. A bar that arrives after
its symbol has moved on (a late bar) or a gap-fill answer is inserted in time order
(SessionData.insert_bar) and the processor rebuilds that symbol's derived bars and indicators.

Started after the open, a session is first caught up from the provider's history in a few
multi-symbol requests; bar times the answer shows without a bar become known empty
(workstation.live.known_empty), so their gaps need no request. Sessions open and close by the
TimeManager (early closes included); at the close, trailing gaps are filled (bounded wait) before
the session ends. A provider that goes FAILED (e.g. the API key was rejected) ends the run with
ProviderError.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections import defaultdict, deque

import numpy as np

from workstation.calendar import TradingSession
from workstation.errors import ProviderError
from workstation.events import Bars
from workstation.live.bar_checks import LiveBarChecks
from workstation.live.known_empty import KnownEmptyMinutes
from workstation.live.provider import ProviderHealth
from workstation.model import Bar
from workstation.pipeline.coordinator import SessionCoordinator
from workstation.pipeline.quality import Gap, GapStatus

log = logging.getLogger(__name__)

LATE_MARKS_KEPT = 10_000
CATCH_UP_TIMEOUT_S = 120.0          # history requests of the catch-up (rate limits may make them wait)


class LiveCoordinator(SessionCoordinator):
    """Runs live sessions until the configured end date, the duration or a stop."""

    def __init__(self, *args, provider, gap_filler, grace_s: float = 2.0, end_wait_s: float = 5.0,
                 deadline_wall: float | None = None, batch_quiet_ms: float = 2.0,
                 known_empty: KnownEmptyMinutes | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bar_checks = LiveBarChecks(self.symbols, self.base_interval, self.base_ns)
        self.known_empty = known_empty if known_empty is not None else KnownEmptyMinutes(self.base_ns)
        self.batch_quiet_ns = int(batch_quiet_ms * 1e6)
        self._arrival: dict[int, int] = {}          # bar time -> wall ns of its newest arrival
        self._complete: set[int] = set()            # pending bar times the provider says are complete
        self._new_gaps: deque[Gap] = deque()        # found by the quality stage, not yet handed over
        self.provider = provider
        self.gap_filler = gap_filler
        self.grace_ns = int(grace_s * 1e9)
        self.end_wait_s = end_wait_s
        self.deadline_wall = deadline_wall
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.sym_index = {s: i for i, s in enumerate(self.symbols)}
        self._speed = float(getattr(self.clock, "speed", 1.0))
        self.latencies_ms: list[float] = []          # bar receive -> strategies done, per bar
        self.fill_latencies_ms: list[float] = []     # history answer -> inserted and recomputed
        self.late_bars = 0                  # bars that arrived after their bar time was processed
        self.late_marks: deque[tuple[str, int]] = deque(maxlen=LATE_MARKS_KEPT)  # their (symbol, bar start)
        self.filled_bars = 0                # bars inserted from gap fills
        self.caught_up_bars = 0
        self.catch_up_error: str | None = None
        self.duplicate_bars = 0
        self._pending: dict[int, dict[int, tuple[Bar, int]]] = defaultdict(dict)
        self._processed_upto = -1                   # newest bar time processed (all symbols)
        n = len(self.symbols)
        # per symbol, updated per bar in the coordinator's thread (Python lists: cheaper per item than
        # numpy scalars); read through live_status() as arrays
        self.last_bar_ts: list[int] = [-1] * n          # newest bar start received
        self.feed_latency_ms: list[float] = [math.nan] * n   # receive time - bar end (live clock), wall ms
        self.messages: list[int] = [0] * n

    @property
    def outside_session(self) -> int:
        """Good bars that fell outside the session (pre-/post-market, another day): ignored."""
        return self.bar_checks.outside_session

    # ------------------------------------------------------------------ inputs (other threads)
    def on_bar(self, bar: Bar, receive_ns: int) -> None:
        """Provider sink (provider thread)."""
        self.inbox.put(("bar", bar, receive_ns, time.perf_counter_ns()))

    def on_bar_update(self, bar: Bar, receive_ns: int) -> None:
        """Corrections of delivered bars (e.g. Alpaca updatedBars) replace them in time order; one for
        a bar time not processed yet (e.g. the first bar was quarantined) is taken as the bar."""
        self.inbox.put(("update", bar, receive_ns, time.perf_counter_ns()))

    def on_bar_time_complete(self, interval: str, ts: int, receive_ns: int) -> None:
        """Provider sink: every bar of bar time `ts` that will come has been delivered."""
        if interval == self.base_interval:
            self.inbox.put(("complete", ts))

    def deliver_fill(self, gap: Gap, bars: list) -> None:
        """GapFiller callback (filler thread)."""
        self.inbox.put(("fill", gap, bars, time.perf_counter()))

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        first = self.sessions[0]
        self._warmup(first.date)
        self.pipeline.start_strategies()
        self.historical.prepare(first.date, self.sessions[-1].date)
        self.provider.set_bar_sink(self.on_bar)
        self.provider.set_bar_update_sink(self.on_bar_update)
        self.provider.set_bar_time_sink(self.on_bar_time_complete)
        self.provider.subscribe(self.symbols, [self.base_interval])
        self.provider.connect()
        self.gap_filler.start()
        self.pipeline.on_gap(self._new_gaps.append)
        try:
            for session in self.sessions:
                if self._should_stop():
                    break
                if self.clock.now_ns() >= session.close_ns:
                    continue
                if not self._wait_for(session.open_ns - 1):
                    break
                self._initialize(session)
                self.historical.load_session(session.date)
                self._activate(session)
                self._catch_up(session)
                stopped = not self._stream(session)
                self._end(session, stopped)
                if stopped:
                    break
            else:
                self.completed = True
        finally:
            self.gap_filler.stop(1.0)
            self.provider.close()
        self._check_stage_errors()

    def _should_stop(self) -> bool:
        self._check_provider()
        return self.control.stopping or (self.deadline_wall is not None and time.monotonic() >= self.deadline_wall)

    def _check_provider(self) -> None:
        """A FAILED provider (rejected key, refused subscription, wrong URL) will stream nothing more:
        end the run with its reason instead of idling until the duration is over."""
        if self.provider.health is ProviderHealth.FAILED:
            history = self.provider.health_history()
            detail = history[-1].detail if history else "no detail"
            raise ProviderError(f"the live feed ({self.provider.name}) failed: {detail}")

    def _wait_for(self, market_ns: int) -> bool:
        """Wait (draining nothing) until the live clock reaches `market_ns`."""
        while self.clock.now_ns() < market_ns:
            if self._should_stop():
                return False
            speed = getattr(self.clock, "speed", 1.0)
            time.sleep(min(0.05, max(0.0, (market_ns - self.clock.now_ns()) / 1e9 / speed)))
        return True

    def _clock_to(self, ts_ns: int) -> None:
        """The live clock moves by itself."""

    def _initialize(self, session: TradingSession) -> None:
        super()._initialize(session)
        self._pending.clear()
        self._arrival.clear()
        self._complete.clear()
        self._processed_upto = session.open_ns - self.base_ns

    # ------------------------------------------------------------------ catch-up
    def _catch_up(self, session: TradingSession) -> None:
        """Started after the open: process the session so far from the provider's history, like a
        backtest, so derived bars, indicators, quality and paper positions are what they would be
        had the workstation run since the open. All symbols are asked in a few multi-symbol
        requests (rate limits are waited out by the provider); bar times without a bar in the
        answer become known empty. Bars then arriving live that were caught up are dropped as
        duplicates; any hole in between is a gap like any other."""
        upto = min(self.clock.now_ns(), session.close_ns)
        upto -= (upto - session.open_ns) % self.base_ns          # bars that have ENDED by now
        if upto - session.open_ns < self.base_ns:
            return
        with self.metrics.timer("live.catch_up"):
            asked_at = self.clock.now_ns()
            try:
                answer = self.provider.request_history_many(self.symbols, self.base_interval, session.open_ns,
                                                            upto, CATCH_UP_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - the session then starts with gaps, filled later
                log.warning("catch-up history of %d symbols failed: %s", len(self.symbols), exc)
                self.catch_up_error = str(exc)
                return
            asked_at = getattr(answer, "served_at_ns", None) or asked_at   # after any rate-limit wait
            rows: list[tuple[int, int, Bar]] = []
            now = self.clock.now_ns()
            for i, sym in enumerate(self.symbols):
                good = [b for b in answer.get(sym) or []
                        if session.open_ns <= b.timestamp < upto
                        and self.bar_checks.admit(b, now, session, source="history")]
                self.known_empty.record_answer(sym, session.open_ns, upto, (b.timestamp for b in good), asked_at)
                rows.extend((b.timestamp, i, b) for b in good)
            rows.sort(key=lambda r: (r[0], r[1]))
            k = 0
            wall = time.perf_counter_ns()
            while k < len(rows):
                ts = rows[k][0]
                group = {}
                while k < len(rows) and rows[k][0] == ts:
                    group[rows[k][1]] = (rows[k][2], wall)
                    k += 1
                self._process_bar_time(ts, group, record_latency=False)
            self.caught_up_bars += len(rows)
        self._hand_over_gaps()

    def _hand_over_gaps(self) -> None:
        """Give the gaps found since the last call to the gap filler in one go, after the bar times
        were processed: waking the filler's thread in the middle of a bar time would make the
        coordinator wait for the interpreter lock (up to the 5 ms switch interval)."""
        if self._new_gaps:
            gaps = []
            while self._new_gaps:
                gaps.append(self._new_gaps.popleft())
            self.gap_filler.submit_many(gaps)

    # ------------------------------------------------------------------ streaming
    def _stream(self, session: TradingSession, session_index: int = 0, first: int = 0,
                resumed: bool = False) -> bool:  # live runs never seek: the position arguments are unused
        end_at = session.close_ns + self.grace_ns
        while True:
            if self._should_stop():
                return False
            if not self.control.gate():
                return False
            now = self.clock.now_ns()
            self._drain(timeout=0.001 if self._pending else 0.02)
            self._process_due(session, self.clock.now_ns())
            self._hand_over_gaps()
            if now >= end_at:
                break
        # trailing gaps (symbols whose last bars never came) are found by the quality manager and
        # filled like any other before the session ends
        self.pipeline.trailing_gaps(session.close_ns)
        self._hand_over_gaps()
        deadline = time.monotonic() + self.end_wait_s
        while time.monotonic() < deadline:
            self._drain(timeout=0.02)
            self._hand_over_gaps()
            if self.gap_filler.pending() == 0 and self.inbox.empty():
                break
        self._drain(timeout=0.0)
        return True

    def _drain(self, timeout: float) -> None:
        try:
            item = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return
        late: list[tuple[Bar, int]] = []
        session = self.current_session
        checks = self.bar_checks
        clock = self.clock
        messages, last_bar_ts, feed_latency = self.messages, self.last_bar_ts, self.feed_latency_ms
        while True:
            kind = item[0]
            if kind == "bar" or kind == "update":
                bar, recv, wall = item[1], item[2], item[3]
                # the clock is read per bar: one queued after a single reading could look unfinished
                if checks.admit(bar, clock.now_ns(), session, source="stream" if kind == "bar" else "update"):
                    i = self.sym_index[bar.symbol]
                    ts = bar.timestamp
                    if kind == "bar":
                        messages[i] += 1
                        if ts > last_bar_ts[i]:
                            last_bar_ts[i] = ts
                        # receive - bar end on the live clock, in wall ms (a replay clock runs faster)
                        feed_latency[i] = (recv - ts - self.base_ns) / 1e6 / self._speed
                    # (a symbol's processed bar times never pass the newest processed bar time)
                    if ts <= self._processed_upto:
                        late.append((bar, wall))
                    else:
                        self._pending[ts][i] = (bar, wall)
                        self._arrival[ts] = wall
            elif kind == "complete":
                if item[1] in self._pending:
                    self._complete.add(item[1])
            elif kind == "fill":
                self._apply_fill(item[1], item[2], item[3])
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
        if late:
            self._insert_late(late)

    def _process_due(self, session: TradingSession, now: int) -> None:
        """Process bar times in order once complete: every symbol arrived, or the provider said the
        bar time is complete, or no bar for that time arrived for `batch_quiet_ms` (wall), or the
        clock is `grace` past the bar's end. Bars that come after that are late bars (inserted in
        time order)."""
        n = len(self.symbols)
        wall = time.perf_counter_ns()
        complete = self._complete
        for ts in sorted(self._pending):
            group = self._pending[ts]
            if (len(group) < n and ts not in complete and now < ts + self.base_ns + self.grace_ns
                    and wall - self._arrival.get(ts, wall) < self.batch_quiet_ns):
                break
            del self._pending[ts]
            self._arrival.pop(ts, None)
            complete.discard(ts)
            self._process_bar_time(ts, group)

    def _process_bar_time(self, ts: int, group: dict[int, tuple[Bar, int]], record_latency: bool = True) -> None:
        t0 = time.perf_counter_ns()
        idx = np.fromiter(sorted(group), dtype=np.int64, count=len(group))
        bars = [group[i][0] for i in idx.tolist()]
        o = np.array([b.open for b in bars])
        h = np.array([b.high for b in bars])
        lo = np.array([b.low for b in bars])
        c = np.array([b.close for b in bars])
        v = np.array([b.volume for b in bars])
        self._run_bar_time(ts, idx, o, h, lo, c, v, None)
        self._processed_upto = max(self._processed_upto, ts)
        if record_latency:
            done = time.perf_counter_ns()
            self.latencies_ms.extend((done - group[i][1]) / 1e6 for i in idx.tolist())
        self.bars_processed += len(idx)
        self.metrics.incr("bars.processed", len(idx))
        if record_latency and not self.inbox.empty():
            self.metrics.incr("overruns.live_backlog")
        if self.events.wants("bars"):
            self.events.emit("bars", Bars(ts, self.base_interval, idx))
        self.metrics.record("coordinator.iteration", (time.perf_counter_ns() - t0) / 1e9)
        self._check_stage_errors()

    # ------------------------------------------------------------------ late data and fills
    def _insert_late(self, items: list[tuple[Bar, int]], from_fill: bool = False) -> list[int]:
        """Insert bars that arrive after their symbol moved on; items are (bar, wall receive ns).
        Streamed bars were checked on arrival; history bars (`from_fill`) are checked here."""
        changed: set[int] = set()
        now = self.clock.now_ns()
        for bar, wall in items:
            if from_fill and not self.bar_checks.admit(bar, now, self.current_session, source="history"):
                continue
            i = self.sym_index[bar.symbol]
            self.known_empty.forget(bar.symbol, bar.timestamp)
            existing = self.sd.bars_between(bar.symbol, self.base_interval, bar.timestamp, bar.timestamp + 1)
            if len(existing.timestamp) and float(existing.close[0]) == bar.close and \
                    float(existing.volume[0]) == bar.volume and float(existing.open[0]) == bar.open:
                self.duplicate_bars += 1
                continue
            pending = self._pending.get(bar.timestamp)
            if pending is not None and bar.timestamp > self._processed_upto:
                pending[i] = (bar, wall)
                continue
            self.sd.insert_bar(bar.symbol, self.base_interval, bar.timestamp, bar.open, bar.high, bar.low,
                               bar.close, bar.volume)
            if from_fill:
                self.filled_bars += 1
            else:
                self.late_bars += 1
                self.late_marks.append((bar.symbol, bar.timestamp))
            changed.add(i)
        if changed:
            idx = np.array(sorted(changed), dtype=np.int64)
            self.pipeline.revise(idx, self.clock.now_ns())
        return sorted(changed)

    def _apply_fill(self, gap: Gap, bars: list, t_answer: float) -> None:
        inside = [b for b in bars if gap.start_ns <= b.timestamp <= gap.end_ns]
        self._insert_late([(b, time.perf_counter_ns()) for b in inside], from_fill=True)
        gap.filled = self.bars_present(gap)
        gap.no_trades = self.known_empty.count_between(gap.symbol, gap.start_ns, gap.end_ns)
        if gap.filled + gap.no_trades >= gap.missing:
            gap.status = GapStatus.FILLED if gap.filled else GapStatus.NO_TRADES
            self.gap_resolved(gap)
        self.fill_latencies_ms.append((time.perf_counter() - t_answer) * 1e3)
        if self.events.wants("gap"):
            self.events.emit("gap", gap)

    def bars_present(self, gap: Gap) -> int:
        """Streamed bars of the gap's symbol now in SessionData inside the gap (any thread)."""
        return len(self.present_starts(gap))

    def present_starts(self, gap: Gap) -> np.ndarray:
        """Bar starts of the gap's symbol now in SessionData inside the gap (any thread)."""
        return self.sd.bars_between(gap.symbol, self.base_interval, gap.start_ns, gap.end_ns + 1).timestamp

    def gap_resolved(self, gap: Gap) -> None:
        """Count a gap settled as filled or as no trades in the quality totals."""
        t = self.pipeline.quality.totals.get(gap.symbol)
        if t is None:
            return
        key = "gaps_filled" if gap.status is GapStatus.FILLED else "gaps_no_trades"
        t[key] = t.get(key, 0) + 1

    def gap_failed(self, gap: Gap) -> None:
        t = self.pipeline.quality.totals.get(gap.symbol)
        if t is not None:
            t["gaps_failed"] += 1
