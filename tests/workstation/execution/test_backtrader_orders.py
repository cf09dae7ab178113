"""Fills of every order type equal backtrader's on the same bars: demo data and real gapped data.

A random, deterministic order plan (order_plans.py) is played by our whole engine (one run over all
symbols) and by backtrader (one feed per symbol: with several unaligned feeds backtrader re-tests a
working limit or stop order against a symbol's previous bar at times that symbol has no bar, which
would fill it on the bar it was made on; we never do). Every fill must agree: symbol, bar, signed
quantity and price.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.integration.runhelpers import run_to_end, store_from_frame
from tests.workstation.execution.order_plans import KINDS, backtrader_plan_fills
from workstation.store import BarStore, import_files

pytest.importorskip("backtrader")


def plan_config(symbols, start, end, seed: int, probability: float = 0.05, kinds=None) -> dict:
    params = {"seed": seed, "probability": probability}
    if kinds:
        params["kinds"] = list(kinds)
    return {
        "name": "order plan vs backtrader",
        "symbols": list(symbols),
        "streams": {"interval": "1m", "derived": [], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": False},
        "backtest": {"start_date": str(start), "end_date": str(end), "speed_multiplier": 0,
                     "stage_threads": False},
        "strategies": [{"name": "plan", "class_path": "tests.workstation.execution.order_plans:PlanStrategy",
                        "params": params}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "execution": {"starting_cash": 1e12, "allow_short": True},
    }


def our_fills(system) -> list[tuple]:
    return sorted((f.symbol, f.time, f.quantity, f.price) for f in system.broker.fills)


def their_fills(bars: pd.DataFrame, seed: int, probability: float, kinds=KINDS) -> list[tuple]:
    out: list[tuple] = []
    for symbol, frame in bars.groupby("symbol", sort=True):
        out.extend(backtrader_plan_fills(frame, str(symbol), seed, probability, tuple(kinds)))
    return sorted(out)


def assert_same_fills(ours: list[tuple], theirs: list[tuple]) -> None:
    assert len(ours) == len(theirs), f"{len(ours)} fills vs backtrader's {len(theirs)}; first difference: " + next(
        (f"ours {a} / backtrader {b}" for a, b in zip(ours, theirs, strict=False) if a[:3] != b[:3]
         or a[3] != pytest.approx(b[3], rel=1e-12)), "at the end")
    for a, b in zip(ours, theirs, strict=True):
        assert a[:3] == b[:3], f"ours {a} / backtrader {b}"
        assert a[3] == pytest.approx(b[3], rel=1e-12, abs=1e-12), f"ours {a} / backtrader {b}"


def _kinds_filled(system) -> set[str]:
    return {(o.order_type.value, o.role.value) for o in system.broker.orders() if o.status.value == "filled"}


def test_every_order_type_fills_as_backtrader_on_demo_data(tmp_path):
    from workstation.store.demo import generate_demo

    generate_demo(tmp_path / "demo", symbols=4, seed=5)
    store = BarStore(tmp_path / "demo")
    symbols = store.symbols("1m")[:4]
    start, end = "2024-11-25", "2024-12-03"          # holds the early close of 2024-11-29
    system = run_to_end(plan_config(symbols, start, end, seed=7), store)
    bars = store.read_bars(symbols, "1m", pd.Timestamp(start, tz="America/New_York").value,
                           pd.Timestamp("2024-12-04", tz="America/New_York").value, rth_only=True)
    ours = our_fills(system)
    assert_same_fills(ours, their_fills(bars, 7, 0.05))
    assert len(ours) > 150
    kinds = _kinds_filled(system)
    for expected in [("market", "single"), ("limit", "single"), ("stop", "single"), ("stop_limit", "single"),
                     ("trailing_stop", "single"), ("stop", "entry"), ("limit", "entry"), ("market", "entry"),
                     ("stop", "stop_loss"), ("limit", "take_profit")]:
        assert expected in kinds, f"the plan filled no {expected} order: the comparison would not cover it"
    statuses = {o.status.value for o in system.broker.orders()}
    assert {"filled", "cancelled", "expired"} <= statuses


def test_fills_equal_backtrader_on_real_gapped_data(real_dir, tmp_path):
    """UPRO, SRNE and SPY 2021 regular hours (thin, gapped, gap opens every morning)."""
    raw = BarStore(tmp_path / "raw", create=True)
    files = [real_dir / "lumibot" / f for f in ("UPRO_Minute_2021.csv.gz", "SRNE_Minute.csv.gz",
                                                 "SPY_Minute_2021.csv.gz")]
    import_files(files, raw)
    start, end = "2021-07-06", "2021-07-30"
    bars = raw.read_bars(["SPY", "SRNE", "UPRO"], "1m", pd.Timestamp(start, tz="UTC").value,
                         pd.Timestamp("2021-07-31", tz="UTC").value, rth_only=True)
    bars = bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]]
    gaps = bars.groupby("symbol")["timestamp"].diff().dt.total_seconds().gt(60).sum()
    assert gaps > 1000, "the real data should be gapped"
    store = store_from_frame(bars, tmp_path / "real")
    system = run_to_end(plan_config(["SPY", "SRNE", "UPRO"], start, end, seed=11, probability=0.06), store)
    ours = our_fills(system)
    assert_same_fills(ours, their_fills(bars, 11, 0.06))
    assert len(ours) > 150
    # gap opens: some stop and limit fills happened at the bar's open rather than at the order price
    opens = {(s, t): o for s, t, o in zip(bars["symbol"], bars["timestamp"].astype("int64"), bars["open"],
                                          strict=True)}
    at_open = [o for o in system.broker.orders() if o.status.value == "filled" and o.order_type.value != "market"
               and o.avg_fill_price == opens.get((o.symbol, o.status_time)) and
               o.avg_fill_price not in (o.limit_price, o.stop_price)]
    assert len(at_open) > 5


@pytest.fixture(scope="module")
def real_dir():
    from tests.shared_data import REAL, require_shared

    return require_shared(REAL, "../shared/data/real")


def test_the_plan_is_not_trivially_equal(tmp_path, monkeypatch):
    """Guard of the harness: a changed fill rule (stops fill at their stop even when the bar gapped
    through it) must make the comparison fail."""
    from workstation.execution import broker as broker_module
    from workstation.store.demo import generate_demo

    generate_demo(tmp_path / "demo", symbols=2, seed=5)
    store = BarStore(tmp_path / "demo")
    symbols = store.symbols("1m")[:2]
    start, end = "2024-11-25", "2024-11-27"
    bars = store.read_bars(symbols, "1m", pd.Timestamp(start, tz="America/New_York").value,
                           pd.Timestamp("2024-11-28", tz="America/New_York").value, rth_only=True)
    kinds = ("stop_marketable",)
    theirs = their_fills(bars, 3, 0.2, kinds)
    original = broker_module.SimulatedBroker._process_hits

    def stops_at_their_stop(self, ts_ns, hits, volume, fills, skip, prices):
        prices = dict(prices)
        for _row, oid, st, _price in hits:
            if st.stop_price is not None:
                prices[oid] = st.stop_price
        return original(self, ts_ns, hits, volume, fills, skip, prices)

    monkeypatch.setattr(broker_module.SimulatedBroker, "_process_hits", stops_at_their_stop)
    system = run_to_end(plan_config(symbols, start, end, seed=3, probability=0.2, kinds=kinds), store)
    assert system.broker.fills
    with pytest.raises(AssertionError):
        assert_same_fills(our_fills(system), theirs)
