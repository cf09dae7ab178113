"""User strategies loaded by import path in the tests ('tests.integration.strategies_for_tests:...')."""

from __future__ import annotations

import threading

from workstation.strategies import BaseStrategy

RECORDS: dict[str, list] = {}
_LOCK = threading.Lock()


class ClockRecorder(BaseStrategy):
    """Records, on every call, the clock and the end of every bar it can read (all intervals)."""

    def __init__(self, name, symbols, interval, key: str = "default", intervals=("1m", "5m", "15m")):
        super().__init__(name, symbols, interval)
        self.key = key
        self.intervals = list(intervals)
        with _LOCK:
            RECORDS[key] = []

    def on_bar(self, ctx, symbol, bar):
        from workstation.model import parse_interval

        now = ctx.now_ns
        seen = []
        for sym in ctx.symbols:
            for iv in self.intervals:
                latest = ctx.latest_bar(sym, iv)
                if latest is not None:
                    seen.append(latest.timestamp + parse_interval(iv).ns)
        RECORDS[self.key].append((now, max(seen) if seen else None, bar.timestamp, symbol))
        return None


class AlwaysRaises(BaseStrategy):
    """Raises on every bar (error isolation)."""

    def on_bar(self, ctx, symbol, bar):
        raise RuntimeError(f"boom on {symbol}")


class FailsInInit(BaseStrategy):
    def __init__(self, name, symbols, interval, **params):
        raise ValueError("this strategy refuses to start")


class NotAStrategy:
    pass
