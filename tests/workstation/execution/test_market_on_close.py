"""Market-on-close orders (order_type "market_on_close"), which follow backtrader's Close orders.

The engine's fills equal backtrader's (exchange-time feeds whose session ends at the last regular bar)
on demo data and on real gapped data. The rules, with expectations read from the bars with pandas and
from pandas-market-calendars' closes, not from the engine: an order fills at the close of its symbol's
bar at the session's closing bar time (the last regular bar: 15:59, 12:59 on an early close, also in
an extended-hours run); a symbol without that bar fills a GTC order at the close of its last bar after
the order was sent (stamped with that bar), while a day order expires; an order sent at the closing
bar fills at the symbol's next bar's close; one sent after it (post-market) is for the next session's
close. Orders reserve buying power as market orders do; the session-close rule cancels them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest

from tests.integration.runhelpers import run_to_end, store_from_frame
from tests.workstation.execution.order_plans import backtrader_plan_fills
from tests.workstation.execution.test_backtrader_orders import our_fills, plan_config
from workstation.config import validate_config_dict
from workstation.config.models import ExecutionConfig
from workstation.execution import InvalidOrder, SimulatedBroker, make_request
from workstation.store import BarStore, import_files
from workstation.system import SystemManager

ZONE = "America/New_York"
MIN = 60_000_000_000
SLIP = 1e-4
DAYS = ("2024-11-26", "2024-11-27", "2024-11-29")     # 2024-11-29 closes at 13:00
STRATEGY = "tests.workstation.execution.moc_strategies:SendOnClose"


# ------------------------------------------------------------------ backtrader's Close orders


def _theirs(bars: pd.DataFrame, seed: int, probability: float) -> list[tuple]:
    out: list[tuple] = []
    for symbol, frame in bars.groupby("symbol", sort=True):
        out.extend(backtrader_plan_fills(frame, str(symbol), seed, probability, ("moc",), 400, ZONE))
    return sorted(out)


def _moc_plan(symbols, start, end, seed, probability) -> dict:
    cfg = plan_config(symbols, start, end, seed=seed, probability=probability, kinds=("moc",))
    cfg["strategies"][0]["params"]["stale_bars"] = 400       # the orders stay until the close
    return cfg


def _same(ours: list[tuple], theirs: list[tuple]) -> None:
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    for a, b in zip(ours, theirs, strict=True):
        assert a[:3] == b[:3] and a[3] == pytest.approx(b[3], rel=1e-12), f"ours {a} / backtrader {b}"


def test_fills_equal_backtraders_close_orders_on_demo_data(tmp_path):
    pytest.importorskip("backtrader")
    from workstation.store.demo import generate_demo

    generate_demo(tmp_path / "demo", symbols=4, seed=5)
    store = BarStore(tmp_path / "demo")
    symbols = store.symbols("1m")[:4]
    start, end = "2024-12-02", "2024-12-06"        # no early close (backtrader's session end is one time of day)
    system = run_to_end(_moc_plan(symbols, start, end, 7, 0.02), store)
    bars = store.read_bars(symbols, "1m", pd.Timestamp(start, tz=ZONE).value, pd.Timestamp("2024-12-07", tz=ZONE).value,
                           rth_only=True)
    ours = our_fills(system)
    _same(ours, _theirs(bars, 7, 0.02))
    moc = [o for o in system.broker.orders() if o.order_type.value == "market_on_close"]
    assert {(o.tif.value, o.status.value) for o in moc} >= {("day", "filled"), ("gtc", "filled")}
    at_close = [o for o in moc if o.status.value == "filled"
                and pd.Timestamp(o.status_time, tz="UTC").tz_convert(ZONE).strftime("%H:%M") == "15:59"]
    assert len(at_close) >= 15


@pytest.fixture(scope="module")
def real_bars(tmp_path_factory) -> pd.DataFrame:
    from tests.shared_data import REAL, require_shared

    real = require_shared(REAL, "../shared/data/real")
    raw = BarStore(tmp_path_factory.mktemp("moc_real") / "raw", create=True)
    import_files([real / "lumibot" / f for f in ("UPRO_Minute_2021.csv.gz", "SRNE_Minute.csv.gz",
                                                  "SPY_Minute_2021.csv.gz")], raw)
    bars = raw.read_bars(["SPY", "SRNE", "UPRO"], "1m", pd.Timestamp("2021-07-06", tz="UTC").value,
                         pd.Timestamp("2021-07-31", tz="UTC").value, rth_only=True)
    return bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]]


def test_fills_equal_backtraders_close_orders_on_real_gapped_data(real_bars, tmp_path):
    """UPRO and SRNE lack their 15:59 bar on some days: a GTC order then fills at the close of the
    symbol's last bar after it was sent (stamped with that bar), a day order expires."""
    pytest.importorskip("backtrader")
    store = store_from_frame(real_bars, tmp_path / "real")
    system = run_to_end(_moc_plan(["SPY", "SRNE", "UPRO"], "2021-07-06", "2021-07-30", 12, 0.02), store)
    ours = our_fills(system)
    _same(ours, _theirs(real_bars, 12, 0.02))
    moc = [o for o in system.broker.orders() if o.order_type.value == "market_on_close"]
    early = [o for o in moc if o.status.value == "filled"
             and pd.Timestamp(o.status_time, tz="UTC").tz_convert(ZONE).strftime("%H:%M") < "15:59"]
    assert early, "no order filled at a last close before 15:59: the thin-data rule is not covered"
    assert any(o.status.value == "expired" and o.tif.value == "day" for o in moc)


# ------------------------------------------------------------------ the rules on made-up bars


def _frame() -> pd.DataFrame:
    """AAA and BBB, 08:00-17:59 exchange time each session (pre- and post-market around the regular
    hours), every close different. BBB trades last at 15:39 on 2024-11-26 and has no bar from 15:50
    to 16:29 on 2024-11-27."""
    rows = []
    for d, day in enumerate(DAYS):
        stamps = pd.date_range(f"{day} 08:00", f"{day} 17:59", freq="1min", tz=ZONE)
        for s, symbol in enumerate(("AAA", "BBB")):
            keep = np.ones(len(stamps), dtype=bool)
            if symbol == "BBB" and day == "2024-11-26":
                keep &= stamps.strftime("%H:%M") < "15:40"
            if symbol == "BBB" and day == "2024-11-27":
                hm = stamps.strftime("%H:%M")
                keep &= (hm < "15:50") | (hm >= "16:30")
            minutes = np.arange(len(stamps))
            close = 100.0 + 50 * s + 10 * d + minutes / 1000
            frame = pd.DataFrame({"symbol": symbol, "timestamp": stamps.tz_convert("UTC").as_unit("ns"), "open": close - 0.01,
                                  "high": close + 0.02, "low": close - 0.03, "close": close, "volume": 1000.0})
            rows.append(frame[keep])
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def made_up(tmp_path_factory) -> tuple[BarStore, pd.DataFrame]:
    frame = _frame()
    return store_from_frame(frame, tmp_path_factory.mktemp("moc_made_up") / "store"), frame


def _run(store: BarStore, orders: list[dict], hours: str = "regular", flatten: int | None = None,
         fill_rule: str = "next_open") -> SystemManager:
    cfg = validate_config_dict({
        "name": "market on close", "symbols": ["AAA", "BBB"], "session_hours": hours,
        "exchange": "NYSE" if hours == "extended" else "XNYS",      # (NYSE has the pre- and post-market hours)
        "streams": {"interval": "1m", "derived": [], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": False},
        "backtest": {"start_date": DAYS[0], "end_date": DAYS[-1], "speed_multiplier": 0},
        "strategies": [{"name": "moc", "class_path": STRATEGY, "params": {"orders": orders}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 10_000,
                 "flatten_before_close_minutes": flatten},
        "execution": {"starting_cash": 1_000_000, "slippage_bps": SLIP * 1e4, "allow_short": True,
                      "fill_rule": fill_rule},
    })
    system = SystemManager(cfg, store=store)
    system.start()
    assert system.wait(120) and system.error is None, system.error
    return system


def _closing_bars() -> dict[str, int]:
    """Each session's last regular bar start (ns UTC): the calendar's close less one minute."""
    schedule = mcal.get_calendar("XNYS").schedule(DAYS[0], DAYS[-1])
    return {str(ts.date()): int(close.value) - MIN for ts, close in schedule["market_close"].items()}


def _bar(frame: pd.DataFrame, symbol: str, start_ns: int) -> pd.Series:
    rows = frame[(frame["symbol"] == symbol) & (pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8 == start_ns)]
    assert len(rows) == 1, (symbol, pd.Timestamp(start_ns, tz="UTC"))
    return rows.iloc[0]


def _at(day: str, hm: str) -> int:
    return int(pd.Timestamp(f"{day} {hm}", tz=ZONE).value)


def _slipped(price: float, qty: float) -> float:
    return price * (1 + SLIP) if qty > 0 else price * (1 - SLIP)


def _fills_by_plan(system: SystemManager) -> dict[int, tuple[float, float, int]]:
    st = system.strategies[0]
    by_id = {oid: k for k, oid in st.sent.items()}
    return {by_id[oid]: (qty, price, t) for oid, qty, price, t in st.filled}


def test_the_closing_bar_the_thin_symbol_and_an_order_sent_at_the_close(made_up):
    store, frame = made_up
    closing = _closing_bars()
    assert closing["2024-11-29"] == _at("2024-11-29", "12:59")       # the early close
    orders = [
        {"date": "2024-11-26", "at": "10:00", "symbol": "AAA", "quantity": 10, "tif": "day"},   # 0
        {"date": "2024-11-26", "at": "10:00", "symbol": "BBB", "quantity": 10, "tif": "gtc"},   # 1: no 15:59 bar
        {"date": "2024-11-26", "at": "10:00", "symbol": "BBB", "quantity": 5, "tif": "day"},    # 2: expires
        {"date": "2024-11-29", "at": "10:00", "symbol": "AAA", "quantity": -10, "tif": "gtc"},  # 3: early close
        {"date": "2024-11-26", "at": "15:59", "symbol": "AAA", "quantity": 7, "tif": "gtc"},    # 4: at the close
        {"date": "2024-11-26", "at": "15:39", "symbol": "BBB", "quantity": 3, "tif": "gtc"},    # 5: its last bar
        {"date": "2024-11-27", "at": "10:00", "symbol": "BBB", "quantity": 4, "tif": "gtc"},    # 6: gap at the close
    ]
    system = _run(store, orders)
    fills = _fills_by_plan(system)
    expected = {
        0: _bar(frame, "AAA", closing["2024-11-26"]),
        1: _bar(frame, "BBB", _at("2024-11-26", "15:39")),
        3: _bar(frame, "AAA", closing["2024-11-29"]),
        4: _bar(frame, "AAA", _at("2024-11-27", "09:30")),      # the next bar: next session's first
        5: _bar(frame, "BBB", _at("2024-11-27", "09:30")),      # no bar after it that day: its next bar
        6: _bar(frame, "BBB", _at("2024-11-27", "15:49")),      # its last bar before the close
    }
    assert set(fills) == set(expected)
    for k, bar in expected.items():
        qty, price, t = fills[k]
        assert qty == orders[k]["quantity"]
        assert t == int(bar["timestamp"].value), (k, pd.Timestamp(t, tz="UTC").tz_convert(ZONE))
        assert price == pytest.approx(_slipped(bar["close"], qty), rel=1e-12), k
    st = system.strategies[0]
    assert st.expired == [(st.sent[2], "day order: the session closed")]
    assert st.rejected == []
    assert system.broker.open_order_count == 0
    # BBB's GTC order filled at its last close when the session ended, not at its next bar (order 5 did)
    assert st.at_start["2024-11-27"] == {"AAA": 10, "BBB": 10}
    assert system.broker.position("AAA") == 10 - 10 + 7
    assert system.broker.position("BBB") == 10 + 3 + 4


def test_extended_hours_use_the_regular_close(made_up):
    """Pre-market orders fill at that day's regular close, post-market ones at the next session's (a
    day order too: it is for that session); BBB's post-market bars after its gap do not fill a GTC
    order at them, it fills at its last close before the close."""
    store, frame = made_up
    closing = _closing_bars()
    orders = [
        {"date": "2024-11-27", "at": "08:00", "symbol": "AAA", "quantity": 10, "tif": "day"},   # 0
        {"date": "2024-11-27", "at": "16:30", "symbol": "AAA", "quantity": -4, "tif": "day"},   # 1
        {"date": "2024-11-27", "at": "16:30", "symbol": "AAA", "quantity": -6, "tif": "gtc"},   # 2
        {"date": "2024-11-27", "at": "10:00", "symbol": "BBB", "quantity": 5, "tif": "gtc"},    # 3
        {"date": "2024-11-27", "at": "10:00", "symbol": "BBB", "quantity": 2, "tif": "day"},    # 4: expires
    ]
    system = _run(store, orders, hours="extended")
    fills = _fills_by_plan(system)
    expected = {0: _bar(frame, "AAA", closing["2024-11-27"]), 1: _bar(frame, "AAA", closing["2024-11-29"]),
                2: _bar(frame, "AAA", closing["2024-11-29"]), 3: _bar(frame, "BBB", _at("2024-11-27", "15:49"))}
    assert set(fills) == set(expected)
    for k, bar in expected.items():
        qty, price, t = fills[k]
        assert (qty, t) == (orders[k]["quantity"], int(bar["timestamp"].value)), k
        assert price == pytest.approx(_slipped(bar["close"], qty), rel=1e-12), k
    st = system.strategies[0]
    assert [oid for oid, _ in st.expired] == [st.sent[4]]
    # the expiry waited for the session's end (the post-market bars), as the session's other day orders
    expired = system.broker.order(st.sent[4])
    assert expired.status_time > _at("2024-11-27", "17:59")


def test_the_close_fill_rule_leaves_them_for_the_closing_bar(made_up):
    """execution.fill_rule "close" fills market orders at once at the signal bar's close; a market-on-close
    order still waits for the closing bar."""
    store, frame = made_up
    orders = [{"date": "2024-11-26", "at": "10:00", "symbol": "AAA", "quantity": 10, "tif": "day"}]
    system = _run(store, orders, fill_rule="close")
    ((qty, price, t),) = _fills_by_plan(system).values()
    bar = _bar(frame, "AAA", _closing_bars()["2024-11-26"])
    assert (qty, t) == (10, int(bar["timestamp"].value))
    assert price == pytest.approx(_slipped(bar["close"], qty), rel=1e-12)


def test_the_session_close_rule_cancels_them(made_up):
    store, _ = made_up
    orders = [{"date": "2024-11-26", "at": "10:00", "symbol": "AAA", "quantity": 10, "tif": "gtc"}]
    system = _run(store, orders, flatten=10)
    st = system.strategies[0]
    assert st.filled == []
    assert st.expired == [(st.sent[0], "cancelled: session close")]
    assert system.broker.order(st.sent[0]).status_time == _at("2024-11-26", "15:50")


# ------------------------------------------------------------------ the order itself


def test_a_market_on_close_order_takes_no_price():
    with pytest.raises(InvalidOrder, match="a market_on_close order does not use limit_price"):
        make_request("AAA", 10, "market_on_close", limit_price=10.0)
    assert make_request("AAA", 10, "market_on_close").order_type.value == "market_on_close"


def _bar_at(b: SimulatedBroker, t: int, close: float) -> list:
    one = np.array([close])
    return b.on_bar_time(t, np.array([0], dtype=np.int64), one, one, one, one, np.array([1e6]))


def test_buying_power_is_held_until_the_fill_and_given_back_by_a_cancel():
    t0 = _at("2024-11-26", "15:00")
    b = SimulatedBroker(["AAA"], ExecutionConfig(starting_cash=10_000))
    b.start_session(_at("2024-11-26", "15:59"))
    _bar_at(b, t0, 100.0)
    first = b.submit_order(make_request("AAA", 60, "market_on_close"), "s", t0 + MIN)
    assert first.status.value == "working"
    assert b.buying_power() == pytest.approx(10_000 - 6_000)
    refused = b.submit_order(make_request("AAA", 50, "market_on_close"), "s", t0 + MIN)
    assert refused.status.value == "rejected" and "buying power" in refused.reason
    b.modify_order(first.id, t0 + MIN, quantity=80)
    assert b.buying_power() == pytest.approx(10_000 - 8_000)
    with pytest.raises(InvalidOrder, match="has no limit_price"):
        b.modify_order(first.id, t0 + MIN, limit_price=99.0)
    b.cancel_order(first.id, t0 + MIN)
    assert b.buying_power() == pytest.approx(10_000)
    second = b.submit_order(make_request("AAA", 90, "market_on_close"), "s", t0 + MIN)
    assert _bar_at(b, t0 + 30 * MIN, 101.0) == []                  # 15:30: before the closing bar
    (fill,) = _bar_at(b, _at("2024-11-26", "15:59"), 102.0)
    assert (fill.order_id, fill.quantity, fill.price) == (second.id, 90, 102.0)
    assert b.cash == pytest.approx(10_000 - 90 * 102.0)

