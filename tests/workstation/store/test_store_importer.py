"""Importer: every real vendor file, per-day regular/extended counts, every row reason, time formats, bad files."""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.shared_data import require_shared
from workstation.errors import DataError, StoreError
from workstation.store import BarStore, import_files


def find_real_dir() -> Path:
    """The real vendor files: $WORKSTATION_REAL_DATA, else the repository's copy, else the shared folder."""
    env = os.environ.get("WORKSTATION_REAL_DATA")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[3]
    candidates += [repo / "tests" / "data" / "real", repo / "data" / "real", Path("/work/shared/data/real")]
    return next((c for c in candidates if (c / "lumibot").is_dir()), candidates[-1])


REAL_DIR = find_real_dir()
REAL_FILES = sorted([*REAL_DIR.glob("lumibot/*.csv.gz"), *REAL_DIR.glob("market_prices/*.csv.gz")])
STATS_CSV = REAL_DIR / "stats" / "rth_minutes_by_symbol_day.csv"

NS_MIN = 60_000_000_000
SUMMARY_KEYS = {
    "exchange",
    "rows_read",
    "rows_stored",
    "rows_quarantined",
    "quarantined_by_reason",
    "quarantine_examples",
    "quarantine_example_rows",
    "per_symbol",
    "files",
    "duplicates_skipped",
    "reordered",
    "quarantine_file",
}
PER_SYMBOL_KEYS = {
    "rows_read",
    "rows_stored",
    "rows_quarantined",
    "duplicates",
    "reordered",
    "rth_bars",
    "extended_hours_bars",
    "first",
    "last",
    "sessions",
}


def _stats_rows() -> list[dict]:
    if not STATS_CSV.is_file():
        return []
    with STATS_CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))


STATS_ROWS = _stats_rows()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def store(tmp_path, tm) -> BarStore:
    return BarStore(tmp_path / "store", create=True, time_manager=tm)


@pytest.fixture(scope="module")
def real_day_counts(real_import):
    """(symbol, ET date) -> {'rth', 'pre', 'post'} counted from what the store holds."""
    store, _ = real_import
    frame = store.read_bars(None, "1m", 0, 2**62)
    ts = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
    days = store.time_manager.local_dates(ts)
    opens, closes = store.time_manager.session_bounds(days)
    assert (opens > 0).all(), "a stored bar lies on a date without a session"
    # the stored rth flag must agree with the calendar
    assert np.array_equal(frame["rth"].to_numpy(dtype=bool), (ts >= opens) & (ts < closes))
    counts = pd.DataFrame(
        {
            "symbol": frame["symbol"].to_numpy(dtype=object),
            "date": days.astype(str),
            "rth": (ts >= opens) & (ts < closes),
            "pre": ts < opens,
            "post": ts >= closes,
        }
    )
    grouped = counts.groupby(["symbol", "date"])[["rth", "pre", "post"]].sum()
    return {key: {k: int(v) for k, v in row.items()} for key, row in grouped.iterrows()}


# ---------------------------------------------------------------------- real files
def test_every_real_file_imports(real_import):
    store, summary = real_import
    d = summary.to_dict()
    assert set(d) == SUMMARY_KEYS
    assert len(d["files"]) == len(REAL_FILES) == 11
    expected_rows = sum(len(pd.read_csv(f)) for f in REAL_FILES)
    assert d["rows_read"] == expected_rows == 95_810
    assert d["quarantined_by_reason"] == {"closed exchange date": 130}
    assert d["rows_quarantined"] == 130
    assert d["duplicates_skipped"] == 0 and d["reordered"] == 1
    assert d["rows_stored"] == d["rows_read"] - 130
    assert set(d["per_symbol"]) == {"AAPL", "AMZN", "GLD", "MSFT", "SPY", "SRNE", "TLT", "TSLA", "UPRO"}
    for sym, entry in d["per_symbol"].items():
        assert PER_SYMBOL_KEYS <= set(entry), sym
        assert entry["rows_read"] == entry["rows_stored"] + entry["rows_quarantined"] + entry["duplicates"]
        assert entry["rth_bars"] + entry["extended_hours_bars"] == entry["rows_stored"]
    assert all(f["symbol_source"] == "the file name" for f in d["files"])
    assert {f["symbol"] for f in d["files"]} == set(d["per_symbol"])
    cov = store.coverage().set_index("symbol")
    assert int(cov["bars"].sum()) == d["rows_stored"]
    text = summary.render()
    assert "closed exchange date: 130" in text and "UPRO" in text and "from the file name" in text
    # the report names the closed dates: the files' New York dates the exchange's calendar has no session on
    dates = pd.concat([pd.read_csv(f, usecols=[0]).iloc[:, 0] for f in REAL_FILES])
    days = pd.to_datetime(dates, utc=True).dt.tz_convert("America/New_York").dt.date.unique()
    import pandas_market_calendars as mcal

    open_days = set(mcal.get_calendar("XNYS").valid_days(min(days), max(days)).date)
    closed = sorted(d for d in days if d not in open_days)
    assert closed and summary.quarantine_detail_counts["closed exchange date"] == len(closed)
    shown = d["quarantine_examples"]["closed exchange date"]
    assert len(shown) == min(3, len(closed))
    assert {pd.Timestamp(e.split()[3]).date() for e in shown} <= set(closed)
    # each with where its first row is (file and line, in import order) and how many more rows it has
    where = []
    for example in shown:
        day = pd.Timestamp(example.split()[3]).date()
        first, rows = None, 0
        for f in REAL_FILES:
            local = pd.to_datetime(pd.read_csv(f, usecols=[0]).iloc[:, 0], utc=True).dt.tz_convert("America/New_York")
            hits = [i for i, d in enumerate(local.dt.date) if d == day]
            if hits and first is None:
                first = f"{f.name} line {hits[0] + 2}"      # the header is line 1
            rows += len(hits)
        where.append(first + (f" and {rows - 1:,} more {'row' if rows == 2 else 'rows'}" if rows > 1 else ""))
    assert d["quarantine_example_rows"]["closed exchange date"] == where
    assert f"closed exchange date: 130 ({'; '.join(f'{e}: {w}' for e, w in zip(shown, where, strict=True))}" in text


@pytest.mark.parametrize(
    "row", STATS_ROWS, ids=[f"{r['file'].split('/')[-1]}:{r['date']}" for r in STATS_ROWS]
)
def test_rth_pre_post_per_day_match_stats(row, real_day_counts):
    got = real_day_counts.get((row["symbol"], row["date"]), {"rth": 0, "pre": 0, "post": 0})
    if row["session"] == "closed":
        assert got == {"rth": 0, "pre": 0, "post": 0}  # bars of a closed date are quarantined, not stored
    else:
        assert got == {
            "rth": int(row["rth_bars"]),
            "pre": int(row["pre_bars"]),
            "post": int(row["post_bars"]),
        }


def test_stats_csv_fully_covered():
    require_shared(STATS_CSV, "the real-data statistics file")
    assert len(STATS_ROWS) == 367


def test_summary_extended_hours_match_stats(real_import):
    _, summary = real_import
    totals: dict[str, dict[str, int]] = {}
    for row in STATS_ROWS:
        if row["session"] == "closed":
            continue
        t = totals.setdefault(row["symbol"], {"rth": 0, "pre": 0, "post": 0})
        t["rth"] += int(row["rth_bars"])
        t["pre"] += int(row["pre_bars"])
        t["post"] += int(row["post_bars"])
    for sym, t in totals.items():
        entry = summary.per_symbol[sym]
        assert (entry["rth_bars"], entry["pre_market_bars"], entry["post_market_bars"]) == (
            t["rth"],
            t["pre"],
            t["post"],
        ), sym
        assert entry["extended_hours_bars"] == t["pre"] + t["post"]
        assert entry["sessions"] == sum(
            1 for r in STATS_ROWS if r["symbol"] == sym and r["session"] != "closed"
        )


def test_upro_out_of_order_row_kept_and_saturdays_quarantined(real_import, tm):
    store, summary = real_import
    upro_file = next(f for f in summary.files if f["path"].endswith("UPRO_Minute.csv.gz"))
    assert upro_file["reordered"] == 1 and upro_file["rows_quarantined"] == 130
    assert summary.per_symbol["UPRO"]["reordered"] == 1
    t = pd.Timestamp("2020-10-21 15:10", tz="America/New_York").value
    got = store.read_bars(["UPRO"], "1m", t, t + NS_MIN)
    assert len(got) == 1 and got["close"].iloc[0] == 60.28 and bool(got["rth"].iloc[0])
    day = store.read_bars(["UPRO"], "1m", t - 6 * 3600 * 10**9, t + 6 * 3600 * 10**9)
    assert day["timestamp"].is_monotonic_increasing

    quarantine = pd.read_parquet(summary.quarantine_file)
    assert Path(summary.quarantine_file).parent == store.root / "quarantine"
    assert Path(summary.quarantine_file).name.startswith("UPRO_Minute-")
    assert len(quarantine) == 130
    assert set(quarantine["reason"]) == {"closed exchange date"}
    assert quarantine["detail"].value_counts().to_dict() == {
        "no session on 2020-07-25 (Saturday)": 77,
        "no session on 2020-07-18 (Saturday)": 53,
    }
    assert {"time", "open", "high", "low", "close", "volume", "source_file", "source_line"} <= set(
        quarantine.columns
    )
    assert quarantine["source_file"].str.endswith("UPRO_Minute.csv.gz").all()
    # source_line points at the file line (header = line 1)
    with gzip.open(REAL_DIR / "lumibot/UPRO_Minute.csv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    first = quarantine.iloc[0]
    assert lines[first["source_line"] - 1].startswith(first["time"])
    assert not (store.root / "bars/interval=1m/period=2020-07-18").exists()
    assert lines[53_853 - 1].startswith("2020-10-21 15:10:00-04:00")


def test_upro_early_close_and_dst(real_import, tm):
    store, _ = real_import
    nov27 = store.read_session_arrays("2020-11-27", "1m", ["UPRO"])
    assert nov27.rows == 84
    assert nov27.timestamp.max() == pd.Timestamp("2020-11-27 12:59", tz="America/New_York").value
    # DST: the regular session opens 14:30 UTC in winter and 13:30 UTC in summer
    before, after = tm.session("2020-03-06"), tm.session("2020-03-09")
    assert before.open_utc.strftime("%H:%M") == "14:30" and after.open_utc.strftime("%H:%M") == "13:30"
    for day, session in (("2020-03-06", before), ("2020-03-09", after)):
        arrays = store.read_session_arrays(day, "1m", ["UPRO"])
        assert arrays.rows > 0
        assert arrays.timestamp.min() >= session.open_ns and arrays.timestamp.max() < session.close_ns
        everything = store.read_session_arrays(day, "1m", ["UPRO"], rth_only=False)
        assert everything.rows >= arrays.rows


def test_reimport_adds_nothing(real_import, tm, tmp_path):
    store = BarStore(tmp_path / "s", create=True, time_manager=tm)
    files = [REAL_DIR / "lumibot/AMZN_MINUTE.csv.gz", REAL_DIR / "market_prices/MSFT_T1.csv.gz"]
    first = import_files(files, store)
    before = snapshot(store.root / "bars")
    again = import_files(files, store)
    assert again.rows_stored == 0
    assert again.duplicates_skipped == first.rows_stored == 2450 + 7440
    assert again.per_symbol["AMZN"]["duplicates"] == 2450
    assert again.quarantine_file is None
    assert snapshot(store.root / "bars") == before
    amzn = store.read_bars(["AMZN"], "1m", 0, 2**62)
    assert amzn["trade_count"].notna().all() and amzn["vwap"].notna().all()


# ---------------------------------------------------------------------- row checks
BAD_ROWS_CSV = """\
time,open,high,low,close,volume
2024-10-01 09:30:00-04:00,10.00,10.10,9.90,10.05,1000
2024-10-01 09:31:00-04:00,10.00,10.10,9.90,,1000
2024-10-01 09:32:00-04:00,10.00,10.10,0,10.05,1000
2024-10-01 09:33:00-04:00,10.00,9.80,9.90,9.85,1000
2024-10-01 09:34:00-04:00,10.20,10.10,9.90,10.05,1000
2024-10-01 09:35:00-04:00,10.00,10.10,9.90,9.80,1000
2024-10-01 09:36:00-04:00,10.00,10.10,9.90,10.05,-5
2024-10-05 10:00:00-04:00,10.00,10.10,9.90,10.05,1000
not a time,10.00,10.10,9.90,10.05,1000
2024-10-01 09:30:00-04:00,10.00,10.10,9.90,10.05,1000
2024-10-01 09:30:00-04:00,10.00,10.10,9.90,10.06,1000
2024-10-01 09:40:00-04:00,10.00,10.10,9.90,10.05,1000
2024-10-01 09:38:00-04:00,10.00,10.10,9.90,10.05,1000
2024-10-01 09:41:30-04:00,10.00,10.10,9.90,10.05,1000
2024-11-28 10:00:00-05:00,10.00,10.10,9.90,10.05,1000
2024-10-01 09:42:00,10.00,10.10,9.90,10.05,1000
2024-10-01 08:00:00-04:00,10.00,10.10,9.90,10.05,1000
2024-10-01 16:00:00-04:00,10.00,10.10,9.90,10.05,0
2024-10-01 13:45:00Z,10.00,10.10,9.90,10.05,1000
1990-01-01 09:30:00-05:00 x,10,10,10,10,1
"""


def test_each_bad_row_reason(store, tmp_path):
    path = tmp_path / "TEST_bad.csv"
    path.write_text(BAD_ROWS_CSV)
    summary = import_files([path], store)
    assert summary.quarantined_by_reason == {
        "missing value": 1,
        "non-positive price": 1,
        "high < low": 1,
        "open outside [low, high]": 1,
        "close outside [low, high]": 1,
        "negative volume": 1,
        "closed exchange date": 2,
        "unparseable timestamp": 2,
        "conflicting duplicate": 1,
        "off-grid timestamp": 1,
        "naive timestamp without --tz": 1,
    }
    sym = summary.per_symbol["TEST"]
    assert sym["rows_read"] == 20 and summary.rows_read == 20
    assert sym["duplicates"] == 1 and summary.duplicates_skipped == 1
    assert sym["reordered"] == 3  # 09:38 after 09:40; 08:00 and 09:45 (13:45Z) after 16:00
    assert sym["rows_stored"] == 6
    assert (sym["rth_bars"], sym["pre_market_bars"], sym["post_market_bars"]) == (4, 1, 1)
    q = pd.read_parquet(summary.quarantine_file).set_index("source_line")
    assert q.loc[3, "reason"] == "missing value" and q.loc[3, "detail"] == "no value in close"
    assert q.loc[9, "detail"] == "no session on 2024-10-05 (Saturday)"
    assert q.loc[16, "detail"] == "no session on 2024-11-28 (exchange holiday)"
    assert q.loc[12, "reason"] == "conflicting duplicate" and "line 2" in q.loc[12, "detail"]
    assert q.loc[10, "time"] == "not a time"
    assert q.loc[12, "close"] == "10.06"
    assert q.loc[3, "open"] == "10.00" and pd.isna(q.loc[3, "close"])  # original text, as written
    stored = store.read_bars(["TEST"], "1m", 0, 2**62)
    first = stored[stored["timestamp"] == pd.Timestamp("2024-10-01 13:30", tz="UTC")]
    assert len(first) == 1 and first["close"].iloc[0] == 10.05  # the first of the conflicting pair is kept
    assert stored["timestamp"].is_monotonic_increasing
    assert pd.Timestamp("2024-10-01 13:45", tz="UTC") in set(stored["timestamp"])  # "Z" suffix is UTC


def test_a_value_that_is_not_a_number_is_quoted_in_the_quarantine_detail(store, tmp_path):
    """A cell of text in a number column is a missing value like an empty one, and the detail says which
    is which: "no value in ..." for empty cells, the cell as written for text that is not a number."""
    path = tmp_path / "TEST_text.csv"
    path.write_text("time,open,high,low,close,volume\n"
                    "2024-10-01 09:30:00-04:00,10.00,10.10,9.90,abc,\n"
                    "2024-10-01 09:31:00-04:00,10.00,10.10,9.90, 1O.05 ,1000\n"
                    "2024-10-01 09:32:00-04:00,,10.10,9.90,10.05,NaN\n")
    summary = import_files([path], store)
    assert summary.quarantined_by_reason == {"missing value": 3}
    q = pd.read_parquet(summary.quarantine_file).set_index("source_line")
    assert q.loc[2, "detail"] == "no value in volume; close 'abc' is not a number"
    assert q.loc[3, "detail"] == "close '1O.05' is not a number"
    assert q.loc[4, "detail"] == "no value in open, volume"


def test_conflict_with_stored_bar_is_quarantined(store, tmp_path):
    a = tmp_path / "ABC_1.csv"
    a.write_text(
        "time,open,high,low,close,volume\n2024-10-01 09:30:00-04:00,10,11,9,10.5,100\n"
        "2024-10-01 09:31:00-04:00,10,11,9,10.5,100\n"
    )
    b = tmp_path / "ABC_2.csv"
    b.write_text(
        "time,open,high,low,close,volume\n2024-10-01 09:30:00-04:00,10,11,9,10.7,100\n"
        "2024-10-01 09:31:00-04:00,10,11,9,10.5,100\n2024-10-01 09:32:00-04:00,10,11,9,10.5,100\n"
    )
    import_files([a], store)
    summary = import_files([b], store)
    assert summary.quarantined_by_reason == {"conflicts with stored bar": 1}
    assert (summary.rows_stored, summary.duplicates_skipped) == (1, 1)
    stored = store.read_bars(["ABC"], "1m", 0, 2**62)
    assert stored["close"].tolist() == [10.5, 10.5, 10.5]


def test_symbol_column_and_parquet_input(store, tmp_path):
    frame = pd.DataFrame(
        {
            "Ticker": ["aapl", "MSFT", "", "AAPL"],
            "Timestamp": pd.to_datetime(
                ["2024-10-01 13:30", "2024-10-01 13:30", "2024-10-01 13:31", "2024-10-01 13:31"], utc=True
            ),
            "O": [1.0, 2.0, 3.0, 1.0],
            "H": [1.1, 2.1, 3.1, 1.1],
            "L": [0.9, 1.9, 2.9, 0.9],
            "C": [1.0, 2.0, 3.0, 1.0],
            "V": [10, 20, 30, 40],
            "n": [1, 2, 3, None],
            "vw": [1.0, 2.0, 3.0, None],
        }
    )
    path = tmp_path / "mixed.parquet"
    frame.to_parquet(path)
    summary = import_files([path], store)
    assert summary.files[0]["symbol_source"] == "the symbol column"
    assert summary.quarantined_by_reason == {"missing symbol": 1}
    assert summary.rows_stored == 3
    q = pd.read_parquet(summary.quarantine_file)
    assert q["source_line"].tolist() == [3]
    stored = store.read_bars(None, "1m", 0, 2**62)
    assert stored["symbol"].tolist() == ["AAPL", "MSFT", "AAPL"]
    assert stored["trade_count"].tolist()[:2] == [1, 2] and pd.isna(stored["trade_count"].iloc[2])
    override = import_files([path], store, symbol="zzz")
    assert override.files[0]["symbol_source"].startswith("--symbol")
    assert set(override.per_symbol) == {"ZZZ"} and override.quarantined_by_reason == {
        "conflicting duplicate": 2
    }


def test_separate_date_and_time_columns(store, tmp_path):
    path = tmp_path / "XYZ.csv"
    path.write_text(
        "Date;Time;Open;High;Low;Close;Volume\n2024-10-01;09:30;1;2;0.5;1.5;100\n"
        "2024-10-01;09:31;1;2;0.5;1.5;100\n"
    )
    summary = import_files([path], store, tz="America/New_York")
    assert summary.rows_stored == 2
    assert store.read_bars(["XYZ"], "1m", 0, 2**62)["timestamp"].iloc[0] == pd.Timestamp(
        "2024-10-01 13:30", tz="UTC"
    )


# ---------------------------------------------------------------------- time formats
def test_naive_timestamps_need_tz(store, tmp_path):
    path = tmp_path / "NAIVE.csv"
    path.write_text(
        "datetime,open,high,low,close,volume\n2024-11-01 09:30:00,1,2,0.5,1.5,100\n"
        "2024-11-04 09:30:00,1,2,0.5,1.5,100\n2024-11-04 16:30:00,1,2,0.5,1.5,100\n"
    )
    with pytest.raises(DataError, match="--tz") as err:
        import_files([path], store)
    assert str(path) in str(err.value)
    assert not store.root.exists()
    ny = import_files([path], store, tz="America/New_York")
    assert ny.files[0]["timestamps"].endswith("(zone America/New_York from --tz)")
    stored = store.read_bars(["NAIVE"], "1m", 0, 2**62)
    # 09:30 New York is 13:30 UTC before the DST change of 2024-11-03 and 14:30 UTC after it
    assert [t.strftime("%m-%d %H:%M") for t in stored["timestamp"]] == [
        "11-01 13:30",
        "11-04 14:30",
        "11-04 21:30",
    ]
    assert stored["rth"].tolist() == [True, True, False]
    assert ny.per_symbol["NAIVE"]["post_market_bars"] == 1

    utc_store = BarStore(tmp_path / "utc", create=True, time_manager=store.time_manager)
    import_files([path], utc_store, tz="UTC")
    got = utc_store.read_bars(None, "1m", 0, 2**62)["timestamp"]
    assert got.iloc[0] == pd.Timestamp("2024-11-01 09:30", tz="UTC")


def test_nonexistent_local_time_quarantined(store, tmp_path):
    path = tmp_path / "DST.csv"
    path.write_text(
        "time,open,high,low,close,volume\n2024-03-08 09:30,1,2,0.5,1.5,100\n"
        "2024-03-10 02:30,1,2,0.5,1.5,100\n"
    )
    summary = import_files([path], store, tz="America/New_York")
    assert summary.quarantined_by_reason == {"nonexistent or ambiguous local time": 1}


def test_unknown_tz_is_refused(store, tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("time,open,high,low,close,volume\n2024-10-01 09:30,1,2,0.5,1.5,100\n")
    with pytest.raises(DataError, match="unknown time zone"):
        import_files([path], store, tz="Mars/Olympus")


@pytest.mark.parametrize("unit,scale", [("s", 1), ("ms", 1_000), ("us", 1_000_000), ("ns", 1_000_000_000)])
def test_epoch_units_detected_by_magnitude(tmp_path, tm, unit, scale):
    store = BarStore(tmp_path / "s", create=True, time_manager=tm)
    base = int(pd.Timestamp("2024-10-01 13:30", tz="UTC").timestamp())
    lines = ["t,o,h,l,c,v"] + [f"{(base + 60 * i) * scale},1,2,0.5,1.5,100" for i in range(3)]
    path = tmp_path / "EPO.csv"
    path.write_text("\n".join(lines) + "\n")
    summary = import_files([path], store)
    assert summary.files[0]["timestamps"] == f"epoch {unit} (UTC)"
    got = pd.DatetimeIndex(store.read_bars(None, "1m", 0, 2**62)["timestamp"]).as_unit("ns").asi8
    assert got.tolist() == [(base + 60 * i) * 10**9 for i in range(3)]


def test_epoch_ms_in_parquet_and_daily_dates(tmp_path, tm):
    store = BarStore(tmp_path / "s", create=True, time_manager=tm)
    base = pd.Timestamp("2024-10-01 13:30", tz="UTC").value // 10**6
    pq.write_table(
        pa.table(
            {
                "symbol": ["Q"] * 2,
                "timestamp": [base, base + 60_000],
                "open": [1.0, 1.0],
                "high": [2.0, 2.0],
                "low": [0.5, 0.5],
                "close": [1.5, 1.5],
                "volume": [1.0, 2.0],
            }
        ),
        tmp_path / "q.parquet",
    )
    assert import_files([tmp_path / "q.parquet"], store).rows_stored == 2
    daily = tmp_path / "DAY_daily.csv"
    daily.write_text(
        "Date,Open,High,Low,Close,Volume\n2024-10-01,1,2,0.5,1.5,100\n2024-10-02,1,2,0.5,1.5,100\n"
        "2024-10-05,1,2,0.5,1.5,100\n"
    )
    summary = import_files([daily], store, interval="1d")
    assert summary.rows_stored == 2 and summary.quarantined_by_reason == {"closed exchange date": 1}
    got = store.read_daily(["DAY"], "2024-10-01", "2024-10-04")
    assert [d.isoformat() for d in got["date"]] == ["2024-10-01", "2024-10-02"]
    assert got["timestamp"].iloc[0] == tm.session("2024-10-01").open_utc  # stamped with the session open


# ---------------------------------------------------------------------- bad files
def test_bad_files_raise_data_error_and_leave_store_untouched(store, tmp_path, real_dir):
    good = REAL_DIR / "lumibot/AAPL_Minute.csv.gz"
    import_files([good], store)
    before = snapshot(store.root)

    truncated = tmp_path / "TRUNC_Minute.csv.gz"
    data = (REAL_DIR / "lumibot/GLD_Minute.csv.gz").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "CORRUPT.parquet"
    corrupt.write_bytes(b"PAR1" + bytes(range(200)) * 3)
    empty = tmp_path / "EMPTY.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "HEAD.csv"
    header_only.write_text("time,open,high,low,close,volume\n")
    missing_cols = tmp_path / "COLS.csv"
    missing_cols.write_text("Datetime,Open,Low,Close\n2024-10-01 09:30:00-04:00,1,1,1\n")
    no_time = tmp_path / "NOTIME.csv"
    no_time.write_text("when,open,high,low,close\n2024-10-01 09:30:00-04:00,1,2,0.5,1.5\n")
    one_missing = tmp_path / "ONE.csv"
    one_missing.write_text("time,open,high,low,close\n2024-10-01 09:30:00-04:00,1,2,0.5,1.5\n")
    no_symbol = tmp_path / "bars.csv"
    no_symbol.write_text("time,open,high,low,close,volume\n2024-10-01 09:30:00-04:00,1,2,0.5,1.5,100\n")
    cases = [
        (truncated, "truncated"),
        (corrupt, "Parquet"),
        (empty, "empty"),
        (header_only, "no data rows"),
        (missing_cols, "lacks columns high, volume: found columns"),
        (no_time, "lacks a time column and column volume: found columns"),
        (one_missing, "lacks column volume: found columns"),
        (tmp_path / "GONE.csv", "does not exist"),
        (tmp_path, "is a folder"),
        (no_symbol, "--symbol"),
        (tmp_path / "X.xlsx", "unsupported"),
    ]
    (tmp_path / "X.xlsx").write_bytes(b"xx")
    for path, words in cases:
        with pytest.raises(DataError, match=words) as err:
            import_files([REAL_DIR / "lumibot/TLT_Minute.csv.gz", path], store)
        assert str(path) in str(err.value), str(err.value)
    err_text = ""
    with pytest.raises(DataError) as err:
        import_files([missing_cols], store)
    err_text = str(err.value)
    assert "high" in err_text and "volume" in err_text and "Datetime" in err_text
    assert snapshot(store.root) == before


def test_store_path_is_a_file(tmp_path):
    path = tmp_path / "store"
    path.write_text("not a folder")
    with pytest.raises(StoreError, match="is a file") as err:
        BarStore(path, create=True)
    assert str(path) in str(err.value)


def test_naive_file_with_a_garbage_row_is_still_refused(store, tmp_path):
    path = tmp_path / "NVG.csv"
    path.write_text(
        "time,open,high,low,close,volume\n2024-10-01 09:30:00,1,2,0.5,1.5,100\ngarbage,1,2,0.5,1.5,100\n"
    )
    with pytest.raises(DataError, match="no time zone"):
        import_files(path, store)


def test_import_where_every_row_is_refused(store, tmp_path):
    path = tmp_path / "SAT.csv"
    path.write_text("time,open,high,low,close,volume\n2024-10-05 09:30:00-04:00,1,2,0.5,1.5,100\n")
    summary = import_files([path], store)
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (1, 0, 1)
    assert summary.per_symbol["SAT"]["first"] is None and summary.per_symbol["SAT"]["sessions"] == 0
    assert store.files() == [] and len(store.quarantine_files()) == 1
