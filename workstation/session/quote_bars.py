"""Quote bars of the session being replayed: the latest COMPLETED bid/ask bar of each symbol.

A quote bar stamped t (bar START, int ns UTC) covers [t, t + bar) and becomes visible when the clock
reaches t + bar, exactly like a trade bar: no reader ever sees a quote bar before its end.

Threads: the coordinator's thread loads a session (`start_session`) and advances the clock
(`advance_to`, once per bar time, before the bar time's trade bars are handed to the stages);
the stages read between two advances (the bar-time handshake orders the two). Per bar time the
work is one binary search and one numpy scatter over the quote bars that became visible.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# the columns of QuoteSessionArrays.values, in the store's order (workstation/store/schema.py)
QUOTE_FIELDS = ("bid_open", "bid_high", "bid_low", "bid_close", "ask_open", "ask_high", "ask_low", "ask_close",
                "bid_size", "ask_size")


class QuoteSessionArrays(NamedTuple):
    """One session's quote bars as numpy arrays sorted by (timestamp, symbol_index); `values` is a
    (rows, 10) float64 array whose columns follow QUOTE_FIELDS; `timestamp` is the bar start, int ns UTC."""

    symbol_index: np.ndarray
    timestamp: np.ndarray
    values: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.timestamp.shape[0])


def empty_quote_arrays() -> QuoteSessionArrays:
    return QuoteSessionArrays(np.empty(0, np.int32), np.empty(0, np.int64), np.empty((0, len(QUOTE_FIELDS))))

FIELD_INDEX = {name: k for k, name in enumerate(QUOTE_FIELDS)}
BID_OPEN, BID_CLOSE = FIELD_INDEX["bid_open"], FIELD_INDEX["bid_close"]
ASK_OPEN, ASK_CLOSE = FIELD_INDEX["ask_open"], FIELD_INDEX["ask_close"]


class QuoteBar(NamedTuple):
    """One symbol's bid/ask bar: `timestamp` is its start (int ns UTC); prices per side; sizes at its close.

    `bid`, `ask` and `spread` are those of the bar's close (the quote in force at the bar's end).
    """

    timestamp: int
    bid_open: float
    bid_high: float
    bid_low: float
    bid_close: float
    ask_open: float
    ask_high: float
    ask_low: float
    ask_close: float
    bid_size: float
    ask_size: float

    @property
    def bid(self) -> float:
        return self.bid_close

    @property
    def ask(self) -> float:
        return self.ask_close

    @property
    def spread(self) -> float:
        """ask - bid at the bar's close (0 for a locked quote)."""
        return self.ask_close - self.bid_close

    @property
    def mid(self) -> float:
        return (self.ask_close + self.bid_close) / 2.0


class QuoteBars:
    """Per symbol, the latest completed quote bar of the session (NaN values and timestamp -1 before
    the first one); see the module docstring for threads and timing."""

    def __init__(self, symbol_count: int, bar_ns: int = 60_000_000_000) -> None:
        self.bar_ns = int(bar_ns)
        self._session: QuoteSessionArrays = empty_quote_arrays()
        self._cursor = 0
        self.latest = np.full((0, len(QUOTE_FIELDS)), np.nan)
        self.latest_ts = np.full(0, -1, dtype=np.int64)
        self.resize(symbol_count)
        self.delivered = 0            # quote bars made visible since the start

    def resize(self, symbol_count: int) -> None:
        """Grow (or start) the per-symbol arrays to `symbol_count` symbols, keeping what is held."""
        old = self.latest
        latest = np.full((symbol_count, len(QUOTE_FIELDS)), np.nan)
        latest_ts = np.full(symbol_count, -1, dtype=np.int64)
        k = min(len(old), symbol_count)
        latest[:k] = old[:k]
        if k:
            latest_ts[:k] = self.latest_ts[:k]
        self.latest = latest
        self.latest_ts = latest_ts

    def clear(self) -> None:
        """Forget the session's quote bars (at the session end)."""
        self.latest.fill(np.nan)
        self.latest_ts.fill(-1)
        self._session = empty_quote_arrays()
        self._cursor = 0

    def start_session(self, arrays: QuoteSessionArrays) -> None:
        """The session's quote bars, sorted by (timestamp, symbol index); none visible yet."""
        self.clear()
        self._session = arrays

    @property
    def session_rows(self) -> int:
        return self._session.rows

    def advance_to(self, clock_ns: int) -> None:
        """Make visible every quote bar whose end is at or before `clock_ns`."""
        session = self._session
        ts = session.timestamp
        start = self._cursor
        if start >= len(ts):
            return
        end = int(np.searchsorted(ts, clock_ns - self.bar_ns, side="right"))
        if end <= start:
            return
        sym = session.symbol_index[start:end]
        rows = np.arange(start, end)
        if ts[start] != ts[end - 1]:          # several minutes at once: keep each symbol's last bar
            rev = sym[::-1]
            _, first_rev = np.unique(rev, return_index=True)
            rows = end - 1 - first_rev
            sym = session.symbol_index[rows]
        self.latest[sym] = session.values[rows]
        self.latest_ts[sym] = ts[rows]
        self.delivered += end - start
        self._cursor = end

    def at_bar_time(self, ts_ns: int, symbol_index: np.ndarray) -> np.ndarray:
        """(rows, 10) values of the quote bars stamped exactly `ts_ns` of these symbols (NaN rows where a
        symbol has none); call after `advance_to(ts_ns + bar)`."""
        values = self.latest[symbol_index]
        missing = self.latest_ts[symbol_index] != ts_ns
        if missing.any():
            values[missing] = np.nan
        return values

    def latest_bar(self, symbol_index: int) -> QuoteBar | None:
        """The latest completed quote bar of one symbol this session, or None."""
        t = int(self.latest_ts[symbol_index])
        if t < 0:
            return None
        return QuoteBar(t, *(float(v) for v in self.latest[symbol_index]))
