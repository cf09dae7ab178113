"""The simulated broker: orders (market, limit, stop, stop-limit, trailing stop; day/GTC; brackets,
OCO groups; cancel and modify), the account (cash or margin, buying power, shorting), positions,
P&L, fills, trades and the equity curve.

Driven by the engine once per bar time, vectorised over symbols and working orders:

1. `on_bar_time(ts, sym_idx, open, close, high=, low=, volume=)` is called BEFORE strategies see
   the bars stamped `ts`. Every active order whose symbol has a bar now and that was submitted
   before this bar time is tested with the fill rules of `fill_model` (numpy over those orders
   only; Python runs only for the orders that fill), trailing stops move with the bar's close,
   every symbol of the bar time is marked to market at its close, and one equity-curve point
   stamped `ts` (the bar START) is appended.
2. Strategies then run; orders they submit are eligible from the symbol's NEXT bar, whatever its
   time (next minute, after a gap, next session), never on the bar they were made on. With fill
   rule "close" a market order fills at once at the symbol's last close (the signal bar's close).
3. `end_session(time)` after a session's last bar expires the day orders.

Orders on one bar time fill in the order of the bar time's rows (symbols), then by order id
(submission order), as backtrader walks its pending list. Bracket exits are held until their entry
fills and are eligible from the bar after the entry fill; when the stop loss and the take profit
of one bracket could both fill on one bar, the stop loss fills (worst case) unless the config asks
to look at a finer interval the store holds (`intrabar_bars`). An exit's complete fill cancels its
sibling; cancelling, expiring or rejecting any order of a bracket or OCO group cancels the group's
other open orders, and any fill of an OCO member cancels the other members (backtrader's rules).

Quote fills (`fill_prices: "quotes"`, given `quote_bars`, the session's QuoteBars): a buy order is
tested against the fill bar's ASK bar and a sell order against its BID bar (open, high, low, close of
that side of the quote bar stamped like the trade bar), with the same rules as on trade bars: a market
order fills at the ask (buy) or bid (sell) open of the fill bar, or with fill rule "close" at the ask or
bid close of the signal bar; a buy limit L fills at the ask open when it is <= L, else at L when the
ask low reaches it (sells mirrored on the bid). A symbol whose fill bar has no quote bar fills at the
trade bar's prices and is counted in `quote_fallbacks`. Trailing stops move with the trade closes and
positions are marked at the trade closes in both modes.

Prices: a buy fills at price x (1 + slippage_bps/1e4), a sell at price x (1 - slippage_bps/1e4),
except that a limit or stop-limit order never fills worse than its limit. Commission per fill:
max(commission_min, commission_per_share x |qty|), or 0 when both are 0.

Account: equity = cash + positions value (at the last closes). Gross exposure = sum |position| x
last. Margin used = gross / margin_multiplier. Buying power = margin_multiplier x equity - gross -
buying power reserved by working orders (an order reserves the exposure it would add, valued at its
limit, stop or the last close, plus commission; an OCO group reserves its largest member). A
cash account (multiplier 1) holding only longs has buying power = cash - reserved. An order is
refused at submission when it needs more buying power than is left, or would sell short while
`allow_short` is off; the same checks run again at the fill (a gap can make a fill dearer), and a
fill that fails them rejects the order instead (nothing changes). Identity kept at all times:
equity = starting_cash + realized_pnl + unrealized_pnl() - commissions.

Trades: a round trip flat -> open -> flat of one symbol. Adding averages the entry price; a partial
reduction realizes P&L in proportion; the Trade is recorded when the position returns to 0 with
quantity = the largest absolute position of the round trip SIGNED by side (+ long, - short),
volume-weighted entry and exit prices, pnl net of the round trip's commissions, and the strategies
that traded it joined by "+". A fill that flips the sign closes the trade and opens a new one with
the remainder (its commission is split by quantity). Fills and trades are stamped with the bar
START of the fill bar.

Not thread-safe: one engine thread owns the broker.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from workstation.execution import fill_model
from workstation.execution.order_book import OrderBookArrays
from workstation.execution.orders import (
    FINAL_STATUSES,
    TYPE_CODES,
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
    checked_price,
    checked_quantity,
)
from workstation.execution.records import (
    account_equity_frame,
    fills_frame,
    order_field_columns,
    orders_frame,
)
from workstation.execution.ticks import conform_price
from workstation.model.history import History
from workstation.model.trading import Fill, Trade
from workstation.session.quote_bars import ASK_CLOSE, ASK_OPEN, BID_CLOSE, BID_OPEN

if TYPE_CHECKING:
    import pandas as pd

    from workstation.config.models import ExecutionConfig
    from workstation.session.quote_bars import QuoteBars

log = logging.getLogger(__name__)

_FLAT_EPS = 1e-9
# the prices of an order that execution.off_tick_prices puts on the tick (trail_percent is not a price)
TICK_PRICE_FIELDS = ("limit_price", "stop_price", "trail_amount", "stop_loss", "take_profit")
ORPHAN_EXIT = "orphan exit: "      # the reason of an exit execution.cancel_orphan_exits cancelled starts so
_MONEY_EPS = 1e-6
_INITIAL_CURVE_CAPACITY = 4096
_CURVE_COLUMNS = 7  # equity, cash, positions_value, gross_exposure, margin_used, buying_power, open_orders
# OrderChange records are made by tuple's constructor: NamedTuple's own `__new__` is a Python function
# (~0.5 us a call, ~24,000 changes in a 100-symbol replay the GUI observes)
_new_tuple = tuple.__new__

# finer bars of one symbol over one bar: (open, high, low, close) arrays in time order, or None
IntrabarBars = Callable[[str, int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None]


def _row_then_id(hit: tuple) -> tuple[int, int]:
    return hit[0], hit[1]


class OrderRefused(Exception):
    """A valid request the account or the risk rules refuse (a modify over buying power...)."""


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """An open order (legacy view): symbol, remaining signed quantity, submission time (ns), strategy."""

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


@dataclass(slots=True)
class _OrderState:
    """The broker's mutable record of one order (snapshots of it are `Order`)."""

    id: int
    symbol_index: int
    symbol: str
    quantity: float
    order_type: OrderType
    limit_price: float | None
    stop_price: float | None
    trail_amount: float | None
    trail_percent: float | None
    tif: TimeInForce
    status: OrderStatus
    submitted_at: int
    status_time: int
    strategy: str
    tag: str | None = None
    parent_id: int | None = None
    oco_group: int | None = None
    role: OrderRole = OrderRole.SINGLE
    reason: str = ""
    filled: float = 0.0
    fill_value: float = 0.0
    slot: int = -1               # its slot in the order book; -1 for market orders (and final ones)
    reserved: float = 0.0        # buying power a market order holds back (book orders: in the book)
    in_book: bool = False        # open: in the order book or the market lane
    children: tuple[int, ...] = ()   # bracket exits of an entry
    # a market-on-close order: the closing bar time it is for (None: the next session's), and the close
    # of its symbol's last bar before that (NaN: none yet; `annotated_at` its bar start)
    closing_bar: int | None = None
    annotated: float = math.nan
    annotated_at: int = -1

    def snapshot(self) -> Order:
        return Order(*self.snapshot_fields())

    def snapshot_fields(self) -> tuple:
        """The fields of `snapshot()`, in Order's field order (a plain tuple: cheap per order change)."""
        avg = self.fill_value / abs(self.filled) if self.filled else math.nan
        return (self.id, self.symbol, self.quantity, self.order_type, self.limit_price, self.stop_price,
                self.trail_amount, self.trail_percent, self.tif, self.status, self.filled, avg,
                self.submitted_at, self.status_time, self.reason, self.strategy, self.tag, self.parent_id,
                self.oco_group, self.role)

    def change(self, kind: str, time_ns: int, fill: Fill | None = None) -> OrderChange:
        """The OrderChange record of this order now (`fields` = `snapshot_fields()`), made in one call
        without OrderChange's Python-level constructor: the broker makes one per order change while
        someone observes orders (the GUI)."""
        filled = self.filled
        return _new_tuple(OrderChange, (kind, (
            self.id, self.symbol, self.quantity, self.order_type, self.limit_price, self.stop_price,
            self.trail_amount, self.trail_percent, self.tif, self.status, filled,
            self.fill_value / abs(filled) if filled else math.nan, self.submitted_at, self.status_time,
            self.reason, self.strategy, self.tag, self.parent_id, self.oco_group, self.role), time_ns, fill))


def _is_final(st: _OrderState) -> bool:
    """An order record is settled (never changed again) once final."""
    return st.status in FINAL_STATUSES


def order_state_columns(states: list[_OrderState]) -> dict[str, list]:
    """`records.order_columns` of the orders' snapshots, read straight from the broker's records
    (final ones: nothing changes them any more), without an Order object per order."""
    return order_field_columns(st.snapshot_fields() for st in states)


class SimulatedBroker:
    """Broker simulation over a fixed symbol list (positions indexed like `symbols`)."""

    def __init__(self, symbols: list[str], config: ExecutionConfig | None = None,
                 intrabar_bars: IntrabarBars | None = None, quote_bars: QuoteBars | None = None) -> None:
        if not symbols:
            raise ValueError("SimulatedBroker needs at least one symbol, got an empty list")
        if len(set(symbols)) != len(symbols):
            dup = sorted({s for s in symbols if list(symbols).count(s) > 1})
            raise ValueError(f"SimulatedBroker symbols must be unique; duplicated: {dup}")
        self.symbols: tuple[str, ...] = tuple(symbols)
        if config is None:
            from workstation.config.models import ExecutionConfig

            config = ExecutionConfig()
        self.config: ExecutionConfig = config
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._slip = self.config.slippage_bps / 1e4
        self._per_share = self.config.commission_per_share
        self._commission_min = self.config.commission_min
        self._close_rule = self.config.fill_rule == "close"
        self._multiplier = float(self.config.margin_multiplier)
        self._allow_short = bool(self.config.allow_short)
        self._cancel_orphans = bool(self.config.cancel_orphan_exits)
        # execution.off_tick_prices: each symbol's tick (NaN: none, its prices are kept), None when every
        # price is kept as given (the rule is keep, or no symbol has a tick)
        ticks = np.array([math.nan if t is None else float(t) for t in map(self.config.tick_for, self.symbols)])
        self._off_tick = self.config.off_tick_prices
        self._ticks = None if self._off_tick == "keep" or np.isnan(ticks).all() else ticks
        pct = self.config.participation_limit_pct
        self._participation = float(pct) / 100.0 if pct else 0.0
        self.intrabar_bars = intrabar_bars if self.config.intrabar_resolution == "finer_interval" else None
        # quote fills: the session's quote bars (None = fills at trade prices)
        self.quote_bars = quote_bars if self.config.fill_prices == "quotes" else None
        self.record_events = False   # set by the engine when someone reads order events
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
        self._capacity_cache: float | None = None   # multiplier x equity - gross; None when stale
        # (equity, cash, positions value, gross exposure) of `_values_now`; None when stale (with the capacity)
        self._values_cache: tuple[float, float, float, float] | None = None
        self._book = OrderBookArrays(n)
        # market orders skip the book: per symbol in submission order, with a mask for the bar-time test
        self._market: dict[int, list[_OrderState]] = {}
        self._market_mask = np.zeros(n, dtype=bool)
        self._market_reserved = 0.0     # held back by the market and market-on-close lanes' orders
        # market-on-close orders: per symbol in submission order, with a mask for the bar-time test
        self._on_close: dict[int, list[_OrderState]] = {}
        self._on_close_mask = np.zeros(n, dtype=bool)
        self._closing_bar: int | None = None      # this session's closing bar time (start_session)
        # the run's histories (append-only; snapshots keep them by reference, see History)
        self._orders: History[_OrderState] = History(settled=_is_final)
        self._open_by_symbol: dict[int, dict[int, _OrderState]] = {}
        self._open_count = 0
        self._trailing_open = 0
        self._oco_groups: dict[int, list[int]] = {}
        self._events: list[OrderChange] = []
        self._finalized: History[_OrderState] = History()      # final orders since the last take_finalized_*
        self._fills_taken = 0
        self._trades_taken = 0
        self._curve_taken = 0
        self._round_trips: dict[int, _RoundTrip] = {}
        self._fills: History[Fill] = History()
        self._trades: History[Trade] = History()
        self._current_ts: int | None = None
        self._status_counts: dict[OrderStatus, int] = dict.fromkeys(FINAL_STATUSES, 0)
        cap = _INITIAL_CURVE_CAPACITY
        self._curve_time = np.empty(cap, dtype=np.int64)
        self._curve_values = np.empty((cap, _CURVE_COLUMNS), dtype=np.float64)
        self._curve_len = 0
        # quote fills: this bar time's quote bars (rows aligned with the bar time), the last bid/ask close
        # per symbol (NaN where the symbol's last bar had no quote bar) and the fills made at trade prices
        self._bar_quotes: np.ndarray | None = None
        self._bid_close = np.full(n, np.nan)
        self._ask_close = np.full(n, np.nan)
        self.quote_fills = 0
        self.quote_fallbacks = 0

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

    def position_at(self, symbol_index: int) -> float:
        """Signed position of the symbol at `symbol_index` (shares)."""
        return self._positions.item(symbol_index)

    def last_price_at(self, symbol_index: int) -> float:
        """Last close (or fill price) of the symbol at `symbol_index`, 0 before its first bar."""
        return self._last_price.item(symbol_index)

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
    def avg_prices(self) -> np.ndarray:
        """Average entry price of each open position (0 when flat), indexed like `symbols`."""
        view = self._avg_price.view()
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
        return float((self._positions @ self._last_price) - (self._positions @ self._avg_price))

    def equity(self) -> float:
        """Cash plus the open positions valued at the last closes."""
        return self._cash + float(self._positions @ self._last_price)

    def gross_exposure(self) -> float:
        """Sum of |position| x last close."""
        return float(self._abs_positions @ self._last_price)

    def margin_used(self) -> float:
        """Gross exposure / margin multiplier: the equity the positions tie up."""
        return self.gross_exposure() / self._multiplier

    def buying_power(self) -> float:
        """Exposure that can still be added: multiplier x equity - gross exposure - reserved by orders."""
        return self._capacity() - self._reserved_total()

    def _capacity(self) -> float:
        """multiplier x equity - gross exposure, computed once per change of cash, positions or prices."""
        capacity = self._capacity_cache
        if capacity is None:
            last = self._last_price
            # a numpy float64, as the dot product makes it (the stubs type a 1-D @ 1-D as an array)
            capacity = self._capacity_cache = cast(float, self._multiplier * (self._cash + self._positions @ last)
                                                   - self._abs_positions @ last)
        return capacity

    def _reserved_total(self, exact: bool = False) -> float:
        market = self._market_reserved if self._market or self._on_close else 0.0
        return self._book.reserved_total(exact) + market

    @property
    def open_order_count(self) -> int:
        """Orders working or held (bracket exits waiting for their entry)."""
        return self._open_count

    @property
    def trades(self) -> list[Trade]:
        """Closed round trips in the order they closed."""
        return list(self._trades)

    @property
    def fills(self) -> list[Fill]:
        """Every fill in execution order."""
        return list(self._fills)

    def pending_orders(self) -> list[PendingOrder]:
        """Open orders (at the end of a run: the unfilled ones) by symbol, then submission."""
        return [PendingOrder(st.symbol, st.quantity - st.filled, st.submitted_at, st.strategy)
                for i in sorted(self._open_by_symbol) for st in self._open_by_symbol[i].values()]

    def trip_owner(self, symbol_index: int) -> str:
        """The first strategy of the symbol's open round trip (whose trade it is); "" when flat."""
        trip = self._round_trips.get(symbol_index) if self._positions[symbol_index] else None
        return trip.strategies[0] if trip is not None else ""

    def pending_quantity(self, symbol_index: int) -> float:
        """Net remaining quantity of one symbol's open orders that are not bracket exits (0 when none)."""
        orders = self._open_by_symbol.get(symbol_index)
        if not orders:
            return 0.0
        return float(sum(st.quantity - st.filled for st in orders.values()
                         if st.role is OrderRole.SINGLE or st.role is OrderRole.ENTRY))

    def open_positions(self) -> list[OpenPosition]:
        """Positions not flat now (a position open at the end of a run is not a trade)."""
        out = []
        for index in np.flatnonzero(self._positions):
            i = int(index)
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
        """One row per bar time: time (bar start, UTC), equity, cash, positions_value, gross_exposure,
        margin_used, buying_power, open_orders."""
        n = self._curve_len
        return account_equity_frame(self._curve_time[:n], self._curve_values[:n])

    def equity_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(time ns, values) of the whole equity curve, columns as `take_equity_points`' (views: read
        them once the run has ended)."""
        n = self._curve_len
        return self._curve_time[:n], self._curve_values[:n]

    def account_snapshot(self) -> AccountSnapshot:
        """The account now (stamped with the current bar time's start)."""
        return AccountSnapshot(*self.account_fields())

    def account_fields(self) -> tuple:
        """The fields of `account_snapshot()`, in AccountSnapshot's order, as a plain tuple (the arrays
        copied): the account now, for an observer that makes the snapshot of only some of them in its
        own thread (a frozen dataclass costs ~6 us to make; one a bar time for the GUI)."""
        equity, cash, positions_value, gross = self._values_now()
        return (self._current_ts if self._current_ts is not None else 0, equity, cash, positions_value,
                gross / self._multiplier, self._multiplier * equity - gross - self._reserved_total(exact=True),
                self._open_count, self.symbols, self._positions.copy(), self._avg_price.copy(),
                self._last_price.copy())

    # ----------------------------------------------------------------- orders: queries

    def order(self, order_id: int) -> Order | None:
        """Snapshot of an order of this run, None for an unknown id."""
        st = self._state(order_id)
        return st.snapshot() if st is not None else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Working and held orders (of one symbol, or all), by symbol index then order id."""
        if symbol is not None:
            orders = self._open_by_symbol.get(self.index_of(symbol))
            return [st.snapshot() for st in orders.values()] if orders else []
        return [st.snapshot() for i in sorted(self._open_by_symbol) for st in self._open_by_symbol[i].values()]

    def orders(self) -> list[Order]:
        """Every order of the run, by id."""
        return [st.snapshot() for st in self._orders]

    def order_status_counts(self) -> dict[str, int]:
        """Orders by final status (filled, cancelled, expired, rejected) plus the ones still open."""
        counts = {s.value: self._status_counts[s] for s in (OrderStatus.FILLED, OrderStatus.CANCELLED,
                                                            OrderStatus.EXPIRED, OrderStatus.REJECTED)}
        counts["open"] = self._open_count
        return counts

    def take_events(self) -> list[OrderEvent]:
        """Order events since the last call (only recorded while `record_events` is on)."""
        return [change.event() for change in self.take_changes()]

    def take_changes(self) -> list[OrderChange]:
        """The light records of the order events since the last call (`OrderChange.event()` is the
        OrderEvent); only recorded while `record_events` is on."""
        changes, self._events = self._events, []
        return changes

    def take_finalized_orders(self) -> pd.DataFrame:
        """orders.parquet rows of the orders that became final since the last call."""
        return orders_frame(self.take_finalized_order_snapshots())

    def take_finalized_states(self) -> list[_OrderState]:
        """The records of the orders that became final since the last call: final records are never
        changed again, so another thread may read them (`order_state_columns`)."""
        done, self._finalized = self._finalized, History()
        return done

    def take_finalized_order_snapshots(self) -> list[Order]:
        """Snapshots of the orders that became final since the last call (`orders_frame` makes
        them orders.parquet rows, in any thread)."""
        done, self._finalized = self._finalized, History()
        return [st.snapshot() for st in done]

    def open_orders_frame(self) -> pd.DataFrame:
        """orders.parquet rows of the orders open now (written at the end of a run)."""
        return orders_frame(self.open_order_snapshots())

    def open_order_snapshots(self) -> list[Order]:
        """Snapshots of the orders open now, by symbol, then submission."""
        return [st.snapshot() for i in sorted(self._open_by_symbol) for st in self._open_by_symbol[i].values()]

    def take_trades(self) -> list[Trade]:
        """The round trips closed since the last call (the run folder's trades parts)."""
        start, self._trades_taken = self._trades_taken, len(self._trades)
        return self._trades[start:]

    def take_equity_points(self, hold_last: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(time ns, values) copies of the equity curve's rows since the last call (for
        `account_equity_frame`). `hold_last` keeps the newest row back for a later call: a fill at
        the close of the current bar time may still recompute it."""
        start = self._curve_taken
        end = max(start, self._curve_len - 1) if hold_last else self._curve_len
        self._curve_taken = end
        return self._curve_time[start:end].copy(), self._curve_values[start:end].copy()

    def take_fills(self) -> pd.DataFrame:
        """fills.parquet rows of the fills since the last call."""
        return fills_frame(self.take_fill_records(), self.symbols)

    def take_fill_records(self) -> list[Fill]:
        """The fills since the last call (`fills_frame` makes them fills.parquet rows, in any thread)."""
        start, self._fills_taken = self._fills_taken, len(self._fills)
        return self._fills[start:]

    def _state(self, order_id: object) -> _OrderState | None:
        if isinstance(order_id, bool) or not isinstance(order_id, int | np.integer):
            return None
        k = int(order_id) - 1
        return self._orders[k] if 0 <= k < len(self._orders) else None

    # ----------------------------------------------------------------- orders: checks

    def reference_price(self, request: OrderRequest, symbol_index: int) -> float:
        """The price an order is valued at before it fills: its limit, else its stop, else the last close."""
        if request.limit_price is not None:
            return request.limit_price
        if request.stop_price is not None:
            return request.stop_price
        return float(self._last_price[symbol_index])

    def validate(self, request: OrderRequest) -> int:
        """Checks that need the broker (symbol, prices known, bracket sides); the symbol index, else
        InvalidOrder with the reason."""
        i = self._index.get(request.symbol)
        if i is None:
            raise InvalidOrder(f"symbol {request.symbol!r} is not in this run's symbols")
        last = float(self._last_price[i])
        if request.order_type in (OrderType.MARKET, OrderType.TRAILING_STOP, OrderType.MARKET_ON_CLOSE) and not last > 0:
            raise InvalidOrder(f"{request.symbol} has no price yet: a {request.order_type.value} order needs "
                               "the symbol's last close")
        if request.order_type is OrderType.TRAILING_STOP and (request.stop_loss or request.take_profit):
            raise InvalidOrder("a trailing_stop order cannot be the entry of a bracket")
        if request.stop_loss is not None or request.take_profit is not None:
            entry = self.reference_price(request, i)
            buy = request.quantity > 0
            side = "buy" if buy else "sell"
            if request.stop_loss is not None and (request.stop_loss >= entry if buy else request.stop_loss <= entry):
                raise InvalidOrder(f"stop_loss {request.stop_loss:g} of a {side} must be {'below' if buy else 'above'} "
                                   f"the entry price {entry:g}")
            if request.take_profit is not None and (
                    request.take_profit <= entry if buy else request.take_profit >= entry):
                raise InvalidOrder(f"take_profit {request.take_profit:g} of a {side} must be "
                                   f"{'above' if buy else 'below'} the entry price {entry:g}")
        return i

    def tick_prices(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        """`request` under `execution.off_tick_prices`: its prices (limit, stop, stop loss, take profit,
        trail amount) put on the tick (round), or with the reason the order is refused when one is off
        it (reject); as given, with "", when the rule is keep. The desk applies it to every order
        request (a strategy's, a hand order) before `validate`."""
        i = self._index.get(request.symbol)
        if self._ticks is None or i is None:         # an unknown symbol: `validate` says so
            return request, ""
        prices = {name: getattr(request, name) for name in TICK_PRICE_FIELDS if getattr(request, name) is not None}
        why = self._on_ticks(i, prices)
        return (request, why) if why else (dataclasses.replace(request, **prices), "")

    def _on_ticks(self, i: int, prices: dict[str, float]) -> str:
        """`prices` (TICK_PRICE_FIELDS names; others pass) of symbol `i` put on its tick in place, or why
        the order is refused (the first price off the tick under reject; "" otherwise)."""
        assert self._ticks is not None
        tick = self._ticks.item(i)
        if math.isnan(tick):
            return ""
        for name in [k for k in prices if k in TICK_PRICE_FIELDS]:
            prices[name], why = conform_price(name, prices[name], tick, self._off_tick)
            if why:
                return why
        return ""

    def _commission(self, quantity: float) -> float:
        if self._per_share == 0.0 and self._commission_min == 0.0:
            return 0.0
        return max(self._commission_min, self._per_share * abs(quantity))

    def _added_exposure(self, i: int, quantity: float) -> float:
        pos = self._positions.item(i)
        return max(0.0, abs(pos + quantity) - abs(pos))

    def account_may_refuse(self, symbol_index: int, quantity: float) -> bool:
        """Whether `account_check` can refuse this quantity at all: only an order that adds exposure, or
        goes short while shorting is off, can be refused (a cheap test before the check)."""
        pos = self._positions.item(symbol_index)
        return abs(pos + quantity) > abs(pos) or (pos + quantity < -_FLAT_EPS and not self._allow_short)

    def account_check(self, symbol_index: int, quantity: float, price: float, released: float = 0.0) -> str:
        """Why the account refuses `quantity` of a symbol valued at `price` now ("" when it does not):
        shorting while allow_short is off, or more buying power than is left (`released`: buying
        power the order being checked already holds)."""
        pos = self._positions.item(symbol_index)
        if not self._allow_short and pos + quantity < -_FLAT_EPS:
            return (f"short selling is off (execution.allow_short): selling {abs(quantity):g} "
                    f"{self.symbols[symbol_index]} would leave {pos + quantity:g} shares")
        added = abs(pos + quantity) - abs(pos)
        if added > 0.0:
            need = added * price + self._commission(quantity)
            available = self.buying_power() + released
            if need > available + _MONEY_EPS:
                return (f"buying power: {quantity:+g} {self.symbols[symbol_index]} at {price:g} needs "
                        f"{need:,.2f}, available {max(available, 0.0):,.2f}")
        return ""

    # ----------------------------------------------------------------- orders: submit, cancel, modify

    def submit_order(self, request: OrderRequest, strategy: str, time_ns: int, refused: str = "",
                     symbol_index: int | None = None) -> Order:
        """Accept (or refuse) a validated order request; returns its snapshot.

        The returned order is working (or, with fill rule "close", a market order already filled),
        or rejected with the reason: `refused` (a risk check of the caller), the account's refusal.
        A bracket (stop_loss and/or take_profit) creates the entry and its exits (stop loss first),
        held until the entry fills. InvalidOrder for what `validate` refuses (`symbol_index`: the
        request was validated already, this is its symbol's index).
        """
        i = self.validate(request) if symbol_index is None else symbol_index
        time_ns = int(time_ns)
        entry = self._new_state(i, request.quantity, request.order_type, request.limit_price, request.stop_price,
                                request.trail_amount, request.trail_percent, request.tif, strategy, request.tag,
                                time_ns, OrderRole.ENTRY if (request.stop_loss or request.take_profit)
                                else OrderRole.SINGLE)
        reason = refused or self.account_check(i, request.quantity, self.reference_price(request, i))
        if reason:
            self._finish(entry, OrderStatus.REJECTED, time_ns, reason)
            return entry.snapshot()
        self._open(entry, self.reference_price(request, i))
        exits = ((request.stop_loss, OrderType.STOP, OrderRole.STOP_LOSS),
                 (request.take_profit, OrderType.LIMIT, OrderRole.TAKE_PROFIT))
        for price, kind, role in exits:
            if price is None:
                continue
            child = self._new_state(i, -request.quantity, kind, price if kind is OrderType.LIMIT else None,
                                    price if kind is OrderType.STOP else None, None, None, request.tif, strategy,
                                    request.tag, time_ns, role, parent_id=entry.id)
            entry.children += (child.id,)
            self._open(child, price, held=True)
        if self._close_rule and request.order_type is OrderType.MARKET:
            self._fill_now_at_close(entry)
        return entry.snapshot()

    def reject_invalid(self, symbol: object, quantity: object, order_type: object, strategy: str, time_ns: int,
                       reason: str) -> Order:
        """Record a request that failed validation as a rejected order (it changes nothing else)."""
        sym = symbol if isinstance(symbol, str) else repr(symbol)
        try:
            qty = float(quantity)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            qty = math.nan
        try:
            kind = OrderType(str(order_type).strip().lower())
        except ValueError:
            kind = OrderType.MARKET
        st = _OrderState(len(self._orders) + 1, self._index.get(sym, -1), sym, qty, kind, None, None, None, None,
                         TimeInForce.DAY, OrderStatus.REJECTED, int(time_ns), int(time_ns), strategy)
        self._orders.append(st)
        self._finish(st, OrderStatus.REJECTED, int(time_ns), reason)
        return st.snapshot()

    def cancel_order(self, order_id: object, time_ns: int, reason: str = "cancelled by the strategy") -> Order:
        """Cancel an open order (and, as backtrader does, the other open orders of its bracket or OCO
        group). InvalidOrder for an unknown id or an order already final."""
        st = self._open_state(order_id, "cancel")
        self._finish(st, OrderStatus.CANCELLED, int(time_ns), reason)
        self._cancel_group(st, int(time_ns), f"order {st.id} was cancelled")
        return st.snapshot()

    def modify_order(self, order_id: object, time_ns: int, quantity: object = None, limit_price: object = None,
                     stop_price: object = None, trail_amount: object = None, trail_percent: object = None) -> Order:
        """Change an open order's quantity or prices in place (it keeps its id and its eligibility).

        Only the prices its type uses; the quantity keeps its side, is not below what already filled,
        and cannot be changed on a bracket exit (it follows the entry). A trailing stop given a new
        trail restarts its level from the last close. InvalidOrder for bad input, OrderRefused when
        the account would refuse the new order (the order is then unchanged)."""
        st = self._open_state(order_id, "modify")
        given = {"limit_price": limit_price, "stop_price": stop_price, "trail_amount": trail_amount,
                 "trail_percent": trail_percent}
        uses = {OrderType.MARKET: (), OrderType.LIMIT: ("limit_price",), OrderType.STOP: ("stop_price",),
                OrderType.STOP_LIMIT: ("stop_price", "limit_price"),
                OrderType.TRAILING_STOP: ("trail_amount", "trail_percent"),
                OrderType.MARKET_ON_CLOSE: ()}[st.order_type]
        bad = [k for k, v in given.items() if v is not None and k not in uses]
        if bad:
            raise InvalidOrder(f"order {st.id} is a {st.order_type.value} order: it has no {', '.join(bad)}")
        prices = {k: checked_price(k, v) for k, v in given.items() if v is not None}
        if "trail_amount" in prices and "trail_percent" in prices:
            raise InvalidOrder("give one of trail_amount or trail_percent")
        if prices.get("trail_percent", 1.0) >= 100:
            raise InvalidOrder(f"trail_percent must be below 100 (percent), got {prices['trail_percent']}")
        off_tick = self._on_ticks(st.symbol_index, prices) if self._ticks is not None else ""
        if off_tick:
            raise OrderRefused(f"modify of order {st.id} refused: {off_tick}")
        new_qty = st.quantity
        if quantity is not None:
            if st.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT):
                raise InvalidOrder(f"order {st.id} is a bracket exit: its quantity follows the entry")
            new_qty = checked_quantity(quantity)
            if (new_qty > 0) != (st.quantity > 0):
                raise InvalidOrder(f"order {st.id} is a {st.quantity > 0 and 'buy' or 'sell'}: a modify cannot "
                                   "change its side")
            if abs(new_qty) < abs(st.filled) - _FLAT_EPS:
                raise InvalidOrder(f"order {st.id} already filled {abs(st.filled):g}: quantity {abs(new_qty):g} "
                                   "is below it")
        if not prices and quantity is None:
            raise InvalidOrder(f"modify of order {st.id} changes nothing")
        book = self._book
        slot = st.slot
        limit = prices.get("limit_price", st.limit_price)
        stop = prices.get("stop_price", st.stop_price)
        ref = limit if limit is not None else stop if stop is not None else float(self._last_price[st.symbol_index])
        if st.status is not OrderStatus.HELD:
            reason = self.account_check(st.symbol_index, new_qty - st.filled, ref, self._reserved_of(st))
            if reason:
                raise OrderRefused(f"modify of order {st.id} refused: {reason}")
        st.quantity = new_qty
        st.limit_price, st.stop_price = limit, stop
        if slot >= 0:
            book.set_prices(slot, limit, stop)
        if st.order_type is OrderType.TRAILING_STOP and ("trail_amount" in prices or "trail_percent" in prices):
            st.trail_amount = prices.get("trail_amount")
            st.trail_percent = prices.get("trail_percent")
            book.trail_amount[slot] = st.trail_amount or 0.0
            book.trail_fraction[slot] = (st.trail_percent or 0.0) / 100.0
            self._start_trail(st)
        if st.status is not OrderStatus.HELD:
            self._set_reserved(st, self._reservation(st.symbol_index, new_qty - st.filled, ref))
        st.status_time = int(time_ns)
        self._record(st, "modified", int(time_ns))
        return st.snapshot()

    def one_cancels_other(self, order_ids: Iterable[object], time_ns: int) -> int:
        """Link open orders into an OCO group: any fill of one, or its cancel or expiry, cancels the
        others. The group reserves buying power only once (its largest member). Returns the group id."""
        states = [self._open_state(oid, "group") for oid in order_ids]
        if len(states) < 2:
            raise InvalidOrder("an OCO group needs at least two open orders")
        if len({st.id for st in states}) != len(states):
            raise InvalidOrder("an OCO group lists an order twice")
        for st in states:
            if st.oco_group is not None:
                raise InvalidOrder(f"order {st.id} is already in OCO group {st.oco_group}")
            if st.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT):
                raise InvalidOrder(f"order {st.id} is a bracket exit: its bracket already links it")
        group = min(st.id for st in states)
        self._oco_groups[group] = [st.id for st in states]
        for st in states:
            st.oco_group = group
        biggest = max(states, key=self._reserved_of)
        for st in states:
            if st is not biggest:
                self._set_reserved(st, 0.0)
        return group

    def _open_state(self, order_id: object, verb: str) -> _OrderState:
        st = self._state(order_id)
        if st is None:
            raise InvalidOrder(f"{verb}: unknown order id {order_id!r}")
        if st.status in FINAL_STATUSES:
            raise InvalidOrder(f"{verb}: order {st.id} is already {st.status.value}")
        return st

    # ----------------------------------------------------------------- legacy market-order entry

    def submit(
        self, symbol_index: int, quantity: float, time_ns: int, strategy: str, price_hint: float
    ) -> Fill | None:
        """Accept an approved market order (+ buy, - sell) without the account's submission checks
        (the caller decided; the checks at the fill still run).

        "next_open": queued for the symbol's next bar open; returns None. "close": filled now at
        `price_hint` (the signal bar's close), stamped with the start of the current bar time (the
        last `on_bar_time`; `time_ns` only before any bar); returns the Fill and refreshes the
        current equity point. A zero quantity is ignored.
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
        time_ns = int(time_ns)
        orders = self._orders
        st = _OrderState(len(orders) + 1, symbol_index, self.symbols[symbol_index], quantity, OrderType.MARKET, None,
                         None, None, None, TimeInForce.GTC, OrderStatus.WORKING, time_ns, time_ns, strategy, None,
                         None, None, OrderRole.SINGLE)
        orders.append(st)
        if self._close_rule:
            self._last_price[symbol_index] = price
            self._capacity_cache = self._values_cache = None
            stamp = self._current_ts if self._current_ts is not None else time_ns
            return self._fill_at(st, quantity, self._close_quote(symbol_index, quantity, price), stamp, refresh=True)
        self._open_market(st, 0.0)      # = _open(st, 0.0) of a market order
        return None

    def _fill_now_at_close(self, st: _OrderState) -> None:
        price = self._close_quote(st.symbol_index, st.quantity, float(self._last_price[st.symbol_index]))
        stamp = self._current_ts if self._current_ts is not None else st.submitted_at
        self._fill_at(st, st.quantity, price, stamp, refresh=True)

    def _close_quote(self, i: int, quantity: float, trade_close: float) -> float:
        """Fill rule "close": the signal bar's ask close (buy) or bid close (sell) with quote fills, else
        (or without a quote bar for that bar) its trade close."""
        if self.quote_bars is None:
            return trade_close
        quote = self._ask_close.item(i) if quantity > 0 else self._bid_close.item(i)
        if math.isnan(quote):
            self.quote_fallbacks += 1
            return trade_close
        self.quote_fills += 1
        return quote

    # ----------------------------------------------------------------- per bar time

    def on_bar_time(
        self, ts_ns: int, sym_idx: np.ndarray, open_: np.ndarray, close: np.ndarray,
        high: np.ndarray | None = None, low: np.ndarray | None = None, volume: np.ndarray | None = None,
    ) -> list[Fill]:
        """Process the bars starting at `ts_ns`: fill what the bars reach, move trailing stops, mark
        to market.

        `sym_idx` (int64), `open_`, `close` (and `high`, `low`, `volume` when known; without them the
        bar's range is taken as [min(open, close), max(open, close)]) are aligned arrays for the
        symbols that have a bar at this time. Appends one equity point stamped `ts_ns` (bar start).
        Returns this bar time's fills.
        """
        ts_ns = int(ts_ns)
        self._current_ts = ts_ns
        fills: list[Fill] = []
        book = self._book
        if self.quote_bars is not None:
            quotes = self._bar_quotes = self.quote_bars.at_bar_time(ts_ns, sym_idx)
            self._bid_close[sym_idx] = quotes[:, BID_CLOSE]
            self._ask_close[sym_idx] = quotes[:, ASK_CLOSE]
        market_rows = self._market_mask[sym_idx].nonzero()[0] if self._market else None   # (1-D: flatnonzero)
        if book.active_count:
            slots, rows = book.candidates(ts_ns, sym_idx)
            if len(slots):
                if high is None or low is None:
                    high = np.maximum(open_, close)
                    low = np.minimum(open_, close)
                fills = self._match(ts_ns, slots, rows, open_, high, low, close, volume, market_rows, sym_idx)
                market_rows = None
        if market_rows is not None and len(market_rows):
            fills = self._fill_market_lane(ts_ns, market_rows, sym_idx, open_, volume, [])
        self._last_price[sym_idx] = close
        self._capacity_cache = self._values_cache = None
        if self._on_close:
            closing_rows = self._on_close_mask[sym_idx].nonzero()[0]
            if len(closing_rows):
                fills = self._fill_on_close(ts_ns, closing_rows, sym_idx, close, fills)
        self._append_point(ts_ns)
        return fills

    def _market_hits(self, market_rows: np.ndarray | None, sym_idx: np.ndarray, o: np.ndarray
                     ) -> list[tuple[int, int, _OrderState, float]]:
        """(row, order id, order, open) of the market orders of the symbols that have a bar now."""
        hits: list[tuple[int, int, _OrderState, float]] = []
        if market_rows is None or not len(market_rows):
            return hits
        market = self._market
        quotes = self._bar_quotes if self.quote_bars is not None else None
        for row in market_rows.tolist():
            price = o.item(row)
            if quotes is not None:
                bid, ask = quotes.item(row, BID_OPEN), quotes.item(row, ASK_OPEN)
                for st in market[sym_idx.item(row)]:
                    side = ask if st.quantity - st.filled > 0 else bid
                    if math.isnan(side):
                        self.quote_fallbacks += 1
                        side = price
                    else:
                        self.quote_fills += 1
                    hits.append((row, st.id, st, side))
                continue
            for st in market[sym_idx.item(row)]:
                hits.append((row, st.id, st, price))
        return hits

    def _fill_market_lane(self, ts_ns: int, market_rows: np.ndarray, sym_idx: np.ndarray, o: np.ndarray,
                          volume: np.ndarray | None, fills: list[Fill]) -> list[Fill]:
        """Only market orders to fill at this bar time: at the opens, by row then submission."""
        if self.quote_bars is not None or self._participation != 0.0:
            return self._process_hits(ts_ns, self._market_hits(market_rows, sym_idx, o), volume, fills, set(), {})
        # `_process_hits` of `_market_hits`, written out for trade-price fills without participation
        market, single, final = self._market, OrderRole.SINGLE, FINAL_STATUSES
        for row in market_rows.tolist():
            price = o.item(row)
            queue = market.get(sym_idx.item(row))
            if queue is None:
                continue              # its orders were cancelled by an earlier fill (OCO, bracket)
            for st in tuple(queue):
                if st.status in final or st.status is OrderStatus.HELD:
                    continue          # cancelled by an earlier fill of this bar time (OCO, bracket)
                if st.role is single and st.oco_group is None:
                    fill = self._fill_plain_market(st, price, ts_ns)
                    if fill is not None:
                        fills.append(fill)
                        continue
                self._last_price[st.symbol_index] = price
                self._capacity_cache = self._values_cache = None
                fill = self._fill_at(st, st.quantity - st.filled, price, ts_ns)
                if fill is not None:
                    fills.append(fill)
        return fills

    def _process_hits(self, ts_ns: int, hits: list[tuple[int, int, _OrderState, float]],
                      volume: np.ndarray | None, fills: list[Fill], skip: set[int], prices: dict[int, float]
                      ) -> list[Fill]:
        """Fill the orders the bars reached, in order (row, then order id); fills change what follows
        (a fill cancels OCO and bracket partners; participation shares a bar's volume)."""
        capacity: dict[int, float] = {}
        participation = self._participation
        plain = participation == 0.0
        for row, oid, st, market_price in hits:
            if oid in skip or st.status in FINAL_STATUSES or st.status is OrderStatus.HELD:
                continue              # cancelled by an earlier fill of this bar time (OCO, bracket)
            if plain and st.role is OrderRole.SINGLE and st.oco_group is None and st.slot < 0:
                fill = self._fill_plain_market(st, market_price, ts_ns)
                if fill is not None:
                    fills.append(fill)
                    continue
            market_price = prices.get(oid, market_price)
            remaining = st.quantity - st.filled
            qty = remaining
            if participation > 0.0:
                cap = capacity.get(row)
                if cap is None:
                    bar_volume = float(volume[row]) if volume is not None else math.inf
                    cap = math.floor(bar_volume * participation) if math.isfinite(bar_volume) else math.inf
                take = min(abs(remaining), cap)
                if take <= 0:
                    capacity[row] = cap
                    continue
                capacity[row] = cap - take
                qty = math.copysign(take, remaining)
            self._last_price[st.symbol_index] = market_price
            self._capacity_cache = self._values_cache = None
            fill = self._fill_at(st, qty, market_price, ts_ns)
            if fill is not None:
                fills.append(fill)
        return fills

    def _match(self, ts_ns: int, slots: np.ndarray, rows: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
               c: np.ndarray, volume: np.ndarray | None, market_rows: np.ndarray | None = None,
               sym_idx: np.ndarray | None = None) -> list[Fill]:
        book = self._book
        o_r, h_r, lo_r, c_r = o[rows], h[rows], lo[rows], c[rows]
        no_quote = None
        if self.quote_bars is not None and self._bar_quotes is not None:
            o_r, h_r, lo_r, c_r, no_quote = self._side_bars(book.buy[slots], self._bar_quotes[rows],
                                                            o_r, h_r, lo_r, c_r)
        if book.complex_count == 0:
            # only limits, stops and trailing stops: one comparison with the bar's low or high finds the
            # orders the bar reaches; their prices are worked out for those only
            level = book.level[slots]
            use_low = book.use_low[slots]
            k_hit = np.flatnonzero(np.where(use_low, lo_r <= level, h_r >= level))
            if len(k_hit):
                ok, lk, ulk = o_r[k_hit], level[k_hit], use_low[k_hit]
                hit_price = np.where(np.where(ulk, ok <= lk, ok >= lk), ok, lk)
        else:
            triggered = book.triggered[slots]
            hits, price, now_triggered = fill_model.bar_fills(book.code[slots], book.buy[slots], book.limit[slots],
                                                              book.stop[slots], triggered, o_r, h_r, lo_r, c_r)
            if (now_triggered != triggered).any():
                book.triggered[slots] = now_triggered
            k_hit = np.flatnonzero(hits)
            hit_price = price[k_hit]
        if no_quote is not None and len(k_hit):
            missing = int(no_quote[k_hit].sum())
            self.quote_fallbacks += missing
            self.quote_fills += len(k_hit) - missing
        fills: list[Fill] = []
        market = self._market_hits(market_rows, sym_idx, o) if sym_idx is not None else []
        if len(k_hit) or market:
            orders = self._orders
            book_hits = [(row, oid, orders[oid - 1], price) for row, oid, price in
                         zip(rows[k_hit].tolist(), book.order_id[slots[k_hit]].tolist(), hit_price.tolist(),
                             strict=True)] if len(k_hit) else []
            plan = self._resolve_bracket_conflicts(ts_ns, book_hits)
            merged = book_hits + market if market else book_hits
            if len(merged) > 1:
                merged.sort(key=_row_then_id)
            self._process_hits(ts_ns, merged, volume, fills, plan.skip, plan.prices)
        if self._trailing_open:
            trailing = book.code[slots] == fill_model.TRAILING_STOP
            if trailing.any():
                t_slots = slots[trailing]
                alive = book.active[t_slots] & (book.code[t_slots] == fill_model.TRAILING_STOP)
                t_slots = t_slots[alive]
                if len(t_slots):
                    ticks = self._ticks
                    levels = fill_model.trail_levels(book.buy[t_slots], book.stop[t_slots],
                                                     c[rows[trailing][alive]], book.trail_amount[t_slots],
                                                     book.trail_fraction[t_slots],
                                                     None if ticks is None else ticks[book.symbol[t_slots]])
                    book.stop[t_slots] = levels
                    book.level[t_slots] = levels
                    for slot in t_slots.tolist():
                        self._orders[int(book.order_id[slot]) - 1].stop_price = float(book.stop[slot])
        return fills

    @staticmethod
    def _side_bars(buy: np.ndarray, quotes: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                   c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per order: the ask bar (buys) or bid bar (sells) of its fill bar, the trade bar where the quote bar
        is missing; plus the mask of orders without a quote bar."""
        side = np.where(buy[:, None], quotes[:, 4:8], quotes[:, 0:4])
        no_quote = np.isnan(side[:, 0])
        if no_quote.any():
            side[no_quote] = np.column_stack((o, h, lo, c))[no_quote]
        return side[:, 0], side[:, 1], side[:, 2], side[:, 3], no_quote

    @dataclass(slots=True)
    class _Plan:
        skip: set[int]
        prices: dict[int, float]

    def _resolve_bracket_conflicts(self, ts_ns: int, hits: list[tuple[int, int, _OrderState, float]]
                                   ) -> SimulatedBroker._Plan:
        """Where both exits of one bracket fill on this bar: the stop loss wins (worst case), unless the
        finer interval shows the take profit reached first."""
        plan = SimulatedBroker._Plan(set(), {})
        exits: dict[int, dict[OrderRole, int]] | None = None
        for _row, oid, st, _price in hits:
            if st.parent_id is not None:
                if exits is None:
                    exits = {}
                exits.setdefault(st.parent_id, {})[st.role] = oid
        if exits is None:
            return plan
        for pair in exits.values():
            if len(pair) < 2:
                continue
            stop_id = pair[OrderRole.STOP_LOSS]
            profit_id = pair[OrderRole.TAKE_PROFIT]
            winner = self._finer_winner(ts_ns, self._orders[stop_id - 1], self._orders[profit_id - 1])
            if winner is not None and winner[0] == profit_id:
                plan.skip.add(stop_id)
                plan.prices[profit_id] = winner[1]
            else:
                plan.skip.add(profit_id)
                if winner is not None:
                    plan.prices[stop_id] = winner[1]
        return plan

    def _finer_winner(self, ts_ns: int, stop_loss: _OrderState, take_profit: _OrderState) -> tuple[int, float] | None:
        """(order id, price) of the exit the finer bars of this bar reach first, None without them."""
        if self.intrabar_bars is None:
            return None
        step = self._bar_step_ns()
        try:
            bars = self.intrabar_bars(stop_loss.symbol, ts_ns, ts_ns + step)
        except Exception as exc:  # noqa: BLE001 - a missing finer interval falls back to worst case
            log.warning("no finer bars for %s at %s: %s", stop_loss.symbol, ts_ns, exc)
            return None
        if bars is None or not len(bars[0]):
            return None
        o, h, lo, _c = (np.asarray(a, dtype=np.float64) for a in bars)
        buy = np.full(len(o), stop_loss.quantity > 0)
        s_hit, s_price = fill_model.stop_rule(buy, np.full(len(o), stop_loss.stop_price), o, h, lo)
        p_hit, p_price = fill_model.limit_rule(buy, np.full(len(o), take_profit.limit_price), o, h, lo)
        first = np.flatnonzero(s_hit | p_hit)
        if not len(first):
            return None
        k = int(first[0])
        if s_hit[k]:
            return stop_loss.id, float(s_price[k])
        return take_profit.id, float(p_price[k])

    def _fill_on_close(self, ts_ns: int, rows: np.ndarray, sym_idx: np.ndarray, close: np.ndarray,
                       fills: list[Fill]) -> list[Fill]:
        """Market-on-close orders of the symbols with a bar at `ts_ns`, as backtrader's Close orders: at
        the order's closing bar time, at the bar's close; before it, the close is noted; after it (the
        symbol had no bar at the closing bar time) a GTC order fills at the close noted last (stamped
        with that bar's start), else at this bar's close. A day order that missed its closing bar waits
        for the session's end, where it expires."""
        day, final = TimeInForce.DAY, FINAL_STATUSES
        for row in rows.tolist():
            i = sym_idx.item(row)
            trade_close = close.item(row)
            for st in tuple(self._on_close.get(i, ())):
                if st.status in final:
                    continue          # cancelled by an earlier fill of this bar time (OCO)
                remaining = st.quantity - st.filled
                closing = st.closing_bar
                if closing is None or ts_ns < closing:
                    st.annotated, st.annotated_at = self._close_quote(i, remaining, trade_close), ts_ns
                    continue
                if ts_ns == closing:
                    price, stamp = self._close_quote(i, remaining, trade_close), ts_ns
                elif st.tif is day:
                    continue
                elif st.annotated_at >= 0:
                    price, stamp = st.annotated, st.annotated_at
                else:
                    price, stamp = self._close_quote(i, remaining, trade_close), ts_ns
                fill = self._fill_at(st, remaining, price, stamp)
                if fill is not None:
                    fills.append(fill)
        return fills

    def start_session(self, closing_bar_ns: int) -> None:
        """A session starts: `closing_bar_ns` is the start of its last regular-hours bar (the session's
        regular close less the streamed interval), where market-on-close orders fill. Orders sent after
        the last session's closing bar time are for this session's."""
        self._closing_bar = closing = int(closing_bar_ns)
        for queue in self._on_close.values():
            for st in queue:
                if st.closing_bar is None:
                    st.closing_bar = closing

    def _settle_on_close(self, time_ns: int) -> list[Fill]:
        """At a session's end, the market-on-close orders for it (or an earlier one) that did not fill at
        their closing bar: a day order expires; a GTC order whose symbol traded after it was sent fills at
        that last close (as backtrader fills it at the symbol's next bar), else it waits for the symbol's
        next bar."""
        fills: list[Fill] = []
        pending = sorted((st for queue in self._on_close.values() for st in queue if st.closing_bar is not None),
                         key=lambda st: st.id)
        for st in pending:
            if st.status in FINAL_STATUSES:
                continue
            if st.tif is TimeInForce.DAY:
                self._finish(st, OrderStatus.EXPIRED, time_ns, "day order: the session closed")
                self._cancel_group(st, time_ns, f"order {st.id} expired")
            elif st.annotated_at >= 0:
                fill = self._fill_at(st, st.quantity - st.filled, st.annotated, st.annotated_at, refresh=True)
                if fill is not None:
                    fills.append(fill)
        return fills

    def _bar_step_ns(self) -> int:
        if self._curve_len >= 2:
            return int(self._curve_time[self._curve_len - 1] - self._curve_time[self._curve_len - 2]) or 60_000_000_000
        return 60_000_000_000

    def end_session(self, time_ns: int) -> list[Fill]:
        """After a session's last bar: market-on-close orders settle (`_settle_on_close`), day orders
        expire (then their GTC bracket and OCO partners are cancelled). Returns the fills."""
        time_ns = int(time_ns)
        fills = self._settle_on_close(time_ns) if self._on_close else []
        book = self._book
        n = book.high_water
        if not n:
            return fills
        slots = np.flatnonzero(book.day[:n] & (book.order_id[:n] > 0))
        expired = [self._orders[int(book.order_id[slot]) - 1] for slot in slots.tolist()]
        expired.sort(key=lambda st: st.id)
        for st in expired:
            self._finish(st, OrderStatus.EXPIRED, time_ns, "day order: the session closed")
        for st in expired:
            self._cancel_group(st, time_ns, f"order {st.id} expired")
        return fills

    # --------------------------------------------------------------- internals: order records

    def _new_state(self, i: int, quantity: float, order_type: OrderType, limit: float | None, stop: float | None,
                   trail_amount: float | None, trail_percent: float | None, tif: TimeInForce, strategy: str,
                   tag: str | None, time_ns: int, role: OrderRole, parent_id: int | None = None) -> _OrderState:
        st = _OrderState(len(self._orders) + 1, i, self.symbols[i], float(quantity), order_type, limit, stop,
                         trail_amount, trail_percent, tif, OrderStatus.WORKING, time_ns, time_ns, strategy, tag,
                         parent_id, None, role)
        self._orders.append(st)
        return st

    def _reservation(self, i: int, quantity: float, price: float) -> float:
        added = self._added_exposure(i, quantity)
        return added * price + self._commission(quantity) if added > 0.0 else 0.0

    def _open(self, st: _OrderState, ref_price: float, held: bool = False) -> None:
        """Put an accepted order in the book (eligible from the next bar of its symbol)."""
        if st.order_type is OrderType.MARKET_ON_CLOSE:
            self._open_on_close(st, ref_price)
            return
        i = st.symbol_index
        code = TYPE_CODES[st.order_type]
        if code == 0 and not held:
            self._open_market(st, ref_price)
            return
        book = self._book
        slot = book.take_slot()
        st.slot = slot
        st.in_book = True
        # as backtrader: a market order never expires (one made on a session's last bar fills at the next open)
        book.fill_slot(slot, i, code, st.quantity > 0, st.id, st.limit_price, st.stop_price,
                       st.trail_amount or 0.0, (st.trail_percent or 0.0) / 100.0,
                       self._current_ts if self._current_ts is not None else -1,
                       code != 0 and st.tif is TimeInForce.DAY, not held)
        reserve = 0.0 if held else self._reservation(i, st.quantity, ref_price)
        if reserve:
            book.set_reserved(slot, reserve)
        if code == fill_model.TRAILING_STOP:
            self._trailing_open += 1
            self._start_trail(st)
        st.status = OrderStatus.HELD if held else OrderStatus.WORKING
        self._register_open(st)

    def _open_market(self, st: _OrderState, ref_price: float) -> None:
        """A market order waits in the market lane for its symbol's next bar (no book slot)."""
        self._join_lane(st, ref_price, self._market, self._market_mask)

    def _open_on_close(self, st: _OrderState, ref_price: float) -> None:
        """A market-on-close order waits in its lane for this session's closing bar time, or the next
        session's when sent at or after this one's (as a backtrader Close order sent after the session's
        end is for the next day's)."""
        closing, now = self._closing_bar, self._current_ts
        st.closing_bar = closing if closing is not None and (now is None or now <= closing) else None
        self._join_lane(st, ref_price, self._on_close, self._on_close_mask)

    def _join_lane(self, st: _OrderState, ref_price: float, lane: dict[int, list[_OrderState]],
                   mask: np.ndarray) -> None:
        i = st.symbol_index
        queue = lane.get(i)
        if queue is None:
            queue = lane[i] = []
            mask[i] = True
        queue.append(st)
        st.in_book = True
        reserve = self._reservation(i, st.quantity, ref_price)
        if reserve:
            st.reserved = reserve
            self._market_reserved += reserve
        st.status = OrderStatus.WORKING
        self._register_open(st)

    def _register_open(self, st: _OrderState) -> None:
        """Count an order as open (per symbol, for queries and the position limit) and report it."""
        by_symbol = self._open_by_symbol.get(st.symbol_index)
        if by_symbol is None:
            by_symbol = self._open_by_symbol[st.symbol_index] = {}
        by_symbol[st.id] = st
        self._open_count += 1
        if self.record_events:
            self._record(st, "submitted", st.submitted_at)

    def _reserved_of(self, st: _OrderState) -> float:
        return self._book.reserved.item(st.slot) if st.slot >= 0 else st.reserved

    def _set_reserved(self, st: _OrderState, amount: float) -> None:
        if st.slot >= 0:
            self._book.set_reserved(st.slot, amount)
        else:
            self._market_reserved += amount - st.reserved
            st.reserved = amount

    def _start_trail(self, st: _OrderState) -> None:
        """A trailing stop's level starts at the last close -/+ the trail (on the tick under
        `execution.off_tick_prices` round or reject)."""
        book = self._book
        slot = st.slot
        start = np.array([np.inf if st.quantity > 0 else -np.inf])
        i = st.symbol_index
        ticks = None if self._ticks is None else self._ticks[i:i + 1]
        level = fill_model.trail_levels(book.buy[slot:slot + 1], start, self._last_price[i:i + 1],
                                        book.trail_amount[slot:slot + 1], book.trail_fraction[slot:slot + 1], ticks)
        st.stop_price = float(level[0])
        book.set_prices(slot, None, st.stop_price)

    def _finish(self, st: _OrderState, status: OrderStatus, time_ns: int, reason: str = "",
                fill: Fill | None = None) -> None:
        """Make an order final (filled, cancelled, expired, rejected) and take it out of the book."""
        was_open = st.in_book
        st.in_book = False
        st.status = status
        st.status_time = time_ns
        if reason:
            st.reason = reason
        if was_open:
            if st.order_type is OrderType.TRAILING_STOP:
                self._trailing_open -= 1
            if st.slot >= 0:
                self._book.release(st.slot)
                st.slot = -1
            else:
                self._leave_lane(st)
            orders = self._open_by_symbol.get(st.symbol_index)
            if orders is not None:
                orders.pop(st.id, None)
                if not orders:
                    del self._open_by_symbol[st.symbol_index]
            self._open_count -= 1
        self._status_counts[status] += 1
        self._finalized.append(st)
        if self.record_events:
            self._record(st, status.value, time_ns, fill)

    def _leave_lane(self, st: _OrderState) -> None:
        """Take an order out of the market lane (or the market-on-close lane) and release what it held."""
        i = st.symbol_index
        lane, mask = ((self._on_close, self._on_close_mask) if st.order_type is OrderType.MARKET_ON_CLOSE
                      else (self._market, self._market_mask))
        queue = lane.get(i)
        if queue is not None:
            if len(queue) == 1 and queue[0] is st:
                del lane[i]
                mask[i] = False
            elif st in queue:
                queue.remove(st)
        if st.reserved:
            self._market_reserved -= st.reserved
            st.reserved = 0.0
            if not self._market and not self._on_close:
                self._market_reserved = 0.0

    def _record(self, st: _OrderState, kind: str, time_ns: int, fill: Fill | None = None) -> None:
        if self.record_events:
            self._events.append(st.change(kind, time_ns, fill))

    def _cancel_group(self, st: _OrderState, time_ns: int, why: str, seen: set[int] | None = None) -> None:
        """Cancel the other open orders of `st`'s bracket and OCO group, and theirs in turn. Exits that
        already cover a filled part of their entry stay when the entry ends (they protect a position)."""
        seen = seen if seen is not None else set()
        seen.add(st.id)
        todo = [st]
        while todo:
            current = todo.pop()
            for other in self._group_members(current):
                if other.id in seen:
                    continue
                seen.add(other.id)
                if other.status in FINAL_STATUSES:
                    continue
                if other.parent_id == current.id and other.status is not OrderStatus.HELD:
                    continue
                self._finish(other, OrderStatus.CANCELLED, time_ns, why)
                todo.append(other)

    def _group_members(self, st: _OrderState) -> list[_OrderState]:
        members: list[_OrderState] = []
        root = self._orders[st.parent_id - 1] if st.parent_id else st
        family = [root, *(self._orders[c - 1] for c in root.children)] if root.children else []
        members.extend(m for m in family if m is not st)
        if st.oco_group is not None:
            members.extend(self._orders[m - 1] for m in self._oco_groups.get(st.oco_group, ()) if m != st.id)
        return members

    # --------------------------------------------------------------- internals: fills

    def _fill_at(self, st: _OrderState, qty: float, market_price: float, ts_ns: int,
                 refresh: bool = False) -> Fill | None:
        """Fill `qty` of an order at `market_price` (before slippage) if the account allows it, else
        reject the order; then the consequences (bracket exits, OCO, statuses)."""
        i = st.symbol_index
        price = self._slipped(st, qty, market_price)
        pos = self._positions.item(i)
        after = pos + qty
        # a fill that does not add exposure and does not go short needs no account check
        needs_check = abs(after) > abs(pos) or (after < -_FLAT_EPS and not self._allow_short)
        reason = self.account_check(i, qty, price, self._reserved_of(st)) if needs_check else ""
        if reason:
            self._finish(st, OrderStatus.REJECTED, ts_ns, f"at the fill: {reason}")
            self._cancel_group(st, ts_ns, f"order {st.id} was rejected")
            return None
        fill = self._execute(i, qty, price, ts_ns, st.strategy, st.id)
        st.filled += qty
        st.fill_value += abs(qty) * price
        complete = abs(st.quantity - st.filled) <= _FLAT_EPS
        if complete:
            self._finish(st, OrderStatus.FILLED, ts_ns, fill=fill)
        else:
            st.status = OrderStatus.PARTIALLY_FILLED
            st.status_time = ts_ns
            self._after_partial(st, qty)
            self._record(st, "filled", ts_ns, fill)
        if st.role is OrderRole.ENTRY:
            self._activate_exits(st, ts_ns)
        elif st.role is OrderRole.STOP_LOSS or st.role is OrderRole.TAKE_PROFIT:
            self._exit_filled(st, ts_ns, complete)
        if st.oco_group is not None:
            seen = {st.id}
            for oid in self._oco_groups.get(st.oco_group, ()):
                other = self._orders[oid - 1]
                if other is st or other.status in FINAL_STATUSES:
                    continue
                seen.add(other.id)
                self._finish(other, OrderStatus.CANCELLED, ts_ns, f"OCO: order {st.id} filled")
                self._cancel_group(other, ts_ns, f"OCO: order {st.id} filled", seen)
        if self._cancel_orphans:
            # last, once the bracket's rules have sized the exits (they know nothing of other orders)
            self._cancel_orphan_exits(st, pos, pos + qty, ts_ns)
        if refresh:
            self._refresh_last_point()
        return fill

    def _fill_plain_market(self, st: _OrderState, open_price: float, ts_ns: int) -> Fill | None:
        """The whole of a plain market order (no bracket, group or participation) at the
        open: `_fill_at` without its general consequences. None when the account check must decide
        (the caller then takes the general path)."""
        i = st.symbol_index
        qty = st.quantity
        price = open_price * (1.0 + self._slip) if qty > 0 else open_price * (1.0 - self._slip)
        pos = self._positions.item(i)
        self._last_price[i] = open_price
        self._capacity_cache = self._values_cache = None
        if (pos + qty < -_FLAT_EPS and not self._allow_short) or abs(pos + qty) > abs(pos):
            if self.account_check(i, qty, price, st.reserved):
                return None
        fill = self._execute(i, qty, price, ts_ns, st.strategy, st.id)
        st.filled = qty
        st.fill_value = abs(qty) * price
        # _finish(st, FILLED) for an order of the market lane
        st.in_book = False
        st.status = OrderStatus.FILLED
        st.status_time = ts_ns
        self._leave_lane(st)
        orders = self._open_by_symbol[i]
        del orders[st.id]
        if not orders:
            del self._open_by_symbol[i]
        self._open_count -= 1
        self._status_counts[OrderStatus.FILLED] += 1
        self._finalized.append(st)
        if self.record_events:
            self._events.append(st.change("filled", ts_ns, fill))
        if self._cancel_orphans:
            self._cancel_orphan_exits(st, pos, pos + qty, ts_ns)
        return fill

    def _cancel_orphan_exits(self, closer: _OrderState, before: float, after: float, ts_ns: int) -> None:
        """execution.cancel_orphan_exits: a fill of order `closer` just took its symbol's position from
        `before` to `after`. No working exit of a bracket whose entry filled completely may then open a
        position or take one past flat (NinjaTrader's ATM strategies): an exit that would open or enlarge
        one (at flat all of them; after a reversal the old side's; after a bracket's entry only reduced a
        position, its own) is cancelled with its group, one that would close more than is left is cut to
        what is left (recorded as a modify). Each is told why. Nothing to do when the fill opened or
        enlarged the position, unless it was a bracket's entry (the bracket's rule has just sized its
        exits). Exits of an entry not filled, or filled only in part, keep theirs."""
        orders = self._open_by_symbol.get(closer.symbol_index)
        if not orders:
            return
        flat = abs(after) <= _FLAT_EPS
        same_side = before * after > 0.0
        rule = "(execution.cancel_orphan_exits)"
        if before == 0.0 or (same_side and abs(after) >= abs(before) - _FLAT_EPS):
            if closer.role is not OrderRole.ENTRY:
                return                   # the position opened or grew: no exit can have lost its position
            word = "filled"
            cut = f"when order {closer.id} filled: the position is {abs(after):g} {rule}"
        else:
            word = "reduced" if same_side else "closed" if flat else "reversed"
            cut = f"by order {closer.id}, which {word} the position {rule}"
        orphans = []
        for st in orders.values():
            entry = st.parent_id
            if (entry is None or (st.role is not OrderRole.STOP_LOSS and st.role is not OrderRole.TAKE_PROFIT)
                    or self._orders[entry - 1].status is not OrderStatus.FILLED):
                continue
            rest = st.quantity - st.filled
            if flat or rest * after > 0.0:
                orphans.append(st)
            elif abs(rest) > abs(after) + _FLAT_EPS:
                st.quantity = st.filled - after
                st.reason = f"{ORPHAN_EXIT}cut to {abs(after):g} {cut}"
                st.status_time = ts_ns
                self._record(st, "modified", ts_ns)
        why = f"{ORPHAN_EXIT}order {closer.id} {word} the position {rule}"
        seen = {closer.id}
        for st in orphans:
            if st.status in FINAL_STATUSES:
                continue                  # its group's cancel took it already
            seen.add(st.id)
            self._finish(st, OrderStatus.CANCELLED, ts_ns, why)
            self._cancel_group(st, ts_ns, why, seen)      # its sibling, and an OCO group it is in

    def _after_partial(self, st: _OrderState, qty: float) -> None:
        """The rest of a partly filled order: a triggered stop works as a market order, a triggered
        stop-limit as a limit order; its reservation shrinks with it."""
        book = self._book
        slot = st.slot
        if slot >= 0 and st.order_type in (OrderType.STOP, OrderType.TRAILING_STOP):
            book.set_code(slot, fill_model.MARKET)
        elif slot >= 0 and st.order_type is OrderType.STOP_LIMIT:
            book.triggered[slot] = True
        reserved = self._reserved_of(st)
        if reserved > 0 and st.quantity:
            self._set_reserved(st, reserved * max(0.0, (st.quantity - st.filled) / (st.quantity - st.filled + qty)))

    def _activate_exits(self, entry: _OrderState, ts_ns: int) -> None:
        """An entry filled (in part): its exits cover what filled and are eligible from the next bar."""
        book = self._book
        for cid in entry.children:
            child = self._orders[cid - 1]
            if child.status in FINAL_STATUSES:
                continue
            if child.filled == 0.0 and entry.status is OrderStatus.FILLED and len(entry.children) <= 2 and \
                    all(self._orders[c - 1].filled == 0.0 for c in entry.children):
                child.quantity = -entry.filled       # the common case: the whole entry, no exit filled yet
            else:
                self._resize_exit(child, entry)
            if child.status is OrderStatus.HELD:
                child.status = OrderStatus.WORKING
                child.status_time = ts_ns
                book.after[child.slot] = ts_ns
                book.set_active(child.slot, True)
                self._record(child, "activated", ts_ns)

    def _resize_exit(self, child: _OrderState, entry: _OrderState) -> None:
        """An exit's quantity: what it filled plus the part of the entry no exit has closed yet."""
        exits_filled = sum(abs(self._orders[c - 1].filled) for c in entry.children)
        protected = max(0.0, abs(entry.filled) - exits_filled)
        child.quantity = -math.copysign(abs(child.filled) + protected, entry.quantity)

    def _exit_filled(self, exit_state: _OrderState, ts_ns: int, complete: bool) -> None:
        assert exit_state.parent_id is not None, "an exit order always has its entry"
        entry = self._orders[exit_state.parent_id - 1]
        for cid in entry.children:
            sibling = self._orders[cid - 1]
            if sibling is exit_state or sibling.status in FINAL_STATUSES:
                continue
            if complete and entry.status in FINAL_STATUSES:
                self._finish(sibling, OrderStatus.CANCELLED, ts_ns, f"bracket: order {exit_state.id} filled")
            else:
                self._resize_exit(sibling, entry)

    def _slipped(self, st: _OrderState, qty: float, market_price: float) -> float:
        price = market_price * (1.0 + self._slip) if qty > 0 else market_price * (1.0 - self._slip)
        if st.limit_price is not None and self._slip:
            price = min(price, st.limit_price) if qty > 0 else max(price, st.limit_price)
        return price

    def _execute(self, i: int, qty: float, price: float, ts_ns: int, strategy: str, order_id: int) -> Fill:
        """Book a fill of `qty` of symbol `i` at `price` (slippage included): cash, position, trades."""
        per_share, minimum = self._per_share, self._commission_min
        commission = 0.0 if per_share == 0.0 and minimum == 0.0 else max(minimum, per_share * abs(qty))
        self._capacity_cache = self._values_cache = None
        self._cash -= qty * price + commission
        commissions = self._commissions
        commissions[i] = commissions.item(i) + commission
        fill = Fill(self.symbols[i], qty, price, ts_ns, commission, strategy, order_id)
        self._fills.append(fill)

        pos = self._positions.item(i)
        new_pos = pos + qty
        if abs(new_pos) < _FLAT_EPS:
            new_pos = 0.0
        if pos == 0.0:
            trip = _RoundTrip(side=math.copysign(1.0, qty), entry_time=ts_ns, strategies=[strategy])
            self._round_trips[i] = trip
            self._add_to(trip, i, pos, qty, price, commission)
        elif (pos > 0) == (qty > 0):
            trip = self._round_trips[i]  # an open position always has its round trip
            trip.add_strategy(strategy)
            self._add_to(trip, i, pos, qty, price, commission)
        else:
            trip = self._round_trips[i]
            if strategy not in trip.strategies:
                trip.strategies.append(strategy)
            closed = min(abs(qty), abs(pos))
            pnl = (price - self._avg_price.item(i)) * closed * trip.side
            realized = self._realized
            realized[i] = realized.item(i) + pnl
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
        size = abs(qty)
        new_abs = abs(pos) + size
        avg = self._avg_price
        avg[i] = (avg.item(i) * abs(pos) + price * size) / new_abs
        trip.entry_qty += size
        trip.entry_value += size * price
        if new_abs > trip.max_abs_position:
            trip.max_abs_position = new_abs
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
        """(equity, cash, positions value, gross exposure) now: computed once after a change of cash,
        positions or last prices (the bar time's equity point, then its account snapshot read it).

        Dot products here are `a @ b`, never `np.dot(a, b)`: np.dot releases the interpreter lock for
        every call (it hands the vectors to BLAS), even for ten numbers, and a thread waiting for the
        lock (the run writer, the feed's loader) then takes it, so the engine thread waits to get it
        back. At 10 symbols that cost ~12 % of a run with a run folder. The matmul operator calls the
        same BLAS dot (the same bits) and keeps the lock for small vectors."""
        values = self._values_cache
        if values is None:
            positions_value = float(self._positions @ self._last_price)
            gross = float(self._abs_positions @ self._last_price)
            values = self._values_cache = (self._cash + positions_value, self._cash, positions_value, gross)
        return values

    def _point(self) -> tuple[float, ...]:
        equity, cash, positions_value, gross = self._values_now()
        if self._capacity_cache is None:
            # the same expression as `_capacity` on the same dot products: computed once, not twice
            # (np.float64 as `_capacity` makes it)
            self._capacity_cache = np.float64(self._multiplier * (self._cash + positions_value) - gross)
        reserved = self._reserved_total(exact=True) if self._open_count else 0.0
        return (equity, cash, positions_value, gross, gross / self._multiplier,
                self._multiplier * equity - gross - reserved, float(self._open_count))

    def _append_point(self, ts_ns: int) -> None:
        n = self._curve_len
        if n == len(self._curve_time):
            self._curve_time = np.concatenate([self._curve_time, np.empty(n, dtype=np.int64)])
            self._curve_values = np.concatenate([self._curve_values, np.empty((n, _CURVE_COLUMNS), dtype=np.float64)])
        self._curve_time[n] = ts_ns
        self._curve_values[n] = self._point()
        self._curve_len = n + 1

    def _refresh_last_point(self) -> None:
        """After a "close" fill: the current bar time's equity point is recomputed so it includes the fill."""
        if self._curve_len and self._curve_time[self._curve_len - 1] == self._current_ts:
            self._curve_values[self._curve_len - 1] = self._point()
