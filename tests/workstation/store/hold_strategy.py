"""A buy-and-hold strategy for the split tests (loaded by import path)."""

from __future__ import annotations

import numpy as np

from workstation.model import Action, Signal
from workstation.strategies import BaseStrategy


class BuyAndHold(BaseStrategy):
    """Buys `quantity` of each symbol at its first bar and never sells."""

    def __init__(self, name, symbols, interval, quantity: float = 70):
        super().__init__(name, symbols, interval, quantity=quantity)
        self.quantity = float(quantity)
        self._bought: set[str] = set()

    def on_bars(self, ctx, sym_idx: np.ndarray):
        out = []
        closes = ctx.closes(self.interval)
        for i in sym_idx.tolist():
            symbol = ctx.symbols[i]
            if symbol in self._bought:
                continue
            self._bought.add(symbol)
            out.append(Signal(symbol, Action.BUY, self.quantity, closes.item(i), ctx.now_ns, self.name))
        return out
