"""AnalysisEngine: runs strategies on processor events, applies risk checks, drives execution.

Runs in its own thread. For each bar time: first the simulated broker fills pending orders at
the open of the symbols that have a bar now (an order made after bar i fills at the open of the
symbol's next bar), then every strategy whose interval has completed bars gets them (its symbols
only), every Signal gets a Decision from the risk checks, and approved ones become orders.
A strategy that raises is isolated: the error is counted, logged and published as an event;
the other strategies and the run go on.
"""

from __future__ import annotations

import logging
import traceback

import numpy as np

from workstation.config import RiskConfig
from workstation.model import Action, Decision, Signal
from workstation.pipeline.stage import Stage
from workstation.strategies.base import BaseStrategy, StrategyContext

log = logging.getLogger(__name__)


class RiskChecks:
    """Quality minimum, position-size limit and confidence minimum; the first failing check names
    the reason."""

    def __init__(self, cfg: RiskConfig, session_data, broker):
        self.cfg = cfg
        self.session_data = session_data
        self.broker = broker

    def order_quantity(self, signal: Signal, symbol_index: int) -> float:
        """Signed order size of a signal (+ buy, - sell); CLOSE flattens position and pending."""
        if signal.action is Action.BUY:
            return abs(signal.quantity)
        if signal.action is Action.SELL:
            return -abs(signal.quantity)
        return -(self.broker.positions[symbol_index] + self.pending_quantity(symbol_index))

    def pending_quantity(self, symbol_index: int) -> float:
        """Signed quantity of this symbol's orders not filled yet."""
        return self.broker.pending_quantity(symbol_index)

    def decide(self, signal: Signal, symbol_index: int, interval: str) -> tuple[Decision, float]:
        qty = self.order_quantity(signal, symbol_index)
        cfg = self.cfg
        if signal.confidence < cfg.min_confidence:
            return Decision(signal, False, f"confidence {signal.confidence:.2f} < minimum {cfg.min_confidence:.2f}"), 0.0
        quality = self.session_data.quality(signal.symbol, interval)
        if quality < cfg.min_quality_pct:
            return Decision(signal, False, f"data quality {quality:.1f}% < minimum {cfg.min_quality_pct:.1f}%"), 0.0
        if qty == 0:
            return Decision(signal, False, "nothing to close: position is flat"), 0.0
        after = self.broker.positions[symbol_index] + self.pending_quantity(symbol_index) + qty
        if abs(after) > cfg.max_position_qty + 1e-9:
            return Decision(signal, False,
                            f"position limit: would hold {after:g} > {cfg.max_position_qty:g} shares"), 0.0
        return Decision(signal, True, ""), qty


class AnalysisEngine(Stage):
    """The analysis stage; `submit()` is called by the processor thread."""

    thread_name = "AnalysisEngine"
    stat_name = "analysis.event"

    def __init__(self, session_data, clock, strategies: list[BaseStrategy], indicators, broker,
                 risk_cfg: RiskConfig, metrics, events, base_interval: str, last_close: dict | None = None,
                 last_start: dict | None = None):
        super().__init__(metrics, "processor->analysis")
        self.session_data = session_data
        self.clock = clock
        self.strategies = strategies
        self.broker = broker
        self.events = events
        self.base_interval = base_interval
        self.risk = RiskChecks(risk_cfg, session_data, broker)
        symbols = session_data.symbols
        self.ctx = StrategyContext(session_data, clock, indicators, lambda: broker.positions, symbols,
                                   last_close, last_start)
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
        self.errors: dict[str, int] = {st.name: 0 for st in strategies}
        self.signal_count = 0
        self.rejected_count = 0

    def call_start(self) -> None:
        """Strategies' on_start, called by the coordinator thread after warm-up."""
        for st in self.strategies:
            self._guard(st, st.on_start, self.ctx)

    # ------------------------------------------------------------------ stage
    def handle(self, kind: str, event: tuple) -> None:
        if kind in ("bars", "bars_step"):      # bars_step: the first step of a bar time (see processor)
            self._on_bars(event)
        elif kind in ("derived_only", "derived_bars"):
            self._run_completed(event[2])
        elif kind == "revised":
            self._revised(event[1])
        elif kind == "session_start":
            for st in self.strategies:
                self._guard(st, st.on_session_start, self.ctx, event[1].date)
        elif kind == "session_end":
            for st in self.strategies:
                self._guard(st, st.on_session_end, self.ctx, event[1].date)

    def done(self, kind: str, failed: bool) -> None:
        if kind in ("bars", "derived_bars"):
            self.cycle.signal_ready()        # the bar time is done: the coordinator may go on
        else:
            self.ready.signal_ready()

    # ------------------------------------------------------------------ bars
    def _on_bars(self, event: tuple) -> None:
        _, ts, idx, o, c, completed = event
        fills = self.broker.on_bar_time(ts, idx, o, c)
        if fills and self.events.wants("fill"):
            for f in fills:
                self.events.emit("fill", f)
        self._run_interval(self.base_interval, idx)
        self._run_completed(completed)

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
                        if signals:
                            self._handle_signals(st, signals)
                continue
            signals = self._guard(st, st.on_bars, self.ctx, sub)
            if signals:
                self._handle_signals(st, signals)

    def _guard(self, st: BaseStrategy, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - isolate the strategy
            self.errors[st.name] = self.errors.get(st.name, 0) + 1
            self.metrics.incr("strategy.errors")
            n = self.errors[st.name]
            if n <= 3 or n % 1000 == 0:
                log.warning("strategy %s raised (%d so far): %s", st.name, n, exc)
            if self.events.wants("error"):
                self.events.emit("error", {
                    "time_ns": self.clock.now_ns(), "strategy": st.name, "count": n,
                    "message": f"{type(exc).__name__}: {exc}",
                    "traceback": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
                })
            return None

    def _handle_signals(self, st: BaseStrategy, signals) -> None:
        index = self.session_data.symbol_index
        emit = self.events.wants("decision")
        for sig in signals:
            if not isinstance(sig, Signal):
                self._guard(st, _raise_bad_signal, sig)
                continue
            i = index.get(sig.symbol)
            if i is None:
                self._guard(st, _raise_unknown_symbol, sig)
                continue
            decision, qty = self.risk.decide(sig, i, st.interval)
            self.signal_count += 1
            if decision.approved:
                self.broker.submit(i, qty, sig.time, sig.strategy, sig.price)
            else:
                self.rejected_count += 1
            if emit:
                self.events.emit("decision", decision)


def _raise_bad_signal(sig) -> None:
    raise TypeError(f"strategy returned {type(sig).__name__}, expected workstation.model.Signal")


def _raise_unknown_symbol(sig) -> None:
    raise ValueError(f"signal for unknown symbol {sig.symbol!r}")
