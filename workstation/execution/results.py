"""Backtest results as frames, and loading a run folder back (for the results view and reports).

A run folder holds:
  config.json      the session config that ran (JSON object)
  bars.parquet     the streamed bars (not read here)
  quality.parquet  bar quality per symbol (not read here)
  signals.parquet  optional (a file or a folder of parts): time, symbol, strategy, action, quantity,
                   price, confidence, approved, reason
  trades.parquet   symbol, quantity (signed by side), entry_time, entry_price, exit_time, exit_price,
                   pnl (net of commissions), commission, strategy; times timestamp[ns, UTC]
  equity.parquet   time (bar start, timestamp[ns, UTC]), equity, cash, positions_value, gross_exposure,
                   margin_used, buying_power, open_orders (the last three in runs made since orders came)
  orders.parquet   optional (a folder of parts): every order with its final status (ORDER_COLUMNS)
  fills.parquet    optional (a folder of parts): every fill (FILL_COLUMNS)
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
from workstation.model.trading import Fill, Trade

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
ACCOUNT_COLUMNS = ("margin_used", "buying_power", "open_orders")  # in equity.parquet since orders came
ORDER_COLUMNS = ("id", "parent_id", "oco_group", "role", "symbol", "type", "side", "quantity", "filled_quantity",
                 "avg_fill_price", "limit_price", "stop_price", "trail_amount", "trail_percent", "tif",
                 "submitted_at", "status", "status_time", "reason", "strategy", "tag")
FILL_COLUMNS = ("time", "order_id", "symbol", "side", "quantity", "price", "commission", "strategy")
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
    margin_used: np.ndarray | None = None,
    buying_power: np.ndarray | None = None,
    open_orders: np.ndarray | None = None,
) -> pd.DataFrame:
    """Equity curve frame with EQUITY_COLUMNS (and the account columns margin_used, buying_power,
    open_orders when given) from aligned arrays (time: int64 ns UTC bar starts)."""
    columns = {
        "time": _ns_to_utc(time_ns),
        "equity": np.asarray(equity, dtype=np.float64).copy(),
        "cash": np.asarray(cash, dtype=np.float64).copy(),
        "positions_value": np.asarray(positions_value, dtype=np.float64).copy(),
        "gross_exposure": np.asarray(gross_exposure, dtype=np.float64).copy(),
    }
    if margin_used is not None:
        columns["margin_used"] = np.asarray(margin_used, dtype=np.float64).copy()
    if buying_power is not None:
        columns["buying_power"] = np.asarray(buying_power, dtype=np.float64).copy()
    if open_orders is not None:
        columns["open_orders"] = np.asarray(open_orders).astype(np.int64)
    return pd.DataFrame(columns)


def _optional(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def orders_frame(orders: Iterable) -> pd.DataFrame:
    """Orders (workstation.execution.orders.Order snapshots) as orders.parquet rows (ORDER_COLUMNS).

    Prices an order type does not have are NaN; submitted_at and status_time are UTC timestamps
    (submission: the clock time; status_time: when the order reached its status)."""
    rows = list(orders)
    return pd.DataFrame(
        {
            "id": np.array([o.id for o in rows], dtype=np.int64),
            "parent_id": pd.array([o.parent_id for o in rows], dtype="Int64"),
            "oco_group": pd.array([o.oco_group for o in rows], dtype="Int64"),
            "role": pd.Series([o.role.value for o in rows], dtype="string"),
            "symbol": pd.Series([o.symbol for o in rows], dtype="string"),
            "type": pd.Series([o.order_type.value for o in rows], dtype="string"),
            "side": pd.Series(["buy" if o.quantity > 0 else "sell" for o in rows], dtype="string"),
            "quantity": np.array([o.quantity for o in rows], dtype=np.float64),
            "filled_quantity": np.array([o.filled_quantity for o in rows], dtype=np.float64),
            "avg_fill_price": np.array([o.avg_fill_price for o in rows], dtype=np.float64),
            "limit_price": _optional([o.limit_price for o in rows]),
            "stop_price": _optional([o.stop_price for o in rows]),
            "trail_amount": _optional([o.trail_amount for o in rows]),
            "trail_percent": _optional([o.trail_percent for o in rows]),
            "tif": pd.Series([o.tif.value for o in rows], dtype="string"),
            "submitted_at": _ns_to_utc([o.submitted_at for o in rows]),
            "status": pd.Series([o.status.value for o in rows], dtype="string"),
            "status_time": _ns_to_utc([o.status_time for o in rows]),
            "reason": pd.Series([o.reason for o in rows], dtype="string"),
            "strategy": pd.Series([o.strategy for o in rows], dtype="string"),
            "tag": pd.Series([o.tag for o in rows], dtype="string"),
        }
    )


def fills_frame(fills: Iterable[Fill], symbols: Sequence[str] | None = None) -> pd.DataFrame:
    """Fills as fills.parquet rows (FILL_COLUMNS): time is the bar start of the fill bar (UTC)."""
    rows = list(fills)
    return pd.DataFrame(
        {
            "time": _ns_to_utc([f.time for f in rows]),
            "order_id": np.array([f.order_id for f in rows], dtype=np.int64),
            "symbol": pd.Series([f.symbol for f in rows], dtype="string"),
            "side": pd.Series(["buy" if f.quantity > 0 else "sell" for f in rows], dtype="string"),
            "quantity": np.array([f.quantity for f in rows], dtype=np.float64),
            "price": np.array([f.price for f in rows], dtype=np.float64),
            "commission": np.array([f.commission for f in rows], dtype=np.float64),
            "strategy": pd.Series([f.strategy for f in rows], dtype="string"),
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
    orders: pd.DataFrame | None = None      # orders.parquet (runs made since orders came)
    fills: pd.DataFrame | None = None       # fills.parquet

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
    orders = fills = None
    if (run_dir / "orders.parquet").exists():
        orders = _read_parquet(run_dir / "orders.parquet", ("id", "symbol", "status"), ("submitted_at", "status_time"))
        orders = orders.sort_values("id", kind="mergesort").reset_index(drop=True)
    if (run_dir / "fills.parquet").exists():
        fills = _read_parquet(run_dir / "fills.parquet", ("time", "symbol", "quantity", "price"), ("time",))
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
    return RunResults(run_dir, config, trades, equity, stats, signals, metrics, report, orders, fills)
