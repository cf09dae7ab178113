"""AnalysisEngine: runs strategies on processor events, applies risk checks, drives execution.

Runs in its own thread (or the coordinator's, single-threaded). For each bar time: first the
simulated broker fills the working orders the bars of the symbols that have a bar now reach (an
order made after bar i is first tested on the symbol's next bar), order callbacks run, then every
strategy whose interval has completed bars gets them (its symbols only). Signals and orders go
through the OrderDesk (workstation.execution.desk): checked at the boundary, decided by the risk
checks, sent to the broker. After a session's last bar the day orders expire. A strategy that
raises, or returns or sends something invalid, is isolated: the error is counted, logged and
published as an event; the other strategies and the run go on. With risk.flatten_before_close_minutes
N, the first bar time that ends N minutes or less before the session's regular close cancels every
working order and closes every position at market before the strategies run (`_flatten_for_close`),
and the strategies' orders are refused from then until the session ends. With risk.max_daily_loss X,
the first bar time whose equity is X below the session's start does the same (`_halt_for_loss`) and
refuses every order, hand orders too, until the session ends. Hand orders (ManualCommands from the
Pipeline, between two bar times) are applied here too, by the HandDesk
(workstation.execution.manual), so the broker has one thread.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import TYPE_CHECKING

import numpy as np

from workstation.errors import counted
from workstation.execution.desk import OrderDesk, RiskChecks
from workstation.execution.orders import OrderChange, TradingRound
from workstation.model.interval import parse_interval
from workstation.pipeline.stage import Handler, Stage
from workstation.pipeline.stage_events import (
    CompletedBars,
    ManualCommands,
    ProcessedBars,
    Revised,
    SessionEnd,
    SessionStart,
    StartStrategies,
)
from workstation.strategies.base import BaseStrategy, StrategyContext

if TYPE_CHECKING:
    from workstation.config import RiskConfig
    from workstation.execution.manual import HandDesk

__all__ = ["AnalysisEngine", "RiskChecks"]

log = logging.getLogger(__name__)


ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))      # the workstation package


def raised_at(exc: BaseException) -> str:
    """' (mystrat.py:12 in on_bar)': where a strategy's exception was raised, for its message: the
    deepest frame of the strategy's own code (outside the engine, when the engine raised on its
    behalf: a bad argument to the context), else the deepest frame (a built-in strategy)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(ENGINE_DIR + os.sep)]
    frame = (own or frames)[-1]
    return f" ({os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})"


class AnalysisEngine(Stage):
    """The analysis stage: given ProcessedBars, CompletedBars and Revised by the processor (through the
    Pipeline), session starts and ends, the strategies' start and hand orders by the Pipeline. The
    strategies read SessionData: bars, quality, the processor's indicators and newest closes."""

    thread_name = "AnalysisEngine"
    stat_name = "analysis.event"

    def __init__(self, session_data, clock, strategies: list[BaseStrategy], broker, risk_cfg: RiskConfig, metrics,
                 events, base_interval: str):
        super().__init__(metrics)
        self.session_data = session_data
        self.clock = clock
        self.strategies = strategies
        self.broker = broker
        self.events = events
        self.base_interval = base_interval
        self._base_ns = parse_interval(base_interval).ns
        self.errors: dict[str, int] = {st.name: 0 for st in strategies}
        self.desk = OrderDesk(broker, risk_cfg, session_data, clock, events, self._strategy_error)
        self.risk = self.desk.risk
        self._hand: HandDesk | None = None           # made at the first hand order (most runs have none)
        symbols = session_data.symbols
        self.ctx = StrategyContext(session_data, clock, session_data.indicators, lambda: broker.positions, symbols,
                                   session_data.last_close, session_data.last_start, desk=self.desk, broker=broker)
        n = len(symbols)
        self._masks: list[np.ndarray | None] = []
        for st in strategies:
            if set(st.symbols) >= set(symbols):
                self._masks.append(None)
            else:
                m = np.zeros(n, dtype=bool)
                m[[session_data.symbol_index[s] for s in st.symbols]] = True
                self._masks.append(m)
        self._per_symbol = [type(st).on_bars is BaseStrategy.on_bars for st in strategies]
        # strategies with an order callback of their own: the only ones order events are built for (the base
        # callbacks do nothing; with the GUI observing orders, building an OrderEvent per change for them cost
        # ~10 % of a 100-symbol replay)
        self._order_listeners = {st.name: st for st in strategies if _has_order_callbacks(st)}
        # set at the start (call_start): someone takes "round" events (the GUI); order changes are delivered
        # one by one or per delivery (an "order" or "orders" observer, a strategy's order callbacks)
        self._rounds = False
        self._deliver_each = False
        self._flatten_minutes: int | None = risk_cfg.flatten_before_close_minutes   # None: the rule is off
        self._flatten_at_ns: int | None = None      # this session's flatten time (None: off, or done)
        self._max_daily_loss: float | None = risk_cfg.max_daily_loss                # None: the rule is off
        self._loss_floor: float | None = None       # this session's lowest allowed equity (None: off, or reached)
        self._session_equity = 0.0                  # the equity at this session's start

    @property
    def signal_count(self) -> int:
        """Decisions made: signals and submitted orders."""
        return self.desk.signal_count

    @property
    def rejected_count(self) -> int:
        """Decisions that rejected the signal or order."""
        return self.desk.rejected_count

    @property
    def hand_orders_applied(self) -> int:
        """Hand commands applied so far."""
        return 0 if self._hand is None else self._hand.applied

    def call_start(self) -> None:
        """Strategies' on_start, before the first session, after the warm-up (StartStrategies)."""
        events = self.events
        self._rounds = events.wants("round")
        self._deliver_each = events.wants("order") or events.wants("orders") or bool(self._order_listeners)
        self.broker.record_events = self._deliver_each or self._rounds
        self.desk.round_orders = [] if self._rounds and self._deliver_each else None
        for st in self.strategies:
            self._guard(st, st.on_start, self.ctx)

    # ------------------------------------------------------------------ stage
    def handlers(self) -> dict[type, Handler]:
        return {ProcessedBars: self._on_bars, CompletedBars: lambda e: self._run_completed(e.completed),
                ManualCommands: lambda e: self._apply_manual(e.commands), Revised: lambda e: self._revised(e.revised),
                SessionStart: self._on_session_start, SessionEnd: self._on_session_end,
                StartStrategies: lambda _e: self.call_start()}

    def _on_session_start(self, event: SessionStart) -> None:
        self.ctx.session = event.session
        self.risk.closing = self.risk.halted = ""
        if self._max_daily_loss is not None:
            self._session_equity = equity = self.broker.equity()
            self._loss_floor = equity - self._max_daily_loss
        # the session's last regular-hours bar time: market-on-close orders fill at its close
        self.broker.start_session(event.session.close_ns - self._base_ns)
        if self._flatten_minutes is not None:
            self._flatten_at_ns = flatten_time_ns(event.session.close_ns, self._flatten_minutes)
        for st in self.strategies:
            self._guard(st, st.on_session_start, self.ctx, event.session.date)

    def _on_session_end(self, event: SessionEnd) -> None:
        for st in self.strategies:
            self._guard(st, st.on_session_end, self.ctx, event.session.date)
        fills = self.broker.end_session(event.session.end_ns)
        if fills:
            self._publish_fills(fills)
        self._deliver()
        if self._rounds:
            orders = self._take_round_orders()
            if orders or fills:
                self.events.emit("round", TradingRound(self.clock.now_ns(), fills, orders,
                                                       self.broker.account_fields() if fills else None))

    # ------------------------------------------------------------------ bars
    def _on_bars(self, event: ProcessedBars) -> None:
        bars = event.bars
        ts, idx = bars.start_ns, bars.symbol_indices
        fills = self.broker.on_bar_time(ts, idx, bars.open, bars.close, bars.high, bars.low, bars.volume)
        if fills:
            self._publish_fills(fills)
        self._deliver()
        if self._loss_floor is not None and self.broker.equity() <= self._loss_floor:
            self._halt_for_loss()
        if self._flatten_at_ns is not None and self.clock.now_ns() >= self._flatten_at_ns:
            self._flatten_for_close()
        self._run_interval(self.base_interval, idx)
        self._run_completed(event.completed)
        if self.events.wants("account"):
            self.events.emit("account", self.broker.account_snapshot())
        if self._rounds:                             # the bar time's fills, order changes and account (the bridge)
            self.events.emit("round", TradingRound(self.clock.now_ns(), fills, self._take_round_orders(),
                                                   self.broker.account_fields()))

    def _publish_fills(self, fills: list) -> None:
        events = self.events
        if events.wants("fills"):
            events.emit("fills", fills)          # the bar time's fills in one event
        if events.wants("fill"):
            for f in fills:
                events.emit("fill", f)

    def _flatten_for_close(self) -> None:
        """The session-close rule (risk.flatten_before_close_minutes): flat (`_close_everything`, tag
        "session close") and the strategies' orders refused until the session ends. Once a session."""
        self._flatten_at_ns = None
        minutes = self._flatten_minutes
        self.risk.closing = (f"session closing: orders are refused from {minutes} min before the close "
                             "(risk.flatten_before_close_minutes)")
        self._close_everything("cancelled: session close", SESSION_CLOSE_TAG,
                               f"session close: flat {minutes} min before the close (risk.flatten_before_close_minutes)")

    def _halt_for_loss(self) -> None:
        """The daily loss limit (risk.max_daily_loss): flat (`_close_everything`, tag "daily loss limit") and
        every order refused, the trader's too, until the session ends. Once a session."""
        self._loss_floor = None
        limit = self._max_daily_loss
        loss = self._session_equity - self.broker.equity()
        self.risk.halted = (
            f"daily loss limit: trading stopped for the session at a loss of {loss:,.2f} "
            f"(risk.max_daily_loss {limit:,.2f})")
        self._close_everything("cancelled: daily loss limit", DAILY_LOSS_TAG,
                               f"daily loss limit: equity {loss:,.2f} below the session's start "
                               f"(risk.max_daily_loss {limit:,.2f})")

    def _close_everything(self, cancel_reason: str, tag: str, why: str) -> None:
        """Cancel every working order and close every position with a market order tagged `tag` (its
        Decision's reason: `why`) owned by the first strategy of its round trip, so the trade keeps its owner
        and that strategy gets the fill. A position already being closed this way (both rules in one bar
        time) gets one closing order: the first one's is cancelled with the rest."""
        broker = self.broker
        now = self.clock.now_ns()
        for order in broker.open_orders():
            current = broker.order(order.id)
            if current is not None and current.is_open:     # a bracket's or OCO group's cancel may take others
                broker.cancel_order(order.id, now, cancel_reason)
        for i in np.flatnonzero(broker.positions).tolist():
            owner = broker.trip_owner(i)
            self.desk.submit_closing(owner, broker.symbols[i], -broker.position_at(i), tag, why)
        self._deliver()

    def _apply_manual(self, commands) -> None:
        """Hand commands between two bar times: each answered by a "manual" event, its order events
        and callbacks delivered, then the account as it now is."""
        emit = self.events.wants("manual")
        hand = self._hand
        if hand is None:
            from workstation.execution.manual import HandDesk

            hand = self._hand = HandDesk(self.desk, self.base_interval)
        for sequence, command in commands:
            result = hand.apply(sequence, command)
            if emit:
                self.events.emit("manual", result)
            self._deliver()
        if self.events.wants("account"):
            self.events.emit("account", self.broker.account_snapshot())
        if self._rounds:
            self.events.emit("round", TradingRound(self.clock.now_ns(), [], self._take_round_orders(),
                                                   self.broker.account_fields()))

    def _deliver(self) -> None:
        """Order events and callbacks of what changed since the last delivery (none are delivered one
        by one when only "round" events are observed: the round takes them at its end)."""
        if self._deliver_each:
            self.desk.deliver(self._order_listeners, self._guard, self.ctx)

    def _take_round_orders(self) -> list[OrderChange]:
        """The order changes of the round ending now, in engine order."""
        if not self._deliver_each:
            return self.broker.take_changes()
        orders, self.desk.round_orders = self.desk.round_orders or [], []
        return orders

    def _revised(self, revised) -> None:
        for interval, idx in revised:
            for st, mask in zip(self.strategies, self._masks, strict=True):
                if st.interval == interval:
                    sub = idx if mask is None else idx[mask[idx]]
                    if len(sub):
                        self._guard(st, st.on_bars_revised, self.ctx, sub)

    def _run_completed(self, completed) -> None:
        for interval, cidx in completed:
            self._run_interval(interval, cidx)

    def _run_interval(self, interval: str, idx: np.ndarray) -> None:
        for st, mask, per_symbol in zip(self.strategies, self._masks, self._per_symbol, strict=True):
            if st.interval != interval:
                continue
            sub = idx if mask is None else idx[mask[idx]]
            if len(sub) == 0:
                continue
            if per_symbol:
                # on_bar per symbol, each isolated: one symbol's error does not skip the others
                latest = self.session_data.latest_bar
                symbols = self.ctx.symbols
                for i in sub.tolist():
                    sym = symbols[i]
                    bar = latest(sym, interval)
                    if bar is not None:
                        signals = self._guard(st, st.on_bar, self.ctx, sym, bar)
                        if signals is not None:
                            self.desk.handle_signals(st, signals)
                        if self._deliver_each:
                            self._deliver()
                continue
            signals = self._guard(st, st.on_bars, self.ctx, sub)
            if signals is not None:
                self.desk.handle_signals(st, signals)
            if self._deliver_each:
                self._deliver()

    def _guard(self, st: BaseStrategy, fn, *args):
        desk = self.desk
        previous, desk.current = desk.current, st
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - isolate the strategy
            tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None     # from the strategy's call
            self._strategy_error(st.name, f"{type(exc).__name__}: {exc}{raised_at(exc)}", {
                "traceback": "".join(traceback.format_exception(type(exc), exc, tb)).strip()})
            return None
        finally:
            desk.current = previous

    def _strategy_error(self, name: str, message: str, extra: dict) -> None:
        """Count, log and publish one strategy error (an exception, or an invalid signal or order)."""
        self.errors[name] = self.errors.get(name, 0) + 1
        self.metrics.incr("strategy.errors")
        n = self.errors[name]
        if n == 1 and extra.get("traceback"):
            log.warning("strategy %s: %s (its first error)\n%s", name, message, extra["traceback"])
        elif n <= 3 or n % 1000 == 0:
            log.warning("strategy %s: %s (%s so far)", name, message, counted(n, "error"))
        if self.events.wants("error"):
            self.events.emit("error", {"time_ns": self.clock.now_ns(), "strategy": name, "count": n,
                                       "message": message, "traceback": extra.get("traceback", ""),
                                       "symbol": extra.get("symbol", "")})

    def _handle_signals(self, st: BaseStrategy, signals) -> None:
        self.desk.handle_signals(st, signals)
        self._deliver()


SESSION_CLOSE_TAG = "session close"
DAILY_LOSS_TAG = "daily loss limit"


def flatten_time_ns(close_ns, minutes: int):
    """The session-close rule's flatten time (int ns UTC; an int64 array for an array of closes): `minutes`
    (risk.flatten_before_close_minutes) before the session's regular close."""
    return close_ns - minutes * 60_000_000_000


ORDER_CALLBACKS = ("on_order_filled", "on_order_cancelled", "on_order_rejected")


def _has_order_callbacks(strategy: BaseStrategy) -> bool:
    """True when the strategy's class overrides one of BaseStrategy's order callbacks."""
    return any(getattr(type(strategy), name) is not getattr(BaseStrategy, name) for name in ORDER_CALLBACKS)
