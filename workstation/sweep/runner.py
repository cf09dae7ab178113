"""The sweep driver on Ray: connect, ship the bars, one task per cell, results cell by cell, resume.

- Ray: a local cluster started here with `workers` CPUs and shut down at the end, an existing
  cluster by `address` (checked within seconds, nothing is written when it cannot be reached), or
  the Ray the caller already initialised (tests, notebooks). Ray schedules the tasks; the driver
  keeps at most two tasks per worker submitted, so a Ctrl-C has little to cancel.
- Data: `shipping.DataShipper` reads each needed date of the store once and puts it in the object
  store; a task gets the calendar, the store catalogue and its dates' blocks as arguments. The blocks
  hold raw bars; a cell with `prices: adjusted` also gets the store's corporate actions resolved on
  the driver, and its MemoryBarStore is read through the same AdjustedBarStore as a plain run.
- Failures: a cell whose run raises returns the error as its result and the driver submits it
  again, at most twice, then records it as failed with its error and attempt count; the other cells
  go on. (Ray's `retry_exceptions` would do the same but prints every retry's traceback on the
  driver's terminal, a flood when a strategy refuses half of the grid.) A worker process that dies or
  a lost node is retried by Ray itself (`max_retries=2`) and then recorded as failed.
- Results: a row is added to results.parquet as soon as a cell finishes (atomic rewrite, throttled
  so that writing stays under a tenth of the driver's time); progress.json follows.
- Stop: SIGINT (Ctrl-C) and SIGTERM set a flag; the driver cancels the running tasks, writes what
  finished and returns state "interrupted". The same sweep run again skips finished cells.
- Walk-forward: when every train cell of a window has finished, the best one (by the objective) runs
  on the window's test dates; at the end the test windows are stitched and reported.

Threads: everything runs in the calling thread; the signal handlers only set a flag.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.errors import ConfigError
from workstation.store import BarStore
from workstation.sweep.cell import CellOutcome, run_cell
from workstation.sweep.ray_cluster import CONNECT_DEADLINE_S, RayConnection, StopFlag
from workstation.sweep.results import (
    STATISTIC_COLUMNS,
    SweepFolder,
    best_row,
    is_missing,
    param_cell_value,
    params_label,
)
from workstation.sweep.shipping import CellNeeds, DataShipper, cell_needs
from workstation.sweep.spec import Cell, SweepPlan
from workstation.sweep.walk_forward import write_walk_forward

if TYPE_CHECKING:
    from ray import ObjectRef

log = logging.getLogger(__name__)

MAX_RETRIES = 2
TASKS_PER_WORKER = 2


# ---------------------------------------------------------------------- the task (runs on a worker)
@dataclass(frozen=True)
class CellTask:
    """What a worker needs besides the bars: the cell's config and whether to keep its run folder."""

    cell_id: str
    config: dict
    keep_run: bool
    store_label: str
    adjustments: Any = None  # the store's PriceAdjustments, for a cell with `prices: adjusted`


@dataclass(frozen=True)
class CellError:
    """A cell whose run raised: the error text (the driver decides whether to try again)."""

    error: str
    worker: str


def run_cell_task(task: CellTask, calendar: TimeManager, catalog: dict, *blocks) -> CellOutcome | CellError:
    """A Ray task: build the in-memory store from the shipped blocks and run the cell."""
    from workstation.store.memory_store import MemoryBarStore

    started_at, t0 = time.time(), time.perf_counter()
    try:
        store = MemoryBarStore(blocks, catalog, calendar, root=task.store_label, adjustments=task.adjustments)
        outcome = run_cell(task.config, store, calendar, keep_run=task.keep_run)
        outcome.started_at, outcome.run_time_s = started_at, time.perf_counter() - t0  # the store build included
        return outcome
    except Exception as exc:  # noqa: BLE001 - reported as the cell's result, never lost
        return CellError(_error_text(exc), f"{socket.gethostname()}:{os.getpid()}")


# ---------------------------------------------------------------------- options and outcome
@dataclass
class SweepOptions:
    """How a sweep runs (not part of its definition: the same sweep may be resumed with others)."""

    workers: int | None = None
    address: str | None = None
    keep_runs: bool = False
    keep_top: int | None = None
    retry_failed: bool = False
    verbose: bool = False
    runtime_env: dict | None = None
    connect_timeout_s: float = CONNECT_DEADLINE_S
    progress: TextIO | None = None
    command: list[str] | None = None
    stop: StopFlag | None = None


@dataclass
class SweepOutcome:
    """The end of a sweep run: counts, the best cell and where everything is."""

    state: str                 # "finished" or "interrupted"
    folder: Path
    total: int
    ok: int
    failed: int
    computed: int
    skipped: int
    best: dict | None
    elapsed_s: float
    ray_startup_s: float
    workers: int
    cluster: str
    shipped_bytes: int = 0
    shipped_blocks: int = 0
    store_reads: int = 0
    walk_forward: dict | None = None
    report: str = ""
    started_at: float = 0.0  # wall clock (epoch s) when the driver began running cells
    rows: list[dict] = field(default_factory=list, repr=False)


def sweep_definition(plan: SweepPlan, store_root: Path, command: Sequence[str] | None) -> dict:
    """What sweep.json records; `identity` is what must match for a resume."""
    spec = plan.spec
    params = {}
    for path, values in spec.params.items():
        params[path] = values.model_dump() if hasattr(values, "model_dump") else values
    identity: dict[str, Any] = {
        "config": plan.base_config,
        "params": params,
        "constraints": list(spec.constraints),
        "method": spec.method,
        "samples": spec.samples,
        "seed": spec.seed,
        "walk_forward": spec.walk_forward.model_dump() if spec.walk_forward else None,
    }
    if spec.walk_forward:  # the objective chooses the test cells
        identity.update(objective=plan.objective, direction=plan.direction)
    return {
        "identity": identity,
        "objective": plan.objective,
        "direction": plan.direction,
        "params": [{"path": a.path, "alias": a.alias,
                    "values": list(a.values) if a.values is not None else None,
                    "low": a.low, "high": a.high} for a in plan.axes],
        "windows": [w.as_dict() for w in plan.windows],
        "cells": plan.total_cells,
        "store": str(store_root),
        "source": plan.source,
        "command": list(command or []),
        "cwd": os.getcwd(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _error_text(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    text = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------- the driver
def run_sweep(plan: SweepPlan, store: BarStore, time_manager: TimeManager, folder: SweepFolder,
              options: SweepOptions | None = None) -> SweepOutcome:
    """Run (or resume) the sweep `plan` into `folder`; see the module docstring. Every check that
    needs no Ray (the folder, each cell's symbols and dates) is done before Ray is started or
    reached, and nothing is written until Ray is there."""
    options = options or SweepOptions()
    definition = sweep_definition(plan, store.root.resolve(), options.command)
    resume = folder.check_resumable(definition)
    folder.check_not_running()
    driver = _Driver(plan, store, time_manager, folder, options)
    driver.load_rows(folder.read_results() if resume else None)
    driver.check_cells()
    with RayConnection(options.address, options.workers, options.verbose, options.runtime_env,
                       options.connect_timeout_s) as connection:
        with options.stop or StopFlag() as stop, folder.hold():
            driver.attach(connection, stop)
            if not resume:
                folder.write_definition(definition)
            return driver.run()


class _Driver:
    def __init__(self, plan: SweepPlan, store: BarStore, time_manager: TimeManager, folder: SweepFolder,
                 options: SweepOptions):
        self.plan = plan
        self.store = store
        self.tm = time_manager
        self.folder = folder
        self.options = options
        self.param_paths = [a.path for a in plan.axes]
        self.rows: dict[str, dict] = {}
        self.skipped = 0
        self.computed = 0
        self.keep = options.keep_runs or options.keep_top is not None
        symbols = {s for c in plan.cells for s in c.config["symbols"]}
        for combo_symbols in (c.get("symbols") for c in plan.combos):
            symbols.update(combo_symbols or ())
        self.shipper = DataShipper(store, time_manager, symbols, put=self._put)
        self.pending: list[tuple[Cell, CellNeeds]] = []
        self._calendar_ref: ObjectRef[TimeManager] | None = None
        self._catalog_ref: ObjectRef[dict[str, list[str]]] | None = None
        self._catalog_size = -1
        self._written_at = 0.0
        self._write_cost = 0.0
        self._dirty = False
        self._test_cells: dict[int, Cell] = {}
        self._attempts: dict[str, int] = {}
        self._cell_needs: dict[str, CellNeeds] = {}
        self._adjustments = None

    def check_cells(self) -> None:
        """The data needs of every cell still to run; raises on a bad cell before anything starts."""
        pending = [c for c in self.plan.cells if c.cell_id not in self.rows]
        self.pending = [(c, self._needs(c)) for c in pending]
        self.pending += [(c, self._needs(c)) for c in self._ready_test_cells()]
        self.shipper.expect(n for _, n in self.pending)

    def attach(self, connection: RayConnection, stop: StopFlag) -> None:
        import ray

        self.ray = ray
        self.connection = connection
        self.stop = stop
        self.shipper.should_stop = stop.is_set
        self.progress = _Progress(self, self.options.progress if self.options.progress is not None else sys.stderr)
        self._remote = ray.remote(run_cell_task).options(num_cpus=1, max_retries=MAX_RETRIES)

    def _put(self, value: Any) -> Any:
        return self.ray.put(value)

    # ------------------------------------------------------------------ rows
    def load_rows(self, existing: pd.DataFrame | None) -> None:
        if existing is None:
            return
        for row in existing.to_dict("records"):
            row = {k: (None if is_missing(v) else v) for k, v in row.items()}
            if self.options.retry_failed and row.get("status") != "ok":
                continue
            self.rows[str(row["cell_id"])] = row
        self.skipped = len(self.rows)

    def _row(self, cell: Cell, outcome: CellOutcome | None, error: str | None, attempts: int = 1) -> dict:
        row: dict[str, Any] = {"cell": cell.index, "cell_id": cell.cell_id, "phase": cell.phase, "window": cell.window,
                               "status": "ok" if outcome is not None else "failed", "error": error,
                               "attempts": attempts}
        row.update({p: param_cell_value(cell.params.get(p)) for p in self.param_paths})
        if outcome is not None:
            stats = outcome.statistics
            row.update({k: stats.get(k) for k in STATISTIC_COLUMNS if k != "per_symbol"})
            row["per_symbol"] = json.dumps(stats.get("per_symbol") or {})
            s = outcome.summary
            row.update(coverage_pct=outcome.coverage_pct, bars_processed=s.get("bars_processed"),
                       signals=s.get("signals"), rejected=s.get("rejected"),
                       strategy_errors=sum((s.get("strategy_errors") or {}).values()),
                       run_time_s=outcome.run_time_s, engine_s=outcome.engine_s, worker=outcome.worker,
                       started_at=dt.datetime.fromtimestamp(outcome.started_at, dt.UTC))
        row["finished_at"] = dt.datetime.now(dt.UTC)
        return row

    def _flush(self, force: bool = False) -> None:
        """Write results.parquet when something changed, keeping writes under ~10 % of the driver's time."""
        now = time.perf_counter()
        if not self._dirty or (not force and now - self._written_at < 9 * self._write_cost):
            return
        t0 = time.perf_counter()
        self.folder.write_results(list(self.rows.values()), self.param_paths)
        self._write_cost = time.perf_counter() - t0
        self._written_at = time.perf_counter()
        self._dirty = False

    # ------------------------------------------------------------------ submission
    def _needs(self, cell: Cell) -> CellNeeds:
        cfg = validate_config_dict(cell.config, self.plan.source)
        label = f"cell {cell.label(self.plan.aliases)}"
        if cfg.streams.quotes or cfg.execution.fill_prices == "quotes":
            field = "execution.fill_prices" if cfg.execution.fill_prices == "quotes" else "streams.quotes"
            raise ConfigError(label, [(field, "quote bars are not shipped to sweep workers yet: sweep with "
                                              "streams.quotes false and execution.fill_prices 'trades', or run "
                                              "the quote configs one by one with `workstation run`")])
        self.shipper.check_symbols(cfg, label)
        try:
            return cell_needs(cfg, self.tm, self.shipper.has_daily_bars)
        except ConfigError as exc:
            raise ConfigError(label, exc.problems) from None

    def _submit(self, cell: Cell, needs: CellNeeds):
        self._cell_needs[cell.cell_id] = needs
        refs = self.shipper.refs(needs)
        if self._catalog_ref is None or len(self.shipper.catalog) != self._catalog_size:
            self._catalog_ref = self.ray.put(dict(self.shipper.catalog))
            self._catalog_size = len(self.shipper.catalog)
        if self._calendar_ref is None:
            self._calendar_ref = self.ray.put(self.tm)
        keep = self.keep or cell.phase == "test"
        adjustments = None
        if cell.config.get("prices") == "adjusted":  # resolved once from the real store, shipped with the task
            if self._adjustments is None:
                self._adjustments = self.store.price_adjustments()
            adjustments = self._adjustments
        task = CellTask(cell.cell_id, cell.config, keep, str(self.store.root), adjustments)
        return self._remote.remote(task, self._calendar_ref, self._catalog_ref, *refs)

    # ------------------------------------------------------------------ main loop
    def run(self) -> SweepOutcome:
        t0 = time.perf_counter()
        self._started_at = time.time()
        queue: collections.deque[tuple[Cell, CellNeeds]] = collections.deque(self.pending)
        in_flight: dict[Any, Cell] = {}
        window = TASKS_PER_WORKER * self.connection.workers
        self.progress.start(t0)
        state = "finished"
        try:
            while queue or in_flight:
                if self.stop.is_set():
                    state = "interrupted"
                    break
                while queue and len(in_flight) < window and not self.stop.is_set():
                    cell, cell_needs_ = queue.popleft()
                    in_flight[self._submit(cell, cell_needs_)] = cell
                if not in_flight:
                    continue
                ready, _ = self.ray.wait(list(in_flight), num_returns=1, timeout=0.25)
                if ready:
                    ready, _ = self.ray.wait(list(in_flight), num_returns=len(in_flight), timeout=0)
                for ref in ready:
                    cell = in_flight.pop(ref)
                    if not self._finished(cell, ref):
                        queue.appendleft((cell, self._cell_needs[cell.cell_id]))
                        continue
                    if cell.phase == "train":
                        for test_cell in self._ready_test_cells():
                            queue.append((test_cell, self._needs(test_cell)))
                self._flush()
                self.progress.update()
        except KeyboardInterrupt:
            state = "interrupted"
        if state == "interrupted":
            for ref in in_flight:
                try:
                    self.ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - already finished or gone
                    pass
        self._flush(force=True)
        wf = None
        report = ""
        if state == "finished" and self.plan.windows:
            wf, report = self._finish_walk_forward()
        outcome = self._outcome(state, time.perf_counter() - t0, wf, report)
        self.progress.finish(outcome)
        return outcome

    def _finished(self, cell: Cell, ref) -> bool:
        """Record a finished task; False when the cell failed and is to be tried again."""
        outcome, error = None, None
        attempts = self._attempts.get(cell.cell_id, 0) + 1
        self._attempts[cell.cell_id] = attempts
        try:
            result = self.ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - the worker died (after Ray's own retries), the node was lost
            error = _error_text(exc)
            attempts += MAX_RETRIES
        else:
            if isinstance(result, CellError):
                if attempts <= MAX_RETRIES:
                    return False
                error = result.error
            else:
                outcome = result
        self.computed += 1
        self.rows[cell.cell_id] = self._row(cell, outcome, error, attempts)
        self._dirty = True
        if outcome is not None and outcome.run_files:
            self.folder.write_run(cell.cell_id, outcome.run_files)
            self._prune_runs()
        return True

    def _prune_runs(self) -> None:
        k = self.options.keep_top
        if k is None or self.options.keep_runs:
            return
        ranked = [r for r in self.rows.values() if r.get("phase") != "test"]
        keep = set()
        for _ in range(k):
            best = best_row([r for r in ranked if r["cell_id"] not in keep], self.plan.objective, self.plan.direction)
            if best is None:
                break
            keep.add(best["cell_id"])
        tests = {r["cell_id"] for r in self.rows.values() if r.get("phase") == "test"}
        for cell_id in self.folder.kept_runs():
            if cell_id not in keep and cell_id not in tests:
                self.folder.remove_run(cell_id)

    # ------------------------------------------------------------------ walk-forward
    def _ready_test_cells(self) -> list[Cell]:
        """Test cells of windows whose train cells have all finished and whose test is not yet run."""
        out = []
        by_id = {c.cell_id: c for c in self.plan.cells}
        for w in self.plan.windows:
            if w.index in self._test_cells:
                continue
            train = [c for c in self.plan.cells if c.window == w.index]
            if any(c.cell_id not in self.rows for c in train):
                continue
            best = best_row([self.rows[c.cell_id] for c in train], self.plan.objective, self.plan.direction)
            index = len(self.plan.cells) + w.index
            if best is None:
                placeholder = Cell(index, "test", w.index, {}, {}, f"test-window-{w.index}")
                self._test_cells[w.index] = placeholder
                if placeholder.cell_id not in self.rows:
                    self.rows[placeholder.cell_id] = self._row(
                        placeholder, None, f"no train cell of window {w.index} has a value of {self.plan.objective}",
                        attempts=0)
                    self._dirty = True
                continue
            cell = self.plan.make_cell(index, "test", w.index, by_id[best["cell_id"]].params,
                                       (w.test_start, w.test_end))
            self._test_cells[w.index] = cell
            if cell.cell_id not in self.rows:
                out.append(cell)
        return out

    def _finish_walk_forward(self) -> tuple[dict, str]:
        tests = {w: cell.cell_id for w, cell in self._test_cells.items()}
        return write_walk_forward(self.plan, self.rows, tests, self.folder)

    # ------------------------------------------------------------------ outcome
    def best(self) -> dict | None:
        rows = [r for r in self.rows.values() if r.get("phase") != "test"]
        return best_row(rows, self.plan.objective, self.plan.direction)

    def counts(self) -> tuple[int, int]:
        ok = sum(1 for r in self.rows.values() if r.get("status") == "ok")
        return ok, len(self.rows) - ok

    def _outcome(self, state: str, elapsed: float, wf: dict | None, report: str) -> SweepOutcome:
        ok, failed = self.counts()
        return SweepOutcome(state, self.folder.root, self.plan.total_cells, ok, failed, self.computed, self.skipped,
                            self.best(), elapsed, self.connection.startup_s, self.connection.workers,
                            self.connection.description, self.shipper.bytes_shipped, self.shipper.blocks_shipped,
                            self.shipper.store_reads, wf, report, self._started_at, list(self.rows.values()))


class _Progress:
    """The progress line on stderr (redrawn on a terminal, a line every few seconds otherwise) and
    progress.json in the sweep folder."""

    def __init__(self, driver: _Driver, stream: TextIO):
        self.driver = driver
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._line_at = 0.0
        self._json_at = 0.0
        self._done_at_start = 0

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._done_at_start = len(self.driver.rows)
        self._write_json("running", force=True)

    def _figures(self) -> dict:
        d = self.driver
        ok, failed = d.counts()
        done = ok + failed
        total = d.plan.total_cells
        elapsed = time.perf_counter() - self.t0
        rate = (done - self._done_at_start) / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        best = d.best()
        return {"done": done, "ok": ok, "failed": failed, "total": total, "elapsed_s": round(elapsed, 2),
                "cells_per_s": round(rate, 3), "eta_s": round(eta, 1) if eta is not None else None,
                "best": None if best is None else {"cell_id": best["cell_id"], "value": best.get(d.plan.objective),
                                                   "params": {p: best.get(p) for p in d.param_paths}}}

    def line(self) -> str:
        f = self._figures()
        d = self.driver
        width = 24
        fill = int(width * f["done"] / f["total"]) if f["total"] else width
        eta = "--:--" if f["eta_s"] is None else _clock(f["eta_s"])
        failed = f" ({f['failed']} failed)" if f["failed"] else ""
        text = (f"[{'#' * fill}{'.' * (width - fill)}] cells {f['done']}/{f['total']}{failed}"
                f"  {f['cells_per_s'] * 60:,.1f}/min  ETA {eta}")
        if f["best"] is not None:
            label = params_label(d.plan.aliases, f["best"]["params"])
            text += f"  best {d.plan.spec.objective} {f['best']['value']:,.4g}: {label}"
        return text

    def _write_json(self, state: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._json_at < 0.5:
            return
        self._json_at = now
        d = self.driver
        self.driver.folder.write_progress({"state": state, "pid": os.getpid(), "objective": d.plan.objective,
                                           "direction": d.plan.direction, "workers": d.connection.workers,
                                           "cluster": d.connection.description,
                                           "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                           **self._figures()})

    def update(self) -> None:
        self._write_json("running")
        now = time.perf_counter()
        if self.tty and now - self._line_at >= 0.25:
            self._line_at = now
            print("\r" + self.line(), end="", file=self.stream, flush=True)
        elif not self.tty and now - self._line_at >= 5.0:
            self._line_at = now
            print(self.line(), file=self.stream, flush=True)

    def finish(self, outcome: SweepOutcome) -> None:
        self._write_json(outcome.state, force=True)
        print(("\r" if self.tty else "") + self.line(), file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
