"""What the price pane draws for each bar: candles, a close line, or Heikin-Ashi candles.

`HeikinAshi` keeps the Heikin-Ashi OHLC of a `ChartBars` in arrays of the same capacity, updated in
O(1) per appended bar and recomputed (vectorised) when the bars are replaced:
close = (open + high + low + close) / 4, open = (previous HA open + previous HA close) / 2 (the first
bar: (open + close) / 2), high = max(high, HA open, HA close), low = min(low, HA open, HA close).
"""

from __future__ import annotations

import enum
import math

import numpy as np
import pandas as pd

from ui.widgets.chart.bar_store import ChartBars, FormingBar


class ChartType(enum.Enum):
    """How bars are drawn on the price pane."""

    CANDLES = "candles"
    LINE = "line"
    HEIKIN_ASHI = "heikin_ashi"

    @property
    def label(self) -> str:
        return {"candles": "Candles", "line": "Line", "heikin_ashi": "Heikin-Ashi"}[self.value]


class HeikinAshi:
    """Heikin-Ashi OHLC of a ChartBars (same attribute names, so candle items draw either)."""

    def __init__(self, bars: ChartBars):
        self._bars = bars
        self.n = 0
        self.low_min = math.inf
        self.high_max = -math.inf
        self._allocate(bars.capacity)

    def _allocate(self, capacity: int) -> None:
        self.open = np.zeros(capacity)
        self.high = np.zeros(capacity)
        self.low = np.zeros(capacity)
        self.close = np.zeros(capacity)

    def recompute(self) -> None:
        """Rebuild every bar from the chart's bars."""
        b = self._bars
        n = b.n
        if len(self.open) < b.capacity:
            self._allocate(b.capacity)
        self.n = n
        self.low_min, self.high_max = math.inf, -math.inf
        if n == 0:
            return
        o, h, lo, c = b.open[:n], b.high[:n], b.low[:n], b.close[:n]
        ha_close = (o + h + lo + c) / 4.0
        seed = np.concatenate(([(o[0] + c[0]) / 2.0], ha_close[:-1]))
        ha_open = pd.Series(seed).ewm(alpha=0.5, adjust=False).mean().to_numpy()
        self.open[:n] = ha_open
        self.close[:n] = ha_close
        self.high[:n] = np.maximum(h, np.maximum(ha_open, ha_close))
        self.low[:n] = np.minimum(lo, np.minimum(ha_open, ha_close))
        self.low_min = float(self.low[:n].min())
        self.high_max = float(self.high[:n].max())

    def sync(self) -> None:
        """Catch up with bars appended since the last call (O(1) per bar)."""
        b = self._bars
        if len(self.open) < b.capacity:
            grown = [np.zeros(b.capacity) for _ in range(4)]
            for new, old in zip(grown, (self.open, self.high, self.low, self.close), strict=True):
                new[: self.n] = old[: self.n]
            self.open, self.high, self.low, self.close = grown
        if b.n < self.n:
            self.recompute()
            return
        for i in range(self.n, b.n):
            self._one(i)
        self.n = b.n

    def _one(self, i: int) -> None:
        b = self._bars
        o, h, lo, c = float(b.open[i]), float(b.high[i]), float(b.low[i]), float(b.close[i])
        ha_c = (o + h + lo + c) / 4.0
        ha_o = (o + c) / 2.0 if i == 0 else (float(self.open[i - 1]) + float(self.close[i - 1])) / 2.0
        self.open[i], self.close[i] = ha_o, ha_c
        self.high[i] = high = max(h, ha_o, ha_c)
        self.low[i] = low = min(lo, ha_o, ha_c)
        self.low_min = min(self.low_min, low)
        self.high_max = max(self.high_max, high)

    def forming(self, bar: FormingBar | None) -> FormingBar | None:
        """The Heikin-Ashi form of the forming bar (after the last completed one)."""
        if bar is None:
            return None
        ha_c = (bar.open + bar.high + bar.low + bar.close) / 4.0
        n = self.n
        ha_o = (bar.open + bar.close) / 2.0 if n == 0 else (float(self.open[n - 1]) + float(self.close[n - 1])) / 2.0
        return FormingBar(
            bar.ts, bar.local_ns, ha_o, max(bar.high, ha_o, ha_c), min(bar.low, ha_o, ha_c), ha_c, bar.volume
        )
