"""Backtest results as frames: the trade list and the equity curve as the run folder stores them.

  trades   symbol, quantity (signed by side), entry_time, entry_price, exit_time, exit_price,
           pnl (net of commissions), commission, strategy; times timestamp[ns, UTC]
  equity   time (bar start, timestamp[ns, UTC]), equity, cash, positions_value, gross_exposure
A run with no trades is valid: its trades frame has the columns and no rows. Reading a run folder
back is workstation.runs (one reader for the results view, the reports and the Python API).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from workstation.model.trading import Trade

if TYPE_CHECKING:
    import pandas as pd
else:
    from workstation.lazy_modules import LazyModule

    pd = LazyModule("pandas")  # imported at first use: not on the path to a run's first bar

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


def trade_columns(trades: Sequence[Trade]) -> dict[str, list]:
    """`trades_frame`'s columns as lists (times int ns UTC), without pandas."""
    return {
        "symbol": [t.symbol for t in trades],
        "quantity": [t.quantity for t in trades],
        "entry_time": [t.entry_time for t in trades],
        "entry_price": [t.entry_price for t in trades],
        "exit_time": [t.exit_time for t in trades],
        "exit_price": [t.exit_price for t in trades],
        "pnl": [t.pnl for t in trades],
        "commission": [t.commission for t in trades],
        "strategy": [t.strategy for t in trades],
    }


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
