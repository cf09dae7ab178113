"""A strategy that sends given hand-trading commands itself, at given clock times, through the strategy
order API (loaded by import path 'tests.workstation.execution.hand_strategies:ScriptedOrders').

It is the reference of the hand-order tests: a command applied by hand after bar time t must act as the
same order sent by a strategy while it handles t (clock = t's end)."""

from __future__ import annotations

from workstation.execution.manual import CancelOrder, FlattenPosition, ModifyOrder, SubmitOrder
from workstation.strategies import BaseStrategy

SCRIPTS: dict[str, list] = {}


class ScriptedOrders(BaseStrategy):
    """Sends SCRIPTS[key] = [(at_ns, command), ...] when the clock reads at_ns (after that bar time)."""

    def __init__(self, name, symbols, interval, key: str = "script"):
        super().__init__(name, symbols, interval)
        self.todo = sorted(SCRIPTS[key], key=lambda e: e[0])
        self.sent = 0

    def on_bars(self, ctx, sym_idx):
        now = ctx.now_ns
        while self.sent < len(self.todo) and self.todo[self.sent][0] <= now:
            self._send(ctx, self.todo[self.sent][1])
            self.sent += 1
        return None

    @staticmethod
    def _send(ctx, c) -> None:
        if isinstance(c, SubmitOrder):
            ctx.submit_order(c.symbol, c.quantity, c.order_type, c.limit_price, c.stop_price, c.trail_amount,
                             c.trail_percent, c.tif, c.stop_loss, c.take_profit, c.tag)
        elif isinstance(c, CancelOrder):
            ctx.cancel_order(c.order_id)
        elif isinstance(c, ModifyOrder):
            ctx.modify_order(c.order_id, c.quantity, c.limit_price, c.stop_price, c.trail_amount, c.trail_percent)
        elif isinstance(c, FlattenPosition):
            for order in ctx.open_orders(c.symbol):
                current = ctx.order(order.id)
                if current is not None and current.is_open:
                    ctx.cancel_order(order.id)
            position = ctx.position(c.symbol)
            if position:
                ctx.submit_order(c.symbol, -position, "market", tag="flatten")
