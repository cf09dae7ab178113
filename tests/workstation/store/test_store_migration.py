"""Format 1 stores (`date=` / `year=` folders) move to format 2 (`period=`) when opened: every bar kept,
atomically (a crash at any step leaves a store the next open completes or undoes), one migrator at a
time across processes, and a clear error when the store cannot be written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from workstation.errors import StoreError
from workstation.store import BarStore, generate_demo
from workstation.store import migrate as migrate_module
from workstation.store.lock import StoreWriteLock

ROOT = Path(__file__).resolve().parents[3]


def to_format_1(root: Path) -> None:
    """Rewrite a current store into the format 1 layout, as older versions wrote it."""
    for interval_dir in (root / "bars").iterdir():
        level = "year" if interval_dir.name == "interval=1d" else "date"
        for part in interval_dir.iterdir():
            part.rename(interval_dir / part.name.replace("period=", f"{level}="))
    meta = json.loads((root / "store.json").read_text())
    meta.update(format_version=1, layout="bars/interval=<i>/date=YYYY-MM-DD | year=YYYY/part-0.parquet")
    (root / "store.json").write_text(json.dumps(meta, indent=2))


def every_bar(root: Path) -> pd.DataFrame:
    """Every bar file under bars/ read with pyarrow alone, keyed by interval and the folder's value."""
    frames = []
    for f in sorted((root / "bars").glob("interval=*/*=*/part-0.parquet")):
        frame = pq.read_table(f).to_pandas()
        frame["interval"] = f.parent.parent.name.split("=")[1]
        frame["partition"] = f.parent.name.split("=")[1]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["interval", "partition", "symbol", "timestamp"]).reset_index(drop=True)


def layout_levels(root: Path) -> set[str]:
    return {p.name.split("=")[0] for p in (root / "bars").glob("interval=*/*=*")}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A format 1 store (2 symbols, 3 sessions of 1m, daily bars over two years) and its bars."""
    root = tmp_path_factory.mktemp("v1") / "store"
    generate_demo(root, symbols=2, days=3, seed=8)
    expected = every_bar(root)
    to_format_1(root)
    return root, expected


@pytest.fixture
def v1_store(pristine, tmp_path) -> tuple[Path, pd.DataFrame]:
    root, expected = pristine
    copy = tmp_path / "store"
    shutil.copytree(root, copy)
    return copy, expected


def assert_current_and_complete(root: Path, expected: pd.DataFrame) -> None:
    assert json.loads((root / "store.json").read_text())["format_version"] == 2
    assert layout_levels(root) == {"period"}
    assert not (root / migrate_module.NEW_TREE).exists() and not (root / migrate_module.OLD_TREE).exists()
    pd.testing.assert_frame_equal(every_bar(root), expected)


def test_opening_a_format_1_store_moves_it_and_keeps_every_bar(v1_store, caplog):
    root, expected = v1_store
    assert layout_levels(root) == {"date", "year"}
    before_1m = {p.name.split("=")[1] for p in (root / "bars" / "interval=1m").iterdir()}
    store = BarStore(root)
    assert_current_and_complete(root, expected)
    assert {d.isoformat() for d in store.dates("1m")} == before_1m
    assert len(store.read_daily(None, "2023-01-01", "2024-12-31")) == (expected["interval"] == "1d").sum()
    assert any("format 1 to format 2" in r.getMessage() for r in caplog.records)
    assert migrate_module.ensure_current(root) is None  # a second open does nothing


def test_the_whole_store_reads_in_one_call_after_migration(v1_store):
    duckdb = pytest.importorskip("duckdb")
    polars = pytest.importorskip("polars")
    root, expected = v1_store
    glob = str(root / "bars" / "**" / "*.parquet")
    with pytest.raises(Exception, match="(?i)hive"):
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true)").fetchall()
    BarStore(root)
    rows = duckdb.sql(f"SELECT interval, count(*) FROM read_parquet('{glob}', hive_partitioning=true) "
                      "GROUP BY interval ORDER BY interval").fetchall()
    assert dict(rows) == expected.groupby("interval").size().to_dict()
    frame = polars.read_parquet(glob, hive_partitioning=True)
    assert frame.height == len(expected) and {"interval", "period"} <= set(frame.columns)


def _crashing(counter: dict, at: int):
    def wrap(fn):
        def inner(*args, **kwargs):
            counter["n"] += 1
            if counter["n"] == at:
                raise KeyboardInterrupt("simulated crash")
            return fn(*args, **kwargs)
        return inner
    return wrap


FS_STEPS = (("os", "link"), ("os", "rename"), ("os", "replace"), ("shutil", "rmtree"), ("os", "mkdir"))


def _patch_steps(monkeypatch, wrap) -> None:
    for module_name, attr in FS_STEPS:
        module = os if module_name == "os" else shutil
        monkeypatch.setattr(module, attr, wrap(getattr(module, attr)))


def test_a_crash_at_any_step_leaves_a_store_the_next_open_completes(v1_store, pristine, tmp_path, monkeypatch):
    counter = {"n": 0}
    with monkeypatch.context() as m:
        _patch_steps(m, _crashing(counter, at=10**9))
        BarStore(v1_store[0])
    total = counter["n"]
    assert total >= 8, "the migration's file-system steps were not seen"
    root, expected = pristine
    for at in range(1, total + 1):
        copy = tmp_path / f"crash-{at}"
        shutil.copytree(root, copy)
        counter = {"n": 0}
        with monkeypatch.context() as m:
            _patch_steps(m, _crashing(counter, at))
            with pytest.raises(KeyboardInterrupt):
                BarStore(copy)
        # recovery alone turns what the crash left into one whole layout that store.json names
        with StoreWriteLock(copy):
            migrate_module.recover(copy)
        version = json.loads((copy / "store.json").read_text())["format_version"]
        assert layout_levels(copy) == ({"date", "year"} if version == 1 else {"period"}), f"crash at step {at}"
        assert not (copy / migrate_module.NEW_TREE).exists() and not (copy / migrate_module.OLD_TREE).exists()
        legacy = every_bar(copy)
        pd.testing.assert_frame_equal(legacy.drop(columns="partition"), expected.drop(columns="partition"))
        BarStore(copy)  # the next open finishes the migration
        assert_current_and_complete(copy, expected)


@pytest.mark.parametrize("failing", ["link", "second rename", "store.json"])
def test_a_store_that_cannot_be_written_is_reported_and_left_as_it_was(v1_store, monkeypatch, failing):
    """Permission refused while linking, or the disk full at the swap or at store.json: StoreError, and the
    store is back in format 1 with every bar, ready to migrate on the next open."""
    root, expected = v1_store
    real_rename, real_replace = os.rename, os.replace
    renames = {"n": 0}

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(root / "bars"))

    def rename(src, dst, *a, **k):
        renames["n"] += 1
        if renames["n"] == 2:
            raise OSError(28, "No space left on device", str(dst))
        return real_rename(src, dst, *a, **k)

    def replace(src, dst, *a, **k):
        if Path(dst).name == "store.json":
            raise OSError(28, "No space left on device", str(dst))
        return real_replace(src, dst, *a, **k)

    if failing == "link":
        monkeypatch.setattr(os, "link", refuse)
        monkeypatch.setattr(shutil, "copy2", refuse)
    elif failing == "second rename":
        monkeypatch.setattr(os, "rename", rename)
    else:
        monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StoreError, match=r"format 1 and could not be moved.*(Permission denied|No space left)"):
        BarStore(root)
    monkeypatch.undo()
    assert json.loads((root / "store.json").read_text())["format_version"] == 1
    assert layout_levels(root) == {"date", "year"}
    assert not (root / migrate_module.NEW_TREE).exists() and not (root / migrate_module.OLD_TREE).exists()
    BarStore(root)
    assert_current_and_complete(root, expected)


def test_two_processes_opening_the_same_old_store_migrate_it_once(v1_store):
    root, expected = v1_store
    code = ("import sys; from workstation.store import BarStore; s = BarStore(sys.argv[1]); "
            "print(len(s.dates('1m')))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
    assert [o[0].strip() for o in outs] == ["3"] * 3
    assert_current_and_complete(root, expected)


def test_a_store_of_a_newer_format_is_refused(v1_store):
    root, _ = v1_store
    meta = json.loads((root / "store.json").read_text())
    (root / "store.json").write_text(json.dumps({**meta, "format_version": 3}))
    with pytest.raises(StoreError, match="format_version 3; this program reads bar stores up to version 2"):
        BarStore(root)
    assert layout_levels(root) == {"date", "year"}
