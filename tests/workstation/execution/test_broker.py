"""SimulatedBroker: fill rules, slippage, commission, books, trades, equity curve, reference semantics."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import require_shared
from workstation.config.models import ExecutionConfig
from workstation.execution.broker import SimulatedBroker

MIN = 60_000_000_000
T0 = int(pd.Timestamp("2024-01-02 14:30", tz="UTC").value)
BENCH = Path(__file__).resolve().parents[3] / ".." / "shared" / "bench"


def bar(broker: SimulatedBroker, ts: int, rows: dict[str, tuple[float, float]]):
    """Feed one bar time: {symbol: (open, close)}."""
    idx = np.array([broker.index_of(s) for s in rows], dtype=np.int64)
    opens = np.array([v[0] for v in rows.values()], dtype=np.float64)
    closes = np.array([v[1] for v in rows.values()], dtype=np.float64)
    return broker.on_bar_time(ts, idx, opens, closes)


def test_next_open_fills_at_the_symbols_next_bar_open():
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(starting_cash=10_000))
    bar(b, T0, {"AAA": (10.0, 10.5), "BBB": (50.0, 51.0)})
    b.submit(0, 100, T0 + MIN, "s1", 10.5)
    assert b.position("AAA") == 0 and len(b.pending_orders()) == 1
    # AAA has no bar at T0+1m (a gap): the order must wait, even though BBB trades.
    assert bar(b, T0 + MIN, {"BBB": (51.0, 52.0)}) == []
    assert b.position("AAA") == 0
    fills = bar(b, T0 + 5 * MIN, {"AAA": (11.0, 12.0), "BBB": (52.0, 52.5)})
    assert len(fills) == 1
    f = fills[0]
    assert (f.symbol, f.quantity, f.price, f.time, f.commission, f.strategy) == (
        "AAA",
        100,
        11.0,
        T0 + 5 * MIN,
        0.0,
        "s1",
    )
    assert b.position("AAA") == 100
    assert b.cash == pytest.approx(10_000 - 1100)
    assert b.equity() == pytest.approx(10_000 - 1100 + 100 * 12.0)
    assert b.unrealized_pnl() == pytest.approx(100.0)
    assert b.pending_orders() == []
    curve = b.equity_curve()
    assert list(curve.columns) == ["time", "equity", "cash", "positions_value", "gross_exposure", "margin_used",
                                   "buying_power", "open_orders"]
    assert curve["open_orders"].tolist() == [0, 1, 0]
    assert str(curve["time"].dt.tz) == "UTC"
    assert curve["time"].iloc[-1] == pd.Timestamp(T0 + 5 * MIN, unit="ns", tz="UTC")
    assert curve["equity"].tolist() == pytest.approx([10_000, 10_000, 10_100])


def test_order_on_last_bar_stays_pending():
    b = SimulatedBroker(["AAA"], ExecutionConfig(allow_short=True))
    bar(b, T0, {"AAA": (10.0, 10.0)})
    b.submit(0, -30, T0 + MIN, "s", 10.0)
    pending = b.pending_orders()
    assert [(p.symbol, p.quantity, p.time, p.strategy) for p in pending] == [("AAA", -30, T0 + MIN, "s")]
    assert b.fills == [] and b.trades == [] and b.position("AAA") == 0


def test_close_rule_fills_immediately_and_updates_current_equity_point():
    cfg = ExecutionConfig(
        fill_rule="close", commission_per_share=0.01, commission_min=1.0, starting_cash=5_000
    )
    b = SimulatedBroker(["AAA"], cfg)
    bar(b, T0, {"AAA": (20.0, 21.0)})
    fill = b.submit(0, 50, T0 + MIN, "s", 21.0)  # decided at the bar's end, stamped with its start
    assert fill is not None and fill.price == 21.0 and fill.time == T0 and fill.commission == 1.0
    assert b.position("AAA") == 50 and b.pending_orders() == []
    curve = b.equity_curve()
    assert len(curve) == 1
    assert curve["equity"].iloc[0] == pytest.approx(5_000 - 1.0)
    assert curve["gross_exposure"].iloc[0] == pytest.approx(50 * 21.0)
    with pytest.raises(ValueError, match="price_hint"):
        b.submit(0, 10, T0, "s", float("nan"))


def test_slippage_and_commission():
    cfg = ExecutionConfig(
        commission_per_share=0.01, commission_min=2.0, slippage_bps=10, starting_cash=100_000
    )
    b = SimulatedBroker(["AAA"], cfg)
    bar(b, T0, {"AAA": (100.0, 100.0)})
    b.submit(0, 100, T0, "s", 100.0)
    (buy,) = bar(b, T0 + MIN, {"AAA": (100.0, 101.0)})
    assert buy.price == pytest.approx(100.0 * 1.001)
    assert buy.commission == 2.0  # 0.01 x 100 = 1 < minimum 2
    b.submit(0, -100, T0 + MIN, "s", 101.0)
    b.submit(0, 0, T0 + MIN, "s", 101.0)  # ignored
    (sell,) = bar(b, T0 + 2 * MIN, {"AAA": (102.0, 102.0)})
    assert sell.price == pytest.approx(102.0 * 0.999)
    (trade,) = b.trades
    gross = 100 * (102.0 * 0.999 - 100.0 * 1.001)
    assert trade.pnl == pytest.approx(gross - 4.0)
    assert trade.commission == pytest.approx(4.0)
    assert b.cash == pytest.approx(100_000 + gross - 4.0)
    assert b.realized_pnl == pytest.approx(gross)
    assert b.commissions == pytest.approx(4.0)
    big = SimulatedBroker(["AAA"], cfg)
    bar(big, T0, {"AAA": (10.0, 10.0)})
    big.submit(0, 500, T0, "s", 10.0)
    (f,) = bar(big, T0 + MIN, {"AAA": (10.0, 10.0)})
    assert f.commission == pytest.approx(5.0)  # 0.01 x 500 above the minimum


def test_averaging_partial_reduce_and_round_trip_trade():
    b = SimulatedBroker(["AAA"], ExecutionConfig(commission_per_share=0.01))
    t = T0
    bar(b, t, {"AAA": (10.0, 10.0)})
    for qty, px in ((100, 10.0), (100, 12.0), (-50, 13.0), (-150, 9.0)):
        b.submit(0, qty, t, "s", px)
        t += MIN
        bar(b, t, {"AAA": (px, px)})
        if qty == 100 and px == 12.0:
            assert b.open_positions()[0].avg_price == pytest.approx(11.0)
            assert b.trades == []
        if qty == -50:
            assert b.realized_pnl == pytest.approx(50 * (13.0 - 11.0))
            assert b.position("AAA") == 150 and b.trades == []
    (trade,) = b.trades
    assert trade.quantity == 200
    assert trade.entry_price == pytest.approx(11.0)
    assert trade.exit_price == pytest.approx((50 * 13.0 + 150 * 9.0) / 200)
    assert trade.entry_time == T0 + MIN and trade.exit_time == T0 + 4 * MIN
    assert trade.commission == pytest.approx(0.01 * 400)
    assert trade.pnl == pytest.approx(50 * 2.0 + 150 * -2.0 - 4.0)
    assert b.position("AAA") == 0 and b.open_positions() == []


def test_flip_closes_the_trade_and_opens_a_short_with_the_remainder():
    b = SimulatedBroker(["AAA"], ExecutionConfig(commission_per_share=0.02, allow_short=True))
    bar(b, T0, {"AAA": (10.0, 10.0)})
    b.submit(0, 100, T0, "long", 10.0)
    bar(b, T0 + MIN, {"AAA": (10.0, 10.0)})
    b.submit(0, -150, T0 + MIN, "flip", 11.0)
    bar(b, T0 + 2 * MIN, {"AAA": (11.0, 11.0)})
    (first,) = b.trades
    assert first.quantity == 100 and first.exit_price == 11.0
    assert first.commission == pytest.approx(2.0 + 0.02 * 100)  # entry + the closing 100 of the flip order
    assert first.strategy == "long+flip"
    assert b.position("AAA") == -50
    (open_pos,) = b.open_positions()
    assert open_pos.quantity == -50 and open_pos.avg_price == 11.0 and open_pos.entry_time == T0 + 2 * MIN
    b.submit(0, 50, T0 + 2 * MIN, "cover", 9.0)
    bar(b, T0 + 3 * MIN, {"AAA": (9.0, 9.5)})
    second = b.trades[1]
    assert second.quantity == -50
    assert second.entry_price == 11.0 and second.exit_price == 9.0
    assert second.commission == pytest.approx(0.02 * 50 + 0.02 * 50)
    assert second.pnl == pytest.approx(50 * 2.0 - 2.0)
    curve = b.equity_curve()
    assert (curve["gross_exposure"] >= 0).all()
    assert curve["gross_exposure"].iloc[2] == pytest.approx(50 * 11.0)
    assert curve["positions_value"].iloc[2] == pytest.approx(-50 * 11.0)


def test_several_pending_orders_fill_in_submission_order():
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(allow_short=True))
    bar(b, T0, {"AAA": (10.0, 10.0), "BBB": (5.0, 5.0)})
    b.submit(0, 100, T0, "a", 10.0)
    b.submit(0, -40, T0, "b", 10.0)
    b.submit(1, -10, T0, "c", 5.0)
    assert (b.pending_quantity(0), b.pending_quantity(1)) == (60.0, -10.0)
    fills = bar(b, T0 + MIN, {"AAA": (10.2, 10.4), "BBB": (5.1, 5.0)})
    assert [(f.symbol, f.quantity, f.strategy) for f in fills] == [
        ("AAA", 100, "a"),
        ("AAA", -40, "b"),
        ("BBB", -10, "c"),
    ]
    assert b.positions.tolist() == [60, -10]
    assert b.realized_pnl == pytest.approx(0.0)


def test_equity_identity_over_random_orders():
    rng = np.random.default_rng(3)
    symbols = [f"S{i}" for i in range(6)]
    cfg = ExecutionConfig(commission_per_share=0.005, commission_min=1.0, slippage_bps=2, starting_cash=1e6,
                          allow_short=True)
    b = SimulatedBroker(symbols, cfg)
    prices = rng.uniform(20, 200, len(symbols))
    for k in range(400):
        prices *= np.exp(rng.normal(0, 0.002, len(symbols)))
        idx = np.flatnonzero(rng.random(len(symbols)) < 0.8).astype(np.int64)
        opens = np.round(prices[idx] * (1 + rng.normal(0, 0.001, len(idx))), 2)
        closes = np.round(prices[idx], 2)
        b.on_bar_time(T0 + k * MIN, idx, opens, closes)
        for i in idx:
            if rng.random() < 0.15:
                b.submit(int(i), float(rng.choice([-100, -50, 50, 100])), T0 + (k + 1) * MIN, "r", 0.0)
        identity = cfg.starting_cash + b.realized_pnl + b.unrealized_pnl() - b.commissions
        assert b.equity() == pytest.approx(identity, rel=1e-12)
    all_idx = np.arange(len(symbols), dtype=np.int64)
    b.on_bar_time(T0 + 400 * MIN, all_idx, np.round(prices, 2), np.round(prices, 2))  # fills what is pending
    for p in b.open_positions():
        b.submit(b.index_of(p.symbol), -p.quantity, T0 + 401 * MIN, "flatten", 0.0)
    b.on_bar_time(T0 + 401 * MIN, all_idx, np.round(prices, 2), np.round(prices, 2))
    assert b.open_positions() == [] and b.pending_orders() == []
    assert len(b.trades) > 20
    assert sum(t.pnl for t in b.trades) == pytest.approx(b.equity() - cfg.starting_cash, rel=1e-9)
    assert sum(t.commission for t in b.trades) == pytest.approx(b.commissions, rel=1e-9)
    assert b.equity_curve()["equity"].iloc[-1] == pytest.approx(b.equity())


def test_reset_and_argument_checks():
    b = SimulatedBroker(["AAA"], ExecutionConfig(starting_cash=1234))
    bar(b, T0, {"AAA": (1.0, 1.0)})
    b.submit(0, 10, T0, "s", 1.0)
    bar(b, T0 + MIN, {"AAA": (1.0, 2.0)})
    b.reset()
    assert b.cash == 1234 and b.position("AAA") == 0 and b.fills == [] and b.equity_curve().empty
    with pytest.raises(KeyError, match="ZZZ"):
        b.position("ZZZ")
    with pytest.raises(IndexError):
        b.submit(3, 10, T0, "s", 1.0)
    with pytest.raises(ValueError, match="finite"):
        b.submit(0, float("inf"), T0, "s", 1.0)
    with pytest.raises(ValueError, match="unique"):
        SimulatedBroker(["A", "A"])
    with pytest.raises(ValueError):
        SimulatedBroker([])


# ------------------------------------------------------------ reference semantics (bench oracle)


def _bench_modules():
    require_shared(BENCH, "the benchmark reference folder ../shared/bench")
    pytest.importorskip("pandas_market_calendars")
    sys.path.insert(0, str(BENCH.resolve()))
    try:
        return (
            importlib.import_module("make_bars"),
            importlib.import_module("reference_trades"),
            importlib.import_module("bench_common"),
        )
    finally:
        sys.path.remove(str(BENCH.resolve()))


def _broker_trades(df: pd.DataFrame, iso) -> tuple[list[dict], int]:
    """Drive the broker bar time by bar time with the reference's exact integer D-sign decisions."""
    symbols = sorted(df["symbol"].astype(str).unique())
    broker = SimulatedBroker(symbols, ExecutionConfig(starting_cash=1e9))
    sym_codes = df["symbol"].astype(str).map({s: i for i, s in enumerate(symbols)}).to_numpy(np.int64)
    ts = df["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
    opens = df["open"].to_numpy()
    closes = df["close"].to_numpy()
    closes_cents = np.round(closes * 100).astype(np.int64)
    history: list[list[int]] = [[] for _ in symbols]
    d_prev: list[int | None] = [None] * len(symbols)
    bounds = np.flatnonzero(np.diff(ts)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ts)], strict=True):
        idx = sym_codes[lo:hi]
        broker.on_bar_time(int(ts[lo]), idx, opens[lo:hi], closes[lo:hi])
        for k in range(lo, hi):
            i = int(sym_codes[k])
            h = history[i]
            h.append(int(closes_cents[k]))
            if len(h) < 20:
                continue
            d = 4 * sum(h[-5:]) - sum(h[-20:])
            pos = broker.positions[i]
            if d_prev[i] is not None:
                if d_prev[i] <= 0 < d and pos == 0:
                    broker.submit(i, 100, int(ts[k]) + MIN, "sma", float(closes[k]))
                elif d_prev[i] >= 0 > d and pos == 100:
                    broker.submit(i, -100, int(ts[k]) + MIN, "sma", float(closes[k]))
            d_prev[i] = d
            del h[:-20]
    trades = [
        {
            "symbol": t.symbol,
            "entry_time": iso(t.entry_time),
            "entry_price": t.entry_price,
            "exit_time": iso(t.exit_time),
            "exit_price": t.exit_price,
        }
        for t in broker.trades
    ]
    return trades, len(broker.open_positions())


def _reference(df: pd.DataFrame, ref) -> tuple[list[dict], int]:
    trades: list[dict] = []
    open_pos = 0
    for sym, g in df.groupby("symbol", sort=True):
        o = np.round(g["open"].to_numpy() * 100).astype(np.int64).tolist()
        c = np.round(g["close"].to_numpy() * 100).astype(np.int64).tolist()
        open_pos += (
            ref.run_symbol(str(sym), g["timestamp"].dt.as_unit("ns").astype("int64").to_numpy(), o, c, trades)
            != 0
        )
    return trades, open_pos


@pytest.mark.parametrize(("symbols", "days", "gap_frac"), [(3, 3, 0.0), (4, 3, 0.05)])
def test_broker_reproduces_the_reference_trade_list(symbols, days, gap_frac):
    make_bars, ref, common = _bench_modules()
    df = make_bars.make_bars(symbols, days, seed=42, gap_frac=gap_frac)
    got, got_open = _broker_trades(df, common.iso)
    want, want_open = _reference(df, ref)
    assert len(want) > 10
    assert common.canonical_trades(got) == common.canonical_trades(want)
    assert got_open == want_open


def test_broker_matches_the_published_digest_of_case_a():
    make_bars, _ref, common = _bench_modules()
    df = make_bars.make_bars(1, 20, seed=42)
    got, open_at_end = _broker_trades(df, common.iso)
    canonical = common.canonical_trades(got)
    assert (len(canonical), open_at_end) == (250, 0)
    assert common.trades_digest(canonical) == "10a62e35c9258490"


def test_buying_power_taken_from_the_equity_point_equals_a_fresh_computation():
    """on_bar_time caches the account capacity from the equity point's dot products; every later
    buying-power figure (after fills, with longs and shorts, margin 2) must equal the one computed
    from scratch, to the bit."""
    rng = np.random.default_rng(3)
    n = 40
    broker = SimulatedBroker([f"S{i}" for i in range(n)],
                             ExecutionConfig(starting_cash=1e6, margin_multiplier=2.0, allow_short=True,
                                             commission_per_share=0.005, commission_min=1.0))
    idx = np.arange(n, dtype=np.int64)

    def fresh() -> float:
        last = broker._last_price
        return broker._multiplier * (broker._cash + broker._positions.dot(last)) - broker._abs_positions.dot(last)

    for k in range(60):
        o = np.round(50 + rng.random(n) * 50, 2)
        c = np.round(o + rng.normal(0, 0.5, n), 2)
        broker.on_bar_time(1_700_000_000_000_000_000 + k * 60_000_000_000, idx, o, c)
        cached = broker._capacity_cache
        assert cached is not None and cached == fresh() and type(cached) is type(fresh())
        assert broker.buying_power() == fresh() - broker._reserved_total()
        for i in rng.choice(n, 5, replace=False).tolist():
            broker.submit(i, float(rng.choice([-100.0, 100.0, 50.0])), 0, "test", float(c[i]))
        assert broker.buying_power() == fresh() - broker._reserved_total()
