"""Known-empty minutes: bar times a symbol did not trade, so no bar will ever come for them.

IEX (and SIP for thin symbols) sends a minute bar only when a trade happened. A minute missing from
the stream could be lost (a dropped connection) or empty (no trade); the provider's history tells
them apart. Once a history answer covering a bar time has no bar for a symbol, that (symbol, bar
time) is known empty: quality still counts it missing, exactly as a backtest of the same data does,
the gap list shows it as "no trades" instead of failed, and no history request ever asks for it
again.

A bar time counts as known empty only if it ended at least `settle_ns` (live clock) before the
answer was asked for, so a history service still building the latest minute is not taken at its
word. A bar that arrives later for a known-empty bar time (a correction) removes it.

Bar times are bar STARTS in int ns UTC. Thread-safe: the live coordinator (catch-up, late bars)
and the gap filler use it concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

HISTORY_SETTLE_NS = 10_000_000_000


class KnownEmptyMinutes:
    """Per symbol, the set of bar starts confirmed empty by history."""

    def __init__(self, step_ns: int, settle_ns: int = HISTORY_SETTLE_NS):
        if step_ns <= 0:
            raise ValueError(f"step_ns must be positive, got {step_ns}")
        if settle_ns < 0:
            raise ValueError(f"settle_ns must be >= 0, got {settle_ns}")
        self.step_ns = int(step_ns)
        self.settle_ns = int(settle_ns)
        self._empty: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def record_answer(self, symbol: str, start_ns: int, end_ns: int, bar_starts: Iterable[int],
                      asked_at_ns: int) -> list[int]:
        """A history answer for bar starts in [start_ns, end_ns) held `bar_starts`: every other bar
        time of the range that had ended `settle_ns` before `asked_at_ns` is known empty.

        Returns the bar starts of the range that are still unresolved (no bar, not settled).
        """
        step = self.step_ns
        first = start_ns + (-start_ns) % step
        have = set(bar_starts)
        settled_before = asked_at_ns - self.settle_ns      # a bar time whose END is before this
        empty, unresolved = [], []
        for ts in range(first, end_ns, step):
            if ts in have:
                continue
            if ts + step <= settled_before:
                empty.append(ts)
            else:
                unresolved.append(ts)
        if empty:
            with self._lock:
                self._empty.setdefault(symbol, set()).update(empty)
        return unresolved

    def is_empty(self, symbol: str, start_ns: int) -> bool:
        with self._lock:
            bucket = self._empty.get(symbol)
            return bucket is not None and start_ns in bucket

    def unknown(self, symbol: str, starts: Iterable[int]) -> list[int]:
        """The bar starts among `starts` not known empty, in the given order."""
        with self._lock:
            bucket = self._empty.get(symbol)
            if not bucket:
                return list(starts)
            return [t for t in starts if t not in bucket]

    def count_between(self, symbol: str, first_ns: int, last_ns: int) -> int:
        """Known-empty bar starts of `symbol` in [first_ns, last_ns] (both inclusive)."""
        with self._lock:
            bucket = self._empty.get(symbol)
            return sum(1 for t in bucket if first_ns <= t <= last_ns) if bucket else 0

    def forget(self, symbol: str, start_ns: int) -> bool:
        """A bar came for this bar time after all; True if it had been known empty."""
        with self._lock:
            bucket = self._empty.get(symbol)
            if bucket is None or start_ns not in bucket:
                return False
            bucket.discard(start_ns)
            return True

    def counts(self) -> dict[str, int]:
        """{symbol: known-empty bar times} for the symbols that have any."""
        with self._lock:
            return {s: len(b) for s, b in self._empty.items() if b}

    def clear(self) -> None:
        """Forget everything (a new session)."""
        with self._lock:
            self._empty.clear()
