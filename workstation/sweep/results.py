"""The sweep folder: what a sweep writes, cell by cell, and reads back to resume.

    sweep.json                 the definition (resolved base config, parameters, constraints, method,
                               seed, objective, walk-forward windows), the store, the command
    results.parquet            one row per finished cell (rewritten atomically as cells finish)
    progress.json              live progress for the sweep window: state, done, failed, ETA, best
    runs/<cell_id>/            kept run folders (--keep-runs, --keep-top K, walk-forward test cells)
    cells/cell<N>-<params>.json  a cell's session config, written when it is opened for a replay
    walk_forward.parquet       walk-forward: one row per window, in-sample against out-of-sample
    walk_forward_equity.parquet  the stitched out-of-sample equity (time, equity, window)
    walk_forward.json / .txt   the walk-forward summary and report

Every file is written through a temporary name and os.replace, so a reader (or a Ctrl-C) never
sees half a file. Times in results are UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from workstation.atomic_files import write_bytes_atomic, write_parquet_atomic
from workstation.errors import ConfigError, DataError

SWEEP_FILE = "sweep.json"
LOCK_FILE = ".sweep.lock"        # flock'd by the driver running the sweep (SweepFolder.hold)
RESULTS_FILE = "results.parquet"
PROGRESS_FILE = "progress.json"
RUNS_DIR = "runs"
CELLS_DIR = "cells"
FORMAT_VERSION = 1

META_COLUMNS = ("cell", "cell_id", "phase", "window", "status", "error", "attempts")
INT_STATISTICS = ("sessions", "trades", "winning_trades", "losing_trades", "long_trades", "short_trades")
FLOAT_STATISTICS = (
    "starting_cash", "final_equity", "net_pnl", "total_return_pct", "sharpe", "max_drawdown_pct", "max_drawdown",
    "exposure_pct", "win_rate_pct", "gross_profit", "gross_loss", "profit_factor", "avg_trade_pnl", "best_trade",
    "worst_trade", "total_commission", "closed_pnl", "open_pnl", "open_exposure",
)
TIME_STATISTICS = ("start_time", "end_time", "max_drawdown_peak_time", "max_drawdown_trough_time")
#: the statistics columns in the order of the backtest report (compute_stats)
STATISTIC_COLUMNS = (
    "starting_cash", "final_equity", "net_pnl", "total_return_pct", "sharpe", "sessions", "max_drawdown_pct",
    "max_drawdown", "exposure_pct", "trades", "winning_trades", "losing_trades", "long_trades", "short_trades",
    "win_rate_pct", "gross_profit", "gross_loss", "profit_factor", "avg_trade_pnl", "best_trade", "worst_trade",
    "total_commission", "closed_pnl", "open_pnl", "open_exposure", *TIME_STATISTICS, "per_symbol",
)
RUN_COLUMNS = ("coverage_pct", "bars_processed", "signals", "rejected", "strategy_errors", "run_time_s",
               "engine_s", "worker", "started_at", "finished_at")
_INT_COLUMNS = ("cell", "window", "attempts", *INT_STATISTICS, "bars_processed", "signals", "rejected", "strategy_errors")
_FLOAT_COLUMNS = (*FLOAT_STATISTICS, "coverage_pct", "run_time_s", "engine_s")


def atomic_bytes(data: bytes, path: Path) -> None:
    """Write `data` to `path` atomically, with the user's umask (workstation.atomic_files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def atomic_json(obj: Any, path: Path) -> None:
    atomic_bytes((json.dumps(obj, indent=2, default=_json_default) + "\n").encode(), path)


def atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as Parquet atomically, with the user's umask (workstation.atomic_files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(pa.Table.from_pandas(frame, preserve_index=False), path, use_dictionary=True)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, dt.date | dt.datetime | pd.Timestamp):
        return o.isoformat()
    return str(o)


def param_cell_value(value: Any) -> Any:
    """A parameter value as stored in results.parquet: scalars as they are, lists and objects as JSON."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def results_frame(rows: Sequence[dict], param_paths: Sequence[str]) -> pd.DataFrame:
    """The results table with its fixed column order and dtypes (nullable ints, UTC times)."""
    columns = list(dict.fromkeys([*META_COLUMNS, *param_paths, *STATISTIC_COLUMNS, *RUN_COLUMNS]))
    frame = pd.DataFrame(list(rows), columns=columns)
    for c in _INT_COLUMNS:
        # pandas-stubs lacks pd.array(Series, "Int64"), which pandas documents and accepts
        frame[c] = pd.array(pd.to_numeric(frame[c], errors="coerce"), dtype="Int64")  # type: ignore[call-overload]
    for c in _FLOAT_COLUMNS:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in (*TIME_STATISTICS, "started_at", "finished_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True, errors="coerce")
    for c in ("cell_id", "phase", "status", "error", "worker", "per_symbol"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    for p in param_paths:
        frame[p] = _param_column(frame[p])
    return frame


def _param_column(values: pd.Series) -> pd.Series:
    kinds = {type(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))}
    if kinds <= {int, float, bool, np.int64, np.float64, np.bool_} and bool not in kinds and np.bool_ not in kinds:
        return pd.to_numeric(values, errors="coerce")
    if kinds <= {bool, np.bool_}:
        return values.astype("boolean")
    return values.map(lambda v: None if v is None else (v if isinstance(v, str) else json.dumps(v))).astype(object)


def _busy(fd: int, take: bool = False) -> str | None:
    """Who holds the flock on `fd` (described from the file), None when it is free; `take`: keep it when free."""
    import fcntl

    from workstation.store.lock import describe_holder

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return describe_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"), command=False, doing="running")
    if not take:
        fcntl.flock(fd, fcntl.LOCK_UN)
    return None


def _running_error(root: Path, holder: str) -> ConfigError:
    return ConfigError("--out", [("--out", f"a sweep is running in {root} ({holder}): wait for it to finish, stop "
                                           "it, or give another --out folder")])


class SweepFolder:
    """Reads and writes one sweep folder (layout in the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def results_path(self) -> Path:
        return self.root / RESULTS_FILE

    def run_dir(self, cell_id: str) -> Path:
        return self.root / RUNS_DIR / cell_id

    # ------------------------------------------------------------------ definition
    def definition(self) -> dict | None:
        """sweep.json, or None when the folder holds no sweep yet."""
        path = self.root / SWEEP_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path} cannot be read ({exc}); it is not a sweep folder this program wrote") from exc
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise DataError(f"{path} is not a sweep definition of format {FORMAT_VERSION}")
        return data

    def check_resumable(self, definition: dict) -> bool:
        """True when the folder already holds this sweep (resume); ConfigError when it holds another sweep
        or other files; False when it is new or empty."""
        existing = self.definition()
        if existing is None:
            if self.root.exists() and not self.root.is_dir():
                raise ConfigError("--out", [("--out", f"{self.root} is a file, not a folder")])
            if self.root.is_dir() and any(p.name != LOCK_FILE for p in self.root.iterdir()):
                raise ConfigError("--out", [("--out", f"{self.root} holds other files and no {SWEEP_FILE}: "
                                                      "give a new or empty folder for the sweep")])
            return False
        differing = [k for k in definition["identity"] if existing.get("identity", {}).get(k) != definition["identity"][k]]
        if differing:
            raise ConfigError("--out", [("--out", f"{self.root} holds another sweep ({', '.join(differing)} differ "
                                                  "from this command's): resume it with the same command, or give "
                                                  "a new --out folder")])
        return True

    def running_holder(self) -> str | None:
        """Who runs a sweep in this folder now (the holder of its lock), None when nobody does. Creates nothing."""
        path = self.root / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return _busy(fd)
        finally:
            os.close(fd)

    @contextmanager
    def hold(self):
        """Hold the folder's lock while a driver runs the sweep (the kernel drops it if the driver dies):
        a second driver of the same folder is refused (it would compute every cell again and rewrite
        results.parquet under the first one) with who runs it. Creates the folder."""
        from workstation.store.lock import holder_info

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            holder = _busy(fd, take=True)
            if holder is not None:
                raise _running_error(self.root, holder)
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder_info()) + "\n").encode(), 0)
            try:
                yield self
            finally:
                os.ftruncate(fd, 0)         # empty: released cleanly
        finally:
            os.close(fd)                    # drops the flock

    def check_not_running(self) -> None:
        """ConfigError when a sweep runs in this folder now (before anything starts or is written)."""
        holder = self.running_holder()
        if holder is not None:
            raise _running_error(self.root, holder)

    def write_definition(self, definition: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_json({"format_version": FORMAT_VERSION, **definition}, self.root / SWEEP_FILE)

    # ------------------------------------------------------------------ results
    def read_results(self) -> pd.DataFrame | None:
        if not self.results_path.is_file():
            return None
        try:
            return pd.read_parquet(self.results_path)
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"{self.results_path} cannot be read ({exc}); move it away to start the sweep "
                            "again, or restore it") from exc

    def write_results(self, rows: Sequence[dict], param_paths: Sequence[str]) -> None:
        atomic_parquet(results_frame(rows, param_paths), self.results_path)

    def write_progress(self, progress: dict) -> None:
        atomic_json(progress, self.root / PROGRESS_FILE)

    def read_progress(self) -> dict | None:
        path = self.root / PROGRESS_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # ------------------------------------------------------------------ kept runs
    def write_run(self, cell_id: str, files: dict[str, bytes]) -> Path:
        """A kept run folder from a worker's files (relative path -> bytes), replaced as a whole."""
        final = self.run_dir(cell_id)
        staging = final.with_name(f".{cell_id}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        for rel, data in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        return final

    def kept_runs(self) -> list[str]:
        base = self.root / RUNS_DIR
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if base.is_dir() else []

    def remove_run(self, cell_id: str) -> None:
        shutil.rmtree(self.run_dir(cell_id), ignore_errors=True)

    def write_cell_config(self, stem: str, config: dict) -> Path:
        path = self.root / CELLS_DIR / f"{stem}.json"
        atomic_json(config, path)
        return path


def axis_values(values: Iterable[Any]) -> list[Any]:
    """The distinct values, sorted (as text when they do not compare); a missing value (None, NaN: a
    parameter swept over null, e.g. `participation_limit_pct: [null, 10, 25]`) last, as None."""
    values = list(values)
    unique = list(dict.fromkeys(v for v in values if not is_missing(v)))
    try:
        unique.sort()
    except TypeError:
        unique.sort(key=str)
    return unique + [None] if any(is_missing(v) for v in values) else unique


def is_missing(value: Any) -> bool:
    """None or NaN (a results column holds a null parameter value or a missing figure as NaN)."""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def param_text(value: Any) -> str:
    """A swept parameter's value as the sweep's labels write it: "null" for a missing one (as in the
    sweep file's JSON), else the value."""
    return "null" if is_missing(value) else str(value)


def params_label(aliases: dict[str, str], params: dict[str, Any]) -> str:
    """"fast=5 slow=20 participation_limit_pct=null": a cell's parameters by alias."""
    return " ".join(f"{aliases.get(path, path)}={param_text(value)}" for path, value in params.items())


def _position(index: dict, value: Any) -> int:
    return index[None if is_missing(value) else value]


def heatmap_grid(results: pd.DataFrame, x: str, y: str, value: str, direction: str = "max",
                 fixed: dict[str, Any] | None = None) -> tuple[list, list, np.ndarray, np.ndarray]:
    """The objective over two parameters: (x values, y values, grid[len(y), len(x)], cell ids).

    Only finished ok cells count. Every other parameter is either fixed at a value (`fixed`; None
    holds it at null) or, when it is absent from `fixed`, the best cell over its values is taken
    (best-of, by `direction`). Both axes list every value the sweep has, null (None) last, so the grid
    keeps its shape while cells arrive; a square without a cell is NaN (cell id "")."""
    xs, ys = axis_values(results[x]), axis_values(results[y])
    grid = np.full((len(ys), len(xs)), np.nan)
    ids = np.full((len(ys), len(xs)), "", dtype=object)
    rows = results[results["status"] == "ok"]
    for path, v in (fixed or {}).items():
        rows = rows[rows[path].isna()] if is_missing(v) else rows[rows[path] == v]
    scores = pd.to_numeric(rows[value], errors="coerce")
    rows = rows.assign(_score=scores if direction == "max" else -scores).dropna(subset=["_score"])
    if len(rows):
        # a null parameter is one value: NaN would never equal itself in drop_duplicates' keys
        x_index = {v: k for k, v in enumerate(xs)}
        y_index = {v: k for k, v in enumerate(ys)}
        keys = rows.assign(_x=[_position(x_index, v) for v in rows[x]], _y=[_position(y_index, v) for v in rows[y]])
        best = keys.sort_values(["_score", "cell"], ascending=[False, True]).drop_duplicates(["_x", "_y"])
        for row in best.to_dict("records"):
            i, j = row["_y"], row["_x"]
            grid[i, j] = row["_score"] if direction == "max" else -row["_score"]
            ids[i, j] = row["cell_id"]
    return xs, ys, grid, ids


def best_row(rows: Sequence[dict], objective: str, direction: str) -> dict | None:
    """The ok row with the best finite objective (ties: the lowest cell index)."""
    scored = []
    for r in rows:
        value = _finite(r.get(objective))
        if r.get("status") == "ok" and value is not None:
            scored.append((-value if direction == "max" else value, int(r.get("cell") or 0), r))
    return min(scored, key=lambda t: t[:2])[2] if scored else None


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
