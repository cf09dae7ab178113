"""Execution: the simulated broker and its order model, sizing helpers, statistics and results frames.

The order model's public surface (typed values and events) is in `orders`; the fill rules on bars
in `fill_model`; the broker (orders, account, positions, trades, equity) in `broker`.
"""

from workstation.execution.broker import OpenPosition, OrderRefused, PendingOrder, SimulatedBroker
from workstation.execution.orders import (
    AccountSnapshot,
    InvalidOrder,
    Order,
    OrderChange,
    OrderEvent,
    OrderRequest,
    OrderRole,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingRound,
    make_request,
)
from workstation.execution.records import fills_frame, orders_frame
from workstation.execution.results import equity_frame, trades_frame
from workstation.execution.stats import compute_stats, drawdown_series

__all__ = [
    "AccountSnapshot",
    "InvalidOrder",
    "OpenPosition",
    "Order",
    "OrderChange",
    "OrderEvent",
    "OrderRefused",
    "OrderRequest",
    "OrderRole",
    "OrderStatus",
    "OrderType",
    "PendingOrder",
    "SimulatedBroker",
    "TimeInForce",
    "TradingRound",
    "compute_stats",
    "drawdown_series",
    "equity_frame",
    "fills_frame",
    "make_request",
    "orders_frame",
    "trades_frame",
]
