"""The chart's bars: growable columnar arrays, the forming bar, and the time <-> x mapping.

Timestamps are int64 ns UTC bar STARTS. Completed bar ``i`` is drawn centred at x = ``i`` and spans
[i - 0.5, i + 0.5); the forming bar, when there is one, sits at x = ``n``. Exchange wall-clock times
(``local_ns``) are kept beside the UTC times for axis labels and day boundaries. UI thread only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from ui.widgets.chart.formatting import NS_PER_DAY, NS_PER_MINUTE

_OFFSET_BUCKET_NS = 15 * NS_PER_MINUTE  # every real zone changes offset on a 15-minute boundary


class UtcOffsets:
    """UTC offsets (ns) of an exchange zone, looked up per 15-minute bucket and cached."""

    def __init__(self, zone: ZoneInfo):
        self._zone = zone
        self._cache: dict[int, int] = {}

    def offset_ns(self, ts_ns: int) -> int:
        """Offset of the zone at UTC instant ``ts_ns``."""
        bucket = ts_ns // _OFFSET_BUCKET_NS
        off = self._cache.get(bucket)
        if off is None:
            when = datetime.fromtimestamp(bucket * (_OFFSET_BUCKET_NS // 1_000_000_000), tz=UTC)
            delta = when.astimezone(self._zone).utcoffset()
            off = int(delta.total_seconds()) * 1_000_000_000 if delta is not None else 0
            self._cache[bucket] = off
        return off

    def local_ns(self, ts: np.ndarray) -> np.ndarray:
        """Exchange wall-clock time (ns since the local epoch) of UTC instants ``ts``."""
        if len(ts) == 0:
            return np.zeros(0, dtype=np.int64)
        buckets, inverse = np.unique(ts // _OFFSET_BUCKET_NS, return_inverse=True)
        offsets = np.array([self.offset_ns(int(b) * _OFFSET_BUCKET_NS) for b in buckets], dtype=np.int64)
        return ts + offsets[inverse]


@dataclass
class FormingBar:
    """The partial bar of a derived interval, drawn after the last completed bar."""

    ts: int
    local_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class ChartBars:
    """Growable columnar bar arrays; append is amortised O(1) by capacity doubling.

    Also tracks the start of the newest exchange day and the close before it (the title's change).
    """

    def __init__(self, offsets: UtcOffsets, capacity: int = 1024):
        self._offsets = offsets
        self.n = 0
        self.reallocations = 0
        self.forming: FormingBar | None = None
        self.day_start = 0
        self.prev_day_close = math.nan
        self._axis_cache = np.zeros(0, dtype=np.int64)
        self._allocate(capacity)
        self._reset_extremes()

    def _allocate(self, capacity: int) -> None:
        self.ts = np.zeros(capacity, dtype=np.int64)
        self.local_ns = np.zeros(capacity, dtype=np.int64)
        self.open = np.zeros(capacity, dtype=np.float64)
        self.high = np.zeros(capacity, dtype=np.float64)
        self.low = np.zeros(capacity, dtype=np.float64)
        self.close = np.zeros(capacity, dtype=np.float64)
        self.volume = np.zeros(capacity, dtype=np.float64)

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self.ts, self.local_ns, self.open, self.high, self.low, self.close, self.volume)

    def _reset_extremes(self) -> None:
        self.low_min = math.inf
        self.high_max = -math.inf
        self.volume_max = 0.0

    @property
    def capacity(self) -> int:
        """Number of bars the arrays can hold before the next reallocation."""
        return len(self.ts)

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * self.capacity)
        old = self._columns()
        self._allocate(capacity)
        for new_arr, old_arr in zip(self._columns(), old, strict=True):
            new_arr[: self.n] = old_arr[: self.n]
        self.reallocations += 1

    def replace(self, ts, o, h, low, c, v) -> None:
        """Replace every bar with the given arrays (already validated)."""
        n = len(ts)
        self._allocate(max(1024, 1 << max(0, (n - 1).bit_length()) if n else 1024))
        self.n = n
        self.ts[:n] = ts
        self.local_ns[:n] = self._offsets.local_ns(ts)
        self.open[:n] = o
        self.high[:n] = h
        self.low[:n] = low
        self.close[:n] = c
        self.volume[:n] = v
        self._reset_extremes()
        if n:
            self.low_min = float(np.min(low))
            self.high_max = float(np.max(h))
            self.volume_max = float(np.max(v))
        if self.forming is not None and n and self.forming.ts <= int(self.ts[n - 1]):
            self.forming = None
        self.day_start = 0
        self.prev_day_close = math.nan
        if n:
            days = self.local_ns[:n] // NS_PER_DAY
            starts = np.flatnonzero(days[1:] != days[:-1]) + 1
            if len(starts):
                self.day_start = int(starts[-1])
                self.prev_day_close = float(self.close[self.day_start - 1])

    def append(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Append one completed bar."""
        if self.n == self.capacity:
            self._grow(self.n + 1)
        i = self.n
        self.ts[i] = ts
        self.local_ns[i] = ts + self._offsets.offset_ns(ts)
        self.open[i] = o
        self.high[i] = h
        self.low[i] = low
        self.close[i] = c
        self.volume[i] = v
        self.n = i + 1
        self.low_min = min(self.low_min, low)
        self.high_max = max(self.high_max, h)
        self.volume_max = max(self.volume_max, v)
        if i > 0 and self.local_ns[i] // NS_PER_DAY != self.local_ns[i - 1] // NS_PER_DAY:
            self.prev_day_close = float(self.close[i - 1])
            self.day_start = i
        if self.forming is not None and self.forming.ts <= ts:
            self.forming = None

    def extend(self, ts: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray,
               v: np.ndarray) -> None:
        """Append completed bars at once (already validated: ascending, after the last bar); the same
        state as appending them one by one, in a few numpy calls."""
        k = len(ts)
        if not k:
            return
        first = self.n
        end = first + k
        if end > self.capacity:
            self._grow(end)
        self.ts[first:end] = ts
        local = self._offsets.local_ns(ts)
        self.local_ns[first:end] = local
        self.open[first:end] = o
        self.high[first:end] = h
        self.low[first:end] = low
        self.close[first:end] = c
        self.volume[first:end] = v
        self.n = end
        self.low_min = min(self.low_min, float(np.min(low)))
        self.high_max = max(self.high_max, float(np.max(h)))
        self.volume_max = max(self.volume_max, float(np.max(v)))
        lo = max(first - 1, 0)
        days = self.local_ns[lo:end] // NS_PER_DAY
        starts = np.flatnonzero(days[1:] != days[:-1]) + 1 + lo
        if len(starts):
            self.day_start = int(starts[-1])
            self.prev_day_close = float(self.close[self.day_start - 1])
        if self.forming is not None and self.forming.ts <= int(ts[-1]):
            self.forming = None

    def set_forming(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Set the partial bar shown after the last completed one."""
        self.forming = FormingBar(ts, ts + self._offsets.offset_ns(ts), o, h, low, c, v)

    def clear(self) -> None:
        """Drop every bar and the forming bar (keeps the allocation)."""
        self.n = 0
        self.forming = None
        self.day_start = 0
        self.prev_day_close = math.nan
        self._reset_extremes()

    @property
    def last_x(self) -> int:
        """x of the newest bar (the forming one when shown); -1 when there is none."""
        return self.n if self.forming is not None else self.n - 1

    def index_at(self, ts: int) -> int:
        """Index of the bar whose start is the greatest <= ts (-1 before the first bar; the forming
        bar's index ``n`` when ts is at or after its start)."""
        if self.forming is not None and ts >= self.forming.ts:
            return self.n
        return int(np.searchsorted(self.ts[: self.n], ts, side="right")) - 1

    def day_start_of(self, i: int) -> int:
        """First index of the exchange day of bar i."""
        local = self.local_ns
        day = local[i] // NS_PER_DAY
        lo = max(0, i - 4096)
        while lo > 0 and local[lo] // NS_PER_DAY == day:
            lo = max(0, lo - 4096)
        seg = local[lo : i + 1] // NS_PER_DAY
        return lo + int(np.searchsorted(seg, day, side="left"))

    def axis_times(self) -> tuple[np.ndarray, int]:
        """Exchange wall-clock times of the completed bars and the forming one, and their count."""
        f = self.forming
        if f is None:
            return self.local_ns, self.n
        n = self.n
        cache = self._axis_cache
        if len(cache) < n + 1 or cache[n] != f.local_ns or (n and cache[n - 1] != self.local_ns[n - 1]):
            if len(cache) < n + 1:
                cache = self._axis_cache = np.zeros(max(1024, 2 * (n + 1)), dtype=np.int64)
            cache[:n] = self.local_ns[:n]
            cache[n] = f.local_ns
        return cache, n + 1

    def median_step_ns(self) -> int:
        """Typical spacing of the newest bars (ns); 0 with fewer than two bars."""
        n = self.n
        if n > 1:
            return int(np.median(np.diff(self.ts[max(0, n - 65) : n])))
        if self.forming is not None and n == 1:
            return int(self.forming.ts - self.ts[0])
        return 0


class TimeMap:
    """Maps times (ns UTC) to chart x and back, so drawings keep their place on any interval.

    A time inside bar ``i`` maps to ``i - 0.5 + fraction of the bar elapsed``; times after the newest
    bar (or before the first) are extrapolated by the bar duration, so a line drawn into the empty
    space right of the newest bar keeps its time as bars arrive.
    """

    def __init__(self, bars: ChartBars):
        self._bars = bars
        self.bar_ns = 0  # the interval's duration; the median bar spacing when not given

    def _duration(self) -> int:
        return self.bar_ns or self._bars.median_step_ns() or NS_PER_MINUTE

    def _starts(self) -> tuple[np.ndarray, int]:
        b = self._bars
        if b.forming is None:
            return b.ts[: b.n], b.n
        return np.append(b.ts[: b.n], b.forming.ts), b.n + 1

    def x_of(self, ts: int) -> float:
        """Chart x of a time."""
        starts, n = self._starts()
        dur = self._duration()
        if n == 0:
            return 0.0
        if ts < starts[0]:
            return -0.5 + (ts - int(starts[0])) / dur
        i = int(np.searchsorted(starts, ts, side="right")) - 1
        frac = (ts - int(starts[i])) / dur
        if i < n - 1:
            frac = min(frac, 1.0 - 1e-9)
        return i - 0.5 + frac

    def time_of(self, x: float) -> int:
        """Time (ns UTC) at chart x."""
        starts, n = self._starts()
        dur = self._duration()
        if n == 0:
            return 0
        i = math.floor(x + 0.5)
        if i < 0:
            return int(starts[0]) + round((x + 0.5) * dur)
        if i >= n:
            return int(starts[n - 1]) + round((x - (n - 1) + 0.5) * dur)
        return int(starts[i]) + round((x + 0.5 - i) * dur)
