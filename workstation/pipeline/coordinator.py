"""SessionCoordinator: the loop over sessions that drives the clock and streams bars (one thread).

Per session: initialize (reset session state, streamed vs generated intervals), historical
(trailing bars, historical indicators and quality), queue loading (`prefetch_days` sessions of
streamed bars read ahead in a background loader), activate, streaming (take the earliest pending
bar time across all symbols, set the clock to that bar's END, write every bar at that time to
SessionData, wake the quality manager and the processor), end (clock to the close, session
report, roll history, clear session bars) and advance to the next trading date.

Pace: speed 0 is data-driven (every stage finishes a bar time before the next; nothing skipped);
speed > 0 is clock-driven (one market minute takes 60/speed wall seconds) and a stage not ready
when the next bar time is due counts an overrun (the work is queued, never lost).

Hand orders (`manual_orders`, workstation.execution.manual): between two bar times the coordinator
takes the due commands from the inbox and has the analysis engine apply them in its thread (the
broker's owner), also while paused or waiting for the next paced bar time (`RunControl.wake`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from workstation.calendar import TradingSession
from workstation.model import parse_interval
from workstation.pipeline.control import Gate
from workstation.pipeline.subscription import StreamSubscription, default_thread
from workstation.pipeline.warmup import WarmupLoader, warmup_counts

log = logging.getLogger(__name__)


class SessionCoordinator:
    """Owns the clock's progress; built and started by the SystemManager."""

    def __init__(self, cfg, store, tm, session_data, clock, processor, quality, analysis, broker,
                 historical, metrics, events, control, sessions: list[TradingSession], manual_orders=None):
        self.cfg = cfg
        self.store = store
        self.tm = tm
        self.sd = session_data
        self.clock = clock
        self.processor = processor
        self.quality = quality
        self.analysis = analysis
        self.broker = broker
        self.historical = historical
        self.metrics = metrics
        self.events = events
        self.control = control
        self.sessions = sessions
        self.manual_orders = manual_orders   # ManualOrderInbox or None (hand orders, see apply_manual_orders)
        self.base_interval = cfg.streams.interval
        self.base_ns = parse_interval(self.base_interval).ns
        self.symbols = list(cfg.symbols)
        self.prefetch_days = cfg.backtest.prefetch_days
        # one bar time flows quality -> processor -> analysis (each in its thread); the analysis
        # engine signals `cycle` when the bar time is done
        self.cycle = StreamSubscription("bar time")
        quality.cycle = processor.cycle = analysis.cycle = self.cycle
        quality.next_stage = processor
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="QueueLoader")
        self._queued: dict[dt.date, Future] = {}
        self.sessions_done = 0
        self.current_session: TradingSession | None = None
        self.bars_processed = 0
        self.missing_sessions: dict[str, list[str]] = {}
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.completed = False          # reached the end of the backtest (not stopped)
        self._t_end_prev = 0.0
        # (every_s, pause_s): a GUI host asks the session loop to pause `pause_s` every `every_s` of
        # work, so its UI thread gets the interpreter lock at least that often (None: never)
        self.yield_to_ui: tuple[float, float] | None = None
        self._thread: threading.Thread | None = None
        self.on_first_bar: Callable[[Any], None] | None = None  # given the metrics at the first bar time

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
            log.exception("coordinator failed")
            self.error = exc
            self.events.emit("error", {"time_ns": self.clock.now_ns(), "strategy": None,
                                       "message": f"engine stopped: {type(exc).__name__}: {exc}"})
        finally:
            self._loader.shutdown(wait=True, cancel_futures=True)
            self._close_manual_orders()
            self._shutdown_stages()
            self.finished.set()

    def _shutdown_stages(self) -> None:
        for stage in (self.quality, self.processor):
            stage.submit(("stop",))

    # ------------------------------------------------------------------ hand orders
    def apply_manual_orders(self) -> None:
        """Between two bar times (this thread): the inbox's due commands, applied by the analysis
        engine in its thread (the broker's owner) before the next bar time is delivered."""
        inbox = self.manual_orders
        if inbox is None or inbox.next_at_ns > self.clock.now_ns():
            return
        due = inbox.take_due(self.clock.now_ns())
        if due:
            self.analysis.call(("manual", due))

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
        self.clock.reset(self.sessions[0].start_ns)
        self._warmup(self.sessions[0].date)
        self.analysis.call_start()
        self.historical.prepare(self.sessions[0].date, self.sessions[-1].date)
        for k, session in enumerate(self.sessions):
            if self.control.stopping:
                break
            t_start = time.perf_counter()
            self._queue_ahead(k)
            self._initialize(session)
            with self.metrics.timer("historical.load_total"):
                self.historical.load_session(session.date)
            self._activate(session)
            if k > 0:
                self.metrics.record("session.transition", time.perf_counter() - self._t_end_prev)
            stopped = not self._stream(session)
            self._end(session, stopped)
            self.metrics.record("session.duration", time.perf_counter() - t_start)
            self._t_end_prev = time.perf_counter()
            if stopped:
                break
        else:
            self.completed = True
        self._check_stage_errors()

    # ------------------------------------------------------------------ phases
    def _clock_to(self, ts_ns: int) -> None:
        """Move the simulated clock (live clocks move by themselves)."""
        self.clock.advance_to(ts_ns)

    def _initialize(self, session: TradingSession) -> None:
        self.current_session = session
        self.sd.clear_session()
        self.sd.session_date = session.date
        self._clock_to(session.start_ns)             # the open, or the pre-market start in extended hours

    def _activate(self, session: TradingSession) -> None:
        self.quality.call(("session_start", session))
        self.processor.call(("session_start", session))
        self.events.emit("session_start", {"date": session.date, "open_ns": session.open_ns,
                                           "close_ns": session.close_ns, "early_close": session.early_close,
                                           "start_ns": session.start_ns, "end_ns": session.end_ns,
                                           "index": self.sessions.index(session), "total": len(self.sessions)})

    def _queue_ahead(self, k: int) -> None:
        """Make sure sessions k .. k+prefetch_days-1 are loading; forget the ones already used."""
        for j in range(k, min(k + self.prefetch_days, len(self.sessions))):
            d = self.sessions[j].date
            if d not in self._queued:
                self._queued[d] = self._loader.submit(self._load_session_arrays, d)

    def _load_session_arrays(self, day: dt.date):
        t0 = time.perf_counter()
        arrays = self.store.read_session_arrays(day, self.base_interval, self.symbols,
                                                rth_only=self.tm.session_hours == "regular")
        self.metrics.record("queue.load", time.perf_counter() - t0)
        return arrays

    def _stream(self, session: TradingSession) -> bool:
        """Deliver every bar time of the session. Returns False when stopped."""
        with self.metrics.timer("queue.wait"):
            arrays = self._queued.pop(session.date).result()
        self._note_missing(session, arrays)
        ts_all = arrays.timestamp
        n = len(ts_all)
        if n:
            inside = session.trading_mask(ts_all)          # the session's hours less a lunch break
            if not inside.all():
                arrays = type(arrays)(*(a[inside] for a in arrays))
                ts_all = arrays.timestamp
                n = len(ts_all)
        starts, ends = bar_time_slices(ts_all)
        sym_idx_all = arrays.symbol_index.astype(np.int64, copy=False)
        o_all, h_all, l_all, c_all, v_all = arrays.open, arrays.high, arrays.low, arrays.close, arrays.volume
        ts_list = ts_all[starts].tolist() if n else []
        if n and not self.bars_processed and self.on_first_bar is not None:
            self.on_first_bar(self.metrics)     # `workstation run`: process start -> first bar (process_start)

        control = self.control
        base = self.base_interval
        step = self.base_ns
        stat, sstat = self.metrics.stat("coordinator.iteration"), self.metrics.session_stat("coordinator.iteration")
        perf = time.perf_counter_ns
        emit_bars = self.events.wants("bars")
        yield_to_ui = self.yield_to_ui
        yield_every_ns, yield_pause_s = (int(yield_to_ui[0] * 1e9), yield_to_ui[1]) if yield_to_ui else (0, 0.0)
        last_yield = perf()
        manual = self.manual_orders
        service = self.apply_manual_orders if manual is not None else None
        pace = _Pacer(control, self.base_ns, service=service)
        pace.anchor(session.start_ns)
        clock_now = self.clock.now_ns()           # the session's open, then each bar time's end
        for k in range(len(starts)):
            if manual is not None and manual.next_at_ns <= clock_now:
                self.apply_manual_orders()
            passed = control.gate(service)
            if not passed:
                return False
            ts = ts_list[k]
            if passed is Gate.RUN and control.speed > 0:
                passed = pace.wait_until(ts + step)
                if not passed:
                    return False
            data_driven = control.speed <= 0 or passed is Gate.STEP
            t0 = perf()
            a, b = starts[k], ends[k]
            idx = sym_idx_all[a:b]
            clock_now = ts + step
            self.clock.advance_to(clock_now)
            self._run_bar_time(ts, idx, o_all[a:b], h_all[a:b], l_all[a:b], c_all[a:b], v_all[a:b],
                               None if data_driven else pace.bar_seconds())
            self.bars_processed += b - a
            if yield_to_ui is not None and perf() - last_yield > yield_every_ns:
                time.sleep(yield_pause_s)
                last_yield = perf()
            if emit_bars:
                self.events.emit("bars", (ts, base, idx))
            dt_s = (perf() - t0) / 1e9
            stat.add(dt_s)
            sstat.add(dt_s)
            if self.processor.error is not None or self.analysis.error is not None:
                self._check_stage_errors()
        self.metrics.incr("bars.processed", n)
        return True

    def _run_bar_time(self, ts: int, idx, o, h, lo, c, v, timeout: float | None) -> None:
        """Write one bar time's streamed bars and run the stages on them until the bar time is done.

        Clock-driven (`timeout` = seconds until the next bar time is due): a stage still busy then
        counts an overrun and is still waited for, so no bar is lost, no stage runs ahead of another
        and the pace never changes results."""
        self.sd.append_bars(self.base_interval, idx, ts, o, h, lo, c, v)
        if self.processor.inline:
            # single-threaded run: the same stages, called in order in this thread
            self.quality.process(("bars", ts, idx))
            self.processor.process(("bars", ts, idx, o, h, lo, c, v))
            if timeout is not None:
                stages = (("quality", self.quality), ("processor", self.processor), ("analysis", self.analysis))
                if sum(st.last_duration_s for _, st in stages[:2]) > timeout:
                    name = max(stages, key=lambda x: x[1].last_duration_s)[0]
                    self.metrics.incr(f"overruns.{name}")
            return
        cycle = self.cycle
        cycle.start_cycle()
        self.quality.submit_bars(("bars", ts, idx, o, h, lo, c, v))
        if not cycle.wait_until_ready(timeout):
            for name, stage in (("quality", self.quality), ("processor", self.processor),
                                ("analysis", self.analysis)):
                if stage.busy or not stage.inbox.empty():
                    self.metrics.incr(f"overruns.{name}")
            cycle.wait_until_ready(None)

    def _end(self, session: TradingSession, stopped: bool) -> None:
        if not stopped:
            self._clock_to(session.end_ns)
        self.quality.call(("session_end", session, stopped))
        self.processor.call(("session_end", session))
        minute_bars = self._session_frame(self.base_interval) if self.historical.needs_minutes() else None
        self.sessions_done += 1
        self.events.emit("session_end", {
            "date": session.date, "session": session, "stopped": stopped,
            "quality_rows": self.quality.session_rows, "gap_rows": self.quality.session_gap_rows,
            "index": self.sessions_done - 1,
            "total": len(self.sessions), "metrics": self.metrics.session_report(session.date, {
                "bars_processed": self.bars_processed,
            }),
        })
        if minute_bars is not None:
            self.historical.roll(session.date, minute_bars)
        self.metrics.reset_session()

    def _session_frame(self, interval: str) -> pd.DataFrame:
        """The session's bars of one interval as one frame (symbol, timestamp, OHLCV)."""
        views = [(sym, self.sd.bars(sym, interval)) for sym in self.historical.symbols]
        views = [(sym, b) for sym, b in views if len(b.timestamp)]
        if not views:
            return pd.DataFrame(columns=["symbol", "timestamp", "open", "high", "low", "close", "volume"])
        cat = {name: np.concatenate([getattr(b, name) for _, b in views])
               for name in ("timestamp", "open", "high", "low", "close", "volume")}
        sizes = [len(b.timestamp) for _, b in views]
        return pd.DataFrame({
            "symbol": np.repeat(np.array([sym for sym, _ in views], dtype=object), sizes),
            "timestamp": pd.to_datetime(cat["timestamp"], utc=True),
            **{k: cat[k] for k in ("open", "high", "low", "close", "volume")},
        })

    def _note_missing(self, session: TradingSession, arrays) -> None:
        present = np.zeros(len(self.symbols), dtype=bool)
        if len(arrays.symbol_index):
            present[np.unique(arrays.symbol_index)] = True
        for i in np.flatnonzero(~present).tolist():
            self.missing_sessions.setdefault(self.symbols[i], []).append(session.date.isoformat())

    def _check_stage_errors(self) -> None:
        for stage in (self.processor, self.analysis, self.quality):
            if stage.error is not None:
                raise RuntimeError(f"{type(stage).__name__} failed: {stage.error!r}") from stage.error

    # ------------------------------------------------------------------ warm-up
    def _warmup(self, first_day: dt.date) -> None:
        """Feed every interval's last whole stored bars before the first session to its indicators
        (`historical.warmup_bars` per interval, at least what its indicators need; see
        pipeline/warmup.py), so indicators are continuous across the start."""
        intervals = [self.base_interval, *self.processor.derived]
        indicators = self.processor.indicators
        counts = warmup_counts(self.cfg.historical.warmup_bars,
                               {iv: indicators.warmup_needed(iv) for iv in intervals})
        if not any(counts.values()):
            return
        with self.metrics.timer("historical.warmup"):
            loader = WarmupLoader(self.store, self.tm, self.symbols, self.base_interval, self.processor.derived,
                                  counts)
            for interval, idx, columns in loader.batches(first_day):
                self.processor.warm_up(interval, idx, columns)
            indicators.session_reset()


def bar_time_slices(ts: np.ndarray) -> tuple[list[int], list[int]]:
    """Start and end row of each bar time in arrays sorted by time (one slice per bar time)."""
    if not len(ts):
        return [], []
    bounds = np.flatnonzero(np.diff(ts)) + 1
    return np.concatenate(([0], bounds)).tolist(), np.concatenate((bounds, [len(ts)])).tolist()


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
