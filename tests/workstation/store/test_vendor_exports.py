"""The export files of the platforms our users come from import as they are: MetaTrader 5 (tab
separated, `<DATE>` `<TIME>` `<OPEN>` ... `<TICKVOL>` `<VOL>` `<SPREAD>`), MetaTrader 4 (no header
row: date, clock time, open, high, low, close, volume), NinjaTrader (no header row, `yyyyMMdd HHmmss`
bar END times, `;`) and TradingView (`EXCHANGE_SYMBOL, 1.csv`, epoch seconds). Each is written here
from a real vendor file whose times carry their UTC offsets, and must store exactly the bars that
file stores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workstation.cli import main as cli_main
from workstation.errors import DataError
from workstation.store import BarStore, import_files

NY = "America/New_York"
SOURCE = "SPY_Minute_2021.csv.gz"      # regular hours, times with offsets


@pytest.fixture(scope="module")
def source(real_dir) -> pd.DataFrame:
    df = pd.read_csv(real_dir / "lumibot" / SOURCE)
    df["local"] = pd.to_datetime(df["time"], utc=True).dt.tz_convert(NY)
    return df


@pytest.fixture(scope="module")
def expected(real_dir, tmp_path_factory) -> pd.DataFrame:
    """The bars the original file stores."""
    store = BarStore(tmp_path_factory.mktemp("vendor") / "store", create=True)
    import_files([real_dir / "lumibot" / SOURCE], store, symbol="SPY")
    return _stored(store)


def _stored(store: BarStore) -> pd.DataFrame:
    bars = store.read_bars(["SPY"], "1m", 0, 2**62)
    frame = bars[["timestamp", "open", "high", "low", "close", "volume"]].copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ns").astype("int64")
    return frame.astype({"volume": np.float64}).reset_index(drop=True)


def _metatrader5(df: pd.DataFrame, path, real_volume: bool = True) -> None:
    pd.DataFrame({"<DATE>": df["local"].dt.strftime("%Y.%m.%d"), "<TIME>": df["local"].dt.strftime("%H:%M:%S"),
                  "<OPEN>": df["open"], "<HIGH>": df["high"], "<LOW>": df["low"], "<CLOSE>": df["close"],
                  "<TICKVOL>": df["volume"] if not real_volume else (df["volume"] // 7),
                  "<VOL>": df["volume"] if real_volume else 0, "<SPREAD>": 2}).to_csv(path, sep="\t", index=False)


def _metatrader4(df: pd.DataFrame, path) -> None:
    rows = zip(df["local"].dt.strftime("%Y.%m.%d"), df["local"].dt.strftime("%H:%M"), df["open"], df["high"],
               df["low"], df["close"], df["volume"], strict=True)
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))


def _ninjatrader(df: pd.DataFrame, path) -> None:
    ends = (df["local"] + pd.Timedelta(minutes=1)).dt.strftime("%Y%m%d %H%M%S")
    rows = zip(ends, df["open"], df["high"], df["low"], df["close"], df["volume"], strict=True)
    path.write_text("".join(";".join(map(str, r)) + "\n" for r in rows))


def _tradingview(df: pd.DataFrame, path) -> None:
    epoch = pd.to_datetime(df["time"], utc=True).dt.as_unit("s").astype("int64")
    pd.DataFrame({"time": epoch, "open": df["open"], "high": df["high"], "low": df["low"], "close": df["close"],
                  "Volume": df["volume"]}).to_csv(path, index=False)


@pytest.mark.parametrize("vendor, name, extra", [
    ("mt5", "SPY_M1.csv", []),
    ("mt4", "SPY1.csv", []),
    ("ninjatrader", "SPY.Last.txt", ["--bar-time", "end"]),
    ("tradingview", "NYSEARCA_SPY, 1.csv", []),
])
def test_each_export_stores_the_bars_of_the_original_file(source, expected, tmp_path, capsys, vendor, name, extra):
    path = tmp_path / name
    {"mt5": _metatrader5, "mt4": _metatrader4, "ninjatrader": _ninjatrader, "tradingview": _tradingview}[vendor](
        source, path)
    store_dir = tmp_path / "store"
    tz = [] if vendor == "tradingview" else ["--tz", NY]
    assert cli_main(["import", str(path), "--store", str(store_dir), *tz, *extra, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_quarantined"] == 0 and "warnings" not in summary
    assert list(summary["per_symbol"]) == ["SPY"]          # from the file name, whatever its shape
    pd.testing.assert_frame_equal(_stored(BarStore(store_dir)), expected)
    notes = summary["files"][0].get("notes", [])
    assert any("no header row" in n for n in notes) == (vendor in ("mt4", "ninjatrader"))


def test_end_stamped_bars_read_as_starts_are_warned_about(source, expected, tmp_path, capsys):
    path = tmp_path / "SPY.Last.txt"
    _ninjatrader(source, path)
    as_starts = import_files([path], BarStore(tmp_path / "a", create=True), tz=NY)
    (warning,) = as_starts.warnings
    assert "look like bar ends" in warning and "--bar-time end" in warning and "on the bar after the open" in warning
    stored = _stored(BarStore(tmp_path / "a"))
    assert (stored["timestamp"] - 60 * 10**9).tolist() == expected["timestamp"].tolist()    # each a minute late
    # the warning's command removes them (after a dry run that changes nothing); the re-import is then right
    command = warning.split("To remove them: workstation ", 1)[1].split()
    assert command[:2] == ["store", "remove"] and command[-1] == "--yes"
    # the same bars as data (the window's Remove button, the --json document)
    days = [str(d) for d in sorted(source["local"].dt.date.unique())]
    assert as_starts.removals == [{"file": str(path), "symbols": ["SPY"], "interval": "1m", "start": days[0],
                                   "end": days[-1]}] == as_starts.to_dict()["removals"]
    assert command[command.index("--start") + 1] == days[0] and command[command.index("--end") + 1] == days[-1]
    assert cli_main(command[:-1]) == 0 and _stored(BarStore(tmp_path / "a")).equals(stored)
    assert f"would remove {len(stored):,} bars (SPY {len(stored):,})" in capsys.readouterr().out
    assert cli_main([*command, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["removed"] == {"SPY": len(stored)} and done["applied"] and done["files_rewritten"] == []
    assert len(_stored(BarStore(tmp_path / "a"))) == 0 and BarStore(tmp_path / "a").files("1m") == []
    assert cli_main(["store", "info", "--store", str(tmp_path / "a")]) == 0
    assert "0 bar files" in (info := capsys.readouterr().out) and "0 symbols\n  no bars yet" in info
    import_files([path], BarStore(tmp_path / "a"), tz=NY, bar_time="end")
    pd.testing.assert_frame_equal(_stored(BarStore(tmp_path / "a")), expected)
    as_ends = import_files([path], BarStore(tmp_path / "b", create=True), tz=NY, bar_time="end")
    assert as_ends.warnings == [] and "moved back 1m" in as_ends.files[0]["timestamps"]
    assert as_ends.removals == [] and "removals" not in as_ends.to_dict()
    spy = as_ends.to_dict()["per_symbol"]["SPY"]
    assert (spy["first_session"], spy["last_session"], spy["sessions"]) == (days[0], days[-1], len(days))
    # bars stamped with their starts (the original file) never look end-stamped
    original = tmp_path / "SPY_M1.csv"
    _metatrader5(source, original)
    assert import_files([original], BarStore(tmp_path / "c", create=True), tz=NY).warnings == []


def test_metatrader_tick_volume_stands_in_when_the_real_volume_is_all_zero(source, tmp_path):
    path = tmp_path / "SPY_M1.csv"
    _metatrader5(source, path, real_volume=False)
    summary = import_files([path], BarStore(tmp_path / "s", create=True), tz=NY)
    assert "volume from <TICKVOL> (tick counts" in summary.render()
    assert _stored(BarStore(tmp_path / "s"))["volume"].sum() == source["volume"].sum()
    _metatrader5(source, path)          # real volume present: it is the volume, the tick counts are not used
    summary = import_files([path], BarStore(tmp_path / "t", create=True), tz=NY)
    assert "notes" not in summary.files[0]
    assert _stored(BarStore(tmp_path / "t"))["volume"].sum() == source["volume"].sum()


def test_files_without_a_header_of_another_shape_and_daily_end_times_are_refused(tmp_path):
    store = BarStore(tmp_path / "s", create=True)
    five = tmp_path / "SPY_5.csv"
    five.write_text("20210104 093100;370.1;370.5;369.9;370.2\n20210104 093200;370.2;370.6;370.0;370.3\n")
    with pytest.raises(DataError, match=r"has no header row .* and 5 columns; .* add a header line"):
        import_files([five], store, tz=NY)
    daily = tmp_path / "SPY_D.csv"
    daily.write_text("date,open,high,low,close,volume\n2021-01-04,1,2,0.5,1.5,100\n")
    with pytest.raises(DataError, match="--bar-time end is for intraday bars"):
        import_files([daily], store, interval="1d", bar_time="end")
    assert not any((tmp_path / "s").rglob("*.parquet"))


def test_end_stamps_are_told_by_the_session_bounds_without_a_volume_spike():
    """Flat volume (no opening auction to go by): bars 09:31..16:00 in three sessions look end-stamped;
    09:30..15:59 (starts) and 10:31..17:00 (an hour off, a wrong zone) do not."""
    from workstation.calendar import TimeManager
    from workstation.store.zone_check import bar_end_warning

    tm = TimeManager()
    minute = 60 * 10**9
    days = ("2024-03-04", "2024-03-05", "2024-03-06")
    starts = np.concatenate([pd.date_range(f"{d} 09:30", periods=390, freq="1min", tz=NY).as_unit("ns").asi8
                             for d in days])
    flat = np.full(len(starts), 1000.0)
    warning = bar_end_warning(starts + minute, flat, minute, tm)
    assert warning is not None and "3 of 3 sessions have a bar at the close (16:00) and none at the open (09:30)" in warning
    assert bar_end_warning(starts, flat, minute, tm) is None
    assert bar_end_warning(starts + 61 * minute, flat, minute, tm) is None
