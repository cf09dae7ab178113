"""AnalysisEngine on its own, with a real broker and SessionData: fills come before strategies,
strategies get their interval's completed bars and their symbols only, signals get decisions
(approved ones become orders), and a raising strategy is isolated."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tests.workstation.pipeline.stage_harness import MINUTE, Recorder, bar_time_event, metrics
from workstation.calendar import SimulatedClock
from workstation.config.models import ExecutionConfig, RiskConfig
from workstation.events import EventBus
from workstation.execution.broker import SimulatedBroker
from workstation.model import Action
from workstation.pipeline.analysis import AnalysisEngine
from workstation.pipeline.processor import IndicatorSet
from workstation.session import SessionData
from workstation.strategies import BaseStrategy

SYMBOLS = ["AAA", "BBB", "CCC"]
T0 = 1_709_649_000_000_000_000          # 2024-03-05 09:30 ET


class Buyer(BaseStrategy):
    """Buys 10 of every symbol it sees while flat; records what it saw."""

    def __init__(self, name, symbols, interval, **params):
        super().__init__(name, symbols, interval, **params)
        self.seen = []

    def on_bar(self, ctx, symbol, bar):
        self.seen.append((ctx.now_ns, symbol, bar.timestamp, ctx.position(symbol)))
        if ctx.position(symbol) == 0:
            return [self.signal(ctx, symbol, Action.BUY, 10, bar.close, confidence=0.9)]
        return None


class Raiser(BaseStrategy):
    def on_bar(self, ctx, symbol, bar):
        raise RuntimeError(f"boom on {symbol}")


class AsksForAnUnknownSymbol(BaseStrategy):
    def on_bar(self, ctx, symbol, bar):
        return ctx.position("NOPE")


class WrongType(BaseStrategy):
    def on_bar(self, ctx, symbol, bar):
        return ["not a signal"]


def _engine(strategies):
    sd = SessionData(SYMBOLS, ["1m", "5m"])
    sd.publish_quality(["1m", "5m"], np.full(len(SYMBOLS), 100.0))
    clock = SimulatedClock(T0)
    broker = SimulatedBroker(SYMBOLS, ExecutionConfig())
    bus = EventBus()
    rec = Recorder(bus, ["decision", "fill", "error"])
    sd.publish_indicators(IndicatorSet(len(SYMBOLS)))
    engine = AnalysisEngine(sd, clock, strategies, broker, RiskConfig(), metrics(), bus, "1m")
    return engine, sd, clock, broker, rec


def _bar_time(engine, sd, clock, ts, idx, price, completed=()):
    idx = np.asarray(idx, dtype=np.int64)
    px = np.full(len(idx), float(price))
    sd.append_bars("1m", idx, ts, px, px, px, px, px)
    for interval, cidx in completed:
        cp = np.full(len(cidx), float(price))
        sd.append_bars(interval, np.asarray(cidx, dtype=np.int64), ts - 4 * MINUTE, cp, cp, cp, cp, cp)
    clock.advance_to(ts + MINUTE)
    engine.process(bar_time_event(ts, idx, px, px, [(iv, np.asarray(c, dtype=np.int64)) for iv, c in completed]))


def test_orders_fill_at_the_next_bar_open_before_strategies_run():
    buyer = Buyer("buyer", SYMBOLS, "1m")
    engine, sd, clock, broker, rec = _engine([buyer])
    _bar_time(engine, sd, clock, T0, [0, 1], 10.0)
    assert [d.approved for d in rec.of("decision")] == [True, True]
    assert broker.pending_quantity(0) == 10 and broker.positions[0] == 0
    _bar_time(engine, sd, clock, T0 + MINUTE, [0], 11.0)          # BBB has no bar: its order waits
    fills = rec.of("fill")
    assert [(f.symbol, f.price, f.time) for f in fills] == [("AAA", 11.0, T0 + MINUTE)]
    # the strategy saw AAA's position already filled at this bar time
    assert buyer.seen[-1] == (T0 + 2 * MINUTE, "AAA", T0 + MINUTE, 10.0)
    assert broker.pending_quantity(1) == 10
    assert engine.signal_count == 2 and engine.rejected_count == 0


def test_strategies_get_their_interval_and_symbols_only():
    one = Buyer("one", SYMBOLS, "1m")
    five = Buyer("five", ["BBB", "CCC"], "5m")
    engine, sd, clock, _, _ = _engine([one, five])
    _bar_time(engine, sd, clock, T0 + 4 * MINUTE, [0, 1, 2], 10.0, completed=[("5m", [0, 1])])
    assert sorted(s for _, s, _, _ in one.seen) == ["AAA", "BBB", "CCC"]
    assert [(s, t) for _, s, t, _ in five.seen] == [("BBB", T0)]       # not AAA: not its symbol
    _bar_time(engine, sd, clock, T0 + 5 * MINUTE, [0, 1, 2], 10.0)
    assert len(five.seen) == 1                                         # no 5m bar completed


def test_a_raising_strategy_is_isolated_and_reported():
    buyer = Buyer("buyer", SYMBOLS, "1m")
    engine, sd, clock, _, rec = _engine([Raiser("raiser", SYMBOLS, "1m"), WrongType("wrong", SYMBOLS, "1m"), buyer])
    _bar_time(engine, sd, clock, T0, [0, 1, 2], 10.0)
    assert engine.errors == {"raiser": 3, "wrong": 3, "buyer": 0}         # every symbol, each isolated
    messages = [e["message"] for e in rec.of("error")]
    # where the strategy's own code raised: this file, the line of Raiser.on_bar's raise
    line = inspect.getsourcelines(Raiser.on_bar)[1] + 1
    assert messages[0] == f"RuntimeError: boom on AAA (test_analysis.py:{line} in on_bar)"
    traceback_text = rec.of("error")[0]["traceback"]
    assert traceback_text.startswith("Traceback") and f'line {line}, in on_bar' in traceback_text
    assert "_guard" not in traceback_text                                  # from the strategy's call on
    # raised inside the engine on the strategy's behalf: the strategy's own line is named, not the engine's
    asks_engine, asks_sd, asks_clock, _, asks = _engine([AsksForAnUnknownSymbol("asks", SYMBOLS, "1m")])
    _bar_time(asks_engine, asks_sd, asks_clock, T0, [0], 10.0)
    asks_line = inspect.getsourcelines(AsksForAnUnknownSymbol.on_bar)[1] + 1
    assert asks.of("error")[0]["message"] == f"KeyError: 'NOPE' (test_analysis.py:{asks_line} in on_bar)"
    assert "strategies/base.py" in asks.of("error")[0]["traceback"]
    assert any("expected workstation.model.Signal" in m for m in messages)
    assert len(buyer.seen) == 3 and len(rec.of("decision")) == 3


@pytest.mark.parametrize("quality", [94.9, 95.0])
def test_decisions_follow_the_risk_checks(quality):
    buyer = Buyer("buyer", SYMBOLS, "1m")
    engine, sd, clock, broker, rec = _engine([buyer])
    sd.publish_quality(["1m"], np.array([quality, 100.0, 100.0]))
    _bar_time(engine, sd, clock, T0, [0], 10.0)
    (decision,) = rec.of("decision")
    assert decision.approved is (quality >= 95.0)
    assert broker.pending_quantity(0) == (10 if quality >= 95.0 else 0)
    assert engine.rejected_count == (0 if quality >= 95.0 else 1)
