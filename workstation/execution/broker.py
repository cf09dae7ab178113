"""The simulated broker: fills approved market orders, keeps positions, cash, P&L, equity and trades.

Driven by the engine once per bar time, vectorised over the symbols of that bar time:

1. `on_bar_time(ts, sym_idx, open, close)` is called BEFORE strategies see the bars stamped `ts`.
   Orders pending on those symbols fill at their open (fill rule "next_open"), every symbol of the
   bar time is marked to market at its close, and one equity-curve point stamped `ts` (the bar
   START, not its end) is appended: it is the account valued at the closes of the bars starting at
   `ts`.
2. Strategies then run and the engine calls `submit(...)` for each approved decision. With
   "next_open" the order waits for the symbol's NEXT bar, whatever its time (next minute, after a
   gap, next session); an order made on a symbol's last bar never fills and stays in
   `pending_orders()`. With "close" it fills at once at `price_hint` (the signal bar's close).

Prices: a buy fills at price x (1 + slippage_bps/1e4), a sell at price x (1 - slippage_bps/1e4).
Commission per order: max(commission_min, commission_per_share x |qty|), or 0 when both are 0.
Identity kept at all times: equity = starting_cash + realized_pnl + unrealized_pnl() - commissions.

Trades: a round trip flat -> open -> flat of one symbol. Adding averages the entry price; a partial
reduction realizes P&L in proportion; the Trade is recorded when the position returns to 0 with
quantity = the largest absolute position of the round trip SIGNED by side (+ long, - short),
volume-weighted entry and exit prices, pnl net of the round trip's commissions, and the strategies
that traded it joined by "+". A fill that flips the sign closes the trade and opens a new one with
the remainder (its commission is split by quantity). Fills and trades are stamped with the bar
START of the fill bar.

Only symbols that actually fill run Python code per bar time; everything else is a few numpy ops.
Not thread-safe: one engine thread owns the broker.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.config.models import ExecutionConfig
from workstation.execution.results import equity_frame
from workstation.model.trading import Fill, Trade

log = logging.getLogger(__name__)

_FLAT_EPS = 1e-9
_INITIAL_CURVE_CAPACITY = 4096


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """A market order waiting for its symbol's next bar open; `time` is its submission time (ns UTC)."""

    symbol: str
    quantity: float
    time: int
    strategy: str


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position not flat at the time asked; `entry_time` is the bar start of its opening fill."""

    symbol: str
    quantity: float
    avg_price: float
    last_price: float
    unrealized_pnl: float
    entry_time: int
    strategy: str


@dataclass(slots=True)
class _RoundTrip:
    """Book-keeping of one symbol's open round trip (flat -> open -> flat)."""

    side: float
    entry_time: int
    strategies: list[str]
    entry_qty: float = 0.0
    entry_value: float = 0.0
    exit_qty: float = 0.0
    exit_value: float = 0.0
    max_abs_position: float = 0.0
    realized: float = 0.0
    commission: float = 0.0

    def add_strategy(self, strategy: str) -> None:
        if strategy not in self.strategies:
            self.strategies.append(strategy)


class SimulatedBroker:
    """Market-order broker simulation over a fixed symbol list (positions indexed like `symbols`)."""

    def __init__(self, symbols: list[str], config: ExecutionConfig | None = None) -> None:
        if not symbols:
            raise ValueError("SimulatedBroker needs at least one symbol, got an empty list")
        if len(set(symbols)) != len(symbols):
            dup = sorted({s for s in symbols if list(symbols).count(s) > 1})
            raise ValueError(f"SimulatedBroker symbols must be unique; duplicated: {dup}")
        self.symbols: tuple[str, ...] = tuple(symbols)
        self.config: ExecutionConfig = config if config is not None else ExecutionConfig()
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._slip = self.config.slippage_bps / 1e4
        self._per_share = self.config.commission_per_share
        self._commission_min = self.config.commission_min
        self._close_rule = self.config.fill_rule == "close"
        self.reset()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Back to the starting state: flat, starting cash, no orders, fills, trades or equity points."""
        n = len(self.symbols)
        self._positions = np.zeros(n, dtype=np.float64)
        self._abs_positions = np.zeros(n, dtype=np.float64)
        self._avg_price = np.zeros(n, dtype=np.float64)
        self._last_price = np.zeros(n, dtype=np.float64)
        self._realized = np.zeros(n, dtype=np.float64)
        self._commissions = np.zeros(n, dtype=np.float64)
        self._cash = float(self.config.starting_cash)
        self._pending_mask = np.zeros(n, dtype=bool)
        self._pending: dict[int, list[PendingOrder]] = {}
        self._round_trips: dict[int, _RoundTrip] = {}
        self._fills: list[Fill] = []
        self._trades: list[Trade] = []
        self._current_ts: int | None = None
        cap = _INITIAL_CURVE_CAPACITY
        self._curve_time = np.empty(cap, dtype=np.int64)
        self._curve_values = np.empty((cap, 4), dtype=np.float64)
        self._curve_len = 0

    def index_of(self, symbol: str) -> int:
        """Position of `symbol` in `symbols`; KeyError naming it when unknown."""
        try:
            return self._index[symbol]
        except KeyError:
            raise KeyError(f"symbol {symbol!r} is not traded by this broker {list(self.symbols)}") from None

    @property
    def positions(self) -> np.ndarray:
        """Signed position per symbol (shares), indexed like `symbols` (a read-only view)."""
        view = self._positions.view()
        view.flags.writeable = False
        return view

    def position(self, symbol: str) -> float:
        """Signed position of one symbol (shares)."""
        return float(self._positions[self.index_of(symbol)])

    @property
    def cash(self) -> float:
        return self._cash

    @property
    def last_prices(self) -> np.ndarray:
        """Last close per symbol (0 before its first bar), indexed like `symbols`."""
        view = self._last_price.view()
        view.flags.writeable = False
        return view

    @property
    def realized_pnl(self) -> float:
        """Realized price P&L of all symbols, before commissions."""
        return float(self._realized.sum())

    @property
    def realized_pnl_by_symbol(self) -> np.ndarray:
        """Realized price P&L per symbol (before commissions), indexed like `symbols`."""
        return self._realized.copy()

    @property
    def commissions(self) -> float:
        """Total commissions paid."""
        return float(self._commissions.sum())

    @property
    def commissions_by_symbol(self) -> np.ndarray:
        return self._commissions.copy()

    def unrealized_pnl(self) -> float:
        """P&L of the open positions marked at the last closes."""
        return float(np.dot(self._positions, self._last_price) - np.dot(self._positions, self._avg_price))

    def equity(self) -> float:
        """Cash plus the open positions valued at the last closes."""
        return self._cash + float(np.dot(self._positions, self._last_price))

    @property
    def trades(self) -> list[Trade]:
        """Closed round trips in the order they closed."""
        return list(self._trades)

    @property
    def fills(self) -> list[Fill]:
        """Every fill in execution order."""
        return list(self._fills)

    def pending_orders(self) -> list[PendingOrder]:
        """Orders not filled yet (at the end of a run: the unfilled ones), by symbol then submission."""
        return [order for i in sorted(self._pending) for order in self._pending[i]]

    def pending_quantity(self, symbol_index: int) -> float:
        """Net quantity of the orders still pending on one symbol (0 when none)."""
        orders = self._pending.get(symbol_index)
        return float(sum(o.quantity for o in orders)) if orders else 0.0

    def open_positions(self) -> list[OpenPosition]:
        """Positions not flat now (a position open at the end of a run is not a trade)."""
        out = []
        for i in np.flatnonzero(self._positions):
            i = int(i)
            qty = float(self._positions[i])
            trip = self._round_trips[i]
            out.append(
                OpenPosition(
                    symbol=self.symbols[i],
                    quantity=qty,
                    avg_price=float(self._avg_price[i]),
                    last_price=float(self._last_price[i]),
                    unrealized_pnl=qty * float(self._last_price[i] - self._avg_price[i]),
                    entry_time=trip.entry_time,
                    strategy="+".join(trip.strategies),
                )
            )
        return out

    def equity_curve(self) -> pd.DataFrame:
        """One row per bar time: time (bar start, UTC), equity, cash, positions_value, gross_exposure."""
        n = self._curve_len
        v = self._curve_values[:n]
        return equity_frame(self._curve_time[:n], v[:, 0], v[:, 1], v[:, 2], v[:, 3])

    # ----------------------------------------------------------------- orders

    def submit(
        self, symbol_index: int, quantity: float, time_ns: int, strategy: str, price_hint: float
    ) -> Fill | None:
        """Accept an approved market order (+ buy, - sell).

        "next_open": queued for the symbol's next bar open; returns None. "close": filled now at
        `price_hint` (the signal bar's close), stamped with the start of the current bar time (the
        last `on_bar_time`; `time_ns` only before any bar); returns the Fill and refreshes the
        current equity point. `time_ns` is the decision time (kept on pending orders). A zero
        quantity is ignored.
        """
        if not 0 <= symbol_index < len(self.symbols):
            raise IndexError(f"symbol_index {symbol_index} outside 0..{len(self.symbols) - 1}")
        quantity = float(quantity)
        if not math.isfinite(quantity):
            raise ValueError(
                f"order quantity for {self.symbols[symbol_index]} must be finite, got {quantity}"
            )
        if quantity == 0.0:
            log.debug("ignored a zero-quantity order for %s from %s", self.symbols[symbol_index], strategy)
            return None
        if self._close_rule:
            price = float(price_hint)
            if not math.isfinite(price) or price <= 0:
                raise ValueError(
                    f"price_hint for {self.symbols[symbol_index]} must be a positive price with fill_rule "
                    f"'close', got {price_hint}"
                )
            self._last_price[symbol_index] = price
            stamp = self._current_ts if self._current_ts is not None else int(time_ns)
            fill = self._execute(symbol_index, quantity, price, stamp, strategy)
            self._refresh_last_point()
            return fill
        order = PendingOrder(self.symbols[symbol_index], quantity, int(time_ns), strategy)
        self._pending.setdefault(symbol_index, []).append(order)
        self._pending_mask[symbol_index] = True
        return None

    def on_bar_time(
        self, ts_ns: int, sym_idx: np.ndarray, open_: np.ndarray, close: np.ndarray
    ) -> list[Fill]:
        """Process the bars starting at `ts_ns`: fill pending orders at their opens, mark to market.

        `sym_idx` (int64), `open_` and `close` are aligned arrays for the symbols that have a bar at
        this time. Appends one equity point stamped `ts_ns` (bar start). Returns this bar time's fills.
        """
        ts_ns = int(ts_ns)
        self._current_ts = ts_ns
        fills: list[Fill] = []
        if self._pending:
            hits = np.flatnonzero(self._pending_mask[sym_idx])
            for k in hits:
                i = int(sym_idx[k])
                price = float(open_[k])
                orders = self._pending.pop(i)
                self._pending_mask[i] = False
                self._last_price[i] = price
                for order in orders:
                    fills.append(self._execute(i, order.quantity, price, ts_ns, order.strategy))
        self._last_price[sym_idx] = close
        self._append_point(ts_ns)
        return fills

    # --------------------------------------------------------------- internals

    def _commission(self, quantity: float) -> float:
        if self._per_share == 0.0 and self._commission_min == 0.0:
            return 0.0
        return max(self._commission_min, self._per_share * abs(quantity))

    def _execute(self, i: int, qty: float, market_price: float, ts_ns: int, strategy: str) -> Fill:
        """Fill `qty` of symbol `i` at `market_price` plus adverse slippage; update books and trades."""
        price = market_price * (1.0 + self._slip) if qty > 0 else market_price * (1.0 - self._slip)
        commission = self._commission(qty)
        self._cash -= qty * price + commission
        self._commissions[i] += commission
        fill = Fill(self.symbols[i], qty, price, ts_ns, commission, strategy)
        self._fills.append(fill)

        pos = float(self._positions[i])
        new_pos = pos + qty
        if abs(new_pos) < _FLAT_EPS:
            new_pos = 0.0
        trip = self._round_trips.get(i)

        if pos == 0.0:
            trip = _RoundTrip(side=math.copysign(1.0, qty), entry_time=ts_ns, strategies=[strategy])
            self._round_trips[i] = trip
            self._add_to(trip, i, pos, qty, price, commission)
        elif (pos > 0) == (qty > 0):
            trip.add_strategy(strategy)
            self._add_to(trip, i, pos, qty, price, commission)
        else:
            trip.add_strategy(strategy)
            closed = min(abs(qty), abs(pos))
            pnl = (price - float(self._avg_price[i])) * closed * trip.side
            self._realized[i] += pnl
            trip.realized += pnl
            trip.exit_qty += closed
            trip.exit_value += closed * price
            remainder = abs(qty) - closed
            closing_commission = commission * (closed / abs(qty))
            trip.commission += closing_commission
            if new_pos == 0.0 or remainder > _FLAT_EPS:
                self._close_trip(i, trip, ts_ns)
            if remainder > _FLAT_EPS:
                new_trip = _RoundTrip(side=math.copysign(1.0, qty), entry_time=ts_ns, strategies=[strategy])
                self._round_trips[i] = new_trip
                self._add_to(
                    new_trip, i, 0.0, math.copysign(remainder, qty), price, commission - closing_commission
                )
            elif new_pos == 0.0:
                self._avg_price[i] = 0.0
        self._positions[i] = new_pos
        self._abs_positions[i] = abs(new_pos)
        return fill

    def _add_to(
        self, trip: _RoundTrip, i: int, pos: float, qty: float, price: float, commission: float
    ) -> None:
        """Open or increase a position: volume-weighted average entry price."""
        new_abs = abs(pos) + abs(qty)
        self._avg_price[i] = (float(self._avg_price[i]) * abs(pos) + price * abs(qty)) / new_abs
        trip.entry_qty += abs(qty)
        trip.entry_value += abs(qty) * price
        trip.max_abs_position = max(trip.max_abs_position, new_abs)
        trip.commission += commission

    def _close_trip(self, i: int, trip: _RoundTrip, ts_ns: int) -> None:
        self._trades.append(
            Trade(
                symbol=self.symbols[i],
                quantity=trip.side * trip.max_abs_position,
                entry_time=trip.entry_time,
                entry_price=trip.entry_value / trip.entry_qty,
                exit_time=ts_ns,
                exit_price=trip.exit_value / trip.exit_qty,
                pnl=trip.realized - trip.commission,
                commission=trip.commission,
                strategy="+".join(trip.strategies),
            )
        )
        del self._round_trips[i]

    def _values_now(self) -> tuple[float, float, float, float]:
        positions_value = float(np.dot(self._positions, self._last_price))
        gross = float(np.dot(self._abs_positions, self._last_price))
        return self._cash + positions_value, self._cash, positions_value, gross

    def _append_point(self, ts_ns: int) -> None:
        n = self._curve_len
        if n == len(self._curve_time):
            self._curve_time = np.concatenate([self._curve_time, np.empty(n, dtype=np.int64)])
            self._curve_values = np.concatenate([self._curve_values, np.empty((n, 4), dtype=np.float64)])
        self._curve_time[n] = ts_ns
        self._curve_values[n] = self._values_now()
        self._curve_len = n + 1

    def _refresh_last_point(self) -> None:
        """After a "close" fill: the current bar time's equity point is recomputed so it includes the fill."""
        if self._curve_len and self._curve_time[self._curve_len - 1] == self._current_ts:
            self._curve_values[self._curve_len - 1] = self._values_now()
