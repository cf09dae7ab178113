"""The Bar value type and the int64-nanosecond UTC timestamps the engine uses everywhere.

A bar's `timestamp` is its START: a 1m bar stamped 09:30 covers [09:30, 09:31) and is known
only at 09:31 (its end). Engine timestamps are int nanoseconds since the epoch, UTC.
pandas is imported by the conversions that use it (the config model imports this package).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

NS_PER_MINUTE = 60_000_000_000
NS_PER_SECOND = 1_000_000_000


class Bar(NamedTuple):
    """One OHLCV bar; `timestamp` is the bar start in int ns UTC."""

    symbol: str
    interval: str
    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def time(self) -> pd.Timestamp:
        """Bar start as a UTC pandas Timestamp."""
        return ns_to_ts(self.timestamp)


def ns_to_ts(ns: int, tz: str | None = "UTC") -> pd.Timestamp:
    """int ns since epoch -> tz-aware Timestamp (UTC unless another zone is asked)."""
    import pandas as pd

    ts = pd.Timestamp(int(ns), unit="ns", tz="UTC")
    return ts if tz in (None, "UTC") else ts.tz_convert(tz)


def ts_to_ns(ts) -> int:
    """A tz-aware Timestamp/datetime/ISO string -> int ns UTC; naive input is rejected."""
    import pandas as pd

    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        raise ValueError(f"naive timestamp {ts!r}: give a time zone (engine times are UTC)")
    return int(t.tz_convert("UTC").value)


def ns_array(values) -> np.ndarray:
    """A datetime-like column (tz-aware Series/Index/array, any unit) -> int64 ns UTC array."""
    import pandas as pd

    idx = pd.DatetimeIndex(values)
    if idx.tz is None:
        raise ValueError("naive timestamps: engine times must be tz-aware (UTC)")
    return np.asarray(idx.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
