"""Order change records (OrderChange) and the batched "orders" event: they carry exactly what the
per-change "order" events carry, and listening to orders keeps the broker's fast fill path for plain
market orders without changing a fill, an order or an event (issue 10 item 6: GUI throughput)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.integration.test_orders_runs import config
from workstation.config import validate_config_dict
from workstation.config.models import ExecutionConfig
from workstation.execution import OrderChange, OrderEvent, SimulatedBroker, TradingRound, make_request
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


def test_change_records_are_the_snapshots_made_without_the_named_tuples_constructor(monkeypatch):
    """The broker makes a record per order change while orders are observed (~24,000 in a 100-symbol GUI
    replay): without OrderChange's Python-level constructor, and equal to the records that constructor
    makes from the order's `snapshot_fields()` (kind, fields, time and fill, change by change)."""
    from workstation.execution.broker import _OrderState

    made: list[tuple] = []
    original = OrderChange.__new__

    def counting(cls, *args, **kwargs):
        made.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(OrderChange, "__new__", counting)
    fast = _broker()
    _script(fast)
    changes = fast.take_changes()
    assert made == []
    assert len(changes) > 20 and all(type(c) is OrderChange for c in changes)

    monkeypatch.setattr(_OrderState, "change",
                        lambda st, kind, time_ns, fill=None: OrderChange(kind, st.snapshot_fields(), time_ns, fill))
    reference = _broker()
    _script(reference)
    expected = reference.take_changes()
    assert len(made) == len(expected)
    assert changes == expected          # kinds, fields (math.nan for no fill yet), times and fills


def _same_account(a, b) -> bool:
    return (a.time_ns, a.equity, a.cash, a.positions_value, a.margin_used, a.buying_power, a.open_orders,
            a.symbols) == (b.time_ns, b.equity, b.cash, b.positions_value, b.margin_used, b.buying_power,
                           b.open_orders, b.symbols) and all(
        np.array_equal(x, y) for x, y in ((a.positions, b.positions), (a.avg_prices, b.avg_prices),
                                          (a.last_prices, b.last_prices)))


def test_round_events_carry_what_fills_orders_and_account_events_carry(demo_store):
    """One "round" event per bar time (and per session end that expired orders): its fills, order changes
    and account are exactly those of the "fills", "orders" and "account" events of the same run."""
    system, seen = _run(demo_store, [SMA, BRACKETS], ("fills", "orders", "account", "round", "bars"))
    rounds = seen["round"]
    assert all(isinstance(r, TradingRound) for r in rounds)
    with_account = [r for r in rounds if r.account_fields is not None]
    assert len(with_account) == len(seen["bars"]) == len(seen["account"])        # one a bar time
    assert all(_same_account(r.account, a) for r, a in zip(with_account, seen["account"], strict=True))
    assert [f for r in rounds for f in r.fills] == [f for batch in seen["fills"] for f in batch]
    assert [c for r in rounds for c in r.orders] == [c for batch in seen["orders"] for c in batch]
    assert any(r.account_fields is None and r.orders for r in rounds)           # a session end expired orders
    assert system.broker.fills and len(rounds) >= len(seen["orders"]) // 2


def test_with_only_rounds_observed_order_changes_are_taken_once_a_round(demo_store, monkeypatch):
    """Observed through "round" alone (the GUI), the engine does not deliver order changes after every
    strategy call, nor build an account snapshot per bar time; the rounds say what a run observed
    through "orders" and "account" says, and no fill or order changes."""
    from workstation.execution.desk import OrderDesk

    delivered: list[int] = []
    snapshots: list[int] = []
    original_deliver = OrderDesk.deliver
    original_snapshot = SimulatedBroker.account_snapshot

    def deliver(self, *args):
        delivered.append(1)
        return original_deliver(self, *args)

    def snapshot(self):
        snapshots.append(1)
        return original_snapshot(self)

    monkeypatch.setattr(OrderDesk, "deliver", deliver)
    monkeypatch.setattr(SimulatedBroker, "account_snapshot", snapshot)
    rounds_only, seen = _run(demo_store, [SMA], ("round",))
    assert delivered == [] and snapshots == []
    assert rounds_only.broker.record_events
    monkeypatch.setattr(OrderDesk, "deliver", original_deliver)
    monkeypatch.setattr(SimulatedBroker, "account_snapshot", original_snapshot)
    every, seen_every = _run(demo_store, [SMA], ("orders", "account", "fills"))
    assert rounds_only.broker.fills == every.broker.fills and rounds_only.broker.orders() == every.broker.orders()
    rounds = seen["round"]
    assert [c for r in rounds for c in r.orders] == [c for batch in seen_every["orders"] for c in batch]
    assert [f for r in rounds for f in r.fills] == [f for batch in seen_every["fills"] for f in batch]
    accounts = [r.account for r in rounds if r.account_fields is not None]
    assert len(accounts) == len(seen_every["account"]) > 100
    assert all(_same_account(a, b) for a, b in zip(accounts, seen_every["account"], strict=True))


@pytest.mark.parametrize("fill_rule", ["next_open", "close"])
def test_account_values_follow_every_change_of_cash_positions_and_prices(fill_rule):
    """The broker computes equity, positions value and gross exposure once per change of cash, positions
    or last prices (the bar time's equity point and its account snapshot share them): after every bar
    time and every order (filled at once at the close with fill_rule "close") they equal a computation
    from the snapshot's own arrays, and the equity curve's newest point says the same."""
    broker = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(starting_cash=60_000, allow_short=False,
                                                             slippage_bps=2.0, commission_per_share=0.01,
                                                             fill_rule=fill_rule))
    broker.record_events = True
    checked = []

    def check() -> None:
        account = broker.account_snapshot()
        positions_value = float(np.dot(account.positions, account.last_prices))
        gross = float(np.dot(np.abs(account.positions), account.last_prices))
        assert account.cash == broker.cash and account.positions_value == positions_value
        assert account.equity == account.cash + positions_value
        assert account.margin_used == gross / broker.config.margin_multiplier
        times, values = broker.equity_points()
        if len(times) and times[-1] == account.time_ns:     # the bar time's point, refreshed after a close fill
            assert tuple(values[-1, :3]) == (account.equity, account.cash, account.positions_value)
        checked.append(account.equity)

    for name in ("on_bar_time", "submit_order"):
        original = getattr(broker, name)

        def wrapped(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            check()
            return result

        setattr(broker, name, wrapped)
    _script(broker)
    assert len(checked) > 15 and len(set(checked)) > 5
    broker.reset()
    assert broker.account_snapshot().equity == broker.config.starting_cash
