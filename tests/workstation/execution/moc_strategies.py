"""A strategy for the market-on-close tests, loaded by import path
'tests.workstation.execution.moc_strategies:SendOnClose'.

`orders`: a list of {"date": "YYYY-MM-DD", "at": "HH:MM", "symbol", "quantity", "tif"}; each is sent as a
market_on_close order while the strategy handles the symbol's first bar of that date starting at or
after that exchange time. It records the ids it got, what the broker told it and its positions at each
session's start."""

from __future__ import annotations

import pandas as pd

from workstation.strategies import BaseStrategy

ZONE = "America/New_York"


class SendOnClose(BaseStrategy):
    def __init__(self, name, symbols, interval, orders: list[dict] | None = None):
        super().__init__(name, symbols, interval, orders=orders or [])
        self.plan = [dict(o) for o in orders or []]
        self.sent: dict[int, int] = {}                                # plan index -> order id
        self.filled: list[tuple[int, float, float, int]] = []         # (order id, quantity, price, fill time)
        self.expired: list[tuple[int, str]] = []                      # (order id, reason) of cancels/expiries
        self.rejected: list[tuple[int, str]] = []
        self.at_start: dict[str, dict[str, float]] = {}               # session date -> positions at its start

    def on_session_start(self, ctx, session_date) -> None:
        self.at_start[str(session_date)] = {s: ctx.position(s) for s in self.symbols}

    def on_bars(self, ctx, sym_idx):
        for i in sym_idx.tolist():
            symbol = ctx.symbols[i]
            bar = ctx.latest_bar(symbol, self.interval)
            local = pd.Timestamp(bar.timestamp, tz="UTC").tz_convert(ZONE)
            for k, o in enumerate(self.plan):
                if k in self.sent or o["symbol"] != symbol or str(local.date()) != o["date"]:
                    continue
                if local.strftime("%H:%M") >= o["at"]:
                    self.sent[k] = ctx.submit_order(symbol, o["quantity"], "market_on_close", tif=o.get("tif", "day"))
        return None

    def on_order_filled(self, ctx, order, fill) -> None:
        self.filled.append((order.id, fill.quantity, fill.price, fill.time))

    def on_order_cancelled(self, ctx, order) -> None:
        self.expired.append((order.id, order.reason))

    def on_order_rejected(self, ctx, order) -> None:
        self.rejected.append((order.id, order.reason))
