"""RunWriter: writes a run folder as the run goes, so a run stopped halfway keeps what it produced.

Layout of a run folder (every Parquet "file" that grows per session is a folder of parts, which
`pandas.read_parquet`, `pyarrow.parquet.read_table` and DuckDB's `read_parquet('run/bars.parquet/*.parquet')`
read as one table; each part is written atomically and holds the sessions that ended within
RunWriter.COALESCE_S of the first one not written yet, or one session: see RunWriter):

    config.json        the resolved config (after command-line overrides)
    bars.parquet/      every session bar, streamed and derived: symbol, interval, timestamp, OHLCV
    quality.parquet/   session_date, symbol, interval, expected, present, quality_pct, gaps, missing
    gaps.parquet/      session_date, symbol, interval, start, end, missing, status: every gap (missing
                       bars cover [start, end)), streamed and derived intervals
    signals.parquet/   time, symbol, strategy, action, quantity, price, confidence, approved, reason, kind
                       (kind: signal, order = a submitted order, modify = a refused change, error)
    orders.parquet/    every order once: the ones that became final in a session, and at the end the
                       ones still open (execution.results.ORDER_COLUMNS)
    fills.parquet/     every fill (execution.results.FILL_COLUMNS)
    trades.parquet/    symbol, quantity, entry/exit time and price, pnl, commission, strategy: the
                       round trips closed in each session (the first part may be empty)
    equity.parquet/    time, equity, cash, positions_value, gross_exposure, margin_used, buying_power,
                       open_orders: one row per bar time (a session's last row goes with the next
                       part, since a fill at the close may still change it)
    manual_orders.json the hand orders of the run (GUI or --manual-orders) with the clock time each was
                       applied at and its answer (workstation.execution.manual); only when there were any;
                       written at each one (a killed run keeps the orders of its session in progress)
    metrics.json       session reports and the backtest report (SPEC 5.8); the statistics once the
                       run has ended (computed once, from the whole run). While the run goes on it is
                       rewritten after the first session, then at most every REPORT_INTERVAL_S seconds
                       (like report.txt), and at the end
    report.txt         the same as text, plus the backtest statistics
    run_status.json    the completion record: "running" with the writer's pid, rewritten with each
                       part; at the end "complete": true with the final state (finished, stopped,
                       failed). A record still saying "running" after its process is gone means the
                       run was killed (kill -9, power cut): `run_folder_status` says so.

A write that fails (disk full, read-only folder) stops the run between two bar times: no later
session part is written, the writer records what it wrote and what failed (`write_error`, also in
metrics.json, report.txt and run_status.json as far as they can still be written) and the folder is
never marked complete, so the caller exits non-zero. Files honour the user's umask.

Threads: the event handlers run in the engine thread that emits the event: they gather the session's
new rows and make them Arrow tables (O(rows of the session); Python work that holds the GIL wherever
it runs); the RunWriter's own thread encodes the tables to Parquet and writes the files (native, the
GIL released, overlapping the engine), so the engine never waits for a disk and the run's end waits
only for the last session's encoding and the small final files.
Every part folder is append-only, so a stopped or killed run leaves every part written so far
readable (workstation.runs reads a table as a file or a folder of parts).
No pandas: the parts are built from columns (PartTables, workstation.arrow_tables: the tables pandas
made before, schema and pandas metadata included) and the statistics are computed with numpy from
the broker's arrays (`run_statistics`), so a `workstation run` never loads pandas.

Step back (a rewindable run, workstation.pipeline.snapshots): the writer is a snapshot participant.
Going back restores what it held at the snapshot and deletes the session parts written after it, so
the folder is written again from there by the replay; a run that went back writes the same folder as
one that did not.
"""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import json
import logging
import math
import os
import queue
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from workstation import arrow_tables
from workstation.atomic_files import os_error_text, write_parquet_atomic, write_text_atomic
from workstation.config import dump_config
from workstation.errors import WorkstationError, counted
from workstation.execution.broker import order_state_columns
from workstation.execution.records import (
    ACCOUNT_COLUMNS,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    account_equity_columns,
    fill_columns,
    order_columns,
)
from workstation.execution.results import EQUITY_COLUMNS, TRADE_COLUMNS, trade_columns
from workstation.execution.stats import statistics
from workstation.model.batches import DecisionBatch, as_list
from workstation.pipeline.gap_list import GAP_COLUMNS
from workstation.store.lock import pid_alive

log = logging.getLogger(__name__)

RUN_STATUS_FILE = "run_status.json"
STATUS_RESERVE_BYTES = 8192     # run_status.json is written this long at least (see _rewrite_in_place)
RUN_FOLDER_ENTRIES = frozenset({
    "config.json", "bars.parquet", "quality.parquet", "signals.parquet", "trades.parquet", "equity.parquet",
    "orders.parquet", "fills.parquet", "gaps.parquet", "metrics.json", "report.txt", "report.html",
    "gap_fills.json", "live_status.json", "manual_orders.json", RUN_STATUS_FILE,
})


class RunFolderError(WorkstationError):
    """A run folder cannot be created or used as asked (not empty, not writable, a file)."""


def _atomic_table(table: pa.Table, path: Path) -> None:
    """Write a Parquet file through a temporary name, so a reader never sees half a file. Dictionary
    encoding only for the text columns (symbols, statuses, ...): on prices, times and ids it costs a
    third to a half of the encoding time and saves little."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(table, path, use_dictionary=_text_columns(table.schema))


def _text_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            or pa.types.is_dictionary(f.type)]


class PartTables:
    """The run folder's part tables (signals, orders, fills, trades, equity, quality, gaps) built
    straight from columns with no pandas (workstation.arrow_tables): the same Arrow table (schema,
    pandas metadata, values, NaN and None as null) `pa.Table.from_pandas` makes of the pandas frame
    of the same rows (execution.records / execution.results / gap_list build those frames; the tests
    hold one against the other). An empty part has the same schema as any other."""

    def signals(self, entries: list) -> pa.Table:
        """signals.parquet rows of the signal log's entries: DecisionBatches and rows (`_signal_columns`)."""
        return arrow_tables.table(SIGNAL_SPEC, _signal_columns(entries))

    def orders(self, orders: list) -> pa.Table:
        return arrow_tables.table(ORDER_SPEC, order_columns(orders))

    def order_states(self, states: list) -> pa.Table:
        """orders.parquet rows of final order records (the broker's, read without snapshots)."""
        return arrow_tables.table(ORDER_SPEC, order_state_columns(states))

    def fills(self, fills: list) -> pa.Table:
        return arrow_tables.table(FILL_SPEC, fill_columns(fills))

    def trades(self, trades: list) -> pa.Table:
        return arrow_tables.table(TRADE_SPEC, trade_columns(trades))

    def quality(self, rows: list[dict]) -> pa.Table:
        """quality.parquet rows (dicts with QUALITY_SPEC's keys)."""
        return arrow_tables.table(QUALITY_SPEC, {name: [row[name] for row in rows] for name, _ in QUALITY_SPEC})

    def gaps(self, rows: list[dict]) -> pa.Table:
        """gaps.parquet rows (dicts with GAP_COLUMNS' keys, start and end int ns UTC)."""
        return arrow_tables.table(GAP_SPEC, {name: [row[name] for row in rows] for name, _ in GAP_SPEC})

    def equity(self, times: np.ndarray, values: np.ndarray) -> pa.Table:
        return arrow_tables.table(EQUITY_SPEC, account_equity_columns(times, values))


SIGNAL_PART_COLUMNS = ("time", "symbol", "strategy", "action", "quantity", "price", "confidence", "approved",
                       "reason", "kind")
_T, _F, _I, _S, _X = arrow_tables.TIME, arrow_tables.FLOAT, arrow_tables.INT, arrow_tables.STRING, arrow_tables.TEXT
# the column kinds of each part (arrow_tables): the dtypes of the frames RunWriter._signals_frame,
# records.orders_frame / fills_frame / account_equity_frame, results.trades_frame, pd.DataFrame(quality
# rows) and gap_list.gaps_frame
SIGNAL_SPEC: arrow_tables.TableSpec = tuple(zip(SIGNAL_PART_COLUMNS, (_T, _X, _X, _X, _F, _F, _F, arrow_tables.BOOL,
                                                                      _X, _X), strict=True))
ORDER_SPEC: arrow_tables.TableSpec = tuple(zip(ORDER_COLUMNS, (
    _I, arrow_tables.NULLABLE_INT, arrow_tables.NULLABLE_INT, _S, _S, _S, _S, _F, _F, _F, _F, _F, _F, _F, _S, _T, _S,
    _T, _S, _S, _S), strict=True))
FILL_SPEC: arrow_tables.TableSpec = tuple(zip(FILL_COLUMNS, (_T, _I, _S, _S, _F, _F, _F, _S), strict=True))
TRADE_SPEC: arrow_tables.TableSpec = tuple(zip(TRADE_COLUMNS, (_S, _F, _T, _F, _T, _F, _F, _F, _S), strict=True))
EQUITY_SPEC: arrow_tables.TableSpec = ((("time", _T),) + tuple((name, _F) for name in EQUITY_COLUMNS[1:])
                                       + ((ACCOUNT_COLUMNS[0], _F), (ACCOUNT_COLUMNS[1], _F), (ACCOUNT_COLUMNS[2], _I)))
QUALITY_SPEC: arrow_tables.TableSpec = (("session_date", arrow_tables.DATE), ("symbol", _X), ("interval", _X),
                                        ("expected", _I), ("present", _I), ("quality_pct", _F), ("gaps", _I),
                                        ("missing", _I))
GAP_SPEC: arrow_tables.TableSpec = tuple(zip(GAP_COLUMNS, (arrow_tables.DATE, _X, _X, _T, _T, _I, _X), strict=True))


def _signal_columns(entries: list) -> dict:
    """signals.parquet columns of the signal log's entries, in order: a DecisionBatch (as its `rows()`)
    or one row (a tuple, SignalLogRow). A batch of signals is read column by column (no row tuples)."""
    cols: tuple[list, ...] = tuple([] for _ in SIGNAL_PART_COLUMNS)
    (times, symbols, strategies, actions, quantities, prices, confidences, approved, reasons, kinds) = cols
    for entry in entries:
        batch = None if type(entry) is tuple else entry.signals
        if batch is None or not len(batch) == len(entry.approved) == len(entry.reasons):
            for row in (entry,) if type(entry) is tuple else entry.rows():
                for col, value in zip(cols, row, strict=True):
                    col.append(value)
            continue
        n = len(batch)
        names = batch.symbols
        times += [batch.time] * n
        symbols += [names[i] for i in as_list(batch.symbol_indices)]
        strategies += [batch.strategy] * n
        actions += [a._value_ for a in batch.actions]
        quantities += as_list(batch.quantities)
        prices += as_list(batch.prices)
        confidences += as_list(batch.confidences)
        approved += entry.approved
        reasons += entry.reasons
        kinds += ["signal"] * n
    columns: dict[str, object] = dict(zip(SIGNAL_PART_COLUMNS, cols, strict=True))
    columns["time"] = np.array(times, dtype=np.int64)
    return columns


def run_statistics(broker, starting_cash: float, tz: str) -> dict:
    """The backtest statistics of a finished run from the broker's equity curve and trades (arrays:
    no pandas; `compute_stats` of the run folder's frames gives the same)."""
    times, values = broker.equity_points()
    trades = broker.trades
    return statistics(times, values[:, 0], values[:, 3], np.array([t.pnl for t in trades], dtype=np.float64),
                      np.array([t.quantity for t in trades], dtype=np.float64),
                      np.array([t.commission for t in trades], dtype=np.float64), [t.symbol for t in trades],
                      starting_cash, tz)


def _atomic_text(text: str, path: Path) -> None:
    write_text_atomic(path, text)


def bar_rows(bars: dict) -> int:
    """Rows a session's bars make in bars.parquet: what decides whether the session is worth joining
    with others into one part (JOIN_ROWS)."""
    return sum(view.timestamp.shape[0] for view in bars.values())


def session_bars_table(symbols: list[str], intervals: list[str], bars: dict,
                       name_columns: dict | None = None) -> pa.Table:
    """One session's bars as the bars.parquet table: symbol, interval, timestamp (UTC bar start),
    open, high, low, close, volume; ordered by interval, then symbol, then time. `bars` maps
    (symbol, interval) to a BarsView (missing keys = no bars). `name_columns`: a cache of the symbol
    and interval columns by their layout (the same keys with the same bar counts, as most sessions
    have), kept by the caller from one session to the next."""
    keys = [(s, iv) for iv in intervals for s in symbols if (s, iv) in bars]
    views = [bars[k] for k in keys]
    counts = np.array([v.timestamp.shape[0] for v in views], dtype=np.int64)
    layout = (tuple(keys), counts.tobytes())
    names = name_columns.get(layout) if name_columns is not None else None
    if names is None:
        sym_index = {s: i for i, s in enumerate(symbols)}
        iv_index = {iv: i for i, iv in enumerate(intervals)}
        sym_codes = np.repeat(np.array([sym_index[s] for s, _ in keys], dtype=np.int32), counts)
        iv_codes = np.repeat(np.array([iv_index[iv] for _, iv in keys], dtype=np.int32), counts)
        names = (arrow_tables.repeated_string_array(list(symbols), sym_codes),
                 arrow_tables.repeated_string_array(list(intervals), iv_codes))
        if name_columns is not None:
            name_columns.clear()        # one layout kept: the last session's
            name_columns[layout] = names

    def column(name: str, dtype) -> np.ndarray:
        parts = [getattr(v, name) for v in views]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)

    columns = {
        "symbol": names[0],
        "interval": names[1],
        "timestamp": arrow_tables.int_array(column("timestamp", np.int64), pa.timestamp("ns", tz="UTC")),
        **{c: arrow_tables.float_array(column(c, np.float64), nan_is_null=False) for c in ("open", "high", "low", "close", "volume")},
    }
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _joined(jobs: list[_Part], bar_names: dict) -> _Part:
    """One session part of consecutive session parts: their rows in order, named after the last (a
    step back deletes the parts numbered after its snapshot's, and a snapshot writes what is held
    first, so no part holds sessions from both sides of one). Tables built ahead are not used."""
    last = jobs[-1]
    job = _Part(last.part, summary=last.summary, final=False, orders=[],
                quality_rows=[r for j in jobs for r in j.quality_rows], gap_rows=[r for j in jobs for r in j.gap_rows],
                signals=[e for j in jobs for e in j.signals],
                order_states=[st for j in jobs for st in (j.order_states or ())],
                fills=[f for j in jobs for f in (j.fills or ())], trades=[t for j in jobs for t in j.trades],
                session_reports=[r for j in jobs for r in j.session_reports])
    equity = [j.equity for j in jobs if j.equity is not None and len(j.equity[0])]
    if equity:
        job.equity = (np.concatenate([t for t, _ in equity]), np.concatenate([v for _, v in equity]))
    for j in reversed(jobs):        # the newest of what is given whole, when any part had it
        if j.manual is not None and job.manual is None:
            job.manual = j.manual
        if j.report is not None and job.report is None:
            job.report, job.quality_stats, job.timings_text = j.report, j.quality_stats, j.timings_text
    with_bars = [j for j in jobs if j.bars is not None and j.symbols is not None and j.intervals is not None]
    if with_bars:
        job.bars, job.symbols, job.intervals = {}, last.symbols, last.intervals
        job.tables["bars"] = pa.concat_tables(
            [session_bars_table(j.symbols, j.intervals, j.bars, bar_names) for j in with_bars])  # type: ignore[arg-type]
    return job


def _prebuilt(job: _Part, name: str, build) -> pa.Table:
    """The part's table `name` as the engine thread built it (RunWriter._build_tables), else `build()`."""
    table = job.tables.get(name)
    return build() if table is None else table


_TIME_UP = object()       # the writer thread: the held sessions have waited long enough
_WRITE_HELD = object()    # in the writer's queue: write the sessions held back now (a snapshot, a flush)


@dataclass
class _Part:
    """What one part of the run folder holds, gathered in the engine thread at a session end (or at
    the run's end) and written by the writer thread. Frames and arrays are the writer's own (copies
    or views of storage the engine no longer changes)."""

    part: str
    bars: dict | None = None                  # (symbol, interval) -> BarsView, session bars
    symbols: list[str] | None = None
    intervals: list[str] | None = None
    quality_rows: list = field(default_factory=list)
    gap_rows: list = field(default_factory=list)
    signals: list = field(default_factory=list)         # DecisionBatches and rows (_signal_columns)
    orders: list | None = None                  # order snapshots (made a table by the writer)
    order_states: list | None = None            # or final order records (a session part)
    fills: list | None = None                   # Fill records
    trades: list = field(default_factory=list)
    equity: tuple[np.ndarray, np.ndarray] | None = None
    manual: tuple[list, int] | None = None    # every hand order so far and its generation (None: none yet)
    summary: dict = field(default_factory=dict)
    session_reports: list[dict] = field(default_factory=list)   # the sessions' reports (none at the end)
    report: dict | None = None                # metrics.json without statistics (computed in the writer)
    quality_stats: dict | None = None
    timings_text: str = ""
    final: bool = False
    statistics: dict | None = None            # the final part: computed once from the whole run
    tables: dict[str, pa.Table] = field(default_factory=dict)   # the part's tables, built where it was gathered
    alone: bool = False                       # written as it comes, not held to share a part (JOIN_ROWS)

    def rows(self) -> int:
        """Rows the part's tables will hold, about: what decides whether it is worth joining."""
        bars = bar_rows(self.bars) if self.bars else 0
        signals = sum(len(s) if type(s) is DecisionBatch else 1 for s in self.signals)
        equity = len(self.equity[0]) if self.equity is not None else 0
        return (bars + signals + equity + len(self.order_states or ()) + len(self.fills or ()) + len(self.trades)
                + len(self.quality_rows) + len(self.gap_rows))


class RunWriter:
    """Observer of one SystemManager that writes its run folder (see the module docstring).

    The engine thread only gathers each session's new rows (the broker's new trades, equity points,
    orders and fills, the session's bar views, signals) at its end, makes them tables and hands them
    to the writer's own thread, which encodes and writes the parts: the engine never waits for a disk,
    and the work is proportional to the rows of the session, not of the run so far. The writer holds a
    finished session up to `coalesce_s` for the ones after it, then writes them as one part, and is at
    most two sessions behind beyond that (the engine then waits), so a write failure stops the run
    within about `coalesce_s` and a session or two. Statistics are computed once, at the end (a reader computes them for a stopped or killed
    run from its trades and equity parts: workstation.runs).

    `closed` turns True once the run's last file is written (or could not be); `failed` and
    `write_error` say whether a write failed; `written` lists the files written so far.
    """

    QUEUE_SESSIONS = 2
    MANUAL_WRITE_FREE_S = 0.005  # manual_orders.json written at each hand order while a write costs less ...
    MANUAL_WRITE_SHARE = 0.05    # ... then at most this share of the wall time
    REPORT_INTERVAL_S = 5.0     # metrics.json / report.txt while the run goes on: at most this often
    COALESCE_S = 1.0            # a finished session waits at most this long to share a part with the next ones
    JOIN_ROWS = 10_000          # ... unless its part holds this many rows: then it is written as it comes

    def __init__(self, system, run_dir: str | Path, write_bars: bool = True,
                 report_interval_s: float | None = None, coalesce_s: float | None = None):
        self.system = system
        # The sessions that end within `coalesce_s` seconds of the first one not written yet share one
        # part per table: a fast run writes a few parts, not ~5-8 files per session (each file has a
        # fixed cost: at one symbol a part per session cost ~17 % of a 231-session replay), and a slow
        # one still writes every session within that time of its end. A rewindable run (the window's)
        # coalesces too: a snapshot writes what is held first (`snapshot_state`), so every part is
        # before or after each snapshot and going back deletes whole parts; a run that went back holds
        # the same rows as one that did not, in parts that may be cut elsewhere. 0: a part per session,
        # its tables built in the engine thread.
        keeper = getattr(system, "snapshots", None)
        if coalesce_s is None:
            coalesce_s = self.COALESCE_S
        self.coalesce_s = max(0.0, float(coalesce_s))
        # metrics.json and report.txt are rewritten after the first session, then at most every
        # `report_interval_s` seconds (monotonic clock) and at the end: they grow with the sessions, so
        # a rewrite per session is O(sessions^2) JSON encoding. run_status.json, what crash recovery
        # reads, is still rewritten with every part; 0 rewrites them all with every part.
        self.report_interval_s = self.REPORT_INTERVAL_S if report_interval_s is None else float(report_interval_s)
        self._last_report_at: float | None = None   # monotonic time of the last session part with a report
        self.run_dir = Path(run_dir)
        self.write_bars = write_bars
        self._signals: list = []                # the signal log since the last part: DecisionBatches, rows
        self._manual: list = []                 # ManualOrderResult of the hand orders, in the order applied
        # manual_orders.json is written at each hand order (engine thread), not only with the session's
        # part: a trader's session at 1x lasts hours, and a crash must not lose its orders. Every change
        # of the list (an order, a step back) takes a new generation; a write of an older one than the
        # file holds is skipped (a part queued before an order must not write over it)
        self._manual_generation = 0
        self._manual_file_generation = 0         # the generation manual_orders.json holds
        self._manual_lock = threading.Lock()
        # the file is rewritten whole, so a scripted run of thousands of hand orders (--manual-orders) would
        # spend O(orders^2) on it: once a write costs more than MANUAL_WRITE_FREE_S (a list of a few hundred
        # orders), an order's write waits while the last one's cost is more than MANUAL_WRITE_SHARE of the
        # time since; one that waits goes with the next order, the session's part or the run's end (a
        # trader's orders never wait: a few a minute, a few hundred a run)
        self._manual_write_cost = 0.0            # seconds the last write took
        self._manual_written_at = -math.inf      # and when it ended (monotonic)
        self.manual_writes = 0                   # manual_orders.json writes (the tests read it)
        self._session_reports: list[dict] = []
        self._part = 0
        self.tz = system.cfg.timezone
        self.failures: list[str] = []          # writes that failed while the run went on (the first stops it)
        self.not_written_at_end: list[str] = []  # result files that could not be written after that
        self._written: dict[str, None] = {}     # ordered set of the folder-relative files written
        self._unwritten_trades: list = []       # trades / equity rows of parts not written yet (a failure)
        self._unwritten_equity: list[tuple[np.ndarray, np.ndarray]] = []
        self._closed = threading.Event()
        self._tables = PartTables()
        self._bar_names: dict = {}              # session_bars_table's name columns (writer thread)
        self._started = _now_text()
        # the bar store read, absolute: a run taken up again from its folder (workstation.runs.continuation)
        # finds it from any working folder, the config's path being relative to the one it ran in
        root = getattr(getattr(system, "store", None), "root", None)
        self._store = str(Path(root).resolve()) if root is not None else None
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._write_status("running", {})
            _atomic_text(dump_config(system.cfg), self.run_dir / "config.json")
        except OSError as exc:
            raise RunFolderError(
                f"cannot write the run folder {self.run_dir}: {os_error_text(exc)}; nothing was run. "
                "Give a writable folder with --out"
            ) from None
        self._queue: queue.Queue[_Part | object | None] = queue.Queue(maxsize=self.QUEUE_SESSIONS)
        self._thread = threading.Thread(target=self._work, name="RunWriter", daemon=True)
        self._thread.start()
        ev = system.events
        ev.subscribe("decisions", self._on_decisions)
        ev.subscribe("error", self._on_error)
        ev.subscribe("manual", self._on_manual)
        ev.subscribe("session_end", self._on_session_end)
        ev.subscribe("backtest_end", self._on_end)
        if keeper is not None:
            keeper.add_participant("run_writer", self)

    # ------------------------------------------------------------------ step back (snapshot participant)
    def snapshot_state(self) -> dict:
        self.flush()            # what the writer thread keeps (session reports, files) is up to date
        return {"signals": list(self._signals), "manual": list(self._manual), "part": self._part,
                "session_reports": list(self._session_reports), "written": dict(self._written)}

    def restore_state(self, state: dict) -> None:
        """Back to a snapshot: forget what came after and delete the session parts written since (once
        the writer thread has written every part queued before the rewind)."""
        self.flush()
        self._signals = list(state["signals"])
        self._manual = list(state["manual"])
        self._manual_generation += 1            # the file is brought back to the restored list below
        self._session_reports = list(state["session_reports"])
        part = state["part"]
        for name in list(self._written):
            folder, _, leaf = name.partition("/")
            if leaf.startswith("part-") and int(leaf[5:9]) > part:
                (self.run_dir / folder / leaf).unlink(missing_ok=True)
                del self._written[name]
        self._save_manual(list(self._manual), self._manual_generation)    # or removed, when none is left
        self._part = part
        self._last_report_at = None     # metrics.json / report.txt may hold sessions after the rewind: rewrite next

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    closed_at: float | None = None
    """time.perf_counter() when the run's last file was written (or could not be); None before: with
    SystemManager.started_at, how long the run took to its folder written (benchmarks/bench_gui.py)."""

    @property
    def written(self) -> list[str]:
        """Folder-relative files written so far, in order (a part folder lists each part)."""
        return list(self._written)

    def written_summary(self) -> dict[str, int]:
        """{file or part folder: number of parts}: what the folder holds so far, compactly."""
        out: dict[str, int] = {}
        for name in list(self._written):
            key = name.split("/", 1)[0]
            out[key] = out.get(key, 0) + 1
        return out

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def write_error(self) -> str | None:
        """The failed writes in one sentence (None when every write succeeded)."""
        if not self.failures:
            return None
        text = self.failures[0]
        if self.not_written_at_end:
            text += f"; at the end {', '.join(self.not_written_at_end)} could not be written either"
        return text

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the run's last file is written (or failed); True if it was."""
        return self._closed.wait(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every part queued so far is written (or failed), the sessions held back to
        share a part included; True if it was. For a reader that wants the newest parts while the
        run goes on, and for a snapshot (step back)."""
        q = self._queue
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.coalesce_s > 0 and q.unfinished_tasks and not self._closed.is_set():
            try:
                q.put(_WRITE_HELD, timeout=timeout)
            except queue.Full:
                return False
        with q.all_tasks_done:
            # closed: everything is written (a request put as the run ended may stay in the queue)
            while q.unfinished_tasks and not self._closed.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                q.all_tasks_done.wait(0.05 if left is None else min(left, 0.05))
        return True

    # ------------------------------------------------------------------ writes
    def write_file(self, relative: str, write) -> bool:
        """Write one more file of the run folder with `write()` (e.g. the live status files); a
        failure is recorded and stops the run like any other write. False when it failed."""
        return self._write(relative, write)

    def _write(self, relative: str, write, final: bool = False) -> bool:
        """Do one write. The first failure (OSError) is recorded, reported as an engine error event
        (the GUI's signal log shows it) and stops the run. After it only the end's `final` writes are
        attempted; their failures just list the file. False when not written."""
        if self.failures and not final:
            return False
        try:
            write()
        except (OSError, pa.ArrowException) as exc:
            if self.failures:
                if relative not in self.not_written_at_end:
                    self.not_written_at_end.append(relative)
                return False
            text = os_error_text(exc) if isinstance(exc, OSError) else str(exc)
            self._fail(f"cannot write {self.run_dir / relative}: {text}")
            return False
        self._written[relative] = None
        return True

    def _fail(self, text: str) -> None:
        self.failures.append(text)
        log.error("%s; stopping the run", text)
        self.system.request_stop()
        self.system.events.emit("error", {"time_ns": self.system.clock.now_ns(), "strategy": "run folder",
                                          "message": f"{text}; the run was stopped"})

    def _write_status(self, state: str, summary: dict, complete: bool = False) -> None:
        status = {
            "state": state,
            "complete": complete,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": self._started,
            "updated": _now_text(),
            "sessions_done": summary.get("sessions_done", len(self._session_reports)),
            "sessions_total": summary.get("sessions_total", len(getattr(self.system, "sessions", None) or [])),
            "error": summary.get("error"),
            "write_error": self.write_error,
            "files_written": self.written_summary(),
            "store": self._store,
        }
        text = json.dumps(status, indent=2, default=_json_default) + "\n"
        path = self.run_dir / RUN_STATUS_FILE
        try:
            # padded to a reserved size (JSON allows trailing blanks), so the record can still be
            # rewritten in place when the disk is full
            _atomic_text(text.ljust(STATUS_RESERVE_BYTES), path)
        except OSError as exc:
            if exc.errno != errno.ENOSPC or not _rewrite_in_place(path, text):
                raise

    # ------------------------------------------------------------------ events (engine threads)
    def _on_decisions(self, _kind, batch: DecisionBatch) -> None:
        self._signals.append(batch)     # kept as it is (nothing changes it): the writer thread reads its columns

    def _on_error(self, _kind, e: dict) -> None:
        self._signals.append((int(e.get("time_ns") or 0), str(e.get("symbol") or ""), e.get("strategy") or "engine",
                              "ERROR", 0.0, float("nan"), 0.0, False, e.get("message", ""), "error"))

    def _on_manual(self, _kind, result) -> None:
        """A hand command was applied (engine thread): manual_orders.json is written now (see __init__)."""
        self._manual.append(result)
        self._manual_generation += 1
        cost = self._manual_write_cost
        if cost < self.MANUAL_WRITE_FREE_S or time.monotonic() - self._manual_written_at >= cost / self.MANUAL_WRITE_SHARE:
            self._save_manual(list(self._manual), self._manual_generation)

    def _take_manual(self) -> tuple[list, int] | None:
        """The hand commands so far and their generation (None before the first): every part carries them,
        and writes them only when the file lacks that generation (a write at an order that waited or
        failed, a rewrite at a step back that failed)."""
        return (list(self._manual), self._manual_generation) if self._manual_generation else None

    def _save_manual(self, results: list, generation: int, final: bool = False) -> bool:
        """Write manual_orders.json with `results` (remove it when there are none), unless the file already
        holds this generation or a newer one. Any thread; one at a time. False when the write failed."""
        from workstation.execution.manual import MANUAL_ORDERS_FILE, results_json

        with self._manual_lock:
            if generation <= self._manual_file_generation:
                return True
            path = self.run_dir / MANUAL_ORDERS_FILE
            if not results:
                path.unlink(missing_ok=True)
                self._written.pop(MANUAL_ORDERS_FILE, None)
                self._manual_file_generation = generation
                return True
            t0 = time.monotonic()
            text = json.dumps(results_json(results), indent=1) + "\n"
            written = self._write(MANUAL_ORDERS_FILE, lambda: _atomic_text(text, path), final)
            self._manual_written_at = time.monotonic()
            self._manual_write_cost = self._manual_written_at - t0
            self.manual_writes += 1
            if not written:
                return False
            self._manual_file_generation = generation
            return True

    def _next_part(self) -> str:
        self._part += 1
        return f"part-{self._part:04d}.parquet"

    def _on_session_end(self, _kind, payload: dict) -> None:
        """Coordinator thread: gather the session's new rows and queue them for the writer thread."""
        if self.failed:
            return                      # after a failed write no later session is written
        system = self.system
        broker = system.broker
        signals, self._signals = self._signals, []
        job = _Part(self._next_part(), quality_rows=list(payload.get("quality_rows") or []),
                    gap_rows=list(payload.get("gap_rows") or []), signals=signals,
                    orders=[], order_states=broker.take_finalized_states(), fills=broker.take_fill_records(),
                    trades=broker.take_trades(), equity=broker.take_equity_points(hold_last=True), manual=self._take_manual(),
                    summary=system.summary(), session_reports=[payload.get("metrics") or {}])
        now = time.monotonic()
        if self._last_report_at is None or now - self._last_report_at >= self.report_interval_s:
            self._last_report_at = now      # this part rewrites metrics.json and report.txt too
            job.report = self._report_inputs()
            job.quality_stats = system.quality.stats()
            job.timings_text = system.metrics.report_text("Pipeline timings")
        if self.write_bars:
            sd = system.session_data
            # views of this session's storage: SessionData allocates fresh storage for the next one
            job.bars = {(sym, iv): sd.bars(sym, iv) for iv in sd.intervals for sym in sd.symbols}
            job.symbols, job.intervals = list(sd.symbols), list(sd.intervals)
        # a session of many rows is written as it comes, while the run goes on (at 100 symbols ~50,000 bar
        # rows: its encoding overlaps the engine's next session, and a file's fixed cost is small beside
        # it: held to share a part, a replay at MAX was ~7 % slower to its folder written); a small one is
        # held to share a part (at one symbol ~500 rows, where the files' fixed cost dominates)
        job.alone = self.coalesce_s <= 0 or job.rows() >= self.JOIN_ROWS
        if job.alone:
            self._build_tables(job)     # joined ones: the writer thread builds them once for the sessions it joins
        self._put(job)

    def _build_tables(self, job: _Part) -> None:
        """Engine thread: make the part's Arrow tables from the rows just gathered, so the writer
        thread only encodes and writes them. Building a table is Python work that holds the GIL in
        whichever thread does it; done here, the writer thread no longer competes with the engine
        for the GIL and a CPU while the run goes on, and the parquet encoding it keeps (native, the
        GIL released) is what overlaps with the engine; at the run's end only that encoding is left.
        A table that cannot be built here is left to the writer thread, which builds it as before
        (and reports a failure as a failed write)."""
        tables, t = job.tables, self._tables
        try:
            if job.bars is not None and job.symbols is not None and job.intervals is not None:
                tables["bars"] = session_bars_table(job.symbols, job.intervals, job.bars, self._bar_names)
            if job.quality_rows:
                tables["quality"] = t.quality(job.quality_rows)
            if job.gap_rows:
                tables["gaps"] = t.gaps(job.gap_rows)
            tables["signals"] = t.signals(job.signals)
            tables["orders"] = (t.order_states(job.order_states) if job.order_states is not None
                                else t.orders(job.orders or []))
            tables["fills"] = t.fills(job.fills or [])
            if job.trades:
                tables["trades"] = t.trades(job.trades)
            if job.equity is not None and len(job.equity[0]):
                tables["equity"] = t.equity(*job.equity)
        except Exception:  # noqa: BLE001 - the writer thread builds what is missing and reports its failure
            log.debug("run writer: building a part's tables in the engine thread failed", exc_info=True)

    def _report_inputs(self) -> dict:
        system = self.system
        return {
            "metrics": system.metrics.backtest_report({"bars_processed": system.bars_processed}),
            "historical_quality": system.historical.quality_rows,
            "quality_by_symbol": system.quality.stats(),
            "time_manager_cache": system.tm.stats.as_dict(),
        }

    def _on_end(self, _kind, summary: dict) -> None:
        """The run has ended (every engine thread is done): queue the last part with the orders
        still open and the statistics, and return once the writer has written everything."""
        try:
            system = self.system
            broker = system.broker
            signals, self._signals = self._signals, []
            job = _Part(self._next_part(), signals=signals, final=True, summary=dict(summary),
                        orders=broker.take_finalized_order_snapshots(), fills=broker.take_fill_records(),
                        trades=broker.take_trades(), equity=broker.take_equity_points(), manual=self._take_manual(),
                        report=self._report_inputs(), quality_stats=system.quality.stats(),
                        timings_text=system.metrics.report_text("Pipeline timings"))
            still_open = broker.open_order_snapshots()
            if still_open:
                job.orders = [*(job.orders or []), *still_open]
            job.statistics = run_statistics(broker, system.cfg.execution.starting_cash, self.tz)
            self._build_tables(job)
            self._put(job)
            self._queue.put(None)
            self._thread.join()
        finally:
            self.closed_at = time.perf_counter()
            self._closed.set()

    def _put(self, job: _Part) -> None:
        while True:
            try:
                self._queue.put(job, timeout=0.5)
                return
            except queue.Full:
                if not self._thread.is_alive():     # never expected: the writer survives every error
                    return

    # ------------------------------------------------------------------ the writer thread
    def _work(self) -> None:
        """Take the parts as they come; a session part waits (up to `coalesce_s` after the first one
        held) for the sessions after it, to be written with them as one part. Anything else (the
        final part, the end, a request to write what is held) writes the held sessions first."""
        q = self._queue
        held: list[_Part] = []
        deadline = 0.0
        while True:
            item: _Part | object | None
            if not held:
                item = q.get()
            else:
                try:
                    item = q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    item = _TIME_UP
            if isinstance(item, _Part) and not item.final and not item.alone:
                if not held:
                    deadline = time.monotonic() + self.coalesce_s
                held.append(item)
                if time.monotonic() < deadline:
                    continue
                item = _TIME_UP
            if held:
                self._write_guarded(held)
                held = []
            if item is _TIME_UP:
                continue
            if isinstance(item, _Part):
                self._write_guarded([item])
            else:
                q.task_done()       # the end (None) or a request to write what was held (_WRITE_HELD)
                if item is None:
                    return

    def _write_guarded(self, jobs: list[_Part]) -> None:
        """Write `jobs` (sessions in order) as one part; a task done for each."""
        try:
            self._write_part(jobs[0] if len(jobs) == 1 else _joined(jobs, self._bar_names))
        except Exception as exc:  # noqa: BLE001 - any failure stops the run with a reason
            log.exception("run writer failed")
            if not self.failures:
                self._fail(f"cannot write {self.run_dir}: {type(exc).__name__}: {exc}")
        finally:
            for _ in jobs:
                self._queue.task_done()

    def _write_part(self, job: _Part) -> None:
        if self._unwritten_trades or self._unwritten_equity:
            # rows of an unwritten part go with this one: its trades / equity tables are made here
            job.tables.pop("trades", None)
            job.tables.pop("equity", None)
        self._unwritten_trades.extend(job.trades)
        if job.equity is not None and len(job.equity[0]):
            self._unwritten_equity.append(job.equity)
        if job.final:
            self._write_final(job)
        elif not self.failed:
            self._write_session(job)

    def _write_session(self, job: _Part) -> None:
        part = job.part
        if job.bars is not None and job.symbols is not None and job.intervals is not None:
            bars = _prebuilt(job, "bars", lambda: session_bars_table(job.symbols, job.intervals, job.bars))
            if bars.num_rows and not self._write(
                    f"bars.parquet/{part}", lambda: _atomic_table(bars, self.run_dir / "bars.parquet" / part)):
                return
        if job.quality_rows and not self._write(f"quality.parquet/{part}", lambda: _atomic_table(
                _prebuilt(job, "quality", lambda: self._tables.quality(job.quality_rows)),
                self.run_dir / "quality.parquet" / part)):
            return
        if job.gap_rows and not self._write(f"gaps.parquet/{part}", lambda: _atomic_table(
                _prebuilt(job, "gaps", lambda: self._tables.gaps(job.gap_rows)), self.run_dir / "gaps.parquet" / part)):
            return
        if not self._write(f"signals.parquet/{part}", lambda: _atomic_table(
                self._signals_table(job), self.run_dir / "signals.parquet" / part)):
            return
        if not self._write_orders(job) or not self._write_trades_equity(job) or not self._write_manual(job):
            return
        self._session_reports.extend(job.session_reports)
        self._write_results(job, final=False)

    def _write_final(self, job: _Part) -> None:
        part = job.part
        if not self.failed:
            if job.signals:
                self._write(f"signals.parquet/{part}", lambda: _atomic_table(
                    self._signals_table(job), self.run_dir / "signals.parquet" / part))
            self._write_orders(job, final=True)
        self._write_trades_equity(job, final=True)
        self._write_manual(job, final=True)
        self._write_results(job, final=True)

    def _write_manual(self, job: _Part, final: bool = False) -> bool:
        """manual_orders.json (rewritten whole) when the part carries hand orders the file does not hold yet
        (it is written at each order: this writes it only when that write waited, see __init__, or failed)."""
        if job.manual is None:
            return True
        results, generation = job.manual
        return self._save_manual(results, generation, final)

    def _write_orders(self, job: _Part, final: bool = False) -> bool:
        """orders.parquet/ and fills.parquet/ parts: what became final (and fills) since the last part;
        at the end also the orders still open. False when a write failed."""
        part, orders, fills = job.part, job.orders, job.fills
        assert orders is not None and fills is not None, "every part carries its orders and fills (maybe empty)"
        orders_table = _prebuilt(job, "orders", lambda: self._tables.order_states(job.order_states)
                                 if job.order_states is not None else self._tables.orders(orders))
        if (orders_table.num_rows or not (self.run_dir / "orders.parquet").exists()) and not self._write(
                f"orders.parquet/{part}", lambda: _atomic_table(orders_table, self.run_dir / "orders.parquet" / part)):
            return False
        if (len(fills) or not (self.run_dir / "fills.parquet").exists()) and not self._write(
                f"fills.parquet/{part}", lambda: _atomic_table(_prebuilt(job, "fills", lambda: self._tables.fills(fills)),
                                                               self.run_dir / "fills.parquet" / part)):
            return False
        return True

    def _write_trades_equity(self, job: _Part, final: bool = False) -> bool:
        """trades.parquet/ and equity.parquet/ parts: the round trips closed and the equity points
        since the last part written (a part that could not be written is carried to the next). The
        first part is written even when empty, so both tables always exist. False when a write failed."""
        part = job.part
        if self._unwritten_trades or "trades.parquet" not in self._folders_written():
            trades = _prebuilt(job, "trades", lambda: self._tables.trades(self._unwritten_trades))
            if not self._write(f"trades.parquet/{part}", lambda: _atomic_table(
                    trades, self.run_dir / "trades.parquet" / part), final):
                return False
            self._unwritten_trades = []
        if self._unwritten_equity or "equity.parquet" not in self._folders_written():
            equity = _prebuilt(job, "equity", self._equity_table)
            if not self._write(f"equity.parquet/{part}", lambda: _atomic_table(
                    equity, self.run_dir / "equity.parquet" / part), final):
                return False
            self._unwritten_equity = []
        return True

    def _equity_table(self) -> pa.Table:
        chunks = self._unwritten_equity
        times = np.concatenate([t for t, _ in chunks]) if chunks else np.zeros(0, dtype=np.int64)
        values = (np.concatenate([v for _, v in chunks]) if chunks
                  else np.zeros((0, len(ACCOUNT_COLUMNS) + 4), dtype=np.float64))
        return self._tables.equity(times, values)

    def _signals_table(self, job: _Part) -> pa.Table:
        return _prebuilt(job, "signals", lambda: self._tables.signals(job.signals))

    def _folders_written(self) -> set[str]:
        return {name.split("/", 1)[0] for name in list(self._written)}

    def _write_results(self, job: _Part, final: bool) -> None:
        """metrics.json, report.txt, then run_status.json. While the run goes on they say "in
        progress" and hold no statistics (computed once, at the end). After a failed write only the
        final call writes, and it tries every file, so the report says what failed when the small
        files still fit; the folder is marked complete only when no write ever failed."""
        if self.failed and not final:
            return
        if not final and job.report is None:     # between two report rewrites: only the status record
            self._write(RUN_STATUS_FILE, lambda: self._write_status("running", job.summary))
            return
        summary = job.summary
        stats = job.statistics if final else {}
        if self.failed:
            summary = dict(summary, state="failed" if final else summary.get("state"),
                           write_error=self.write_error, files_written=self.written_summary())
        inputs = job.report or {}
        report = {
            "summary": summary,
            "statistics": stats or {},
            "metrics": inputs.get("metrics"),
            "historical_quality": inputs.get("historical_quality"),
            "quality_by_symbol": inputs.get("quality_by_symbol"),
            "sessions": self._session_reports,
            "time_manager_cache": inputs.get("time_manager_cache"),
        }
        metrics_text = json.dumps(report, indent=2, default=_json_default) + "\n"
        self._write("metrics.json", lambda: self._write_text("metrics.json", metrics_text, final), final)
        text = render_report(self.system, summary, stats or {}, in_progress=not final,
                             quality_stats=job.quality_stats, timings_text=job.timings_text)
        self._write("report.txt", lambda: self._write_text("report.txt", text, final), final)
        state = summary.get("state", "running") if final else "running"
        complete = final and not self.failed
        self._write(RUN_STATUS_FILE, lambda: self._write_status(state, summary, complete=complete), final)


    def _write_text(self, relative: str, text: str, final: bool) -> None:
        """Write a small text file of the folder. At the end of a run that failed to write, a full disk
        must not leave the earlier version saying "in progress": it is rewritten in its own blocks
        when the new text fits (padded with blanks), else removed (run_status.json says what happened) and
        the error raised."""
        path = self.run_dir / relative
        try:
            _atomic_text(text, path)
        except OSError as exc:
            if not (final and self.failed and exc.errno == errno.ENOSPC):
                raise
            if _rewrite_in_place(path, text):
                return
            path.unlink(missing_ok=True)
            self._written.pop(relative, None)
            raise

def _rewrite_in_place(path: Path, text: str) -> bool:
    """Overwrite `path` in the blocks it already has (a full disk refuses a new file, not a rewrite of
    an allocated one): `text` padded with blanks to the file's size. False when it does not fit or the
    file is missing; the record is then left as it was."""
    data = text.encode("utf-8")
    try:
        with open(path, "r+b") as f:
            size = os.fstat(f.fileno()).st_size
            if len(data) > size:
                return False
            f.write(data.ljust(size, b" "))
            f.flush()
            os.fsync(f.fileno())
        return True
    except OSError:
        return False


def _now_text() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


# ---------------------------------------------------------------------- run folders
def _dated_names(parent: str | Path, stem: str) -> Iterator[Path]:
    """PARENT/<stem>-<YYYYmmdd-HHMMSS>, then the same with -2, -3 ...: the names to try, in order."""
    base = Path(parent) / f"{stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    yield base
    yield from (base.with_name(f"{base.name}-{n}") for n in itertools.count(2))


def dated_folder(parent: str | Path, stem: str) -> Path:
    """A folder name not used yet, PARENT/<stem>-<YYYYmmdd-HHMMSS> (-2, -3 ... when taken); not created
    (workstation.run's run folder, a sweep's folder)."""
    return next(path for path in _dated_names(parent, stem) if not path.exists())


def unique_run_dir(runs_dir: str | Path, stem: str) -> Path:
    """Create and return runs/<stem>-<YYYYmmdd-HHMMSS> (a -2, -3 ... suffix when it exists); the
    folder is created here (exclusively), so two runs started in the same second never share one."""
    names = _dated_names(runs_dir, stem)
    while True:
        path = next(names)
        try:
            path.mkdir(parents=True)
            _claim(path)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunFolderError(f"cannot create the run folder {path}: {os_error_text(exc)}") from None


def prepare_run_folder(out: str | Path | None, runs_dir: str | Path, stem: str, overwrite: bool = False) -> Path:
    """The folder a run writes into.

    No `out`: a new timestamped folder under `runs_dir` (as the GUI does). An `out` that does not
    exist or is empty is used. A non-empty `out` is refused unless `overwrite`, which first clears
    it; it clears only a run folder (nothing but run-folder files), never a folder holding anything
    else. RunFolderError explains every refusal; nothing is deleted then.
    """
    if out is None:
        return unique_run_dir(runs_dir, stem)
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"--out {path} is a file, not a folder; give a folder for the run (it is created "
                             "if missing)")
    try:
        entries = sorted(path.iterdir()) if path.is_dir() else []
    except OSError as exc:
        raise RunFolderError(f"cannot read the run folder {path}: {os_error_text(exc)}") from None
    if entries and not overwrite:
        status = run_folder_status(path)
        what = f"an earlier run ({status.message})" if status.is_run_folder else (
            f"{counted(len(entries), 'file')} ({', '.join(p.name for p in entries[:4])}{' ...' if len(entries) > 4 else ''})")
        raise RunFolderError(
            f"the run folder {path} is not empty: it holds {what}. A new run there would mix with it. "
            "Pass --overwrite to clear it first, or leave out --out to write a new timestamped folder "
            f"under {runs_dir}/"
        )
    if entries:
        foreign = [p.name for p in entries if p.name not in RUN_FOLDER_ENTRIES and not
                   (p.name.startswith(".") and p.name.endswith(".tmp"))]
        if foreign:
            raise RunFolderError(
                f"--overwrite clears only run folders, and {path} also holds {', '.join(foreign[:5])}"
                f"{' ...' if len(foreign) > 5 else ''}; nothing was deleted. Give another --out"
            )
        live = run_folder_status(path)
        if live.state == "running" and live.process_alive:
            raise RunFolderError(f"the run folder {path} is being written by a run in progress ({live.message}); "
                                 "nothing was deleted")
        try:
            for entry in entries:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        except OSError as exc:
            raise RunFolderError(f"cannot clear the run folder {path}: {os_error_text(exc)}") from None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"cannot create the run folder {path}: {os_error_text(exc)}; give a writable --out"
                             ) from None
    _claim(path)
    return path


def _claim(path: Path) -> None:
    """Create the folder's run_status.json exclusively ('starting', this pid), so of two runs started
    at once into one empty folder only one gets it; the RunWriter then replaces the record."""
    record = {"state": "starting", "complete": False, "pid": os.getpid(), "host": socket.gethostname(),
              "started": _now_text(), "updated": _now_text()}
    try:
        fd = os.open(path / RUN_STATUS_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise RunFolderError(f"another run has just started writing into {path}; give another --out") from None
    except OSError as exc:
        raise RunFolderError(f"cannot write into the run folder {path}: {os_error_text(exc)}; give a writable "
                             "--out") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(record, indent=2) + "\n")


@dataclass(frozen=True)
class RunFolderStatus:
    """Whether a run folder is complete, from its run_status.json (see the module docstring)."""

    path: Path
    is_run_folder: bool
    complete: bool
    state: str                     # finished | stopped | failed | running | killed | unknown
    message: str                   # one sentence for the user
    sessions_done: int | None = None
    sessions_total: int | None = None
    process_alive: bool = False


def _when(text: object) -> str:
    try:
        return dt.datetime.fromisoformat(str(text)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(text)


def run_folder_status(path: str | Path) -> RunFolderStatus:
    """Read a run folder's completion record: complete, still running, killed, failed or unknown."""
    path = Path(path)
    record = path / RUN_STATUS_FILE
    is_run = (path / "config.json").is_file() or record.is_file()
    if not record.is_file():
        if not is_run:
            return RunFolderStatus(path, False, False, "unknown", f"{path} is not a run folder (no config.json)")
        return RunFolderStatus(path, True, False, "unknown",
                               f"{path} has no {RUN_STATUS_FILE}: it was written by an older version or its run "
                               "was killed as it started, so whether it is complete is unknown")
    try:
        info = json.loads(record.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return RunFolderStatus(path, True, False, "unknown", f"{record} cannot be read ({exc}); the run folder "
                               "may be incomplete")
    done, total = info.get("sessions_done"), info.get("sessions_total")
    sessions = f"{done} of {total} sessions" if done is not None and total else "its sessions"
    state = str(info.get("state", "unknown"))
    if info.get("write_error"):
        return RunFolderStatus(path, True, False, "failed",
                               f"INCOMPLETE: writing it failed ({info['write_error']}); it holds {sessions}",
                               done, total)
    if info.get("complete"):
        what = {"finished": "complete", "stopped": f"complete, the run was stopped after {sessions}",
                "failed": f"complete, the run failed after {sessions}: {info.get('error')}"}
        return RunFolderStatus(path, True, True, state, what.get(state, f"complete ({state})"), done, total)
    pid = info.get("pid")
    same_host = info.get("host") in (None, socket.gethostname())
    alive = isinstance(pid, int) and same_host and pid_alive(pid)
    if alive:
        return RunFolderStatus(path, True, False, "running",
                               f"still being written by process {pid} (started {_when(info.get('started'))}; "
                               f"{sessions} so far)", done, total, True)
    if not same_host:
        return RunFolderStatus(path, True, False, "running",
                               f"INCOMPLETE or still running on {info.get('host')} (process {pid}); it holds "
                               f"{sessions} so far", done, total)
    return RunFolderStatus(path, True, False, "killed",
                           f"INCOMPLETE: the run (process {pid}, started {_when(info.get('started'))}) ended without "
                           f"finishing it (killed or crashed); it holds {sessions}, last written "
                           f"{_when(info.get('updated'))}", done, total)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


def render_report(system, summary: dict, stats: dict, in_progress: bool = False,
                  quality_stats: dict | None = None, timings_text: str | None = None) -> str:
    """The run's report as text (a backtest's, or a live paper run's): summary, statistics, quality,
    per-stage timings.

    `in_progress`: written after a session while the run goes on (the state line says so; the
    statistics are computed at the end). `quality_stats` and `timings_text` default to the
    system's own (given when rendered away from the engine thread)."""
    from workstation.report.formatting import run_time_text  # written at the end: not in the start-up

    cfg = system.cfg
    state = (f"state {summary['state']} (in progress: this report is rewritten as the run goes)"
             if in_progress else f"state {summary['state']}")
    kind = "Live (paper trading) report" if cfg.mode == "live" else "Backtest report"
    lines = [
        f"{kind}: {cfg.name}",
        "=" * 72,
        f"Sessions        {summary['sessions_done']} of {summary['sessions_total']} "
        f"({cfg.backtest.start_date} .. {cfg.backtest.end_date}), {state}",
        f"Symbols         {len(cfg.symbols)}: {', '.join(cfg.symbols[:10])}{' ...' if len(cfg.symbols) > 10 else ''}",
        f"Bars processed  {summary['bars_processed']:,} in {run_time_text(summary)}",
        f"Signals         {summary['signals']:,} ({summary['rejected']:,} rejected), fills {summary['fills']:,}, "
        f"trades {summary['trades']:,}",
    ]
    orders = summary.get("orders") or {}
    if orders:
        total = sum(orders.values())
        lines.append(f"Orders          {total:,}: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in orders.items()))
    if summary.get("error"):
        lines.append(f"ERROR           {summary['error']}")
    if summary.get("write_error"):
        lines.append(f"WRITE FAILED    {summary['write_error']}")
        lines.append("                the run was stopped; this folder holds only the sessions written before "
                     "(see run_status.json)")
    errs = {k: v for k, v in (summary.get("strategy_errors") or {}).items() if v}
    if errs:
        invalid = summary.get("invalid_requests") or 0
        lines.append("Strategy errors " + ", ".join(f"{k}: {v}" for k, v in errs.items())
                     + (f" ({invalid:,} of them invalid signals or orders)" if invalid else ""))
    ov = summary.get("overruns") or {}
    lines.append("Overruns        " + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in ov.items()))
    missing = summary.get("missing_sessions") or {}
    if missing:
        lines.append("Missing sessions (no bars in the store):")
        for sym, days in missing.items():
            lines.append(f"  {sym}: {', '.join(days)}")
    lines += ["", "Statistics", "-" * 72]
    if in_progress and not stats:
        lines.append("computed when the run ends (`workstation report RUN_FOLDER` computes them for a run that "
                     "was stopped or killed)")
    for key in ("final_equity", "net_pnl", "closed_pnl", "open_pnl", "total_return_pct", "sharpe", "max_drawdown_pct",
                "max_drawdown", "win_rate_pct", "profit_factor", "trades", "avg_trade_pnl", "exposure_pct",
                "open_exposure"):
        if key in stats:
            val = stats[key]
            lines.append(f"{key:<18}{val:,.4f}" if isinstance(val, float) else f"{key:<18}{val}")
    per = stats.get("per_symbol") or {}
    if per:
        lines += ["", f"{'symbol':<10}{'trades':>8}{'pnl':>14}{'win %':>9}"]
        for sym, row in per.items():
            lines.append(f"{sym:<10}{row.get('trades', 0):>8}{row.get('pnl', 0.0):>14,.2f}"
                         f"{(row.get('win_rate_pct') or 0.0):>9.1f}")
    qs = quality_stats if quality_stats is not None else system.quality.stats()
    lines += ["", "Data quality (gaps found / missing bars) per symbol", "-" * 72]
    for sym, t in qs.items():
        lines.append(f"{sym:<10} gaps {t['gaps_found']:>5}  missing bars {t['missing_bars']:>6}")
    lines += ["", timings_text if timings_text is not None else system.metrics.report_text("Pipeline timings")]
    return "\n".join(lines) + "\n"
