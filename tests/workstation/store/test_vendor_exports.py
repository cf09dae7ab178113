"""The export files of the platforms our users come from import as they are: MetaTrader 5 (tab
separated, `<DATE>` `<TIME>` `<OPEN>` ... `<TICKVOL>` `<VOL>` `<SPREAD>`), MetaTrader 4 (no header
row: date, clock time, open, high, low, close, volume), NinjaTrader (no header row, `yyyyMMdd HHmmss`
bar END times, `;`) and TradingView (`EXCHANGE_SYMBOL, 1.csv`, epoch seconds). Each is written here
from a real vendor file whose times carry their UTC offsets, and must store exactly the bars that
file stores."""

from __future__ import annotations

import gzip
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
    assert as_starts.removals == [{"file": str(path), "kind": "bars", "symbols": ["SPY"], "interval": "1m",
                                   "start": days[0], "end": days[-1]}] == as_starts.to_dict()["removals"]
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


@pytest.fixture(scope="module")
def upro_2020(real_dir, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real UPRO 2020 file's weeks around the spring and autumn clock changes (the US and the EU
    change on dates weeks apart), and the bars that slice stores."""
    df = pd.read_csv(real_dir / "lumibot" / "UPRO_Minute.csv.gz")
    df["local"] = pd.to_datetime(df["time"], utc=True).dt.tz_convert(NY)
    day = df["local"].dt.strftime("%Y-%m-%d")
    df = df[day.between("2020-02-24", "2020-04-10") | day.between("2020-10-19", "2020-11-13")].reset_index(drop=True)
    original = tmp_path_factory.mktemp("upro") / "UPRO_Minute.csv"
    df[["time", "open", "high", "low", "close", "volume"]].to_csv(original, index=False)
    store = BarStore(original.parent / "store", create=True)
    import_files([original], store)
    bars = store.read_bars(["UPRO"], "1m", 0, 2**62)
    return df, pd.to_datetime(bars["timestamp"], utc=True).dt.as_unit("ns").astype("int64").reset_index(drop=True)


def _metatrader_server_time(df: pd.DataFrame, path) -> None:
    """A MetaTrader 5 export stamped in the broker's server time: New York time + 7 hours."""
    server = df["local"].dt.tz_localize(None) + pd.Timedelta(hours=7)
    _metatrader5(df.assign(local=server), path)


def test_metatrader_server_time_reads_as_new_york_plus_7_and_athens_is_doubted_on_its_clock_change_dates(
        upro_2020, tmp_path):
    df, expected = upro_2020
    path = tmp_path / "UPRO_M1.csv"
    _metatrader_server_time(df, path)

    def imported(tz: str):
        store = BarStore(tmp_path / tz.replace("/", "_"), create=True)
        summary = import_files([path], store, tz=tz)
        bars = store.read_bars(["UPRO"], "1m", 0, 2**62)
        return summary, pd.to_datetime(bars["timestamp"], utc=True).dt.as_unit("ns").astype("int64")

    server, stamps = imported("America/New_York+7")
    assert server.warnings == [] and "zone America/New_York+7 from --tz" in server.files[0]["timestamps"]
    assert stamps.tolist() == expected.tolist()                   # every bar where the original file has it

    # Europe/Athens has the same offsets but the EU's clock-change dates: those weeks' bars an hour off
    athens, stamps = imported("Europe/Athens")
    off = stamps.to_numpy() != expected.to_numpy()
    days = sorted({str(d.date()) for d in pd.to_datetime(expected[off], utc=True).dt.tz_convert(NY)})
    assert len(days) == 20 and days[0] == "2020-03-09" and days[-1] == "2020-10-30"
    (warning,) = athens.warnings
    assert "--tz Europe/Athens may be wrong on its daylight-saving dates" in warning
    assert "20 sessions (2020-03-09 .. 2020-10-30)" in warning and "re-import with --tz America/New_York+7" in warning
    assert athens.removals[0]["symbols"] == ["UPRO"]

    # read as New York time, it is seven hours off: the whole-file sign names the server time
    (warning,) = imported(America := "America/New_York")[0].warnings
    assert f"--tz {America} may be wrong" in warning and "re-import with --tz America/New_York+7" in warning


def test_shifted_zones_are_read_and_refused_by_their_form(tmp_path):
    from workstation.store.import_zones import localize, parse_zone, wall_times

    hour = 3600 * 10**9
    assert parse_zone("America/New_York+7") == ("America/New_York", 7 * hour)
    assert parse_zone(" UTC+7 ") == ("UTC", 7 * hour)
    assert parse_zone("Europe/Berlin-01:30") == ("Europe/Berlin", -3 * hour // 2)
    assert parse_zone("Etc/GMT+5") == ("Etc/GMT+5", 0)             # an IANA name is always itself
    for bad in ("Mars/Olympus+2", "America/New_York+15", "America/New_York+7:75", "+7"):
        with pytest.raises(ValueError, match="MetaTrader server time"):
            parse_zone(bad)
    # server time 2020-03-09 16:30 (the US has moved its clocks, the EU not yet) is 09:30 in New York
    wall = pd.DatetimeIndex(["2020-03-09 16:30", "2020-03-06 16:30"])
    local = localize(wall, "America/New_York+7")
    assert [t.isoformat() for t in local.tz_convert(NY)] == ["2020-03-09T09:30:00-04:00", "2020-03-06T09:30:00-05:00"]
    assert wall_times(local.tz_convert("UTC").as_unit("ns").asi8, "America/New_York+7").equals(wall)
    with pytest.raises(DataError, match="--tz: unknown time zone 'Mars/Olympus'"):
        import_files([tmp_path / "AAPL_M1.csv"], BarStore(tmp_path / "store", create=True), tz="Mars/Olympus")


def test_a_daily_export_imported_as_minutes_is_refused_naming_the_daily_interval(source, tmp_path):
    """MetaTrader's D1 export (a bar at 00:00 each day): with the default --interval 1m each day would
    be stored as one minute bar after the close; it is refused whole, and imports with --interval 1d."""
    day = source["local"].dt.date
    daily = source.groupby(day).agg(open=("open", "first"), high=("high", "max"), low=("low", "min"),
                                    close=("close", "last"), volume=("volume", "sum"))
    path = tmp_path / "SPY_D1.csv"
    pd.DataFrame({"<DATE>": pd.to_datetime(pd.Series(daily.index)).dt.strftime("%Y.%m.%d"), "<TIME>": "00:00:00",
                  "<OPEN>": daily["open"].to_numpy(), "<HIGH>": daily["high"].to_numpy(),
                  "<LOW>": daily["low"].to_numpy(), "<CLOSE>": daily["close"].to_numpy(), "<TICKVOL>": 1,
                  "<VOL>": daily["volume"].to_numpy(), "<SPREAD>": 0}).to_csv(path, sep="\t", index=False)
    store = BarStore(tmp_path / "store", create=True)
    with pytest.raises(DataError, match=r"one a day \(31 of 31 symbol-days .*--interval 1d; nothing was imported"):
        import_files([path], store, tz=NY)
    assert store.files("1m") == []
    summary = import_files([path], store, interval="1d")
    assert summary.rows_stored == len(daily) == 31
    stored = store.read_bars(["SPY"], "1d", 0, 2**62)
    assert stored["close"].tolist() == daily["close"].tolist()


def test_five_minute_bars_imported_as_minutes_are_doubted_and_a_thin_minute_file_is_not(source, real_dir, tmp_path):
    bucket = source["local"].dt.floor("5min")
    m5 = source.groupby(bucket).agg(open=("open", "first"), high=("high", "max"), low=("low", "min"),
                                    close=("close", "last"), volume=("volume", "sum")).reset_index()
    path = tmp_path / "SPY_M5.csv"
    pd.DataFrame({"time": m5["local"].dt.strftime("%Y-%m-%d %H:%M:%S"), "open": m5["open"], "high": m5["high"],
                  "low": m5["low"], "close": m5["close"], "volume": m5["volume"]}).to_csv(path, index=False)
    as_minutes = import_files([path], BarStore(tmp_path / "a", create=True), tz=NY)
    (warning,) = as_minutes.warnings
    assert "its bars are 5 minutes apart" in warning and "re-import with --interval 5m" in warning
    assert "To remove them: workstation store remove" in warning and as_minutes.removals[0]["interval"] == "1m"
    as_five = import_files([path], BarStore(tmp_path / "b", create=True), tz=NY, interval="5m")
    assert as_five.warnings == [] and as_five.rows_stored == len(m5)
    # a thin symbol's 1m bars (SRNE: about half the minutes of a session) are sparse, not another interval
    thin = import_files([real_dir / "lumibot" / "SRNE_Minute.csv.gz"], BarStore(tmp_path / "c", create=True))
    assert thin.warnings == [] and thin.rows_stored > 5000


def test_a_utf16_export_imports_like_the_utf8_one(source, expected, tmp_path):
    """MetaTrader's scripts write UTF-16 text by default (as Excel's "Unicode text" does): read by its
    byte-order mark, plain or gzipped, with a refused row's text read back from it for the quarantine."""
    utf8 = tmp_path / "SPY_M1.csv"
    _metatrader5(source, utf8)
    text = utf8.read_text(encoding="utf-8")
    plain = tmp_path / "utf16" / "SPY_M1.csv"
    plain.parent.mkdir()
    plain.write_text(text, encoding="utf-16")
    assert plain.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    store = BarStore(tmp_path / "a", create=True)
    import_files([plain], store, tz=NY)
    pd.testing.assert_frame_equal(_stored(store), expected)
    lines = text.splitlines()
    lines[5] = lines[5].replace("\t", "\t-", 2).replace("\t-", "\t", 1)        # the open made negative
    packed = tmp_path / "gz" / "SPY_M1.csv.gz"
    packed.parent.mkdir()
    with gzip.open(packed, "wt", encoding="utf-16") as fh:
        fh.write("\n".join(lines) + "\n")
    summary = import_files([packed], BarStore(tmp_path / "b", create=True), tz=NY)
    assert summary.rows_stored == len(expected) - 1 and summary.quarantined_by_reason == {"non-positive price": 1}
    refused = pd.read_parquet(summary.quarantine_file)
    assert refused["source_line"].tolist() == [6] and refused["<OPEN>"].iloc[0].startswith("-")


def test_decimal_commas_of_a_european_spreadsheet_export_are_read(source, expected, tmp_path):
    """A spreadsheet saved in a European locale writes "429,5" between semicolons: read as written, every
    row failed as a missing value. Only a file whose numbers all have a decimal comma (or none) is read so."""
    frame = pd.DataFrame({"time": source["local"].dt.strftime("%Y-%m-%d %H:%M:%S"), "open": source["open"],
                          "high": source["high"], "low": source["low"], "close": source["close"],
                          "volume": source["volume"]})
    path = tmp_path / "SPY_Minute.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    assert "429,5;" in path.read_text()
    store = BarStore(tmp_path / "a", create=True)
    summary = import_files([path], store, tz=NY)
    assert "decimal commas read as decimal points" in summary.files[0]["notes"][0]
    pd.testing.assert_frame_equal(_stored(store), expected)
    # a file that mixes decimal points and commas is not guessed at: its comma rows are refused
    mixed = frame.astype({"open": str})
    mixed.loc[:9, "open"] = mixed.loc[:9, "open"].str.replace(".", ",")
    mixed.to_csv(tmp_path / "SPY_Mixed.csv", sep=";", index=False)
    refused = import_files([tmp_path / "SPY_Mixed.csv"], BarStore(tmp_path / "b", create=True), tz=NY)
    assert refused.quarantined_by_reason == {"missing value": 10} and "notes" not in refused.files[0]


@pytest.mark.parametrize("layout, order", [("%d.%m.%Y %H:%M", "day"), ("%m/%d/%Y %H:%M", "month")])
def test_day_month_dates_are_read_in_their_order_not_guessed_per_value(source, expected, tmp_path, layout, order):
    """01.07.2021 (a European export) was read as 7 January: 4,920 bars stored at wrong dates, 6,012 refused,
    no warning. A day or month over 12 tells the order; when none does (the first 12 days of a month), a
    dot means day first and a slash month first; the summary says how they were read."""
    frame = pd.DataFrame({"time": source["local"].dt.strftime(layout), "open": source["open"],
                          "high": source["high"], "low": source["low"], "close": source["close"],
                          "volume": source["volume"]})
    path = tmp_path / "SPY_Minute.csv"
    frame.to_csv(path, index=False)
    store = BarStore(tmp_path / "all", create=True)
    summary = import_files([path], store, tz=NY)
    assert f"dates read {order} first" in summary.files[0]["timestamps"] and "as 01 July 2021" in \
        summary.files[0]["timestamps"]
    pd.testing.assert_frame_equal(_stored(store), expected)
    # only July's first twelve days: no field over 12, the separator decides
    early = frame[source["local"].dt.day <= 12]
    early.to_csv(tmp_path / "SPY_Early.csv", index=False)
    store = BarStore(tmp_path / "early", create=True)
    import_files([tmp_path / "SPY_Early.csv"], store, tz=NY)
    days = pd.to_datetime(_stored(store)["timestamp"], utc=True).dt.tz_convert(NY).dt.date
    assert days.min().isoformat() == "2021-07-01" and days.max().isoformat() == "2021-08-12"
    assert len(days) == int((source["local"].dt.day <= 12).sum())


def test_dukascopy_exports_with_day_first_dates_in_gmt_or_with_their_offset(source, expected, tmp_path):
    """Dukascopy (free forex and CFD history) writes "Gmt time" 01.07.2021 16:56:00.000, or "Local time"
    with its offset, 01.07.2021 19:56:00.000 GMT+0300: day first, also where the times carry an offset."""
    utc = pd.to_datetime(source["time"], utc=True)
    prices = {"Open": source["open"], "High": source["high"], "Low": source["low"], "Close": source["close"],
              "Volume": source["volume"]}
    gmt = tmp_path / "SPY_Candlestick_1_M_BID.csv"
    pd.DataFrame({"Gmt time": utc.dt.strftime("%d.%m.%Y %H:%M:%S.000"), **prices}).to_csv(gmt, index=False)
    local = tmp_path / "local" / "SPY_Candlestick_1_M_BID.csv"
    local.parent.mkdir()
    moscow = utc.dt.tz_convert("Europe/Moscow")
    pd.DataFrame({"Local time": moscow.dt.strftime("%d.%m.%Y %H:%M:%S.000 GMT%z"), **prices}).to_csv(local,
                                                                                                     index=False)
    for path, tz in ((gmt, None), (local, None)):         # "Gmt time" is UTC by its name: no --tz needed
        store = BarStore(path.parent / "store", create=True)
        summary = import_files([path], store, tz=tz)
        assert "dates read day first" in summary.files[0]["timestamps"], summary.files[0]["timestamps"]
        pd.testing.assert_frame_equal(_stored(store), expected)
    assert "zone UTC as its column 'Gmt time' says" in summary_of(gmt)
    ny = tmp_path / "ny"                                # a zone given explicitly is the user's: it is used
    ny.mkdir()
    gmt.rename(ny / gmt.name)
    import_files([ny / gmt.name], BarStore(ny / "store", create=True), tz=NY)
    shifted = pd.to_datetime(_stored(BarStore(ny / "store"))["timestamp"], utc=True)
    assert (shifted - pd.to_datetime(expected["timestamp"], utc=True)).dt.total_seconds().isin([4 * 3600]).all()


def summary_of(path):
    """The timestamps description of `path` imported into a new store beside it."""
    return import_files([path], BarStore(path.parent / "store2", create=True)).files[0]["timestamps"]


def test_importing_again_over_wrong_bars_says_the_stored_ones_were_kept_and_how_to_replace_them(source, expected,
                                                                                                 tmp_path, capsys):
    """A NinjaTrader export imported as bar starts, then again, right, as bar ends without removing the first:
    the stored (wrong) bars win every conflict and the right ones go to quarantine. The second import says
    so, with the command that removes the stored bars; run as printed, the third import is exact."""
    path = tmp_path / "SPY.Last.txt"
    _ninjatrader(source, path)
    store_dir = tmp_path / "store"
    import_files([path], BarStore(store_dir, create=True), tz=NY)                  # wrong: a minute late
    again = import_files([path], BarStore(store_dir), tz=NY, bar_time="end")
    clash = again.quarantined_by_reason["conflicts with stored bar"]
    assert clash > len(expected) // 2
    (warning,) = again.warnings
    assert f"{clash:,} of its {len(expected):,} rows differ from the bars the store already holds" in warning
    assert again.removals == [{"file": str(path), "kind": "bars", "symbols": ["SPY"], "interval": "1m",
                               "start": str(source["local"].dt.date.min()), "end": str(source["local"].dt.date.max())}]
    command = warning.split("To remove them: workstation ", 1)[1].split()
    assert cli_main(command) == 0
    capsys.readouterr()
    third = import_files([path], BarStore(store_dir), tz=NY, bar_time="end")
    assert third.warnings == [] and third.rows_quarantined == 0
    pd.testing.assert_frame_equal(_stored(BarStore(store_dir)), expected)


def test_metatrader_bid_bars_and_spread_import_as_quote_bars_and_buys_fill_at_the_ask(source, tmp_path):
    """MetaTrader's bars are bid prices with the bar's spread in points (<SPREAD>): `--kind quotes` makes
    the quote bars from them (ask = bid + spread x point, the point the prices' smallest unit), so a run
    with fill_prices "quotes" buys at the ask as MetaTrader's tester does. Before, such a file was
    refused as lacking bid and ask columns, and forex runs bought at the bid."""
    from tests.integration.runhelpers import crossover_config
    from workstation.config import validate_config_dict
    from workstation.store.quote_store import read_quotes
    from workstation.system import SystemManager

    rng = np.random.default_rng(7)
    spread = rng.integers(0, 6, len(source))
    source = source.assign(**{f: source[f].round(2) for f in ("open", "high", "low", "close")})  # 2 digits, as MT
    path = tmp_path / "SPY_M1.csv"
    _metatrader5(source, path)
    frame = pd.read_csv(path, sep="\t")
    frame["<SPREAD>"] = spread
    frame.to_csv(path, sep="\t", index=False)
    store = BarStore(tmp_path / "store", create=True)
    import_files([path], store, symbol="SPY", tz=NY)
    summary = import_files([path], store, symbol="SPY", tz=NY, kind="quotes")
    assert any("ask = bid + spread x 0.01 " in note for note in summary.files[0]["notes"])
    quotes = read_quotes(store, ["SPY"], 0, 2**62)
    want = pd.DataFrame({"timestamp": pd.to_datetime(source["time"], utc=True).dt.as_unit("ns").astype("int64")})
    for f in ("open", "high", "low", "close"):
        want[f"bid_{f}"] = source[f]
        want[f"ask_{f}"] = (source[f] * 100 + spread).round() / 100                # cents: exact in integers
    got = quotes.assign(timestamp=pd.to_datetime(quotes["timestamp"], utc=True).dt.as_unit("ns").astype("int64"))
    cols = list(want.columns)
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), want.sort_values("timestamp")[cols]
                                  .reset_index(drop=True), check_exact=True)
    days = sorted(source["local"].dt.date.unique())
    cfg = crossover_config(["SPY"], days[1], days[3], streams={"quotes": True},
                           execution={"fill_prices": "quotes"}, data_source={"store_path": str(store.root)})
    system = SystemManager(validate_config_dict(cfg), store=store)
    system.start()
    assert system.wait(120) and system.error is None
    asks = want.set_index("timestamp")
    buys = [f for f in system.broker.fills if f.quantity > 0]
    assert buys and all(f.price == asks.loc[f.time, "ask_open"] for f in buys)
    assert any(f.price > asks.loc[f.time, "bid_open"] for f in buys)              # not at the bid
