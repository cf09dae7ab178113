"""The desk's columnar path (a SignalBatch) against its object path (the list of the batch's Signals) on
every risk check: confidence, quality, position limit (pending orders counted), nothing to close, buying
power, CLOSE sizing and shorting. Each scenario runs twice from the same state, once per path, and
must give the same Decisions, the same orders, the same signal-log rows and the same counters."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.calendar import SimulatedClock
from workstation.config.models import ExecutionConfig, RiskConfig
from workstation.events import EventBus
from workstation.execution.broker import SimulatedBroker
from workstation.execution.desk import OrderDesk
from workstation.model import Action, Decision
from workstation.model.batches import DecisionBatch, SignalBatch
from workstation.session import SessionData

SYMBOLS = ["AAA", "BBB", "CCC", "DDD"]
T0 = 1_709_649_000_000_000_000
MINUTE = 60_000_000_000


class Owner:
    name = "strategy"
    interval = "1m"


def _desk(risk: RiskConfig, execution: ExecutionConfig):
    sd = SessionData(SYMBOLS, ["1m"])
    sd.publish_quality(["1m"], np.array([100.0, 40.0, 100.0, 100.0]))     # BBB under the minimum
    broker = SimulatedBroker(SYMBOLS, execution)
    bus = EventBus()
    seen: dict[str, list] = {"decision": [], "decisions": [], "error": []}
    for kind in seen:
        bus.subscribe(kind, lambda k, p: seen[k].append(p))
    desk = OrderDesk(broker, risk, sd, SimulatedClock(T0), bus, lambda name, msg, extra: seen["error"].append(msg))
    desk.current = Owner()
    px = np.array([10.0, 20.0, 30.0, 40.0])
    broker.on_bar_time(T0, np.arange(4, dtype=np.int64), px, px, px, px, px)
    return desk, broker, seen


def _rows():
    # (symbol index, action, quantity, price, confidence)
    return [(0, Action.BUY, 100.0, 10.0, 0.9),     # approved
            (0, Action.BUY, 200.0, 10.0, 0.9),     # position limit: 100 pending + 200 > 250
            (1, Action.BUY, 10.0, 20.0, 0.9),      # quality 40 % < 50 %
            (2, Action.BUY, 10.0, 30.0, 0.2),      # confidence 0.2 < 0.5
            (3, Action.CLOSE, 0.0, 40.0, 1.0),     # nothing to close
            (2, Action.BUY, 200.0, 30.0, 1.0),     # buying power: 6,000 > what is left
            (0, Action.CLOSE, 0.0, 10.0, 1.0),     # a sell of the pending 100: short, the position is 0 yet
            (3, Action.SELL, 5.0, 40.0, 1.0)]      # short selling is off


def _batch(rows) -> SignalBatch:
    idx, actions, qty, price, conf = zip(*rows, strict=True)
    return SignalBatch("strategy", T0 + MINUTE, SYMBOLS, list(idx), tuple(actions), list(qty), list(price),
                       list(conf), {"bar_start": [T0] * len(rows)})


@pytest.mark.parametrize("as_arrays", [False, True])
def test_batch_and_objects_decide_alike_on_every_check(as_arrays):
    risk = RiskConfig(min_quality_pct=50, min_confidence=0.5, max_position_qty=250)
    execution = ExecutionConfig(starting_cash=5_000, commission_per_share=0.01, commission_min=1.0)
    batch = _batch(_rows())
    if as_arrays:
        batch = SignalBatch(batch.strategy, batch.time, batch.symbols, np.array(batch.symbol_indices),
                            batch.actions, np.array(batch.quantities), np.array(batch.prices),
                            np.array(batch.confidences), {"bar_start": np.array(batch.metadata["bar_start"])})
    outcomes = []
    for result in (batch, list(batch)):
        desk, broker, seen = _desk(risk, execution)
        desk.handle_signals(Owner(), result)
        outcomes.append((seen["decision"], [r for b in seen["decisions"] for r in b.rows()], broker.orders(),
                         seen["error"], desk.signal_count, desk.rejected_count, broker.pending_quantity(0)))
    columnar, objects = outcomes
    assert columnar == objects
    decisions: list[Decision] = columnar[0]
    reasons = [d.reason.split(":")[0].split(" ")[0] for d in decisions]
    assert reasons == ["", "position", "data", "confidence", "nothing", "buying", "short", "short"]
    assert "selling 100 AAA" in decisions[6].reason                 # CLOSE sized by the pending order
    assert [o.quantity for o in columnar[2]] == [100.0]
    assert columnar[4:] == (8, 7, 100.0)


def test_a_batch_of_the_wrong_run_or_with_a_bad_row_takes_the_object_path():
    risk = RiskConfig(min_quality_pct=0, min_confidence=0, max_position_qty=1e9)
    rows = [(0, Action.BUY, 100.0, 10.0, 1.0), (2, Action.BUY, 10.0, float("nan"), 1.0)]
    desk, broker, seen = _desk(risk, ExecutionConfig())
    desk.handle_signals(Owner(), _batch(rows))
    assert len(seen["decision"]) == 1 and len(seen["error"]) == 1 and "price nan" in seen["error"][0]
    # symbols that are not the run's: every row checked by name, an unknown one is an error
    other = SignalBatch("strategy", T0, ["AAA", "ZZZ"], [1], (Action.BUY,), [1.0], [5.0], [1.0])
    desk.handle_signals(Owner(), other)
    assert "unknown symbol 'ZZZ'" in seen["error"][-1]
    assert [type(b) is DecisionBatch for b in seen["decisions"]] == [True]
