"""User strategies of the order tests, loaded by import path ('tests.integration.order_strategies:...')."""

from __future__ import annotations

import math

from workstation.model import Action, Signal
from workstation.strategies import BaseStrategy

RECORDS: dict[str, list] = {}


class CallbackRecorder(BaseStrategy):
    """Every 25th bar of a symbol, when flat with nothing open: a limit bracket just below the close;
    records each decision bar and every callback."""

    def __init__(self, name, symbols, interval, key: str = "callbacks"):
        super().__init__(name, symbols, interval)
        self.key = key
        self.count: dict[str, int] = {}
        RECORDS[key] = []

    def on_bar(self, ctx, symbol, bar):
        k = self.count[symbol] = self.count.get(symbol, 0) + 1
        if k % 25 or ctx.position(symbol) or ctx.open_orders(symbol):
            return None
        price = round(bar.close * 0.999, 2)
        order_id = ctx.submit_order(symbol, 100, "limit", limit_price=price, tif="day",
                                    stop_loss=round(price * 0.995, 2), take_profit=round(price * 1.004, 2),
                                    tag=f"k{k}")
        RECORDS[self.key].append(("submitted", order_id, bar.timestamp, ctx.order(order_id).status.value))
        return None

    def on_order_filled(self, ctx, order, fill):
        RECORDS[self.key].append(("filled", order.id, fill.time, order.role.value, fill.price))

    def on_order_cancelled(self, ctx, order):
        RECORDS[self.key].append(("cancelled", order.id, order.status_time, order.status.value))

    def on_order_rejected(self, ctx, order):
        RECORDS[self.key].append(("rejected", order.id, order.status_time, order.reason))


class BadSignals(BaseStrategy):
    """Returns, on its symbol's first bars, one kind of bad value each, then a BUY with a lower-case action
    and a bare SELL Signal (both valid)."""

    BAD = ("int", "nan_quantity", "text_quantity", "bad_action", "nan_confidence", "dict", "unknown_symbol",
           "zero", "negative_price", "no_time")

    def __init__(self, name, symbols, interval):
        super().__init__(name, symbols, interval)
        self.k = 0

    def on_bar(self, ctx, symbol, bar):
        self.k += 1
        k = self.k
        now = ctx.now_ns

        def sig(**kw):
            base = {"symbol": symbol, "action": Action.BUY, "quantity": 10.0, "price": bar.close, "time": now,
                    "strategy": self.name, "confidence": 1.0}
            base.update(kw)
            return Signal(**base)

        if k <= len(self.BAD):
            kind = self.BAD[k - 1]
            return {
                "int": 7,
                "nan_quantity": [sig(quantity=math.nan)],
                "text_quantity": [sig(quantity="100")],
                "bad_action": [sig(action="LONG")],
                "nan_confidence": [sig(confidence=math.nan)],
                "dict": {"symbol": symbol},
                "unknown_symbol": [sig(symbol="NOPE")],
                "zero": [sig(quantity=0.0)],
                "negative_price": [sig(price=-1.0)],
                "no_time": [sig(time=None)],
            }[kind]
        if k == len(self.BAD) + 1:
            return [sig(action="buy")]        # a lower-case action name is accepted
        if k == len(self.BAD) + 2:
            return sig(action=Action.SELL)     # a single Signal (not in a list) is accepted
        return None


class BadOrders(BaseStrategy):
    """Sends one bad order (or cancel) per bar on bars 1..9, then valid ones."""

    def __init__(self, name, symbols, interval):
        super().__init__(name, symbols, interval)
        self.k = 0
        RECORDS["bad_orders"] = []

    def on_bar(self, ctx, symbol, bar):
        self.k += 1
        k = self.k
        out = RECORDS["bad_orders"]
        if k == 1:
            out.append(ctx.submit_order(symbol, 0))
        elif k == 2:
            out.append(ctx.submit_order(symbol, math.nan))
        elif k == 3:
            out.append(ctx.submit_order(symbol, 10, "limit", limit_price=0.0))
        elif k == 4:
            out.append(ctx.submit_order(symbol, 10, "stop", stop_price=math.nan))
        elif k == 5:
            out.append(ctx.submit_order("NOPE", 10, "limit", limit_price=10.0))
        elif k == 6:
            out.append(ctx.submit_order("NOPE", -10, "stop", stop_price=10.0))
        elif k == 7:
            out.append(ctx.cancel_order(424242))
        elif k == 8:
            out.append(ctx.modify_order(424242, limit_price=1.0))
        elif k == 9:
            out.append(ctx.submit_order(symbol, 10, "limit", limit_price=bar.close, tif="week"))
        elif k == 10:
            out.append(ctx.submit_order(symbol, 10, "limit", limit_price=round(bar.close * 0.99, 2)))
        return None


class TimedBrackets(BaseStrategy):
    """From `after` (exchange time HH:MM) on, on bars whose minute is a multiple of 7, when flat with
    nothing open: a limit bracket just below the close. Decides on bar times only, so a live replay
    started at `after` and a backtest of the whole day take the same decisions."""

    def __init__(self, name, symbols, interval, after: str = "15:00"):
        super().__init__(name, symbols, interval, after=after)
        hours, minutes = (int(x) for x in after.split(":"))
        self.after_minutes = hours * 60 + minutes

    def on_bar(self, ctx, symbol, bar):
        import pandas as pd

        local = pd.Timestamp(bar.timestamp, unit="ns", tz="UTC").tz_convert("America/New_York")
        minute = local.hour * 60 + local.minute
        if minute < self.after_minutes or local.minute % 7 or ctx.position(symbol) or ctx.open_orders(symbol):
            return None
        price = round(bar.close * 0.9995, 2)
        ctx.submit_order(symbol, 50, "limit", limit_price=price, stop_loss=round(price * 0.997, 2),
                         take_profit=round(price * 1.002, 2))
        return None
