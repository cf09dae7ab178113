"""The broker's order model: types, time in force, brackets, OCO, cancel/modify, account checks,
participation, intrabar resolution, events; expectations worked by hand from the README's rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workstation.config.models import ExecutionConfig
from workstation.execution import InvalidOrder, OrderRefused, SimulatedBroker, make_request

MIN = 60_000_000_000
T0 = int(pd.Timestamp("2024-01-02 14:30", tz="UTC").value)


def bars(broker: SimulatedBroker, k: int, rows: dict[str, tuple]):
    """Bar time T0 + k minutes: {symbol: (open, high, low, close[, volume])}."""
    idx = np.array([broker.index_of(s) for s in rows], dtype=np.int64)
    cols = list(zip(*[(*v, 1e6)[:5] for v in rows.values()], strict=True))
    o, h, lo, c, v = (np.array(x, dtype=np.float64) for x in cols)
    return broker.on_bar_time(T0 + k * MIN, idx, o, c, h, lo, v)


def submit(broker: SimulatedBroker, k: int, symbol: str, qty: float, order_type: str = "market", **kw):
    """Submit while a strategy handles bar time k (clock = its end)."""
    return broker.submit_order(make_request(symbol, qty, order_type, **kw), "s", T0 + (k + 1) * MIN)


def make(symbols=("AAA",), **cfg) -> SimulatedBroker:
    cfg.setdefault("starting_cash", 100_000)
    return SimulatedBroker(list(symbols), ExecutionConfig(**cfg))


def account(b: SimulatedBroker) -> tuple:
    return (b.cash, b.positions.tolist(), b.buying_power(), len(b.fills), len(b.trades), b.open_order_count,
            [o.id for o in b.open_orders()])


# ------------------------------------------------------------------ eligibility and types


def test_an_order_waits_for_its_symbols_next_bar_even_when_this_bar_reached_it():
    b = make(("AAA", "BBB"))
    bars(b, 0, {"AAA": (10, 10.5, 9.0, 10.2), "BBB": (50, 51, 49, 50)})
    order = submit(b, 0, "AAA", 100, "limit", limit_price=9.5)    # bar 0's low 9.0 reached it: too early
    assert order.status.value == "working"
    assert bars(b, 1, {"BBB": (50, 51, 49, 50)}) == []            # AAA has no bar: nothing happens
    (fill,) = bars(b, 3, {"AAA": (10.1, 10.2, 9.4, 9.8)})
    assert (fill.price, fill.time, fill.order_id) == (9.5, T0 + 3 * MIN, order.id)
    assert b.order(order.id).status.value == "filled"


def test_gap_opens_fill_at_the_open():
    b = make(allow_short=True)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    buy_stop = submit(b, 0, "AAA", 10, "stop", stop_price=10.5)
    sell_limit = submit(b, 0, "AAA", -10, "limit", limit_price=10.4)
    fills = bars(b, 1, {"AAA": (11, 11.5, 10.8, 11.2)})           # gap up over both
    assert [(f.order_id, f.price) for f in fills] == [(buy_stop.id, 11.0), (sell_limit.id, 11.0)]


def test_trailing_stop_level_follows_closes_from_the_submission_bar_on():
    b = make()
    bars(b, 0, {"AAA": (100, 100, 100, 100)})
    submit(b, 0, "AAA", 10)
    bars(b, 1, {"AAA": (100, 101, 99, 100)})
    trail = submit(b, 1, "AAA", -10, "trailing_stop", trail_amount=2.0)
    assert b.order(trail.id).stop_price == 98.0                    # close 100 - 2
    bars(b, 2, {"AAA": (100, 104, 99, 103.5)})                      # low 99 > 98: no fill, level -> 101.5
    assert b.order(trail.id).stop_price == 101.5
    bars(b, 3, {"AAA": (103, 103.2, 102, 102.5)})                   # close lower: the level stays
    assert b.order(trail.id).stop_price == 101.5
    (fill,) = bars(b, 4, {"AAA": (102, 102.1, 100, 100.5)})
    assert fill.price == 101.5 and b.position("AAA") == 0
    pct = submit(b, 4, "AAA", 5, "trailing_stop", trail_percent=1.0)   # buy trailing: close 100.5 x 1.01
    assert b.order(pct.id).stop_price == pytest.approx(100.5 * 1.01)


def test_day_orders_expire_after_the_session_gtc_orders_and_market_orders_do_not():
    b = make()
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    day = submit(b, 0, "AAA", 10, "limit", limit_price=5.0)
    gtc = submit(b, 0, "AAA", 10, "limit", limit_price=5.0, tif="gtc")
    market = submit(b, 0, "AAA", 10, "market", tif="day")
    b.end_session(T0 + 390 * MIN)
    assert b.order(day.id).status.value == "expired"
    assert b.order(day.id).status_time == T0 + 390 * MIN
    assert b.order(gtc.id).status.value == "working"
    assert b.order(market.id).status.value == "working"             # fills at the next session's open
    (fill,) = bars(b, 1000, {"AAA": (10.3, 10.5, 10.2, 10.4)})
    assert fill.order_id == market.id and fill.price == 10.3


# ------------------------------------------------------------------ brackets and OCO


def test_bracket_exits_wait_for_the_entry_and_the_bar_after_it():
    b = make()
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = submit(b, 0, "AAA", 100, "market", stop_loss=9.0, take_profit=11.0)
    stop_id, profit_id = entry.id + 1, entry.id + 2
    assert [o.status.value for o in b.open_orders()] == ["working", "held", "held"]
    fills = bars(b, 1, {"AAA": (10, 11.5, 8.5, 10)})                # reaches both exits: too early for them
    assert [f.order_id for f in fills] == [entry.id]
    assert b.order(stop_id).status.value == "working"
    (fill,) = bars(b, 2, {"AAA": (10, 11.2, 9.5, 11)})
    assert (fill.order_id, fill.price) == (profit_id, 11.0)
    assert b.order(stop_id).status.value == "cancelled" and b.open_orders() == []
    assert b.trades[0].pnl == pytest.approx(100.0)


def test_when_both_exits_could_fill_on_one_bar_the_stop_loss_fills():
    b = make()
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = submit(b, 0, "AAA", 100, "market", stop_loss=9.0, take_profit=11.0)
    bars(b, 1, {"AAA": (10, 10, 10, 10)})
    (fill,) = bars(b, 2, {"AAA": (10, 11.5, 8.5, 10)})
    assert (fill.order_id, fill.price) == (entry.id + 1, 9.0)
    assert b.order(entry.id + 2).status.value == "cancelled"


def test_finer_interval_decides_which_exit_came_first():
    seconds = {"o": [10.0, 10.6, 11.1], "h": [10.7, 11.2, 11.1], "l": [9.9, 10.5, 8.5], "c": [10.6, 11.1, 8.6]}
    asked = []

    def finer(symbol, start, end):
        asked.append((symbol, start, end))
        return tuple(np.array(seconds[k]) for k in "ohlc")

    b = SimulatedBroker(["AAA"], ExecutionConfig(intrabar_resolution="finer_interval"), intrabar_bars=finer)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = submit(b, 0, "AAA", 100, "market", stop_loss=9.0, take_profit=11.0)
    bars(b, 1, {"AAA": (10, 10, 10, 10)})
    (fill,) = bars(b, 2, {"AAA": (10, 11.5, 8.5, 10)})
    assert (fill.order_id, fill.price) == (entry.id + 2, 11.0)      # the 2nd second reached 11 first
    assert asked == [("AAA", T0 + 2 * MIN, T0 + 3 * MIN)]


def test_cancel_semantics_of_brackets_and_oco_groups():
    b = make(allow_short=True)
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = submit(b, 0, "AAA", 100, "limit", limit_price=9.0, stop_loss=8.0, take_profit=12.0)
    b.cancel_order(entry.id, T0 + MIN)
    assert [b.order(entry.id + k).status.value for k in range(3)] == ["cancelled"] * 3
    up = submit(b, 0, "AAA", 50, "stop", stop_price=10.5)
    down = submit(b, 0, "AAA", -50, "stop", stop_price=9.5)
    group = b.one_cancels_other([up.id, down.id], T0 + MIN)
    assert b.order(up.id).oco_group == group == b.order(down.id).oco_group
    (fill,) = bars(b, 1, {"AAA": (10, 12, 9, 10)})                  # wide bar: both stops reachable
    assert fill.order_id == up.id
    assert b.order(down.id).status.value == "cancelled" and "OCO" in b.order(down.id).reason
    with pytest.raises(InvalidOrder, match="already filled"):
        b.cancel_order(up.id, T0 + 2 * MIN)
    with pytest.raises(InvalidOrder, match="unknown order id"):
        b.cancel_order(999, T0 + 2 * MIN)


def test_modify_changes_prices_and_quantity_in_place():
    b = make()
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    order = submit(b, 0, "AAA", 100, "limit", limit_price=9.0, stop_loss=8.0)
    b.modify_order(order.id, T0 + MIN, limit_price=9.6, quantity=150)
    b.modify_order(order.id + 1, T0 + MIN, stop_price=8.5)          # the held stop loss
    (fill,) = bars(b, 1, {"AAA": (10, 10.1, 9.5, 9.8)})
    assert (fill.price, fill.quantity) == (9.6, 150)
    assert b.order(order.id + 1).quantity == -150 and b.order(order.id + 1).stop_price == 8.5
    with pytest.raises(InvalidOrder, match="bracket exit"):
        b.modify_order(order.id + 1, T0, quantity=-10)
    with pytest.raises(InvalidOrder, match="no limit_price"):
        b.modify_order(order.id + 1, T0, limit_price=8.0)
    with pytest.raises(InvalidOrder, match="changes nothing"):
        b.modify_order(order.id + 1, T0)


# ------------------------------------------------------------------ account


def test_cash_account_refuses_orders_over_buying_power_and_counts_working_orders():
    b = make(starting_cash=10_000)
    bars(b, 0, {"AAA": (50, 50, 50, 50)})
    before = account(b)
    too_big = submit(b, 0, "AAA", 201, "limit", limit_price=50.0)   # 10,050 > 10,000
    assert too_big.status.value == "rejected" and "buying power" in too_big.reason
    assert account(b) == before                                      # a rejected order changes nothing
    first = submit(b, 0, "AAA", 150, "limit", limit_price=50.0)     # 7,500 reserved
    second = submit(b, 0, "AAA", 60, "limit", limit_price=50.0)     # 3,000 > 2,500 left
    assert first.status.value == "working" and second.status.value == "rejected"
    assert b.buying_power() == pytest.approx(2_500)
    margin = make(starting_cash=10_000, margin_multiplier=4)
    bars(margin, 0, {"AAA": (50, 50, 50, 50)})
    assert submit(margin, 0, "AAA", 790, "limit", limit_price=50.0).status.value == "working"
    assert margin.buying_power() == pytest.approx(40_000 - 39_500)


def test_shorting_needs_allow_short_and_a_fill_the_account_cannot_pay_is_rejected():
    b = make(starting_cash=10_000)
    bars(b, 0, {"AAA": (50, 50, 50, 50)})
    short = submit(b, 0, "AAA", -10)
    assert short.status.value == "rejected" and "allow_short" in short.reason
    buy = submit(b, 0, "AAA", 199, "stop", stop_price=50.0)         # 9,950: accepted at the stop price
    before = account(b)[:5]
    assert bars(b, 1, {"AAA": (60, 61, 59, 60)}) == []              # gap: 199 x 60 > cash
    assert b.order(buy.id).status.value == "rejected" and "at the fill" in b.order(buy.id).reason
    assert account(b)[:2] == before[:2] and b.fills == []
    curve = b.equity_curve()
    assert curve[["margin_used", "buying_power", "open_orders"]].iloc[-1].tolist() == [0.0, 10_000.0, 0]


def test_equity_curve_keeps_margin_buying_power_and_open_orders():
    b = make(starting_cash=10_000, margin_multiplier=2)
    bars(b, 0, {"AAA": (50, 50, 50, 50)})
    submit(b, 0, "AAA", 100)
    submit(b, 0, "AAA", 10, "limit", limit_price=40.0)
    bars(b, 1, {"AAA": (50, 52, 49, 51)})
    last = b.equity_curve().iloc[-1]
    assert last["equity"] == pytest.approx(10_000 + 100)
    assert last["margin_used"] == pytest.approx(100 * 51 / 2)
    assert last["buying_power"] == pytest.approx(2 * 10_100 - 5_100 - 400)
    assert last["open_orders"] == 1
    assert last["equity"] == pytest.approx(last["cash"] + last["positions_value"])


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("args", "message"), [
    (("AAA", 0), "zero"),
    (("AAA", math.nan), "finite"),
    (("AAA", "100"), "must be a number"),
    (("AAA", True), "must be a number"),
    (("AAA", 10, "limit"), "needs limit_price"),
    (("AAA", 10, "limit", -1.0), "positive finite price"),
    (("AAA", 10, "limit", math.nan), "positive finite price"),
    (("AAA", 10, "market", 10.0), "does not use limit_price"),
    (("AAA", 10, "iceberg"), "order_type must be one of"),
    (("AAA", 10, "trailing_stop"), "exactly one of"),
    (("", 10), "non-empty string"),
])
def test_bad_requests_are_refused_with_the_reason(args, message):
    with pytest.raises(InvalidOrder, match=message):
        make_request(*args)


def test_broker_level_bad_input():
    b = make()
    with pytest.raises(InvalidOrder, match="no price yet"):
        b.validate(make_request("AAA", 10))
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    with pytest.raises(InvalidOrder, match="not in this run"):
        b.validate(make_request("ZZZ", 10, "limit", limit_price=1.0))
    with pytest.raises(InvalidOrder, match="stop_loss 11 of a buy must be below"):
        b.validate(make_request("AAA", 10, stop_loss=11.0))
    with pytest.raises(InvalidOrder, match="take_profit 12 of a sell must be below"):
        b.validate(make_request("AAA", -10, "limit", limit_price=10.5, take_profit=12.0))
    with pytest.raises(InvalidOrder, match="at least two"):
        b.one_cancels_other([submit(b, 0, "AAA", 1, "limit", limit_price=5.0).id], T0)


def test_modify_over_buying_power_is_refused_and_leaves_the_order():
    b = make(starting_cash=10_000)
    bars(b, 0, {"AAA": (50, 50, 50, 50)})
    order = submit(b, 0, "AAA", 100, "limit", limit_price=49.0)
    with pytest.raises(OrderRefused, match="buying power"):
        b.modify_order(order.id, T0, quantity=300)
    assert b.order(order.id).quantity == 100


# ------------------------------------------------------------------ participation, close rule, events


def test_participation_limit_fills_in_parts_and_resizes_bracket_exits():
    b = make(participation_limit_pct=10)
    bars(b, 0, {"AAA": (10, 10, 10, 10, 1000)})
    entry = submit(b, 0, "AAA", 250, "market", stop_loss=9.0, take_profit=20.0)
    fills = [bars(b, 1, {"AAA": (10, 10, 10, 10, 1000)}), bars(b, 2, {"AAA": (10, 10, 10, 10, 1500)}),
             bars(b, 3, {"AAA": (10, 10, 10, 10, 4000)})]
    assert [[f.quantity for f in fs if f.order_id == entry.id] for fs in fills] == [[100], [150], []]
    assert b.order(entry.id).status.value == "filled"
    assert b.order(entry.id + 1).quantity == -250
    (stop,) = bars(b, 4, {"AAA": (9.5, 9.6, 8.9, 9.0, 1200)})
    assert (stop.quantity, stop.price) == (-120, 9.0)
    assert b.order(entry.id + 2).quantity == -130                    # the take profit covers the rest
    (rest,) = bars(b, 5, {"AAA": (8.8, 8.9, 8.7, 8.8, 5000)})       # the rest of a triggered stop: at market
    assert (rest.quantity, rest.price) == (-130, 8.8)
    assert b.position("AAA") == 0 and b.order(entry.id + 2).status.value == "cancelled"


def test_close_rule_fills_market_orders_at_once_and_exits_from_the_next_bar():
    b = make(fill_rule="close")
    bars(b, 0, {"AAA": (10, 10.5, 9.5, 10.2)})
    entry = submit(b, 0, "AAA", 100, "market", stop_loss=9.9)
    assert b.order(entry.id).status.value == "filled" and b.fills[0].price == 10.2 and b.fills[0].time == T0
    (stop,) = bars(b, 1, {"AAA": (10.1, 10.1, 9.8, 9.9)})
    assert stop.order_id == entry.id + 1 and stop.price == 9.9


def test_order_events_tell_every_change():
    b = make()
    b.record_events = True
    bars(b, 0, {"AAA": (10, 10, 10, 10)})
    entry = submit(b, 0, "AAA", 100, "market", stop_loss=9.0, take_profit=11.0)
    bars(b, 1, {"AAA": (10, 10, 10, 10)})
    bars(b, 2, {"AAA": (10, 11.5, 9.5, 11)})
    seen = [(e.kind, e.order.id) for e in b.take_events()]
    assert seen == [("submitted", entry.id), ("submitted", entry.id + 1), ("submitted", entry.id + 2),
                    ("filled", entry.id), ("activated", entry.id + 1), ("activated", entry.id + 2),
                    ("filled", entry.id + 2), ("cancelled", entry.id + 1)]
    assert b.take_events() == []
    counts = b.order_status_counts()
    assert counts == {"filled": 2, "cancelled": 1, "expired": 0, "rejected": 0, "open": 0}
