"""Whole runs with orders: the strategy API and its callbacks, the run folder (orders, fills, report
counts), bad signals and bad orders at the boundary (issue 12 item 6), the opening-range breakout
against ranges computed with pandas, and live paper mode on the same order model."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration import order_strategies as strategies
from tests.integration.runhelpers import store_from_frame
from workstation.config import validate_config_dict
from workstation.execution import fills_frame, trades_frame
from workstation.run_writer import RunWriter
from workstation.store import BarStore
from workstation.store.demo import generate_demo
from workstation.system import SystemManager

SYMBOLS = ["ACME", "BOLT", "CYRX"]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("orders_demo") / "store"
    generate_demo(root, symbols=3, days=8, seed=11)
    return BarStore(root)


def config(store: BarStore, strategies_cfg: list[dict], start="2024-12-03", end="2024-12-04", **over) -> dict:
    cfg = {
        "name": "orders test",
        "symbols": SYMBOLS,
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "backtest": {"start_date": start, "end_date": end, "speed_multiplier": 0},
        "strategies": strategies_cfg,
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e6},
        "execution": {"starting_cash": 1e6, "commission_per_share": 0.005, "commission_min": 1.0},
        "data_source": {"store_path": str(store.root)},
    }
    for key, value in over.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def run_with_folder(cfg: dict, store: BarStore, out: Path) -> SystemManager:
    system = SystemManager(validate_config_dict(cfg), store=store)
    writer = RunWriter(system, out, write_bars=False)
    system.start()
    assert system.wait(120) and system.error is None, system.error
    deadline = time.monotonic() + 10
    while not writer.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.closed
    return system


def strategy(name: str, cls: str, **kw) -> dict:
    return {"name": name, "class_path": f"tests.integration.order_strategies:{cls}", **kw}


# ------------------------------------------------------------------ API, callbacks, run folder


def test_strategy_orders_callbacks_and_run_folder(demo_store, tmp_path):
    out = tmp_path / "run"
    system = run_with_folder(config(demo_store, [strategy("brackets", "CallbackRecorder")]), demo_store, out)
    records = strategies.RECORDS["callbacks"]
    orders = pd.read_parquet(out / "orders.parquet").set_index("id").sort_index()
    fills = pd.read_parquet(out / "fills.parquet")

    # every order of the run is in orders.parquet exactly once, with the broker's final status
    assert orders.index.tolist() == list(range(1, len(system.broker.orders()) + 1))
    assert orders["status"].tolist() == [o.status.value for o in system.broker.orders()]
    assert len(fills) == len(system.broker.fills) > 20
    assert (fills["order_id"].isin(orders.index)).all()

    # callbacks: one per fill, one per cancel or expiry, with the orders' final statuses
    submitted = {r[1]: r[2] for r in records if r[0] == "submitted"}
    filled = [r for r in records if r[0] == "filled"]
    assert len(filled) == len(fills)
    assert {r[1] for r in filled} == set(orders.index[orders["status"] == "filled"])
    assert {r[1] for r in records if r[0] == "cancelled"} == set(
        orders.index[orders["status"].isin(["cancelled", "expired"])])
    # no order fills on the bar it was decided on: entry fills come after the decision bar
    for _, order_id, fill_time, role, _ in filled:
        if role == "entry":
            assert fill_time > submitted[order_id]
    # exits of one bracket: at most one fills
    exits = orders[orders["parent_id"].notna()]
    assert (exits[exits["status"] == "filled"].groupby("parent_id").size() <= 1).all()
    assert {"filled", "cancelled", "expired"} <= set(orders["status"])

    # the decisions of the orders are the signal log's order rows; the report counts by final status
    signals = pd.read_parquet(out / "signals.parquet")
    summary = system.summary()
    assert (signals["kind"] == "order").sum() == summary["signals"] == len(submitted)
    assert set(signals.loc[signals["kind"] == "order", "action"]) <= {"BUY LIMIT BRACKET"}
    report = (out / "report.txt").read_text()
    counts = orders["status"].value_counts()
    line = next(line for line in report.splitlines() if line.startswith("Orders"))
    assert f"Orders          {len(orders):,}:" in line
    for status in ("filled", "cancelled", "expired"):
        assert f"{status} {counts.get(status, 0):,}" in line

    equity = pd.read_parquet(out / "equity.parquet")
    assert {"margin_used", "buying_power", "open_orders"} <= set(equity.columns)
    np.testing.assert_allclose(equity["equity"], equity["cash"] + equity["positions_value"], rtol=1e-12)
    assert equity["open_orders"].max() >= 3


# ------------------------------------------------------------------ issue 12 item 6: the boundary


def test_bad_signals_are_rejected_and_counted_and_the_run_goes_on(demo_store, tmp_path):
    out = tmp_path / "run"
    cfg = config(demo_store, [strategy("bad", "BadSignals", symbols=["ACME"]),
                              {"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}])
    system = run_with_folder(cfg, demo_store, out)
    summary = system.summary()
    assert summary["state"] == "finished"
    assert summary["strategy_errors"]["bad"] == len(strategies.BadSignals.BAD)
    signals = pd.read_parquet(out / "signals.parquet")
    errors = signals[signals["kind"] == "error"]
    assert len(errors) == sum(summary["strategy_errors"].values())
    reasons = " | ".join(errors["reason"])
    for text in ("returned int", "quantity nan", "quantity '100'", "action 'LONG'", "confidence nan",
                 "returned dict", "unknown symbol 'NOPE'", "quantity is zero", "price -1.0", "time None"):
        assert text in reasons
    assert (errors["strategy"] == "bad").all() and not errors["approved"].any()
    assert set(errors["symbol"]) == {"ACME", "NOPE", ""}            # the symbol as the strategy gave it
    decided = signals[signals["kind"] == "signal"]
    assert len(decided) == summary["signals"] and (decided["approved"] == ~decided["reason"].astype(bool)).all()
    bad_rows = decided[decided["strategy"] == "bad"]
    assert bad_rows["action"].tolist() == ["BUY", "SELL"]           # "buy" and a bare Signal were accepted
    report = (out / "report.txt").read_text()
    n_bad = len(strategies.BadSignals.BAD)
    assert f"Strategy errors bad: {n_bad} ({n_bad} of them invalid signals or orders)" in report
    assert f"Signals         {summary['signals']:,} ({summary['rejected']:,} rejected)" in report
    assert summary["trades"] > 0                                      # the other strategy traded on


def test_bad_orders_are_rejected_with_the_reason(demo_store, tmp_path):
    out = tmp_path / "run"
    system = run_with_folder(config(demo_store, [strategy("bad", "BadOrders", symbols=["ACME"])]), demo_store, out)
    returned = strategies.RECORDS["bad_orders"]
    assert returned[6:8] == [False, False]                           # cancel and modify of an unknown id
    assert all(isinstance(x, int) for x in returned[:6] + returned[8:])
    summary = system.summary()
    assert summary["strategy_errors"]["bad"] == 9 and summary["invalid_requests"] == 9
    orders = pd.read_parquet(out / "orders.parquet").set_index("id")
    invalid = orders.loc[returned[:6] + [returned[8]]]
    assert (invalid["status"] == "rejected").all()
    for text in ("quantity is zero", "quantity must be finite", "limit_price must be a positive finite price",
                 "stop_price must be a positive finite price", "'NOPE' is not in this run",
                 "tif must be one of"):
        assert invalid["reason"].str.contains(text, regex=False).any(), text
    errors = pd.read_parquet(out / "signals.parquet").query("kind == 'error'")
    assert len(errors) == 9
    assert errors["reason"].str.contains("unknown order id 424242").sum() == 2
    assert orders.loc[returned[9], "status"] in ("working", "filled", "expired")
    assert summary["signals"] == 1                                     # the valid order's decision


# ------------------------------------------------------------------ opening-range breakout


def orb_config(store: BarStore, **params) -> dict:
    cfg = config(store, [{"name": "orb", "class_path": "opening_range_breakout",
                          "params": {"range_minutes": 15, "reward_risk": 2.0, "risk_per_trade": 200,
                                     "lot_size": 10, **params}}],
                 start="2024-11-27", end="2024-12-04",
                 execution={"starting_cash": 100_000, "margin_multiplier": 4, "allow_short": True,
                            "commission_per_share": 0.0, "commission_min": 0.0})
    return cfg


def test_opening_range_breakout_against_pandas_ranges(demo_store, tmp_path):
    tz = "America/New_York"
    bars = demo_store.read_bars(SYMBOLS, "1m", pd.Timestamp("2024-11-27", tz=tz).value,
                                pd.Timestamp("2024-12-05", tz=tz).value, rth_only=True)
    local = bars["timestamp"].dt.tz_convert(tz)
    # the range's last minute (09:44) missing for one symbol and day: its range ends a bar earlier and
    # its orders go out at the end of the 09:45 bar, whose prices are not part of the range
    missing = (bars["symbol"] == "BOLT") & (local == pd.Timestamp("2024-12-02 09:44", tz=tz))
    assert missing.sum() == 1
    bars, local = bars[~missing].reset_index(drop=True), local[~missing].reset_index(drop=True)
    store = store_from_frame(bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]], tmp_path / "s")
    system = run_with_folder(orb_config(store), store, tmp_path / "run")
    bars["day"] = local.dt.date
    in_range = (local.dt.hour * 60 + local.dt.minute) < 9 * 60 + 45
    ranges = bars[in_range].groupby(["symbol", "day"]).agg(high=("high", "max"), low=("low", "min"))
    orders = [o for o in system.broker.orders() if o.role.value == "entry"]
    assert len(orders) == 2 * len(ranges)                              # both sides, every symbol and day
    for o in orders:
        day = pd.Timestamp(o.submitted_at, unit="ns", tz="UTC").tz_convert(tz).date()
        high, low = ranges.loc[(o.symbol, day)]
        risk = high - low
        if o.quantity > 0:
            assert o.stop_price == high
            exits = {c.role.value: c for c in system.broker.orders() if c.parent_id == o.id}
            assert exits["stop_loss"].stop_price == low
            assert exits["take_profit"].limit_price == pytest.approx(high + 2 * risk)
        else:
            assert o.stop_price == low
        assert abs(o.quantity) == math.floor(200 / risk / 10 + 1e-9) * 10
        late = (o.symbol, str(day)) == ("BOLT", "2024-12-02")
        assert pd.Timestamp(o.submitted_at, unit="ns", tz="UTC").tz_convert(tz).strftime("%H:%M") == \
            ("09:46" if late else "09:45")
    # one trade per symbol and day at most, and flat at every session's end
    trades = trades_frame(system.broker.trades)
    trades["day"] = trades["entry_time"].dt.tz_convert(tz).dt.date
    assert trades.groupby(["symbol", "day"]).size().max() == 1
    fills = fills_frame(system.broker.fills)
    fills["day"] = fills["time"].dt.tz_convert(tz).dt.date
    assert (fills.groupby(["symbol", "day"])["quantity"].sum().abs() < 1e-9).all()
    assert len(trades) >= 10 and not system.broker.open_positions()


def test_orb_closes_at_the_next_open_what_a_session_without_bars_at_its_flat_time_left_open(demo_store, tmp_path):
    """ACME's bars of one day stop a minute after its ORB entry filled (a feed that ends early): no bar
    at the flat time, so the position is closed at the next session's first bar, at its open, instead
    of being carried into that session's own trade (whose entry used to net against it)."""
    tz = "America/New_York"
    bars = demo_store.read_bars(SYMBOLS, "1m", pd.Timestamp("2024-11-27", tz=tz).value,
                                pd.Timestamp("2024-12-05", tz=tz).value, rth_only=True)
    full = SystemManager(validate_config_dict(orb_config(demo_store)), store=demo_store)
    full.start()
    assert full.wait(120) and full.error is None
    first = next(t for t in full.broker.trades if t.symbol == "ACME")
    entry = pd.Timestamp(first.entry_time, unit="ns", tz="UTC")
    day = entry.tz_convert(tz).date()
    local = bars["timestamp"].dt.tz_convert(tz)
    cut = (bars["symbol"] == "ACME") & (local.dt.date == day) & (bars["timestamp"] > entry)
    assert cut.sum() > 30                               # the trade was open well past the cut
    bars = bars[~cut].reset_index(drop=True)
    store = store_from_frame(bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]], tmp_path / "s")
    system = run_with_folder(orb_config(store), store, tmp_path / "run")

    acme = bars[bars["symbol"] == "ACME"]
    next_bar = acme[acme["timestamp"].dt.tz_convert(tz).dt.date > day].iloc[0]      # the next session's first
    fills = fills_frame(system.broker.fills)
    fills = fills[fills["symbol"] == "ACME"].reset_index(drop=True)
    entry_fill = fills[fills["time"] == entry].iloc[0]
    closing = fills[fills["time"] > entry].iloc[0]
    assert closing["time"] == next_bar["timestamp"] and closing["price"] == next_bar["open"]
    assert closing["quantity"] == -entry_fill["quantity"]
    closing_order = system.broker.order(int(closing["order_id"]))
    assert closing_order.tag == "flat: no bar at the last session's flat time"
    # the next session trades as every other: one trade a day, flat at each session's end
    fills["day"] = fills["time"].dt.tz_convert(tz).dt.date
    later = fills[fills["time"] > closing["time"]]
    assert (later.groupby("day")["quantity"].sum().abs() < 1e-9).all()
    trades = trades_frame(system.broker.trades)
    trades = trades[trades["symbol"] == "ACME"]
    assert len(trades[trades["entry_time"] == entry]) == 1
    assert trades["entry_time"].dt.tz_convert(tz).dt.date.value_counts().max() == 1


def test_orb_same_trades_with_and_without_stage_threads(demo_store):
    results = []
    for threads in (True, False):
        cfg = orb_config(demo_store)
        cfg["backtest"]["stage_threads"] = threads
        system = SystemManager(validate_config_dict(cfg), store=demo_store)
        system.start()
        assert system.wait(120) and system.error is None
        results.append(([(t.symbol, t.entry_time, t.entry_price, t.exit_time, t.exit_price, t.pnl)
                         for t in system.broker.trades],
                        [(o.id, o.status.value, o.status_time) for o in system.broker.orders()]))
    assert results[0] == results[1] and len(results[0][0]) > 5


# ------------------------------------------------------------------ live paper mode


def test_live_paper_mode_fills_as_the_backtest(demo_store):
    from workstation.live.system import LiveSystemManager

    def run(mode: str, **live):
        cfg = config(demo_store, [strategy("timed", "TimedBrackets", params={"after": "15:00"})],
                     start="2024-12-04", end="2024-12-04", mode=mode,
                     live={"provider": "replay", "replay": {"start": "2024-12-04T15:00:00", "speed": 1200.0},
                           **live})
        cls = LiveSystemManager if mode == "live" else SystemManager
        system = cls(validate_config_dict(cfg), store=demo_store)
        system.start()
        assert system.wait(120) and system.error is None, system.error
        return system

    backtest = run("backtest")
    live = run("live", grace_seconds=20)

    def fills(system):
        return [(f.symbol, f.time, f.quantity, f.price) for f in system.broker.fills]
    assert fills(live) == fills(backtest) and len(fills(live)) >= 6
    assert [o.status.value for o in live.broker.orders()] == [o.status.value for o in backtest.broker.orders()]


# ------------------------------------------------------------------ intrabar resolution from the store


def test_finer_interval_from_the_store_decides_a_bracket_conflict(tmp_path):
    """A 1m bar reaches both exits of a bracket; the store's 1s bars of that minute reach the take profit
    first. worst_case: the stop loss fills; finer_interval: the take profit, at its price."""
    from workstation.store import BarStore

    tz = "America/New_York"
    day = "2024-12-03"
    open_ns = pd.Timestamp(f"{day} 09:30", tz=tz).tz_convert("UTC")
    minutes = pd.date_range(open_ns, periods=390, freq="1min")
    price = np.full(390, 100.0)
    frame = pd.DataFrame({"symbol": "ACME", "timestamp": minutes, "open": price, "high": price + 0.05,
                          "low": price - 0.05, "close": price, "volume": 1000.0})
    wide = 40                                              # 10:10: low 98.5, high 101.5 (both exits)
    frame.loc[wide, ["high", "low"]] = [101.5, 98.5]
    store = BarStore(tmp_path / "store", create=True)
    store.write_bars(frame, "1m")
    seconds = pd.date_range(minutes[wide], periods=60, freq="1s")
    path = np.concatenate([np.linspace(100, 101.5, 20), np.linspace(101.5, 98.5, 40)])   # up first, then down
    store.write_bars(pd.DataFrame({"symbol": "ACME", "timestamp": seconds, "open": path, "high": path + 0.01,
                                   "low": path - 0.01, "close": path, "volume": 10.0}), "1s")

    def run(resolution: str):
        cfg = {
            "name": "intrabar", "symbols": ["ACME"],
            "streams": {"interval": "1m", "derived": [], "indicators": []},
            "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
            "backtest": {"start_date": day, "end_date": day},
            "strategies": [strategy("timed", "TimedBrackets", params={"after": "10:07"})],
            "risk": {"min_quality_pct": 0, "max_position_qty": 1e6},
            "execution": {"intrabar_resolution": resolution, "intrabar_interval": "1s"},
            "data_source": {"store_path": str(store.root)},
        }
        system = SystemManager(validate_config_dict(cfg), store=store)
        system.start()
        assert system.wait(60) and system.error is None, system.error
        return system.broker.orders()

    def exit_fill(orders):
        return next((o.role.value, o.avg_fill_price) for o in orders if o.parent_id and o.status.value == "filled")

    # TimedBrackets at 10:07 (minute % 7 == 0): limit 99.95, stop loss 99.65, take profit 100.15; the
    # entry fills at 10:08, the exits are eligible from 10:09 and both reached at 10:10
    assert exit_fill(run("worst_case")) == ("stop_loss", pytest.approx(round(99.95 * 0.997, 2)))
    target = round(99.95 * 1.002, 2)
    first = int(np.argmax(path + 0.01 >= target))           # the first second that reaches the target
    expected = path[first] if path[first] >= target else target   # a sell limit: at that second's open if above
    assert exit_fill(run("finer_interval")) == ("take_profit", pytest.approx(expected))
    with pytest.raises(Exception, match="intrabar_interval"):
        validate_config_dict({"name": "x", "symbols": ["ACME"], "backtest": {"start_date": day, "end_date": day},
                              "execution": {"intrabar_resolution": "finer_interval", "intrabar_interval": "5m"}})
