"""Position sizing helpers for strategies: fixed quantity, percent of equity, risk per trade.

Each returns an unsigned share count rounded DOWN to a multiple of `lot_size` (never more than
asked: a size that rounds to less than one lot is 0, meaning "do not trade"). Pass the sign
yourself (+ buy, - sell). Bad arguments raise ValueError naming the argument and the value.
"""

from __future__ import annotations

import math


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def round_to_lot(quantity: float, lot_size: float = 1) -> float:
    """`quantity` rounded down to a multiple of `lot_size` (0 when under one lot)."""
    lot = _positive("lot_size", lot_size)
    quantity = float(quantity)
    if not math.isfinite(quantity) or quantity < 0:
        raise ValueError(f"quantity must be a finite number >= 0, got {quantity}")
    # a hair of tolerance: 300 / 3.0 -> 99.99999999999999 lots must still give 100
    return math.floor(quantity / lot + 1e-9) * lot


def fixed_quantity(quantity: float, lot_size: float = 1) -> float:
    """A fixed number of shares, rounded down to the lot size."""
    return round_to_lot(_positive("quantity", quantity), lot_size)


def percent_of_equity(equity: float, percent: float, price: float, lot_size: float = 1) -> float:
    """Shares worth `percent` % of `equity` at `price`: floor(equity x percent / 100 / price) in lots."""
    equity = float(equity)
    if not math.isfinite(equity):
        raise ValueError(f"equity must be finite, got {equity}")
    if equity <= 0:
        return 0.0
    pct = _positive("percent", percent)
    return round_to_lot(equity * pct / 100.0 / _positive("price", price), lot_size)


def risk_based(risk_amount: float, entry_price: float, stop_price: float, lot_size: float = 1) -> float:
    """Shares such that a fill at `entry_price` stopped out at `stop_price` loses at most `risk_amount`:
    floor(risk_amount / |entry - stop|) in lots."""
    risk = _positive("risk_amount", risk_amount)
    entry = _positive("entry_price", entry_price)
    stop = _positive("stop_price", stop_price)
    distance = abs(entry - stop)
    if distance == 0:
        raise ValueError(f"stop_price equals entry_price ({entry}): the risk per share is zero")
    return round_to_lot(risk / distance, lot_size)
