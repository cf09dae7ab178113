"""ProviderFeed: the live feed of the session coordinator: provider callbacks in, bar times out.

The same coordinator, stages and strategies as a backtest read it (workstation.pipeline.feed); only
where the bar times come from differs. Bars arrive from the provider's thread into the feed's inbox
(typed messages). Every bar is checked first (workstation.live.bar_checks: a bad bar is
quarantined, never stored, and cannot move the clock or make later bars late). A bar time is handed
to the coordinator (all symbols' bars at that time together, like a backtest) once every symbol has
its bar, the provider says the bar time is complete (a replay can), no bar for it came for
`batch_quiet_ms` (wall), or the live clock is `grace` past the bar's end. A bar that arrives after
its bar time was handed over (a late bar) or a gap-fill answer becomes a LateBars item: the
coordinator inserts it in time order and the processor rebuilds that symbol's derived bars and
indicators.

Started after the open, a session is first caught up from the provider's history in a few
multi-symbol requests (one block of bar times, like a backtest session); bar times the answer
shows without a bar become known empty (workstation.live.known_empty), so their gaps need no
request. At the close (+ grace) the feed asks for the trailing gaps (TrailingGaps) and waits, bounded
by `end_wait_s`, for the gap filler to settle them before the session ends. A provider that goes
FAILED (e.g. the API key was rejected) ends the run with ProviderError; `duration_s` ends it too.

Gaps: the quality stage finds them (its `on_gap` hook hands the feed a copy); the feed hands them to
its GapFiller after the bar times were processed. The filler owns every gap's status (GapStatus)
and reports each change as a GapStatusChanged message; the feed passes them on to the coordinator,
which has the quality stage apply them in its own thread (no other thread writes quality's state).

Threads: `session()`'s iterator runs in the coordinator's thread; `on_bar`, `on_bar_update`,
`on_bar_time_complete` in the provider's; `_fill_answer` and `_gap_status` in the filler's: those
only queue. Times are int ns UTC, bar timestamps are bar STARTS; latencies are wall milliseconds.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from workstation.calendar import TradingSession
from workstation.errors import ProviderError
from workstation.live.bar_checks import LiveBarChecks
from workstation.live.gap_filler import GapFiller
from workstation.live.known_empty import KnownEmptyMinutes
from workstation.live.provider import ProviderHealth
from workstation.model import Bar
from workstation.pipeline.feed import (
    BarTimes,
    Feed,
    FeedItem,
    FeedRun,
    GapStatusChanged,
    LateBars,
    SessionStream,
    TrailingGaps,
)
from workstation.pipeline.quality import Gap

log = logging.getLogger(__name__)

LATE_MARKS_KEPT = 10_000
CATCH_UP_TIMEOUT_S = 120.0          # history requests of the catch-up (rate limits may make them wait)


# ---------------------------------------------------------------------- inbox messages (other threads -> feed)
class BarArrived(NamedTuple):
    """A streamed bar (`update`: a correction of a delivered bar, e.g. Alpaca updatedBars). A typed
    record read by name; a NamedTuple, not a frozen dataclass, because one is made per bar on the
    provider's thread (0.2 us instead of 0.5 us: a burst of 100 bars holds the interpreter lock less)."""

    bar: Bar
    receive_ns: int              # provider clock
    wall_ns: int                 # perf_counter_ns when queued (latency start)
    update: bool


@dataclass(frozen=True, slots=True)
class BarTimeComplete:
    """The provider says every bar of bar time `bar_start_ns` that will come has been delivered."""

    bar_start_ns: int


@dataclass(frozen=True, slots=True)
class FillAnswer:
    """The gap filler's history answer for `gap` (bars not inserted yet)."""

    gap: Gap
    bars: tuple[Bar, ...]
    answered_at: float           # perf_counter seconds


@dataclass(frozen=True, slots=True)
class FillSettings:
    """How the feed's gap filler works (config `gap_filler`)."""

    max_retries: int
    retry_interval_s: float
    first_delay_s: float         # give a merely late bar time this long (wall) before asking


class ProviderFeed(Feed):
    """Live bar times from a MarketDataProvider on the live clock; built before the SystemManager
    and given to it (with the same clock)."""

    drives_clock = False
    paced = False
    rewindable = False

    def __init__(self, provider, clock, fill: FillSettings, grace_s: float = 2.0, batch_quiet_ms: float = 2.0,
                 end_wait_s: float = 5.0, duration_s: float | None = None,
                 known_empty: KnownEmptyMinutes | None = None):
        super().__init__()
        self.provider = provider
        self.clock = clock
        self.fill = fill
        self.grace_ns = int(grace_s * 1e9)
        self.batch_quiet_ns = int(batch_quiet_ms * 1e6)
        self.end_wait_s = end_wait_s
        self.duration_s = duration_s
        self.deadline_wall: float | None = None
        self.known_empty = known_empty
        self._speed = float(getattr(clock, "speed", 1.0))
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.gap_filler: GapFiller | None = None
        self.bar_checks: LiveBarChecks | None = None
        self.symbols: list[str] = []
        self.latencies_ms: list[float] = []          # bar receive -> strategies done, per bar
        self.fill_latencies_ms: list[float] = []     # history answer -> inserted and recomputed
        self.late_bars = 0                  # bars that arrived after their bar time was processed
        self.late_marks: deque[tuple[str, int]] = deque(maxlen=LATE_MARKS_KEPT)  # their (symbol, bar start)
        self.filled_bars = 0                # bars inserted from gap fills
        self.caught_up_bars = 0
        self.catch_up_error: str | None = None
        self.duplicate_bars = 0
        self._new_gaps: deque[Gap] = deque()        # found by the quality stage, not yet handed over
        self._pending: dict[int, dict[int, tuple[Bar, int]]] = defaultdict(dict)
        self._arrival: dict[int, int] = {}          # bar time -> wall ns of its newest arrival
        self._complete: set[int] = set()            # pending bar times the provider says are complete
        self._processed_upto = -1                   # newest bar time handed over (all symbols)
        self._session: TradingSession | None = None
        # per symbol, updated per bar in the coordinator's thread (Python lists: cheaper per item than
        # numpy scalars); read through live_status() as arrays
        self.last_bar_ts: list[int] = []          # newest bar start received
        self.feed_latency_ms: list[float] = []    # receive time - bar end (live clock), wall ms
        self.messages: list[int] = []

    # ------------------------------------------------------------------ build (SystemManager)
    def bind(self, run: FeedRun) -> None:
        super().bind(run)
        if run.clock is not self.clock:
            raise ValueError("the live feed and the run must share one clock (pass the feed's clock to the run)")
        self.symbols = list(run.symbols)
        self.sym_index = {s: i for i, s in enumerate(self.symbols)}
        self.base_interval, self.base_ns = run.base_interval, run.base_ns
        if self.known_empty is None:
            self.known_empty = KnownEmptyMinutes(self.base_ns)
        self.bar_checks = LiveBarChecks(self.symbols, self.base_interval, self.base_ns)
        n = len(self.symbols)
        self.last_bar_ts = [-1] * n
        self.feed_latency_ms = [math.nan] * n
        self.messages = [0] * n
        self.gap_filler = GapFiller(
            self.provider, self._fill_answer, self.base_interval, self.base_ns, self.fill.max_retries,
            self.fill.retry_interval_s, run.events, first_delay_s=self.fill.first_delay_s,
            present_starts=self.present_starts, known_empty=self.known_empty, clock=self.clock,
            on_status=self._gap_status)

    @property
    def outside_session(self) -> int:
        """Good bars that fell outside the session (pre-/post-market, another day): ignored."""
        return self.bar_checks.outside_session if self.bar_checks is not None else 0

    # ------------------------------------------------------------------ inputs (other threads: only queue)
    def on_bar(self, bar: Bar, receive_ns: int) -> None:
        """Provider sink (provider thread)."""
        self.inbox.put(BarArrived(bar, receive_ns, time.perf_counter_ns(), False))

    def on_bar_update(self, bar: Bar, receive_ns: int) -> None:
        """Corrections of delivered bars (e.g. Alpaca updatedBars) replace them in time order; one for
        a bar time not processed yet (e.g. the first bar was quarantined) is taken as the bar."""
        self.inbox.put(BarArrived(bar, receive_ns, time.perf_counter_ns(), True))

    def on_bar_time_complete(self, interval: str, ts: int, receive_ns: int) -> None:
        """Provider sink: every bar of bar time `ts` that will come has been delivered."""
        if interval == self.base_interval:
            self.inbox.put(BarTimeComplete(ts))

    def gap_sink(self):
        return self.on_gap

    def on_gap(self, gap: Gap) -> None:
        """Quality stage hook (its thread): a gap found, to be handed to the filler after the bar time."""
        self._new_gaps.append(gap)

    def _fill_answer(self, gap: Gap, bars: list) -> None:
        """GapFiller callback (filler thread)."""
        self.inbox.put(FillAnswer(gap, tuple(bars), time.perf_counter()))

    def _gap_status(self, change: GapStatusChanged) -> None:
        """GapFiller callback (filler thread): passed on to the quality stage."""
        self.inbox.put(change)

    def present_starts(self, gap: Gap):
        """Bar starts of the gap's symbol now in SessionData inside the gap (any thread)."""
        assert self.run is not None
        return self.run.session_data.bars_between(gap.symbol, self.base_interval, gap.start_ns,
                                                  gap.end_ns + 1).timestamp

    # ------------------------------------------------------------------ run (coordinator thread)
    def run_starts(self) -> None:
        """The run starts now (SystemManager.start): a replay clock restarts its pace, the duration
        starts counting."""
        if hasattr(self.clock, "rebase"):
            self.clock.rebase()                 # a replay starts when the run starts, not when built
        self.deadline_wall = time.monotonic() + self.duration_s if self.duration_s else None

    def open(self) -> None:
        p = self.provider
        p.set_bar_sink(self.on_bar)
        p.set_bar_update_sink(self.on_bar_update)
        p.set_bar_time_sink(self.on_bar_time_complete)
        p.subscribe(self.symbols, [self.base_interval])
        p.connect()
        assert self.gap_filler is not None
        self.gap_filler.start()

    def close(self) -> None:
        try:
            if self.gap_filler is not None:
                self.gap_filler.stop(1.0)
        finally:
            self.provider.close()

    def stopping(self) -> bool:
        self._check_provider()
        assert self.run is not None
        return self.run.control.stopping or (self.deadline_wall is not None and time.monotonic() >= self.deadline_wall)

    def _check_provider(self) -> None:
        """A FAILED provider (rejected key, refused subscription, wrong URL) will stream nothing more:
        end the run with its reason instead of idling until the duration is over."""
        if self.provider.health is ProviderHealth.FAILED:
            history = self.provider.health_history()
            detail = history[-1].detail if history else "no detail"
            raise ProviderError(f"the live feed ({self.provider.name}) failed: {detail}")

    def passed(self, session: TradingSession) -> bool:
        return self.clock.now_ns() >= session.close_ns

    def wait_for_open(self, session: TradingSession) -> bool:
        """Wait (draining nothing) until the live clock reaches the open."""
        market_ns = session.open_ns - 1
        while self.clock.now_ns() < market_ns:
            if self.stopping():
                return False
            time.sleep(min(0.05, max(0.0, (market_ns - self.clock.now_ns()) / 1e9 / self._speed)))
        return True

    def session(self, session: TradingSession, resumed: bool = False) -> SessionStream:
        self._session = session
        self._pending.clear()
        self._arrival.clear()
        self._complete.clear()
        self._processed_upto = session.open_ns - self.base_ns
        stream = SessionStream(iter(()))
        stream.items = self._items(session, stream)
        return stream

    def _items(self, session: TradingSession, stream: SessionStream) -> Iterator[FeedItem]:
        caught_up = self._catch_up(session)
        if caught_up is not None:
            yield caught_up
        self._hand_over_gaps()
        end_at = session.close_ns + self.grace_ns
        while True:
            if self.stopping():
                stream.stopped = True
                return
            now = self.clock.now_ns()
            yield from self._drain(timeout=0.001 if self._pending else 0.02)
            due = self._due(self.clock.now_ns())
            if due is not None:
                yield due
            self._hand_over_gaps()
            if now >= end_at:
                break
        # trailing gaps (symbols whose last bars never came) are found by the quality stage and
        # filled like any other before the session ends
        yield TrailingGaps(session.close_ns)
        self._hand_over_gaps()
        filler = self.gap_filler
        assert filler is not None
        deadline = time.monotonic() + self.end_wait_s
        while time.monotonic() < deadline:
            yield from self._drain(timeout=0.02)
            self._hand_over_gaps()
            if filler.pending() == 0 and self.inbox.empty():
                break
        yield from self._drain(timeout=0.0)

    # ------------------------------------------------------------------ catch-up
    def _catch_up(self, session: TradingSession) -> BarTimes | None:
        """Started after the open: the session so far from the provider's history as one block of bar
        times, processed like a backtest, so derived bars, indicators, quality and paper positions are
        what they would be had the workstation run since the open. All symbols are asked in a few
        multi-symbol requests (rate limits are waited out by the provider); bar times without a bar in
        the answer become known empty. Bars then arriving live that were caught up are dropped as
        duplicates; any hole in between is a gap like any other."""
        assert self.run is not None and self.bar_checks is not None and self.known_empty is not None
        upto = min(self.clock.now_ns(), session.close_ns)
        upto -= (upto - session.open_ns) % self.base_ns          # bars that have ENDED by now
        if upto - session.open_ns < self.base_ns:
            return None
        with self.run.metrics.timer("live.catch_up"):
            asked_at = self.clock.now_ns()
            try:
                answer = self.provider.request_history_many(self.symbols, self.base_interval, session.open_ns,
                                                            upto, CATCH_UP_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - the session then starts with gaps, filled later
                log.warning("catch-up history of %d symbols failed: %s", len(self.symbols), exc)
                self.catch_up_error = str(exc)
                return None
            asked_at = getattr(answer, "served_at_ns", None) or asked_at   # after any rate-limit wait
            rows: list[tuple[int, int, Bar]] = []
            now = self.clock.now_ns()
            for i, sym in enumerate(self.symbols):
                good = [b for b in answer.get(sym) or []
                        if session.open_ns <= b.timestamp < upto
                        and self.bar_checks.admit(b, now, session, source="history")]
                self.known_empty.record_answer(sym, session.open_ns, upto, (b.timestamp for b in good), asked_at)
                rows.extend((b.timestamp, i, b) for b in good)
        if not rows:
            return None
        rows.sort(key=lambda r: (r[0], r[1]))
        self.caught_up_bars += len(rows)
        self._processed_upto = max(self._processed_upto, rows[-1][0])
        return BarTimes.from_bars(rows)

    def _hand_over_gaps(self) -> None:
        """Give the gaps found since the last call to the gap filler in one go, after the bar times
        were processed: waking the filler's thread in the middle of a bar time would make the
        coordinator wait for the interpreter lock (up to the 5 ms switch interval)."""
        if self._new_gaps:
            gaps = []
            while self._new_gaps:
                gaps.append(self._new_gaps.popleft())
            assert self.gap_filler is not None
            self.gap_filler.submit_many(gaps)

    # ------------------------------------------------------------------ streaming
    def _drain(self, timeout: float) -> Iterator[FeedItem]:
        """Take what the inbox holds (waiting up to `timeout` for the first message): bars go to their
        pending bar time or are late; fills and gap status changes are handed on."""
        try:
            msg = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return
        late: list[tuple[Bar, int]] = []
        session = self._session
        checks = self.bar_checks
        assert checks is not None and self.gap_filler is not None
        clock = self.clock
        messages, last_bar_ts, feed_latency = self.messages, self.last_bar_ts, self.feed_latency_ms
        while True:
            kind = type(msg)
            if kind is BarArrived:
                bar = msg.bar
                # the clock is read per bar: one queued after a single reading could look unfinished
                if checks.admit(bar, clock.now_ns(), session, source="update" if msg.update else "stream"):
                    i = self.sym_index[bar.symbol]
                    ts = bar.timestamp
                    if not msg.update:
                        messages[i] += 1
                        if ts > last_bar_ts[i]:
                            last_bar_ts[i] = ts
                        # receive - bar end on the live clock, in wall ms (a replay clock runs faster)
                        feed_latency[i] = (msg.receive_ns - ts - self.base_ns) / 1e6 / self._speed
                    # (a symbol's processed bar times never pass the newest processed bar time)
                    if ts <= self._processed_upto:
                        late.append((bar, msg.wall_ns))
                    else:
                        self._pending[ts][i] = (bar, msg.wall_ns)
                        self._arrival[ts] = msg.wall_ns
            elif kind is BarTimeComplete:
                if msg.bar_start_ns in self._pending:
                    self._complete.add(msg.bar_start_ns)
            elif kind is FillAnswer:
                gap = msg.gap
                inside = [(b, time.perf_counter_ns()) for b in msg.bars if gap.start_ns <= b.timestamp <= gap.end_ns]
                insert = self._late_bars(inside, from_fill=True)
                if insert is not None:
                    yield insert
                # inserted and recomputed: the filler settles the gap's status from what is present now
                self.gap_filler.fill_applied(gap)
                self.fill_latencies_ms.append((time.perf_counter() - msg.answered_at) * 1e3)
            elif kind is GapStatusChanged:
                yield msg
            try:
                msg = self.inbox.get_nowait()
            except queue.Empty:
                break
        if late:
            insert = self._late_bars(late)
            if insert is not None:
                yield insert

    def _due(self, now: int) -> BarTimes | None:
        """The pending bar times, in order, that are complete: every symbol arrived, or the provider
        said the bar time is complete, or no bar for that time arrived for `batch_quiet_ms` (wall), or
        the clock is `grace` past the bar's end. Bars that come after that are late bars."""
        if not self._pending:
            return None
        n = len(self.symbols)
        wall = time.perf_counter_ns()
        complete = self._complete
        bar_starts: list[int] = []
        stamps: list[int] = []
        index: list[int] = []
        bars: list[Bar] = []
        walls: list[int] = []
        bounds = [0]
        for ts in sorted(self._pending):
            group = self._pending[ts]
            if (len(group) < n and ts not in complete and now < ts + self.base_ns + self.grace_ns
                    and wall - self._arrival.get(ts, wall) < self.batch_quiet_ns):
                break
            del self._pending[ts]
            self._arrival.pop(ts, None)
            complete.discard(ts)
            order = sorted(group)
            index += order
            stamps += [ts] * len(order)
            for i in order:
                bar, received = group[i]
                bars.append(bar)
                walls.append(received)
            bounds.append(len(bars))
            bar_starts.append(ts)
            self._processed_upto = max(self._processed_upto, ts)
        if not bars:
            return None
        latencies, inbox, metrics = self.latencies_ms, self.inbox, self.run.metrics if self.run else None
        paused_between = self.run.control.paused_between if self.run else lambda _start, _end: 0

        def done(k: int) -> None:
            """Bar time k ran through the strategies: its bars' receive -> decision latencies, less the time
            the run stood paused meanwhile (the user's pause is not the engine's latency)."""
            end = time.perf_counter_ns()
            latencies.extend((end - w - paused_between(w, end)) / 1e6 for w in walls[bounds[k]:bounds[k + 1]])
            if metrics is not None and not inbox.empty():
                metrics.incr("overruns.live_backlog")

        # built column by column (not through BarTimes.from_bars): this is on the latency path
        return BarTimes(np.array(stamps, dtype=np.int64), np.array(index, dtype=np.int64),
                        np.array([b.open for b in bars], dtype=float), np.array([b.high for b in bars], dtype=float),
                        np.array([b.low for b in bars], dtype=float), np.array([b.close for b in bars], dtype=float),
                        np.array([b.volume for b in bars], dtype=float), bounds[:-1], bounds[1:], bar_starts, done)

    # ------------------------------------------------------------------ late data and fills
    def _late_bars(self, items: list[tuple[Bar, int]], from_fill: bool = False) -> LateBars | None:
        """Bars that arrive after their symbol moved on; items are (bar, wall receive ns). Streamed bars
        were checked on arrival; history bars (`from_fill`) are checked here. A bar already stored
        unchanged is a duplicate; one for a bar time still pending joins it. The rest: a LateBars item."""
        assert self.run is not None and self.bar_checks is not None and self.known_empty is not None
        sd = self.run.session_data
        now = self.clock.now_ns()
        bars: list[Bar] = []
        index: list[int] = []
        seen: dict[tuple[int, int], Bar] = {}
        for bar, wall in items:
            if from_fill and not self.bar_checks.admit(bar, now, self._session, source="history"):
                continue
            i = self.sym_index[bar.symbol]
            self.known_empty.forget(bar.symbol, bar.timestamp)
            same = seen.get((i, bar.timestamp))       # an earlier bar of this batch, inserted before this one
            stored: tuple[float, float, float] | None
            if same is not None:
                stored = (same.open, same.close, same.volume)
            else:
                existing = sd.bars_between(bar.symbol, self.base_interval, bar.timestamp, bar.timestamp + 1)
                stored = ((float(existing.open[0]), float(existing.close[0]), float(existing.volume[0]))
                          if len(existing.timestamp) else None)
            if stored == (bar.open, bar.close, bar.volume):
                self.duplicate_bars += 1
                continue
            pending = self._pending.get(bar.timestamp)
            if pending is not None and bar.timestamp > self._processed_upto:
                pending[i] = (bar, wall)
                continue
            bars.append(bar)
            index.append(i)
            seen[(i, bar.timestamp)] = bar
            if from_fill:
                self.filled_bars += 1
            else:
                self.late_bars += 1
                self.late_marks.append((bar.symbol, bar.timestamp))
        return LateBars(tuple(bars), tuple(index), from_fill) if bars else None
