"""The README keeps its promises: two set-up commands first, CI runs the second, the strategy
example runs, and the config reference covers every field of the config."""

from __future__ import annotations

import re
from pathlib import Path

from workstation.config import validate_config_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str = "") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_first_block_has_exactly_the_two_setup_commands_and_ci_runs_the_second():
    first = re.search(r"```[a-z]*\n(.*?)```", README, flags=re.S).group(1)
    lines = [ln for ln in first.splitlines() if ln.strip()]
    assert lines == ["bash scripts/start.sh", "bash scripts/test.sh"]
    for line in lines:
        assert (ROOT / line.split()[1]).exists()
    assert lines[1] in (ROOT / ".ci" / "run").read_text()


def test_config_reference_lists_every_field():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_reference.py")], capture_output=True,
                         text=True, check=True).stdout
    for row in out.splitlines()[2:]:
        assert row in README, f"README config reference is stale; rerun scripts/config_reference.py: {row}"


def test_strategy_example_runs(tmp_path):
    code = next(b for b in _blocks("python") if "class Breakout" in b)
    module = tmp_path / "readme_breakout.py"
    module.write_text(code, encoding="utf-8")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        from workstation.store import BarStore, generate_demo
        from workstation.system import SystemManager

        generate_demo(tmp_path / "store", symbols=2, seed=4)
        cfg = validate_config_dict({
            "name": "readme example", "symbols": ["ACME", "BOLT"],
            "backtest": {"start_date": "2024-11-25", "end_date": "2024-11-26"},
            "historical": {"trailing_days": 0, "warmup_bars": 0},
            "strategies": [{"name": "breakout", "class_path": "readme_breakout:Breakout",
                            "params": {"lookback": 30}}],
            "risk": {"min_quality_pct": 0},
        })
        system = SystemManager(cfg, store=BarStore(tmp_path / "store"))
        system.start()
        assert system.wait(60) and system.error is None
        s = system.summary()
        assert s["strategy_errors"] == {"breakout": 0}
        assert s["signals"] > 0
    finally:
        sys.path.remove(str(tmp_path))


def test_the_duckdb_recipes_read_the_store_and_a_run_folder(tmp_path, monkeypatch):
    """The README's DuckDB lines, as written, read what pandas reads (store and run folder)."""
    import pandas as pd
    import pytest

    duckdb = pytest.importorskip("duckdb")
    from workstation.cli import main as cli_main
    from workstation.config import save_config
    from workstation.store import generate_demo

    store_sql = re.search(r"# DuckDB: (SELECT .*)$", README, flags=re.M).group(1)
    run_expr = re.search(r"DuckDB with `(read_parquet\('run/bars\.parquet/\*\.parquet'\))`", README).group(1)
    monkeypatch.chdir(tmp_path)  # the recipes use the default relative paths data/store and run/
    generate_demo(Path("data/store"), symbols=2, days=3, seed=6)
    cfg = validate_config_dict({
        "name": "duckdb recipe", "symbols": ["ACME", "BOLT"],
        "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-05"},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}],
        "risk": {"min_quality_pct": 0},
    })
    save_config(cfg, Path("c.json"))
    assert cli_main(["run", "c.json", "--store", "data/store", "--out", "run"]) == 0

    store_df = duckdb.sql(store_sql).df()
    expected = pd.read_parquet("data/store/bars")  # every interval: the 1m and the 1d bars
    assert set(expected["interval"].astype(str)) == {"1m", "1d"}
    assert len(store_df) == len(expected) > 0
    assert set(store_df["symbol"]) == {"ACME", "BOLT"} and {"interval", "period"} <= set(store_df.columns)
    assert store_df.groupby("interval").size().to_dict() == expected.groupby("interval", observed=True).size(
    ).to_dict()
    run_df = duckdb.sql(f"SELECT * FROM {run_expr}").df()
    bars = pd.read_parquet("run/bars.parquet")
    assert len(run_df) == len(bars) > 0
    assert sorted(run_df.columns) == sorted(bars.columns)


def test_the_polars_recipe_reads_the_whole_store(tmp_path, monkeypatch):
    import pandas as pd
    import pytest

    pl = pytest.importorskip("polars")
    from workstation.store import generate_demo

    line = re.search(r"# polars: (pl\.read_parquet\(.*\))$", README, flags=re.M).group(1)
    monkeypatch.chdir(tmp_path)
    generate_demo(Path("data/store"), symbols=2, days=3, seed=6)
    frame = eval(line, {"pl": pl})  # the README's line as written
    expected = pd.read_parquet("data/store/bars")
    assert frame.height == len(expected) > 0
    assert sorted(frame["interval"].unique().to_list()) == ["1d", "1m"]
    assert frame.filter(pl.col("interval") == "1m")["period"].str.len_chars().unique().to_list() == [10]


def test_the_python_api_example_runs(tmp_path, monkeypatch):
    """The README's notebook example, as written, on the demo data (its config and dates)."""
    import shutil

    from workstation.store import generate_demo

    code = next(b for b in _blocks("python") if "workstation.run(" in b)
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "session_configs", tmp_path / "session_configs")
    generate_demo(Path("data/store"), symbols=5, days=12, seed=7)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.config["symbols"] == ["ACME", "BOLT"]
    assert result.config["strategies"][0]["params"]["fast"] == 10
    assert result.stats["sessions"] == 4 and len(result.trades) > 0
    assert len(namespace["daily"]) == 4
    html = (tmp_path / "runs" / "notebook-report.html").read_text(encoding="utf-8")
    assert "<svg" in html and result.name in html


def test_the_keys_table_lists_every_shortcut():
    from ui.shortcuts import CHART, SHORTCUTS, TRADING, WINDOW

    for s in SHORTCUTS:
        keys = " ".join(f"`{k}`" for k in s.keys)
        where = {WINDOW: "window", TRADING: "trading", CHART: "chart"}[s.scope]
        row = f"| {keys} | {s.description} | {where} |"
        assert row in README, f"README keys table lacks or misstates: {row}"
