"""EngineBridge: hosts one SystemManager in QThreads and turns its events into one Qt signal per frame.

Threads: the coordinator, processor, quality manager and analysis engine run in QThreads (the
bridge passes a QThread factory to the SystemManager), one for all of them, as `workstation run` does,
unless the config sets backtest.stage_threads true (one each). At MAX (and while seeking) each frame holds
the single engine thread between two bar times (HostGate) until the window has drawn the frame
(`frame_drawn`, at most GATE_HOLD_MS) so that the frame and its paint run without it: 1.5-2x the replay speed of a thread per stage at 1, 10 and 100 symbols, UI stalls within
the same targets; between frames the GUI's 1 ms switch interval lets the UI thread in (a thread per stage
switches every 5 ms at MAX, MAX_SPEED_SWITCH_INTERVAL_S). Engine observers run in those threads and
only append the raw event to a deque (no Qt call, no lock, no copy except the finished session's
bars at "session_end", which SessionData drops at the next session start). A ~16 ms QTimer in the
UI thread (MAX_SPEED_FRAME_MS while playing at MAX, when the views redraw at most 4 times a second anyway) drains the
deque and emits ONE coalesced `batch_ready(UpdateBatch)` per frame, whatever the replay speed: at 1x a bar appears as it completes, at MAX many bars arrive per frame. The UI
thread never waits on the engine; only `shutdown()` (window close) joins threads, with a timeout.

Chart history: per (symbol, interval) the bridge keeps the bars of the last `history_sessions`
finished sessions (numpy copies) plus `chart_days_before` trading days before the first session
(read from the bar store, derived intervals built with the engine's own DerivedBarBuilder), so a
chart can show history when the user switches symbol, as replay tools do.

Hand trading: `submit_order`, `cancel_order`, `modify_order` and `flatten` put the trader's commands
into the run's inbox (SystemManager.manual_orders; the engine applies them between two bar times, also
while paused) and return at once; the answers arrive as `UpdateBatch.manual`. `strategies_enabled`
False builds the next run with every strategy disabled (practice by hand). The bridge keeps the open
orders and the newest account snapshot folded from the events, for the views that draw them.

Step back and the timeline: the run is rewindable (snapshots, workstation.pipeline.snapshots);
`step_back()` and `seek(time)` ask the engine and return at once. While the engine replays bar times
the views already showed (a rewind), the observer drops their events; the engine's "seek" event
carries the restored broker state (open orders, fills, account, taken in the engine thread), from
which the bridge rebuilds what it folds, trims its history of finished sessions, and the batch's
`seek` tells the views to redraw from scratch (`UpdateBatch.seek`).

Run folder: a RunWriter writes config, signals, quality, trades, equity and reports; the bars
(bars.parquet/) are written by SessionBarsWriter from the same session-end copies, with pyarrow in a
background thread (RunWriter's pandas path holds the GIL long enough to freeze the UI at every
session end). The folder's content equals a headless `workstation run` of the same config.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from ui.widgets.signal_log import error_row
from workstation.calendar import TimeManager
from workstation.config import SessionConfig, load_config
from workstation.errors import ConfigError, WorkstationError
from workstation.execution import AccountSnapshot, Order, OrderChange, TradingRound
from workstation.execution.manual import ManualOrderError, ManualOrderResult
from workstation.execution.orders import OPEN_STATUSES
from workstation.model import Bar, Fill
from workstation.pipeline.analysis import flatten_time_ns
from workstation.pipeline.control import HostGate
from workstation.pipeline.snapshots import SeekDone
from workstation.pipeline.warmup import prerun_bars
from workstation.run_commands import runs_in_one_thread
from workstation.run_writer import RunWriter, bar_rows, session_bars_table, unique_run_dir
from workstation.runs.continuation import continued_stem
from workstation.runs.folder import CONFIG_FILE
from workstation.session import BarsView
from workstation.store import BarStore
from workstation.system import FAILED, FINISHED, PAUSED, RUNNING, STOPPED, SystemManager, resolve_store_path

log = logging.getLogger(__name__)

FRAME_MS = 16
# playing at MAX: one batch per redraw of the views (4 a second, ui.main_window.MAX_SPEED_VIEW_INTERVAL_S);
# each batch wakes the UI thread, which takes the interpreter lock from the engine threads (100 ms: 2.5
# times the batches for the same picture, ~0.05 s more CPU per 100-symbol replay)
MAX_SPEED_FRAME_MS = 250
# playing at MAX with a thread per stage: the interpreter's switch interval of a headless run (Python's
# default) instead of the GUI's 1 ms (ui.app.configure_gil_switching). 1 ms forced ~5 times more GIL
# hand-overs between the engine threads: 100 symbols at MAX replayed ~20 % slower, for UI stalls that
# stayed the same at 5 ms (p99 ~24 ms, max ~56 ms; a redraw is shared out with the engine either way).
# One engine thread keeps the GUI's 1 ms: it has no other engine thread to hand over to, and the UI thread
# then waits at most ~1 ms for the lock between frames (100 symbols at MAX, 2 cores, alternated with the
# engine at 5 ms pausing 2 ms every 30 ms for the UI thread, as before: offscreen 271,000 against 243,000
# bars/s median, UI stalls p99 25 against 45 ms; xcb, 18 runs each, 213,000 against 178,000 bars/s, p99 26
# against 37 ms, stalls over 150 ms in 3 runs against 8).
MAX_SPEED_SWITCH_INTERVAL_S = 0.005
# single-threaded engine at MAX (and seeking): each frame holds the engine between two bar times until this
# long after the views had the batch (workstation.pipeline.control.HostGate). The UI thread gives the
# interpreter lock up around every Qt call and, against an engine thread that always wants it, waited out
# the switch interval at each: a redraw of a few ms of work stalled the window 100-250 ms (5 ms timer:
# p99 120-170 ms, max 210-250 ms, 1 symbol). Held only for the batch (0 ms), the paint that follows
# stalled as much; held 30 ms, which covers the paint: p99 19-31 ms, max 29-92 ms at 1, 10 and 100 symbols.
# The hold now ends when the window has drawn the frame (EngineBridge.frame_drawn): this is its longest
GATE_HOLD_MS = 30
DEFAULT_ENGINE_NICE = 4
DEFAULT_HISTORY_SESSIONS = 20
DEFAULT_CHART_DAYS_BEFORE = 2
OBSERVED_KINDS = (
    "decisions",
    "error",
    "round",
    "manual",
    "quality",
    "gap",
    "session_start",
    "session_end",
    "state",
    "backtest_end",
    "seek",
)
# per signal round: the observer's fast path. The GUI takes the decisions a round at a time (one
# DecisionBatch, read a column at a time by the signal log): with nobody on the per-row "decision" event
# the engine builds no Decision object per signal (~12,000 events fewer per 100-symbol replay). The fills,
# order changes and account of a bar time come in one "round" event (TradingRound) at its end: one event
# where "fills", "orders" (one per delivery, ~2 a bar time) and "account" were ~4, and the engine then
# hands order changes on once a bar time rather than after every strategy call
FREQUENT_KINDS = frozenset(("decisions",))
_EMPTY_I8 = np.zeros(0, dtype=np.int64)
_EMPTY_F8 = np.zeros(0, dtype=np.float64)
EMPTY_BARS = BarsView(_EMPTY_I8, _EMPTY_F8, _EMPTY_F8, _EMPTY_F8, _EMPTY_F8, _EMPTY_F8)


class EngineThread(QThread):
    """A QThread running `target`, with the thread API the engine expects (start, join, is_alive)."""

    def __init__(self, target: Callable[[], None], name: str, nice: int = 0):
        super().__init__()
        self._target = target
        self.nice = nice
        self.setObjectName(name)

    def run(self) -> None:
        if self.nice > 0:
            lower_thread_priority(self.nice)
        try:
            self._target()
        except BaseException:  # noqa: BLE001 - the stages guard their own work; never kill the process
            log.exception("engine thread %s ended with an error", self.objectName())

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end, at most `timeout` seconds (None = without limit)."""
        if timeout is None:
            self.wait()
        else:
            self.wait(max(0, int(timeout * 1000)))

    def is_alive(self) -> bool:
        return self.isRunning()


def lower_thread_priority(nice: int) -> None:
    """Raise the calling thread's nice value (Linux: per thread), so the UI thread wins the CPU."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + nice)
    except (AttributeError, OSError) as exc:
        log.debug("cannot lower the engine thread priority: %s", exc)


@dataclass(frozen=True, slots=True)
class RunProgress:
    """Where the loaded run is (for the status bar and the metrics panel)."""

    state: str
    clock_ns: int
    bars_processed: int
    sessions_done: int
    sessions_total: int
    first_session: dt.date | None
    last_session: dt.date | None


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A config loaded and its run built, not installed yet (EngineBridge.prepare_run, any thread)."""

    config: SessionConfig
    path: Path | None
    store_path: Path
    store: BarStore
    system: SystemManager
    prerun: dict[tuple[str, str], BarsView] | None  # chart history before the first session


@dataclass(slots=True)
class UpdateBatch:
    """Everything that happened in the engine since the previous frame (built in the UI thread)."""

    run_id: int
    clock_ns: int
    bars_processed: int
    rows: list = field(default_factory=list)  # signal-log rows: engine DecisionBatches and error-row dicts
    decisions: int = 0
    errors: int = 0
    fills: list[Fill] = field(default_factory=list)
    # order changes, in engine order, as the broker's light records: `change.event()` is the OrderEvent
    # (its Order snapshot built then; at MAX a frame holds thousands, most of which no view reads)
    orders: list[OrderChange] = field(default_factory=list)
    # the newest change of each order in `orders` (after the frame's step back or seek, if any), by order id,
    # and the symbols they belong to: folded once per frame by the bridge for every view (None: not folded)
    orders_latest: dict[int, OrderChange] | None = None
    order_symbols: frozenset[str] = frozenset()
    orders_opened: dict[int, OrderChange] = field(default_factory=dict)  # of orders_latest: open after it
    orders_closed: list[int] = field(default_factory=list)  # of orders_latest: ids of orders no longer open
    account: AccountSnapshot | None = None  # the newest account snapshot of the frame (bar-time start)
    manual: list[ManualOrderResult] = field(default_factory=list)  # answers to the trader's hand orders
    quality_changed: np.ndarray | None = None  # symbol indices whose quality changed
    quality_pct: np.ndarray | None = None  # latest streamed-interval quality (%)
    quality: dict[str, np.ndarray] | None = None  # every interval's quality (%) by symbol index, when it changed
    gap_counts: dict[str, int] = field(default_factory=dict)  # symbols with new gaps -> gaps this session
    session_starts: list[dict] = field(default_factory=list)
    session_ends: list[dict] = field(default_factory=list)  # payload + "bars": {(sym, iv): BarsView}
    states: list[str] = field(default_factory=list)
    finished: dict | None = None  # the backtest_end summary
    seek: SeekDone | None = None  # a step back or seek ended in this frame: views redraw from the bridge
    events: int = 0


def copy_session_bars(session_data) -> dict[tuple[str, str], BarsView]:
    """Numpy copies of every (symbol, interval) of the current session (engine thread, at session end):
    per interval, the timestamps in one array and the five price and volume columns in one 5 x n block
    (the BarsView's columns are views into them: 2 copies per interval instead of 6 per symbol)."""
    out: dict[tuple[str, str], BarsView] = {}
    for iv in session_data.intervals:
        views = [(sym, session_data.bars(sym, iv)) for sym in session_data.symbols]
        views = [(sym, view) for sym, view in views if view.timestamp.shape[0]]
        if not views:
            continue
        ends = np.cumsum([view.timestamp.shape[0] for _, view in views])
        starts = np.concatenate(([0], ends[:-1]))
        timestamps = np.concatenate([view.timestamp for _, view in views])
        values = np.empty((5, int(ends[-1])), dtype=np.float64)
        for k, name in enumerate(("open", "high", "low", "close", "volume")):
            np.concatenate([getattr(view, name) for _, view in views], out=values[k])
        for (sym, _view), a, e in zip(views, starts.tolist(), ends.tolist(), strict=True):
            out[(sym, iv)] = BarsView(timestamps[a:e], *(values[k, a:e] for k in range(5)))
    return out


class SessionBarsWriter:
    """Writes the finished sessions' bars to `<run>/bars.parquet/part-NNNN.parquet` (the run-folder
    layout of workstation.run_writer) from the numpy copies taken at session end, in a background
    thread and with pyarrow only: building the table holds the GIL for microseconds, where a pandas
    frame of 100 symbols x 3 intervals holds it for ~100 ms and freezes the UI at every session end.

    As the run writer does, the sessions of fewer than RunWriter.JOIN_ROWS bars that end within
    `coalesce_s` of the first one not written yet share one part, named after the last of them (a part
    per session cost ~11 % of a one-symbol replay of 231 sessions at MAX); a bigger session is written
    as it comes, overlapping the engine. A step back into session k (`discard_from`) deletes the parts
    of k and later sessions; a part that also holds sessions before k keeps those (rewritten without
    the others)."""

    def __init__(self, run_dir: Path, session_data, coalesce_s: float | None = None):
        self.folder = Path(run_dir) / "bars.parquet"
        self.symbols = list(session_data.symbols)
        self.intervals = list(session_data.intervals)
        self.coalesce_s = RunWriter.COALESCE_S if coalesce_s is None else max(0.0, float(coalesce_s))
        self._cond = threading.Condition()
        self._pending: deque[tuple[str, int, Any]] = deque()     # ("bars", index, bars) / ("discard", index, None)
        self._closed = False
        self.errors: list[str] = []
        self.written_at: float | None = None    # time.perf_counter() at the end of the last part's write
        self._parts: list[tuple[int, int, Path]] = []   # (first, last session index, file) of each part written
        self._starts: dict[int, int] = {}       # session index -> its first bar's start (ns UTC)
        self._names: dict = {}                  # session_bars_table's cache of name columns
        self._thread = threading.Thread(target=self._work, name="BarsWriter", daemon=True)
        self._thread.start()

    def submit(self, index: int, bars: dict[tuple[str, str], BarsView]) -> None:
        """Queue one session's bars (called in the engine thread at session end)."""
        self._put(("bars", index, bars))

    def discard_from(self, index: int) -> None:
        """A step back into session `index`: delete the bars of that session and later ones (after the
        writes already queued); they are written again when the replay gets there."""
        self._put(("discard", index, None))

    def _put(self, item: tuple[str, int, Any]) -> None:
        with self._cond:
            if not self._closed:
                self._pending.append(item)
                self._cond.notify()

    def close(self) -> None:
        """No more sessions; the queued ones are still written (at once, not held)."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def done(self) -> bool:
        return self._closed and not self._thread.is_alive()

    # ------------------------------------------------------------------ the writer thread
    def _work(self) -> None:
        held: list[tuple[int, dict]] = []
        deadline = 0.0
        while True:
            with self._cond:
                while not self._pending and not self._closed and (not held or time.monotonic() < deadline):
                    self._cond.wait(max(0.0, deadline - time.monotonic()) if held else None)
                items = list(self._pending)
                self._pending.clear()
                closed = self._closed
            for kind, index, bars in items:
                if kind == "discard":
                    self._write([h for h in held if h[0] < index])     # what is before the step back stays
                    held = []
                    self._discard(index)
                elif bar_rows(bars) >= RunWriter.JOIN_ROWS:
                    self._write(held)           # a big session (many symbols) is written as it comes
                    held = []
                    self._write([(index, bars)])
                else:
                    if not held:
                        deadline = time.monotonic() + self.coalesce_s
                    held.append((index, bars))
            if held and (closed or time.monotonic() >= deadline):
                self._write(held)
                held = []
            if closed and not held:
                with self._cond:
                    if not self._pending:
                        if self.written_at is None:
                            self.written_at = time.perf_counter()
                        return

    def _write(self, sessions: list[tuple[int, dict]]) -> None:
        """Write `sessions` (index, bars; in order) as one part named after the last."""
        if not sessions:
            return
        try:
            for index, bars in sessions:
                starts = [int(view.timestamp[0]) for view in bars.values() if view.timestamp.shape[0]]
                if starts:
                    self._starts[index] = min(starts)
            tables = [self.table(bars) for _index, bars in sessions]
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
            if table.num_rows:
                path = self.folder / f"part-{sessions[-1][0] + 1:04d}.parquet"
                self._write_table(table, path)
                self._parts.append((sessions[0][0], sessions[-1][0], path))
        except (OSError, pa.ArrowException) as exc:
            log.error("cannot write the bars of sessions %d-%d to %s: %s", sessions[0][0] + 1, sessions[-1][0] + 1,
                      self.folder, exc)
            self.errors.append(str(exc))
        finally:
            self.written_at = time.perf_counter()

    def _write_table(self, table: pa.Table, path: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)

    def _discard(self, index: int) -> None:
        kept = []
        for first, last, path in self._parts:
            if last < index:
                kept.append((first, last, path))
                continue
            try:
                if first < index:           # sessions before the step back in the same part: keep those
                    table = pq.read_table(path)
                    start = min((self._starts[k] for k in range(index, last + 1) if k in self._starts), default=None)
                    if start is not None:       # None: the sessions from `index` on had no bars
                        table = table.filter(pc.less(table["timestamp"].cast(pa.int64()), start))
                    renamed = self.folder / f"part-{index:04d}.parquet"   # its last session now index - 1
                    self._write_table(table, renamed)
                    kept.append((first, index - 1, renamed))
                    if renamed != path:
                        path.unlink(missing_ok=True)
                else:
                    path.unlink(missing_ok=True)
            except (OSError, pa.ArrowException) as exc:
                log.error("cannot remove the bars after session %d from %s: %s", index, self.folder, exc)
                self.errors.append(str(exc))
        self._parts = kept
        for k in [k for k in self._starts if k >= index]:
            del self._starts[k]

    def table(self, bars: dict[tuple[str, str], BarsView]) -> pa.Table:
        """symbol, interval, timestamp (UTC), open, high, low, close, volume; by interval, then symbol."""
        return session_bars_table(self.symbols, self.intervals, bars, self._names)


def fold_order_changes(changes: list[OrderChange], start: int = 0) -> dict[int, OrderChange]:
    """The newest of `changes[start:]` (engine order) per order id: what a frame's changes leave each order
    as. At MAX a frame holds thousands of them: one pass reading the record's tuple fields (`fields[0]` is
    the order id) rather than a property call per change."""
    part = changes[start:] if start else changes
    return dict(zip([change[1][0] for change in part], part, strict=True))


def as_order(record: Order | OrderChange) -> Order:
    """The Order snapshot of an order or of an order change record (UpdateBatch.orders)."""
    return record if isinstance(record, Order) else Order(*record.fields)


def concat_bars(parts: list[BarsView]) -> BarsView:
    """One BarsView from consecutive parts (bars at or before the previous part's end are dropped)."""
    parts = [p for p in parts if p.timestamp.shape[0]]
    if not parts:
        return EMPTY_BARS
    if len(parts) == 1:
        return parts[0]
    kept = [parts[0]]
    last = int(parts[0].timestamp[-1])
    for p in parts[1:]:
        i = int(np.searchsorted(p.timestamp, last, side="right"))
        if i < p.timestamp.shape[0]:
            part = p if i == 0 else BarsView(*(col[i:] for col in p))
            kept.append(part)
            last = int(part.timestamp[-1])
    return BarsView(*(np.concatenate([getattr(k, name) for k in kept]) for name in BarsView._fields))


class EngineBridge(QObject):
    """Owns the SystemManager of the loaded config and its run folder; see the module docstring."""

    batch_ready = Signal(object)  # UpdateBatch, at most one per frame
    state_changed = Signal(str)  # stopped | running | paused | finished | failed
    run_failed = Signal(str)  # a message a trader understands
    finished = Signal(dict)  # the backtest_end summary (any end: finished, stopped, failed)
    system_changed = Signal(object)  # a new SystemManager was built (config load, jump, restart)
    # emitted from the engine thread at a run's end: the UI drains at once instead of at the next frame
    # (at MAX a frame is MAX_SPEED_FRAME_MS, so a finished run would show up to that much late)
    _drain_now = Signal()     # a frame now (queued to the UI thread): the run's end, a seek's end

    def __init__(
        self,
        runs_dir: str | Path = "runs",
        history_sessions: int = DEFAULT_HISTORY_SESSIONS,
        chart_days_before: int = DEFAULT_CHART_DAYS_BEFORE,
        write_bars: bool = True,
        frame_ms: int = FRAME_MS,
        engine_nice: int | None = None,
        max_speed_switch_interval: float | None = MAX_SPEED_SWITCH_INTERVAL_S,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        if history_sessions < 1:
            raise ValueError(f"history_sessions must be >= 1, got {history_sessions}")
        self.runs_dir = Path(runs_dir)
        self.history_sessions = int(history_sessions)
        self.chart_days_before = max(0, int(chart_days_before))
        self.write_bars = write_bars
        if engine_nice is None:
            engine_nice = int(os.environ.get("WORKSTATION_ENGINE_NICE", DEFAULT_ENGINE_NICE))
        self.engine_nice = engine_nice  # engine threads run this much "nicer" than the UI thread
        # sys.setswitchinterval while playing at MAX (None: left alone); the interval before is put back
        self.max_speed_switch_interval = max_speed_switch_interval
        self._switch_interval_before: float | None = None
        # closed for each frame at MAX (and while seeking): the engine waits between two bar times until
        # the frame is drawn, GATE_HOLD_MS after the batch went to the views (None: never closed)
        self.host_gate = HostGate()
        self.gate_hold_ms: int | None = GATE_HOLD_MS
        self.config: SessionConfig | None = None  # as loaded
        self.run_config: SessionConfig | None = None  # what the current system runs (after a jump)
        self.config_path: Path | None = None
        self.store_path: Path | None = None
        self.system: SystemManager | None = None
        self.writer: RunWriter | None = None
        self.bars_writer: SessionBarsWriter | None = None    # the current run's (None: bars not written)
        self.run_dir: Path | None = None
        self.run_id = 0
        self.batches_emitted = 0
        self.last_summary: dict | None = None
        self._store: BarStore | None = None
        self._tm: TimeManager | None = None
        self._speed: float | None = None
        self.strategies_enabled = True  # False: the next run is built with every strategy disabled
        self._started = False
        self._queue: deque = deque()
        self._threads: list[EngineThread] = []
        self._retired: list[SystemManager] = []
        self._writers: list[RunWriter] = []
        self._bars_writers: list[SessionBarsWriter] = []
        self._reaped_at = 0.0
        self._reset_run_state()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.frame_ms = int(frame_ms)
        self._timer.setInterval(self.frame_ms)
        self._timer.timeout.connect(self._drain)
        self._drain_now.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------------ state kept per run
    def _reset_run_state(self) -> None:
        self._history: dict[tuple[str, str], deque[BarsView]] = {}
        self._history_cache: dict[tuple[str, str], BarsView] = {}
        self._quote_days: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._prerun: dict[tuple[str, str], BarsView] | None = None
        self._fills: list[Fill] = []                          # every fill delivered, in engine order
        self._fills_by_symbol: dict[str, list[Fill]] = {}     # of _fills[:_fills_indexed], built when read
        self._fills_indexed = 0
        self._open_orders: dict[int, Order | OrderChange] = {}   # by id: the newest snapshot or change record
        self.account: AccountSnapshot | None = None
        self._gap_counts: dict[str, int] = {}
        self._live_generation: int | None = None
        self.current_session: dict | None = None
        self.sessions_done = 0
        self.decision_count = 0
        self.error_count = 0
        self.fill_count = 0
        self._last_clock = -1
        self._last_bars = -1
        self._last_position = -1
        self._history_index: dict[tuple[str, str], deque[int]] = {}  # session index of each history part
        self.last_seek: SeekDone | None = None
        self.hand_commands = 0        # hand orders, cancels, changes and flattens sent in this run
        self.hand_refused = 0         # of them, the ones the engine answered with a refusal

    # ------------------------------------------------------------------ properties
    @property
    def state(self) -> str:
        """The engine state, "none" when no config is loaded."""
        return self.system.state if self.system is not None else "none"

    @property
    def started(self) -> bool:
        """True once the current system was started (a stopped one needs a rebuild to play again)."""
        return self._started

    @property
    def speed(self) -> float:
        """The replay speed the next or current run uses (0 = as fast as possible)."""
        if self._speed is not None:
            return self._speed
        return self.run_config.backtest.speed_multiplier if self.run_config is not None else 0.0

    # ------------------------------------------------------------------ config
    def load_config(
        self, config: str | Path | SessionConfig, store: str | Path | None = None
    ) -> SystemManager:
        """Load a config (path or model) and build its run, stopped. Raises WorkstationError subclasses.
        Blocks the calling (UI) thread for the whole build; the window loads with `prepare_run` in a
        worker thread and `install_prepared` here (ui.config_loader)."""
        return self.install_prepared(self.prepare_run(config, store))

    def prepare_run(
        self,
        config: str | Path | SessionConfig,
        store: str | Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> PreparedRun:
        """Everything slow of a config load, in ANY thread (no Qt call, no change to the bridge): read
        and validate the config, open the store, build the SystemManager (calendar, symbols in the
        store, strategies) and the chart history before the first session. `progress(step)` is called
        with a short description before each step. Raises WorkstationError subclasses."""
        say = progress or (lambda _step: None)
        if isinstance(config, SessionConfig):
            cfg, path = config, None
        else:
            path = Path(config)
            say(f"Reading {path.name}")
            cfg = load_config(path)
        if cfg.mode != "backtest":
            raise ConfigError(
                str(path or "(config)"),
                [
                    (
                        "mode",
                        f"{cfg.mode!r} configs run in the live monitor; "
                        "the replay window runs backtest configs",
                    )
                ],
            )
        store_path = resolve_store_path(cfg, str(store) if store is not None else None)
        current_store, current_tm = self._store, self._tm  # read once: the UI thread may replace them
        if current_store is None or self.store_path != store_path:
            say(f"Opening the bar store {store_path}")
            bar_store, tm = BarStore(store_path), None
        else:
            bar_store, tm = current_store, current_tm
        n = len(cfg.symbols)
        say(f"Checking the calendar and {n} symbol{'s' if n != 1 else ''} in the store, loading strategies")
        system = self._new_system(cfg, bar_store, tm)
        prerun = None
        if self.chart_days_before > 0 and system.sessions:
            say(f"Reading {self.chart_days_before} days of chart history before {system.sessions[0].date}")
            prerun = self._build_prerun(system)
        return PreparedRun(cfg, path, store_path, bar_store, system, prerun)

    def install_prepared(self, prepared: PreparedRun) -> SystemManager:
        """Make a prepared run the loaded one (UI thread; quick: no file, calendar or store access)."""
        self._store, self.store_path = prepared.store, prepared.store_path
        self._speed = None
        self.config, self.config_path = prepared.config, prepared.path
        self._install(prepared.system, prepared.config, prepared.prerun)
        return prepared.system

    def _new_system(self, cfg: SessionConfig, store: BarStore, tm: TimeManager | None) -> SystemManager:
        if (
            tm is not None
            and self.run_config is not None
            and ((self.run_config.exchange, self.run_config.timezone) != (cfg.exchange, cfg.timezone))
        ):
            tm = None
        if not self.strategies_enabled and any(st.enabled for st in cfg.strategies):
            cfg = cfg.model_copy(deep=True)
            for st in cfg.strategies:
                st.enabled = False
        if runs_in_one_thread(cfg):
            # as `workstation run`: the stages in the coordinator's thread, 1.5-2x the replay speed of a
            # thread per stage at MAX (1, 10 and 100 symbols), UI stalls as low with the host gate
            cfg = cfg.model_copy(deep=True)
            cfg.backtest.stage_threads = False
        # the GUI collects in its own thread with its startup heap frozen (ui.app): the run leaves it alone
        return SystemManager(cfg, store=store, time_manager=tm, thread_factory=self._make_thread,
                             rewindable=cfg.mode == "backtest", freeze_heap=False, host_gate=self.host_gate)

    def _build(self, cfg: SessionConfig) -> None:
        """Build a new system for `cfg` and make it current (the previous one is stopped)."""
        self._install(self._new_system(cfg, self._store, self._tm), cfg)

    def _install(
        self,
        system: SystemManager,
        cfg: SessionConfig,
        prerun: dict[tuple[str, str], BarsView] | None = None,
    ) -> None:
        """Retire the current system (non-blocking stop) and make `system` the current run (`prerun`:
        its chart history before the first session when already built, else built when first asked)."""
        self._retire_current()
        self._tm = system.tm
        if self._speed is not None:
            system.set_speed(self._speed)
        self.run_id += 1
        self.system = system
        self.run_config = cfg
        self.writer = None
        self.bars_writer = None
        self.run_dir = None
        self._started = False
        self.last_summary = None
        self._queue.clear()
        self._reset_run_state()
        self._prerun = prerun
        self.system_changed.emit(system)
        self.state_changed.emit(system.state)

    def _make_thread(self, target: Callable[[], None], name: str) -> EngineThread:
        thread = EngineThread(target, name, self.engine_nice)
        self._threads.append(thread)
        return thread

    def _retire_current(self) -> None:
        system = self.system
        if system is None:
            return
        if self._started:
            system.stop(0.0)
            if system.alive_threads():
                self._retired.append(system)
        self.system = None

    # ------------------------------------------------------------------ controls
    def play(self) -> None:
        """Start the loaded run, resume a paused one, or replay again after the end."""
        system = self._require_system()
        if system.state == PAUSED:
            system.resume()
        elif system.state == RUNNING:
            return
        elif not self._started:
            self._start()
        else:
            self._build(self.run_config)
            self._start()
        self._pace_frames()

    def pause(self) -> None:
        system = self._require_system()
        if system.state == RUNNING:
            system.pause()
        self._pace_frames()

    def step(self) -> None:
        """Advance exactly one bar time, then stay paused (starts the run paused when needed)."""
        system = self._require_system()
        if system.state in (FINISHED, FAILED):
            return
        if not self._started:
            system.pause()
            self._start()
        elif system.state == STOPPED:
            self._build(self.run_config)
            self.system.pause()
            self._start()
        self.system.step(1)
        self._pace_frames()

    def step_back(self) -> None:
        """Go back one bar time (state restored, not reset), then stay paused; a no-op before the run
        started, at its first bar time and after its end."""
        system = self._require_system()
        if not self._started or system.has_ended() or not system.rewindable or system.position == 0:
            return
        system.step_back(1)
        self._pace_frames()

    def seek(self, target_ns: int) -> None:
        """Go to the bar time starting at or just before `target_ns` (int ns UTC), back or forward, then
        stay paused; starts the loaded run (paused) when it has not started. After the end a new run is
        needed (Play)."""
        system = self._require_system()
        if not system.rewindable:
            raise WorkstationError("a live session cannot go back in time")
        if system.has_ended():
            raise WorkstationError("the run has ended: press Play to replay it, then go to any bar time")
        if not self._started:
            system.pause()
            self._start()
        self.system.seek(int(target_ns))
        self._pace_frames()

    def can_seek(self) -> bool:
        """True while the run can step back or seek (rewindable, not ended)."""
        system = self.system
        return system is not None and system.rewindable and not system.has_ended()

    def stop(self) -> None:
        """Ask the run to stop (returns at once; the run ends between two bar times)."""
        if self.system is not None and self._started:
            self.system.stop(0.0)

    def set_speed(self, speed: float) -> None:
        """Replay speed multiplier, 0 = as fast as possible (data-driven)."""
        speed = float(speed)
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self._speed = speed
        if self.system is not None:
            self.system.set_speed(speed)
        self._pace_frames()

    def set_strategies_enabled(self, enabled: bool) -> bool:
        """Run the config's strategies (True) or trade by hand alone (False). A loaded run that has not
        started is rebuilt at once (True returned); a started run keeps its strategies until the next
        run (Play after the end or a Stop, a jump)."""
        enabled = bool(enabled)
        if enabled == self.strategies_enabled:
            return False
        self.strategies_enabled = enabled
        if self.system is not None and not self._started and self.run_config is not None:
            self._build(self.run_config)
            return True
        return False

    @property
    def strategies_running(self) -> bool:
        """True when the current run has at least one strategy loaded."""
        return self.system is not None and bool(self.system.strategies)

    # ------------------------------------------------------------------ hand trading
    def submit_order(self, symbol: str, quantity: float, order_type: str = "market", limit_price: float | None = None,
                     stop_price: float | None = None, tif: str = "day", stop_loss: float | None = None,
                     take_profit: float | None = None, tag: str | None = None) -> int:
        """Send a hand order (quantity + buy, - sell); applied by the engine between two bar times, also
        while paused. Returns the command's sequence number (its answer: `UpdateBatch.manual`)."""
        return self._hand_inbox().submit(symbol, quantity, order_type, limit_price, stop_price, tif=tif,
                                         stop_loss=stop_loss, take_profit=take_profit, tag=tag)

    def cancel_order(self, order_id: int) -> int:
        """Cancel an open order by hand (its bracket or OCO partners go with it)."""
        return self._hand_inbox().cancel(order_id)

    def modify_order(self, order_id: int, quantity: float | None = None, limit_price: float | None = None,
                     stop_price: float | None = None) -> int:
        """Move an open order (a dragged line) or change its quantity, by hand."""
        return self._hand_inbox().modify(order_id, quantity, limit_price, stop_price)

    def flatten(self, symbol: str) -> int:
        """Cancel every open order of `symbol` and close its position at market."""
        return self._hand_inbox().flatten(symbol)

    def _hand_inbox(self):
        system = self._require_system()
        self.hand_commands += 1
        if self._started and (system.has_ended() or system.state in (STOPPED, FINISHED, FAILED)):
            raise ManualOrderError("the run has ended: press Play to start a new run, then trade")
        if not self._started:
            system.pause()        # trading before Play starts the run, paused before its first bar
            self._start()
            system.pause()        # the state says so too (started runs say "running")
        return system.manual_orders

    def take_up(self, hand_orders: list, resume_ns: int | None) -> int:
        """Continue a run from its folder (workstation.runs.continuation) on the loaded run, not started
        yet: its hand orders applied again at their times, then to bar time `resume_ns` at full speed,
        paused there (None: stays at the start). The count of hand orders scheduled."""
        system = self._require_system()
        if self._started:
            raise WorkstationError("this run has started: load the run's config again to take another up")
        scheduled = system.manual_orders.schedule(hand_orders)
        self.hand_commands += scheduled      # a run traded by hand: replacing it asks first
        if resume_ns is not None:
            self.seek(resume_ns)
        return scheduled

    def jump_to(self, date: dt.date | str) -> SystemManager:
        """Start again at `date` (a new run, warmed up again); keeps playing when it was playing. A day
        the exchange is shut starts at the next trading day (`first_session_date()` says which)."""
        if self.config is None:
            raise WorkstationError("load a config before jumping to a date")
        day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
        cfg = self.config
        if not cfg.backtest.start_date <= day <= cfg.backtest.end_date:
            raise WorkstationError(f"{day} is outside the config's dates {cfg.backtest.start_date} .. "
                                   f"{cfg.backtest.end_date}: pick a day inside them")
        if self._tm is not None and self._tm.first_trading_date_on_or_after(day) > cfg.backtest.end_date:
            raise WorkstationError(f"{cfg.exchange} has no trading day from {day} to the config's last "
                                   f"day {cfg.backtest.end_date}: pick an earlier day")
        was_playing = self.system is not None and self.system.state == RUNNING
        new_cfg = cfg.model_copy(deep=True)
        new_cfg.backtest.start_date = day
        self._build(new_cfg)
        if was_playing:
            self._start()
        return self.system

    def first_session_date(self) -> dt.date | None:
        """The date of the loaded run's first session (None before a config is loaded)."""
        if self.run_config is None or self._tm is None:
            return None
        return self._tm.first_trading_date_on_or_after(self.run_config.backtest.start_date)

    def _require_system(self) -> SystemManager:
        if self.system is None:
            raise WorkstationError("no session config is loaded: pick one in the toolbar first")
        return self.system

    def _start(self) -> None:
        system = self.system
        path = self.config_path
        if path is None:
            stem = _slug(system.cfg.name)
        elif path.name == CONFIG_FILE:
            stem = continued_stem(path.parent.name)    # a run folder's config: a continued run
        else:
            stem = path.stem
        if system.cfg.backtest.start_date != (self.config.backtest.start_date if self.config else None):
            stem += f"-from-{system.cfg.backtest.start_date:%Y%m%d}"
        self.run_dir = unique_run_dir(self.runs_dir, stem)
        self.writer = RunWriter(system, self.run_dir, write_bars=False)
        self._writers = [w for w in self._writers if not w.closed] + [self.writer]
        bars_writer = SessionBarsWriter(self.run_dir, system.session_data) if self.write_bars else None
        self.bars_writer = bars_writer
        if bars_writer is not None:
            self._bars_writers = [w for w in self._bars_writers if not w.done()] + [bars_writer]
        observer, frequent, rounds = self._observer(self.run_id, system, bars_writer)
        for kind in OBSERVED_KINDS:
            system.events.subscribe(kind, frequent if kind in FREQUENT_KINDS else rounds if kind == "round"
                                    else observer)
        self._started = True
        system.start()
        self._timer.start()

    # ------------------------------------------------------------------ engine side (engine threads)
    def _observer(
        self, run_id: int, system: SystemManager, bars_writer: SessionBarsWriter | None
    ) -> tuple[Callable[[str, Any], None], Callable[[str, Any], None], Callable[[str, Any], None]]:
        """The engine observers: each appends (run, kind, payload) and returns; the first copies bars at
        session end (for the charts' history and the run folder's bars.parquet) and keeps the newest
        clock the views were given; the second, for FREQUENT_KINDS (thousands a second at MAX), only
        drops what a rewind replays; the third, for "round" (one per bar time), does what the first does
        for it. Every bar time ends with a "round" event at its clock, so the newest clock shown covers
        the frequent events delivered before it."""
        append = self._queue.append
        sd = system.session_data
        coordinator = system.coordinator
        clock = system.clock
        emit_drain = self._drain_now.emit

        def drain_now() -> None:
            try:
                emit_drain()
            except RuntimeError:       # the bridge is deleted (its window closed): no view to show it to
                pass
        shown = [-1]   # the newest clock whose events the views got (events of a rewind's replay up to it are dropped)

        def on_event(kind: str, payload: Any) -> None:
            if kind == "seek":
                if bars_writer is not None:
                    bars_writer.discard_from(payload.session_index)
                broker = system.broker
                payload = (payload, [o for o in broker.orders() if o.is_open], list(broker.fills),
                           broker.account_snapshot(), sd.session_generation)
                shown[0] = clock.now_ns()
                append((run_id, kind, payload))
                drain_now()                 # the frames are slow while seeking: show where it stopped at once
                return
            now = clock.now_ns()
            if not coordinator.replaying:
                shown[0] = max(shown[0], now)
            elif now <= shown[0] and kind not in ("state", "backtest_end"):
                return                      # replaying what the views already show (a step back)
            if kind == "session_end":
                bars = copy_session_bars(sd)
                if bars_writer is not None:
                    bars_writer.submit(payload["index"], bars)
                payload = dict(payload, bars=bars, generation=sd.session_generation)
            elif kind == "backtest_end" and bars_writer is not None:
                bars_writer.close()
            elif kind == "session_start":
                payload = dict(payload, generation=sd.session_generation)
            append((run_id, kind, payload))
            if kind == "backtest_end":
                drain_now()                 # queued to the UI thread: the end shows without a frame's wait

        def on_frequent(kind: str, payload: Any) -> None:
            if coordinator.replaying and clock.now_ns() <= shown[0]:
                return                      # replaying what the views already show (a step back)
            append((run_id, kind, payload))

        def on_round(kind: str, payload: TradingRound) -> None:
            now = clock.now_ns()
            if not coordinator.replaying:
                if now > shown[0]:
                    shown[0] = now
            elif now <= shown[0]:
                return                      # replaying what the views already show (a step back)
            append((run_id, kind, payload))

        return on_event, on_frequent, on_round

    # ------------------------------------------------------------------ UI side (UI thread)
    def _drain(self) -> None:
        """Frame tick: turn the queued engine events into one UpdateBatch."""
        if self._retired or self._threads_changed():
            self._reap_retired()
        system = self.system
        if system is None:
            if not self._retired:
                self._timer.stop()
            self._queue.clear()
            return
        queue = self._queue
        # the bar times delivered, read before the queue: their events (a bar time's round comes at its
        # end, before it counts as delivered) are all in this batch or an earlier one. The clock moves at a
        # bar time's start, so it can name one whose events are still coming.
        position = system.position
        n = len(queue)
        clock_ns = system.clock.now_ns()
        bars = system.bars_processed
        if n == 0 and clock_ns == self._last_clock and bars == self._last_bars and position == self._last_position:
            return
        if (self.gate_hold_ms is not None and not system.cfg.backtest.stage_threads and not self.host_gate.closed
                and self._replaying_fast(system)):
            # the frame's work (this batch, the views, their paint) without the single engine thread taking
            # the interpreter lock back at every Qt call; it goes on once the window has drawn the frame
            # (`frame_drawn`), at the latest GATE_HOLD_MS after the views had the batch (stage threads block
            # on their queues often enough: they are not held)
            self.host_gate.close()
            QTimer.singleShot(self.gate_hold_ms, self, self.host_gate.open)
        batch = UpdateBatch(self.run_id, clock_ns, bars)
        quality_mask: np.ndarray | None = None
        symbols = system.session_data.symbols
        popleft = queue.popleft
        rows, fills, orders = batch.rows, batch.fills, batch.orders
        open_orders = self._open_orders
        run = self.run_id
        decisions = 0
        fold_from = fills_from = 0
        account_fields = None
        for _ in range(n):
            run_id, kind, payload = popleft()
            if run_id != run:
                continue
            # the frequent kinds first: at MAX a frame holds hundreds of decision and round events
            if kind == "decisions":
                rows.append(payload)        # the DecisionBatch itself: the signal log reads its columns
                decisions += len(payload)
                continue
            if kind == "round":
                # a bar time's fills (indexed by symbol when read), order changes (as light records: Order
                # snapshots are built only for what a view reads (open orders, a hand order's answer), not
                # per change; folded into the open orders once per frame, below) and account
                if payload.fills:
                    fills.extend(payload.fills)
                if payload.orders:
                    orders.extend(payload.orders)
                if payload.account_fields is not None:
                    batch.events += 1
                    account_fields = payload.account_fields     # the snapshot of the newest only, below
                continue
            batch.events += 1
            if kind == "error":
                rows.append(error_row(payload))
                batch.errors += 1
            elif kind == "manual":
                batch.manual.append(payload)
                if not payload.accepted:
                    self.hand_refused += 1
            elif kind == "quality":
                _clock, changed, pct = payload
                if quality_mask is None:
                    quality_mask = np.zeros(len(symbols), dtype=bool)
                quality_mask[changed] = True
                batch.quality_pct = pct
            elif kind == "gap":
                count = self._gap_counts.get(payload.symbol, 0) + 1
                self._gap_counts[payload.symbol] = count
                batch.gap_counts[payload.symbol] = count
            elif kind == "session_start":
                self._live_generation = payload["generation"]
                self._gap_counts = {}
                self.current_session = payload
                batch.session_starts.append(payload)
            elif kind == "session_end":
                self._file_history(payload["bars"], payload["index"])
                self.sessions_done = payload["index"] + 1
                batch.session_ends.append(payload)
            elif kind == "state":
                batch.states.append(payload)
            elif kind == "backtest_end":
                batch.finished = payload
            elif kind == "seek":
                self._after_seek(*payload)
                open_orders = self._open_orders   # rebuilt
                fold_from = len(orders)     # the changes and fills before it are in the restored state already
                fills_from = len(fills)
                batch.seek = payload[0]
                batch.account = self.account
                account_fields = None       # the restored account is newer than the rounds before the seek
                quality_mask = np.ones(len(symbols), dtype=bool)
        if account_fields is not None:
            batch.account = self.account = AccountSnapshot(*account_fields)
        if len(orders) > fold_from:
            batch.orders_latest = latest = fold_order_changes(orders, fold_from)
            batch.order_symbols = frozenset([change[1][1] for change in latest.values()])
            opened, closed = batch.orders_opened, batch.orders_closed
            for order_id, change in latest.items():     # fields[9]: the order's status after the change
                if change[1][9] in OPEN_STATUSES:
                    opened[order_id] = change
                else:
                    closed.append(order_id)
            open_orders.update(opened)
            for order_id in closed:
                open_orders.pop(order_id, None)
        if len(fills) > fills_from:
            self._fills.extend(fills[fills_from:] if fills_from else fills)
        batch.decisions = decisions
        batch.events += decisions + len(orders) + len(fills)
        if quality_mask is not None:
            batch.quality_changed = np.flatnonzero(quality_mask)
        if quality_mask is not None or batch.gap_counts or batch.session_starts:
            batch.quality = system.quality_by_interval()
        self.decision_count += batch.decisions
        self.error_count += batch.errors
        self.fill_count += len(batch.fills)
        self._last_clock, self._last_bars, self._last_position = clock_ns, bars, position
        self._pace_frames()
        self.batches_emitted += 1
        self.batch_ready.emit(batch)
        for state in batch.states:
            self.state_changed.emit(state)
        if batch.finished is not None:
            self._on_backtest_end(batch.finished)

    def frame_drawn(self) -> None:
        """The window has drawn a frame (its repaint of what changed, after the views had the batch), or
        has no frame to draw for the batch (at MAX the views redraw only when their interval is up): a
        held engine goes on now rather than at the end of GATE_HOLD_MS. At MAX with one engine thread the
        fixed hold was mostly idle: 1 symbol over 231 sessions, whose frame is drawn in a few ms, waited
        1.3 s of a 12 s replay at the gate; a batch the views did not redraw (about every other one when
        a redraw took more than its share of the UI thread) held the engine the whole GATE_HOLD_MS."""
        if self.host_gate.closed:
            self.host_gate.open()

    def _after_seek(self, done: SeekDone, open_orders: list[Order], fills: list[Fill], account: AccountSnapshot,
                    generation: int) -> None:
        """A step back or seek ended: what the bridge folds is rebuilt from the engine's state then."""
        self.last_seek = done
        self._open_orders = {o.id: o for o in open_orders}
        self._fills = list(fills)
        self._fills_by_symbol = {}
        self._fills_indexed = 0
        self.account = account
        self.fill_count = len(fills)
        self._live_generation = generation
        self.sessions_done = done.session_index
        system = self.system
        if system is not None and 0 <= done.session_index < len(system.sessions):
            session = system.sessions[done.session_index]
            self.current_session = {"date": session.date, "open_ns": session.open_ns, "close_ns": session.close_ns,
                                    "start_ns": session.start_ns, "end_ns": session.end_ns,
                                    "early_close": session.early_close, "index": done.session_index,
                                    "total": len(system.sessions), "generation": generation}
        for key, indices in self._history_index.items():      # sessions gone back over leave the history
            hist = self._history[key]
            while indices and indices[-1] >= done.session_index:
                indices.pop()
                hist.pop()
                self._history_cache.pop(key, None)

    def _pace_frames(self) -> None:
        """Frame interval: MAX_SPEED_FRAME_MS while playing at MAX or while a step back or seek replays
        (each batch costs the UI thread, and so the engine, the interpreter lock, while the views only
        redraw a few times a second; a seek forward redrawn every 16 ms ran at a third of MAX's speed),
        else `frame_ms` (a paced replay, a step or a pause shows at the next ~16 ms frame)."""
        system = self.system
        fast = system is not None and self._replaying_fast(system)
        interval = max(self.frame_ms, MAX_SPEED_FRAME_MS) if fast else self.frame_ms
        if self._timer.interval() != interval:
            self._timer.setInterval(interval)
        self._pace_interpreter(fast and system is not None and system.cfg.backtest.stage_threads)

    def replaying_fast(self) -> bool:
        """`_replaying_fast` of the run in progress (False with none)."""
        system = self.system
        return system is not None and self._replaying_fast(system)

    def _replaying_fast(self, system: SystemManager) -> bool:
        """Playing at MAX, or a step back or seek replaying headless: the frames are spaced out, the
        interpreter switches less often and a one-thread engine is held for each frame."""
        return (system.state == RUNNING and self.speed <= 0) or system.seeking

    def _pace_interpreter(self, fast: bool) -> None:
        """The interpreter's switch interval: `max_speed_switch_interval` while a thread per stage plays at
        MAX or seeks (`fast`), the one before (the GUI's) otherwise: one engine thread, paced, paused,
        stepping, stopped, ended."""
        if self.max_speed_switch_interval is None:
            return
        if fast and self._switch_interval_before is None:
            self._switch_interval_before = sys.getswitchinterval()
            sys.setswitchinterval(self.max_speed_switch_interval)
        elif not fast and self._switch_interval_before is not None:
            sys.setswitchinterval(self._switch_interval_before)
            self._switch_interval_before = None

    def _on_backtest_end(self, summary: dict) -> None:
        self.last_summary = summary
        if not self._retired:
            self._timer.stop()
        if summary.get("state") == FAILED or summary.get("error"):
            self.run_failed.emit(f"The run stopped with an error: {summary.get('error') or 'unknown error'}")
        self.finished.emit(summary)

    def _threads_changed(self) -> bool:
        """True when engine threads may have ended since the last reap: every second, not every frame
        (asking each QThread costs the UI thread a Qt call per thread, ~10 a frame)."""
        now = time.monotonic()
        if now - self._reaped_at < 1.0:
            return False
        self._reaped_at = now
        return True

    def _reap_retired(self) -> None:
        if self._retired:
            self._retired = [s for s in self._retired if s.alive_threads()]
        if self._threads:
            self._threads = [t for t in self._threads if t.isRunning() or not t.isFinished()]

    def _file_history(self, bars: dict[tuple[str, str], BarsView], index: int = -1) -> None:
        for key, view in bars.items():
            hist = self._history.get(key)
            if hist is None:
                hist = self._history[key] = deque(maxlen=self.history_sessions)
                self._history_index[key] = deque(maxlen=self.history_sessions)
            hist.append(view)
            self._history_index[key].append(index)
            self._history_cache.pop(key, None)

    # ------------------------------------------------------------------ reads for the views (UI thread)
    def history_bars(self, symbol: str, interval: str) -> BarsView:
        """Bars of finished sessions (last `history_sessions`), after the pre-run days, as one view."""
        key = (symbol, interval)
        cached = self._history_cache.get(key)
        if cached is not None:
            return cached
        hist = self._history.get(key)
        parts: list[BarsView] = []
        if hist is None or len(hist) < self.history_sessions:
            pre = self._prerun_bars().get(key)
            if pre is not None:
                parts.append(pre)
        if hist:
            parts.extend(hist)
        view = concat_bars(parts)
        self._history_cache[key] = view
        return view

    def history_nbytes(self) -> int:
        """Memory held by the chart history (finished sessions and pre-run days), in bytes."""
        total = sum(col.nbytes for hist in self._history.values() for view in hist for col in view)
        return total + sum(col.nbytes for view in (self._prerun or {}).values() for col in view)

    def live_bars(self, symbol: str, interval: str) -> BarsView | None:
        """The current session's bars of (symbol, interval), or None while SessionData holds a session
        whose start this bridge has not delivered yet (its bars come with the next batch)."""
        system = self.system
        gen = self._live_generation
        if system is None or gen is None:
            return None
        sd = system.session_data
        if sd.session_generation != gen:
            return None
        view = sd.bars(symbol, interval)
        if sd.session_generation != gen:
            return None
        return view

    def forming_bar(self, symbol: str, interval: str) -> Bar | None:
        """The forming (partial) bar of a derived interval in the current session, or None."""
        system = self.system
        gen = self._live_generation
        if system is None or gen is None or system.session_data.session_generation != gen:
            return None
        bar = system.session_data.forming_bar(symbol, interval)
        return bar if system.session_data.session_generation == gen else None

    def chart_bars(self, symbol: str, interval: str) -> BarsView:
        """History plus the live session: what a chart of (symbol, interval) shows now."""
        live = self.live_bars(symbol, interval)
        hist = self.history_bars(symbol, interval)
        return concat_bars([hist, live]) if live is not None else hist

    def quote_closes(self, symbol: str, interval: str, timestamps: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray] | None:
        """(bid close, ask close) of the store's quote bars at these bar starts (NaN where none), for the
        chart's bid/ask band; None unless the run streams quote bars and `interval` is the streamed one.
        Each UTC day of quote bars is read once per run (one file)."""
        cfg = self.run_config
        if (cfg is None or self._store is None or interval != cfg.streams.interval
                or not (cfg.streams.quotes or cfg.execution.fill_prices == "quotes")):
            return None
        from workstation.store.quote_store import read_quotes

        day_ns = 86_400_000_000_000
        ts = np.asarray(timestamps, dtype=np.int64)
        parts = []
        for day in np.unique(ts // day_ns).tolist():
            key = (symbol, day)
            if key not in self._quote_days:
                frame = read_quotes(self._store, [symbol], day * day_ns, (day + 1) * day_ns, interval)
                self._quote_days[key] = (
                    pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8.astype(np.int64),
                    frame["bid_close"].to_numpy(dtype=np.float64), frame["ask_close"].to_numpy(dtype=np.float64))
            parts.append(self._quote_days[key])
        quote_ts = np.concatenate([p[0] for p in parts])
        if not len(quote_ts):
            return None
        at = np.clip(np.searchsorted(quote_ts, ts), 0, len(quote_ts) - 1)
        found = quote_ts[at] == ts
        bid = np.where(found, np.concatenate([p[1] for p in parts])[at], np.nan)
        ask = np.where(found, np.concatenate([p[2] for p in parts])[at], np.nan)
        return bid, ask

    def run_folder_bars(self, symbol: str, interval: str) -> BarsView | None:
        """Every bar of (symbol, interval) this run wrote to its folder (after the pre-run days), for
        showing a trade older than the kept history; None when the folder has no bars."""
        if self.run_dir is None or not (self.run_dir / "bars.parquet").exists():
            return None
        try:
            df = pd.read_parquet(
                self.run_dir / "bars.parquet",
                filters=[("symbol", "==", symbol), ("interval", "==", interval)],
            )
        except (OSError, ValueError, pa.ArrowException) as exc:
            log.warning("cannot read bars of %s %s from %s: %s", symbol, interval, self.run_dir, exc)
            return None
        if not len(df):
            return None
        ts = pd.DatetimeIndex(df["timestamp"]).as_unit("ns").asi8
        order = np.argsort(ts, kind="stable")
        view = BarsView(
            ts[order].astype(np.int64),
            *(df[c].to_numpy(dtype=np.float64)[order] for c in ("open", "high", "low", "close", "volume")),
        )
        pre = self._prerun_bars().get((symbol, interval))
        return concat_bars([pre, view]) if pre is not None else view

    def closing_windows(self) -> tuple[np.ndarray, np.ndarray] | None:
        """[flatten time, regular close) (int64 ns UTC) of each of the run's sessions when its config sets
        risk.flatten_before_close_minutes, so the chart shades the minutes in which the engine closes every
        position and refuses the strategies' orders; None otherwise."""
        system = self.system
        if system is None or system.cfg.risk.flatten_before_close_minutes is None or not system.sessions:
            return None
        closes = np.array([s.close_ns for s in system.sessions], dtype=np.int64)
        return flatten_time_ns(closes, system.cfg.risk.flatten_before_close_minutes), closes

    def regular_hours(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Regular open and close (int64 ns UTC) of every day a chart may show (the pre-run days and
        the run's sessions) when the run replays extended hours, so the chart shades pre- and
        post-market bars; None for a regular-hours run."""
        system = self.system
        if system is None or not system.sessions or not system.sessions[0].extended:
            return None
        first, last = system.sessions[0].date, system.sessions[-1].date
        try:
            first = system.tm.trading_days_back(first, self.chart_days_before)
        except WorkstationError:
            pass
        sessions = system.tm.sessions(first, last)
        return (np.array([s.open_ns for s in sessions], dtype=np.int64),
                np.array([s.close_ns for s in sessions], dtype=np.int64))

    def fills_of(self, symbol: str) -> list[Fill]:
        """Fills of `symbol` delivered so far in this run."""
        return list(self._fills_by_symbol_now().get(symbol, ()))

    def _fills_by_symbol_now(self) -> dict[str, list[Fill]]:
        """The fills delivered so far by symbol (each in engine order): indexed when read, not per frame (at
        MAX 12,000 fills a 100-symbol replay that no view reads by symbol meanwhile)."""
        by_symbol, fills = self._fills_by_symbol, self._fills
        for fill in fills[self._fills_indexed:]:
            part = by_symbol.get(fill.symbol)
            if part is None:
                part = by_symbol[fill.symbol] = []
            part.append(fill)
        self._fills_indexed = len(fills)
        return by_symbol

    def open_orders(self) -> list[Order]:
        """Every working and held order as of the last frame, by id."""
        return [as_order(o) for _, o in sorted(self._open_orders.items())]

    def fills(self) -> list[Fill]:
        """Every fill delivered so far in this run, in time order."""
        return sorted((f for fills in self._fills_by_symbol_now().values() for f in fills), key=lambda f: f.time)

    def open_orders_of(self, symbol: str) -> list[Order]:
        """Working and held orders of `symbol` as of the last frame, by id."""
        return [as_order(o) for _, o in sorted(self._open_orders.items()) if o.symbol == symbol]

    def position_of(self, symbol: str) -> tuple[float, float, float]:
        """(signed quantity, average price, last price) of `symbol` as of the last frame ((0, 0, 0) flat)."""
        account = self.account
        if account is None or symbol not in account.symbols:
            return 0.0, 0.0, 0.0
        i = account.symbols.index(symbol)
        return float(account.positions[i]), float(account.avg_prices[i]), float(account.last_prices[i])

    def gap_counts(self) -> dict[str, int]:
        """Gaps found per symbol in the current session."""
        return dict(self._gap_counts)

    def gap_list(self, symbol: str) -> list[dict]:
        """The current session's gaps of `symbol` (for the gauge's gap list)."""
        return self.system.quality.gap_list(symbol) if self.system is not None else []

    @property
    def loaded(self) -> bool:
        """True when a config is loaded (its run built, maybe not started)."""
        return self.system is not None

    def symbols(self) -> list[str]:
        """The symbols of the loaded run, in symbol-index order."""
        return list(self.run_config.symbols) if self.run_config is not None else []

    @property
    def batch_clock_ns(self) -> int:
        """The engine clock of the newest batch emitted (-1 before the first). The clock moves when a bar
        time starts: that bar time's fills and orders may come in the next batch (see batch_position)."""
        return self._last_clock

    @property
    def batch_position(self) -> int:
        """Bar times delivered (SystemManager.position) when the newest batch was made (-1 before the
        first): every event of those bar times has reached the views."""
        return self._last_position

    def progress(self) -> RunProgress | None:
        """Where the loaded run is (None when nothing is loaded)."""
        system = self.system
        if system is None:
            return None
        sessions = system.sessions
        return RunProgress(
            state=system.state,
            clock_ns=system.clock.now_ns(),
            bars_processed=system.bars_processed,
            sessions_done=system.sessions_done,
            sessions_total=len(sessions),
            first_session=sessions[0].date if sessions else None,
            last_session=sessions[-1].date if sessions else None,
        )

    def metrics_snapshot(self) -> dict:
        """The run's performance metrics (stage timings, counters); {} when nothing is loaded."""
        return self.system.metrics_snapshot() if self.system is not None else {}

    def intervals(self) -> list[str]:
        cfg = self.run_config
        return [cfg.streams.interval, *cfg.streams.derived] if cfg is not None else []

    def session_fraction(self) -> float:
        """Progress of the run in [0, 1]: sessions done plus the part of the current session."""
        system = self.system
        if system is None or not system.sessions:
            return 0.0
        total = len(system.sessions)
        if system.state == FINISHED:
            return 1.0
        done = self.sessions_done
        cur = self.current_session
        part = 0.0
        if cur is not None and cur["index"] == done:
            first, last = cur.get("start_ns", cur["open_ns"]), cur.get("end_ns", cur["close_ns"])
            span = max(1, last - first)
            part = min(1.0, max(0.0, (system.clock.now_ns() - first) / span))
        return min(1.0, (done + part) / total)

    # ------------------------------------------------------------------ pre-run history
    def _prerun_bars(self) -> dict[tuple[str, str], BarsView]:
        """`chart_days_before` trading days before the first session, per (symbol, interval), built once."""
        if self._prerun is not None:
            return self._prerun
        self._prerun = {}
        system = self.system
        if system is None or self.chart_days_before <= 0 or not system.sessions:
            return self._prerun
        self._prerun = self._build_prerun(system)
        return self._prerun

    def _build_prerun(self, system: SystemManager) -> dict[tuple[str, str], BarsView]:
        """build_prerun_bars with its failures logged (no history rather than no run); any thread."""
        try:
            return build_prerun_bars(system, self.chart_days_before)
        except (WorkstationError, OSError, ValueError) as exc:
            log.warning("no chart history before %s: %s", system.sessions[0].date, exc)
            return {}

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout: float = 1.0) -> bool:
        """Stop every run and join its threads within `timeout` seconds (window close). True if all ended."""
        deadline = time.monotonic() + timeout
        systems = [*self._retired, *([self.system] if self.system is not None and self._started else [])]
        for system in systems:
            system.control.stop()
        self.host_gate.open()
        ok = self.join_threads(max(0.0, deadline - time.monotonic()))
        self._timer.stop()
        self._pace_interpreter(False)
        return ok

    def join_threads(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every engine thread this bridge started. True if all ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            remaining = deadline - time.monotonic()
            if thread.isRunning():
                thread.wait(max(0, int(remaining * 1000)))
        alive = [t.objectName() for t in self._threads if t.isRunning()]
        if alive:
            log.warning("engine threads still running after %.1f s: %s", timeout, ", ".join(alive))
        return not alive

    def wait_writers(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until every run folder got its final results (after a stop the
        writer finishes once the engine has ended). True when all are complete."""
        deadline = time.monotonic() + timeout
        for bars_writer in self._bars_writers:
            bars_writer.close()
        while time.monotonic() < deadline and (
            any(not w.closed for w in self._writers) or any(not w.done() for w in self._bars_writers)
        ):
            time.sleep(0.01)
        return all(w.closed for w in self._writers) and all(w.done() for w in self._bars_writers)

    def folder_written_at(self) -> float | None:
        """time.perf_counter() when the current run's folder was complete (its RunWriter's last file and
        its bars written), None until then: from SystemManager.started_at, the run's time to its results
        as `workstation run` takes it (benchmarks/bench_gui.py)."""
        writer, bars_writer = self.writer, self.bars_writer
        if writer is None or writer.closed_at is None:
            return None
        if bars_writer is None:
            return writer.closed_at
        if not bars_writer.done() or bars_writer.written_at is None:
            return None
        return max(writer.closed_at, bars_writer.written_at)

    def alive_threads(self) -> list[str]:
        """Names of engine threads of this bridge (every run) still running."""
        return [t.objectName() for t in self._threads if t.isRunning()]


def build_prerun_bars(system: SystemManager, days: int) -> dict[tuple[str, str], BarsView]:
    """Streamed bars of the `days` trading days before the run's first session, and the derived
    intervals built from them: the engine's warm-up bars (workstation.pipeline.warmup.prerun_bars,
    the replay's slots), per (symbol, interval)."""
    cfg = system.cfg
    return prerun_bars(system.store, system.tm, list(cfg.symbols), cfg.streams.interval, cfg.streams.derived,
                       system.sessions[0].date, days)


def _slug(name: str) -> str:
    text = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    while "--" in text:
        text = text.replace("--", "-")
    return text[:40] or "run"
