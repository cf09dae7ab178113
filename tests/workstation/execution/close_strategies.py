"""A strategy for the session-close rule's tests (risk.flatten_before_close_minutes), loaded by import path
'tests.workstation.execution.close_strategies:EnterAndWork'.

At each session's first bar of a symbol it buys `quantity` at market with a far stop loss and take profit
(a bracket whose exits work once it fills) and leaves a GTC buy limit far below the market (never
filled); from `late_after_min` minutes after the open on it sends one more market buy of 1 and a BUY signal of 2
a session per symbol (refused once the session closes) and, with `cancel_late`, tries to cancel its other open orders. It records what the
broker tells it."""

from __future__ import annotations

from workstation.model import Action
from workstation.strategies import BaseStrategy


class EnterAndWork(BaseStrategy):
    def __init__(self, name, symbols, interval, quantity: float = 10, late_after_min: int = 300,
                 cancel_late: bool = False):
        super().__init__(name, symbols, interval, quantity=quantity, late_after_min=late_after_min,
                         cancel_late=cancel_late)
        self.quantity = quantity
        self.cancel_late = cancel_late
        self.late_after_ns = late_after_min * 60_000_000_000
        self.entered: set[str] = set()
        self.late: set[str] = set()
        self.filled: list[tuple[int, str | None, float, int]] = []     # (order id, tag, quantity, fill time)
        self.cancelled: list[tuple[int, str]] = []                    # (order id, reason)
        self.rejected: list[tuple[int, str, int]] = []                # (order id, reason, clock)
        self.cancel_answers: list[tuple[int, bool]] = []              # (order id, what cancel_order returned)

    def on_session_start(self, ctx, session_date) -> None:
        self.entered, self.late = set(), set()

    def on_bars(self, ctx, sym_idx):
        now = ctx.now_ns
        signals = []
        for i in sym_idx.tolist():
            symbol = ctx.symbols[i]
            bar = ctx.latest_bar(symbol, self.interval)
            if symbol not in self.entered:
                self.entered.add(symbol)
                ctx.submit_order(symbol, self.quantity, stop_loss=bar.close * 0.5, take_profit=bar.close * 2)
                ctx.submit_order(symbol, self.quantity, "limit", limit_price=bar.close * 0.5, tif="gtc")
            elif symbol not in self.late and now >= ctx.session.open_ns + self.late_after_ns:
                self.late.add(symbol)
                ctx.submit_order(symbol, 1)
                signals.append(self.signal(ctx, symbol, Action.BUY, 2, bar.close))
                for order in ctx.open_orders(symbol) if self.cancel_late else ():
                    current = ctx.order(order.id)
                    if order.strategy == self.name and current is not None and current.is_open and order.quantity != 1:
                        self.cancel_answers.append((order.id, ctx.cancel_order(order.id)))
        return signals

    def on_order_filled(self, ctx, order, fill) -> None:
        self.filled.append((order.id, order.tag, fill.quantity, fill.time))

    def on_order_cancelled(self, ctx, order) -> None:
        self.cancelled.append((order.id, order.reason))

    def on_order_rejected(self, ctx, order) -> None:
        self.rejected.append((order.id, order.reason, ctx.now_ns))
