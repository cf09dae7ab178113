"""SystemManager: builds and wires one run from a config, owns its state and its threads.

One SystemManager = one run: one SessionData, one clock, one feed, one set of stages, all passed
explicitly (no singletons) and built once. A backtest gets a SimulatedClock and a StoreFeed (the
defaults); a live run is given its live clock and its provider feed (workstation.live.system builds
them first), the same stages and the same coordinator read them. State: stopped -> running <-> paused -> stopped. Observers subscribe to engine
events through `events`. `stop()` joins every thread within a second. `manual_orders` takes hand
orders from any thread (workstation.execution.manual); the run applies them between two bar times.
A rewindable run (`rewindable=True`, as the GUI builds) keeps snapshots of its state (`snapshots`,
workstation.pipeline.snapshots) and can `step_back()` and `seek()` to any bar time it has reached or
will reach; observers that write results register with `snapshots.add_participant`.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workstation.calendar import SimulatedClock, TimeManager, TradingSession, overnight_problem
from workstation.errors import ConfigError, StoreError, WorkstationError, named
from workstation.events import EventBus
from workstation.execution import SimulatedBroker
from workstation.execution.inbox import ManualOrderInbox
from workstation.metrics import PerformanceMetrics
from workstation.model import parse_interval
from workstation.pipeline.analysis import AnalysisEngine
from workstation.pipeline.control import HostGate, RunControl
from workstation.pipeline.coordinator import SessionCoordinator
from workstation.pipeline.feed import Feed, FeedRun, StoreFeed
from workstation.pipeline.historical import HistoricalService
from workstation.pipeline.pipeline import Pipeline
from workstation.pipeline.processor import DataProcessor
from workstation.pipeline.quality import DataQualityManager
from workstation.session import SessionData
from workstation.store import BarStore
from workstation.strategies import load_strategy

if TYPE_CHECKING:
    from workstation.config import SessionConfig
    from workstation.pipeline.snapshots import SnapshotKeeper

log = logging.getLogger(__name__)

STOPPED, RUNNING, PAUSED, FINISHED, FAILED = "stopped", "running", "paused", "finished", "failed"


def resolve_store_path(cfg: SessionConfig, store_override: str | None = None,
                       base_dir: Path | None = None) -> Path:
    """The bar store folder: the override, else the config's (relative to `base_dir` or CWD)."""
    p = Path(store_override or cfg.data_source.store_path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p


def run_time_manager(cfg: SessionConfig, time_manager: TimeManager | None = None) -> TimeManager:
    """The run's exchange calendar with the config's session hours."""
    return (time_manager or TimeManager(cfg.exchange, cfg.timezone)).with_session_hours(cfg.session_hours)


def run_bar_source(cfg: SessionConfig, tm: TimeManager, store: BarStore | None = None,
                   store_path: str | Path | None = None):
    """The bars the run reads: the store (opened from `store_path` or the config when not given), read
    through AdjustedBarStore when `prices: adjusted`; a live run's live bars are raw, so only the actions
    effective by today adjust its history."""
    if store is None:
        store = BarStore(Path(store_path) if store_path else resolve_store_path(cfg))
    if cfg.prices != "adjusted" and isinstance(store, BarStore):
        return store                  # raw prices of a plain store: nothing to load (or to import) for it
    from workstation.store.corporate_actions import bar_source_for

    today = tm.local_dates(np.array([time.time_ns()], dtype=np.int64))[0].astype(dt.date)
    return bar_source_for(store, cfg.prices, as_of=today if cfg.mode == "live" else None)


class SystemManager:
    """Builds a run from a config; start/pause/resume/step/stop/set_speed/jump_to."""

    def __init__(self, cfg: SessionConfig, store: BarStore | None = None, store_path: str | Path | None = None,
                 time_manager: TimeManager | None = None, events: EventBus | None = None,
                 thread_factory=None, rewindable: bool = False, clock=None, feed: Feed | None = None,
                 freeze_heap: bool = True, host_gate: HostGate | None = None):
        """`clock`: what every stage asks the time (default: a SimulatedClock the coordinator sets to
        each bar time's end); `feed`: where the bar times come from (default: a StoreFeed of `store`);
        `freeze_heap`: start() moves the heap out of the collector's scans for the run unless something
        froze it already (False: leave the collector alone, for a process that manages it itself, as the
        GUI does: asking whether anything is frozen walks every frozen object, ~10 ms in the GUI);
        `host_gate`: closed by the host (the window, for a frame) to have the engine wait between two bar
        times (workstation.pipeline.control.HostGate)."""
        self.cfg = cfg
        self.freeze_heap = freeze_heap
        self.rewindable = rewindable   # keep snapshots: step back and seek (given here, not changed later)
        self.thread_factory = thread_factory   # (target, name) -> thread-like; the GUI passes QThreads
        self.events = events or EventBus()
        self.tm = run_time_manager(cfg, time_manager)
        self.store = run_bar_source(cfg, self.tm, store, store_path)
        self.state = STOPPED
        self._lock = threading.Lock()
        self._given_clock = clock
        self._given_feed = feed
        self._host_gate = host_gate
        self._build()

    # ------------------------------------------------------------------ build
    def _validate_inputs(self) -> list:
        cfg = self.cfg
        sessions = self.tm.sessions(cfg.backtest.start_date, cfg.backtest.end_date)
        if not sessions:
            raise ConfigError("(config)", [("backtest", f"no trading days between {cfg.backtest.start_date} and "
                                                        f"{cfg.backtest.end_date} on {cfg.exchange}")])
        overnight = self.tm.first_overnight(sessions)
        if overnight is not None:
            raise ConfigError("(config)", [("exchange", overnight_problem(cfg.exchange, overnight,
                                                                          self.tm.exchange_tz))])
        missing = self.store.missing_symbols(cfg.symbols, cfg.streams.interval)   # stops once all are found
        if missing:
            known = set(self.store.symbols(cfg.streams.interval))
            sample = ", ".join(sorted(known)[:12]) or "none"
            raise StoreError(
                f"{named('symbol', missing)} {'has' if len(missing) == 1 else 'have'} no {cfg.streams.interval} bars in "
                f"the store {self.store.root}. "
                f"The store has: {sample}{' ...' if len(known) > 12 else ''}. Import them with "
                f"`workstation import FILE --store {self.store.root}` or remove them from 'symbols'."
            )
        return sessions

    def _build(self) -> None:
        cfg = self.cfg
        self.sessions = self._validate_inputs()
        self.strategies = [load_strategy(cfg, st, i) for i, st in enumerate(cfg.strategies) if st.enabled]
        base = cfg.streams.interval
        intervals = [base, *cfg.streams.derived]
        self.metrics = PerformanceMetrics()
        self.clock = self._given_clock if self._given_clock is not None else SimulatedClock(self.sessions[0].open_ns)
        self.session_data = SessionData(list(cfg.symbols), intervals, tz=cfg.timezone)
        self.broker = SimulatedBroker(list(cfg.symbols), cfg.execution, intrabar_bars=self._intrabar_bars,
                                      quote_bars=self.session_data.quote_bars)
        self.control = RunControl(cfg.backtest.speed_multiplier)
        self.manual_orders = ManualOrderInbox(self.control.wake)
        # quality -> processor -> analysis, threaded or in the coordinator's thread (backtest.stage_threads)
        self.pipeline = Pipeline.build(cfg, self.session_data, self.clock, self.strategies, self.broker, self.metrics,
                                       self.events)
        self.historical = HistoricalService(cfg, self.store, self.tm, self.session_data, self.metrics)
        self.feed = self._given_feed if self._given_feed is not None else StoreFeed(
            self.store, self.tm, list(cfg.symbols), base, cfg.backtest.prefetch_days,
            # quote bars stream beside the trade bars when asked for (or needed by quote fills)
            quotes=bool(cfg.streams.quotes) or cfg.execution.fill_prices == "quotes")
        if self.rewindable and not self.feed.rewindable:
            raise WorkstationError(f"a run fed by {type(self.feed).__name__} cannot step back or seek "
                                   "(build it with rewindable=False)")
        self.pipeline.on_gap(self.feed.gap_sink())    # live: gaps go to the feed's gap filler
        self.feed.bind(FeedRun(self.sessions, list(cfg.symbols), base, parse_interval(base).ns, self.session_data,
                               self.clock, self.control, self.metrics, self.events))
        self.coordinator = SessionCoordinator(cfg, self.store, self.tm, self.session_data, self.clock, self.pipeline,
                                              self.historical, self.metrics, self.events, self.control,
                                              self.sessions, manual_orders=self.manual_orders, feed=self.feed)
        self.coordinator.host_gate = self._host_gate
        self.snapshots: SnapshotKeeper | None = self._snapshot_keeper() if self.rewindable else None
        self._t_start = 0.0
        self._froze_heap = False   # start() froze the heap (gc.freeze) and the run's end unfreezes it
        self._t_end = 0.0
        self._done = threading.Event()

    def _intrabar_bars(self, symbol: str, start_ns: int, end_ns: int):
        """The store's bars of `execution.intrabar_interval` of one symbol in [start, end), for the
        broker's bracket-exit resolution (None when the store has none)."""
        frame = self.store.read_bars([symbol], self.cfg.execution.intrabar_interval, start_ns, end_ns)
        if not len(frame):
            return None
        return tuple(frame[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close"))

    # the stages, for reading results (the pipeline owns them and their wiring)
    @property
    def processor(self) -> DataProcessor:
        return self.pipeline.processor

    @property
    def quality(self) -> DataQualityManager:
        return self.pipeline.quality

    @property
    def analysis(self) -> AnalysisEngine:
        return self.pipeline.analysis

    # ------------------------------------------------------------------ control
    def _snapshot_keeper(self) -> SnapshotKeeper:
        """The snapshots of a rewindable run: the state every stage, the broker and the strategies keep."""
        from workstation.pipeline.snapshots import SnapshotKeeper

        cfg = self.cfg
        return SnapshotKeeper(
            roots={"session_data": self.session_data, "clock": self.clock, **self.pipeline.snapshot_roots(),
                   "broker": self.broker, "historical": self.historical,
                   **{f"strategy:{i}": st for i, st in enumerate(self.strategies)}},
            refs=(self, self.coordinator, self.pipeline, self.feed, self.control, self.events, self.metrics,
                  self.store, self.tm, self.cfg, self.manual_orders),
            every=cfg.backtest.snapshot_every, memory_budget_bytes=cfg.backtest.snapshot_memory_mb * 2**20)

    def start(self) -> None:
        with self._lock:
            if self.state != STOPPED:
                raise WorkstationError(f"cannot start: the run is {self.state}")
            tf = self.thread_factory
            self.pipeline.start(tf)
            self._t_start = time.perf_counter()
            # the heap built so far (modules, config, calendar, store, this system) lives as long as the run:
            # out of the garbage collector's scans while it runs (~10 % of a 100-symbol run's CPU went to
            # scanning it); left alone when someone froze it already (the GUI)
            self._froze_heap = self.freeze_heap and gc.get_freeze_count() == 0
            if self._froze_heap:
                gc.freeze()
            self.coordinator.snapshots = self.snapshots
            self.coordinator.start(tf)
            self._set_state(RUNNING)
        threading.Thread(target=self._watch, name="RunWatcher", daemon=True).start()

    def _watch(self) -> None:
        self.coordinator.finished.wait()
        self._t_end = time.perf_counter()
        self.pipeline.join(1.0)
        err = self.coordinator.error
        with self._lock:
            self._set_state(FAILED if err else (FINISHED if self.coordinator.completed else STOPPED))
        try:
            self.events.emit("backtest_end", self.summary())
        finally:
            if self._froze_heap:
                gc.unfreeze()
            self._done.set()

    def pause(self) -> None:
        self.control.pause()
        with self._lock:
            if self.state == RUNNING:
                self._set_state(PAUSED)

    def resume(self) -> None:
        self.control.resume()
        with self._lock:
            if self.state == PAUSED:
                self._set_state(RUNNING)

    def step(self, n: int = 1) -> None:
        """Advance exactly `n` bar times, then stay paused."""
        self.control.step(n)
        with self._lock:
            if self.state == RUNNING:
                self._set_state(PAUSED)

    def set_speed(self, speed: float) -> None:
        self.control.set_speed(speed)

    def _check_rewindable(self, what: str) -> None:
        if self.snapshots is None:
            raise WorkstationError(f"cannot {what}: this run keeps no snapshots (built with rewindable=False)")
        if self.has_ended():
            raise WorkstationError(f"cannot {what}: the run has ended ({self.state}); press Play for a new run")
        if self.snapshots.disabled and what == "step back":
            raise WorkstationError(f"cannot {what}: {self.snapshots.disabled}")

    def step_back(self, n: int = 1) -> None:
        """Go back `n` bar times (state restored from a snapshot and replayed), then stay paused; the
        "seek" event (SeekDone) tells when it is done. Hand orders applied after that point are discarded."""
        self._check_rewindable("step back")
        self.control.step_back(n)
        with self._lock:
            if self.state == RUNNING:
                self._set_state(PAUSED)

    def seek(self, target_ns: int) -> None:
        """Go to bar time `target_ns` (a bar START, int ns UTC: every bar time starting at or before it is
        delivered), back or forward, then stay paused; "seek" (SeekDone) tells when it is done."""
        self._check_rewindable("seek")
        self.control.seek(int(target_ns))
        with self._lock:
            if self.state == RUNNING:
                self._set_state(PAUSED)

    @property
    def position(self) -> int:
        """Bar times delivered so far (goes down on a step back)."""
        return self.coordinator.position

    @property
    def seeking(self) -> bool:
        """True from a step back or seek asked for until its "seek" event: the engine replays bar times
        headless, at full speed (any thread may read it)."""
        return self.control.seek_pending or self.coordinator.replaying

    def snapshot_stats(self) -> dict:
        """The snapshots kept (count, bytes, budget, spacing; see SnapshotKeeper.stats); {} when the run
        keeps none."""
        return self.snapshots.stats() if self.snapshots is not None else {}

    def request_stop(self) -> None:
        """Ask the run to stop between two bar times and return at once (safe from any thread,
        including an observer running in an engine thread); `wait()` tells when it has ended."""
        self.control.stop()

    def stop(self, timeout: float = 1.0) -> bool:
        """Stop the run; True when every engine thread has ended within `timeout` seconds."""
        self.control.stop()
        if self.coordinator._thread is None:      # never started
            self._done.set()
            return True
        t0 = time.monotonic()
        if self.coordinator.is_alive():
            self.coordinator.join(timeout)
        self.pipeline.join(max(0.0, timeout - (time.monotonic() - t0)))
        self._done.wait(max(0.05, timeout - (time.monotonic() - t0)))
        return not self.alive_threads()

    def alive_threads(self) -> list[str]:
        """Names of this run's engine threads still running."""
        return ([type(self.coordinator).__name__] if self.coordinator.is_alive() else []) + self.pipeline.alive_threads()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends; True if it ended."""
        return self._done.wait(timeout)

    def jump_to(self, date: dt.date | str) -> SystemManager:
        """Stop this run and build a new one starting at `date` (warmed up again). Returns it."""
        self.stop()
        day = dt.date.fromisoformat(str(date)) if not isinstance(date, dt.date) else date
        if day > self.cfg.backtest.end_date:
            raise ConfigError("(jump)", [("backtest.start_date", f"{day} is after end_date {self.cfg.backtest.end_date}")])
        cfg = self.cfg.model_copy(deep=True)
        cfg.backtest.start_date = day
        return SystemManager(cfg, store=self.store, time_manager=self.tm, events=self.events,
                             thread_factory=self.thread_factory, rewindable=self.rewindable)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.events.emit("state", state)

    # ------------------------------------------------------------------ results
    @property
    def error(self) -> BaseException | None:
        """Why the run failed (None while running, or when it finished or was stopped)."""
        return self.coordinator.error

    @property
    def bars_processed(self) -> int:
        return self.coordinator.bars_processed

    # ------------------------------------------------------------------ progress (any thread; for views)
    @property
    def sessions_done(self) -> int:
        """Sessions finished so far."""
        return self.coordinator.sessions_done

    @property
    def current_session(self) -> TradingSession | None:
        """The session being streamed (None between sessions and before the first)."""
        return self.coordinator.current_session

    @property
    def caught_up_bars(self) -> int:
        """Bars of the first session processed from history before streaming (live runs; 0 in backtests)."""
        return int(getattr(self.feed, "caught_up_bars", 0))

    def has_started(self) -> bool:
        """True once start() ran (the run may have ended since)."""
        c = self.coordinator
        return self.state != STOPPED or c.is_alive() or c.finished.is_set()

    def has_ended(self) -> bool:
        """True once the session loop ended (finished, stopped or failed)."""
        return self.coordinator.finished.is_set()

    def quality_by_interval(self) -> dict[str, np.ndarray]:
        """Bar quality (%) per symbol index of every interval in the current session (copies)."""
        sd = self.session_data
        return {iv: np.array(sd.quality_array(iv)) for iv in sd.intervals}

    def metrics_snapshot(self) -> dict:
        """The performance metrics (stage timings, counters) as plain data."""
        return self.metrics.snapshot()

    def counter(self, name: str) -> int:
        """One metrics counter, e.g. 'overruns.live_backlog'."""
        return self.metrics.counter(name)

    @property
    def started_at(self) -> float | None:
        """time.perf_counter() when the run started (None before `start`)."""
        return self._t_start or None

    def elapsed_s(self) -> float:
        end = self._t_end or time.perf_counter()
        return end - self._t_start if self._t_start else 0.0

    def summary(self) -> dict:
        """The run so far: `elapsed_s` from start to the last bar time (or now), of it `paused_s` paused
        (the user's pause and the waits between single steps); `bars_per_s` over the time not paused."""
        elapsed = self.elapsed_s()
        paused = min(self.control.paused_s, elapsed)
        running = elapsed - paused
        summary: dict[str, object] = {
            "state": self.state,
            "error": f"{type(self.error).__name__}: {self.error}" if self.error else None,
            "sessions_done": self.coordinator.sessions_done,
            "sessions_total": len(self.sessions),
            "bars_processed": self.bars_processed,
            "elapsed_s": round(elapsed, 4),
            "paused_s": round(paused, 4),
            "bars_per_s": round(self.bars_processed / running, 1) if running > 0 else 0.0,
            "signals": self.analysis.signal_count,
            "rejected": self.analysis.rejected_count,
            "strategy_errors": dict(self.analysis.errors),
            "fills": len(self.broker.fills),
            "trades": len(self.broker.trades),
            "orders": self.broker.order_status_counts(),
            "invalid_requests": self.analysis.desk.invalid_count,
            "hand_orders": self.analysis.hand_orders_applied,
            "missing_sessions": self.coordinator.missing_sessions,
            "overruns": {k: self.metrics.counter(k) for k in
                         ("overruns.quality", "overruns.processor", "overruns.analysis")},
        }
        if self.cfg.streams.quotes or self.cfg.execution.fill_prices == "quotes":   # absent otherwise: as before
            summary["quotes"] = {
                "quote_bars_streamed": self.session_data.quote_bars.delivered,
                "fill_prices": self.cfg.execution.fill_prices,
                "fills_at_quotes": self.broker.quote_fills,
                "fills_at_trade_prices": self.broker.quote_fallbacks,
            }
        return summary
