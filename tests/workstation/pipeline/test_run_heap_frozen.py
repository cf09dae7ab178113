"""A run keeps the heap built before it (modules, config, calendar, store, the system) out of the
garbage collector's scans while it goes on (gc.freeze) and gives it back after, so a process that goes
on (a notebook, a sweep worker, the tests) collects as before; a heap someone froze already (the GUI)
is left frozen."""

from __future__ import annotations

import gc

import pytest

from workstation.config import validate_config_dict
from workstation.store import generate_demo
from workstation.system import SystemManager


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("frozen") / "store"
    generate_demo(root, symbols=2, days=3, seed=5)
    return root


def _run(store, **kwargs) -> list[int]:
    cfg = validate_config_dict({
        "name": "frozen", "symbols": ["ACME", "BOLT"],
        "backtest": {"start_date": "2024-12-03", "end_date": "2024-12-04"},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": {"min_quality_pct": 0},
    })
    system = SystemManager(cfg, store_path=store, **kwargs)
    seen: list[int] = []
    system.events.subscribe("session_end", lambda _k, _p: seen.append(gc.get_freeze_count()))
    system.start()
    assert system.wait(120) and system.error is None
    return seen


def test_the_heap_is_frozen_while_the_run_goes_on_and_given_back_after(store):
    assert gc.get_freeze_count() == 0
    seen = _run(store)
    assert len(seen) == 2 and min(seen) > 1000     # frozen at every session end
    assert gc.get_freeze_count() == 0              # and back to normal after the run


def test_a_heap_frozen_before_the_run_stays_frozen(store):
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        _run(store)
        assert gc.get_freeze_count() >= before     # the run did not unfreeze what it did not freeze
    finally:
        gc.unfreeze()


def test_a_run_told_not_to_freeze_leaves_the_collector_alone(store, monkeypatch):
    """freeze_heap=False (the GUI, which froze its own startup heap and collects in its thread): the run
    neither freezes nor asks how much is frozen (gc.get_freeze_count walks every frozen object)."""
    assert gc.get_freeze_count() == 0
    calls = []
    monkeypatch.setattr(gc, "get_freeze_count", lambda: calls.append(1) or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(2))
    seen = _run(store, freeze_heap=False)
    assert len(seen) == 2 and calls == [1, 1]     # only the test's observer asked, nothing was frozen
