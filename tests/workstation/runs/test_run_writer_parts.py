"""The run writer's append-only parts (issue 11 item 3): trades, equity, orders and fills are written
as one part per session holding only that session's new rows (or, by default, one part for the sessions
that end within `coalesce_s` of each other), in the writer's own thread; the parts together equal the
engine's whole tables exactly, statistics are computed once at the end, and a run killed after a few
sessions leaves a folder the reader loads (its rows a prefix of the full run's)."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pandas as pd
import pytest

from workstation.config import validate_config_dict
from workstation.execution.results import trades_frame
from workstation.execution.stats import compute_stats
from workstation.run_writer import RunWriter
from workstation.runs import load_run
from workstation.store import generate_demo
from workstation.system import SystemManager

DAYS = ["2024-12-02", "2024-12-03", "2024-12-04", "2024-12-05"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("parts") / "store"
    generate_demo(root, symbols=3, days=6, seed=11)
    return root


def _system(store) -> SystemManager:
    cfg = validate_config_dict({
        "name": "parts", "symbols": ["ACME", "BOLT", "CYRX"],
        "backtest": {"start_date": DAYS[0], "end_date": DAYS[-1]},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": {"min_quality_pct": 0},
    })
    return SystemManager(cfg, store_path=store)


def _status(out) -> dict:
    try:
        return json.loads((out / "run_status.json").read_text())
    except (OSError, ValueError):
        return {}


def _parts(folder):
    return sorted(p for p in folder.iterdir() if p.name.startswith("part-"))


TABLES = ("bars", "signals", "orders", "fills", "trades", "equity", "quality")


def test_parts_hold_each_row_once_and_together_equal_the_engines_tables(store, tmp_path):
    system = _system(store)
    writer_threads: set[str] = set()
    writer = RunWriter(system, tmp_path / "run", coalesce_s=0)
    real = writer._write_part

    def spy(job):
        writer_threads.add(threading.current_thread().name)
        real(job)

    writer._write_part = spy
    system.start()
    assert system.wait(120) and writer.closed and not writer.failed
    assert writer_threads == {"RunWriter"}                 # parts are encoded off the engine threads
    broker = system.broker
    trades, equity = trades_frame(broker.trades), broker.equity_curve()
    assert len(trades) > 3
    out = tmp_path / "run"
    sessions = len(DAYS)
    equity_parts = [pd.read_parquet(p) for p in _parts(out / "equity.parquet")]
    assert len(equity_parts) == sessions + 1               # one per session, the held-back last row at the end
    # each session's part ends one bar before its close; the next part starts with that last bar
    for k, part in enumerate(equity_parts[:-1]):
        days = part["time"].dt.tz_convert("America/New_York").dt.date.map(str).tolist()
        held_back = 1 if k else 0
        assert days[:held_back] == DAYS[k - 1:k][:held_back] and set(days[held_back:]) == {DAYS[k]}
        assert part["time"].is_monotonic_increasing
    whole = pd.concat(equity_parts, ignore_index=True)
    pd.testing.assert_frame_equal(whole, equity, check_exact=True)       # every row exactly once
    trade_parts = [pd.read_parquet(p) for p in _parts(out / "trades.parquet")]
    assert sum(len(p) for p in trade_parts) == len(trades)
    pd.testing.assert_frame_equal(pd.concat([p for p in trade_parts if len(p)], ignore_index=True), trades,
                                  check_exact=True)
    assert len(pd.read_parquet(out / "fills.parquet")) == len(broker.fills)
    stats = json.loads((out / "metrics.json").read_text())["statistics"]
    expected = compute_stats(equity, trades, system.cfg.execution.starting_cash, tz=system.cfg.timezone)
    assert stats["final_equity"] == expected["final_equity"] and stats["trades"] == expected["trades"] == len(trades)
    assert load_run(out).stats["total_return_pct"] == pytest.approx(stats["total_return_pct"])


def test_sessions_ending_close_together_share_a_part_with_the_same_rows(store, tmp_path):
    """Sessions that end within `coalesce_s` of the first one not written yet are written as one part
    per table (a file has a fixed cost: a fast run wrote ~8 files per session): here every session
    (an hour apart at most), then the end's part. Read back, every table equals the one a part per
    session gives, row for row; the statistics too."""
    runs = {}
    for name, coalesce_s in (("each", 0.0), ("joined", 3600.0)):
        system = _system(store)
        writer = RunWriter(system, tmp_path / name, coalesce_s=coalesce_s)
        system.start()
        assert system.wait(120) and writer.closed and not writer.failed
        runs[name] = tmp_path / name
    each, joined = runs["each"], runs["joined"]
    assert [p.name for p in _parts(joined / "equity.parquet")] == [f"part-{len(DAYS):04d}.parquet",
                                                                  f"part-{len(DAYS) + 1:04d}.parquet"]
    assert [p.name for p in _parts(joined / "bars.parquet")] == [f"part-{len(DAYS):04d}.parquet"]
    assert len(_parts(each / "bars.parquet")) == len(DAYS)
    for table in TABLES:
        a, b = (pd.read_parquet(run / f"{table}.parquet") for run in (each, joined))
        assert len(a), table
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (each, joined)]
    assert metrics[0]["statistics"] == metrics[1]["statistics"]
    assert [s["session_date"] for s in metrics[1]["sessions"]] == DAYS


def test_a_session_of_many_rows_is_written_as_it_comes(store, tmp_path):
    """A session whose part holds JOIN_ROWS rows or more is not held to share a part (at 100 symbols its
    encoding overlaps the next session; held, a replay was ~7 % slower to its folder written): with the
    threshold under one session's rows every session gets its own part even with a long `coalesce_s`,
    the same rows as the joined run; over them, the sessions share one."""
    runs = {}
    for name, join_rows in (("big", 1), ("small", 10**9)):
        system = _system(store)
        writer = RunWriter(system, tmp_path / name, coalesce_s=3600.0)
        writer.JOIN_ROWS = join_rows
        system.start()
        assert system.wait(120) and writer.closed and not writer.failed
        runs[name] = tmp_path / name
    assert [p.name for p in _parts(runs["big"] / "bars.parquet")] == [f"part-{k:04d}.parquet"
                                                                      for k in range(1, len(DAYS) + 1)]
    assert [p.name for p in _parts(runs["small"] / "bars.parquet")] == [f"part-{len(DAYS):04d}.parquet"]
    for table in TABLES:
        a, b = (pd.read_parquet(run / f"{table}.parquet") for run in (runs["big"], runs["small"]))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)


def test_a_held_session_is_written_within_coalesce_s_when_no_other_session_ends(store, tmp_path):
    """A slow run (paused here after its second session) does not wait for the next session to end:
    what the writer holds is written `coalesce_s` after the first session held."""
    system = _system(store)
    out = tmp_path / "run"
    writer = RunWriter(system, out, coalesce_s=0.2)
    paused = threading.Event()

    def on_session_end(_kind, payload):
        if payload["index"] == 1:
            system.control.pause()
            paused.set()

    system.events.subscribe("session_end", on_session_end)
    system.start()
    assert paused.wait(60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _status(out).get("sessions_done") != 2:   # the part's last file
        time.sleep(0.02)
    assert system.sessions_done == 2 and _status(out)["sessions_done"] == 2
    days = pd.read_parquet(out / "equity.parquet")["time"].dt.tz_convert("America/New_York").dt.date.map(str)
    assert sorted(set(days)) == DAYS[:2]
    system.control.resume()
    assert system.wait(120) and writer.closed and not writer.failed


def test_a_run_killed_after_two_sessions_leaves_a_readable_prefix(store, tmp_path):
    """A copy of the folder taken after the second session's parts are written (as a kill -9 then
    would leave it) loads: its trades and equity are the first rows of the whole run's, and its
    statistics are computed by the reader."""
    system = _system(store)
    out, snapshot = tmp_path / "run", tmp_path / "killed"
    writer = RunWriter(system, out, coalesce_s=3600)    # flush() writes the sessions held back to share a part

    def on_session_end(_kind, payload):
        if payload["index"] == 1:
            assert writer.flush(30)
            shutil.copytree(out, snapshot)

    system.events.subscribe("session_end", on_session_end)
    system.start()
    assert system.wait(120) and writer.closed
    full, killed = load_run(out), load_run(snapshot)
    status = json.loads((snapshot / "run_status.json").read_text())
    assert status["complete"] is False and status["sessions_done"] == 2
    assert "computed when the run ends" in (snapshot / "report.txt").read_text()
    n = len(killed.equity)
    assert 2 * 380 < n < len(full.equity)
    pd.testing.assert_frame_equal(killed.equity, full.equity.iloc[:n].reset_index(drop=True), check_exact=True)
    k = len(killed.trades)
    pd.testing.assert_frame_equal(killed.trades, full.trades.iloc[:k].reset_index(drop=True), check_exact=True)
    assert killed.stats["final_equity"] == pytest.approx(float(killed.equity["equity"].iloc[-1]))


@pytest.mark.parametrize("interval_s", [3600.0, 0.0])
def test_report_files_are_rewritten_at_most_every_interval_and_the_status_after_every_session(
        store, tmp_path, monkeypatch, interval_s):
    """metrics.json and report.txt grow with the sessions, so while the run goes on they are rewritten
    after the first session and then at most every `report_interval_s` (0: after every session) and at
    the end; run_status.json, which says how far a killed run got, after every session. A folder taken
    between two report rewrites (as a kill -9 leaves it) still loads, with the sessions the status says."""
    from workstation import run_writer as rw

    writes: list[tuple[str, int]] = []
    real_atomic = rw._atomic_text

    def spy(text, path):
        writes.append((path.name, len(json.loads(text)["sessions"]) if path.name == "metrics.json" else 0))
        return real_atomic(text, path)

    monkeypatch.setattr(rw, "_atomic_text", spy)
    system = _system(store)
    out, snapshot = tmp_path / "run", tmp_path / "killed"
    writer = RunWriter(system, out, report_interval_s=interval_s, coalesce_s=0)

    def on_session_end(_kind, payload):
        if payload["index"] == 2:
            assert writer.flush(30)
            shutil.copytree(out, snapshot)

    system.events.subscribe("session_end", on_session_end)
    system.start()
    assert system.wait(120) and writer.closed and not writer.failed
    sessions = len(DAYS)
    metrics_writes = [n for name, n in writes if name == "metrics.json"]
    status_writes = [name for name, _ in writes if name == rw.RUN_STATUS_FILE]
    reports = [name for name, _ in writes if name == "report.txt"]
    if interval_s:
        assert metrics_writes == [1, sessions] and len(reports) == 2      # the first session's, the end's
    else:
        assert metrics_writes == [*range(1, sessions + 1), sessions] and len(reports) == sessions + 1
    assert len(status_writes) == 1 + sessions + 1                          # the start, each session, the end
    status = json.loads((snapshot / rw.RUN_STATUS_FILE).read_text())
    assert status["state"] == "running" and status["complete"] is False and status["sessions_done"] == 3
    killed = load_run(snapshot)
    assert len(json.loads((snapshot / "metrics.json").read_text())["sessions"]) == (1 if interval_s else 3)
    assert set(killed.equity["time"].dt.tz_convert("America/New_York").dt.date.map(str)) == set(DAYS[:3])
    final = json.loads((out / "metrics.json").read_text())
    assert final["summary"]["sessions_done"] == sessions and len(final["sessions"]) == sessions
    assert final["statistics"]["trades"] == len(system.broker.trades)


def test_tables_are_built_in_the_engine_thread_and_the_writer_builds_what_that_could_not(store, tmp_path,
                                                                                         monkeypatch):
    """The engine thread turns a session's rows into Arrow tables as it hands them over, so the writer
    thread only encodes and writes (it no longer holds the GIL against the engine while the run goes
    on). A table the engine thread fails to build is built by the writer thread instead: the folder is
    the same. (With a part per session: parts that join sessions are built by the writer thread.)"""
    import workstation.run_writer as rw

    built_in: dict[str, set[str]] = {}
    real_bars = rw.session_bars_table

    def spy_bars(*args, **kwargs):
        built_in.setdefault("bars", set()).add(threading.current_thread().name)
        return real_bars(*args, **kwargs)

    monkeypatch.setattr(rw, "session_bars_table", spy_bars)
    for name in ("signals", "order_states", "orders", "fills"):
        real = getattr(rw.PartTables, name)

        def spy(self, rows, _real=real, _name=name):
            built_in.setdefault(_name, set()).add(threading.current_thread().name)
            return _real(self, rows)

        monkeypatch.setattr(rw.PartTables, name, spy)
    system = _system(store)
    RunWriter(system, tmp_path / "engine", coalesce_s=0)
    system.start()
    assert system.wait(120)
    assert set(built_in) == {"bars", "signals", "order_states", "orders", "fills"}
    assert all("RunWriter" not in threads for threads in built_in.values()), built_in

    def refuse_in_the_engine(self, rows, _real=rw.PartTables.fills):
        if threading.current_thread().name != "RunWriter":
            raise RuntimeError("no fills table here")
        return _real(self, rows)

    monkeypatch.setattr(rw.PartTables, "fills", refuse_in_the_engine)
    monkeypatch.setattr(rw, "session_bars_table", real_bars)
    system = _system(store)
    writer = RunWriter(system, tmp_path / "writer", coalesce_s=0)
    system.start()
    assert system.wait(120) and writer.closed and not writer.failed
    for table in ("bars", "signals", "orders", "fills", "trades", "equity", "quality"):
        engine, fallback = (pd.read_parquet(tmp_path / run / f"{table}.parquet") for run in ("engine", "writer"))
        assert len(engine) and len(fallback), table
        pd.testing.assert_frame_equal(engine, fallback, check_exact=True)
