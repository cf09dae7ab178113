"""The order model's run-folder records as frames: orders.parquet and fills.parquet rows.

Times are UTC timestamps: an order's submitted_at is the clock time of its submission (a bar END or
later), its status_time the time it reached its status (a fill's bar START for fills); a fill's time
is the START of its fill bar. Prices an order type does not have are NaN. equity.parquet gains the
account columns ACCOUNT_COLUMNS (written by the broker's equity curve).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from workstation.execution.results import equity_frame
from workstation.model.trading import Fill

if TYPE_CHECKING:
    import pandas as pd
else:
    from workstation.lazy_modules import LazyModule

    pd = LazyModule("pandas")  # imported at first use: not on the path to a run's first bar

ACCOUNT_COLUMNS = ("margin_used", "buying_power", "open_orders")
ORDER_COLUMNS = ("id", "parent_id", "oco_group", "role", "symbol", "type", "side", "quantity", "filled_quantity",
                 "avg_fill_price", "limit_price", "stop_price", "trail_amount", "trail_percent", "tif",
                 "submitted_at", "status", "status_time", "reason", "strategy", "tag")
FILL_COLUMNS = ("time", "order_id", "symbol", "side", "quantity", "price", "commission", "strategy")


def _ns_to_utc(values: Sequence[int] | np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ns", utc=True)


def account_equity_frame(time_ns: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """equity.parquet rows from the broker's curve: `values` columns equity, cash, positions_value,
    gross_exposure, margin_used, buying_power, open_orders (one row per bar time, time = bar start)."""
    frame = equity_frame(time_ns, values[:, 0], values[:, 1], values[:, 2], values[:, 3])
    frame["margin_used"] = np.asarray(values[:, 4], dtype=np.float64).copy()
    frame["buying_power"] = np.asarray(values[:, 5], dtype=np.float64).copy()
    frame["open_orders"] = np.asarray(values[:, 6]).astype(np.int64)
    return frame


def account_equity_columns(time_ns: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """`account_equity_frame`'s columns as arrays (time: int64 ns UTC), without pandas."""
    cols: dict[str, np.ndarray] = {"time": np.asarray(time_ns, dtype=np.int64)}
    for k, name in enumerate(("equity", "cash", "positions_value", "gross_exposure", "margin_used", "buying_power")):
        cols[name] = np.ascontiguousarray(values[:, k], dtype=np.float64)
    cols["open_orders"] = np.asarray(values[:, 6]).astype(np.int64)
    return cols


_ENUM_TEXT: dict[object, str] = {}


def enum_text(member) -> str:
    """An enum member's value, looked up once per member (Enum.value is a slow descriptor)."""
    text = _ENUM_TEXT.get(member)
    if text is None:
        text = _ENUM_TEXT[member] = member.value
    return text


# an order's fields in `Order`'s field order (= `_OrderState.snapshot_fields()`): one row of the builder below
ORDER_FIELDS = ("id", "symbol", "quantity", "order_type", "limit_price", "stop_price", "trail_amount", "trail_percent",
                "tif", "status", "filled_quantity", "avg_fill_price", "submitted_at", "status_time", "reason",
                "strategy", "tag", "parent_id", "oco_group", "role")
_order_fields = attrgetter(*ORDER_FIELDS)


def order_columns(orders: Iterable) -> dict[str, list]:
    """`orders_frame`'s columns as lists (times int ns UTC, None for a missing value), without pandas."""
    return order_field_columns(map(_order_fields, orders))


def order_field_columns(rows: Iterable[tuple]) -> dict[str, list]:
    """`order_columns` of orders given as tuples of their fields (ORDER_FIELDS order): the one column
    builder of orders.parquet rows, for Order snapshots and for the broker's own order records. The
    rows are transposed once, then each column is made with one pass over its values."""
    rows = rows if isinstance(rows, list) else list(rows)
    return _order_columns([list(c) for c in zip(*rows, strict=True)]) if rows else _no_orders()


def _no_orders() -> dict[str, list]:
    return {name: [] for name in ORDER_COLUMNS}


def _order_columns(fields: list[list]) -> dict[str, list]:
    """orders.parquet columns from the ORDER_FIELDS columns of some orders."""
    (ids, symbols, quantities, order_types, limits, stops, trail_amounts, trail_percents, tifs, statuses, filled, avg,
     submitted, status_times, reasons, strategies, tags, parents, groups, roles) = fields
    return {"id": ids, "parent_id": parents, "oco_group": groups, "role": enum_texts(roles),
            "symbol": symbols, "type": enum_texts(order_types),
            "side": ["buy" if q > 0 else "sell" for q in quantities], "quantity": quantities,
            "filled_quantity": filled, "avg_fill_price": avg, "limit_price": limits, "stop_price": stops,
            "trail_amount": trail_amounts, "trail_percent": trail_percents, "tif": enum_texts(tifs),
            "submitted_at": submitted, "status": enum_texts(statuses), "status_time": status_times,
            "reason": reasons, "strategy": strategies, "tag": tags}


def enum_texts(members: list) -> list[str]:
    """The values of a column of enum members: each distinct member's value looked up once, the rows
    mapped through a dict (no Python call per row)."""
    texts = dict.fromkeys(members, "")
    for member in texts:
        texts[member] = enum_text(member)
    return list(map(texts.__getitem__, members))


def fill_columns(fills: Sequence[Fill]) -> dict[str, list]:
    """`fills_frame`'s columns as lists (time int ns UTC), without pandas."""
    return {
        "time": [f.time for f in fills],
        "order_id": [f.order_id for f in fills],
        "symbol": [f.symbol for f in fills],
        "side": ["buy" if f.quantity > 0 else "sell" for f in fills],
        "quantity": [f.quantity for f in fills],
        "price": [f.price for f in fills],
        "commission": [f.commission for f in fills],
        "strategy": [f.strategy for f in fills],
    }


def _optional(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def orders_frame(orders: Iterable) -> pd.DataFrame:
    """Orders (workstation.execution.orders.Order snapshots) as orders.parquet rows (ORDER_COLUMNS).

    Prices an order type does not have are NaN; submitted_at and status_time are UTC timestamps
    (submission: the clock time; status_time: when the order reached its status)."""
    rows = list(orders)
    return pd.DataFrame(
        {
            "id": np.array([o.id for o in rows], dtype=np.int64),
            "parent_id": pd.array([o.parent_id for o in rows], dtype="Int64"),
            "oco_group": pd.array([o.oco_group for o in rows], dtype="Int64"),
            "role": pd.Series([o.role.value for o in rows], dtype="string"),
            "symbol": pd.Series([o.symbol for o in rows], dtype="string"),
            "type": pd.Series([o.order_type.value for o in rows], dtype="string"),
            "side": pd.Series(["buy" if o.quantity > 0 else "sell" for o in rows], dtype="string"),
            "quantity": np.array([o.quantity for o in rows], dtype=np.float64),
            "filled_quantity": np.array([o.filled_quantity for o in rows], dtype=np.float64),
            "avg_fill_price": np.array([o.avg_fill_price for o in rows], dtype=np.float64),
            "limit_price": _optional([o.limit_price for o in rows]),
            "stop_price": _optional([o.stop_price for o in rows]),
            "trail_amount": _optional([o.trail_amount for o in rows]),
            "trail_percent": _optional([o.trail_percent for o in rows]),
            "tif": pd.Series([o.tif.value for o in rows], dtype="string"),
            "submitted_at": _ns_to_utc([o.submitted_at for o in rows]),
            "status": pd.Series([o.status.value for o in rows], dtype="string"),
            "status_time": _ns_to_utc([o.status_time for o in rows]),
            "reason": pd.Series([o.reason for o in rows], dtype="string"),
            "strategy": pd.Series([o.strategy for o in rows], dtype="string"),
            "tag": pd.Series([o.tag for o in rows], dtype="string"),
        }
    )


def fills_frame(fills: Iterable[Fill], symbols: Sequence[str] | None = None) -> pd.DataFrame:
    """Fills as fills.parquet rows (FILL_COLUMNS): time is the bar start of the fill bar (UTC)."""
    rows = list(fills)
    return pd.DataFrame(
        {
            "time": _ns_to_utc([f.time for f in rows]),
            "order_id": np.array([f.order_id for f in rows], dtype=np.int64),
            "symbol": pd.Series([f.symbol for f in rows], dtype="string"),
            "side": pd.Series(["buy" if f.quantity > 0 else "sell" for f in rows], dtype="string"),
            "quantity": np.array([f.quantity for f in rows], dtype=np.float64),
            "price": np.array([f.price for f in rows], dtype=np.float64),
            "commission": np.array([f.commission for f in rows], dtype=np.float64),
            "strategy": pd.Series([f.strategy for f in rows], dtype="string"),
        }
    )
