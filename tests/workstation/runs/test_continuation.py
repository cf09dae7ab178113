"""workstation.runs.continuation: what taking a run up again from its folder needs (its config, its hand
orders, the bar time to go to), read from folders written here file by file, and the errors that name
what is wrong. The whole continuation in the window: tests/ui/test_continue_run.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.errors import ConfigError, DataError
from workstation.execution.manual import ManualOrdersFileError, SubmitOrder
from workstation.execution.results import equity_frame
from workstation.runs.continuation import continued_stem, newest_traded_run, read_continuation

MIN = 60_000_000_000
OPEN = pd.Timestamp("2024-12-04 14:30", tz="UTC").value      # 09:30 in New York


def config(mode: str = "backtest") -> dict:
    return {"name": "continued", "mode": mode, "symbols": ["ACME"],
            "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-05"}}


def command(at_ns: int, quantity: float = 100) -> dict:
    return {"at_ns": at_ns, "action": "submit", "symbol": "ACME", "quantity": quantity, "order_type": "market",
            "tif": "day", "accepted": True, "order_ids": [1]}


def run_folder(path: Path, orders: list[dict] | None = None, equity_bars: int = 0, mode: str = "backtest") -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(config(mode)))
    if orders is not None:
        (path / "manual_orders.json").write_text(json.dumps({"format": 1, "commands": orders}))
    if equity_bars:
        t = OPEN + np.arange(equity_bars, dtype=np.int64) * MIN
        (path / "equity.parquet").mkdir()
        for k, part in enumerate(np.array_split(np.arange(equity_bars), 2)):   # two parts, as a run writes them
            zeros = np.zeros(len(part))
            equity_frame(t[part], zeros + 1e5, zeros + 1e5, zeros, zeros).to_parquet(
                path / "equity.parquet" / f"part-{k + 1:04d}.parquet")
    return path


def test_a_run_is_taken_up_at_the_bar_time_its_last_hand_order_followed(tmp_path):
    """The order entered after the bar time 09:41 (clock 09:42): the continuation pauses after 09:41."""
    run = run_folder(tmp_path / "r", [command(OPEN + 5 * MIN), command(OPEN + 12 * MIN, -40)], equity_bars=0)
    c = read_continuation(run)
    assert c.resume_ns == OPEN + 12 * MIN - 1 and c.config.name == "continued" and c.config_path == run / "config.json"
    assert [(at, cmd) for at, cmd in c.hand_orders] == [
        (OPEN + 5 * MIN, SubmitOrder("ACME", 100.0, "market")), (OPEN + 12 * MIN, SubmitOrder("ACME", -40.0, "market"))]
    assert c.describe() == "Continuing r (2 hand orders) to Wed 2024-12-04 09:41"


def test_the_written_equity_takes_it_further_when_the_run_went_on_after_its_last_order(tmp_path):
    run = run_folder(tmp_path / "r", [command(OPEN + 5 * MIN)], equity_bars=30)    # bar times 09:30 .. 09:59
    assert read_continuation(run).resume_ns == OPEN + 29 * MIN
    early = run_folder(tmp_path / "e", [command(OPEN + 45 * MIN)], equity_bars=30)   # a kill after the order
    assert read_continuation(early).resume_ns == OPEN + 45 * MIN - 1


def test_a_run_without_hand_orders_or_equity_starts_at_its_start(tmp_path):
    c = read_continuation(run_folder(tmp_path / "r"))
    assert (c.hand_orders, c.resume_ns) == ([], None)
    assert c.describe() == "Continuing r (no hand orders) from its start"
    assert read_continuation(run_folder(tmp_path / "q", equity_bars=3)).what == "q (no hand orders)"


def test_folders_that_cannot_be_taken_up_say_why(tmp_path):
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        read_continuation(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"is not a run folder: it has no config.json"):
        read_continuation(empty)
    with pytest.raises(DataError, match="is a live run: only a replay can be taken up again"):
        read_continuation(run_folder(tmp_path / "live", mode="live"))
    bad = run_folder(tmp_path / "bad", [{"at_ns": OPEN, "action": "submit"}])
    with pytest.raises(ManualOrdersFileError, match=r"manual_orders.json: commands\[0\]"):
        read_continuation(bad)
    broken = run_folder(tmp_path / "broken")
    (broken / "config.json").write_text(json.dumps({**config(), "symbols": []}))
    with pytest.raises(ConfigError, match="symbols"):
        read_continuation(broken)


def test_the_folder_offered_first_is_the_last_one_traded_in(tmp_path):
    runs = tmp_path / "runs"
    assert newest_traded_run(runs) is None
    traded = run_folder(runs / "a-traded", [command(OPEN)])
    plain = run_folder(runs / "b-plain")
    os.utime(traded / "manual_orders.json", ns=(1_000_000_000, 1_000_000_000))     # older than the plain run
    assert newest_traded_run(runs) == traded
    (runs / "not-a-run").mkdir()
    (traded / "manual_orders.json").unlink()
    assert newest_traded_run(runs) == max((traded, plain), key=lambda p: (p / "config.json").stat().st_mtime_ns)


def test_a_continued_runs_folder_is_named_after_its_run():
    assert continued_stem("orb-from-20210706-20261208-000033") == "orb-from-20210706-continued"
    assert continued_stem("orb-from-20210706-continued-20261208-010203-2") == "orb-from-20210706-continued"
    assert continued_stem("my_run") == "my_run-continued"


def test_the_store_the_run_read_is_used_when_the_configs_relative_path_leads_nowhere_from_here(
        tmp_path, monkeypatch):
    store = tmp_path / "project" / "data" / "store"
    store.mkdir(parents=True)
    (store / "store.json").write_text("{}")
    run = run_folder(tmp_path / "project" / "runs" / "r")
    raw = {**config(), "data_source": {"store_path": "data/store"}}
    (run / "config.json").write_text(json.dumps(raw))
    (run / "run_status.json").write_text(json.dumps({"state": "stopped", "store": str(store)}))
    monkeypatch.chdir(tmp_path / "project")               # where it ran: the config's own path leads to it
    assert read_continuation(run).store is None
    monkeypatch.chdir(tmp_path)                           # elsewhere: the recorded one
    assert read_continuation(run).store == store
    (run / "run_status.json").write_text(json.dumps({"state": "stopped", "store": str(tmp_path / "gone")}))
    assert read_continuation(run).store is None           # the load then says the config's store is missing
    (run / "run_status.json").write_text("{not json")
    assert read_continuation(run).store is None
