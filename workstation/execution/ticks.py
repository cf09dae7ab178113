"""Price increments: the prices a trader can put an order at.

A market quotes in whole ticks: US stocks of $1.00 and up in cents (SEC Rule 612 refuses sub-penny
limit and stop prices there), E-mini S&P futures in 0.25, a currency pair in its pip fraction. Bar data
can be finer than that (SPY's prints carry three decimals), so a price read off a chart, or a stop loss
at a distance from an entry, lands between ticks unless it is snapped.

`execution.tick_size` sets the tick of hand-entered prices (chart clicks, dragged order lines, a
bracket's levels from the trade bar's distances); empty (None): the data's own decimals, as the chart
shows them. A strategy's prices follow `execution.off_tick_prices` (`conform_price`): kept as given (the
default, backtrader's way), rounded to the nearest tick (NinjaTrader's), or the order refused with the
reason (a real exchange's, MetaTrader's "invalid price"); under round and reject a trailing stop's level,
which the broker moves, goes on the tick as it moves (`snap_levels`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["conform_price", "is_on_tick", "price_step", "snap_levels", "snap_price", "tick_decimals"]

MAX_DECIMALS = 10
HALF_TOLERANCE = 1e-12  # relative: a tick count this close under a half (binary error) rounds up
ON_TICK_TOLERANCE = 1e-9  # relative: a tick count this close to a whole number is on the tick (426.07 / 0.01)


def tick_decimals(tick: float) -> int:
    """The decimals that write `tick` exactly (0.25 -> 2, 0.0001 -> 4, 5.0 -> 0; at most MAX_DECIMALS)."""
    for decimals in range(MAX_DECIMALS):
        if abs(round(tick, decimals) - tick) <= 1e-9 * tick:
            return decimals
    return MAX_DECIMALS


def price_step(tick_size: float | None, decimals: int) -> float:
    """The price increment of a symbol whose prices show `decimals` decimals: `tick_size` when set, never
    finer than those decimals (a price is only read or typed at the chart's resolution), else one unit of
    the last decimal."""
    unit = 10.0 ** -decimals
    return unit if tick_size is None else max(float(tick_size), unit)


def snap_price(price: float, tick_size: float | None, decimals: int) -> float:
    """`price` on the nearest whole tick (`price_step`; halfway: up), written with the tick's decimals
    so that no binary remainder is left (426.07, not 426.07000000000005). NaN for a price that is not
    finite."""
    if not math.isfinite(price):
        return math.nan
    step = price_step(tick_size, decimals)
    return round(float(_nearest_whole(price / step)) * step, tick_decimals(step))


def _nearest_whole(counts):
    """The nearest whole number of ticks to `counts` (a float or an array), halfway as written in decimals
    up (426.075 at 0.01 is 42607.499999... in binary)."""
    return np.floor(counts + 0.5 + HALF_TOLERANCE * np.maximum(1.0, np.abs(counts)))


def is_on_tick(price: float, tick: float) -> bool:
    """Whether `price` is a whole number of ticks (up to binary error: 426.07 at 0.01 is, 426.072 is not)."""
    ticks = price / tick
    return abs(ticks - round(ticks)) <= ON_TICK_TOLERANCE * max(1.0, abs(ticks))


def conform_price(name: str, price: float, tick: float | None, rule: str) -> tuple[float, str]:
    """An order's `name` price (limit_price, stop_price, stop_loss, take_profit, trail_amount) under
    `execution.off_tick_prices` `rule` with tick `tick`: (the price to use, "") or, for a price off the
    tick under "reject", (price, why the order is refused). "round": the nearest tick (halfway: up; a trail
    amount at least one tick); "keep" or no tick: the price as given."""
    if tick is None or rule == "keep" or is_on_tick(price, tick):
        return price, ""
    nearest = snap_price(price, tick, MAX_DECIMALS)
    if name == "trail_amount" and nearest < tick:
        nearest = snap_price(tick, tick, MAX_DECIMALS)
    if rule == "round":
        return nearest, ""
    return price, (f"{name} {price:.10g} is not on a whole tick of {tick:g} (execution.tick_size; "
                   f"execution.off_tick_prices is reject): the nearest is {nearest:.10g}")


def snap_levels(levels: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """`snap_price` for arrays: each level on the nearest whole tick of its own tick (NaN: kept as it is),
    written with that tick's decimals; a new array."""
    out = np.array(levels, dtype=np.float64)
    has_tick = np.isfinite(ticks)
    for tick in np.unique(ticks[has_tick]).tolist():
        at = has_tick & (ticks == tick)
        out[at] = np.round(_nearest_whole(out[at] / tick) * tick, tick_decimals(tick))
    return out
