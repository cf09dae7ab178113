"""Reading a run folder back: the one reader used by the results view, the HTML report, compare and
the Python API (no Qt).

A run folder (written by workstation.run_writer.RunWriter) holds tables and documents:

    config.json        the resolved config (required)
    trades.parquet     symbol, quantity (+ long, - short), entry/exit time and price, pnl, commission,
                       strategy (required)
    equity.parquet     time (bar start), equity, cash, positions_value, gross_exposure (required)
    signals.parquet    time, symbol, strategy, action, quantity, price, confidence, approved, reason, kind
    quality.parquet    session_date, symbol, interval, expected, present, quality_pct, gaps, missing
    bars.parquet       symbol, interval, timestamp (bar start), open, high, low, close, volume
    orders.parquet, fills.parquet, gaps.parquet   when the engine that wrote the run records them
    metrics.json       summary, statistics, session reports, timings;  report.txt  the text report
    gap_fills.json     live runs: every gap and fill attempt (the gap list when gaps.parquet is absent)
    run_status.json    the completion record, when the engine writes one (state, complete, sessions)

Every table may be a single Parquet file or a folder of parts (`*.parquet` inside, read in name
order; names starting with "." or "_" are ignored, as pyarrow does). Every table but trades and
equity is optional: an absent table reads as None (`RunFolder.table`) or, on `RunResults`, as an
empty frame with the columns known for it. Times are returned as datetime64[ns, UTC] (bar starts);
they are shown in the run's exchange zone (`RunResults.timezone`) by the views.

Files are read when first asked for and kept; a folder being written while it is read (a run in
progress) gives the parts complete at that moment, since every part is written atomically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from workstation.errors import DataError, named
from workstation.execution.results import EQUITY_COLUMNS, SIGNAL_COLUMNS, TRADE_COLUMNS
from workstation.execution.stats import compute_stats

log = logging.getLogger(__name__)

DEFAULT_STARTING_CASH = 100_000.0
DEFAULT_TIMEZONE = "America/New_York"
CONFIG_FILE = "config.json"
REQUIRED_FILES = (CONFIG_FILE, "trades.parquet", "equity.parquet")

QUALITY_COLUMNS = ("session_date", "symbol", "interval", "expected", "present", "quality_pct", "gaps", "missing")
BAR_COLUMNS = ("symbol", "interval", "timestamp", "open", "high", "low", "close", "volume")

# Columns each table has at least (an absent optional table reads as an empty frame with these) and
# the columns read as UTC times.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "trades": (TRADE_COLUMNS, ("entry_time", "exit_time")),
    "equity": (EQUITY_COLUMNS, ("time",)),
    "signals": (SIGNAL_COLUMNS, ("time",)),
    "quality": (QUALITY_COLUMNS, ()),
    "bars": (BAR_COLUMNS, ("timestamp",)),
    "orders": (("time", "symbol", "quantity"), ("time",)),
    "fills": (("time", "symbol", "quantity", "price"), ("time",)),
    "gaps": (("symbol",), ()),
}
_TIME_NAMES = ("time", "timestamp", "entry_time", "exit_time", "start", "end", "start_time", "end_time",
               "submitted_time", "filled_time", "cancelled_time", "fill_time")


def run_folders(parent: str | Path) -> list[Path]:
    """The run folders (each holding config.json) directly in `parent`; [] when it cannot be listed."""
    try:
        return [p for p in Path(parent).iterdir() if (p / CONFIG_FILE).is_file()]
    except OSError:
        return []


class RunFolder:
    """A run folder on disk; each table is read on first use (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise DataError(f"run folder {self.path} does not exist or is not a folder")

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def table_path(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def has(self, name: str) -> bool:
        """True when the table exists (as a file, or as a folder holding at least one part)."""
        p = self.table_path(name)
        return p.is_file() or (p.is_dir() and bool(_parts(p)))

    def table(self, name: str, required: Sequence[str] | None = None,
              time_columns: Sequence[str] | None = None) -> pd.DataFrame | None:
        """Table `name` as a DataFrame, or None when the folder has no such table.

        `required` columns must be present (DataError naming the file otherwise); `time_columns`
        (default: the known time columns present) become datetime64[ns, UTC].
        """
        p = self.table_path(name)
        if p.is_file():
            files = [p]
        elif p.is_dir():
            files = _parts(p)
            if not files:
                return None
        else:
            return None
        frame = _read_parts(files, p, required or ())
        times = time_columns if time_columns is not None else [c for c in _TIME_NAMES if c in frame.columns]
        for col in times:
            frame[col] = _utc(frame[col], p, col)
        return frame

    def json(self, name: str) -> dict[str, Any] | None:
        """A JSON object file of the folder (None when absent); DataError when unreadable."""
        p = self.path / name
        if not p.is_file():
            return None
        return _read_json(p)

    def text(self, name: str) -> str | None:
        p = self.path / name
        if not p.is_file():
            return None
        try:
            return p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read {p}: {exc}") from exc


class RunResults:
    """A backtest run loaded from its folder: config, trades, equity and statistics read at once;
    signals, quality, bars, orders, fills, gaps, metrics and the text report on first use.

    Frames of optional tables are empty (with their known columns) when the folder lacks them;
    `missing_tables` lists those. `report_html()` renders the self-contained HTML report.
    """

    def __init__(self, folder: RunFolder, config: dict[str, Any], trades: pd.DataFrame, equity: pd.DataFrame,
                 stats: dict[str, Any]):
        self.folder = folder
        self.config = config
        self.trades = trades
        self.equity = equity
        self.stats = stats

    def __repr__(self) -> str:
        s = self.stats
        ret = s.get("total_return_pct")
        return (f"<RunResults {self.name!r}: {s.get('sessions', 0)} sessions, {s.get('trades', 0)} trades, "
                f"return {'n/a' if ret is None else f'{ret:+.2f}%'}, folder {str(self.run_dir)!r}>")

    # ------------------------------------------------------------------ identity
    @property
    def run_dir(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        """The config's name, else the folder name."""
        return str(self.config.get("name") or self.run_dir.name)

    @property
    def timezone(self) -> str:
        """Exchange time zone of the run (for display)."""
        return str(self.config.get("timezone") or DEFAULT_TIMEZONE)

    @property
    def starting_cash(self) -> float:
        return _starting_cash(self.config, self.run_dir / "config.json")

    def headline_facts(self, symbols_listed: int = 0) -> list[str]:
        """The run in a few phrases: date range, sessions, symbols (the first `symbols_listed` named),
        starting cash, fill rule and display zone; shared by the results view and the reports."""
        from workstation.report.formatting import fmt_money

        cfg = self.config
        facts = []
        backtest = cfg.get("backtest")
        if not isinstance(backtest, dict):
            backtest = {}
        if backtest.get("start_date") and backtest.get("end_date"):
            facts.append(f"{backtest['start_date']} \u2192 {backtest['end_date']}")
        sessions = self.stats.get("sessions") or 0
        facts.append(f"{sessions} session{'s' if sessions != 1 else ''}")
        symbols = cfg.get("symbols")
        if isinstance(symbols, list):
            text = f"{len(symbols)} symbol{'s' if len(symbols) != 1 else ''}"
            if symbols_listed:
                more = " \u2026" if len(symbols) > symbols_listed else ""
                text += f" ({', '.join(str(s) for s in symbols[:symbols_listed])}{more})"
            facts.append(text)
        facts.append(f"starting cash {fmt_money(self.stats.get('starting_cash'), signed=False, decimals=0)}")
        execution = cfg.get("execution")
        if not isinstance(execution, dict):
            execution = {}
        if execution.get("fill_rule"):
            facts.append("fills at next open" if execution["fill_rule"] == "next_open" else "fills at close")
        facts.append(f"times in {self.timezone}")
        return facts

    # ------------------------------------------------------------------ optional tables
    def _optional(self, name: str) -> pd.DataFrame:
        required, times = TABLES[name]
        frame = self.folder.table(name, required=required if name in ("signals", "quality", "bars") else None)
        if frame is None:
            return _empty(required, times)
        return frame

    @cached_property
    def signals(self) -> pd.DataFrame:
        """Every strategy signal with its risk decision (and strategy errors, kind 'error')."""
        frame = self._optional("signals")
        return frame.sort_values("time", kind="mergesort").reset_index(drop=True) if len(frame) else frame

    @cached_property
    def quality(self) -> pd.DataFrame:
        """Bar quality per session, symbol and interval (expected, present, quality_pct, gaps, missing)."""
        frame = self._optional("quality")
        if len(frame):
            frame["session_date"] = pd.to_datetime(frame["session_date"].astype(str)).dt.date
            frame = frame.sort_values(["session_date", "symbol"], kind="mergesort").reset_index(drop=True)
        return frame

    @cached_property
    def bars(self) -> pd.DataFrame:
        """Every session bar the run saw, streamed and derived (empty for runs made with --no-bars)."""
        return self._optional("bars")

    @cached_property
    def orders(self) -> pd.DataFrame:
        """The run's orders (orders.parquet), empty when the engine that wrote it did not record them."""
        return self._sorted(self._optional("orders"))

    @cached_property
    def fills(self) -> pd.DataFrame:
        """The run's fills (fills.parquet), empty when the engine that wrote it did not record them."""
        return self._sorted(self._optional("fills"))

    @cached_property
    def gaps(self) -> pd.DataFrame:
        """Every gap (run of missing bars) the run found: gaps.parquet, else the gap list of a live run's
        gap_fills.json (start and end as UTC times of the first and last missing bar); empty when the
        run folder records neither."""
        if not self.folder.has("gaps"):
            doc = self.folder.json("gap_fills.json")
            rows = doc.get("gaps") if doc else None
            if isinstance(rows, list) and rows:
                frame = pd.DataFrame(rows)
                for ns, name in (("start_ns", "start"), ("end_ns", "end")):
                    if ns in frame:
                        frame.insert(list(frame.columns).index(ns), name, _utc(frame.pop(ns), self.run_dir, ns))
                return frame
        return self._optional("gaps")

    @property
    def gaps_recorded(self) -> bool:
        """True when the run folder lists its gaps (gaps.parquet, or a live run's gap_fills.json)."""
        return self.folder.has("gaps") or self.folder.json("gap_fills.json") is not None

    @staticmethod
    def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) and "time" in frame:
            return frame.sort_values("time", kind="mergesort").reset_index(drop=True)
        return frame

    @property
    def missing_tables(self) -> list[str]:
        """Optional tables this run folder does not hold."""
        return [name for name in TABLES if not self.folder.has(name)]

    @cached_property
    def metrics(self) -> dict[str, Any] | None:
        """metrics.json: summary, statistics, session reports and stage timings (None when absent)."""
        return self.folder.json("metrics.json")

    @cached_property
    def report(self) -> str | None:
        """report.txt, the text report (None when absent)."""
        return self.folder.text("report.txt")

    @cached_property
    def run_status(self) -> dict[str, Any] | None:
        """run_status.json, the run folder's completion record (None when the folder has none)."""
        return self.folder.json("run_status.json")

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary from metrics.json (state, sessions done, bars, signals, fills...); {} if absent."""
        summary = (self.metrics or {}).get("summary")
        return summary if isinstance(summary, dict) else {}

    # ------------------------------------------------------------------ outputs
    @overload
    def report_html(self, path: None = None) -> str: ...

    @overload
    def report_html(self, path: str | Path) -> Path: ...

    def report_html(self, path: str | Path | None = None) -> str | Path:
        """The self-contained HTML report of this run as text; given a `path`, written there instead
        and the file's Path returned (a notebook cell ending with it shows the path, not the page)."""
        from workstation.report.run_report import render_run_report

        html = render_run_report(self)
        if path is None:
            return html
        from workstation.report.writing import write_html

        return write_html(html, path)

    def _repr_html_(self) -> str:  # notebooks show the headline figures
        from workstation.report.run_report import headline_html

        return headline_html(self)


def load_run(run_dir: str | Path) -> RunResults:
    """Load a run folder (see the module docstring); DataError names the folder or file at fault."""
    folder = RunFolder(run_dir)
    for name in REQUIRED_FILES:
        if not (folder.path / name).exists():
            raise DataError(f"run folder {folder.path} has no {name}: it is not a complete backtest run")
    config = _read_json(folder.path / "config.json")
    trades = folder.table("trades", TRADE_COLUMNS, ("entry_time", "exit_time"))
    equity = folder.table("equity", EQUITY_COLUMNS, ("time",))
    trades = _empty(*TABLES["trades"]) if trades is None else trades
    equity = _empty(*TABLES["equity"]) if equity is None else equity
    trades = trades.sort_values(["entry_time", "symbol"], kind="mergesort").reset_index(drop=True)
    equity = equity.sort_values("time", kind="mergesort").reset_index(drop=True)
    tz = str(config.get("timezone") or DEFAULT_TIMEZONE)
    try:
        stats = compute_stats(equity, trades, _starting_cash(config, folder.path / "config.json"), tz)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"cannot compute statistics of run {folder.path}: {exc}") from exc
    log.info("loaded run %s: %d trades, %d equity points", folder.path, len(trades), len(equity))
    return RunResults(folder, config, trades, equity, stats)


# ---------------------------------------------------------------------- helpers
def _parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.parquet") if p.is_file() and not p.name.startswith((".", "_")))


def _read_parts(files: list[Path], table_path: Path, required: Sequence[str]) -> pd.DataFrame:
    """The parts as one frame; every part must hold the `required` columns (DataError naming it)."""
    tables = []
    for f in files:
        try:
            table = pq.read_table(f)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise DataError(f"cannot read {f}: {exc}") from exc
        missing = [c for c in required if c not in table.column_names]
        if missing:
            raise DataError(f"{f} lacks {named('column', missing)}; found {', '.join(table.column_names)}")
        tables.append(table)
    try:
        table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"the parts of {table_path} do not share one set of columns: {exc}") from exc
    return table.to_pandas()


def _utc(values: pd.Series, path: Path, column: str) -> pd.Series:
    try:
        if pd.api.types.is_integer_dtype(values.dtype):
            return pd.Series(pd.to_datetime(values.to_numpy(dtype=np.int64), unit="ns", utc=True), index=values.index)
        t = pd.to_datetime(values)
        return t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: column {column!r} is not a timestamp column ({exc})") from exc


def _empty(columns: Sequence[str], time_columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(pd.DatetimeIndex([], tz="UTC")) if c in time_columns
                         else pd.Series(dtype=object) for c in columns})


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def _starting_cash(config: dict[str, Any], source: Path) -> float:
    execution = config.get("execution") or {}
    value: Any = execution.get("starting_cash", DEFAULT_STARTING_CASH) if isinstance(execution, dict) else None
    try:
        cash = float(value)
    except (TypeError, ValueError):
        cash = float("nan")
    if not cash > 0:
        raise DataError(f"{source}: execution.starting_cash must be a positive number, got {value!r}")
    return cash
