"""Strategies used only by the benchmarks (loaded as 'bench_strategies:ClassName' with benchmarks/ on
sys.path)."""

from __future__ import annotations

import numpy as np

from workstation.strategies.sma_crossover import SmaCrossover


class SmaBracket(SmaCrossover):
    """The SMA 5/20 cross up as the entry, each entry a bracket: a market buy with a stop loss
    `stop_pct` % below and a take profit `target_pct` % above the signal close. Exits come only from
    the bracket. Vectorised like SmaCrossover; Python runs per entry only."""

    def __init__(self, name, symbols, interval, fast: int = 5, slow: int = 20, quantity: float = 100,
                 stop_pct: float = 0.3, target_pct: float = 0.6):
        super().__init__(name, symbols, interval, fast=fast, slow=slow, quantity=quantity)
        self.stop = 1.0 - stop_pct / 100.0
        self.target = 1.0 + target_pct / 100.0

    def on_bars(self, ctx, sym_idx: np.ndarray):
        d = self._d(ctx, sym_idx)
        prev = self._prev_d[sym_idx]
        self._prev_d[sym_idx] = d
        hits = np.flatnonzero((prev <= 0) & (d > 0))
        if not len(hits):
            return None
        pos = ctx.positions()
        closes, symbols = ctx.closes(self.interval), ctx.symbols
        for k in hits.tolist():
            i = sym_idx.item(k)
            if pos.item(i) != 0:
                continue
            symbol = symbols[i]
            if ctx.open_orders(symbol):
                continue
            close = closes.item(i)
            ctx.submit_order(symbol, self.quantity, "market", stop_loss=round(close * self.stop, 2),
                             take_profit=round(close * self.target, 2), tif="gtc")
        return None
