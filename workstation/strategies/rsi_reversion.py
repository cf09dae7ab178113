"""Built-in RSI mean reversion: buy when RSI falls below `oversold` while flat, exit when it
rises above `exit_level` (default 50) or `overbought`; optionally short above `overbought`."""

from __future__ import annotations

from workstation.model import Action
from workstation.strategies.base import BaseStrategy, StrategyContext


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
        pos = ctx.position(symbol)
        if pos == 0:
            if rsi < self.oversold:
                conf = min(1.0, 0.5 + (self.oversold - rsi) / self.oversold)
                return [self.signal(ctx, symbol, Action.BUY, self.quantity, bar.close, conf, rsi=rsi)]
            if self.allow_short and rsi > self.overbought:
                conf = min(1.0, 0.5 + (rsi - self.overbought) / (100 - self.overbought))
                return [self.signal(ctx, symbol, Action.SELL, self.quantity, bar.close, conf, rsi=rsi)]
        elif pos > 0 and (rsi > self.exit_level):
            return [self.signal(ctx, symbol, Action.CLOSE, abs(pos), bar.close, 1.0, rsi=rsi)]
        elif pos < 0 and rsi < self.exit_level:
            return [self.signal(ctx, symbol, Action.CLOSE, abs(pos), bar.close, 1.0, rsi=rsi)]
        return None
