"""risk.flatten_before_close_minutes: flat by the close. N minutes before each session's regular close
(the calendar's, an early close too) every working order is cancelled and every position closed at
market, the strategies' orders are refused from then on, the trader's hand orders are not.

The expectations come from the store's bars with pandas and from pandas-market-calendars' schedule, not
from the engine: the closing fill of a symbol is at the open of its first bar after the first bar time
that ends N minutes or less before the close (a market order is first eligible on the symbol's next bar),
less the slippage, and each session ends flat."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest

from workstation.config import validate_config_dict
from workstation.execution.manual import SubmitOrder
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager

MIN = 60_000_000_000
SLIP = 1e-4
N = 5
STRATEGY = "tests.workstation.execution.close_strategies:EnterAndWork"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    """Three sessions ending on the early close of 2024-11-29 (13:00), with the demo's missing bars."""
    root = tmp_path_factory.mktemp("close_store") / "store"
    generate_demo(root, symbols=2, days=3, seed=11, end_date=dt.date(2024, 11, 29))
    return BarStore(root)


def config(minutes: int | None, **strategy_params) -> dict:
    return validate_config_dict({
        "name": "flat by the close",
        "symbols": ["ACME", "BOLT"],
        "streams": {"interval": "1m", "derived": [], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": False},
        "backtest": {"start_date": "2024-11-26", "end_date": "2024-11-29", "speed_multiplier": 0},
        "strategies": [{"name": "enter", "class_path": STRATEGY, "params": strategy_params}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 10_000,
                 "flatten_before_close_minutes": minutes},
        "execution": {"starting_cash": 1_000_000, "slippage_bps": SLIP * 1e4, "commission_per_share": 0.01},
    })


def closes() -> dict[dt.date, int]:
    """The regular close (ns UTC) of each session, from pandas-market-calendars."""
    schedule = mcal.get_calendar("XNYS").schedule("2024-11-26", "2024-11-29")
    return {ts.date(): int(close.value) for ts, close in schedule["market_close"].items()}


def bars(store: BarStore) -> pd.DataFrame:
    frame = store.read_bars(["ACME", "BOLT"], "1m", int(pd.Timestamp("2024-11-26", tz="UTC").value),
                            int(pd.Timestamp("2024-11-30", tz="UTC").value))
    frame["start"] = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
    frame["date"] = pd.DatetimeIndex(frame["timestamp"]).tz_convert("America/New_York").date
    return frame


def run(store: BarStore, minutes: int | None, hand=(), **params) -> SystemManager:
    system = SystemManager(config(minutes, **params), store=store)
    system.manual_orders.schedule(list(hand))
    system.start()
    assert system.wait(120) and system.error is None, system.error
    return system


def expected_closing_fills(frame: pd.DataFrame) -> dict[tuple[dt.date, str], tuple[int, float]]:
    """(date, symbol) -> (bar start, open) of the closing fill: the flatten goes out after the first bar
    time (any symbol's bar) that ends at or after close - N min; each symbol fills on its next bar."""
    out = {}
    for date, close_ns in closes().items():
        day = frame[frame["date"] == date]
        due = close_ns - N * MIN
        flatten_bar = day.loc[day["start"] + MIN >= due, "start"].min()
        for symbol, rows in day.groupby("symbol"):
            after = rows[rows["start"] > flatten_bar].sort_values("start")
            out[(date, symbol)] = (int(after["start"].iloc[0]), float(after["open"].iloc[0]))
    return out


def test_positions_close_at_the_open_after_the_flatten_time_and_each_session_ends_flat(store):
    # the late orders come in the flatten's bar time, after it: refused
    system = run(store, N, late_after_min=390 - N)
    frame = bars(store)
    expected = expected_closing_fills(frame)
    fills = [f for f in system.broker.fills if f.quantity < 0]
    orders = {o.id: o for o in system.broker.orders()}
    got = {}
    for f in fills:
        order = orders[f.order_id]
        assert order.tag == "session close" and order.strategy == "enter", order
        date = pd.Timestamp(f.time, tz="UTC").tz_convert("America/New_York").date()
        got[(date, f.symbol)] = (f.time, f.price, f.quantity)
    assert set(got) == set(expected)                 # one closing fill per session and symbol, the early close too
    for key, (start, open_) in expected.items():
        time_ns, price, qty = got[key]
        assert time_ns == start, key
        assert price == pytest.approx(open_ * (1 - SLIP), rel=1e-12), key
        assert qty == -10.0, key                       # the position: the entry of 10, not the late buy (refused)
    # 2024-11-29 closed at 13:00 ET: its closing fills are at 12:55 ET or just after, not near 16:00
    early = [t for (d, _s), (t, _p, _q) in got.items() if d == dt.date(2024, 11, 29)]
    assert all(pd.Timestamp(t, tz="UTC").tz_convert("America/New_York").hour == 12 for t in early)
    trades = system.broker.trades
    assert len(trades) == 6 and {t.strategy for t in trades} == {"enter"}   # the trade keeps its owner
    assert not system.broker.open_positions()


def test_working_orders_are_cancelled_and_the_strategys_orders_refused_after_the_flatten_time(store):
    system = run(store, N, late_after_min=390 - N, cancel_late=True)     # the strategy runs just after the flatten
    strategy = system.analysis.strategies[0]
    orders = system.broker.orders()
    limits = [o for o in orders if o.order_type.value == "limit" and o.tif.value == "gtc"]
    assert len(limits) == 6
    assert all(o.status.value == "cancelled" and o.reason == "cancelled: session close" for o in limits)
    exits = [o for o in orders if o.parent_id is not None]
    assert exits and all(o.status.value == "cancelled" for o in exits)
    # the late buy of each symbol and session (on the early close the strategy's 389th minute never comes)
    late = [o for o in orders if o.quantity == 1]
    assert len(late) == 4 and all(o.status.value == "rejected" and "session closing" in o.reason for o in late)
    assert [r for r in strategy.rejected if "session closing" in r[1]] and len(strategy.rejected) == 4
    assert system.analysis.rejected_count == 8            # the late orders and the late signals (BUY 2)
    assert not [f for f in system.broker.fills if f.quantity == 2]
    # it tried to cancel its open orders, the closing ones among them: refused, they fill
    closing_ids = {o.id for o in orders if o.tag == "session close"}
    assert {oid for oid, _ok in strategy.cancel_answers} == {o.id for o in orders if o.tag == "session close"
                                                             and o.submitted_at < closes()[dt.date(2024, 11, 29)]
                                                             - 12 * 60 * MIN}
    assert not any(ok for _oid, ok in strategy.cancel_answers)
    assert all(o.status.value == "filled" for o in orders if o.id in closing_ids)
    assert {oid for oid, _reason in strategy.cancelled} >= {o.id for o in limits}
    closing = {oid for oid, tag, _q, _t in strategy.filled if tag == "session close"}
    assert len(closing) == 6                          # the strategy is told of its closing fills


def test_orders_before_the_flatten_time_go_through(store):
    """A late buy 30 minutes after the open is accepted (the rule binds only from the flatten time)."""
    system = run(store, N, late_after_min=30)
    late = [o for o in system.broker.orders() if o.quantity in (1, 2)]
    assert len(late) == 12 and all(o.status.value == "filled" for o in late)
    closing = [f for f in system.broker.fills if f.quantity < 0]
    assert sorted(f.quantity for f in closing) == [-13.0] * 6       # the position with the late buy and signal


def test_hand_orders_are_not_refused_after_the_flatten_time(store):
    close_1 = closes()[dt.date(2024, 11, 26)]
    at = close_1 - 2 * MIN                                # after the flatten time, before the close
    system = run(store, N, hand=[(at, SubmitOrder("ACME", 7))], late_after_min=10_000)
    hand = [o for o in system.broker.orders() if o.strategy == "manual" and o.tag is None]
    assert len(hand) == 1 and hand[0].status.value == "filled"
    assert hand[0].submitted_at == at and not hand[0].reason
    # held overnight, and with the strategy's next entry closed at the next session's flatten time
    closing = [o for o in system.broker.orders() if o.tag == "session close" and o.symbol == "ACME"]
    assert [o.quantity for o in closing] == [-10.0, -17.0, -10.0]
    assert not system.broker.open_positions()


def test_without_the_setting_positions_are_held_overnight(store):
    system = run(store, None, late_after_min=10_000)
    assert not [o for o in system.broker.orders() if o.tag == "session close"]
    assert np.all(system.broker.positions == 30.0)          # a buy of 10 at each of the three sessions, kept
    assert not [o for o in system.broker.orders() if o.reason == "cancelled: session close" or "closing" in o.reason]


def test_the_setting_is_checked():
    with pytest.raises(Exception, match="flatten_before_close_minutes"):
        config(0)
