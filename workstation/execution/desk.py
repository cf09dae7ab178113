"""OrderDesk: the strategies' side of the broker. Checks every signal and order at the boundary, applies
the risk checks, submits to the SimulatedBroker, publishes decisions and order events, and delivers
the order callbacks of BaseStrategy.

Runs in the analysis engine's thread (the thread that runs the strategies and owns the broker).

Three outcomes of a request, each recorded:
- invalid (bad input: a non-Signal return value, NaN or text quantity, unknown action or symbol,
  NaN confidence, a non-positive price, a cancel of an unknown id...): a STRATEGY ERROR, counted per
  strategy and published as an "error" event with the reason (kind "error" in the signal log and
  signals.parquet); an invalid order is also kept in the order list as rejected; the run goes on;
- refused by the risk checks (quality, confidence, position limit) or by the account (buying power,
  shorting): a rejected Decision with the reason;
- approved: a Decision, and the order goes to the broker.
Every signal and every submitted order gets exactly one Decision or one error.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from workstation.execution.broker import OrderRefused, SimulatedBroker
from workstation.execution.orders import InvalidOrder, Order, OrderChange, OrderStatus, make_request
from workstation.model import Action, Decision, Signal
from workstation.model.batches import DecisionBatch, SignalBatch, as_list

if TYPE_CHECKING:
    from workstation.config import RiskConfig
    from workstation.strategies.base import BaseStrategy

log = logging.getLogger(__name__)

# (strategy name, message, extra fields of the error row) -> None; the analysis engine counts and publishes
ErrorSink = Callable[[str, str, dict], None]
_ACTIONS = {a.value: a for a in Action}


class OrderOwner(Protocol):
    """Who sends the orders the desk handles now: a strategy, or the trader's hand orders
    (workstation.execution.manual.HandTrader); the desk reads its name and interval, and whether the
    session-close rule binds it (`bound_by_session_close`, True when absent: the strategies)."""

    @property
    def name(self) -> str: ...

    @property
    def interval(self) -> str: ...


class InvalidSignal(ValueError):
    """A strategy's return value or signal that cannot be used as given; the message is the reason."""


def _real(value: object) -> bool:
    cls = type(value)
    if cls is float or cls is int:       # the common case, without the slower ABC check
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def checked_signal(sig: object, symbols: Mapping[str, int]) -> Signal:
    """The signal with its action as an Action, or InvalidSignal naming what is wrong.

    Checks: a Signal; symbol a configured symbol; action an Action or its name in any case
    ("buy"); quantity a finite number (not 0 for BUY and SELL: its size; CLOSE ignores it); price a
    positive finite number; confidence a number in [0, 1] (NaN is refused, never "passes"); time an
    int (ns UTC); strategy a name.
    """
    if type(sig) is Signal and type(sig.symbol) is str and type(sig.action) is Action \
            and type(sig.quantity) is float and type(sig.price) is float and type(sig.confidence) is float \
            and type(sig.time) is int and type(sig.strategy) is str and sig.symbol in symbols:
        # fast path of the common case: every check in two lines
        q, p, c = sig.quantity, sig.price, sig.confidence
        if q - q == 0.0 and (q != 0.0 or sig.action is Action.CLOSE) and p - p == 0.0 and p > 0.0 \
                and 0.0 <= c <= 1.0:
            return sig
    if not isinstance(sig, Signal):
        raise InvalidSignal(f"strategy returned {type(sig).__name__} {_short(sig)}, expected workstation.model.Signal")
    if not isinstance(sig.symbol, str) or sig.symbol not in symbols:
        raise InvalidSignal(f"signal for unknown symbol {_short(sig.symbol)}")
    action = sig.action
    if not isinstance(action, Action):
        key = action.strip().upper() if isinstance(action, str) else None
        if key not in _ACTIONS:
            raise InvalidSignal(f"{sig.symbol}: action {_short(action)} is not one of BUY, SELL, CLOSE")
        action = _ACTIONS[key]
    if not _real(sig.quantity) or not math.isfinite(float(sig.quantity)):
        raise InvalidSignal(f"{sig.symbol} {action.value}: quantity {_short(sig.quantity)} is not a finite number")
    if action is not Action.CLOSE and float(sig.quantity) == 0:
        raise InvalidSignal(f"{sig.symbol} {action.value}: quantity is zero")
    if not _real(sig.price) or not math.isfinite(float(sig.price)) or float(sig.price) <= 0:
        raise InvalidSignal(f"{sig.symbol} {action.value}: price {_short(sig.price)} is not a positive finite number")
    if not _real(sig.confidence) or not 0.0 <= float(sig.confidence) <= 1.0:
        raise InvalidSignal(f"{sig.symbol} {action.value}: confidence {_short(sig.confidence)} is not a number "
                            "in [0, 1]")
    if isinstance(sig.time, bool) or not isinstance(sig.time, numbers.Integral):
        raise InvalidSignal(f"{sig.symbol} {action.value}: time {_short(sig.time)} is not an int (ns UTC)")
    if not isinstance(sig.strategy, str):
        raise InvalidSignal(f"{sig.symbol} {action.value}: strategy {_short(sig.strategy)} is not a name")
    if action is not sig.action:
        return Signal(sig.symbol, action, sig.quantity, sig.price, sig.time, sig.strategy, sig.confidence,
                      sig.metadata)
    return sig


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def signals_of(result: object) -> list[object]:
    """The items of what on_bar/on_bars returned (None, a Signal, or an iterable of them);
    InvalidSignal for anything else."""
    if result is None:
        return []
    if isinstance(result, Signal):
        return [result]
    if isinstance(result, str | bytes | Mapping) or not isinstance(result, Iterable):
        raise InvalidSignal(f"strategy returned {type(result).__name__} {_short(result)}, expected a list of "
                            "Signal or None")
    try:
        return list(result)
    except Exception as exc:  # noqa: BLE001 - iterating a user object may raise anything
        raise InvalidSignal(f"iterating the strategy's return value failed: {type(exc).__name__}: {exc}") from exc


class RiskChecks:
    """Quality minimum, position-size limit, confidence minimum and the account's checks; the first
    failing check names the reason."""

    def __init__(self, cfg: RiskConfig, session_data, broker: SimulatedBroker):
        self.cfg = cfg
        self.session_data = session_data
        self.broker = broker
        # why strategies' orders are refused for the rest of the session ("" while they are not): set by the
        # analysis engine at the flatten time of risk.flatten_before_close_minutes, cleared at a session start
        self.closing = ""
        # why every order, the trader's hand orders too, is refused for the rest of the session: the daily
        # loss limit (risk.max_daily_loss; "" while it has not been reached). Read before `closing`.
        self.halted = ""

    def order_quantity(self, signal: Signal, symbol_index: int) -> float:
        """Signed order size of a signal (+ buy, - sell); CLOSE flattens position and pending."""
        if signal.action is Action.BUY:
            return abs(signal.quantity)
        if signal.action is Action.SELL:
            return -abs(signal.quantity)
        return -(self.broker.position_at(symbol_index) + self.pending_quantity(symbol_index))

    def pending_quantity(self, symbol_index: int) -> float:
        """Signed quantity of this symbol's orders not filled yet (bracket exits aside)."""
        return self.broker.pending_quantity(symbol_index)

    def position_limit(self, symbol_index: int, quantity: float) -> str:
        after = self.broker.position_at(symbol_index) + self.pending_quantity(symbol_index) + quantity
        if abs(after) > self.cfg.max_position_qty + 1e-9:
            return f"position limit: would hold {after:g} > {self.cfg.max_position_qty:g} shares"
        return ""

    def quality(self, symbol: str, interval: str) -> str:
        quality = self.session_data.quality(symbol, interval)
        if quality < self.cfg.min_quality_pct:
            return f"data quality {quality:.1f}% < minimum {self.cfg.min_quality_pct:.1f}%"
        return ""

    def decide(self, signal: Signal, symbol_index: int, interval: str) -> tuple[Decision, float]:
        """The Decision on a checked signal and its signed order quantity (0 when rejected)."""
        reason, qty = self.decide_row(signal.symbol, symbol_index, signal.action, signal.quantity, signal.price,
                                      signal.confidence, interval)
        return Decision(signal, not reason, reason), qty

    def decide_row(self, symbol: str, symbol_index: int, action: Action, quantity: float, price: float,
                   confidence: float, interval: str) -> tuple[str, float]:
        """(reason, signed order quantity) of one checked signal given as its fields: reason "" and the
        quantity when approved, the first failing check's reason and 0 when rejected."""
        # the checks of `order_quantity`, `quality` and `position_limit` in order, inlined (per signal)
        broker = self.broker
        if action is Action.BUY:
            qty = abs(quantity)
        elif action is Action.SELL:
            qty = -abs(quantity)
        else:
            qty = -(broker.position_at(symbol_index) + broker.pending_quantity(symbol_index))
        cfg = self.cfg
        refusal = self.halted or self.closing
        if refusal:
            return refusal, 0.0
        if confidence < cfg.min_confidence:
            return f"confidence {confidence:.2f} < minimum {cfg.min_confidence:.2f}", 0.0
        quality = self.session_data.quality(symbol, interval)
        if quality < cfg.min_quality_pct:
            return f"data quality {quality:.1f}% < minimum {cfg.min_quality_pct:.1f}%", 0.0
        if qty == 0:
            return "nothing to close: position is flat", 0.0
        after = broker.position_at(symbol_index) + broker.pending_quantity(symbol_index) + qty
        if abs(after) > cfg.max_position_qty + 1e-9:
            return f"position limit: would hold {after:g} > {cfg.max_position_qty:g} shares", 0.0
        if broker.account_may_refuse(symbol_index, qty):
            last = broker.last_price_at(symbol_index)
            reason = broker.account_check(symbol_index, qty, last if last > 0 else float(price))
            if reason:
                return reason, 0.0
        return "", qty


def wants_decisions(events) -> bool:
    """Whether anyone reads decisions, one by one ("decision") or a round at a time ("decisions")."""
    return events.wants("decision") or events.wants("decisions")


def publish_decisions(events, batch: DecisionBatch) -> None:
    """Publish a round's decisions: each as a "decision" event (Decision objects built only then), all
    as one "decisions" batch."""
    if events.wants("decision"):
        for decision in batch.decisions():
            events.emit("decision", decision)
    if events.wants("decisions"):
        events.emit("decisions", batch)


def batch_problem(batch: SignalBatch, n_symbols: int) -> bool:
    """True when some row of a SignalBatch would not pass `checked_signal` (the batch then takes the
    object path, which names the problem row by row). Plain Python over the few rows of a call."""
    if type(batch.time) is not int or type(batch.strategy) is not str:
        return True
    actions = batch.actions
    columns = (as_list(batch.symbol_indices), as_list(batch.quantities), as_list(batch.prices),
               as_list(batch.confidences))
    if any(type(col) is not list or len(col) != len(actions) for col in columns):
        return True
    close = Action.CLOSE
    for i, action, q, p, c in zip(columns[0], actions, columns[1], columns[2], columns[3], strict=True):
        if type(i) is not int or not 0 <= i < n_symbols or type(action) is not Action:
            return True
        if type(q) is not float or type(p) is not float or type(c) is not float:
            return True
        if not (q - q == 0.0 and (q != 0.0 or action is close) and p - p == 0.0 and p > 0.0 and 0.0 <= c <= 1.0):
            return True
    return False


class OrderDesk:
    """See the module docstring. `current` is the strategy whose code runs now (set by the engine)."""

    def __init__(self, broker: SimulatedBroker, risk_cfg: RiskConfig, session_data, clock, events,
                 on_error: ErrorSink):
        self.broker = broker
        self.session_data = session_data
        self.clock = clock
        self.events = events
        self.on_error = on_error
        self.risk = RiskChecks(risk_cfg, session_data, broker)
        # the order changes delivered since the round began, for the "round" event (None: nobody takes rounds)
        self.round_orders: list[OrderChange] | None = None
        self.symbol_index: dict[str, int] = dict(session_data.symbol_index)
        self.symbols: tuple[str, ...] = tuple(session_data.symbols)
        self._symbols_seen: Sequence[str] | None = None   # a batch's symbol list known to be `symbols`
        self.current: BaseStrategy | OrderOwner | None = None
        self.signal_count = 0        # decisions: signals and orders
        self.rejected_count = 0      # decisions rejected
        self.invalid_count = 0       # invalid signals and orders (strategy errors)
        self.last_problem = ""       # why the last refused or invalid request was (for hand orders)

    # ------------------------------------------------------------------ signals
    def handle_signals(self, strategy: BaseStrategy, result: object) -> None:
        """Check what a strategy returned, decide each signal, send approved ones to the broker."""
        if type(result) is SignalBatch and self._same_symbols(result.symbols) \
                and not batch_problem(result, len(self.symbols)):
            self._handle_batch(strategy, result)
            return
        try:
            items = signals_of(result)
        except InvalidSignal as exc:
            self._invalid(strategy, str(exc))
            return
        events = self.events
        emit = wants_decisions(events)
        made: list[Decision] = []
        for raw in items:
            try:
                sig = checked_signal(raw, self.symbol_index)
            except InvalidSignal as exc:
                if made:                    # the decisions before this error first, in order
                    publish_decisions(events, DecisionBatch.of(*made))
                    made = []
                symbol = getattr(raw, "symbol", "")
                self._invalid(strategy, f"invalid signal: {exc}", symbol if isinstance(symbol, str) else "")
                continue
            i = self.symbol_index[sig.symbol]
            decision, qty = self.risk.decide(sig, i, strategy.interval)
            self.signal_count += 1
            if decision.approved:
                self.broker.submit(i, qty, sig.time, sig.strategy, sig.price)
            else:
                self.rejected_count += 1
            if emit:
                made.append(decision)
        if made:
            publish_decisions(events, DecisionBatch.of(*made))

    def _same_symbols(self, symbols: Sequence[str]) -> bool:
        """Whether a batch's symbol list is the run's (checked once per list object)."""
        if symbols is self._symbols_seen and len(symbols) == len(self.symbols):
            return True
        if tuple(symbols) != self.symbols:
            return False
        self._symbols_seen = symbols
        return True

    def _handle_batch(self, strategy: BaseStrategy, batch: SignalBatch) -> None:
        """The columnar path of `handle_signals`: the same checks and orders row by row, no Signal or
        Decision object per row; one "decisions" event (and a "decision" event per row when observed)."""
        risk, broker, symbols = self.risk, self.broker, self.symbols
        interval, time_ns, name = strategy.interval, batch.time, batch.strategy
        approved: list[bool] = []
        reasons: list[str] = []
        rejected = 0
        for i, action, q, p, c in zip(as_list(batch.symbol_indices), batch.actions, as_list(batch.quantities),
                                      as_list(batch.prices), as_list(batch.confidences), strict=True):
            reason, qty = risk.decide_row(symbols[i], i, action, q, p, c, interval)
            if reason:
                rejected += 1
            else:
                broker.submit(i, qty, time_ns, name, p)
            approved.append(not reason)
            reasons.append(reason)
        self.signal_count += len(approved)
        self.rejected_count += rejected
        if wants_decisions(self.events):
            publish_decisions(self.events, DecisionBatch(batch, tuple(approved), tuple(reasons)))

    # ------------------------------------------------------------------ orders (the ctx API)
    def submit_order(self, symbol: Any, quantity: Any, order_type: Any = "market", limit_price: Any = None,
                     stop_price: Any = None, trail_amount: Any = None, trail_percent: Any = None, tif: Any = "day",
                     stop_loss: Any = None, take_profit: Any = None, tag: Any = None) -> int:
        strategy = self._strategy()
        now = self.clock.now_ns()
        try:
            request, off_tick = self.broker.tick_prices(
                make_request(symbol, quantity, order_type, limit_price, stop_price, trail_amount, trail_percent,
                             tif, stop_loss, take_profit, tag))
            i = self.broker.validate(request)
        except InvalidOrder as exc:
            order = self.broker.reject_invalid(symbol, quantity, order_type, strategy.name, now, str(exc))
            self._invalid(strategy, f"invalid order: {exc}", symbol if isinstance(symbol, str) else "")
            return order.id
        reason = (self._closing(strategy) or off_tick or self.risk.quality(request.symbol, strategy.interval)
                  or self.risk.position_limit(i, request.quantity))
        order = self.broker.submit_order(request, strategy.name, now, refused=reason, symbol_index=i)
        self._decide(order, request.stop_loss, request.take_profit)
        return order.id

    def submit_closing(self, owner: str, symbol: str, quantity: float, tag: str, why: str) -> int:
        """A market order of the engine's own that reduces a position (the session-close rule), owned by
        `owner` (the strategy of the round trip): past the risk checks (quality, position limit), not
        past the account's; decided and published like a strategy's order, its Decision's reason saying
        `why` it was sent (the signal log's Reason column). Its id."""
        request = make_request(symbol, quantity, "market", None, None, None, None, "day", None, None, tag)
        order = self.broker.submit_order(request, owner, self.clock.now_ns())
        self._decide(order, None, None, why)
        return order.id

    def cancel_order(self, order_id: Any, reason: str = "cancelled by the strategy") -> bool:
        strategy = self._strategy()
        refusal = self._closing(strategy)
        if refusal:
            self.last_problem = f"cancel of order {order_id!r} refused: {refusal}"
            return False
        try:
            self.broker.cancel_order(order_id, self.clock.now_ns(), reason)
        except InvalidOrder as exc:
            self._invalid(strategy, f"invalid cancel: {exc}")
            return False
        return True

    def modify_order(self, order_id: Any, quantity: Any = None, limit_price: Any = None, stop_price: Any = None,
                     trail_amount: Any = None, trail_percent: Any = None) -> bool:
        strategy = self._strategy()
        refusal = self._closing(strategy)
        if refusal:
            self.last_problem = f"modify of order {order_id!r} refused: {refusal}"
            return False
        try:
            before = self.broker.order(order_id) if isinstance(order_id, int) else None
            if before is not None and quantity is not None and before.is_open:
                i = self.symbol_index[before.symbol]
                try:
                    delta = float(quantity) - before.quantity
                except (TypeError, ValueError):
                    delta = 0.0
                limit = self.risk.position_limit(i, delta) if math.isfinite(delta) else ""
                if limit:
                    raise OrderRefused(f"modify of order {before.id} refused: {limit}")
            self.broker.modify_order(order_id, self.clock.now_ns(), quantity, limit_price, stop_price,
                                     trail_amount, trail_percent)
        except InvalidOrder as exc:
            self._invalid(strategy, f"invalid modify: {exc}")
            return False
        except OrderRefused as exc:
            order = self.broker.order(order_id)
            self._refused_change(strategy, order, str(exc))
            return False
        return True

    def one_cancels_other(self, order_ids: Iterable[Any]) -> int | None:
        strategy = self._strategy()
        try:
            return self.broker.one_cancels_other(list(order_ids), self.clock.now_ns())
        except (InvalidOrder, TypeError) as exc:
            self._invalid(strategy, f"invalid OCO group: {exc}")
            return None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        if symbol is not None and symbol not in self.symbol_index:
            return []
        return self.broker.open_orders(symbol)

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order of this strategy (of one symbol, or all); the number cancelled."""
        strategy = self._strategy()
        now = self.clock.now_ns()
        cancelled = 0
        for order in self.open_orders(symbol):
            current = self.broker.order(order.id)
            if order.strategy == strategy.name and current is not None and current.is_open:
                before = self.broker.open_order_count
                self.broker.cancel_order(order.id, now)
                cancelled += before - self.broker.open_order_count
        return cancelled

    def close_position(self, symbol: str, tag: str | None = None) -> int | None:
        """Cancel this strategy's open orders of `symbol`, then a market order that flattens the
        position (None when already flat)."""
        if symbol not in self.symbol_index:
            self._invalid(self._strategy(), f"invalid close_position: unknown symbol {symbol!r}")
            return None
        self.cancel_all(symbol)
        position = float(self.broker.positions[self.symbol_index[symbol]])
        if position == 0:
            return None
        return self.submit_order(symbol, -position, "market", tag=tag)

    # ------------------------------------------------------------------ order events and callbacks
    def deliver(self, strategies: Mapping[str, BaseStrategy], guard, ctx) -> None:
        """Publish the broker's order events and call the owners' callbacks (`guard(st, fn, *args)`
        isolates each call). Orders a callback submits are delivered in the same call."""
        broker = self.broker
        if not broker.record_events:
            return
        events = self.events
        emit_each = events.wants("order")
        emit_batch = events.wants("orders")
        for _ in range(10_000):
            changes = broker.take_changes()
            if not changes:
                return
            if emit_batch:
                events.emit("orders", changes)      # one event for the delivery's changes
            if self.round_orders is not None:
                self.round_orders += changes        # the "round" event's (the bridge)
            if not emit_each and not strategies:
                continue                            # nobody reads them one by one (no callback either)
            for change in changes:
                event = None
                if emit_each:
                    event = change.event()
                    events.emit("order", event)
                st = strategies.get(change.strategy)
                if st is None:
                    continue
                if event is None:
                    event = change.event()
                previous, self.current = self.current, st
                try:
                    if event.kind == "filled":
                        guard(st, st.on_order_filled, ctx, event.order, event.fill)
                    elif event.kind in ("cancelled", "expired"):
                        guard(st, st.on_order_cancelled, ctx, event.order)
                    elif event.kind == "rejected":
                        guard(st, st.on_order_rejected, ctx, event.order)
                finally:
                    self.current = previous
        log.error("order callbacks kept submitting orders for 10,000 rounds; the rest waits for the next bar")

    # ------------------------------------------------------------------ internals
    def _strategy(self) -> BaseStrategy | OrderOwner:
        if self.current is None:
            raise RuntimeError("orders can only be sent from a strategy's callbacks (on_bar, on_bars, ...)")
        return self.current

    def _closing(self, owner: BaseStrategy | OrderOwner) -> str:
        """Why `owner`'s order requests are refused now: the daily loss limit's reason for everyone once it
        is reached (RiskChecks.halted); the session-close reason for the strategies after the flatten time
        (RiskChecks.closing), never for the trader's hand orders; "" otherwise."""
        risk = self.risk
        if risk.halted:
            return risk.halted
        closing = risk.closing
        return closing if closing and getattr(owner, "bound_by_session_close", True) else ""

    def _invalid(self, strategy: BaseStrategy | OrderOwner, message: str, symbol: str = "") -> None:
        self.invalid_count += 1
        self.last_problem = message
        self.on_error(strategy.name, message, {"symbol": symbol})

    def _decide(self, order: Order, stop_loss: float | None, take_profit: float | None, why: str = "") -> None:
        """Count and publish the Decision on a submitted order (`why`: the reason of an approved one the
        engine sent itself; a rejected one's is the refusal's)."""
        approved = order.status is not OrderStatus.REJECTED
        self.signal_count += 1
        if not approved:
            self.rejected_count += 1
        if wants_decisions(self.events):
            decision = order_decision(order, self._reference(order), approved, stop_loss, take_profit,
                                      self.clock.now_ns())
            if approved and why:
                decision.reason = why
            publish_decisions(self.events, DecisionBatch.of(decision))

    def _refused_change(self, strategy: BaseStrategy | OrderOwner, order: Order | None, reason: str) -> None:
        self.last_problem = reason
        self.signal_count += 1
        self.rejected_count += 1
        if order is not None and wants_decisions(self.events):
            decision = order_decision(order, self._reference(order), False, None, None, self.clock.now_ns(),
                                      kind="modify")
            publish_decisions(self.events, DecisionBatch.of(Decision(decision.signal, False, reason, "modify", order.id)))

    def _reference(self, order: Order) -> float:
        if order.limit_price is not None:
            return order.limit_price
        if order.stop_price is not None:
            return order.stop_price
        i = self.symbol_index.get(order.symbol)
        return float(self.broker.last_prices[i]) if i is not None else math.nan


def order_decision(order: Order, reference_price: float, approved: bool, stop_loss: float | None,
                   take_profit: float | None, time_ns: int, kind: str = "order") -> Decision:
    """The Decision (signal-log row) of an order: action BUY/SELL, its size, its reference price."""
    metadata: dict[str, Any] = {"order_id": order.id, "order_type": order.order_type.value, "tif": order.tif.value}
    for key, value in (("limit_price", order.limit_price), ("stop_price", order.stop_price),
                       ("stop_loss", stop_loss), ("take_profit", take_profit), ("tag", order.tag)):
        if value is not None:
            metadata[key] = value
    signal = Signal(order.symbol, Action.BUY if order.quantity > 0 else Action.SELL, abs(order.quantity),
                    reference_price, time_ns, order.strategy, 1.0, metadata)
    return Decision(signal, approved, order.reason if not approved else "", kind, order.id)
