"""BarStore: layout, round trip, append/merge without rewriting history, reads, errors."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from workstation.errors import DataError, StoreError
from workstation.store import BAR_SCHEMA, BarStore, StoreWriteError

NS_MIN = 60_000_000_000
D1, D2, D3 = dt.date(2024, 11, 4), dt.date(2024, 11, 5), dt.date(2024, 11, 6)


def bars(tm, day: dt.date, symbols: list[str], minutes: int = 5, pre: int = 0, seed: int = 0) -> pd.DataFrame:
    """`minutes` regular bars from the open (plus `pre` pre-market bars) for each symbol."""
    session = tm.session(day)
    rng = np.random.default_rng(seed)
    rows = []
    for k, sym in enumerate(symbols):
        for m in range(-pre, minutes):
            price = round(100 + k + m * 0.01 + rng.uniform(0, 0.5), 2)
            rows.append(
                {
                    "symbol": sym,
                    "timestamp": session.open_ns + m * NS_MIN,
                    "open": price,
                    "high": price + 0.05,
                    "low": price - 0.05,
                    "close": price + 0.01,
                    "volume": float(1000 + m),
                }
            )
    return pd.DataFrame(rows)


def snapshot(root) -> dict[str, tuple[int, bytes]]:
    """Every store file but the writers' lock file (taken and released by each write)."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".write.lock"
    }


@pytest.fixture
def store(tmp_path, tm) -> BarStore:
    return BarStore(tmp_path / "store", create=True, time_manager=tm)


def test_round_trip_layout_and_schema(store, tm):
    frame = bars(tm, D1, ["MSFT", "AAPL"], minutes=3, pre=2)
    frame["trade_count"] = pd.array([5, None, 7, 8, 9] * 2, dtype="Int64")
    result = store.write_bars(frame, "1m")
    assert result.rows_new == 10 and result.duplicates_skipped == 0
    assert result.files_touched == ["bars/interval=1m/period=2024-11-04/part-0.parquet"]
    meta = json.loads((store.root / "store.json").read_text())
    assert meta["exchange"] == "XNYS" and meta["tz"] == "America/New_York" and meta["format_version"] == 2

    part = store.root / result.files_touched[0]
    table = pq.read_table(part)
    assert table.schema.equals(BAR_SCHEMA, check_metadata=False)
    on_disk = table.to_pandas()
    assert list(on_disk["symbol"]) == ["AAPL"] * 5 + ["MSFT"] * 5  # sorted by (symbol, timestamp)
    assert on_disk.groupby("symbol")["timestamp"].apply(lambda s: s.is_monotonic_increasing).all()

    session = tm.session(D1)
    back = store.read_bars(None, "1m", session.open_ns - 10 * NS_MIN, session.close_ns)
    assert len(back) == 10
    assert list(back.columns) == [
        "symbol",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trade_count",
        "vwap",
        "rth",
    ]
    assert back["timestamp"].is_monotonic_increasing
    assert str(back["timestamp"].dtype) == "datetime64[ns, UTC]"
    # rth computed from the calendar: the two pre-market minutes are not regular-session bars
    assert back["rth"].sum() == 6
    assert (back.loc[~back["rth"], "timestamp"] < session.open_utc).all()
    merged = back.merge(
        frame.assign(timestamp=pd.to_datetime(frame["timestamp"], utc=True)),
        on=["symbol", "timestamp"],
        suffixes=("", "_in"),
    )
    assert np.array_equal(merged["close"], merged["close_in"])
    assert merged["trade_count"].isna().sum() == 2


def test_folder_readable_by_plain_pyarrow_and_pandas(store, tm):
    store.write_bars(bars(tm, D1, ["AAPL", "MSFT"]), "1m")
    store.write_bars(bars(tm, D2, ["AAPL"]), "1m")
    daily = bars(tm, D1, ["AAPL"], minutes=1)
    store.write_bars(daily, "1d")
    minute_table = pq.read_table(store.root / "bars" / "interval=1m")
    assert minute_table.num_rows == 15 and "period" in minute_table.column_names
    frame = pd.read_parquet(store.root / "bars")
    assert set(frame["interval"].astype(str)) == {"1m", "1d"}
    assert len(frame) == 16
    assert (frame.loc[frame["interval"] == "1m", "period"].astype(str).isin(["2024-11-04", "2024-11-05"])).all()
    assert (frame.loc[frame["interval"] == "1d", "period"].astype(str) == "2024").all()


def test_append_new_day_leaves_history_untouched(store, tm):
    store.write_bars(bars(tm, D1, ["AAPL", "MSFT"]), "1m")
    before = snapshot(store.root)
    result = store.write_bars(bars(tm, D2, ["AAPL", "MSFT"]), "1m")
    assert result.files_created == ["bars/interval=1m/period=2024-11-05/part-0.parquet"]
    after = snapshot(store.root)
    for name, value in before.items():
        assert after[name] == value, f"{name} was rewritten"
    # adding a symbol to D2 rewrites only D2's file
    before = snapshot(store.root)
    result = store.write_bars(bars(tm, D2, ["TSLA"]), "1m")
    assert result.files_touched == ["bars/interval=1m/period=2024-11-05/part-0.parquet"]
    assert result.files_created == []
    after = snapshot(store.root)
    d1 = "bars/interval=1m/period=2024-11-04/part-0.parquet"
    assert after[d1] == before[d1]
    assert store.symbols() == ["AAPL", "MSFT", "TSLA"]
    assert (
        list(pq.read_table(store.root / result.files_touched[0]).column("symbol").to_pylist())
        == ["AAPL"] * 5 + ["MSFT"] * 5 + ["TSLA"] * 5
    )
    assert not [p for p in store.root.rglob(".*.tmp") if p.is_file()], "temporary files left behind"


def test_existing_bars_are_kept_and_duplicates_skipped(store, tm):
    first = bars(tm, D1, ["AAPL"])
    store.write_bars(first, "1m")
    before = snapshot(store.root)
    again = store.write_bars(first, "1m")
    assert (again.rows_new, again.duplicates_skipped, again.conflicts) == (0, 5, 0)
    assert again.files_touched == []
    assert snapshot(store.root) == before
    changed = first.copy()
    changed.loc[0, "close"] += 0.02
    extra = bars(tm, D1, ["AAPL"], minutes=6).iloc[[5]]
    result = store.write_bars(pd.concat([changed, extra]), "1m")
    assert (result.rows_new, result.duplicates_skipped, result.conflicts) == (1, 4, 1)
    assert list(result.status) == [2, 1, 1, 1, 1, 0]
    session = tm.session(D1)
    stored = store.read_bars(["AAPL"], "1m", session.open_ns, session.open_ns + NS_MIN)
    assert stored["close"].iloc[0] == first["close"].iloc[0]


def test_read_bars_filters_symbols_time_and_rth(store, tm):
    for day in (D1, D2, D3):
        store.write_bars(bars(tm, day, ["AAPL", "MSFT", "TSLA"], minutes=10, pre=3), "1m")
    s2 = tm.session(D2)
    got = store.read_bars(["MSFT", "TSLA"], "1m", s2.open_ns + 2 * NS_MIN, s2.open_ns + 5 * NS_MIN)
    assert len(got) == 6
    assert set(got["symbol"]) == {"MSFT", "TSLA"}
    assert list(got["symbol"][:2]) == ["MSFT", "TSLA"]  # sorted by (timestamp, symbol)
    assert got["timestamp"].min().value == s2.open_ns + 2 * NS_MIN
    assert got["timestamp"].max().value == s2.open_ns + 4 * NS_MIN  # end is exclusive
    whole = store.read_bars(None, "1m", tm.session(D1).open_ns - 3600 * 10**9, tm.session(D3).close_ns)
    assert len(whole) == 3 * 3 * 13
    rth = store.read_bars(
        None, "1m", tm.session(D1).open_ns - 3600 * 10**9, tm.session(D3).close_ns, rth_only=True
    )
    assert len(rth) == 3 * 3 * 10 and rth["rth"].all()
    assert store.read_bars([], "1m", 0, 2**62).empty
    assert store.read_bars(["NOPE"], "1m", tm.session(D1).open_ns, tm.session(D3).close_ns).empty
    assert store.dates("1m") == [D1, D2, D3]


def test_read_bars_opens_only_files_in_range(store, tm, monkeypatch):
    for day in (D1, D2, D3):
        store.write_bars(bars(tm, day, ["AAPL"]), "1m")
    opened = []
    real = store._read_file

    def spy(path, *args, **kwargs):
        opened.append(path.parent.name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(store, "_read_file", spy)
    s2 = tm.session(D2)
    store.read_bars(["AAPL"], "1m", s2.open_ns, s2.close_ns)
    assert opened == ["period=2024-11-05"]


def test_read_session_arrays_matches_read_bars(store, tm):
    store.write_bars(bars(tm, D1, ["AAPL", "MSFT", "TSLA", "GLD"], minutes=20, pre=4, seed=3), "1m")
    symbols = ["TSLA", "AAPL", "MSFT"]  # GLD is in the file but not asked for
    arrays = store.read_session_arrays(D1, "1m", symbols)
    assert arrays.symbol_index.dtype == np.int32 and arrays.timestamp.dtype == np.int64
    assert arrays.close.dtype == np.float64 and arrays.rows == 60
    keys = list(zip(arrays.timestamp.tolist(), arrays.symbol_index.tolist(), strict=True))
    assert keys == sorted(keys)
    expected = store.read_bars(symbols, "1m", tm.session(D1).open_ns, tm.session(D1).close_ns, rth_only=True)
    expected = expected.assign(idx=expected["symbol"].map({s: i for i, s in enumerate(symbols)}))
    expected = expected.sort_values(["timestamp", "idx"])
    assert np.array_equal(arrays.timestamp, pd.DatetimeIndex(expected["timestamp"]).as_unit("ns").asi8)
    assert np.array_equal(arrays.symbol_index, expected["idx"].to_numpy())
    for col in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(arrays, col), expected[col].to_numpy())
    with_ext = store.read_session_arrays(D1, "1m", symbols, rth_only=False)
    assert with_ext.rows == 72
    empty = store.read_session_arrays(D2, "1m", symbols)
    assert empty.rows == 0 and empty.symbol_index.dtype == np.int32 and empty.close.dtype == np.float64
    with pytest.raises(ValueError, match="read_daily"):
        store.read_session_arrays(D1, "1d", symbols)


def test_daily_bars_year_partitions_and_read_daily(store, tm):
    days = tm.trading_dates("2023-12-27", "2024-01-04")
    frame = pd.concat([bars(tm, d, ["AAPL", "MSFT"], minutes=1) for d in days], ignore_index=True)
    result = store.write_bars(frame, "1d")
    assert sorted(result.files_created) == [
        "bars/interval=1d/period=2023/part-0.parquet",
        "bars/interval=1d/period=2024/part-0.parquet",
    ]
    daily = store.read_daily(["AAPL"], "2023-12-28", "2024-01-03")
    assert list(daily["date"]) == tm.trading_dates("2023-12-28", "2024-01-03")
    assert daily["rth"].all()
    assert store.dates("1d") == days
    cov = store.coverage("1d").set_index("symbol")
    assert cov.loc["MSFT", "days"] == len(days) and cov.loc["MSFT", "first_date"] == days[0]


def test_coverage_symbols_has_symbol(store, tm):
    store.write_bars(bars(tm, D1, ["AAPL", "MSFT"], minutes=4, pre=2), "1m")
    store.write_bars(bars(tm, D3, ["AAPL"], minutes=6), "1m")
    cov = store.coverage().set_index("symbol")
    assert cov.loc["AAPL"].to_dict() == {
        "first_date": D1,
        "last_date": D3,
        "days": 2,
        "bars": 12,
        "rth_bars": 10,
    }
    assert cov.loc["MSFT", "bars"] == 6 and cov.loc["MSFT", "rth_bars"] == 4
    assert store.symbols() == ["AAPL", "MSFT"] and store.symbols("1d") == []
    assert store.has_symbol("MSFT") and not store.has_symbol("TSLA")
    info = store.describe()
    assert info["file_count"] == 2 and info["intervals"]["1m"]["bars"] == 18
    assert info["size_bytes"] > 0


def test_root_that_is_a_file(tmp_path):
    path = tmp_path / "bars.parquet"
    path.write_bytes(b"x")
    with pytest.raises(StoreError, match="is a file, not a bar store folder") as err:
        BarStore(path, create=True)
    assert str(path) in str(err.value)


def test_missing_root_says_how_to_create(tmp_path):
    with pytest.raises(StoreError, match="workstation demo-data") as err:
        BarStore(tmp_path / "nothing")
    assert "workstation import" in str(err.value)
    assert not (tmp_path / "nothing").exists()


def test_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="not a bar store"):
        BarStore(tmp_path, create=True)


def test_store_created_lazily_on_first_write(tmp_path, tm):
    store = BarStore(tmp_path / "new", create=True, time_manager=tm)
    assert not (tmp_path / "new").exists()
    store.write_bars(bars(tm, D1, ["AAPL"]), "1m")
    assert (tmp_path / "new" / "store.json").is_file()
    assert BarStore(tmp_path / "new", time_manager=tm).symbols() == ["AAPL"]


def test_damaged_store_file_names_file_and_changes_nothing(store, tm):
    store.write_bars(bars(tm, D1, ["AAPL"]), "1m")
    store.write_bars(bars(tm, D2, ["AAPL"]), "1m")
    damaged = store.root / "bars/interval=1m/period=2024-11-04/part-0.parquet"
    damaged.write_bytes(damaged.read_bytes()[:40])
    before = snapshot(store.root)
    with pytest.raises(StoreError, match="nothing else was changed|Nothing else was changed") as err:
        store.read_bars(None, "1m", tm.session(D1).open_ns, tm.session(D2).close_ns)
    assert str(damaged) in str(err.value)
    with pytest.raises(StoreError) as err:
        store.read_session_arrays(D1, "1m", ["AAPL"])
    assert str(damaged) in str(err.value)
    # a write touching the damaged date and a new date writes nothing at all
    with pytest.raises(StoreError):
        store.write_bars(pd.concat([bars(tm, D3, ["MSFT"]), bars(tm, D1, ["MSFT"])]), "1m")
    assert snapshot(store.root) == before


def test_failed_rewrite_keeps_old_file(store, tm, monkeypatch):
    store.write_bars(bars(tm, D1, ["AAPL"]), "1m")
    before = snapshot(store.root)

    def crash(table, where, **kwargs):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)     # the store writes through pyarrow.parquet
    with pytest.raises(StoreWriteError, match="disk full"):
        store.write_bars(bars(tm, D1, ["MSFT"]), "1m")
    assert snapshot(store.root) == before
    assert store.read_session_arrays(D1, "1m", ["AAPL"]).rows == 5


def test_write_bars_rejects_bad_input(store, tm):
    frame = bars(tm, D1, ["AAPL"])
    with pytest.raises(DataError, match="lack column"):
        store.write_bars(frame.drop(columns=["volume"]), "1m")
    naive = frame.assign(timestamp=pd.to_datetime(frame["timestamp"]))
    with pytest.raises(DataError, match="tz-aware"):
        store.write_bars(naive, "1m")
    aware = frame.assign(
        timestamp=pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert("America/New_York")
    )
    assert store.write_bars(aware, "1m").rows_new == 5


def test_format_version_from_the_future(tmp_path):
    (tmp_path / "store.json").write_text(json.dumps({"format_version": 99, "exchange": "XNYS"}))
    with pytest.raises(StoreError, match="format_version"):
        BarStore(tmp_path)
