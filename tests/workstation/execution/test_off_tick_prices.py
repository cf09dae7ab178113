"""execution.off_tick_prices: a strategy's limit, stop, stop loss and take profit prices and trail amounts
off `execution.tick_size` are kept (the default), put on the nearest tick (round) or refused (reject). The
expectation is Python's Decimal: a run under "round" equals, order for order and fill for fill, the run of
the same orders at prices rounded by `Decimal.quantize(ROUND_HALF_UP)` under "keep"."""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.workstation.execution.hand_strategies import SCRIPTS
from tests.workstation.execution.test_manual_orders import (
    MIN,
    OPEN_1,
    OPEN_2,
    bars_of,
    config,
    outcome,
    run,
)
from workstation.config import validate_config_dict
from workstation.errors import ConfigError
from workstation.execution.manual import ModifyOrder, SubmitOrder
from workstation.execution.ticks import conform_price, is_on_tick
from workstation.store import BarStore, generate_demo

PRICES = ("limit_price", "stop_price", "trail_amount", "stop_loss", "take_profit")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("tick_store") / "store"
    generate_demo(root, symbols=2, days=3, seed=4)
    return BarStore(root)


def decimal_tick(price: float, tick: str) -> float:
    """`price` on the nearest tick as written in decimals, halfway up (the independent expectation)."""
    step = Decimal(tick)
    return float((Decimal(repr(price)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def off_tick_script(store: BarStore) -> list[tuple[int, object]]:
    """Orders a strategy computes from the bars without rounding: every price off the cent (one halfway)."""
    acme, bolt = bars_of(store, "ACME"), bars_of(store, "BOLT")
    t1, t2, t3 = OPEN_1 + 5 * MIN, OPEN_1 + 20 * MIN, OPEN_1 + 50 * MIN
    a1, b1 = float(acme.loc[t1 - MIN, "close"]), float(bolt.loc[t1 - MIN, "close"])
    t5 = OPEN_2 + 30 * MIN
    return [
        (t1, SubmitOrder("ACME", 100, "market", stop_loss=a1 * 0.98 + 0.0031, take_profit=a1 * 1.02 - 0.0042)),
        (t1, SubmitOrder("BOLT", 50, "limit", limit_price=b1 * 0.998 + 0.0066, tif="gtc")),
        (t2, ModifyOrder(2, stop_price=round(a1 * 0.99, 2) + 0.005)),     # halfway: up
        (t2, SubmitOrder("BOLT", 30, "stop", stop_price=b1 * 1.05 + 0.0044)),
        (t2, SubmitOrder("BOLT", 10, "stop_limit", stop_price=b1 * 1.003 + 0.0021, limit_price=b1 * 1.006 + 0.0077)),
        (t3, SubmitOrder("BOLT", -20, "trailing_stop", trail_amount=0.0333)),
        (t3, SubmitOrder("BOLT", -10, "trailing_stop", trail_amount=0.004)),   # under half a tick: one tick
        (t5, SubmitOrder("ACME", 40, "limit", limit_price=a1 * 1.5 + 0.0049)),
        (t5, SubmitOrder("BOLT", 5, "market")),
    ]


def on_ticks(script: list[tuple[int, object]], tick: str | dict[str, str]) -> list[tuple[int, object]]:
    """The script with every price rounded by Decimal (a trail amount at least one tick); `tick` by symbol
    (a symbol not listed: kept)."""
    out = []
    for at, command in script:
        changes = {}
        symbol_tick = tick.get(getattr(command, "symbol", "ACME")) if isinstance(tick, dict) else tick
        if symbol_tick is None:
            out.append((at, command))
            continue
        tick_text = symbol_tick
        for name in PRICES:
            value = getattr(command, name, None)
            if value is not None:
                changes[name] = max(decimal_tick(value, tick_text), float(tick_text)) if name == "trail_amount" \
                    else decimal_tick(value, tick_text)
        out.append((at, dataclasses.replace(command, **changes)))
    return out


def scripted(store: BarStore, key: str, script, rule: str, tick: float | None = 0.01, ticks: dict | None = None):
    SCRIPTS[key] = script
    execution = {"off_tick_prices": rule, "tick_size": tick, "tick_sizes": ticks or {}}
    return run(config(strategies=[{"name": "scripted", "class_path":
                                   "tests.workstation.execution.hand_strategies:ScriptedOrders",
                                   "params": {"key": key}}], execution=execution,
                      risk={"min_quality_pct": 0, "max_position_qty": 10_000}), store)


def test_round_puts_every_price_on_the_nearest_tick_as_decimal_does(store):
    script = off_tick_script(store)
    rounded = scripted(store, "round", script, "round")
    reference = scripted(store, "decimal", on_ticks(script, "0.01"), "keep")
    got, want = outcome(rounded), outcome(reference)
    assert got == want
    orders = rounded.broker.orders()
    # the run did what the script asks: brackets, limits, stops, trailing stops, fills on both days
    assert {o.order_type.value for o in orders} >= {"market", "limit", "stop", "stop_limit", "trailing_stop"}
    assert len(got["fills"]) >= 4 and not any(o.status.value == "rejected" for o in orders)
    prices = [p for o in orders if o.order_type.value != "trailing_stop" for p in (o.limit_price, o.stop_price)
              if p is not None]
    assert prices and all(is_on_tick(p, 0.01) for p in prices)
    assert sorted({o.trail_amount for o in orders if o.trail_amount}) == [0.01, 0.03]
    # kept as given (the default), the same script runs at the strategy's own prices: another run
    kept = scripted(store, "kept", script, "keep", None)
    assert outcome(kept)["orders"] != want["orders"]
    assert any(not is_on_tick(o.limit_price, 0.01) for o in kept.broker.orders() if o.limit_price)


def test_ticks_by_symbol_round_each_symbols_prices_on_its_own_tick(store):
    """execution.tick_sizes: ACME on nickels, BOLT (no tick: tick_size null) kept as given."""
    script = off_tick_script(store)
    rounded = scripted(store, "by-symbol", script, "round", None, {"acme": 0.05})
    reference = scripted(store, "by-symbol-decimal", on_ticks(script, {"ACME": "0.05"}), "keep", None)
    assert outcome(rounded) == outcome(reference)
    orders = rounded.broker.orders()
    acme = [p for o in orders if o.symbol == "ACME" and o.order_type.value != "trailing_stop"
            for p in (o.limit_price, o.stop_price) if p is not None]
    assert acme and all(is_on_tick(p, 0.05) for p in acme)
    assert any(not is_on_tick(o.limit_price, 0.01) for o in orders if o.symbol == "BOLT" and o.limit_price)


def test_reject_refuses_an_order_or_a_change_off_the_tick_and_says_the_nearest(store):
    script = off_tick_script(store)
    system = scripted(store, "reject", script, "reject")
    orders = {o.id: o for o in system.broker.orders()}
    rejected = [o for o in orders.values() if o.status.value == "rejected"]
    # every order with a price is refused (the bracket for its stop loss, the first price off the tick);
    # the market orders without one go through
    assert [o.order_type.value for o in rejected] == ["market", "limit", "stop", "stop_limit", "trailing_stop",
                                                      "trailing_stop", "limit"]
    first = rejected[0]
    stop_loss = script[0][1].stop_loss
    assert first.reason == (f"stop_loss {stop_loss:.10g} is not on a whole tick of 0.01 (execution.tick_size; "
                            f"execution.off_tick_prices is reject): the nearest is "
                            f"{decimal_tick(stop_loss, '0.01'):.10g}")
    assert rejected[-2].reason.startswith("trail_amount 0.004 is not on a whole tick of 0.01") and \
        rejected[-2].reason.endswith("the nearest is 0.01")
    filled = [o for o in orders.values() if o.status.value == "filled"]
    assert [(o.symbol, o.quantity) for o in filled] == [("BOLT", 5)]
    # the modify of order 2 (rejected: never working) is not applied; on the tick the same script runs
    # exactly as kept
    on_tick = on_ticks(script, "0.01")
    assert outcome(scripted(store, "reject-on-tick", on_tick, "reject")) == \
        outcome(scripted(store, "keep-on-tick", on_tick, "keep"))


def test_reject_refuses_a_change_off_the_tick_and_keeps_the_order(store):
    acme = bars_of(store, "ACME")
    t1 = OPEN_1 + 5 * MIN
    a1 = float(acme.loc[t1 - MIN, "close"])
    limit = round(a1 * 0.9, 2)
    script = [(t1, SubmitOrder("ACME", 10, "limit", limit_price=limit, tif="gtc")),
              (t1 + 5 * MIN, ModifyOrder(1, limit_price=limit + 0.013)),
              (t1 + 9 * MIN, ModifyOrder(1, limit_price=limit + 0.02))]
    seen: list = []
    SCRIPTS["modify"] = script
    system = run(config(strategies=[{"name": "scripted", "class_path":
                                     "tests.workstation.execution.hand_strategies:ScriptedOrders",
                                     "params": {"key": "modify"}}],
                        execution={"off_tick_prices": "reject", "tick_size": 0.01}), store,
                 subscribe={"decisions": lambda _k, batch: seen.extend(batch.rows())})
    order = system.broker.order(1)
    assert order.status.value == "working" and order.limit_price == pytest.approx(limit + 0.02, abs=1e-9)
    refused = [row for row in seen if "not on a whole tick" in str(row)]
    assert len(refused) == 1 and f"modify of order 1 refused: limit_price {limit + 0.013:.10g}" in str(refused[0])


@pytest.mark.parametrize("tick", ["0.01", "0.0001", "0.25", "0.05", "5", "0.125"])
def test_conform_price_rounds_as_decimal_and_keeps_prices_on_the_tick(tick):
    step = float(tick)
    for k in range(1, 3000, 7):
        on = float(Decimal(k) * Decimal(tick))
        assert is_on_tick(on, step) and conform_price("limit_price", on, step, "reject") == (on, "")
        for part in ("0.3", "0.5", "0.7", "0.49", "0.51"):
            off = float((Decimal(k) + Decimal(part)) * Decimal(tick))
            assert not is_on_tick(off, step)
            assert conform_price("stop_price", off, step, "round") == (decimal_tick(off, tick), "")
            assert conform_price("stop_price", off, step, "keep") == (off, "")
            kept, why = conform_price("stop_price", off, step, "reject")
            assert kept == off and f"the nearest is {decimal_tick(off, tick):.10g}" in why
    assert conform_price("limit_price", 426.072, None, "round") == (426.072, "")


def test_tick_sizes_name_configured_symbols_with_positive_ticks():
    cfg = validate_config_dict(config(execution={"tick_sizes": {" acme ": 0.25}, "off_tick_prices": "round"}))
    assert cfg.execution.tick_sizes == {"ACME": 0.25}
    assert cfg.execution.tick_for("ACME") == 0.25 and cfg.execution.tick_for("BOLT") is None
    assert validate_config_dict(config(execution={"tick_sizes": {"ACME": 0.25}, "tick_size": 0.01})) \
        .execution.tick_for("BOLT") == 0.01
    with pytest.raises(ConfigError) as info:
        validate_config_dict(config(execution={"tick_sizes": {"ACME": 0.25, "ZZZ": 1, "QQQ": 0.01}}))
    assert "execution.tick_sizes names symbols ZZZ, QQQ the config does not trade (its symbols: ACME, BOLT)" \
        in str(info.value)
    with pytest.raises(ConfigError, match="execution.tick_sizes.ACME"):
        validate_config_dict(config(execution={"tick_sizes": {"ACME": 0}}))


@pytest.mark.parametrize("rule", ["round", "reject"])
def test_round_and_reject_need_a_tick_size(rule):
    with pytest.raises(ConfigError) as info:
        validate_config_dict(config(execution={"off_tick_prices": rule}))
    assert f"- execution: off_tick_prices '{rule}' needs tick_size (or tick_sizes)" in str(info.value)
    validate_config_dict(config(execution={"off_tick_prices": rule, "tick_size": 0.25}))
    with pytest.raises(ConfigError, match="execution.off_tick_prices"):
        validate_config_dict(config(execution={"off_tick_prices": "nearest", "tick_size": 0.01}))


@pytest.mark.parametrize("rule", ["keep", "round", "reject"])
def test_a_trailing_stops_level_moves_on_the_tick_under_round_and_reject(rule):
    """A trailing stop's level is the broker's, not a price the strategy gave: under round and reject it moves
    on its symbol's tick (AAA nickels, BBB cents: Decimal's nearest of close -/+ the trail, never moving
    back), under keep exactly by the trail; a stop that is reached fills at its level."""
    from tests.workstation.execution.test_orders import bars, make, submit

    b = make(("AAA", "BBB"), allow_short=True, tick_size=0.05, tick_sizes={"BBB": 0.01}, off_tick_prices=rule)
    closes = [(10.013, 20.004), (10.021, 20.011), (10.121, 19.913), (10.087, 19.901), (10.256, 19.801),
              (10.301, 19.822)]

    def bar(k: int, aaa: float, bbb: float, aaa_low: float | None = None):
        low = aaa - 0.01 if aaa_low is None else aaa_low
        return bars(b, k, {"AAA": (aaa, aaa + 0.01, low, aaa), "BBB": (bbb, bbb + 0.005, bbb - 0.01, bbb)})

    bar(0, *closes[0])
    submit(b, 0, "AAA", 100, "market")
    submit(b, 0, "BBB", -100, "market")
    bar(1, *closes[1])
    sell = submit(b, 1, "AAA", -100, "trailing_stop", trail_percent=0.7)
    cover = submit(b, 1, "BBB", 100, "trailing_stop", trail_amount=0.0333)

    def on_tick(x: float, tick: str) -> float:
        return decimal_tick(x, tick) if rule != "keep" else x

    sell_level = on_tick(closes[1][0] - closes[1][0] * 0.007, "0.05")
    cover_level = on_tick(closes[1][1] + 0.0333, "0.01")
    assert (b.order(sell.id).stop_price, b.order(cover.id).stop_price) == (sell_level, cover_level)
    moved = 0
    for k in range(2, len(closes)):
        aaa, bbb = closes[k]
        bar(k, aaa, bbb)
        new_sell = max(sell_level, on_tick(aaa - aaa * 0.007, "0.05"))
        new_cover = min(cover_level, on_tick(bbb + 0.0333, "0.01"))
        moved += (new_sell != sell_level) + (new_cover != cover_level)
        sell_level, cover_level = new_sell, new_cover
        assert (b.order(sell.id).stop_price, b.order(cover.id).stop_price) == (sell_level, cover_level), k
    assert moved >= 4
    if rule != "keep":
        assert is_on_tick(sell_level, 0.05) and is_on_tick(cover_level, 0.01)
    else:
        assert not is_on_tick(sell_level, 0.05)
    k = len(closes)
    fills = bar(k, sell_level + 0.02, closes[-1][1], aaa_low=sell_level - 0.03)      # AAA falls through its stop
    assert [(f.order_id, f.price) for f in fills] == [(sell.id, sell_level)]
