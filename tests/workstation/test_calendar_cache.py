"""The calendar cache on disk (workstation.calendar_cache): a miss computes the years with
pandas-market-calendars and writes them, a hit reads them without the library, a corrupt or stale
file is ignored and rewritten, two processes filling it at once leave whole files, and the sessions
are those pandas-market-calendars gives directly, with the cache and without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest

from workstation import calendar_cache, signed_json
from workstation.calendar import TimeManager
from workstation.calendar_cache import CalendarCache

ROOT = Path(__file__).resolve().parents[2]


def _as_ns(column: pd.Series) -> list[int]:
    return column.dt.as_unit("ns").astype("int64").tolist()


def _expected(exchange: str, start: str, end: str) -> pd.DataFrame:
    return mcal.get_calendar(exchange).schedule(start_date=start, end_date=end)


def _sessions_table(tm: TimeManager, start: str, end: str) -> dict[str, list]:
    sessions = tm.sessions(start, end)
    return {"date": [s.date for s in sessions], "open": [s.open_ns for s in sessions],
            "close": [s.close_ns for s in sessions], "break_start": [s.break_start_ns for s in sessions],
            "break_end": [s.break_end_ns for s in sessions], "early": [s.early_close for s in sessions]}


def _no_library(monkeypatch) -> None:
    """Fail the test if anything asks pandas-market-calendars for a calendar."""
    def refuse(*_a, **_k):
        raise AssertionError("pandas-market-calendars was asked although the cache holds the years")
    monkeypatch.setattr(mcal, "get_calendar", refuse)


def _year_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "calendars").glob("*/*.json") if p.name != "calendar.json")


@pytest.mark.parametrize("exchange,start,end", [
    ("XNYS", "2019-01-01", "2025-12-31"),     # holidays, early closes, DST changes, 2025-01-09 closure
    ("XHKG", "2022-01-01", "2024-12-31"),     # a lunch break, half days that close at the break
])
def test_sessions_equal_pandas_market_calendars_with_a_cold_cache_a_warm_one_and_none(
        tmp_path, monkeypatch, exchange, start, end):
    sched = _expected(exchange, start, end)
    cold = TimeManager(exchange, cache_dir=tmp_path)
    cold_table = _sessions_table(cold, start, end)
    assert cold.stats.years_computed > 0 and cold.stats.years_from_disk == 0
    assert cold_table["date"] == [d.date() for d in sched.index]
    assert cold_table["open"] == _as_ns(sched["market_open"])
    assert cold_table["close"] == _as_ns(sched["market_close"])
    if exchange == "XNYS":
        early = set(mcal.get_calendar(exchange).early_closes(sched).index.date)
        assert early and {d for d, e in zip(cold_table["date"], cold_table["early"], strict=True) if e} == early
        assert set(cold_table["break_start"]) == {-1}
    else:
        with_break = sched["break_start"].notna() & (sched["break_start"] < sched["market_close"])
        got = [b for b in cold_table["break_start"] if b >= 0]
        assert len(got) == int(with_break.sum()) > 200
        assert got == _as_ns(sched.loc[with_break, "break_start"])
        assert [b for b in cold_table["break_end"] if b >= 0] == _as_ns(sched.loc[with_break, "break_end"])

    _no_library(monkeypatch)
    warm = TimeManager(exchange, cache_dir=tmp_path)
    assert _sessions_table(warm, start, end) == cold_table
    assert warm.stats.years_computed == 0 and warm.stats.years_from_disk == cold.stats.years_computed
    assert warm.tz == cold.tz and warm.has_breaks == cold.has_breaks == (exchange == "XHKG")
    monkeypatch.undo()
    uncached = TimeManager(exchange, cache_dir=None)
    assert _sessions_table(uncached, start, end) == cold_table
    assert not list(Path(tmp_path).glob("calendars/*/*.tmp"))


def test_a_miss_writes_each_year_once_and_a_hit_reads_it_without_the_library(tmp_path, monkeypatch):
    first = TimeManager("XNYS", "America/New_York", cache_dir=tmp_path)
    first.trading_dates("2024-11-25", "2024-12-03")
    names = [p.name for p in _year_files(tmp_path)]
    assert names == ["2024.json"]
    first.trailing_dates("2024-11-25", "52w")          # reaches back into 2023
    assert [p.name for p in _year_files(tmp_path)] == ["2023.json", "2024.json"]
    assert first.stats.years_computed == 2

    _no_library(monkeypatch)
    second = TimeManager("XNYS", "America/New_York", cache_dir=tmp_path)
    assert second.trading_dates("2024-11-25", "2024-12-03") == first.trading_dates("2024-11-25", "2024-12-03")
    assert second.trailing_dates("2024-11-25", "52w") == first.trailing_dates("2024-11-25", "52w")
    assert second.stats.years_from_disk == 2 and second.stats.years_computed == 0
    assert second.session("2024-11-29").early_close and second.session("2024-11-28") is None


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"\x00\xffnot json at all")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "one digit changed":          # still valid JSON, a close moved by a second: the digest tells
        doc = json.loads(data)
        doc["close_ns"][3] += 1_000_000_000
        path.write_text(json.dumps(doc))
    elif how == "resigned nonsense":          # digest right, content impossible (opens after closes)
        doc = json.loads(data)
        doc.pop("sha256")
        doc["open_ns"], doc["close_ns"] = doc["close_ns"], doc["open_ns"]
        doc["sha256"] = signed_json.digest(doc)
        path.write_text(json.dumps(doc))
    elif how == "another year's file":
        doc = json.loads(data)
        doc.pop("sha256")
        doc["year"] = 2023
        doc["sha256"] = signed_json.digest(doc)
        path.write_text(json.dumps(doc))
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "one digit changed", "resigned nonsense",
                                 "another year's file"])
def test_a_corrupt_year_file_is_ignored_computed_again_and_rewritten(tmp_path, how):
    reference = _sessions_table(TimeManager("XNYS", cache_dir=None), "2024-01-01", "2024-12-31")
    TimeManager("XNYS", cache_dir=tmp_path).trading_dates("2024-03-01", "2024-03-05")
    [path] = _year_files(tmp_path)
    _corrupt(path, how)
    again = TimeManager("XNYS", cache_dir=tmp_path)
    assert _sessions_table(again, "2024-01-01", "2024-12-31") == reference
    assert again.stats.years_from_disk == 0 and again.stats.years_computed == 1
    third = TimeManager("XNYS", cache_dir=tmp_path)       # the rewritten file is whole again
    assert _sessions_table(third, "2024-01-01", "2024-12-31") == reference
    assert third.stats.years_from_disk == 1 and third.stats.years_computed == 0


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_corrupt_calendar_file_is_rebuilt(tmp_path, how, monkeypatch):
    TimeManager("XHKG", cache_dir=tmp_path)
    [facts] = (tmp_path / "calendars").rglob("calendar.json")
    _corrupt(facts, how)
    again = TimeManager("XHKG", cache_dir=tmp_path)
    assert again.tz == "Asia/Hong_Kong" and again.has_breaks
    _no_library(monkeypatch)
    assert TimeManager("XHKG", cache_dir=tmp_path).has_breaks      # rewritten: read without the library


def test_a_stale_cache_of_another_library_version_is_not_used(tmp_path, monkeypatch):
    TimeManager("XNYS", cache_dir=tmp_path).trading_dates("2024-03-01", "2024-03-05")
    [old_path] = _year_files(tmp_path)
    real_key = calendar_cache.calendar_key

    def newer(exchange):
        return {**real_key(exchange), "pandas_market_calendars": "99.0"}

    monkeypatch.setattr(calendar_cache, "calendar_key", newer)
    upgraded = TimeManager("XNYS", cache_dir=tmp_path)
    upgraded.trading_dates("2024-03-01", "2024-03-05")
    assert upgraded.stats.years_computed == 1 and upgraded.stats.years_from_disk == 0
    new_paths = [p for p in _year_files(tmp_path) if p != old_path]
    assert len(new_paths) == 1 and new_paths[0].parent != old_path.parent     # both versions keep theirs

    # a file carrying another key at this key's path (copied over, or an older format) is ignored too
    new_paths[0].write_bytes(old_path.read_bytes())
    again = TimeManager("XNYS", cache_dir=tmp_path)
    again.trading_dates("2024-03-01", "2024-03-05")
    assert again.stats.years_computed == 1 and again.stats.years_from_disk == 0


def test_the_key_names_the_calendar_the_hours_and_the_library_versions():
    key = calendar_cache.calendar_key("XNYS")
    assert key["calendar"] == "XNYS" and "regular" in key["session_hours"]
    assert key["pandas_market_calendars"] == mcal.__version__
    assert key["pandas"] == pd.__version__
    import exchange_calendars

    assert key["exchange_calendars"] == exchange_calendars.__version__
    assert CalendarCache(Path("/x"), "XNYS").folder != CalendarCache(Path("/x"), "XNAS").folder


def test_an_unwritable_cache_only_costs_the_computation(tmp_path, caplog):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    tm = TimeManager("XNYS", cache_dir=blocked)
    assert tm.trading_dates("2024-11-27", "2024-12-02") == [pd.Timestamp(d).date() for d in
                                                            ("2024-11-27", "2024-11-29", "2024-12-02")]
    assert "cannot write" in caplog.text


def test_an_unknown_exchange_is_still_refused_with_a_warm_cache(tmp_path):
    from workstation.errors import CalendarError

    TimeManager("XNYS", cache_dir=tmp_path)
    with pytest.raises(CalendarError, match="unknown exchange calendar 'NOPE'"):
        TimeManager("NOPE", cache_dir=tmp_path)


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSTATION_CACHE_DIR", str(tmp_path / "c"))
    assert calendar_cache.default_cache_root() == tmp_path / "c"
    monkeypatch.setenv("WORKSTATION_CACHE_DIR", "")
    assert calendar_cache.default_cache_root() is None
    monkeypatch.delenv("WORKSTATION_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert calendar_cache.default_cache_root() == tmp_path / "xdg" / "backtest-workstation"
    TimeManager("XNYS").trading_dates("2024-03-01", "2024-03-05")
    assert _year_files(tmp_path / "xdg" / "backtest-workstation")


FILL = """
import hashlib, sys
from workstation.calendar import TimeManager
tm = TimeManager("XNYS", cache_dir=sys.argv[1])
s = tm.sessions("2021-01-01", "2024-12-31")
print(tm.stats.years_computed, hashlib.sha256(repr([(x.date, x.open_ns, x.close_ns, x.early_close)
      for x in s]).encode()).hexdigest())
"""


def test_processes_filling_the_same_cache_at_once_leave_whole_files(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", FILL, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]
    digests = {out.split()[1] for out, _ in outputs}
    assert len(digests) == 1
    files = _year_files(tmp_path)
    assert [p.name for p in files] == ["2021.json", "2022.json", "2023.json", "2024.json"]
    assert not [p for p in (tmp_path / "calendars").rglob("*") if p.name.startswith(".")]   # no temporary left
    cache = CalendarCache(tmp_path, "XNYS")
    assert all(cache.read_year(y) is not None for y in range(2021, 2025))
    after = subprocess.run([sys.executable, "-c", FILL, str(tmp_path)], capture_output=True, text=True, env=env,
                           timeout=240)
    computed, digest = after.stdout.split()
    assert computed == "0" and {digest} == digests


def test_a_year_read_back_is_the_year_written(tmp_path):
    tm = TimeManager("XHKG", cache_dir=None)
    [table] = tm._compute_years([2024])
    cache = CalendarCache(tmp_path, "XHKG")
    cache.write_year(table)
    back = cache.read_year(2024)
    assert back is not None
    for a, b in zip(back.columns(), table.columns(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert cache.read_year(2023) is None


def test_the_calendar_names_are_kept_for_the_config_editor(tmp_path, monkeypatch):
    assert calendar_cache.read_calendar_names(tmp_path) is None
    TimeManager("XNYS", cache_dir=tmp_path)                  # a miss: the library is used, its names kept
    names = calendar_cache.read_calendar_names(tmp_path)
    assert names == sorted(mcal.get_calendar_names()) and {"XNYS", "XHKG", "XTKS"} <= set(names)
    [path] = (tmp_path / "calendars").glob("names-*.json")
    _corrupt(path, "truncated")
    assert calendar_cache.read_calendar_names(tmp_path) is None
    TimeManager("XTKS", cache_dir=tmp_path)
    assert calendar_cache.read_calendar_names(tmp_path) == names

    pytest.importorskip("PySide6")
    from ui.dialogs import config_editor

    monkeypatch.setenv("WORKSTATION_CACHE_DIR", str(tmp_path))
    monkeypatch.delitem(sys.modules, "pandas_market_calendars")   # as in a GUI on a warm cache
    suggested = config_editor.exchange_names()
    assert suggested[:4] == ["XNYS", "XNAS", "NYSE", "NASDAQ"] and "XHKG" in suggested
    monkeypatch.setenv("WORKSTATION_CACHE_DIR", str(tmp_path / "empty"))
    assert config_editor.exchange_names() == ["XNYS", "XNAS", "NYSE", "NASDAQ"]


def test_extended_hours_come_from_the_cache_as_computed_and_impossible_ones_are_refused(tmp_path):
    """A calendar with pre/post-market times (NYSE) keeps them in its year files: read back they give
    the same extended sessions as the library; a pre-market after its open is refused (recomputed)."""
    computed = TimeManager("NYSE", cache_dir=None, session_hours="extended").sessions("2024-11-25", "2024-11-29")
    TimeManager("NYSE", cache_dir=tmp_path).trading_dates("2024-11-25", "2024-11-29")
    read = TimeManager("NYSE", cache_dir=tmp_path, session_hours="extended")
    assert read.sessions("2024-11-25", "2024-11-29") == computed and read.stats.years_computed == 0
    assert computed[-1].end_ns - computed[-1].close_ns == 4 * 3600 * 10**9       # 13:00 to 17:00
    [path] = [p for p in _year_files(tmp_path) if p.parent.name.startswith("NYSE")]
    doc = json.loads(path.read_bytes())
    doc.pop("sha256")
    doc["pre_ns"][2] = doc["open_ns"][2] + 60 * 10**9
    doc["sha256"] = signed_json.digest(doc)
    path.write_text(json.dumps(doc))
    again = TimeManager("NYSE", cache_dir=tmp_path, session_hours="extended")
    assert again.sessions("2024-11-25", "2024-11-29") == computed and again.stats.years_computed == 1
