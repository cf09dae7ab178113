"""Strategies for tests/integration/test_columnar_signals.py (loaded by class_path)."""

from __future__ import annotations

import numpy as np

from workstation.model import Action, Signal
from workstation.model.batches import SignalBatch
from workstation.strategies.sma_crossover import SmaCrossover


class ReferenceSma(SmaCrossover):
    """The SMA crossover as it was before columnar signals: the same crosses, one Signal object per
    signal built in a Python loop (the independent reference of the built-in's SignalBatch)."""

    def on_bars(self, ctx, sym_idx: np.ndarray):
        d = self._d(ctx, sym_idx)
        prev = self._prev_d[sym_idx]
        self._prev_d[sym_idx] = d
        up = (prev <= 0) & (d > 0)
        down = (prev >= 0) & (d < 0)
        hits = np.flatnonzero(up | down)
        if not len(hits):
            return None
        pos = ctx.positions()
        closes, starts, symbols = ctx.closes(self.interval), ctx.bar_starts(self.interval), ctx.symbols
        now, qty, name, conf = ctx.now_ns, self.quantity, self.name, self.confidence
        out = []
        for k in hits.tolist():
            i = sym_idx.item(k)
            held = pos.item(i)
            if up[k] and held == 0:
                action = Action.BUY
            elif down[k] and held == qty:
                action = Action.SELL
            else:
                continue
            out.append(Signal(symbols[i], action, qty, closes.item(i), now, name, conf,
                              {"bar_start": starts.item(i), "d": int(d[k]), "prev_d": int(prev[k])}))
        return out


class ListedSma(SmaCrossover):
    """The built-in crossover's batch turned into a list of its Signals (the object path)."""

    def on_bars(self, ctx, sym_idx: np.ndarray):
        batch = super().on_bars(ctx, sym_idx)
        return None if batch is None else list(batch)


class SpoiledBatchSma(SmaCrossover):
    """The built-in crossover's batch with every third row's price made NaN: such a batch takes the
    object path, which reports each bad row as a strategy error and decides the others."""

    def __init__(self, *args, as_list: bool = False, **kw):
        super().__init__(*args, **kw)
        self.as_list = as_list
        self.rows = 0
        self.emitted: list[tuple[int, str]] = []     # (time, symbol) of every row returned, in order

    def on_bars(self, ctx, sym_idx: np.ndarray):
        batch = super().on_bars(ctx, sym_idx)
        if batch is None:
            return None
        prices = np.array(batch.prices)               # an array column (the built-in gives lists)
        k = np.arange(self.rows, self.rows + len(prices))
        prices[k % 3 == 2] = np.nan
        self.rows += len(prices)
        self.emitted.extend((batch.time, batch.symbols[i]) for i in batch.symbol_indices)
        spoiled = SignalBatch(batch.strategy, batch.time, batch.symbols, batch.symbol_indices, batch.actions,
                              batch.quantities, prices, batch.confidences, batch.metadata)
        return list(spoiled) if self.as_list else spoiled
