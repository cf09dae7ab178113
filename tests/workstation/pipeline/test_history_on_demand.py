"""History on demand (issue 11 item 5): a symbol's trailing bars are built only when something reads
them, once per session, and equal the store's bars of the trailing sessions; SessionData's on-demand
historical bars run their builder once and are replaced or cleared like stored ones."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.pipeline import historical
from workstation.session import SessionData
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("on_demand") / "store"
    generate_demo(root, symbols=3, seed=4)
    return BarStore(root)


def _run(demo: BarStore, monkeypatch, read: str | None) -> tuple[int, dict]:
    builds = {"n": 0}
    real = historical._TrailingBars.__call__

    def counting(self):
        builds["n"] += 1
        return real(self)

    monkeypatch.setattr(historical._TrailingBars, "__call__", counting)
    syms = demo.symbols("1m")
    cfg = validate_config_dict({
        "name": "on demand", "symbols": syms,
        "backtest": {"start_date": "2024-12-02", "end_date": "2024-12-04"},
        "historical": {"trailing_days": 3, "intervals": ["1m"], "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}], "risk": {"min_quality_pct": 0},
    })
    system = SystemManager(cfg, store=demo)
    seen = {}

    def on_start(_kind, payload):
        if read is not None:
            sd = system.session_data
            seen[payload["date"]] = np.asarray(sd.historical_bars(read, "1m").timestamp).copy()
            assert sd.historical_bars(read, "1m").size == len(seen[payload["date"]])   # built once, kept

    system.events.subscribe("session_start", on_start)
    system.start()
    assert system.wait(120) and system.error is None
    return builds["n"], seen


def test_trailing_bars_nobody_reads_are_never_built(demo, monkeypatch):
    builds, _ = _run(demo, monkeypatch, read=None)
    assert builds == 0


def test_trailing_bars_read_are_built_once_per_session_and_equal_the_store(demo, monkeypatch):
    sym = demo.symbols("1m")[1]
    builds, seen = _run(demo, monkeypatch, read=sym)
    assert builds == len(seen) == 3
    tm = TimeManager()
    for day, got in seen.items():
        three = tm.trailing_dates(day, "3d")
        first, last = tm.session(three[0]), tm.session(three[-1])
        expected = demo.read_bars([sym], "1m", first.open_ns, last.close_ns, rth_only=True)
        np.testing.assert_array_equal(got, expected["timestamp"].astype("int64").to_numpy())


def test_session_data_on_demand_bars():
    sd = SessionData(["AAA", "BBB"], ["1m"])
    calls = []
    ts = np.array([0, 60_000_000_000], dtype=np.int64)
    bars = {"timestamp": ts, "open": np.ones(2), "high": np.ones(2) * 2, "low": np.ones(2) * 0.5,
            "close": np.ones(2), "volume": np.ones(2) * 10}

    def build():
        calls.append(1)
        return bars

    sd.set_historical_bars_on_demand("AAA", "1m", build)
    assert sd.historical_intervals("AAA") == ["1m"] and calls == []
    view = sd.historical_bars("AAA", "1m")
    assert view.size == 2 and list(view.high) == [2.0, 2.0] and not view.high.flags.writeable
    sd.historical_bars("AAA", "1m")
    assert calls == [1]                                  # built once
    sd.set_historical_bars_on_demand("BBB", "1m", build)
    sd.set_historical_bars("BBB", "1m", {
        "timestamp": ts[:1], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1.0]})
    assert sd.historical_bars("BBB", "1m").size == 1 and calls == [1]   # replaced: the builder never runs
    sd.set_historical_bars_on_demand("BBB", "1m", build)
    sd.clear_historical()
    assert sd.historical_bars("BBB", "1m").size == 0 and calls == [1]
    sd.set_historical_indicators("avg", [1.5, np.array([1.0, 2.0])])
    assert sd.historical_indicator("AAA", "avg") == 1.5 and list(sd.historical_indicator("BBB", "avg")) == [1.0, 2.0]
    with pytest.raises(ValueError, match="2 symbols"):
        sd.set_historical_indicators("avg", [1.0])
