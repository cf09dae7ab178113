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
    """The risk checks' verdict on one signal or order; `reason` says why it was rejected (or "").

    `kind` is "signal", "order" (a submitted order: `signal` describes it, action BUY/SELL, its size
    and reference price, `order_id` its broker id), "modify" (a refused modification, or a hand
    modification) or "cancel" (a hand cancel); the last two describe the order after the change.
    """

    signal: Signal
    approved: bool
    reason: str = ""
    kind: str = "signal"
    order_id: int | None = None

    @property
    def action_text(self) -> str:
        """BUY / SELL / CLOSE; for orders with the type ("BUY STOP", "SELL LIMIT BRACKET"); a change
        of an order is named ("MODIFY SELL STOP", "CANCEL BUY LIMIT")."""
        action = getattr(self.signal.action, "value", str(self.signal.action))
        if self.kind == "signal":
            return action
        meta = self.signal.metadata or {}
        text = f"{action} {str(meta.get('order_type', '')).upper()}".strip()
        if "stop_loss" in meta or "take_profit" in meta:
            text += " BRACKET"
        if self.kind in ("modify", "cancel"):
            text = f"{self.kind.upper()} {text}"
        return text


@dataclass(slots=True)
class Fill:
    """A simulated execution: signed `quantity` (+ buy, - sell) at `price` (slippage included), at bar
    start `time`, of broker order `order_id`."""

    symbol: str
    quantity: float
    price: float
    time: int
    commission: float
    strategy: str
    order_id: int = 0


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
