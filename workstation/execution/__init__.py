"""Execution: the simulated broker, backtest statistics and run-folder results."""

from workstation.execution.broker import OpenPosition, PendingOrder, SimulatedBroker
from workstation.execution.results import RunResults, equity_frame, load_run, trades_frame
from workstation.execution.stats import compute_stats, drawdown_series

__all__ = [
    "OpenPosition",
    "PendingOrder",
    "RunResults",
    "SimulatedBroker",
    "compute_stats",
    "drawdown_series",
    "equity_frame",
    "load_run",
    "trades_frame",
]
