"""`workstation import --exchange`: a new store on another exchange's calendar (its sessions decide
regular hours and trading days), checked against the files' bars; an existing store keeps its own
exchange and refuses another's bars; an unknown calendar creates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.cli import main as cli_main
from workstation.store import BarStore


def london_bars(path: Path, symbols=("VOD", "BP"), days=("2024-03-04", "2024-03-08")) -> pd.DataFrame:
    """Bars of London's regular session (08:00-16:30 local) on its business days, as a plain CSV."""
    rng = np.random.default_rng(3)
    rows = []
    for sym in symbols:
        price = 100.0
        for day in pd.bdate_range(*days):
            for minute in range(510):
                close = price * (1 + rng.normal(0, 0.001))
                rows.append(((day + pd.Timedelta(hours=8, minutes=minute)).strftime("%Y-%m-%d %H:%M:%S"), sym,
                             price, max(price, close) + 0.01, min(price, close) - 0.01, close, 1000))
                price = close
    frame = pd.DataFrame(rows, columns=["time", "symbol", "open", "high", "low", "close", "volume"])
    frame.to_csv(path, index=False)
    return frame


def test_a_new_store_takes_the_exchange_given_and_keeps_it(tmp_path, capsys):
    source = tmp_path / "london.csv"
    frame = london_bars(source)
    store_dir = tmp_path / "lse"
    args = ["import", str(source), "--store", str(store_dir), "--tz", "Europe/London", "--json"]
    assert cli_main([*args, "--exchange", "XLON"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exchange"] == "XLON" and summary["rows_stored"] == len(frame)
    # every bar is inside London's regular session: the store's calendar is London's, not New York's
    assert summary["per_symbol"]["VOD"]["rth_bars"] == len(frame) // 2
    store = BarStore(store_dir)
    assert store.exchange == "XLON" and store.time_manager.tz == "Europe/London"
    assert store.dates("1m")[0].isoformat() == "2024-03-04"
    files = {p: p.read_bytes() for p in store_dir.rglob("*.parquet")}
    # the store keeps its exchange: another exchange's bars are refused, nothing changes
    assert cli_main([*args, "--exchange", "XNYS"]) == 2
    assert "holds XLON bars, not XNYS" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in store_dir.rglob("*.parquet")} == files
    # an import without --exchange goes into the store's own calendar
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out)["duplicates_skipped"] == len(frame)


def test_a_new_store_on_the_default_calendar_reads_london_hours_as_new_york_ones(tmp_path, capsys):
    source = tmp_path / "london.csv"
    frame = london_bars(source)
    assert cli_main(["import", str(source), "--store", str(tmp_path / "nyse"), "--tz", "Europe/London",
                     "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exchange"] == "XNYS"
    assert summary["per_symbol"]["VOD"]["rth_bars"] < len(frame) // 2      # London's morning is New York's night


def test_an_unknown_calendar_creates_no_store(tmp_path, capsys):
    source = tmp_path / "london.csv"
    london_bars(source, days=("2024-03-04", "2024-03-04"))
    assert cli_main(["import", str(source), "--store", str(tmp_path / "new"), "--exchange", "XMARS"]) == 2
    assert "unknown exchange calendar 'XMARS'" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
