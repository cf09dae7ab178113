"""Trading value types: Signal (a strategy's wish), Decision (risk verdict), Fill, Trade."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What a signal asks for. CLOSE flattens the position whatever its side."""

    BUY = "BUY"
    SELL = "SELL"
    CLOSE = "CLOSE"


@dataclass(slots=True)
class Signal:
    """A strategy's request, made at clock time `time` (int ns UTC, a bar END or later)."""

    symbol: str
    action: Action
    quantity: float
    price: float
    time: int
    strategy: str
    confidence: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    """The risk checks' verdict on one signal; `reason` says why it was rejected (or "")."""

    signal: Signal
    approved: bool
    reason: str = ""


@dataclass(slots=True)
class Fill:
    """A simulated execution: signed `quantity` (+ buy, - sell) at `price`, at bar start `time`."""

    symbol: str
    quantity: float
    price: float
    time: int
    commission: float
    strategy: str


@dataclass(slots=True)
class Trade:
    """One round trip: a flat -> open -> flat cycle of one symbol (long or short)."""

    symbol: str
    quantity: float
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    pnl: float
    commission: float = 0.0
    strategy: str = ""
