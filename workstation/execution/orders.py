"""Order value types of the simulated broker: order types, statuses, requests and the typed events.

Everything here is plain data (no broker state): an `OrderRequest` is what a strategy asks for,
validated by `make_request` (bad input raises `InvalidOrder` with a reason a trader understands);
an `Order` is a frozen snapshot of one order as the broker sees it at one moment; `OrderEvent`,
`AccountSnapshot` and `Fill` (workstation.model) are what the broker reports. Times are int ns UTC:
`submitted_at` is the clock time of the submission (a bar END or later), fills and status times of
fills are bar STARTS of the fill bar (as trades and the equity curve are).

Quantities are signed: + buy, - sell. Prices are in the symbol's currency, before slippage.
`trail_percent` is in percent (2.0 = 2 %), as Alpaca and IB take it (backtrader takes 0.02).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, TypeGuard

import numpy as np

from workstation.model.trading import Fill


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"
    MARKET_ON_CLOSE = "market_on_close"    # fills at the close of the session's closing bar (see the broker)


class TimeInForce(StrEnum):
    DAY = "day"      # cancelled (status "expired") after the session's last bar
    GTC = "gtc"      # good till cancelled


class OrderStatus(StrEnum):
    HELD = "held"                        # bracket exit waiting for its entry to fill
    WORKING = "working"                  # accepted, eligible from the symbol's next bar
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"                  # a day order at the session's end
    REJECTED = "rejected"


FINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED})
OPEN_STATUSES = frozenset({OrderStatus.HELD, OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED})


class OrderRole(StrEnum):
    SINGLE = "single"            # a plain order
    ENTRY = "entry"              # the entry of a bracket
    STOP_LOSS = "stop_loss"      # bracket exit: a stop (market) order
    TAKE_PROFIT = "take_profit"  # bracket exit: a limit order


# integer codes of the order book arrays (order_book.py)
TYPE_CODES = {OrderType.MARKET: 0, OrderType.LIMIT: 1, OrderType.STOP: 2, OrderType.STOP_LIMIT: 3,
              OrderType.TRAILING_STOP: 4}


class InvalidOrder(ValueError):
    """An order request that cannot be accepted as given (bad input); the message is the reason."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order request (see `make_request`); prices None where the type has none."""

    symbol: str
    quantity: float
    order_type: OrderType
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    tif: TimeInForce = TimeInForce.DAY
    stop_loss: float | None = None
    take_profit: float | None = None
    tag: str | None = None

    @property
    def side(self) -> str:
        return "buy" if self.quantity > 0 else "sell"


@dataclass(frozen=True, slots=True)
class Order:
    """One order as the broker holds it at one moment (immutable snapshot).

    `stop_price` of a trailing stop is its current stop level. `status_time` is the time of the
    last status change (the final status time once final). `filled_quantity` is signed like
    `quantity`; `avg_fill_price` is NaN before the first fill.
    """

    id: int
    symbol: str
    quantity: float
    order_type: OrderType
    limit_price: float | None
    stop_price: float | None
    trail_amount: float | None
    trail_percent: float | None
    tif: TimeInForce
    status: OrderStatus
    filled_quantity: float
    avg_fill_price: float
    submitted_at: int
    status_time: int
    reason: str
    strategy: str
    tag: str | None
    parent_id: int | None
    oco_group: int | None
    role: OrderRole

    @property
    def side(self) -> str:
        return "buy" if self.quantity > 0 else "sell"

    @property
    def remaining(self) -> float:
        """Signed quantity still to fill (0 once final)."""
        return 0.0 if self.status in FINAL_STATUSES else self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order changed. `kind`: "submitted" (working or held), "activated" (a bracket exit after its
    entry filled), "modified", "filled" (each fill, partial or complete; `fill` is it), "cancelled",
    "expired", "rejected". `order` is the snapshot after the change; `time_ns` the time of the change
    (a fill's bar start, else the clock)."""

    kind: str
    order: Order
    time_ns: int
    fill: Fill | None = None


class OrderChange(NamedTuple):
    """The broker's light record of one order change (what an OrderEvent says, without the Order
    object): `fields` are the Order's fields at the change, in Order's field order, so
    `Order(*fields)` is the snapshot. Built in the engine thread per order change (a tuple, no
    dataclass per change); observers turn it into an OrderEvent (`event()`) in their own thread.
    The "orders" event carries a list of them: the changes of one delivery, in engine order."""

    kind: str
    fields: tuple
    time_ns: int
    fill: Fill | None = None

    @property
    def order_id(self) -> int:
        return self.fields[0]

    @property
    def strategy(self) -> str:
        return self.fields[15]

    @property
    def symbol(self) -> str:
        return self.fields[1]

    @property
    def is_open(self) -> bool:
        """The order is working or held after this change (Order.is_open of the snapshot)."""
        return self.fields[9] in OPEN_STATUSES

    def event(self) -> OrderEvent:
        """The OrderEvent of this change (its Order snapshot built now)."""
        return OrderEvent(self.kind, Order(*self.fields), self.time_ns, self.fill)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account at one bar time (bar START `time_ns`), arrays indexed like the broker's symbols.

    equity = cash + positions_value; margin_used = gross exposure / margin multiplier;
    buying_power = margin multiplier x equity - gross exposure - reserved by working orders.
    """

    time_ns: int
    equity: float
    cash: float
    positions_value: float
    margin_used: float
    buying_power: float
    open_orders: int
    symbols: tuple[str, ...]
    positions: np.ndarray
    avg_prices: np.ndarray
    last_prices: np.ndarray

    def open_positions(self) -> list[tuple[str, float, float, float, float]]:
        """(symbol, quantity, average price, last price, unrealized P&L) of every non-flat position."""
        out = []
        for i in np.flatnonzero(self.positions).tolist():
            qty = float(self.positions[i])
            avg, last = float(self.avg_prices[i]), float(self.last_prices[i])
            out.append((self.symbols[i], qty, avg, last, qty * (last - avg)))
        return out


class TradingRound(NamedTuple):
    """Event "round": what one round of the analysis stage did to orders and the account, for an
    observer that takes all of it (the UI bridge) in one event instead of a "fills", one or more
    "orders" and an "account" event. A round is a bar time (its fills, every order change of it in
    engine order, the account at its end), the hand commands applied between two bar times (their order
    changes and the account after them) or a session's end (the orders it expired; the fills of the
    market-on-close orders it settled, with the account after them when there are any).
    `time_ns` is the clock at the round's end; the lists are the engine's: read only. The account comes
    as the fields of its AccountSnapshot (`account` makes it): the observer makes the snapshots it
    shows (the newest of a frame), not one per bar time. A named tuple, as OrderChange: one per bar time,
    made in the engine thread (a frozen dataclass costs several microseconds to make)."""

    time_ns: int
    fills: list[Fill]
    orders: list[OrderChange]
    account_fields: tuple | None

    @property
    def account(self) -> AccountSnapshot | None:
        """The account at the round's end (None: the round does not say)."""
        fields = self.account_fields
        return AccountSnapshot(*fields) if fields is not None else None


# ---------------------------------------------------------------------------------- validation

def _is_number(value: object) -> TypeGuard[numbers.Real]:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def checked_price(name: str, value: object) -> float:
    """A positive finite price, else InvalidOrder naming the argument and the value."""
    if not _is_number(value):
        raise InvalidOrder(f"{name} must be a number, got {type(value).__name__} {value!r}")
    price = float(value)
    if not math.isfinite(price) or price <= 0:
        raise InvalidOrder(f"{name} must be a positive finite price, got {price}")
    return price


def checked_quantity(value: object) -> float:
    """A non-zero finite signed quantity, else InvalidOrder."""
    if not _is_number(value):
        raise InvalidOrder(f"quantity must be a number (+ buy, - sell), got {type(value).__name__} {value!r}")
    qty = float(value)
    if not math.isfinite(qty):
        raise InvalidOrder(f"quantity must be finite, got {qty}")
    if qty == 0:
        raise InvalidOrder("quantity is zero: nothing to buy or sell")
    return qty


def _enum(cls, name: str, value: object):
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            pass
    choices = ", ".join(repr(m.value) for m in cls)
    raise InvalidOrder(f"{name} must be one of {choices}, got {value!r}")


def make_request(symbol: object, quantity: object, order_type: object = "market", limit_price: object = None,
                 stop_price: object = None, trail_amount: object = None, trail_percent: object = None,
                 tif: object = "day", stop_loss: object = None, take_profit: object = None,
                 tag: object = None) -> OrderRequest:
    """Validate the arguments of `submit_order` into an OrderRequest; InvalidOrder says what is wrong.

    Each type takes exactly its prices: limit -> limit_price; stop -> stop_price; stop_limit -> both;
    trailing_stop -> one of trail_amount (currency) or trail_percent (0 < p < 100); market and
    market_on_close -> none.
    A price a type does not use is refused rather than silently ignored.
    """
    fast = _fast_request(symbol, quantity, order_type, limit_price, stop_price, trail_amount, trail_percent, tif,
                         stop_loss, take_profit, tag)
    if fast is not None:
        return fast
    if not isinstance(symbol, str) or not symbol:
        raise InvalidOrder(f"symbol must be a non-empty string, got {symbol!r}")
    qty = checked_quantity(quantity)
    kind = _enum(OrderType, "order_type", order_type)
    time_in_force = _enum(TimeInForce, "tif", tif)
    given = {"limit_price": limit_price, "stop_price": stop_price, "trail_amount": trail_amount,
             "trail_percent": trail_percent}
    needs = {
        OrderType.MARKET: (),
        OrderType.LIMIT: ("limit_price",),
        OrderType.STOP: ("stop_price",),
        OrderType.STOP_LIMIT: ("stop_price", "limit_price"),
        OrderType.TRAILING_STOP: (),
        OrderType.MARKET_ON_CLOSE: (),
    }[kind]
    for name in needs:
        if given[name] is None:
            raise InvalidOrder(f"a {kind.value} order needs {name}")
    allowed = set(needs) | ({"trail_amount", "trail_percent"} if kind is OrderType.TRAILING_STOP else set())
    extra = [name for name, v in given.items() if v is not None and name not in allowed]
    if extra:
        raise InvalidOrder(f"a {kind.value} order does not use {', '.join(extra)}")
    prices = {name: checked_price(name, v) for name, v in given.items() if v is not None}
    if kind is OrderType.TRAILING_STOP:
        if ("trail_amount" in prices) == ("trail_percent" in prices):
            raise InvalidOrder("a trailing_stop order needs exactly one of trail_amount or trail_percent")
        if prices.get("trail_percent", 1.0) >= 100:
            raise InvalidOrder(f"trail_percent must be below 100 (percent), got {prices['trail_percent']}")
    exits = {name: checked_price(name, v) for name, v in (("stop_loss", stop_loss), ("take_profit", take_profit))
             if v is not None}
    if tag is not None and not isinstance(tag, str):
        raise InvalidOrder(f"tag must be a string or None, got {type(tag).__name__}")
    return OrderRequest(symbol, qty, kind, prices.get("limit_price"), prices.get("stop_price"),
                        prices.get("trail_amount"), prices.get("trail_percent"), time_in_force,
                        exits.get("stop_loss"), exits.get("take_profit"), tag)


_TYPES = {t.value: t for t in OrderType}
_TIFS = {t.value: t for t in TimeInForce}
# prices each type takes (limit, stop); the fast path covers these types only
_FAST_PRICES = {OrderType.MARKET: (False, False), OrderType.LIMIT: (True, False), OrderType.STOP: (False, True),
                OrderType.STOP_LIMIT: (True, True), OrderType.MARKET_ON_CLOSE: (False, False)}


def _ok_price(value: object) -> bool:
    return type(value) is float and value > 0.0 and value - value == 0.0


def _fast_request(symbol, quantity, order_type, limit_price, stop_price, trail_amount, trail_percent, tif,
                  stop_loss, take_profit, tag) -> OrderRequest | None:
    """The common, clearly valid request (plain floats, lower-case names) without the general checks;
    None sends the request through them (and their messages)."""
    kind = _TYPES.get(order_type) if type(order_type) is str else None
    time_in_force = _TIFS.get(tif) if type(tif) is str else None
    if kind is None or time_in_force is None or kind not in _FAST_PRICES or type(symbol) is not str or not symbol:
        return None
    if type(quantity) is float or type(quantity) is int:
        qty = float(quantity)
        if qty == 0.0 or qty - qty != 0.0:
            return None
    else:
        return None
    wants_limit, wants_stop = _FAST_PRICES[kind]
    if trail_amount is not None or trail_percent is not None:
        return None
    if (limit_price is not None) != wants_limit or (stop_price is not None) != wants_stop:
        return None
    for price in (limit_price, stop_price, stop_loss, take_profit):
        if price is not None and not _ok_price(price):
            return None
    if tag is not None and type(tag) is not str:
        return None
    return OrderRequest(symbol, qty, kind, limit_price, stop_price, None, None, time_in_force, stop_loss,
                        take_profit, tag)
