"""Columnar storage blocks behind SessionData: one block of 2-D arrays per interval.

A block holds [n_symbols, capacity] arrays (timestamp int64 ns UTC = bar START; open, high, low,
close, volume float64). Blocks are never resized in place: growing, inserting a late bar, adding
symbols and clearing the session build NEW blocks, so numpy views that readers already hold stay
valid and unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from workstation.session.views import BAR_FIELDS

INT64_MIN = np.iinfo(np.int64).min
NO_ENTRY: tuple[Any, Any] = (None, None)
NO_VIEW: tuple[Any, int, Any] = (None, -1, None)


class BarBlock:
    """The bars of every symbol for one interval; row s is symbol s, slots < count are published."""

    __slots__ = ("n_symbols", "capacity", "columns", "flat", "rows")

    def __init__(self, n_symbols: int, capacity: int):
        self.n_symbols = n_symbols
        self.capacity = capacity
        self.columns: tuple[np.ndarray, ...] = tuple(
            # zeros, not empty: a snapshot leaves out the all-zero room for bars to come (snapshots._trimmed)
            np.zeros((n_symbols, capacity), dtype=np.int64 if name == "timestamp" else np.float64)
            for name in BAR_FIELDS
        )
        self.flat: tuple[np.ndarray, ...] = tuple(col.reshape(-1) for col in self.columns)
        # Per-row read-only 1-D views, built lazily by readers (list item stores are atomic).
        self.rows: list[tuple[np.ndarray, ...] | None] = [None] * n_symbols

    def row(self, s: int) -> tuple[np.ndarray, ...]:
        """Read-only 1-D views (timestamp, open, high, low, close, volume) of symbol row `s`."""
        r = self.rows[s]
        if r is None:
            views = []
            for col in self.columns:
                v = col[s]
                v.flags.writeable = False
                views.append(v)
            r = tuple(views)
            self.rows[s] = r
        return r

    def copy_to(self, n_symbols: int, capacity: int, used: int) -> BarBlock:
        """A new block with room for `n_symbols` x `capacity`, holding this block's first `used` slots."""
        new = BarBlock(n_symbols, capacity)
        rows = min(self.n_symbols, n_symbols)
        if used > 0 and rows > 0:
            for src, dst in zip(self.columns, new.columns, strict=True):
                dst[:rows, :used] = src[:rows, :used]
        return new


class FormingBlock:
    """The forming (partial) bar of each symbol of one derived interval; replaced, never mutated once published."""

    __slots__ = ("present", "columns", "start")

    def __init__(self, n_symbols: int):
        self.present = np.zeros(n_symbols, dtype=bool)
        # the bucket start shared by every present symbol when published whole (`publish_forming`),
        # else -1: lets the next publish of the same `present` array reuse the timestamp column
        self.start = -1
        self.columns: tuple[np.ndarray, ...] = tuple(
            np.full(n_symbols, -1, dtype=np.int64) if name == "timestamp" else np.full(n_symbols, np.nan)
            for name in BAR_FIELDS
        )

    def copy(self, n_symbols: int | None = None) -> FormingBlock:
        """A mutable copy (extended with empty entries up to `n_symbols`) for the writer to fill and publish."""
        n = self.present.shape[0] if n_symbols is None else n_symbols
        new = FormingBlock(n)
        k = min(n, self.present.shape[0])
        new.present[:k] = self.present[:k]
        for src, dst in zip(self.columns, new.columns, strict=True):
            dst[:k] = src[:k]
        return new


class IntervalState:
    """Everything SessionData keeps for one interval during one session (replaced at clear/add_symbols)."""

    __slots__ = (
        "name",
        "seconds",
        "lock",
        "block",
        "count",
        "count_list",
        "max_count",
        "aligned_count",
        "aligned_last_ts",
        "last_ts",
        "changes",
        "latest_cache",
        "view_cache",
        "forming",
        "empty_forming",
        "_latest",
        "quality",
        "is_metrics",
    )

    def __init__(
        self,
        name: str,
        seconds: int,
        lock: threading.Lock,
        symbols: list[str],
        capacity: int,
        is_metrics: bool,
        changes: np.ndarray | None = None,
    ):
        n_symbols = len(symbols)
        self.name = name
        self.seconds = seconds
        self.lock = lock
        self.block = BarBlock(n_symbols, capacity)
        self.count = np.zeros(n_symbols, dtype=np.int64)
        self.count_list: list[int] = [0] * n_symbols
        self.max_count = 0
        self.last_ts = np.full(n_symbols, INT64_MIN, dtype=np.int64)
        # k >= 0 when every symbol holds exactly k bars, the last of each starting at `aligned_last_ts`
        # (-1: not known); lets `append_bars` of every symbol skip the per-symbol order checks
        self.aligned_count = 0
        self.aligned_last_ts = INT64_MIN
        self.changes = np.zeros(n_symbols, dtype=np.int64) if changes is None else changes
        # symbol -> (latest snapshot it was built from, Bar | None); filled by readers.
        self.latest_cache: dict[str, tuple[Any, Any]] = dict.fromkeys(symbols, NO_ENTRY)
        # symbol -> (count list it was built from, n, BarsView of the last n bars); filled by readers.
        self.view_cache: dict[str, tuple[Any, int, Any]] = dict.fromkeys(symbols, NO_VIEW)
        # no forming bars: published as is after every completion (never mutated, like every FormingBlock)
        self.empty_forming = FormingBlock(n_symbols)
        self.forming = self.empty_forming
        # the latest-bar snapshot, built from the block when first read after a write (None: stale)
        self._latest: tuple[np.ndarray, np.ndarray] | None = None
        self.quality = np.full(n_symbols, 100.0)
        self.is_metrics = is_metrics


    @property
    def latest(self) -> tuple[np.ndarray, np.ndarray]:
        """The latest bar of every symbol (read-only): timestamps [n] (-1 = none) and values [5, n]
        (open..volume, NaN = none), i.e. each symbol's last stored bar. Published lazily: a write only
        marks it stale (`invalidate_latest`, under the interval lock); the first read after a write
        builds it from the block under the same lock, so a reader never sees half a write, and the
        same snapshot object is returned until the next write."""
        snapshot = self._latest
        if snapshot is None:
            with self.lock:
                snapshot = self._latest
                if snapshot is None:
                    snapshot = self._latest = latest_of_block(self.block, self.count)
        return snapshot

    def invalidate_latest(self) -> None:
        """A write changed the last bar of some symbol (the caller holds the interval lock)."""
        self._latest = None


def latest_of_block(block: BarBlock, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read-only latest-bar arrays of the bars published in `block` (`count` per symbol)."""
    n = count.shape[0]
    if n and count.min() == count.max() > 0:
        # every symbol at the same position (the dense case): one strided column per field, cheaper than a
        # gather across rows that lie a whole block row apart
        last = int(count[0]) - 1
        ts = block.columns[0][:, last].copy()
        values = np.empty((5, n))
        for k in range(5):
            values[k] = block.columns[k + 1][:, last]
        freeze(ts, values)
        return ts, values
    has = count > 0
    flat = np.arange(n, dtype=np.int64) * block.capacity
    flat += count
    flat -= 1
    flat[~has] = 0
    ts = block.flat[0][flat] if n else np.zeros(0, dtype=np.int64)
    values = np.empty((5, n))
    for k in range(5):
        values[k] = block.flat[k + 1][flat] if n else values[k]
    if not has.all():
        ts[~has] = -1
        values[:, ~has] = np.nan
    freeze(ts, values)
    return ts, values


# Rows of the session-metrics array (shape [5, n_symbols], float64, read-only once published);
# PV is the sum of typical price x volume, VWAP = PV / VOLUME is derived by readers.
M_VOLUME, M_HIGH, M_LOW, M_LAST, M_PV = range(5)


def new_metrics(n_symbols: int, old: np.ndarray | None = None) -> np.ndarray:
    """A writable metrics array (volume/pv 0, prices NaN), holding `old`'s first columns if given."""
    m = np.full((5, n_symbols), np.nan)
    m[M_VOLUME] = 0.0
    m[M_PV] = 0.0
    if old is not None:
        k = min(n_symbols, old.shape[1])
        m[:, :k] = old[:, :k]
    return m


def new_latest(
    n_symbols: int, old: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Writable latest-bar arrays: timestamps [n] (-1 = none) and values [5, n] (open..volume, NaN = none)."""
    if old is not None and old[0].shape[0] == n_symbols:
        return old[0].copy(), old[1].copy()
    ts = np.full(n_symbols, -1, dtype=np.int64)
    vals = np.full((5, n_symbols), np.nan)
    if old is not None:
        k = min(n_symbols, old[0].shape[0])
        ts[:k] = old[0][:k]
        vals[:, :k] = old[1][:, :k]
    return ts, vals


def freeze(*arrays: np.ndarray) -> None:
    """Make arrays read-only before publishing them."""
    for a in arrays:
        a.flags.writeable = False
