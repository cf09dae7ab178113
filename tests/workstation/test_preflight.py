"""Pre-flight checks: what `workstation validate` (and the config editor) report for configs the
engine would refuse to run, by field path; consistency with what the SystemManager refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.runhelpers import crossover_config
from workstation.cli import main as cli_main
from workstation.config import validate_config_dict
from workstation.errors import WorkstationError
from workstation.preflight import PreflightCache, check_runnable, preflight_problems
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager

NY = "America/New_York"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("preflight") / "store"
    generate_demo(root, symbols=3, days=4, seed=2)
    return BarStore(root)


def _cfg(store: BarStore, **over) -> dict:
    syms = store.symbols("1m")
    days = store.dates("1m")
    cfg = crossover_config(syms[:2], days[1], days[-1], data_source={"store_path": str(store.root)})
    for key, value in over.items():
        cfg[key] = value
    return cfg


def _problems(cfg: dict, store_path=None) -> list[tuple[str, str]]:
    return preflight_problems(validate_config_dict(cfg), store_path)


def _paths(problems) -> list[str]:
    return [p for p, _ in problems]


def test_a_config_that_runs_has_no_problem(store):
    cfg = _cfg(store)
    assert _problems(cfg) == []
    SystemManager(validate_config_dict(cfg), store=store)  # and the engine agrees


BAD = {
    "unknown symbol": (lambda c: c["symbols"].append("ZZZZ"), "symbols", "ZZZZ has no 1m bars in the store"),
    "import path": (
        lambda c: c["strategies"].append({"name": "x", "class_path": "no_such_pkg.mod:Cls"}),
        "strategies.1.class_path",
        "cannot import module 'no_such_pkg.mod'",
    ),
    "missing class": (
        lambda c: c["strategies"].append({"name": "x", "class_path": "workstation.strategies.base:Nope"}),
        "strategies.1.class_path",
        "has no class 'Nope'",
    ),
    "not a strategy": (
        lambda c: c["strategies"].append(
            {"name": "x", "class_path": "tests.integration.strategies_for_tests:NotAStrategy"}
        ),
        "strategies.1.class_path",
        "not a subclass",
    ),
    "fast > slow": (
        lambda c: c["strategies"][0]["params"].update(fast=30, slow=20),
        "strategies.0.params",
        "fast (30) must be shorter than slow (20)",
    ),
    "unknown parameter": (      # what the class takes, and the name closest to the typo
        lambda c: c["strategies"][0]["params"].update(fsat=3),
        "strategies.0.params",
        "(SmaCrossover takes fast, slow, quantity, confidence; did you mean 'fast' for 'fsat'?)",
    ),
    "unknown parameter, nothing close": (
        lambda c: c["strategies"][0]["params"].update(window=3),
        "strategies.0.params",
        "unexpected keyword argument 'window' (SmaCrossover takes fast, slow, quantity, confidence)",
    ),
    "constructor raises": (
        lambda c: c["strategies"].append(
            {"name": "x", "class_path": "tests.integration.strategies_for_tests:FailsInInit"}
        ),
        "strategies.1.params",
        "refuses to start",
    ),
    "no trading day": (
        lambda c: c["backtest"].update(start_date="2024-11-28", end_date="2024-11-28"),
        "backtest.start_date",
        "no trading days between 2024-11-28 and 2024-11-28",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_problem_is_reported_at_its_field_and_the_engine_refuses_it_too(store, case):
    mutate, path, text = BAD[case]
    cfg = _cfg(store)
    mutate(cfg)
    problems = _problems(cfg)
    assert path in _paths(problems), problems
    assert any(text in msg for p, msg in problems if p == path), problems
    with pytest.raises(WorkstationError):
        SystemManager(validate_config_dict(cfg), store=store)


def test_every_problem_is_listed_at_once(store):
    cfg = _cfg(store)
    cfg["symbols"].append("QQQQ")
    cfg["strategies"][0]["params"]["slow"] = 2
    cfg["strategies"].append({"name": "y", "class_path": "nowhere:Strategy"})
    assert sorted(_paths(_problems(cfg))) == ["strategies.0.params", "strategies.1.class_path", "symbols"]


def test_dates_outside_the_stored_data_and_symbols_missing_in_range(store, tmp_path):
    cfg = _cfg(store)
    cfg["backtest"].update(start_date="2023-03-01", end_date="2023-03-03")
    problems = _problems(cfg)
    assert _paths(problems) == ["backtest.start_date"]
    assert "has no 1m bars between 2023-03-01 and 2023-03-03" in problems[0][1]
    # a symbol stored only on other days than the config's
    days = store.dates("1m")
    syms = store.symbols("1m")
    df = store.read_bars(syms[:1], "1m", pd.Timestamp(days[0], tz=NY).value, pd.Timestamp(days[-1], tz=NY).value)
    df = df[df["timestamp"].dt.tz_convert(NY).dt.date == days[0]].assign(symbol="EARLY")
    copy = BarStore(tmp_path / "copy", create=True)
    copy.write_bars(store.read_bars(syms, "1m", pd.Timestamp(days[0], tz=NY).value,
                                    pd.Timestamp(days[-1] + pd.Timedelta(days=1), tz=NY).value), "1m")
    copy.write_bars(df, "1m")
    cfg = _cfg(store)
    cfg["symbols"].append("EARLY")
    problems = _problems(cfg, copy.root)
    assert problems == [("symbols", f"EARLY has no 1m bars between {days[1]} and {days[-1]} in the store {copy.root}")]


def test_store_problems_name_the_store_path(store, tmp_path):
    cfg = _cfg(store)
    problems = _problems(cfg, tmp_path / "nowhere")
    assert _paths(problems) == ["data_source.store_path"]
    assert "no bar store at" in problems[0][1]
    assert "relative to the working directory" not in problems[0][1]   # an absolute path is as written


def test_a_missing_store_at_a_relative_path_names_the_working_directory(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    problems = _problems(_cfg(store), Path("data/store"))
    assert _paths(problems) == ["data_source.store_path"]
    assert (f"no bar store at data/store (no store.json there, a path relative to the working directory "
            f"{tmp_path})") in problems[0][1]


def test_the_cache_sees_a_store_that_changed(store, tmp_path):
    syms = store.symbols("1m")
    days = store.dates("1m")
    copy = BarStore(tmp_path / "grow", create=True)
    full = store.read_bars(syms, "1m", pd.Timestamp(days[0], tz=NY).value,
                           pd.Timestamp(days[-1] + pd.Timedelta(days=1), tz=NY).value)
    copy.write_bars(full[full["symbol"] != syms[2]], "1m")
    cfg = validate_config_dict(_cfg(store, symbols=syms))
    cache = PreflightCache()
    assert _paths(preflight_problems(cfg, copy.root, cache)) == ["symbols"]
    copy.write_bars(full[full["symbol"] == syms[2]], "1m")  # the missing symbol is imported
    assert preflight_problems(cfg, copy.root, cache) == []


def test_live_alpaca_configs_need_no_store(store):
    cfg = _cfg(store, mode="live")
    cfg["live"] = {"provider": "alpaca"}
    cfg["data_source"] = {"store_path": "/nonexistent/store"}
    assert _problems(cfg) == []


def test_cli_validate_refuses_what_run_refuses(store, tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_cfg(store)))
    assert cli_main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "valid and runnable" in out and "(2 symbols, " in out and ", 1 strategy)" in out     # counted in words
    cfg = _cfg(store)
    cfg["symbols"].append("ZZZZ")
    cfg["strategies"][0]["params"].update(fast=30, slow=20)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(cfg))
    assert cli_main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "symbols: ZZZZ has no 1m bars" in err and "strategies.0.params:" in err and "fast (30)" in err
    assert cli_main(["validate", str(bad), "--schema-only"]) == 0
    assert cli_main(["run", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "strategies.0.params" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing started, nothing written
    with pytest.raises(WorkstationError, match="2 problem"):
        check_runnable(validate_config_dict(cfg))


def test_a_strategy_module_in_the_working_directory_is_found(store, tmp_path, monkeypatch):
    """`class_path: "wd_strats.mine:Mine"` with wd_strats/ in the folder `workstation run` starts in (not
    on PYTHONPATH, as for the installed `workstation` command) is imported from there: the run equals
    the built-in strategy it subclasses, trade for trade. A module found there that lacks one of its own
    imports names that import; a module nowhere says where it was looked for."""
    import sys

    package = tmp_path / "wd_strats"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mine.py").write_text("from workstation.strategies.sma_crossover import SmaCrossover\n\n\n"
                                     "class Mine(SmaCrossover):\n    pass\n")
    (tmp_path / "wd_broken.py").write_text("import wd_not_installed_anywhere\n")
    for name in ("wd_strats", "wd_strats.mine", "wd_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert "" not in sys.path and str(tmp_path) not in sys.path
    cfg = _cfg(store)
    builtin_trades = []
    for class_path in ("sma_crossover", "wd_strats.mine:Mine"):
        cfg["strategies"][0]["class_path"] = class_path
        assert _problems(cfg) == []
        out = tmp_path / class_path.replace(":", "_")
        (tmp_path / "c.json").write_text(json.dumps(cfg))
        assert cli_main(["run", str(tmp_path / "c.json"), "--out", str(out)]) == 0
        builtin_trades.append(pd.read_parquet(out / "trades.parquet").drop(columns=["strategy"], errors="ignore"))
    assert len(builtin_trades[0]) > 0
    pd.testing.assert_frame_equal(builtin_trades[0], builtin_trades[1])
    assert sys.modules["wd_strats.mine"].__file__ == str(package / "mine.py")
    cfg["strategies"][0]["class_path"] = "wd_broken:Mine"
    [(path, message)] = _problems(cfg)
    assert path == "strategies.0.class_path" and "No module named 'wd_not_installed_anywhere'" in message
    assert "wd_broken" not in sys.modules          # a module that failed is not left half-imported
    cfg["strategies"][0]["class_path"] = "wd_nowhere:Mine"
    [(path, message)] = _problems(cfg)
    assert f"then in the working directory ({tmp_path})" in message
