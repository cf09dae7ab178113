"""A random but deterministic order plan, played by our engine (PlanStrategy) and by backtrader
(PlanBacktrader), to compare fills order type by order type on the same bars.

The plan decides on each bar of a symbol from (seed, symbol, bar number, close, position, open
orders, ages) only, so two engines that fill identically take identical decisions; the first fill
that differs shows up in the comparison.
"""

from __future__ import annotations

import random

from workstation.strategies import BaseStrategy

KINDS = ("market", "limit", "limit_marketable", "stop", "stop_marketable", "stop_limit", "trail_amount",
         "trail_percent", "bracket_market", "bracket_limit", "bracket_stop", "oco_stops")
HOLD_BARS = 40        # a position is closed after this many bars
STALE_BARS = 25       # open orders without a position are cancelled after this many bars (by default)


def plan_action(seed: int, symbol: str, k: int, close: float, position: float, open_orders: int,
                age_open: int | None, age_position: int | None, probability: float = 0.05,
                kinds: tuple[str, ...] = KINDS, stale_bars: int = STALE_BARS):
    """None, ("flatten",), ("cancel_all",) or ("submit", spec) for bar number `k` of `symbol`. Kind "moc"
    (a market-on-close order) is not among the default KINDS: it is compared with backtrader's Close
    orders on bars in exchange time, with the feed's session end at the last regular bar."""
    if position != 0:
        return ("flatten",) if age_position is not None and age_position >= HOLD_BARS else None
    if open_orders:
        return ("cancel_all",) if age_open is not None and age_open >= stale_bars else None
    rng = random.Random(f"{seed}:{symbol}:{k}")
    if rng.random() > probability:
        return None
    kind = rng.choice(kinds)
    side = rng.choice((1, -1))
    qty = side * rng.choice((10, 25, 50, 100))
    d = round(close * rng.uniform(0.0004, 0.004), 2) or 0.01
    tif = rng.choice(("day", "gtc"))
    spec = {"kind": kind, "quantity": qty, "tif": tif}

    def r(x: float) -> float:
        return round(x, 2)

    if kind == "limit":
        spec["limit_price"] = r(close - side * d)
    elif kind == "limit_marketable":
        spec["limit_price"] = r(close + side * d)
    elif kind == "stop":
        spec["stop_price"] = r(close + side * d)
    elif kind == "stop_marketable":
        spec["stop_price"] = r(close - side * d)
    elif kind == "stop_limit":
        stop = r(close + side * d)
        spec["stop_price"] = stop
        spec["limit_price"] = r(stop + side * rng.choice((1, -1)) * round(d * rng.uniform(0.3, 1.5), 2))
    elif kind == "trail_amount":
        spec["trail_amount"] = d
    elif kind == "trail_percent":
        spec["trail_percent"] = rng.choice((0.1, 0.2, 0.35))
    elif kind.startswith("bracket"):
        entry = close
        if kind == "bracket_limit":
            entry = spec["limit_price"] = r(close - side * d)
        elif kind == "bracket_stop":
            entry = spec["stop_price"] = r(close + side * d)
        legs = rng.choice(("both", "both", "stop_loss", "take_profit"))
        if legs in ("both", "stop_loss"):
            spec["stop_loss"] = r(entry - side * 2 * d)
        if legs in ("both", "take_profit"):
            spec["take_profit"] = r(entry + side * rng.choice((1, 2, 3)) * d)
    elif kind == "oco_stops":
        spec["quantity"] = abs(qty)
        spec["up"] = r(close + d)
        spec["down"] = r(close - d)
    return ("submit", spec)


class _Ages:
    """Per-symbol bar counter, bar of the last submission and bar the position opened."""

    def __init__(self) -> None:
        self.k: dict[str, int] = {}
        self.submitted: dict[str, int] = {}
        self.opened: dict[str, int | None] = {}

    def step(self, symbol: str, position: float) -> tuple[int, int | None, int | None]:
        k = self.k.get(symbol, -1) + 1
        self.k[symbol] = k
        if position == 0:
            self.opened[symbol] = None
        elif self.opened.get(symbol) is None:
            self.opened[symbol] = k
        sub = self.submitted.get(symbol)
        opened = self.opened.get(symbol)
        return k, (k - sub if sub is not None else None), (k - opened if opened is not None else None)


class PlanStrategy(BaseStrategy):
    """Our side: plays `plan_action` through ctx.submit_order / cancel_all / close_position."""

    def __init__(self, name, symbols, interval, seed: int = 1, probability: float = 0.05,
                 kinds: list[str] | None = None, stale_bars: int = STALE_BARS):
        super().__init__(name, symbols, interval, seed=seed, probability=probability)
        self.seed, self.probability = int(seed), float(probability)
        self.kinds = tuple(kinds) if kinds else KINDS
        self.stale_bars = int(stale_bars)
        self.ages = _Ages()

    def on_bar(self, ctx, symbol, bar):
        position = ctx.position(symbol)
        k, age_open, age_position = self.ages.step(symbol, position)
        open_orders = len(ctx.open_orders(symbol))
        action = plan_action(self.seed, symbol, k, bar.close, position, open_orders, age_open, age_position,
                             self.probability, self.kinds, self.stale_bars)
        if action is None:
            return None
        if action[0] == "flatten":
            ctx.close_position(symbol)
        elif action[0] == "cancel_all":
            ctx.cancel_all(symbol)
        else:
            spec = dict(action[1])
            self.ages.submitted[symbol] = k
            kind = spec.pop("kind")
            if kind == "oco_stops":
                up = ctx.submit_order(symbol, spec["quantity"], "stop", stop_price=spec["up"], tif=spec["tif"])
                down = ctx.submit_order(symbol, -spec["quantity"], "stop", stop_price=spec["down"], tif=spec["tif"])
                ctx.one_cancels_other([up, down])
                return None
            order_type = {"limit_marketable": "limit", "stop_marketable": "stop", "trail_amount": "trailing_stop",
                          "trail_percent": "trailing_stop", "bracket_market": "market", "bracket_limit": "limit",
                          "bracket_stop": "stop", "moc": "market_on_close"}.get(kind, kind)
            ctx.submit_order(symbol, spec.pop("quantity"), order_type, **spec)
        return None


def backtrader_plan_fills(frame, symbol: str, seed: int, probability: float = 0.05,
                          kinds: tuple[str, ...] = KINDS, stale_bars: int = STALE_BARS,
                          exchange_time: str | None = None) -> list[tuple]:
    """Play the plan in backtrader on one symbol's bars (its own feed, so no other symbol's clock makes
    it re-test an order against a stale bar). Fills as (symbol, time ns, signed qty, price).

    `exchange_time` (a time zone): the feed's bars in that zone's wall time, with the session's end at
    15:59 (the last regular 1m bar's start: backtrader's Close order fills at the close of the bar at or
    after the session's end, and its day orders expire after it); otherwise in UTC with backtrader's
    default session end (23:59:59 UTC)."""
    import datetime as dt

    import backtrader as bt
    import pandas as pd

    epoch = bt.date2num(pd.Timestamp("1970-01-01").to_pydatetime())

    class PlanBacktrader(bt.Strategy):
        def __init__(self):
            self.ages = _Ages()
            self.live: dict[int, object] = {}
            self.fills: list[tuple] = []

        def notify_order(self, order):
            if order.status in (order.Submitted, order.Accepted):
                self.live[order.ref] = order
            elif order.status == order.Completed:
                t_ns = int(round((order.executed.dt - epoch) * 86400.0)) * 10**9
                self.fills.append((symbol, t_ns, float(order.executed.size), float(order.executed.price)))
                self.live.pop(order.ref, None)
            elif order.status in (order.Canceled, order.Expired, order.Margin, order.Rejected):
                self.live.pop(order.ref, None)

        def next(self):
            position = self.position.size
            k, age_open, age_position = self.ages.step(symbol, position)
            action = plan_action(seed, symbol, k, float(self.data.close[0]), position, len(self.live), age_open,
                                 age_position, probability, kinds, stale_bars)
            if action is None:
                return
            if action[0] in ("flatten", "cancel_all"):
                for order in list(self.live.values()):
                    self.cancel(order)
                if action[0] == "flatten":
                    self.close()
                return
            spec = dict(action[1])
            self.ages.submitted[symbol] = k
            kind = spec["kind"]
            qty = spec["quantity"]
            valid = bt.Order.DAY if spec["tif"] == "day" else None
            size = abs(qty)
            send = self.buy if qty > 0 else self.sell
            if kind == "oco_stops":
                up = self.buy(size=size, exectype=bt.Order.Stop, price=spec["up"], valid=valid)
                self.sell(size=size, exectype=bt.Order.Stop, price=spec["down"], valid=valid, oco=up)
            elif kind == "market":
                send(size=size, exectype=bt.Order.Market)
            elif kind == "moc":
                send(size=size, exectype=bt.Order.Close, valid=valid)
            elif kind in ("limit", "limit_marketable"):
                send(size=size, exectype=bt.Order.Limit, price=spec["limit_price"], valid=valid)
            elif kind in ("stop", "stop_marketable"):
                send(size=size, exectype=bt.Order.Stop, price=spec["stop_price"], valid=valid)
            elif kind == "stop_limit":
                send(size=size, exectype=bt.Order.StopLimit, price=spec["stop_price"], plimit=spec["limit_price"],
                     valid=valid)
            elif kind == "trail_amount":
                send(size=size, exectype=bt.Order.StopTrail, trailamount=spec["trail_amount"], valid=valid)
            elif kind == "trail_percent":
                send(size=size, exectype=bt.Order.StopTrail, trailpercent=spec["trail_percent"] / 100.0,
                     valid=valid)
            else:
                bracket = self.buy_bracket if qty > 0 else self.sell_bracket
                entry = {"bracket_market": bt.Order.Market, "bracket_limit": bt.Order.Limit,
                         "bracket_stop": bt.Order.Stop}[kind]
                price = spec.get("limit_price", spec.get("stop_price"))
                bracket(size=size, exectype=entry, price=price, valid=valid,
                        stopprice=spec.get("stop_loss"), limitprice=spec.get("take_profit"),
                        stopexec=bt.Order.Stop if "stop_loss" in spec else None,
                        limitexec=bt.Order.Limit if "take_profit" in spec else None)

    data = frame.copy()
    data["timestamp"] = data["timestamp"].dt.tz_convert(exchange_time or "UTC").dt.tz_localize(None)
    data = data.set_index("timestamp")[["open", "high", "low", "close", "volume"]]
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(1e12)
    cerebro.broker.setcommission(commission=0.0)
    session = {"sessionend": dt.time(15, 59)} if exchange_time else {}
    feed = bt.feeds.PandasData(dataname=data, name=symbol, timeframe=bt.TimeFrame.Minutes, compression=1,
                               datetime=None, openinterest=None, **session)
    cerebro.adddata(feed)
    cerebro.addstrategy(PlanBacktrader)
    fills = cerebro.run()[0].fills
    if exchange_time:      # the fills' wall times in the exchange's zone back to UTC nanoseconds
        fills = [(s, pd.Timestamp(t, unit="ns").tz_localize(exchange_time).value, q, p) for s, t, q, p in fills]
    return fills
