"""SessionCoordinator: the loop over sessions that drives the clock and streams bars (one thread).

One loop for backtests and live runs; its feed (workstation.pipeline.feed) says where the bar times
come from: a StoreFeed (stored bars, `prefetch_days` sessions read ahead in a background loader; the
coordinator sets the simulated clock) or a live ProviderFeed (workstation.live.feed: provider bars on
a live clock that moves by itself, plus late bars, gap fills, trailing gaps and gap status changes
handed over between bar times as typed items).

Per session: initialize (reset session state, streamed vs generated intervals), historical
(trailing bars, historical indicators and quality), activate, streaming (take the feed's next bar
time, set a simulated clock to that bar's END, write every bar at that time to SessionData, hand the
bar time to the Pipeline and wait until its stages are done), end (clock to the close, session report, roll history, clear
session bars) and advance to the next trading date.

Pace: speed 0 is data-driven (every stage finishes a bar time before the next; nothing skipped);
a live feed's bar times are paced by their arrival; stored ones at speed > 0 are clock-driven (one
market minute takes 60/speed wall seconds) and a stage not ready when the next bar time is due
counts an overrun (the work is queued, never lost).

Hand orders (`manual_orders`, workstation.execution.manual): between two bar times the coordinator
takes the due commands from the inbox and has the Pipeline's analysis engine apply them in its
thread (the broker's owner), also while paused or waiting for the next paced bar time (`RunControl.wake`).

Step back and seek (`snapshots`, a SnapshotKeeper, when the run is rewindable): before each
session's first bar time and every K bar times the state is snapshotted; a seek back restores the
nearest snapshot at or before the target and replays forward headless (no pacing, no gate) until
the next bar time starts after the target, then pauses and emits "seek" (SeekDone). A seek forward
just replays forward. Hand orders are journaled by position and re-applied on the replay; the ones
after the target are discarded.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.calendar import TradingSession
from workstation.errors import WorkstationError
from workstation.events import Bars
from workstation.model import parse_interval
from workstation.pipeline.bar_times import bar_time_slices  # noqa: F401 - re-exported (tests import it here)
from workstation.pipeline.control import Gate, HostGate
from workstation.pipeline.feed import BarTimes, Feed, GapStatusChanged, LateBars, TrailingGaps
from workstation.pipeline.pipeline import Pipeline
from workstation.pipeline.stage_events import BarTime
from workstation.pipeline.subscription import default_thread
from workstation.pipeline.warmup import WarmupLoader, warmup_counts

if TYPE_CHECKING:
    from workstation.pipeline.snapshots import SnapshotKeeper

log = logging.getLogger(__name__)


class SessionCoordinator:
    """Owns the clock's progress; built and started by the SystemManager."""

    def __init__(self, cfg, store, tm, session_data, clock, pipeline: Pipeline, historical, metrics, events, control,
                 sessions: list[TradingSession], manual_orders=None, *, feed: Feed):
        self.cfg = cfg
        self.store = store
        self.tm = tm
        self.sd = session_data
        self.clock = clock
        self.pipeline = pipeline         # the stages: the coordinator talks to them through it only
        self.historical = historical
        self.metrics = metrics
        self.events = events
        self.control = control
        self.sessions = sessions
        self.manual_orders = manual_orders   # ManualOrderInbox or None (hand orders, see apply_manual_orders)
        self.base_interval = cfg.streams.interval
        self.base_ns = parse_interval(self.base_interval).ns
        self.symbols = list(cfg.symbols)
        self.feed = feed        # where the bar times come from (bound to the run by the SystemManager)
        self.sessions_done = 0
        self.current_session: TradingSession | None = None
        self.bars_processed = 0
        self.missing_sessions: dict[str, list[str]] = {}
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.completed = False          # reached the end of the backtest (not stopped)
        self._t_end_prev = 0.0
        # a host's (the window's) gate: while it is closed the session loop waits after each bar time
        self.host_gate: HostGate | None = None
        self._thread: threading.Thread | None = None
        self.on_first_bar: Callable[[Any], None] | None = None  # given the metrics at the first bar time
        self.snapshots: SnapshotKeeper | None = None   # when the run is rewindable (step back, seek)
        self.position = 0               # bar times delivered in this run
        self._bar_starts: list[int] = []   # start of each delivered bar time, by position
        self._replay_until: int | None = None   # seek target while replaying headless
        self._seek_started = 0.0
        self._seek_restored = -1
        self._seek_from = 0
        self._journal_horizon = 0       # a replay re-applies journaled hand orders below this position
        self._journal_last = -1         # ... once: the last position they were re-applied at

    # ------------------------------------------------------------------ thread
    def start(self, thread_factory=None) -> None:
        """Run the session loop in its own thread (`thread_factory(target, name)`, default threading)."""
        self._thread = (thread_factory or default_thread)(self._run_guarded, "SessionCoordinator")
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run_guarded(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - reported through the SystemManager
            if isinstance(exc, WorkstationError):   # a reason for the user (a feed that failed, a store read):
                log.error("the run stopped: %s", exc)   # said once, the traceback only with -v
                log.debug("the run stopped here", exc_info=True)
            else:
                log.exception("coordinator failed")
            self.error = exc
            self.events.emit("error", {"time_ns": self.clock.now_ns(), "strategy": None,
                                       "message": f"engine stopped: {type(exc).__name__}: {exc}"})
        finally:
            self._close_feed()
            self._close_manual_orders()
            self._shutdown_stages()
            self.finished.set()

    def _close_feed(self) -> None:
        try:
            self.feed.close()
        except Exception:  # noqa: BLE001 - the run has ended either way; the stages must still stop
            log.exception("closing the feed failed")

    def _shutdown_stages(self) -> None:
        self.pipeline.stop()

    # ------------------------------------------------------------------ hand orders
    def apply_manual_orders(self, scheduled_only: bool = False) -> None:
        """Between two bar times (this thread): the inbox's due commands, applied by the analysis
        engine in its thread (the broker's owner) before the next bar time is delivered;
        `scheduled_only`: those queued for a time (ManualOrderInbox.take_due_timed)."""
        inbox = self.manual_orders
        if inbox is None or inbox.next_at_ns > self.clock.now_ns():
            return
        timed = inbox.take_due_timed(self.clock.now_ns(), scheduled_only)
        if timed:
            if self.snapshots is not None:
                self.snapshots.journal.record(self.position, timed)
            self.pipeline.apply_manual([(sequence, command) for _at, sequence, command in timed])

    def _close_manual_orders(self) -> None:
        """The run ends: commands not applied yet are answered as refused (nothing changes)."""
        if self.manual_orders is None:
            return
        left = self.manual_orders.close()
        if left and self.events.wants("manual"):
            from workstation.execution.manual import not_applied

            for result in not_applied(left, self.clock.now_ns()):
                self.events.emit("manual", result)

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        if not self.sessions:
            return
        feed = self.feed
        if feed.drives_clock:
            self.clock.reset(self.sessions[0].start_ns)
        stored_days = self._warmup(self.sessions[0].date)
        self.historical.offer_stored_days(stored_days, self.symbols, self.base_interval)
        del stored_days
        self.pipeline.start_strategies()
        self.historical.prepare(self.sessions[0].date, self.sessions[-1].date)
        feed.open()
        service = self.apply_manual_orders if self.manual_orders is not None else None
        k = 0
        resume_at: int | None = None        # bar index to go on from after a restore (state restored)
        while k < len(self.sessions):
            session = self.sessions[k]
            if k > 0 and resume_at is None and self._replay_until is None:  # (a seek replays on)
                t_hold = time.perf_counter()
                if not self.control.hold(service):  # paused at a session's end: stay there
                    break
                self._t_end_prev += time.perf_counter() - t_hold  # a pause is no transition time
            if self.control.stopping or feed.stopping():
                break
            if resume_at is None and feed.passed(session):   # live: started after this session's close
                k += 1
                continue
            t_wait = time.perf_counter()
            if not feed.wait_for_open(session):   # live: until the open (overnight); no transition time
                break
            self._t_end_prev += time.perf_counter() - t_wait
            t_start = time.perf_counter()
            feed.prepare(k)
            if resume_at is None:
                self._initialize(session)
                with self.metrics.timer("historical.load_total"):
                    self.historical.load_session(session.date)
                self._activate(session)
                if k > 0:
                    self.metrics.record("session.transition", time.perf_counter() - self._t_end_prev)
            try:
                stopped = not self._stream(session, k, resume_at or 0, resumed=resume_at is not None)
            except _SeekBack as seek:
                k, resume_at = self._rewind(seek.target_ns)
                continue
            resume_at = None
            self._end(session, stopped)
            self.metrics.record("session.duration", time.perf_counter() - t_start)
            self._t_end_prev = time.perf_counter()
            if stopped:
                break
            k += 1
        else:
            self.completed = True
        self._check_stage_errors()

    # ------------------------------------------------------------------ step back and seek
    @property
    def replaying(self) -> bool:
        """True while a seek replays bar times headless (observers may skip what they already show)."""
        return self._replay_until is not None

    def _capture(self, session_index: int, bar_index: int, last_bar_ns: int, clock_ns: int) -> None:
        """Snapshot now; state that cannot be copied (a strategy holding an open file, say) turns step
        back off for this run, said once as an engine error, and the run goes on."""
        keeper = self.snapshots
        if keeper is None or keeper.disabled:
            return
        try:
            keeper.capture(self.position, session_index, bar_index, last_bar_ns, clock_ns, extra={
                "sessions_done": self.sessions_done, "bars_processed": self.bars_processed,
                "missing_sessions": {k: list(v) for k, v in self.missing_sessions.items()},
            })
        except Exception as exc:  # noqa: BLE001 - any pickling failure: no step back, the run goes on
            keeper.disabled = f"the engine state cannot be copied ({type(exc).__name__}: {exc})"
            log.warning("step back is off for this run: %s", keeper.disabled)
            self.events.emit("error", {"time_ns": self.clock.now_ns(), "strategy": None,
                                       "message": f"step back is off for this run: {keeper.disabled}"})

    def _seek(self, last_bar_ns: int) -> None:
        """Take the seek asked for (between two bar times): go forward by replaying, or raise _SeekBack."""
        request = self.control.take_seek()
        if request is None:
            return
        if request.target_ns is not None:
            target = request.target_ns
        else:
            back = self.position - request.bars_back          # the position to go back to
            target = self._bar_starts[back - 1] if back >= 1 else -1
        self._seek_started = time.perf_counter()
        self._seek_from = self.position
        self._seek_restored = -1
        # a seek during a replay keeps the hand orders of the timeline it was replaying
        replaying = self._replay_until is not None
        self._journal_horizon = max(self._journal_horizon, self.position) if replaying else self.position
        if target < last_bar_ns:
            if self.snapshots is None or self.snapshots.disabled or self.snapshots.nearest(target) is None:
                why = self.snapshots.disabled if self.snapshots is not None else "the run keeps no snapshots"
                self.events.emit("error", {"time_ns": self.clock.now_ns(), "strategy": None,
                                           "message": f"cannot go back: {why or 'no snapshot before that time'}"})
                target = last_bar_ns                 # stay here; the "seek" event still says where the run is
            else:
                raise _SeekBack(target)
        self._replay_until = target

    def _rewind(self, target_ns: int) -> tuple[int, int]:
        """Restore the nearest snapshot at or before `target_ns`; replay from there. (session, bar index)."""
        keeper = self.snapshots
        point = keeper.nearest(target_ns) if keeper is not None else None
        if keeper is None or point is None:   # _seek checked both before raising _SeekBack
            raise RuntimeError(f"no snapshot at or before {target_ns} to go back to")
        extra = keeper.restore(point)
        self.position = point.position
        del self._bar_starts[point.position:]
        self.sessions_done = extra["sessions_done"]
        self.bars_processed = extra["bars_processed"]
        self.missing_sessions = extra["missing_sessions"]
        self.current_session = self.sessions[point.session_index]
        self.clock.reset(point.clock_ns)
        self._replay_until = target_ns
        self._seek_restored = point.position
        self._journal_last = point.position - 1
        self._seek_from = point.position
        return point.session_index, point.bar_index

    def _seek_done(self, session_index: int, last_bar_ns: int) -> None:
        """The replay reached the target: hand orders after it are discarded, the run pauses here."""
        from workstation.pipeline.snapshots import SeekDone  # loaded with the keeper of a rewindable run

        target = self._replay_until
        self._replay_until = None
        if self.snapshots is not None:
            dropped = self.snapshots.journal.discard_after(self.position)
            if self.manual_orders is not None:
                # commands scheduled at a time (--manual-orders, `schedule`) are queued again for
                # that time; the ones entered by hand are gone (what the trader does next replaces them)
                self.manual_orders.requeue([entry for entry in dropped if entry[0] > 0])
        self.control.pause()
        session = self.sessions[session_index] if 0 <= session_index < len(self.sessions) else None
        self.events.emit("seek", SeekDone(
            target_ns=int(target if target is not None else last_bar_ns), position=self.position, last_bar_ns=int(last_bar_ns),
            clock_ns=self.clock.now_ns(), session_index=session_index,
            session_date=session.date if session is not None else None,
            restored_position=self._seek_restored, replayed=self.position - self._seek_from,
            seconds=round(time.perf_counter() - self._seek_started, 4)))

    # ------------------------------------------------------------------ phases
    def _clock_to(self, ts_ns: int) -> None:
        """Move the simulated clock (live clocks move by themselves)."""
        if self.feed.drives_clock:
            self.clock.advance_to(ts_ns)

    def _initialize(self, session: TradingSession) -> None:
        self.current_session = session
        self.sd.clear_session()
        self.sd.session_date = session.date
        self._clock_to(session.start_ns)             # the open, or the pre-market start in extended hours

    def _activate(self, session: TradingSession) -> None:
        self.pipeline.session_start(session)
        self.events.emit("session_start", {"date": session.date, "open_ns": session.open_ns,
                                           "close_ns": session.close_ns, "early_close": session.early_close,
                                           "start_ns": session.start_ns, "end_ns": session.end_ns,
                                           "index": self.sessions.index(session), "total": len(self.sessions)})

    def _stream(self, session: TradingSession, session_index: int = 0, first: int = 0, resumed: bool = False) -> bool:
        """Deliver the session's bar times from the feed, from bar index `first` of its first block (0,
        or where a restored snapshot was taken), and apply what else the feed hands over between bar
        times (late bars, gap fills, trailing gaps, gap status). Returns False when stopped; raises
        _SeekBack when asked to go back."""
        feed = self.feed
        with self.metrics.timer("queue.wait"):
            stream = feed.session(session, resumed)
        if not resumed and stream.missing_symbols is not None:
            self._note_missing(session, stream.missing_symbols)
        # every call, a resumed one too: the session's quotes restart and advance with the clock again
        quote_bars = self.sd.quote_bars if stream.quotes is not None else None
        if quote_bars is not None:
            quote_bars.start_session(stream.quotes)
            if not resumed:
                self.metrics.incr("quotes.session_bars", quote_bars.session_rows)

        control = self.control
        base = self.base_interval
        step = self.base_ns
        stat, sstat = self.metrics.stat("coordinator.iteration"), self.metrics.session_stat("coordinator.iteration")
        perf = time.perf_counter_ns
        emit_bars = self.events.wants("bars")
        host_gate = self.host_gate
        manual = self.manual_orders
        service = self.apply_manual_orders if manual is not None else None
        paced = feed.paced
        pace = _Pacer(control, self.base_ns, service=service)
        pace.anchor(session.start_ns)
        # a simulated clock is set to each bar time's end; a live clock moves by itself
        advance_clock = self.clock.advance_to if feed.drives_clock else None
        clock_now = self.clock.now_ns()           # the session's open, then each bar time's end
        snapshots = self.snapshots
        bar_starts = self._bar_starts
        last_bar = bar_starts[-1] if bar_starts else -1
        for item in stream.items:
            if type(item) is not BarTimes:
                self._apply_feed_item(item)
                continue
            starts, ends, ts_list, on_done = item.starts, item.ends, item.bar_starts, item.on_done
            sym_idx_all, o_all, h_all, l_all, c_all, v_all = (item.symbol_index, item.open, item.high, item.low,
                                                               item.close, item.volume)
            n = len(item)
            complete = item.every_symbol(self.sd.n_symbols)
            # the price grid's raises worked out for the whole block: cheaper than observing each bar
            # time's closes up to ~100 symbols a bar time (measured, 390 bar times: 10 symbols 0.4 ms
            # against ~3.5 ms, 100 symbols ~3 ms either way; beyond, per bar time is cheaper); a live
            # feed's blocks hold one bar time
            raises = item.decimal_raises() if 1 < len(starts) and n <= 100 * len(starts) else None
            no_raise = (np.zeros(0, dtype=np.int64),) * 2 if raises is not None else None
            if n and not self.bars_processed and self.on_first_bar is not None:
                self.on_first_bar(self.metrics)     # `workstation run`: process start -> first bar (process_start)
            for k in range(first, len(starts)):
                ts = ts_list[k]
                if snapshots is not None and snapshots.due(
                        self.position, k, near_target=self._replay_until is not None
                        and ts <= self._replay_until < ts + snapshots.every * step) and not snapshots.has(self.position):
                    self._capture(session_index, k, last_bar, clock_now)
                while True:
                    if self._replay_until is not None:           # seeking: headless, no gate, no pacing
                        if snapshots is not None and self._journal_last < self.position < self._journal_horizon:
                            for timed in snapshots.journal.at(self.position):
                                self.pipeline.apply_manual([(seq, command) for _at, seq, command in timed])
                            self._journal_last = self.position       # each position's hand orders once
                        if ts <= self._replay_until and not control.stopping and not control.seek_pending:
                            if manual is not None and manual.next_at_ns <= clock_now:
                                # commands queued for a time (a continued run's, --manual-orders) are
                                # applied at it on a replay too; a trader's own wait for the seek's end
                                self.apply_manual_orders(scheduled_only=True)
                            passed = Gate.STEP
                            break
                        if control.stopping:
                            return False
                        if not control.seek_pending:
                            self._seek_done(session_index, last_bar)
                    if manual is not None and manual.next_at_ns <= clock_now:
                        self.apply_manual_orders()
                    if snapshots is not None and control.paused and snapshots.behind(self.position) >= snapshots.every:
                        # paused far from the newest snapshot (they waited at MAX): take one here, free while paused
                        self._capture(session_index, k, last_bar, clock_now)
                    passed = control.gate(service)
                    if not passed:
                        return False
                    if passed is Gate.RUN and paced and control.speed > 0:
                        passed = pace.wait_until(ts + step)
                        if not passed:
                            return False
                    if passed is not Gate.SEEK:
                        break
                    self._seek(last_bar)
                data_driven = not paced or control.speed <= 0 or passed is Gate.STEP
                t0 = perf()
                a, b = starts[k], ends[k]
                idx = sym_idx_all[a:b]
                clock_now = ts + step
                if advance_clock is not None:
                    advance_clock(clock_now)
                if quote_bars is not None:
                    quote_bars.advance_to(clock_now)
                self._run_bar_time(ts, idx, o_all[a:b], h_all[a:b], l_all[a:b], c_all[a:b], v_all[a:b],
                                   None if data_driven else pace.bar_seconds(), complete[k],
                                   no_raise if raises is None else raises.get(k, no_raise))
                if on_done is not None:
                    on_done(k)
                self.bars_processed += b - a
                self.position += 1
                bar_starts.append(ts)
                last_bar = ts
                if emit_bars:
                    self.events.emit("bars", Bars(ts, base, idx))
                dt_s = (perf() - t0) / 1e9
                stat.add(dt_s)
                sstat.add(dt_s)
                if host_gate is not None and host_gate.closed:
                    host_gate.wait()
            first = 0
            self.metrics.incr("bars.processed", n)
        return not stream.stopped

    def _apply_feed_item(self, item) -> None:
        """What a (live) feed hands over between two bar times, applied in this thread."""
        if type(item) is LateBars:
            self._insert_bars(item)
        elif type(item) is TrailingGaps:
            self.pipeline.trailing_gaps(item.close_ns)
        elif type(item) is GapStatusChanged:
            self.pipeline.gap_status(item)
        else:
            raise TypeError(f"unknown feed item {type(item).__name__}")
        self._check_stage_errors()

    def _insert_bars(self, late: LateBars) -> None:
        """Insert bars into bar times already delivered, in time order; the processor rebuilds those
        symbols' derived bars and indicators, the quality stage recounts what is present."""
        for bar in late.bars:
            self.sd.insert_bar(bar.symbol, self.base_interval, bar.timestamp, bar.open, bar.high, bar.low,
                               bar.close, bar.volume)
        if late.bars:
            self.pipeline.revise(np.array(sorted(set(late.symbol_index)), dtype=np.int64), self.clock.now_ns())

    def _run_bar_time(self, ts: int, idx, o, h, lo, c, v, timeout: float | None, complete: bool = False,
                      decimal_raises: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Write one bar time's streamed bars and run the stages on them until the bar time is done
        (`timeout`: seconds until the next bar time is due when clock-driven, see Pipeline.bar_time;
        `complete`: `idx` is every symbol in order; `decimal_raises`: see BarTime). Raises when a
        stage failed."""
        sd = self.sd
        complete = complete and len(idx) == sd.n_symbols
        sd.append_bars(self.base_interval, None if complete else idx, ts, o, h, lo, c, v)
        self.pipeline.bar_time(BarTime(ts, idx, o, h, lo, c, v, complete, decimal_raises), timeout)

    def _end(self, session: TradingSession, stopped: bool) -> None:
        if not stopped:
            self._clock_to(session.end_ns)
        quality = self.pipeline.session_end(session, stopped)
        # views of this session's storage (SessionData allocates fresh storage for the next session)
        minute_bars = ([self.sd.bars(sym, self.base_interval) for sym in self.historical.symbols]
                       if self.historical.needs_minutes() else None)
        self.sessions_done += 1
        self.events.emit("session_end", {
            "date": session.date, "session": session, "stopped": stopped,
            "quality_rows": quality.rows, "gap_rows": quality.gap_rows,
            "index": self.sessions_done - 1,
            "total": len(self.sessions), "metrics": self.metrics.session_report(session.date, {
                "bars_processed": self.bars_processed,
            }),
        })
        if minute_bars is not None:
            self.historical.roll_session(session.date, minute_bars)
        self.metrics.reset_session()

    def _note_missing(self, session: TradingSession, missing_symbols: np.ndarray) -> None:
        for i in missing_symbols.tolist():
            self.missing_sessions.setdefault(self.symbols[i], []).append(session.date.isoformat())

    def _check_stage_errors(self) -> None:
        self.pipeline.raise_errors()

    # ------------------------------------------------------------------ warm-up
    def _warmup(self, first_day: dt.date) -> dict:
        """Feed every interval's last whole stored bars before the first session to its indicators
        (`historical.warmup_bars` per interval, at least what its indicators need; see
        pipeline/warmup.py), so indicators are continuous across the start. The bars are read here
        and fed in the processor's thread. Returns the store's reads of the days read, by date."""
        counts = warmup_counts(self.cfg.historical.warmup_bars, self.pipeline.warmup_needed())
        if not any(counts.values()):
            return {}
        with self.metrics.timer("historical.warmup"):
            loader = WarmupLoader(self.store, self.tm, self.symbols, self.base_interval, self.cfg.streams.derived,
                                  counts)
            self.pipeline.warm_up(loader.blocks(first_day))
        return loader.stored_days


class _SeekBack(Exception):
    """Raised inside the session loop to go back to `target_ns` (a bar start, int ns UTC)."""

    def __init__(self, target_ns: int):
        super().__init__(target_ns)
        self.target_ns = target_ns


class _Pacer:
    """Clock-driven pacing: maps market time to wall time at the current speed.

    Pacing restarts (re-anchors) whenever `RunControl.pace_version` changed: after a speed change,
    a pause, a resume or a step, the next bar time is due one bar duration after that moment."""

    def __init__(self, control, base_ns: int, now=time.perf_counter, service=None):
        self.control = control
        self.base_ns = base_ns
        self.service = service       # run between two bar times on RunControl.wake (hand orders)
        self._now = now
        self._market0 = 0
        self._wall0 = 0.0
        self._version = -1

    def anchor(self, market_ns: int) -> None:
        self._market0 = market_ns
        self._wall0 = self._now()
        self._version = self.control.pace_version

    def bar_seconds(self) -> float:
        speed = self.control.speed
        return (self.base_ns / 1e9) / speed if speed > 0 else 0.0

    def wait_until(self, market_ns: int) -> Gate:
        """Sleep until the wall time at which `market_ns` is due. A pause while waiting blocks here
        until a step (STEP: deliver now), a resume (pacing restarts) or a stop (STOP)."""
        control = self.control
        while True:
            if control.stopping:
                return Gate.STOP
            speed = control.speed
            if speed <= 0:
                return Gate.RUN
            if control.seek_pending:
                return Gate.SEEK
            if control.paused:
                passed = control.gate(self.service)
                if passed is not Gate.RUN:
                    return passed
            if self._version != control.pace_version:
                self.anchor(market_ns - self.base_ns)
            due = self._wall0 + (market_ns - self._market0) / 1e9 / speed
            delay = due - self._now()
            if delay <= 0:
                return Gate.RUN
            if not control.sleep(min(delay, 0.25), self.service):
                return Gate.STOP
