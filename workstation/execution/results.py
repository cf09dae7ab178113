"""Backtest results as frames, and loading a run folder back (for the results view and reports).

A run folder holds:
  config.json      the session config that ran (JSON object)
  bars.parquet     the streamed bars (not read here)
  quality.parquet  bar quality per symbol (not read here)
  signals.parquet  optional (a file or a folder of parts): time, symbol, strategy, action, quantity,
                   price, confidence, approved, reason
  trades.parquet   symbol, quantity (signed by side), entry_time, entry_price, exit_time, exit_price,
                   pnl (net of commissions), commission, strategy; times timestamp[ns, UTC]
  equity.parquet   time (bar start, timestamp[ns, UTC]), equity, cash, positions_value, gross_exposure
  metrics.json     optional: the engine's performance metrics and the stats
  report.txt       optional: the human-readable backtest report
A run with no trades is valid: its trades.parquet has the columns and no rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workstation.errors import DataError
from workstation.execution.stats import compute_stats
from workstation.model.trading import Trade

log = logging.getLogger(__name__)

TRADE_COLUMNS = (
    "symbol",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "commission",
    "strategy",
)
EQUITY_COLUMNS = ("time", "equity", "cash", "positions_value", "gross_exposure")
SIGNAL_COLUMNS = (
    "time",
    "symbol",
    "strategy",
    "action",
    "quantity",
    "price",
    "confidence",
    "approved",
    "reason",
)
DEFAULT_STARTING_CASH = 100_000.0
DEFAULT_TIMEZONE = "America/New_York"


def _ns_to_utc(values: Sequence[int] | np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ns", utc=True)


def trades_frame(trades: Iterable[Trade]) -> pd.DataFrame:
    """Trades as a DataFrame with TRADE_COLUMNS; times datetime64[ns, UTC] (empty frame when none)."""
    rows = list(trades)
    return pd.DataFrame(
        {
            "symbol": pd.Series([t.symbol for t in rows], dtype="string"),
            "quantity": np.array([t.quantity for t in rows], dtype=np.float64),
            "entry_time": _ns_to_utc([t.entry_time for t in rows]),
            "entry_price": np.array([t.entry_price for t in rows], dtype=np.float64),
            "exit_time": _ns_to_utc([t.exit_time for t in rows]),
            "exit_price": np.array([t.exit_price for t in rows], dtype=np.float64),
            "pnl": np.array([t.pnl for t in rows], dtype=np.float64),
            "commission": np.array([t.commission for t in rows], dtype=np.float64),
            "strategy": pd.Series([t.strategy for t in rows], dtype="string"),
        }
    )


def equity_frame(
    time_ns: np.ndarray,
    equity: np.ndarray,
    cash: np.ndarray,
    positions_value: np.ndarray,
    gross_exposure: np.ndarray,
) -> pd.DataFrame:
    """Equity curve frame with EQUITY_COLUMNS from aligned arrays (time: int64 ns UTC bar starts)."""
    return pd.DataFrame(
        {
            "time": _ns_to_utc(time_ns),
            "equity": np.asarray(equity, dtype=np.float64).copy(),
            "cash": np.asarray(cash, dtype=np.float64).copy(),
            "positions_value": np.asarray(positions_value, dtype=np.float64).copy(),
            "gross_exposure": np.asarray(gross_exposure, dtype=np.float64).copy(),
        }
    )


@dataclass
class RunResults:
    """A backtest run loaded from its folder: config, trades, equity curve, statistics, signals."""

    run_dir: Path
    config: dict[str, Any]
    trades: pd.DataFrame
    equity: pd.DataFrame
    stats: dict[str, Any]
    signals: pd.DataFrame | None = None
    metrics: dict[str, Any] | None = None
    report: str | None = None

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


def _starting_cash(config: dict[str, Any], source: Path) -> float:
    execution = config.get("execution") or {}
    value = execution.get("starting_cash", DEFAULT_STARTING_CASH) if isinstance(execution, dict) else None
    try:
        cash = float(value)
    except (TypeError, ValueError):
        cash = float("nan")
    if not cash > 0:
        raise DataError(f"{source}: execution.starting_cash must be a positive number, got {value!r}")
    return cash


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold a JSON object, found {type(data).__name__}")
    return data


def _read_parquet(path: Path, required: Sequence[str], time_columns: Sequence[str]) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"cannot read {path}: {exc}") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {missing}; found {list(df.columns)}")
    for col in time_columns:
        try:
            t = pd.to_datetime(df[col])
            df[col] = t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: column {col!r} is not a timestamp column ({exc})") from exc
    return df


def load_run(run_dir: str | Path) -> RunResults:
    """Load a run folder (see the module docstring); DataError names the folder or file at fault."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist or is not a folder")
    for name in ("config.json", "trades.parquet", "equity.parquet"):
        if not (run_dir / name).exists():
            raise DataError(f"run folder {run_dir} has no {name}: it is not a complete backtest run")
    config = _read_json(run_dir / "config.json")
    trades = _read_parquet(run_dir / "trades.parquet", TRADE_COLUMNS, ("entry_time", "exit_time"))
    equity = _read_parquet(run_dir / "equity.parquet", EQUITY_COLUMNS, ("time",))
    trades = trades.sort_values(["entry_time", "symbol"], kind="mergesort").reset_index(drop=True)
    equity = equity.sort_values("time", kind="mergesort").reset_index(drop=True)
    signals = None
    if (run_dir / "signals.parquet").exists():
        signals = _read_parquet(run_dir / "signals.parquet", ("time", "symbol"), ("time",))
    metrics = _read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else None
    report = None
    if (run_dir / "report.txt").is_file():
        try:
            report = (run_dir / "report.txt").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read {run_dir / 'report.txt'}: {exc}") from exc
    tz = str(config.get("timezone") or DEFAULT_TIMEZONE)
    try:
        stats = compute_stats(equity, trades, _starting_cash(config, run_dir / "config.json"), tz)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"cannot compute statistics of run {run_dir}: {exc}") from exc
    log.info("loaded run %s: %d trades, %d equity points", run_dir, len(trades), len(equity))
    return RunResults(run_dir, config, trades, equity, stats, signals, metrics, report)
