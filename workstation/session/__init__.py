"""SessionData: the in-memory store of one run's bars, session metrics, quality, historical data and quotes."""

from workstation.session.session_data import (
    BarOrderError,
    SessionData,
    UnknownIntervalError,
    UnknownSymbolError,
    default_capacity,
)
from workstation.session.views import BarsView, LatestBars, Quote, SessionMetrics, SessionMetricsArrays

__all__ = [
    "BarOrderError",
    "BarsView",
    "LatestBars",
    "Quote",
    "SessionData",
    "SessionMetrics",
    "SessionMetricsArrays",
    "UnknownIntervalError",
    "UnknownSymbolError",
    "default_capacity",
]
