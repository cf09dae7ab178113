"""The built-in sma_crossover (5/20 on 1m closes) gives exactly the trade list of the plain
reference loop of ../shared/bench and of backtrader, on synthetic, gapped and real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.runhelpers import canonical, crossover_config, run_to_end, store_from_frame
from workstation.store import import_files


def reference_trades(df: pd.DataFrame, ref) -> tuple[list[dict], int]:
    """Trades of reference_trades.run_symbol on each symbol's own bar sequence."""
    trades: list[dict] = []
    open_pos = 0
    df = df.sort_values(["symbol", "timestamp"], kind="mergesort")
    for sym, g in df.groupby("symbol", sort=True):
        ts = g["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
        o = np.round(g["open"].to_numpy() * 100).astype(np.int64).tolist()
        c = np.round(g["close"].to_numpy() * 100).astype(np.int64).tolist()
        open_pos += ref.run_symbol(str(sym), ts, o, c, trades) != 0
    return trades, open_pos


def backtrader_trades(df: pd.DataFrame) -> list[dict]:
    import backtrader as bt
    import peer_backtrader as pb

    frame = df.copy()
    frame["timestamp"] = frame["timestamp"].dt.tz_convert(None)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(1e9)
    cerebro.broker.setcommission(commission=0.0)
    for sym, g in frame.groupby("symbol", sort=True):
        g = g.set_index("timestamp")[["open", "high", "low", "close", "volume"]]
        cerebro.adddata(pb.TimedPandasData(dataname=g, name=str(sym)))
    cerebro.addstrategy(pb.SmaCross)
    return cerebro.run()[0].trades


def engine_trades(df: pd.DataFrame, tmp_path, bc, sessions, stage_threads: bool = True) -> tuple[list[dict], object]:
    store = store_from_frame(df, tmp_path / "store")
    symbols = sorted(df["symbol"].unique())
    cfg = crossover_config(symbols, sessions[0], sessions[-1])
    cfg["backtest"]["stage_threads"] = stage_threads
    system = run_to_end(cfg, store)
    return canonical(system.broker.trades, bc.iso), system


def _session_dates(df: pd.DataFrame) -> list:
    return sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())


@pytest.mark.parametrize("stage_threads", [True, False])
def test_case_a_matches_published_digest(bench_modules, tmp_path, stage_threads):
    make_bars, ref, bc = bench_modules
    df = make_bars.make_bars(1, 20, seed=42)
    ours, system = engine_trades(df, tmp_path, bc, _session_dates(df), stage_threads=stage_threads)
    assert len(ours) == 250
    assert bc.trades_digest(ours) == "10a62e35c9258490"
    assert system.summary()["bars_processed"] == 7800


def test_gapped_multi_symbol_matches_reference_and_backtrader(bench_modules, tmp_path):
    make_bars, ref, bc = bench_modules
    df = make_bars.make_bars(4, 4, seed=11, gap_frac=0.05)
    ours, system = engine_trades(df, tmp_path, bc, _session_dates(df))
    expected, open_pos = reference_trades(df, ref)
    expected = bc.canonical_trades(expected)
    assert len(expected) > 100
    assert ours == expected
    assert sum(1 for p in system.broker.positions if p != 0) == open_pos
    assert bc.canonical_trades(backtrader_trades(df)) == expected


def test_real_multi_symbol_with_gaps_matches_reference(bench_modules, real_dir, tmp_path):
    """UPRO, SRNE and SPY 2021 (thin, gapped real data; regular-hours bars only)."""
    _, ref, bc = bench_modules
    from workstation.store import BarStore

    raw = BarStore(tmp_path / "raw", create=True)
    files = [real_dir / "lumibot" / f for f in ("UPRO_Minute_2021.csv.gz", "SRNE_Minute.csv.gz",
                                                 "SPY_Minute_2021.csv.gz")]
    import_files(files, raw)
    start, end = "2021-07-01", "2021-08-13"
    bars = raw.read_bars(["SPY", "SRNE", "UPRO"], "1m", pd.Timestamp(start, tz="UTC").value,
                         pd.Timestamp("2021-08-14", tz="UTC").value, rth_only=True)
    # the semantics are defined on a $0.01 grid; these files have some sub-penny prices
    for col in ("open", "high", "low", "close"):
        bars[col] = np.round(bars[col] * 100) / 100
    assert bars["symbol"].nunique() == 3 and len(bars) > 15_000
    store = store_from_frame(bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]],
                             tmp_path / "real")
    system = run_to_end(crossover_config(["SPY", "SRNE", "UPRO"], start, end), store)
    ours = canonical(system.broker.trades, bc.iso)
    expected, _ = reference_trades(bars[["symbol", "timestamp", "open", "close"]], ref)
    expected = bc.canonical_trades(expected)
    assert len(expected) > 200
    assert ours == expected


@pytest.mark.parametrize("n_days", [3])
def test_demo_data_matches_reference(bench_modules, tmp_path, n_days):
    """On the demo generator's data (with its missing minutes and the early close)."""
    _, ref, bc = bench_modules
    from workstation.store import BarStore
    from workstation.store.demo import generate_demo

    generate_demo(tmp_path / "demo", symbols=3, seed=3)
    store = BarStore(tmp_path / "demo")
    symbols = store.symbols("1m")[:3]
    start, end = "2024-11-26", "2024-12-02"
    bars = store.read_bars(symbols, "1m", pd.Timestamp(start, tz="America/New_York").value,
                           pd.Timestamp("2024-12-03", tz="America/New_York").value, rth_only=True)
    system = run_to_end(crossover_config(symbols, start, end), store)
    ours = canonical(system.broker.trades, bc.iso)
    expected, _ = reference_trades(bars, ref)
    assert ours == bc.canonical_trades(expected)
    assert len(ours) > 20
