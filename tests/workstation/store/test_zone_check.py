"""A wrong --tz is warned about: real vendor files written naive (their offsets stripped), imported
with the right and the wrong zone, through `workstation import` (text and --json)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workstation.calendar import TimeManager
from workstation.cli import main as cli_main
from workstation.store import BarStore, import_files
from workstation.store.zone_check import declared_zone_warning


def _naive_copy(real_dir, name: str, zone: str, dest) -> tuple:
    """The file with its timestamps as naive wall-clock times of `zone`."""
    df = pd.read_csv(real_dir / "lumibot" / name)
    col = df.columns[0]
    df[col] = pd.to_datetime(df[col], utc=True).dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M:%S")
    path = dest / name.replace(".csv.gz", f"_{zone.replace('/', '_')}.csv")
    df.to_csv(path, index=False)
    return path, len(df)


@pytest.mark.parametrize("name", ["UPRO_Minute.csv.gz", "SRNE_Minute.csv.gz"])
def test_naive_utc_read_as_new_york_warns_in_text_and_json(real_dir, tmp_path, capsys, name):
    path, rows = _naive_copy(real_dir, name, "UTC", tmp_path)
    code = cli_main(["import", str(path), "--store", str(tmp_path / "s1"), "--tz", "America/New_York", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows_stored"] > 0.95 * rows               # the import still runs
    (warning,) = out["warnings"]
    assert str(path) in warning and "--tz America/New_York may be wrong" in warning
    assert "look like UTC time" in warning and "regular session" in warning
    code = cli_main(["import", str(path), "--store", str(tmp_path / "s2"), "--tz", "America/New_York"])
    text = capsys.readouterr().out
    assert code == 0 and "WARNING: " in text and "--tz UTC" in text
    # the right zone: no warning, and the regular-session bars are where the stats file says
    summary = import_files([path], BarStore(tmp_path / "s3", create=True), tz="UTC")
    assert summary.warnings == [] and "warnings" not in summary.to_dict()


def test_new_york_file_read_as_utc_or_chicago_warns(real_dir, tmp_path):
    path, _ = _naive_copy(real_dir, "SPY_Minute_2021.csv.gz", "America/New_York", tmp_path)
    right = import_files([path], BarStore(tmp_path / "a", create=True), tz="America/New_York")
    assert right.warnings == []
    as_utc = import_files([path], BarStore(tmp_path / "b", create=True), tz="UTC")
    assert len(as_utc.warnings) == 1 and "look like America/New_York time" in as_utc.warnings[0]
    # an hour off: most bars stay in regular hours; the opening-auction spike tells
    as_chicago = import_files([path], BarStore(tmp_path / "c", create=True), tz="America/Chicago")
    assert len(as_chicago.warnings) == 1
    assert "opening-auction spike" in as_chicago.warnings[0] and "America/New_York" in as_chicago.warnings[0]


def test_files_with_offsets_and_correct_zones_are_not_warned(real_import):
    _, summary = real_import
    assert summary.warnings == []


def test_too_few_bars_or_too_few_sessions_give_no_opinion():
    tm = TimeManager()
    ts = pd.date_range("2024-03-04 14:30", periods=150, freq="1min", tz="UTC").as_unit("ns").asi8
    assert declared_zone_warning(ts + 5 * 3600 * 10**9, np.ones(150), "America/New_York", tm) is None
    one_day = pd.date_range("2024-03-04 19:30", periods=390, freq="1min", tz="UTC").as_unit("ns").asi8
    assert declared_zone_warning(one_day, np.ones(390), "America/New_York", tm) is None
