"""Built-in SMA crossover: buy on a fast-over-slow cross up when flat, sell on a cross down when long.

The cross is decided on the exact integer D = lcm(fast, slow)·10**d·(SMA_fast − SMA_slow), where
10**-d is the smallest price unit the symbol's data carries (`ctx.price_decimals()`: 2 on a $0.01
grid, 4 for 43.6551): D is an integer in exact arithmetic (for 5/20 on cents: D = 4·sum5 − sum20 in
cents = round(2000·(fast − slow))) and is recovered exactly from the float averages by rounding.
Comparing float SMAs directly, or on a grid coarser than the data's, gets ties (D = 0) and near-ties
wrong. Vectorised over every symbol with a bar at this bar time.
"""

from __future__ import annotations

import math

import numpy as np

from workstation.indicators.price_grid import POWERS_OF_TEN
from workstation.model import Action
from workstation.model.batches import SignalBatch
from workstation.strategies.base import BaseStrategy, StrategyContext


class SmaCrossover(BaseStrategy):
    """Long-only SMA crossover; `quantity` shares per entry."""

    def __init__(self, name: str, symbols, interval: str, fast: int = 5, slow: int = 20,
                 quantity: float = 100, confidence: float = 1.0):
        super().__init__(name, symbols, interval, fast=fast, slow=slow, quantity=quantity)
        if int(fast) <= 0 or int(slow) <= 0:
            raise ValueError(f"fast and slow must be positive, got fast={fast}, slow={slow}")
        if int(fast) >= int(slow):
            raise ValueError(f"fast ({fast}) must be shorter than slow ({slow})")
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        self.fast, self.slow, self.quantity = int(fast), int(slow), float(quantity)
        self.confidence = float(confidence)
        self.lcm = float(math.lcm(self.fast, self.slow))
        self._prev_d: np.ndarray = np.empty(0)  # D of each symbol's last bar, sized in on_start
        self._fast_spec, self._slow_spec = f"sma({self.fast})", f"sma({self.slow})"

    def required_indicators(self):
        return (f"sma({self.fast})", f"sma({self.slow})")

    def _d(self, ctx: StrategyContext, idx: np.ndarray) -> np.ndarray:
        fast = ctx.indicator_bank(self.interval, self._fast_spec)
        slow = ctx.indicator_bank(self.interval, self._slow_spec)
        scale = self.lcm * POWERS_OF_TEN[ctx.price_decimals()[idx]]
        d = np.rint(scale * (fast.values_at(idx) - slow.values_at(idx)))
        if slow.all_ready:
            return d
        return np.where(slow.ready_at(idx), d, np.nan)

    def on_start(self, ctx: StrategyContext) -> None:
        n = len(ctx.symbols)
        self._prev_d = np.full(n, np.nan)
        all_idx = np.arange(n, dtype=np.int64)
        # after warm-up the indicators hold the last stored bar: continue from its D
        self._prev_d[:] = self._d(ctx, all_idx)

    def on_bars_revised(self, ctx: StrategyContext, sym_idx: np.ndarray) -> None:
        self._prev_d[sym_idx] = self._d(ctx, sym_idx)

    def on_bars(self, ctx: StrategyContext, sym_idx: np.ndarray):
        d = self._d(ctx, sym_idx)
        prev = self._prev_d[sym_idx]
        self._prev_d[sym_idx] = d
        # a cross: up (prev <= 0 < d) or down (prev >= 0 > d), i.e. d != 0 and d·prev <= 0; comparisons
        # with NaN (not ready yet) are False, without a warning
        hits = ((d * prev <= 0) & (d != 0)).nonzero()[0]
        if not len(hits):
            return None
        pos = ctx.positions()
        closes, starts = ctx.closes(self.interval), ctx.bar_starts(self.interval)
        qty, buy, sell = self.quantity, Action.BUY, Action.SELL
        # one columnar batch (Python lists: a few rows), not a Signal per row
        rows: list[int] = []
        actions: list[Action] = []
        prices: list[float] = []
        bar_starts: list[int] = []
        ds: list[int] = []
        prev_ds: list[int] = []
        for i, d_k, prev_k in zip(sym_idx[hits].tolist(), d[hits].tolist(), prev[hits].tolist(), strict=True):
            held = pos.item(i)
            if d_k > 0:
                if held != 0:
                    continue
                actions.append(buy)
            elif held == qty:
                actions.append(sell)
            else:
                continue
            rows.append(i)
            prices.append(closes.item(i))
            bar_starts.append(starts.item(i))
            ds.append(int(d_k))
            prev_ds.append(int(prev_k))
        n = len(rows)
        if not n:
            return None
        return SignalBatch(self.name, ctx.now_ns, ctx.symbols, rows, tuple(actions), [qty] * n, prices,
                           [self.confidence] * n, {"bar_start": bar_starts, "d": ds, "prev_d": prev_ds})
