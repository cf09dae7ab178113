"""BaseStrategy and StrategyContext: what a user strategy implements and what it may read and send.

A strategy receives bars of one interval (`config.interval`) for its symbols AFTER they are
complete (the clock reads the bar's end), reads SessionData, indicators and historical indicators
through the context, and trades in two ways: it returns `Signal`s (each a market order), or it
sends orders through the context (`submit_order`, `cancel_order`, `modify_order`,
`one_cancels_other`, `open_orders`, `order`, `position`, the account and sizing helpers). It never
touches the broker: every signal and order goes through the risk checks, and each gets a Decision
(or, when invalid, a strategy error) with the reason. The broker reports back through
`on_order_filled`, `on_order_cancelled` (also expiries) and `on_order_rejected`, called in the
engine thread before the next bar of the strategy (fills: before the bars of the fill's bar time).
Implement `on_bar` (one symbol) or, for speed, `on_bars` (every symbol with a new bar at this bar
time, as an index array). All calls come from one engine thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.execution import sizing
from workstation.model import Action, Bar, Fill, Signal

if TYPE_CHECKING:
    from workstation.calendar import TradingSession
    from workstation.execution.orders import Order
    from workstation.indicators import Indicator
    from workstation.session import SessionData
    from workstation.session.quote_bars import QuoteBar


class StrategyContext:
    """Read access for strategies: clock, bars, indicators, quality, positions. Built per run."""

    def __init__(self, session_data: SessionData, clock, indicators, positions, symbols: Sequence[str],
                 last_close: dict | None = None, last_start: dict | None = None, desk=None, broker=None):
        self.session_data = session_data
        self._desk = desk                      # workstation.execution.desk.OrderDesk (orders)
        self._broker = broker                  # read-only use: account figures
        self.session: TradingSession | None = None   # the current session (open_ns, close_ns, date)
        self._last_close = last_close or {}
        self._last_start = last_start or {}
        self._clock = clock
        self._indicators = indicators          # IndicatorSet of the processor
        self._positions = positions            # callable -> np.ndarray of positions per symbol index
        self.symbols = list(symbols)
        self.symbol_index = {s: i for i, s in enumerate(self.symbols)}

    @property
    def now_ns(self) -> int:
        """Current clock time (int ns UTC): the end of the newest bar delivered."""
        return self._clock.now_ns()

    def indicator_bank(self, interval: str, spec: str) -> Indicator:
        """The vectorised indicator (one lane per symbol index) for (interval, spec)."""
        return self._indicators.get(interval, spec)

    def indicator(self, symbol: str, interval: str, spec: str) -> float:
        """Current value of an indicator for one symbol (NaN until ready)."""
        return float(self._indicators.get(interval, spec).value[self.symbol_index[symbol]])

    def indicator_outputs(self, symbol: str, interval: str, spec: str) -> dict[str, float]:
        i = self.symbol_index[symbol]
        return {k: float(v[i]) for k, v in self._indicators.get(interval, spec).outputs().items()}

    def closes(self, interval: str) -> np.ndarray:
        """Close of each symbol's newest completed bar of `interval` (NaN before the first), by
        symbol index; read-only use."""
        return self._last_close[interval]

    def bar_starts(self, interval: str) -> np.ndarray:
        """Start (int ns UTC) of each symbol's newest completed bar of `interval` (-1 before the first)."""
        return self._last_start[interval]

    def price_decimals(self) -> np.ndarray:
        """Decimals of every price seen so far per symbol index (3 for 17.921): prices times
        10**decimals are integers, so sums of them compare exactly (see indicators.price_grid)."""
        return self._indicators.price_grid.decimals

    def positions(self) -> np.ndarray:
        """Net position per symbol index (shares; + long, - short)."""
        return self._positions()

    def position(self, symbol: str) -> float:
        """Signed position of `symbol` in shares (+ long, - short, 0 flat)."""
        return float(self._positions()[self.symbol_index[symbol]])

    # ------------------------------------------------------------------ orders
    def submit_order(self, symbol: str, quantity: float, order_type: str = "market",
                     limit_price: float | None = None, stop_price: float | None = None,
                     trail_amount: float | None = None, trail_percent: float | None = None, tif: str = "day",
                     stop_loss: float | None = None, take_profit: float | None = None,
                     tag: str | None = None) -> int:
        """Send an order; returns its id (also for a rejected order: see `order(id).status/.reason`).

        quantity: signed (+ buy, - sell). order_type: "market", "limit" (limit_price), "stop"
        (stop_price), "stop_limit" (stop_price and limit_price), "trailing_stop" (trail_amount in
        currency or trail_percent in percent), "market_on_close" (the session's closing bar's close).
        tif: "day" (expires after the session's last bar) or "gtc". stop_loss / take_profit make a
        bracket: exits (a stop and a limit order) that become active once the entry fills; the first
        exit to fill cancels the other. Eligible from the symbol's next bar. Fill rules: see the README.
        """
        return self._require_desk().submit_order(symbol, quantity, order_type, limit_price, stop_price,
                                                 trail_amount, trail_percent, tif, stop_loss, take_profit, tag)

    def cancel_order(self, order_id: int) -> bool:
        """Cancel an open order (and the rest of its bracket or OCO group); False (and a strategy error
        with the reason) for an unknown id or an order already final."""
        return self._require_desk().cancel_order(order_id)

    def modify_order(self, order_id: int, quantity: float | None = None, limit_price: float | None = None,
                     stop_price: float | None = None, trail_amount: float | None = None,
                     trail_percent: float | None = None) -> bool:
        """Change an open order's quantity or prices (it keeps its id); False when refused or invalid."""
        return self._require_desk().modify_order(order_id, quantity, limit_price, stop_price, trail_amount,
                                                 trail_percent)

    def one_cancels_other(self, order_ids: Iterable[int]) -> int | None:
        """Link open orders: a fill of one (or its cancel or expiry) cancels the others. The group id."""
        return self._require_desk().one_cancels_other(order_ids)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Working orders and held bracket exits (of one symbol, or all)."""
        return self._require_desk().open_orders(symbol)

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order of this strategy (of one symbol, or all); returns how many."""
        return self._require_desk().cancel_all(symbol)

    def close_position(self, symbol: str, tag: str | None = None) -> int | None:
        """Cancel this strategy's open orders of `symbol` and flatten its position with a market order
        (its id; None when already flat)."""
        return self._require_desk().close_position(symbol, tag)

    def order(self, order_id: int) -> Order | None:
        """The order with this id as it is now (None for an unknown id)."""
        return self._require_desk().broker.order(order_id)

    def _require_desk(self):
        if self._desk is None:
            raise RuntimeError("this context has no broker: orders are only available in a run")
        return self._desk

    # ------------------------------------------------------------------ account and sizing
    @property
    def equity(self) -> float:
        """Cash plus positions valued at the last closes."""
        return self._require_desk().broker.equity()

    @property
    def cash(self) -> float:
        return self._require_desk().broker.cash

    @property
    def buying_power(self) -> float:
        """Exposure that can still be added (see the README's account rules)."""
        return self._require_desk().broker.buying_power()

    def size_fixed(self, quantity: float, lot_size: float = 1) -> float:
        """`quantity` shares rounded down to the lot size."""
        return sizing.fixed_quantity(quantity, lot_size)

    def size_percent_of_equity(self, percent: float, price: float, lot_size: float = 1) -> float:
        """Shares worth `percent` % of the equity at `price`, rounded down to the lot size."""
        return sizing.percent_of_equity(self.equity, percent, price, lot_size)

    def size_by_risk(self, risk_amount: float, entry_price: float, stop_price: float, lot_size: float = 1) -> float:
        """Shares that lose `risk_amount` from `entry_price` to `stop_price`, rounded down to the lot size."""
        return sizing.risk_based(risk_amount, entry_price, stop_price, lot_size)

    def latest_bar(self, symbol: str, interval: str) -> Bar | None:
        return self.session_data.latest_bar(symbol, interval)

    def last_bars(self, symbol: str, interval: str, n: int):
        return self.session_data.last_bars(symbol, interval, n)

    def quality(self, symbol: str, interval: str) -> float:
        return self.session_data.quality(symbol, interval)

    def quote(self, symbol: str) -> QuoteBar | None:
        """The latest completed quote bar of `symbol` (bid/ask open, high, low, close, sizes; `.bid`,
        `.ask`, `.spread`, `.mid` at its close), or None when the run streams no quote bars
        (`streams.quotes`) or the store has none yet this session. Its `timestamp` is the bar start;
        it is never later than the clock allows (bar end <= now)."""
        return self.session_data.latest_quote_bar(symbol)

    def historical_indicator(self, symbol: str, name: str):
        return self.session_data.historical_indicator(symbol, name)


class BaseStrategy:
    """Subclass and implement `on_bar` (or `on_bars`). Parameters arrive as keyword arguments."""

    def __init__(self, name: str, symbols: Sequence[str], interval: str, **params: Any):
        self.name = name
        self.symbols = list(symbols)
        self.interval = interval
        self.params = params

    def required_indicators(self) -> Iterable[str]:
        """Indicator specs (e.g. "sma(5)") the processor must keep on `self.interval`."""
        return ()

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first session (after indicator warm-up)."""

    def on_session_start(self, ctx: StrategyContext, session_date) -> None:
        """Called at each session's open."""

    def on_session_end(self, ctx: StrategyContext, session_date) -> None:
        """Called after each session's close."""

    def on_bar(self, ctx: StrategyContext, symbol: str, bar: Bar) -> Sequence[Signal] | None:
        """One completed bar of one symbol. Return signals (or None)."""
        return None

    def on_bars(self, ctx: StrategyContext, sym_idx: np.ndarray) -> Sequence[Signal] | None:
        """Every completed bar of this bar time for this strategy's symbols (`sym_idx` indexes
        `ctx.symbols`). The default calls `on_bar` per symbol; override for speed."""
        out: list[Signal] = []
        sd = ctx.session_data
        for i in sym_idx.tolist():
            sym = ctx.symbols[i]
            bar = sd.latest_bar(sym, self.interval)
            if bar is None:
                continue
            res = self.on_bar(ctx, sym, bar)
            if res:
                out.extend(res)
        return out

    def on_bars_revised(self, ctx: StrategyContext, sym_idx: np.ndarray) -> None:
        """Live mode: late or gap-filled bars changed the history of these symbols (indicators were
        recomputed); refresh any state derived from it. No signal is made for past bars."""

    def on_quality_update(self, ctx: StrategyContext, symbol: str, interval: str, quality_pct: float) -> None:
        """Called when a symbol's bar quality changes (optional)."""

    def on_order_filled(self, ctx: StrategyContext, order: Order, fill: Fill) -> None:
        """One of this strategy's orders filled (`order.status` "filled" or "partially_filled")."""

    def on_order_cancelled(self, ctx: StrategyContext, order: Order) -> None:
        """One of this strategy's orders was cancelled or expired (`order.status`, `order.reason`)."""

    def on_order_rejected(self, ctx: StrategyContext, order: Order) -> None:
        """One of this strategy's orders was rejected (`order.reason` says why)."""

    def signal(self, ctx: StrategyContext, symbol: str, action: Action, quantity: float, price: float,
               confidence: float = 1.0, **metadata: Any) -> Signal:
        """Build a Signal stamped with the clock and this strategy's name; metadata["bar_start"] is
        the start of the newest bar of `symbol` on the strategy's interval (what it decided on)."""
        if "bar_start" not in metadata:
            bar = ctx.latest_bar(symbol, self.interval)
            if bar is not None:
                metadata["bar_start"] = bar.timestamp
        return Signal(symbol, action, float(quantity), float(price), ctx.now_ns, self.name,
                      float(confidence), metadata)
