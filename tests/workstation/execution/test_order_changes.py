"""Order change records (OrderChange) and the batched "orders" event: they carry exactly what the
per-change "order" events carry, and listening to orders keeps the broker's fast fill path for plain
market orders without changing a fill, an order or an event (issue 10 item 6: GUI throughput)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.integration.test_orders_runs import config
from workstation.config import validate_config_dict
from workstation.config.models import ExecutionConfig
from workstation.execution import OrderChange, OrderEvent, SimulatedBroker, make_request
from workstation.store import BarStore
from workstation.store.demo import generate_demo
from workstation.system import SystemManager

MIN = 60_000_000_000
T0 = 1_704_205_800_000_000_000   # 2024-01-02 14:30 UTC


def _script(broker: SimulatedBroker) -> list:
    """Plain market orders (buys, sells, a short refused at the fill, a buy beyond the cash) and a
    bracket, over 8 bar times of two symbols; returns the fills."""
    fills = []
    prices = {0: (10.0, 50.0), 1: (10.5, 49.0), 2: (10.2, 51.0), 3: (11.0, 52.0), 4: (10.8, 50.5),
              5: (10.1, 50.0), 6: (10.4, 49.5), 7: (10.6, 50.2)}
    plan = {0: [("AAA", 100), ("BBB", -20)], 1: [("AAA", -40), ("BBB", 30)], 2: [("AAA", -500)],
            3: [("BBB", 5000)], 4: [("AAA", 10, {"stop_loss": 9.0, "take_profit": 11.5})],
            5: [("AAA", -60), ("AAA", 25)], 6: [("BBB", -10)]}
    for k, (a, b) in prices.items():
        o = np.array([a, b])
        fills += broker.on_bar_time(T0 + k * MIN, np.array([0, 1], dtype=np.int64), o, o + 0.1, o + 0.3, o - 0.3,
                                    np.array([1e6, 1e6]))
        for symbol, qty, *extra in plan.get(k, []):
            broker.submit_order(make_request(symbol, qty, "market", **(extra[0] if extra else {})), "s",
                                T0 + (k + 1) * MIN)
    return fills


def _broker() -> SimulatedBroker:
    broker = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(starting_cash=60_000, allow_short=False,
                                                             slippage_bps=2.0, commission_per_share=0.01))
    broker.record_events = True
    return broker


def test_fast_fill_path_with_an_order_listener_gives_the_general_paths_fills_and_events(monkeypatch):
    fast = _broker()
    used = []
    original = SimulatedBroker._fill_plain_market

    def spy(self, st, price, ts):
        fill = original(self, st, price, ts)
        used.append(fill is not None)
        return fill

    monkeypatch.setattr(SimulatedBroker, "_fill_plain_market", spy)
    fast_fills = _script(fast)
    fast_events = fast.take_events()
    assert sum(used) >= 6, "the plain market orders did not take the fast path while events are recorded"

    monkeypatch.setattr(SimulatedBroker, "_fill_plain_market", lambda self, st, price, ts: None)
    general = _broker()
    general_fills = _script(general)
    general_events = general.take_events()
    assert fast_fills == general_fills
    assert fast_events == general_events        # kinds, Order snapshots, times and fills, in order
    assert [o for o in fast.orders()] == [o for o in general.orders()]
    kinds = [e.kind for e in fast_events]
    assert kinds.count("filled") == len(fast_fills) and "rejected" in kinds and "activated" in kinds
    assert (fast.cash, fast.positions.tolist()) == (general.cash, general.positions.tolist())


def test_order_change_is_the_order_event():
    broker = _broker()
    _script(broker)
    changes = broker.take_changes()
    assert changes and all(isinstance(c, OrderChange) for c in changes)
    assert broker.take_changes() == [] and broker.take_events() == []
    broker2 = _broker()
    _script(broker2)
    events = broker2.take_events()
    assert [c.event() for c in changes] == events
    for change, event in zip(changes, events, strict=True):
        assert isinstance(event, OrderEvent)
        assert (change.order_id, change.strategy) == (event.order.id, event.order.strategy)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("order_changes") / "store"
    generate_demo(root, symbols=3, days=8, seed=11)
    return BarStore(root)


def _run(store: BarStore, strategies: list[dict], listen: tuple[str, ...]) -> tuple[SystemManager, dict]:
    system = SystemManager(validate_config_dict(config(store, strategies)), store=store)
    seen: dict[str, list] = {kind: [] for kind in listen}
    for kind in listen:
        system.events.subscribe(kind, lambda k, payload: seen[k].append(payload))
    system.start()
    assert system.wait(120) and system.error is None, system.error
    return system, seen


SMA = {"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8, "quantity": 100}}
BRACKETS = {"name": "brackets", "class_path": "tests.integration.order_strategies:CallbackRecorder"}


def test_batched_orders_and_fills_events_carry_exactly_the_per_change_events(demo_store):
    system, seen = _run(demo_store, [SMA, BRACKETS], ("order", "orders", "fill", "fills"))
    singles = seen["order"]
    batches = seen["orders"]
    assert len(singles) > 50 and {e.kind for e in singles} >= {"submitted", "filled", "cancelled", "activated"}
    assert all(isinstance(batch, list) and batch for batch in batches)
    assert len(batches) < len(singles)                       # batched: fewer emits than changes
    assert [change.event() for batch in batches for change in batch] == singles
    fills = seen["fill"]
    assert len(fills) > 20 and len(seen["fills"]) <= len(fills)
    assert [fill for batch in seen["fills"] for fill in batch] == fills == system.broker.fills
    assert all(len({f.time for f in batch}) == 1 for batch in seen["fills"])     # one bar time each
    assert [o for o in system.broker.orders() if o.is_open] == [
        o for o in {e.order.id: e.order for e in singles}.values() if o.is_open]


def test_an_orders_listener_changes_no_fill_or_order(demo_store):
    quiet, _ = _run(demo_store, [SMA], ())
    assert not quiet.broker.record_events
    listened, seen = _run(demo_store, [SMA], ("orders",))
    assert listened.broker.record_events
    assert len(quiet.broker.fills) > 20
    assert listened.broker.fills == quiet.broker.fills
    assert listened.broker.orders() == quiet.broker.orders()
    changes = [c for batch in seen["orders"] for c in batch]
    assert sum(c.kind == "filled" for c in changes) == len(quiet.broker.fills)
    assert {c.order_id for c in changes} == {o.id for o in quiet.broker.orders()}


def test_order_events_are_built_only_for_strategies_with_order_callbacks(demo_store, monkeypatch):
    """With the GUI's "orders" listener on, a strategy that keeps BaseStrategy's (empty) order callbacks
    gets no OrderEvent built per change of its orders; one with callbacks gets every callback it gets
    without the listener, in the same order."""
    from tests.integration.order_strategies import RECORDS
    from workstation.execution.orders import OrderChange as Change

    quiet, _ = _run(demo_store, [SMA, BRACKETS], ())
    expected = list(RECORDS["callbacks"])
    built: list[str] = []
    original = Change.event

    def counting(self):
        built.append(self.strategy)
        return original(self)

    monkeypatch.setattr(Change, "event", counting)
    listened, seen = _run(demo_store, [SMA, BRACKETS], ("orders",))
    assert len(expected) > 20 and RECORDS["callbacks"] == expected
    changes = [c for batch in seen["orders"] for c in batch]
    assert sum(c.strategy == "sma" for c in changes) > 50          # the SMA's orders were observed ...
    assert "sma" not in built                                      # ... without an OrderEvent per change
    assert built.count("brackets") == sum(c.strategy == "brackets" for c in changes)
    assert listened.broker.fills == quiet.broker.fills
