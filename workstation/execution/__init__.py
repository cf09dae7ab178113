"""Execution: the simulated broker, backtest statistics and the results frames."""

from workstation.execution.broker import OpenPosition, PendingOrder, SimulatedBroker
from workstation.execution.results import equity_frame, trades_frame
from workstation.execution.stats import compute_stats, drawdown_series

__all__ = [
    "OpenPosition",
    "PendingOrder",
    "SimulatedBroker",
    "compute_stats",
    "drawdown_series",
    "equity_frame",
    "trades_frame",
]
