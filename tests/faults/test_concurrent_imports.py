"""Item 1: two writers of one bar store exclude each other; nothing they import is lost.

Real `workstation import` processes on one store: both at once (each file's bars must all be there
afterwards, counted against pandas' reading of the files), a writer that waits for a held lock and
goes on when it is released, one that gives up with a message naming the holder, and a lock left by
a killed process recovered at once.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.faults.helpers import ROOT, cli_env, cli_in_process, start_cli
from workstation.calendar import TimeManager
from workstation.store import BarStore, StoreWriteLock, import_files


def minute_file(path, symbols: list[str], days: int = 12, seed: int = 1) -> int:
    """A CSV of valid regular-session 1m bars of `symbols` over `days` sessions; returns its rows."""
    tm = TimeManager("XNYS")
    sessions = tm.sessions("2024-10-01", "2024-12-31")[:days]
    rng = np.random.default_rng(seed)
    frames = []
    for sym in symbols:
        for s in sessions:
            ts = np.arange(s.open_ns, s.close_ns, 60_000_000_000)
            close = 50 + np.cumsum(rng.normal(0, 0.05, len(ts)))
            frames.append(pd.DataFrame({
                "symbol": sym, "timestamp": pd.to_datetime(ts, utc=True), "open": close, "high": close + 0.05,
                "low": close - 0.05, "close": close, "volume": rng.integers(100, 1000, len(ts)),
            }))
    frame = pd.concat(frames, ignore_index=True)
    frame.to_csv(path, index=False)
    return len(frame)


def stored_counts(store_root) -> dict[str, int]:
    bars = BarStore(store_root).read_bars(None, "1m", 0, 2**62)
    return bars.groupby("symbol").size().to_dict()


def test_imports_at_once_keep_every_bar(tmp_path):
    """Three imports of the same dates (other symbols) at once into a store holding those dates: the
    store keeps every bar of each (without the lock a writer replaces a date file another just wrote)."""
    files = {"a.csv": ["AAA", "ABC"], "b.csv": ["BBB", "BCD"], "c.csv": ["CCC"]}
    rows = {name: minute_file(tmp_path / name, syms, seed=k) for k, (name, syms) in enumerate(files.items())}
    store = tmp_path / "store"
    base_rows = minute_file(tmp_path / "base.csv", ["ZZA", "ZZB", "ZZC", "ZZD"], seed=9)
    assert import_files([tmp_path / "base.csv"], BarStore(store, create=True)).rows_stored == base_rows
    procs = [start_cli("import", str(tmp_path / name), "--store", str(store), "--json", cwd=tmp_path)
             for name in files]
    results = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    assert [json.loads(out)["rows_stored"] for out, _ in results] == list(rows.values())
    expected = {sym: n for name in ("base.csv", *files)
                for sym, n in pd.read_csv(tmp_path / name)["symbol"].value_counts().items()}
    assert stored_counts(store) == expected
    assert sum(expected.values()) == sum(rows.values()) + base_rows


def test_second_writer_waits_for_the_lock_then_imports(tmp_path):
    rows = minute_file(tmp_path / "a.csv", ["AAA"], days=3)
    store = tmp_path / "store"
    lock = StoreWriteLock(store)
    lock.acquire()
    try:
        proc = start_cli("import", str(tmp_path / "a.csv"), "--store", str(store), "--wait", "120", cwd=tmp_path)
        line = proc.stderr.readline()          # the waiting writer says whom it waits for, then waits
        assert "is being written by process" in line and str(os.getpid()) in line, line
        assert proc.poll() is None
    finally:
        lock.release()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert stored_counts(store) == {"AAA": rows}


def test_writer_gives_up_naming_the_holder(tmp_path, capsys):
    minute_file(tmp_path / "a.csv", ["AAA"], days=2)
    store = tmp_path / "store"
    with StoreWriteLock(store):     # another holder: its own open file, so flock conflicts in one process too
        code, _, err = cli_in_process(capsys, "import", str(tmp_path / "a.csv"), "--store", str(store),
                                      "--wait", "0.2")
    assert code == 2
    assert f"is being written by process {os.getpid()}" in err
    assert "Nothing was written" in err and "Traceback" not in err
    assert not (store / "bars").exists()


def test_lock_of_a_killed_writer_is_recovered(tmp_path, capsys, caplog):
    rows = minute_file(tmp_path / "a.csv", ["AAA"], days=2)
    store = tmp_path / "store"
    killer = ("import os, signal, sys; from workstation.store import StoreWriteLock; "
              "StoreWriteLock(sys.argv[1]).acquire(); os.kill(os.getpid(), signal.SIGKILL)")
    died = subprocess.run([sys.executable, "-c", killer, str(store)], cwd=ROOT, env=cli_env(), timeout=60)
    assert died.returncode == -9
    holder = json.loads((store / ".write.lock").read_text())
    assert holder["pid"] > 0                    # the dead writer's name is still in the lock file
    with caplog.at_level(logging.WARNING, logger="workstation.store.lock"):
        code, _, err = cli_in_process(capsys, "import", str(tmp_path / "a.csv"), "--store", str(store),
                                      "--wait", "0")
    assert code == 0, err
    assert f"left by process {holder['pid']}" in caplog.text and "recovered" in caplog.text
    assert stored_counts(store) == {"AAA": rows}


def test_two_threads_with_their_own_store_objects_exclude_each_other(tmp_path):
    """In one process (GUI + a background import): flock conflicts between two open file descriptions."""
    store = tmp_path / "store"
    first = StoreWriteLock(store, timeout=0.1)
    second = StoreWriteLock(store, timeout=0.1)
    with first:
        try:
            second.acquire()
            acquired = True
        except Exception as exc:  # noqa: BLE001
            acquired = False
            assert "is being written by process" in str(exc)
        assert not acquired
    with second:
        assert second.held


def test_wait_option_is_checked(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli_in_process(capsys, "import", "x.csv", "--store", str(tmp_path / "s"), "--wait", "-1")
    assert info.value.code == 2 and "--wait" in capsys.readouterr().err


def test_two_threads_sharing_one_store_object_take_turns(tmp_path):
    """One BarStore written from two threads: the second waits for the first's whole write."""
    import threading

    store = BarStore(tmp_path / "store", create=True, lock_timeout=30)
    order: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def first():
        with store.writing():
            order.append("first in")
            inside.set()
            release.wait(30)
            order.append("first out")

    def second():
        inside.wait(30)
        with store.writing():
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(30)
    threads[1].join(0.2)                         # the second thread is blocked while the first holds it
    assert order == ["first in"]
    release.set()
    for t in threads:
        t.join(30)
    assert order == ["first in", "first out", "second in"]
    with store.writing(), store.writing():      # re-entrant in the holding thread
        assert store.writing().held
    assert not store.writing().held
