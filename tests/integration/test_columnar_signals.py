"""Columnar signals and decisions (workstation.model.batches): the built-in SMA crossover returns one
SignalBatch per call and the desk decides it without a Signal or Decision per row. Every output must
equal the object path's: the same run with the crossover written the old way (a Signal per signal,
tests/integration/columnar_strategies.py:ReferenceSma) gives the same decisions (objects and the
signal log's rows), orders, fills, trades, equity curve and run folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.runhelpers import crossover_config, run_to_end
from workstation.model import Action, Decision, Signal
from workstation.model.batches import DecisionBatch, SignalBatch
from workstation.store import BarStore, generate_demo

STRATEGIES = "tests.integration.columnar_strategies"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("columnar") / "store"
    generate_demo(root, symbols=5, seed=11)
    return BarStore(root)


def _config(store: BarStore, class_path: str, **params) -> dict:
    symbols = store.symbols("1m")
    days = store.dates("1m")
    cfg = crossover_config(symbols, days[0], days[4], derived=["5m"])
    cfg["strategies"] = [{"name": "sma", "class_path": class_path,
                          "params": {"fast": 5, "slow": 20, "quantity": 100, **params}}]
    # a small account: some buys are refused for buying power, so rejected rows are in the comparison
    cfg["execution"].update({"starting_cash": 20_000, "commission_per_share": 0.01, "commission_min": 1.0,
                             "slippage_bps": 2})
    return cfg


def _run(store: BarStore, class_path: str, tmp_path=None, **params) -> dict:
    seen: dict[str, list] = {"decision": [], "decisions": [], "error": [], "order": [], "fills": [], "log": []}
    subscribe = {
        "decision": lambda _k, d: seen["decision"].append(d),
        "decisions": lambda _k, b: (seen["decisions"].append(b), seen["log"].extend(b.rows())),
        "error": lambda _k, e: seen["log"].append(("ERROR", e["time_ns"], e["symbol"], e["message"])),
        "order": lambda _k, e: seen["order"].append(e),
        "fills": lambda _k, f: seen["fills"].append(list(f)),
    }
    system = run_to_end(_config(store, class_path, **params), store, subscribe)
    broker = system.broker
    return {"seen": seen, "emitted": getattr(system.analysis.strategies[0], "emitted", None), "orders": broker.orders(), "fills": broker.fills, "trades": broker.trades,
            "equity": broker.equity_curve(), "errors": dict(system.analysis.errors),
            "counts": (system.analysis.signal_count, system.analysis.rejected_count)}


def _same_outputs(a: dict, b: dict) -> None:
    assert a["seen"]["decision"] == b["seen"]["decision"]          # Decision objects, metadata included
    assert a["seen"]["log"] == b["seen"]["log"]                    # the signal log's rows and errors, in order
    assert a["seen"]["order"] == b["seen"]["order"]
    assert a["seen"]["fills"] == b["seen"]["fills"]
    assert a["orders"] == b["orders"] and a["fills"] == b["fills"] and a["trades"] == b["trades"]
    pd.testing.assert_frame_equal(a["equity"], b["equity"], check_exact=True)
    assert a["errors"] == b["errors"] and a["counts"] == b["counts"]


def test_the_builtin_crossover_batch_gives_the_object_paths_outputs(demo_store):
    columnar = _run(demo_store, "sma_crossover")
    reference = _run(demo_store, f"{STRATEGIES}:ReferenceSma")
    listed = _run(demo_store, f"{STRATEGIES}:ListedSma")
    decisions = columnar["seen"]["decision"]
    # the comparison covers approved and refused signals, buys and sells, and several orders per session
    assert sum(d.approved for d in decisions) >= 20
    assert any(not d.approved and d.reason.startswith("buying power") for d in decisions)
    assert {d.signal.action for d in decisions} == {Action.BUY, Action.SELL}
    assert len(columnar["trades"]) >= 10
    # the built-in made batches (one event per strategy call), the reference one per decision
    assert any(b.signals is not None and len(b) > 1 for b in columnar["seen"]["decisions"])
    assert all(b.signals is None for b in reference["seen"]["decisions"])
    _same_outputs(columnar, reference)
    _same_outputs(columnar, listed)


def test_a_batch_with_invalid_rows_is_handled_like_the_list_of_its_signals(demo_store):
    batch = _run(demo_store, f"{STRATEGIES}:SpoiledBatchSma")
    listed = _run(demo_store, f"{STRATEGIES}:SpoiledBatchSma", as_list=True)
    assert batch["errors"]["sma"] >= 3                       # the NaN prices are strategy errors
    assert any(row[0] == "ERROR" and "price nan" in row[3] for row in batch["seen"]["log"])
    # one log row (decision or error) per signal, in the order the strategy returned them
    log = batch["seen"]["log"]
    assert [(row[1], row[2]) if row[0] == "ERROR" else (row[0], row[1]) for row in log] == batch["emitted"]
    _same_outputs(batch, listed)


def test_the_run_folder_is_the_same_for_batches_and_objects(demo_store, tmp_path):
    from workstation.config import validate_config_dict
    from workstation.run_writer import RunWriter
    from workstation.runs.folder import load_run
    from workstation.system import SystemManager

    tables = {}
    for label, class_path in (("batch", "sma_crossover"), ("objects", f"{STRATEGIES}:ReferenceSma")):
        system = SystemManager(validate_config_dict(_config(demo_store, class_path)), store=demo_store)
        writer = RunWriter(system, tmp_path / label)
        system.start()
        assert system.wait(120) and system.error is None
        assert writer.wait_closed(60) and not writer.failed
        run = load_run(tmp_path / label)
        tables[label] = {"signals": run.signals, "orders": run.orders, "fills": run.fills, "trades": run.trades}
    assert len(tables["batch"]["signals"]) >= 20
    for name in ("signals", "orders", "fills", "trades"):
        pd.testing.assert_frame_equal(tables["batch"][name], tables["objects"][name], check_exact=True)


def test_signal_batch_rows_are_the_signals_and_decision_rows_match_their_objects():
    symbols = ["AAA", "BBB", "CCC"]
    batch = SignalBatch("s", 123, symbols, np.array([2, 0], dtype=np.int64), (Action.SELL, Action.BUY),
                        np.array([5.0, 7.0]), np.array([10.5, 20.25]), np.array([1.0, 0.5]),
                        {"bar_start": np.array([60, 120], dtype=np.int64)})
    expected = [Signal("CCC", Action.SELL, 5.0, 10.5, 123, "s", 1.0, {"bar_start": 60}),
                Signal("AAA", Action.BUY, 7.0, 20.25, 123, "s", 0.5, {"bar_start": 120})]
    assert list(batch) == expected and batch[1] == expected[1] and len(batch) == 2
    assert type(list(batch)[0].metadata["bar_start"]) is int
    decided = DecisionBatch(batch, (False, True), ("too big", ""))
    assert decided.decisions() == [Decision(expected[0], False, "too big"), Decision(expected[1], True, "")]
    assert decided.rows() == DecisionBatch.of(*decided.decisions()).rows() == [
        (123, "CCC", "s", "SELL", 5.0, 10.5, 1.0, False, "too big", "signal"),
        (123, "AAA", "s", "BUY", 7.0, 20.25, 0.5, True, "", "signal")]
