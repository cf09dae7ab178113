"""The run-folder reader: every table read alike as one file or as a folder of parts, optional
tables absent or present, errors naming the file, and an engine-written run read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.errors import DataError
from workstation.execution.results import EQUITY_COLUMNS, TRADE_COLUMNS, equity_frame, trades_frame
from workstation.model.trading import Trade
from workstation.runs import RunFolder, load_run

MIN = 60_000_000_000
T0 = pd.Timestamp("2024-11-25 14:30", tz="UTC").value


def _trades(n: int = 6) -> list[Trade]:
    return [Trade(["AAA", "BBB"][k % 2], 100.0 if k % 3 else -50.0, T0 + (10 * k) * MIN, 10.0 + k,
                  T0 + (10 * k + 5) * MIN, 10.5 + k, 40.0 - 15 * k, 1.0, "sma") for k in range(n)]


def _equity(n: int = 60) -> pd.DataFrame:
    t = T0 + np.arange(n, dtype=np.int64) * MIN
    eq = 10_000 + np.cumsum(np.sin(np.arange(n)))
    return equity_frame(t, eq, eq, np.zeros(n), np.where(np.arange(n) % 4 == 0, 0.0, 500.0))


def _optional_tables() -> dict[str, pd.DataFrame]:
    t = pd.to_datetime(T0 + np.arange(4, dtype=np.int64) * MIN, unit="ns", utc=True)
    return {
        "signals": pd.DataFrame({"time": t, "symbol": ["AAA"] * 4, "strategy": ["sma"] * 4,
                                 "action": ["BUY", "SELL", "BUY", "SELL"], "quantity": [100.0] * 4,
                                 "price": [10.0, 10.5, 11.0, 10.8], "confidence": [1.0] * 4,
                                 "approved": [True, True, False, True], "reason": ["", "", "quality", ""],
                                 "kind": ["signal"] * 4}),
        "quality": pd.DataFrame({"session_date": ["2024-11-25", "2024-11-25", "2024-11-26", "2024-11-26"],
                                 "symbol": ["AAA", "BBB", "AAA", "BBB"], "interval": ["1m"] * 4,
                                 "expected": [390] * 4, "present": [390, 388, 389, 390],
                                 "quality_pct": [100.0, 388 / 3.9, 389 / 3.9, 100.0], "gaps": [0, 1, 1, 0],
                                 "missing": [0, 2, 1, 0]}),
        "bars": pd.DataFrame({"symbol": ["AAA"] * 4, "interval": ["1m"] * 4, "timestamp": t,
                              "open": [10.0, 10.1, 10.2, 10.3], "high": [10.2] * 4, "low": [9.9] * 4,
                              "close": [10.1, 10.2, 10.3, 10.1], "volume": [1000.0] * 4}),
        "orders": pd.DataFrame({"time": t, "symbol": ["AAA"] * 4, "quantity": [100.0, -100.0, 100.0, -100.0],
                                "type": ["market"] * 4, "status": ["filled"] * 4}),
        "fills": pd.DataFrame({"time": t, "symbol": ["AAA"] * 4, "quantity": [100.0, -100.0, 100.0, -100.0],
                               "price": [10.0, 10.5, 11.0, 10.8], "commission": [1.0] * 4}),
        "gaps": pd.DataFrame({"symbol": ["BBB", "AAA"], "interval": ["1m", "1m"],
                              "start": pd.to_datetime([T0 + 7 * MIN, T0 + 9 * MIN], unit="ns", utc=True),
                              "end": pd.to_datetime([T0 + 8 * MIN, T0 + 9 * MIN], unit="ns", utc=True),
                              "missing": [2, 1]}),
    }


def write_run(root: Path, *, parts: bool, optional: bool = True) -> Path:
    """A run folder whose tables are single files (`parts=False`) or folders of 2 parts each."""
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"name": "reader test", "timezone": "America/New_York",
                                                   "execution": {"starting_cash": 10_000}}))
    tables = {"trades": trades_frame(_trades()), "equity": _equity()}
    if optional:
        tables.update(_optional_tables())
    for name, frame in tables.items():
        target = root / f"{name}.parquet"
        if parts:
            target.mkdir()
            half = len(frame) // 2
            frame.iloc[:half].to_parquet(target / "part-0001.parquet", index=False)
            frame.iloc[half:].to_parquet(target / "part-0002.parquet", index=False)
        else:
            frame.to_parquet(target, index=False)
    return root


@pytest.mark.parametrize("table", ["trades", "equity", "signals", "quality", "bars", "orders", "fills", "gaps"])
def test_a_folder_of_parts_reads_as_the_single_file(tmp_path, table):
    single = load_run(write_run(tmp_path / "single", parts=False))
    split = load_run(write_run(tmp_path / "split", parts=True))
    a, b = getattr(single, table), getattr(split, table)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_times_are_utc_and_tables_sorted(tmp_path):
    res = load_run(write_run(tmp_path / "r", parts=True))
    for frame, cols in ((res.trades, ("entry_time", "exit_time")), (res.equity, ("time",)),
                        (res.signals, ("time",)), (res.bars, ("timestamp",)), (res.orders, ("time",)),
                        (res.gaps, ("start", "end"))):
        for c in cols:
            assert str(frame[c].dt.tz) == "UTC", c
    assert res.equity["time"].is_monotonic_increasing
    assert list(res.trades.columns) == list(TRADE_COLUMNS) and list(res.equity.columns) == list(EQUITY_COLUMNS)
    assert res.quality["session_date"].tolist()[0] == pd.Timestamp("2024-11-25").date()


def test_optional_tables_absent_read_as_empty_frames_with_their_columns(tmp_path):
    res = load_run(write_run(tmp_path / "r", parts=False, optional=False))
    assert sorted(res.missing_tables) == sorted(["signals", "quality", "bars", "orders", "fills", "gaps"])
    for name in ("signals", "quality", "bars", "orders", "fills", "gaps"):
        frame = getattr(res, name)
        assert frame.empty and len(frame.columns) > 0, name
    assert "time" in res.orders and "price" in res.fills and "quality_pct" in res.quality
    assert res.metrics is None and res.report is None and res.summary == {}


def test_dot_and_underscore_parts_are_ignored_and_an_empty_parts_folder_is_absent(tmp_path):
    run = write_run(tmp_path / "r", parts=True)
    (run / "fills.parquet" / ".part-0003.parquet.1234.tmp").write_bytes(b"half written")
    (run / "fills.parquet" / "_SUCCESS").write_bytes(b"")
    pd.DataFrame({"x": [1]}).to_parquet(run / "fills.parquet" / ".hidden.parquet")
    assert len(load_run(run).fills) == 4
    for p in (run / "gaps.parquet").iterdir():
        p.unlink()
    res = load_run(run)
    assert res.gaps.empty and "gaps" in res.missing_tables
    assert not RunFolder(run).has("gaps") and RunFolder(run).table("gaps") is None


def test_parts_with_a_column_all_null_in_one_part_concatenate(tmp_path):
    run = write_run(tmp_path / "r", parts=False, optional=False)
    (run / "signals.parquet").mkdir()
    sig = _optional_tables()["signals"]
    sig.iloc[:2].to_parquet(run / "signals.parquet" / "part-1.parquet", index=False)
    empty_reason = sig.iloc[2:].copy()
    empty_reason["reason"] = None
    empty_reason.to_parquet(run / "signals.parquet" / "part-2.parquet", index=False)
    got = load_run(run).signals
    assert len(got) == 4 and got["reason"].tolist()[:2] == ["", ""] and got["reason"].isna().sum() == 2


def test_a_run_still_being_written_reads_its_complete_parts(tmp_path):
    """trades and equity as folders whose first part is complete and whose second is still a temp file."""
    run = write_run(tmp_path / "r", parts=True, optional=False)
    (run / "equity.parquet" / "part-0002.parquet").rename(run / "equity.parquet" / ".part-0002.parquet.77.tmp")
    res = load_run(run)
    assert len(res.equity) == 30 and res.stats["final_equity"] == pytest.approx(res.equity["equity"].iloc[-1])


def test_errors_name_the_file_at_fault(tmp_path):
    run = write_run(tmp_path / "r", parts=True)
    (run / "quality.parquet" / "part-0002.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"quality.parquet/part-0002.parquet"):
        _ = load_run(run).quality
    pd.DataFrame({"time": [1]}).to_parquet(run / "bars.parquet" / "part-0001.parquet")
    with pytest.raises(DataError, match=r"bars.parquet/part-0001.parquet lacks column"):
        _ = load_run(run).bars
    (run / "metrics.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="metrics.json must hold a JSON object"):
        _ = load_run(run).metrics
    with pytest.raises(DataError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    (run / "config.json").unlink()
    with pytest.raises(DataError, match="has no config.json"):
        load_run(run)


def test_an_engine_written_run_reads_back_what_the_engine_computed(tmp_path, monkeypatch):
    """A real run (CLI) read back: trades, equity, quality and bars equal the engine's own files read by
    pandas, and the statistics equal metrics.json's (written by the engine from its own frames)."""
    from workstation.cli import main as cli_main
    from workstation.config import save_config, validate_config_dict
    from workstation.store import generate_demo

    generate_demo(tmp_path / "store", symbols=2, days=3, seed=5)
    cfg = validate_config_dict({
        "name": "read back", "symbols": ["ACME", "BOLT"],
        "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-05"},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}], "risk": {"min_quality_pct": 0},
    })
    save_config(cfg, tmp_path / "c.json")
    out = tmp_path / "run"
    assert cli_main(["run", str(tmp_path / "c.json"), "--store", str(tmp_path / "store"), "--out", str(out)]) == 0
    res = load_run(out)
    assert len(res.trades) == len(pd.read_parquet(out / "trades.parquet")) > 0
    assert len(res.bars) == len(pd.read_parquet(out / "bars.parquet")) > 0
    assert len(res.quality) == len(pd.read_parquet(out / "quality.parquet")) == 2 * 2 * 3
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("final_equity", "total_return_pct", "max_drawdown_pct", "trades", "win_rate_pct"):
        assert res.stats[key] == pytest.approx(metrics["statistics"][key]), key
    assert res.summary["state"] == "finished" and res.report.startswith("Backtest report")


def test_a_live_runs_gap_list_comes_from_gap_fills_json(tmp_path):
    """Without gaps.parquet, the gaps of a live run folder are its gap_fills.json list (times as UTC)."""
    run = write_run(tmp_path / "live", parts=False, optional=False)
    gaps = [{"symbol": "AAA", "interval": "1m", "start_ns": T0 + 5 * MIN, "end_ns": T0 + 7 * MIN, "missing": 3,
             "status": "filled", "retries": 1, "filled": 3},
            {"symbol": "BBB", "interval": "1m", "start_ns": T0 + 9 * MIN, "end_ns": T0 + 9 * MIN, "missing": 1,
             "status": "failed", "retries": 3, "filled": 0}]
    (run / "gap_fills.json").write_text(json.dumps({"gaps": gaps, "attempts": [], "fill_latency_ms": []}))
    res = load_run(run)
    assert res.gaps_recorded and "gaps" in res.missing_tables
    assert list(res.gaps["symbol"]) == ["AAA", "BBB"] and list(res.gaps["status"]) == ["filled", "failed"]
    assert res.gaps["start"].iloc[0] == pd.Timestamp(T0 + 5 * MIN, unit="ns", tz="UTC")
    assert res.gaps["end"].iloc[0] == pd.Timestamp("2024-11-25 14:37", tz="UTC")
    html = res.report_html()
    assert "2024-11-25 09:35" in html and "2024-11-25 09:37" in html  # shown in New York time
    assert "failed" in html and "gap list itself is not in this run folder" not in html
