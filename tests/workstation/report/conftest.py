"""Run folders made by the engine for the report tests: one demo store, two runs that differ in the
SMA lengths (for compare), written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

SYMBOLS = ["ACME", "BOLT", "CYRX"]


def make_config(name: str, fast: int, slow: int) -> dict:
    return {
        "name": name, "symbols": SYMBOLS,
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
        "backtest": {"start_date": "2024-11-25", "end_date": "2024-12-03", "stage_threads": False},
        "historical": {"trailing_days": 2, "warmup_bars": 50},
        "strategies": [{"name": "sma", "class_path": "sma_crossover",
                        "params": {"fast": fast, "slow": slow, "quantity": 100}}],
        "risk": {"min_quality_pct": 0},
        "execution": {"commission_per_share": 0.005, "commission_min": 1.0, "starting_cash": 100_000},
    }


@pytest.fixture(scope="session")
def report_store(tmp_path_factory) -> Path:
    from workstation.store import generate_demo

    root = tmp_path_factory.mktemp("report_store") / "store"
    generate_demo(root, symbols=len(SYMBOLS), days=12, seed=11)
    return root


def _run(tmp_path_factory, store: Path, name: str, fast: int, slow: int) -> Path:
    from workstation.cli import main as cli_main
    from workstation.config import save_config, validate_config_dict

    folder = tmp_path_factory.mktemp(f"run_{fast}_{slow}")
    save_config(validate_config_dict(make_config(name, fast, slow)), folder / "config.json")
    out = folder / f"sma-{fast}-{slow}"
    assert cli_main(["run", str(folder / "config.json"), "--store", str(store), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def engine_run(tmp_path_factory, report_store) -> Path:
    """A 6-session, 3-symbol SMA 5/20 run written by `workstation run`."""
    return _run(tmp_path_factory, report_store, "SMA 5/20 <demo> & co", 5, 20)


@pytest.fixture(scope="session")
def engine_run_slow(tmp_path_factory, report_store) -> Path:
    """The same sessions with SMA 10/40."""
    return _run(tmp_path_factory, report_store, "SMA 10/40", 10, 40)
