"""workstation.run(): the same results as `workstation run` of the same config, overrides by path,
clear errors for bad ones, and --json on the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import workstation
from workstation.cli import main as cli_main
from workstation.config import save_config, validate_config_dict
from workstation.errors import ConfigError, WorkstationError

CONFIG = {
    "name": "api test", "symbols": ["ACME", "BOLT"],
    "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
    "backtest": {"start_date": "2024-12-02", "end_date": "2024-12-05"},
    "historical": {"trailing_days": 0, "warmup_bars": 0},
    "strategies": [{"name": "fast", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}},
                   {"name": "rsi", "class_path": "rsi_reversion", "symbols": ["ACME"], "interval": "5m"}],
    "risk": {"min_quality_pct": 0},
}


@pytest.fixture(scope="module")
def api_store(tmp_path_factory) -> Path:
    from workstation.store import generate_demo

    root = tmp_path_factory.mktemp("api") / "store"
    generate_demo(root, symbols=2, days=5, seed=21)
    return root


def test_run_equals_the_cli_run_of_the_same_overridden_config(api_store, tmp_path):
    result = workstation.run(CONFIG, store=api_store, out=tmp_path / "api", start="2024-12-03",
                             strategies__fast__params__slow=30, execution={"slippage_bps": 2.0},
                             risk__max_position_qty=500)
    assert isinstance(result, workstation.RunResults)
    cfg = result.config
    assert cfg["backtest"]["start_date"] == "2024-12-03" and cfg["strategies"][0]["params"] == {"fast": 5, "slow": 30}
    assert cfg["execution"]["slippage_bps"] == 2.0 and cfg["execution"]["starting_cash"] == 100_000.0
    assert cfg["risk"]["max_position_qty"] == 500
    save_config(validate_config_dict(cfg), tmp_path / "same.json")
    assert cli_main(["run", str(tmp_path / "same.json"), "--store", str(api_store), "--out",
                     str(tmp_path / "cli")]) == 0
    cli = workstation.load_run(tmp_path / "cli")
    assert len(result.trades) > 0
    pd.testing.assert_frame_equal(result.trades, cli.trades)
    pd.testing.assert_frame_equal(result.equity, cli.equity)
    assert result.stats == cli.stats
    for name in ("bars", "quality", "signals"):
        assert len(getattr(result, name)) == len(getattr(cli, name)) > 0, name
    assert result.summary["sessions_done"] == 3 and result.orders is not None
    page = result.report_html()
    assert page.startswith("<!DOCTYPE html>")
    written = result.report_html(tmp_path / "reports" / "api.html")     # given a path: written, its path back
    text = written.read_text(encoding="utf-8")
    assert written == tmp_path / "reports" / "api.html" and text.startswith("<!DOCTYPE html>") and "api test" in text
    assert "api test" in result._repr_html_()


def test_a_config_without_stage_threads_runs_in_one_thread_as_the_cli_runs_it(api_store, tmp_path):
    """`workstation run` and the window run a backtest that leaves stage_threads unset in one thread;
    workstation.run() does too, and a config or override that sets it is followed."""
    unset = workstation.run(CONFIG, store=api_store, out=tmp_path / "unset", end="2024-12-02")
    assert unset.config["backtest"]["stage_threads"] is False
    chosen = workstation.run(CONFIG, store=api_store, out=tmp_path / "chosen", end="2024-12-02",
                             backtest__stage_threads=True)
    assert chosen.config["backtest"]["stage_threads"] is True
    in_section = workstation.run(CONFIG, store=api_store, out=tmp_path / "section", end="2024-12-02",
                                 backtest={"stage_threads": True})
    assert in_section.config["backtest"]["stage_threads"] is True
    written = {**CONFIG, "backtest": {**CONFIG["backtest"], "stage_threads": True}}
    assert workstation.run(written, store=api_store, out=tmp_path / "written",
                           end="2024-12-02").config["backtest"]["stage_threads"] is True
    pd.testing.assert_frame_equal(unset.trades, chosen.trades)          # the same results either way


def test_list_items_by_position_symbols_and_speed(api_store, tmp_path):
    result = workstation.run(CONFIG, store=api_store, out=tmp_path / "r", symbols="BOLT",
                             strategies__0__params__fast=3, speed=0, write_bars=False, end="2024-12-02")
    assert result.config["symbols"] == ["BOLT"]
    assert result.config["strategies"][0]["params"]["fast"] == 3
    assert result.config["strategies"][1]["symbols"] == "all"  # cut to the run's symbols
    assert result.bars.empty and "bars" in result.missing_tables
    assert set(result.trades["symbol"]) <= {"BOLT"}


def test_bad_overrides_name_the_path(api_store, tmp_path):
    with pytest.raises(ConfigError, match=r"strategies.slowpoke.*no item named 'slowpoke'"):
        workstation.run(CONFIG, store=api_store, out=tmp_path / "x", strategies__slowpoke__params__fast=3)
    with pytest.raises(ConfigError, match=r"execution.starting_cash"):
        workstation.run(CONFIG, store=api_store, out=tmp_path / "x", execution__starting_cash=-5)
    with pytest.raises(ConfigError, match=r"no field 'exekution'"):
        workstation.run(CONFIG, store=api_store, out=tmp_path / "x", exekution__fill_rule="close")
    with pytest.raises(ConfigError, match=r"colour"):
        workstation.run(CONFIG, store=api_store, out=tmp_path / "x", colour="blue")
    live = {**CONFIG, "mode": "live"}
    with pytest.raises(WorkstationError, match="runs backtests"):
        workstation.run(live, store=api_store, out=tmp_path / "x")
    assert not (tmp_path / "x").exists(), "nothing is written for a refused run"


def test_default_run_folders_are_new_each_time(api_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_config(validate_config_dict(CONFIG), tmp_path / "my_config.json")
    a = workstation.run("my_config.json", store=api_store, end="2024-12-02")
    b = workstation.run(Path("my_config.json"), store=api_store, end="2024-12-02")
    assert a.run_dir != b.run_dir and a.run_dir.parent == Path("runs")
    assert a.run_dir.name.startswith("my_config-") and b.run_dir.name.startswith("my_config-")
    pd.testing.assert_frame_equal(a.trades, b.trades)


# ---------------------------------------------------------------------- --json on the CLI
def test_validate_json_ok_and_problems(api_store, tmp_path, capsys):
    save_config(validate_config_dict(CONFIG), tmp_path / "ok.json")
    assert cli_main(["validate", str(tmp_path / "ok.json"), "--store", str(api_store), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["symbols"] == ["ACME", "BOLT"] and doc["strategies"] == ["fast", "rsi"]
    bad = {**CONFIG, "execution": {"starting_cash": -1}, "symbols": []}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert cli_main(["validate", str(tmp_path / "bad.json"), "--json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    fields = {p["field"] for p in doc["problems"]}
    assert doc["ok"] is False and doc["kind"] == "ConfigError"
    assert "execution.starting_cash" in fields and "symbols" in fields
    assert f"has {len(doc['problems'])} problems:" in captured.err  # the human message still goes to stderr


def test_store_info_and_run_json(api_store, tmp_path, capsys):
    assert cli_main(["store", "info", "--store", str(api_store), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["symbols"] == ["ACME", "BOLT"] and info["intervals"]["1m"]["dates"] == 5
    save_config(validate_config_dict(CONFIG), tmp_path / "c.json")
    assert cli_main(["run", str(tmp_path / "c.json"), "--store", str(api_store), "--out", str(tmp_path / "r"),
                     "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert doc["ok"] is True and doc["run_dir"] == str(tmp_path / "r")
    assert doc["statistics"]["trades"] == metrics["statistics"]["trades"]
    assert doc["summary"]["sessions_done"] == 4
    assert cli_main(["store", "info", "--store", str(tmp_path / "nowhere"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["kind"] == "StoreError"


def test_json_output_handles_numpy_pandas_nan_and_dates():
    import datetime as dt

    import numpy as np

    from workstation.json_output import dumps

    text = dumps({"a": np.float64("nan"), "b": np.int64(3), "c": [np.inf, 1.5], "d": dt.date(2024, 1, 2),
                  "e": pd.Timestamp("2024-01-02 14:30", tz="UTC"), "f": Path("x/y"), 7: pd.NaT,
                  "g": pd.DataFrame({"x": [1, 2]})})
    assert json.loads(text) == {"a": None, "b": 3, "c": [None, 1.5], "d": "2024-01-02",
                                "e": "2024-01-02T14:30:00+00:00", "f": "x/y", "7": None, "g": [{"x": 1}, {"x": 2}]}


def test_import_workstation_and_its_sweep_import_neither_qt_nor_ray(tmp_path):
    import subprocess
    import sys

    code = ("import sys, workstation\n"
            "assert callable(workstation.sweep) and workstation.SweepResults.__name__ == 'SweepResults'\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'PySide6', 'pyqtgraph', 'shiboken6'))\n"
            "print(loaded)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_bad_sweep_is_refused_before_ray_starts_and_writes_nothing(api_store, tmp_path):
    cfg = {**CONFIG, "data_source": {"store_path": str(api_store)}}
    out = tmp_path / "sweep"
    with pytest.raises(ConfigError, match="fastt"):
        workstation.sweep(cfg, {"strategies.fast.params.fastt": [3, 5]}, out=out, progress=False)
    with pytest.raises(ConfigError, match="params"):
        workstation.sweep(cfg, {}, out=out)
    with pytest.raises(ConfigError, match="'slow' is not a swept parameter"):
        workstation.sweep(cfg, {"strategies__fast__params__fast": [30, 40]}, constraint="fast < slow", out=out)
    with pytest.raises(ConfigError, match="workers"):
        workstation.sweep(cfg, {"strategies__fast__params__fast": [3, 4]}, workers=0, out=out)
    assert not out.exists()
