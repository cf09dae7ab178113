"""`workstation run` picks single-thread stages for a backtest whose config does not set
backtest.stage_threads (measured faster headless, benchmarks/bench_backtest.py), and keeps what a
config sets explicitly; the run folder's config.json records what ran."""

from __future__ import annotations

import json

import pytest

from workstation.cli import main as cli_main
from workstation.store import generate_demo


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("threads") / "store"
    generate_demo(root, symbols=2, days=2, seed=3)
    return root


@pytest.mark.parametrize("given, expected", [(None, False), (True, True), (False, False)])
def test_headless_default_is_single_thread_unless_the_config_says(tmp_path, store, given, expected):
    backtest = {"start_date": "2024-12-05", "end_date": "2024-12-05"}
    if given is not None:
        backtest["stage_threads"] = given
    cfg = {"name": "threads", "symbols": ["ACME", "BOLT"], "backtest": backtest,
           "historical": {"trailing_days": 0, "warmup_bars": 0},
           "strategies": [{"name": "sma", "class_path": "sma_crossover"}]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    out = tmp_path / "run"
    assert cli_main(["run", str(path), "--store", str(store), "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["backtest"]["stage_threads"] is expected
