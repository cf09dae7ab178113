"""Built-in RSI mean reversion: buy when RSI falls below `oversold` while flat, exit when it
rises above `exit_level` (default 50) or `overbought`; optionally short above `overbought`.

Levels are compared on the Wilder averages, not on the rounded RSI value: RSI > level exactly when
(100 − level)·avg_gain > level·avg_loss. Equal averages (RSI exactly 50, e.g. after as many cents
up as down) or averages in a level's exact ratio then compare as equal instead of by float noise:
a margin within 1e-9 of the averages' scale counts as a tie (the averages are float Wilder
smoothings whose exact values have unbounded denominators, so this is the closest to exact they
allow). A flat series (no gains, no losses) has RSI 50: it neither buys, shorts nor exits at 50.
"""

from __future__ import annotations

import math
from typing import cast

from workstation.indicators import RSI
from workstation.model import Action
from workstation.strategies.base import BaseStrategy, StrategyContext

TIE_TOLERANCE = 1e-9
"""Relative margin under which RSI and a level count as equal."""


def compare_rsi(avg_gain: float, avg_loss: float, level: float) -> int:
    """Sign of (RSI - level) from the Wilder averages: -1, 0 (a tie) or 1."""
    if avg_gain == 0.0 and avg_loss == 0.0:
        rsi = 50.0
        return (rsi > level) - (rsi < level)
    above = (100.0 - level) * avg_gain
    below = level * avg_loss
    if abs(above - below) <= TIE_TOLERANCE * (above + below):
        return 0
    return 1 if above > below else -1


class RsiReversion(BaseStrategy):
    """Wilder RSI(period) reversion on the strategy's interval; confidence grows with the extreme."""

    def __init__(self, name: str, symbols, interval: str, period: int = 14, oversold: float = 30,
                 overbought: float = 70, exit_level: float = 50, quantity: float = 100,
                 allow_short: bool = False):
        super().__init__(name, symbols, interval, period=period, oversold=oversold,
                         overbought=overbought, exit_level=exit_level, quantity=quantity)
        if int(period) < 2:
            raise ValueError(f"period must be >= 2, got {period}")
        if not 0 < oversold < overbought < 100:
            raise ValueError(f"need 0 < oversold ({oversold}) < overbought ({overbought}) < 100")
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        self.period, self.oversold, self.overbought = int(period), float(oversold), float(overbought)
        self.exit_level, self.quantity, self.allow_short = float(exit_level), float(quantity), bool(allow_short)
        self.spec = f"rsi({self.period})"

    def required_indicators(self):
        return (self.spec,)

    def on_bar(self, ctx: StrategyContext, symbol: str, bar):
        rsi = ctx.indicator(symbol, self.interval, self.spec)
        if rsi != rsi:  # NaN: not ready
            return None
        bank = cast(RSI, ctx.indicator_bank(self.interval, self.spec))  # built from self.spec: an RSI
        gain, loss = bank.averages_of(ctx.symbol_index[symbol])
        if math.isnan(gain) or math.isnan(loss):
            return None
        pos = ctx.position(symbol)
        if pos == 0:
            if compare_rsi(gain, loss, self.oversold) < 0:
                conf = min(1.0, 0.5 + (self.oversold - rsi) / self.oversold)
                return [self.signal(ctx, symbol, Action.BUY, self.quantity, bar.close, conf, rsi=rsi)]
            if self.allow_short and compare_rsi(gain, loss, self.overbought) > 0:
                conf = min(1.0, 0.5 + (rsi - self.overbought) / (100 - self.overbought))
                return [self.signal(ctx, symbol, Action.SELL, self.quantity, bar.close, conf, rsi=rsi)]
        elif pos > 0 and compare_rsi(gain, loss, self.exit_level) > 0:
            return [self.signal(ctx, symbol, Action.CLOSE, abs(pos), bar.close, 1.0, rsi=rsi)]
        elif pos < 0 and compare_rsi(gain, loss, self.exit_level) < 0:
            return [self.signal(ctx, symbol, Action.CLOSE, abs(pos), bar.close, 1.0, rsi=rsi)]
        return None
