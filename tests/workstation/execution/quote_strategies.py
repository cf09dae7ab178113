"""Strategies of the quote-fill tests (loaded by import path
'tests.workstation.execution.quote_strategies:...'): they record what ctx.quote showed and trade
with limit orders priced from the quote, so the tests can check fills against the quote frame."""

from __future__ import annotations

from workstation.strategies import BaseStrategy

SEEN: dict[str, list] = {}


class QuoteLimits(BaseStrategy):
    """Every `every` bars of a symbol: when flat, a buy limit at the last quote's bid; when long, a sell
    limit at its ask (day orders). Records (now_ns, symbol, quote) at every bar in SEEN[key]."""

    def __init__(self, name, symbols, interval, key: str = "limits", every: int = 7, quantity: float = 10):
        super().__init__(name, symbols, interval, key=key, every=every, quantity=quantity)
        self.key, self.every, self.quantity = key, every, quantity
        self.count: dict[str, int] = {}
        SEEN[key] = []

    def on_bar(self, ctx, symbol, bar):
        quote = ctx.quote(symbol)
        SEEN[self.key].append((ctx.now_ns, symbol, quote))
        n = self.count[symbol] = self.count.get(symbol, 0) + 1
        if quote is None or n % self.every or ctx.open_orders(symbol):
            return None
        if ctx.position(symbol) == 0:
            ctx.submit_order(symbol, self.quantity, "limit", limit_price=round(quote.bid, 2))
        else:
            ctx.submit_order(symbol, -ctx.position(symbol), "limit", limit_price=round(quote.ask, 2))
        return None
