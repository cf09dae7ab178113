"""Whole backtest runs: derived bars, quality, determinism, no look-ahead, error isolation,
bad input, run control and the headless CLI."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pytest

from tests.integration import strategies_for_tests as sft
from tests.integration.runhelpers import crossover_config, run_to_end
from workstation.calendar import TimeManager
from workstation.cli import main as cli_main
from workstation.config import validate_config_dict
from workstation.errors import ConfigError, StoreError, StrategyError
from workstation.store import BarStore, generate_demo, import_files
from workstation.system import SystemManager

NY = "America/New_York"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("demo") / "store"
    generate_demo(root, symbols=3, seed=5)
    return BarStore(root)


def _collect_bars(system_events: dict):
    """Subscribe to session_end and copy every session's bars of every interval."""
    frames = []

    def on_end(_kind, payload, holder=system_events):
        sd = holder["system"].session_data
        for iv in sd.intervals:
            for sym in sd.symbols:
                b = sd.bars(sym, iv)
                if len(b.timestamp):
                    frames.append(pd.DataFrame({"symbol": sym, "interval": iv, "timestamp": np.array(b.timestamp),
                                                "open": np.array(b.open), "high": np.array(b.high),
                                                "low": np.array(b.low), "close": np.array(b.close),
                                                "volume": np.array(b.volume)}))
    return frames, on_end


def _run_collect(cfg_dict, store, speed=None, control=None):
    cfg = validate_config_dict(cfg_dict)
    system = SystemManager(cfg, store=store)
    holder = {"system": system}
    frames, on_end = _collect_bars(holder)
    decisions = []
    system.events.subscribe("session_end", on_end)
    system.events.subscribe("decision", lambda _k, d: decisions.append(
        (d.signal.time, d.signal.symbol, d.signal.action.value, d.signal.quantity, d.approved, d.reason)))
    if control is not None:
        control(system)
    else:
        system.start()
    assert system.wait(120)
    assert system.error is None, system.error
    bars = pd.concat(frames, ignore_index=True).sort_values(["interval", "symbol", "timestamp"]).reset_index(drop=True)
    trades = [(t.symbol, t.entry_time, t.entry_price, t.exit_time, t.exit_price) for t in system.broker.trades]
    return system, bars, decisions, trades


def _demo_cfg(symbols, start, end, **over):
    cfg = crossover_config(symbols, start, end, derived=["5m", "15m", "60m"], indicators=["sma(20)", "rsi(14)"])
    cfg["risk"] = {"min_quality_pct": 90, "min_confidence": 0.5, "max_position_qty": 1000}
    cfg["execution"].update({"commission_per_share": 0.005, "commission_min": 1.0, "slippage_bps": 1.0})
    cfg.update(over)
    return cfg


def _expected_resample(minute: pd.DataFrame, interval: str, tm: TimeManager) -> pd.DataFrame:
    """pandas resampling of 1m bars anchored at each session's open and cut at its close."""
    out = []
    for (sym, day), g in minute.assign(day=pd.to_datetime(minute["timestamp"], utc=True).dt.tz_convert(NY).dt.date
                                       ).groupby(["symbol", "day"]):
        sess = tm.session(day)
        s = g.set_index(pd.to_datetime(g["timestamp"], utc=True))
        s = s[(s.index >= sess.open_utc) & (s.index < sess.close_utc)]
        r = s.resample(interval.replace("m", "min"), origin=sess.open_utc, closed="left", label="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna(subset=["open"])
        r = r.reset_index().rename(columns={"index": "timestamp"})
        r["timestamp"] = r["timestamp"].astype("int64")
        r["symbol"] = sym
        out.append(r)
    return pd.concat(out, ignore_index=True)


def test_derived_bars_equal_pandas_resampling(demo_store):
    """Normal days, the early close 2024-11-29 and the DST week of 2024-11-03."""
    syms = demo_store.symbols("1m")[:3]
    tm = TimeManager()
    for start, end in (("2024-10-31", "2024-11-05"), ("2024-11-27", "2024-12-02")):
        system, bars, _, _ = _run_collect(_demo_cfg(syms, start, end), demo_store)
        minute = bars[bars["interval"] == "1m"].copy()
        minute["timestamp"] = pd.to_datetime(minute["timestamp"], utc=True)
        for iv in ("5m", "15m", "60m"):
            ours = bars[bars["interval"] == iv].sort_values(["symbol", "timestamp"]).reset_index(drop=True)
            exp = _expected_resample(minute, iv, tm).sort_values(["symbol", "timestamp"]).reset_index(drop=True)
            assert len(ours) == len(exp), (iv, start)
            np.testing.assert_array_equal(ours["timestamp"].to_numpy(), exp["timestamp"].to_numpy())
            for col in ("open", "high", "low", "close", "volume"):
                np.testing.assert_allclose(ours[col].to_numpy(), exp[col].to_numpy(), rtol=0, atol=1e-9)
        if start == "2024-11-27":
            early = pd.Timestamp("2024-11-29 12:30", tz=NY).value
            last60 = bars[(bars["interval"] == "60m") & (bars["timestamp"] >= early)
                          & (bars["timestamp"] < pd.Timestamp("2024-11-30", tz=NY).value)]
            assert len(last60) == len(syms)           # the 12:30-13:00 bar ends early at the close
            last15 = bars[(bars["interval"] == "15m") & (bars["timestamp"] < pd.Timestamp("2024-11-30", tz=NY).value)
                          & (bars["timestamp"] >= pd.Timestamp("2024-11-29", tz=NY).value)]
            assert pd.Timestamp(last15["timestamp"].max(), tz="UTC").tz_convert(NY).strftime("%H:%M") == "12:45"
        else:
            normal = bars[(bars["interval"] == "15m") & (bars["timestamp"] >= pd.Timestamp("2024-11-04", tz=NY).value)
                          & (bars["timestamp"] < pd.Timestamp("2024-11-05", tz=NY).value)]
            assert pd.Timestamp(normal["timestamp"].max(), tz="UTC").tz_convert(NY).strftime("%H:%M") == "15:45"


def test_quality_matches_stats_on_real_files(real_dir, tmp_path):
    stats = pd.read_csv(real_dir / "stats" / "rth_minutes_by_symbol_day.csv")
    store = BarStore(tmp_path / "s", create=True)
    import_files([real_dir / "lumibot" / "UPRO_Minute.csv.gz"], store)
    import_files([real_dir / "market_prices" / "MSFT_T1.csv.gz"], store)
    rows = []
    for sym, start, end in (("UPRO", "2020-10-01", "2020-11-30"), ("MSFT", "2022-05-18", "2022-06-15")):
        cfg = crossover_config([sym], start, end)
        cfg["gap_filler"] = {"enable_session_quality": True}
        run_to_end(cfg, store, subscribe={"session_end": lambda _k, p: rows.extend(p["quality_rows"])})
    got = pd.DataFrame([r for r in rows if r["interval"] == "1m"])
    got["date"] = got["session_date"].astype(str)
    exp = stats[stats["session"] != "closed"][["symbol", "date", "rth_expected", "rth_bars", "file"]]
    exp = exp[exp["file"].isin(["lumibot/UPRO_Minute.csv.gz", "market_prices/MSFT_T1.csv.gz"])]
    merged = got.merge(exp, on=["symbol", "date"], how="inner")
    assert len(merged) >= 60
    np.testing.assert_array_equal(merged["expected"], merged["rth_expected"])
    np.testing.assert_array_equal(merged["present"], merged["rth_bars"])
    np.testing.assert_allclose(merged["quality_pct"], 100.0 * merged["rth_bars"] / merged["rth_expected"])
    early = merged[(merged["symbol"] == "UPRO") & (merged["date"] == "2020-11-27")].iloc[0]
    assert (early["expected"], early["present"]) == (210, 84)


def test_determinism_across_speeds_pauses_and_steps(demo_store):
    syms = demo_store.symbols("1m")[:3]
    cfg = _demo_cfg(syms, "2024-11-27", "2024-11-29")
    _, bars0, dec0, trades0 = _run_collect(cfg, demo_store)
    assert len(dec0) > 10 and len(trades0) > 3

    fast = dict(cfg, backtest=dict(cfg["backtest"], speed_multiplier=200000))
    _, bars1, dec1, trades1 = _run_collect(fast, demo_store)

    def control(system):
        system.start()
        for _ in range(5):
            system.pause()
            time.sleep(0.01)
            system.step()
            system.step()
            time.sleep(0.01)
            system.resume()
            time.sleep(0.02)
    _, bars2, dec2, trades2 = _run_collect(cfg, demo_store, control=control)
    pd.testing.assert_frame_equal(bars0, bars1)
    pd.testing.assert_frame_equal(bars0, bars2)
    assert dec0 == dec1 == dec2
    assert trades0 == trades1 == trades2


def test_no_look_ahead(demo_store):
    syms = demo_store.symbols("1m")[:3]
    cfg = _demo_cfg(syms, "2024-11-29", "2024-12-02")
    cfg["strategies"] = [
        {"name": "rec1m", "class_path": "tests.integration.strategies_for_tests:ClockRecorder",
         "params": {"key": "la1"}, "interval": "1m"},
        {"name": "rec15m", "class_path": "tests.integration.strategies_for_tests:ClockRecorder",
         "params": {"key": "la15"}, "interval": "15m"},
    ]
    run_to_end(cfg, demo_store)
    for key, length in (("la1", 60), ("la15", 900)):
        rec = sft.RECORDS[key]
        assert len(rec) > 100 // (length // 60)
        for now, newest_end, bar_start, _sym in rec:
            assert newest_end is not None and newest_end <= now
            assert bar_start + length * 1_000_000_000 <= now


def test_raising_strategy_is_isolated(demo_store, tmp_path):
    syms = demo_store.symbols("1m")[:2]
    cfg = _demo_cfg(syms, "2024-11-26", "2024-11-26")
    cfg["strategies"].append({"name": "bad", "class_path": "tests.integration.strategies_for_tests:AlwaysRaises"})
    errors = []
    system = run_to_end(cfg, demo_store, subscribe={"error": lambda _k, e: errors.append(e)})
    s = system.summary()
    assert s["strategy_errors"]["bad"] == s["bars_processed"]
    assert s["strategy_errors"]["sma_5_20"] == 0
    assert s["signals"] > 0 and s["state"] == "finished"
    assert errors and "boom on" in errors[0]["message"]


@pytest.mark.parametrize("mutate, exc, text", [
    (lambda c: c.update(symbols=["ZZZZ"]), StoreError, "ZZZZ"),
    (lambda c: c["backtest"].update(start_date="2024-11-28", end_date="2024-11-28"), ConfigError, "no trading days"),
    (lambda c: c["strategies"].append({"name": "x", "class_path": "no_such_pkg.mod:Cls"}), StrategyError,
     "no_such_pkg.mod"),
    (lambda c: c["strategies"].append({"name": "x", "class_path": "tests.integration.strategies_for_tests:FailsInInit"}),
     StrategyError, "refuses to start"),
    (lambda c: c["strategies"].append({"name": "x", "class_path": "tests.integration.strategies_for_tests:NotAStrategy"}),
     StrategyError, "not a subclass"),
])
def test_bad_input_fails_before_start(demo_store, mutate, exc, text):
    syms = demo_store.symbols("1m")[:2]
    cfg = _demo_cfg(syms, "2024-11-26", "2024-11-27")
    mutate(cfg)
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(exc, match=text):
        SystemManager(validate_config_dict(cfg), store=demo_store)
    assert {t.name for t in threading.enumerate()} <= before | {"QueueLoader_0"}


def test_store_with_holes_runs_and_reports_missing_sessions(tmp_path, demo_store):
    syms = demo_store.symbols("1m")[:2]
    df = demo_store.read_bars(syms, "1m", pd.Timestamp("2024-11-25", tz=NY).value,
                              pd.Timestamp("2024-11-28", tz=NY).value)
    hole = (df["symbol"] == syms[1]) & (df["timestamp"].dt.tz_convert(NY).dt.date == dt.date(2024, 11, 26))
    store = BarStore(tmp_path / "holes", create=True)
    store.write_bars(df[~hole], "1m")
    rows = []
    system = run_to_end(_demo_cfg(syms, "2024-11-25", "2024-11-27"), store,
                        subscribe={"session_end": lambda _k, p: rows.extend(p["quality_rows"])})
    assert system.summary()["missing_sessions"] == {syms[1]: ["2024-11-26"]}
    q = [r for r in rows if r["symbol"] == syms[1] and str(r["session_date"]) == "2024-11-26" and r["interval"] == "1m"]
    assert q[0]["present"] == 0 and q[0]["quality_pct"] == 0.0


def test_control_step_pause_speed_stop(demo_store):
    syms = demo_store.symbols("1m")[:2]
    cfg = validate_config_dict(_demo_cfg(syms, "2024-11-25", "2024-12-03"))
    system = SystemManager(cfg, store=demo_store)
    system.control.pause()
    system.start()
    deadline = time.time() + 10
    while system.clock.now_ns() < system.sessions[0].open_ns or system.coordinator.current_session is None:
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(0.05)
    t0 = system.clock.now_ns()
    bars0 = system.bars_processed
    system.step()
    while system.bars_processed == bars0:
        assert time.time() < deadline
        time.sleep(0.005)
    time.sleep(0.05)
    assert system.clock.now_ns() - t0 == 60_000_000_000      # exactly one bar time
    assert system.bars_processed - bars0 <= len(syms)
    system.set_speed(600)                                      # clock-driven: 0.1 s per bar time
    system.resume()
    time.sleep(0.35)
    c1 = system.clock.now_ns()
    time.sleep(0.5)
    minutes = (system.clock.now_ns() - c1) / 60e9
    assert 2 <= minutes <= 8
    system.set_speed(0)
    time.sleep(0.2)
    assert (system.clock.now_ns() - c1) / 60e9 > 50
    t_stop = time.perf_counter()
    assert system.stop(timeout=1.0)
    assert time.perf_counter() - t_stop < 1.5
    names = {"SessionCoordinator", "DataProcessor", "AnalysisEngine", "DataQualityManager"}
    assert not system.alive_threads()
    assert not [t for t in threading.enumerate() if t.name in names and t.is_alive()]


def test_jump_to_date_warms_up_again(demo_store):
    syms = demo_store.symbols("1m")[:2]
    cfg = validate_config_dict(_demo_cfg(syms, "2024-11-25", "2024-12-03", historical={
        "trailing_days": 2, "warmup_bars": 100, "indicators": [], "enable_quality": True}))
    system = SystemManager(cfg, store=demo_store)
    system.start()
    time.sleep(0.05)
    new = system.jump_to("2024-12-02")
    assert new.sessions[0].date == dt.date(2024, 12, 2)
    new.start()
    assert new.wait(60) and new.error is None
    assert new.summary()["sessions_done"] == 2
    bank = new.processor.indicators.get("1m", "sma(20)")
    assert bank.ready.all()


def test_cli_run_writes_run_folder(demo_store, tmp_path, capsys):
    import json

    from workstation.config import save_config

    syms = demo_store.symbols("1m")[:2]
    cfg = validate_config_dict(_demo_cfg(syms, "2024-11-25", "2024-11-27"))
    path = save_config(cfg, tmp_path / "c.json")
    out = tmp_path / "run"
    code = cli_main(["run", str(path), "--store", str(demo_store.root), "--out", str(out), "--end", "2024-11-26",
                     "--symbols", syms[0]])
    assert code == 0
    text = capsys.readouterr().out
    assert "Backtest report" in text and "bars/s" in text
    for name in ("config.json", "bars.parquet", "quality.parquet", "signals.parquet", "trades.parquet",
                 "equity.parquet", "metrics.json", "report.txt"):
        assert (out / name).exists(), name
    resolved = json.loads((out / "config.json").read_text())
    assert resolved["symbols"] == [syms[0]] and resolved["backtest"]["end_date"] == "2024-11-26"
    bars = pd.read_parquet(out / "bars.parquet")
    assert set(bars["interval"]) == {"1m", "5m", "15m", "60m"}
    assert set(bars["symbol"]) == {syms[0]}
    q = pd.read_parquet(out / "quality.parquet")
    assert len(q) == 2 * 4
    sig = pd.read_parquet(out / "signals.parquet")
    assert {"time", "symbol", "strategy", "action", "quantity", "price", "confidence", "approved", "reason"} <= set(sig)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["summary"]["sessions_done"] == 2 and len(metrics["sessions"]) == 2


def test_cli_run_bad_config_message(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "symbols": ["A"], "backtest": {"start_date": "2024-01-05", "end_date": "2024-01-02"},'
                   ' "risk": {"min_confidence": 3}, "bogus": 1}')
    assert cli_main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "backtest" in err and "risk.min_confidence" in err and "bogus" in err


def test_single_threaded_run_is_identical_and_starts_no_stage_threads(demo_store):
    syms = demo_store.symbols("1m")[:3]
    cfg = _demo_cfg(syms, "2024-11-27", "2024-11-29")
    _, bars0, dec0, trades0 = _run_collect(cfg, demo_store)
    single = dict(cfg, backtest=dict(cfg["backtest"], stage_threads=False))
    started: list[str] = []

    def control(system):
        system.start()
        started.extend(t.name for t in threading.enumerate())
        for _ in range(3):
            system.pause()
            system.step()
            system.resume()

    system, bars1, dec1, trades1 = _run_collect(single, demo_store, control=control)
    pd.testing.assert_frame_equal(bars0, bars1)
    assert dec0 == dec1 and trades0 == trades1
    assert not {"DataProcessor", "AnalysisEngine", "DataQualityManager"} & set(started)
    assert system.metrics.stat("processor.event").count >= 600          # 390 + 210 bar times
    assert not system.alive_threads()
