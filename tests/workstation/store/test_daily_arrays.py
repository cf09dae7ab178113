"""The pandas-free reads the run makes before its first bar equal the pandas ones they replace.

`read_daily_arrays` (BarStore, the sweep's MemoryBarStore and the adjusted store) against
`read_daily`'s frame, value for value and in the same row order; the calendar's pandas-free
exchange-local dates and midnights against pandas' tz_convert / tz_localize; the Kahan column sums
of the daily history against pandas' grouped sum and mean (bit for bit, where a plain sum differs).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.workstation.store.test_corporate_actions import demo_root, raw_root, recorded_root  # noqa: F401
from tests.workstation.store.test_memory_store import _memory
from workstation.calendar import TimeManager, months_before, utc_offsets_ns
from workstation.pipeline.historical import kahan_column_sums
from workstation.store import BarStore
from workstation.store.corporate_actions import AdjustedBarStore

FIELDS = ("open", "high", "low", "close", "volume")


def _assert_same_as_frame(arrays, frame: pd.DataFrame, symbols: list[str]) -> None:
    assert arrays.rows == len(frame)
    assert [symbols[i] for i in arrays.symbol_index] == frame["symbol"].astype(str).tolist()
    assert list(arrays.date.astype(object)) == list(frame["date"])
    np.testing.assert_array_equal(arrays.timestamp, pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(arrays, f), frame[f].to_numpy(float), err_msg=f)


RANGES = (("2023-11-01", "2024-12-03"), ("2024-02-10", "2024-02-20"), ("2024-11-29", "2024-11-29"),
          ("2024-12-07", "2025-01-10"))


def test_daily_arrays_equal_read_daily_in_the_parquet_and_memory_stores(demo_store, tm):
    store, _ = demo_store
    mem = _memory(store, tm, tm.trading_dates("2024-11-22", "2024-12-03"),
                  daily=(dt.date(2023, 11, 1), dt.date(2024, 12, 3)))
    for symbols in (["DYNA", "ACME"], ["ECHO", "NOPE", "BOLT"], list(store.symbols())):
        for first, last in RANGES:
            frame = store.read_daily(symbols, first, last)
            _assert_same_as_frame(store.read_daily_arrays(symbols, first, last), frame, symbols)
            if last <= "2024-12-03":
                _assert_same_as_frame(mem.read_daily_arrays(symbols, first, last), frame, symbols)
    assert store.read_daily_arrays([], "2024-01-01", "2024-12-31").rows == 0
    assert len(store.read_daily(["DYNA"], "2023-11-01", "2024-12-03")) > 200


def test_adjusted_daily_arrays_equal_the_adjusted_frame(recorded_root):  # noqa: F811
    adjusted = AdjustedBarStore(BarStore(recorded_root))
    symbols = ["BOLT", "ACME"]
    frame = adjusted.read_daily(symbols, dt.date(2024, 11, 1), dt.date(2024, 12, 6))
    raw = BarStore(recorded_root).read_daily(symbols, dt.date(2024, 11, 1), dt.date(2024, 12, 6))
    assert not np.array_equal(frame["close"].to_numpy(), raw["close"].to_numpy())  # the actions do adjust
    _assert_same_as_frame(adjusted.read_daily_arrays(symbols, dt.date(2024, 11, 1), dt.date(2024, 12, 6)),
                          frame, symbols)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu",
                                  "Europe/London", "America/Santiago", "Asia/Hong_Kong"])
def test_local_dates_and_midnights_equal_pandas(zone):
    rng = np.random.default_rng(7)
    ts = np.concatenate([rng.integers(-1_500_000_000, 4_000_000_000, 30_000) * 1_000_000_000
                         + rng.integers(0, 1_000_000_000, 30_000),
                         # every second around the 2024 spring and autumn clock changes of the US and Europe
                         np.arange(1710050400, 1710064800) * 1_000_000_000,
                         np.arange(1729990800, 1730005200) * 1_000_000_000, [-1, 0, 1]])
    tm = TimeManager("XNYS", tz=zone)
    expected = (pd.DatetimeIndex(ts.view("datetime64[ns]"), tz="UTC").tz_convert(zone).tz_localize(None)
                .normalize().to_numpy().astype("datetime64[D]"))
    # zoneinfo's answer for all of them (the random times fill more buckets than local_dates reads)
    offsets = utc_offsets_ns(tm.zone, ts, max_buckets=10**9)
    np.testing.assert_array_equal(np.floor_divide(ts + offsets, 86_400 * 10**9).astype("datetime64[D]"), expected)
    assert utc_offsets_ns(tm.zone, ts) is None                   # too many buckets: local_dates asks pandas
    np.testing.assert_array_equal(tm.local_dates(ts), expected)
    around_changes = ts[30_000:]                                 # the clock changes: zoneinfo, not pandas
    assert utc_offsets_ns(tm.zone, around_changes) is not None
    np.testing.assert_array_equal(tm.local_dates(around_changes), expected[30_000:])
    np.testing.assert_array_equal(tm.local_dates(ts[30_000:].reshape(-1, 3)), expected[30_000:].reshape(-1, 3))
    assert tm.local_dates(np.empty(0, dtype=np.int64)).dtype == np.dtype("datetime64[D]")
    for day in (dt.date(2024, 3, 10), dt.date(2024, 11, 3), dt.date(2023, 6, 30), dt.date(2000, 1, 1)):
        try:
            reference = pd.Timestamp(day).tz_localize(zone).tz_convert("UTC").value
        except Exception:  # noqa: BLE001 - a midnight the clock skips: pandas refuses, no reference
            continue
        assert tm.local_midnight_ns(day) == reference


def test_calendar_months_back_equal_pandas_date_offsets():
    for day in (dt.date(2024, 3, 31), dt.date(2024, 2, 29), dt.date(2025, 1, 31), dt.date(2024, 12, 15)):
        for months in (1, 2, 3, 12, 13, 24, 48):
            assert months_before(day, months) == (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


def test_kahan_column_sums_are_pandas_group_sum_and_mean_bit_for_bit():
    rng = np.random.default_rng(3)
    plain_differs = 0
    for trial in range(200):
        rows, cols = int(rng.integers(1, 60)), int(rng.integers(1, 8))
        window = rng.standard_normal((rows, cols)) * 10.0 ** rng.integers(-5, 15, (rows, cols))
        window[rng.random((rows, cols)) < 0.2] = np.nan
        if trial % 10 == 0:
            window[rng.integers(0, rows), rng.integers(0, cols)] = np.inf
        if trial % 15 == 0:
            window[:, 0] = np.nan
        groups = pd.Series(window.ravel()).groupby(np.tile(np.arange(cols), rows), sort=True)
        total, count = kahan_column_sums(window)
        np.testing.assert_array_equal(total, groups.sum().to_numpy(float))
        with np.errstate(all="ignore"):
            mean = np.where(count > 0, total / count, np.nan)
        np.testing.assert_array_equal(mean, groups.mean().to_numpy(float))
        plain_differs += not np.array_equal(np.nansum(window, axis=0), total, equal_nan=True)
    assert plain_differs > 50     # the data does tell a compensated sum from a plain one


def test_column_numpy_equals_pyarrows_to_numpy_for_sliced_chunked_and_null_columns():
    import pyarrow as pa

    from workstation.store.bar_store import column_numpy

    rng = np.random.default_rng(5)
    bools = rng.random(1000) < 0.5
    floats = rng.standard_normal(1000)
    ints = rng.integers(-2**40, 2**40, 1000)
    for values, arrow_type, dtype in ((bools, pa.bool_(), np.bool_), (floats, pa.float64(), np.float64),
                                      (ints, pa.timestamp("ns", tz="UTC"), np.int64),
                                      (ints.astype(np.int32), pa.int32(), np.int32)):
        whole = pa.array(values.view("datetime64[ns]") if arrow_type == pa.timestamp("ns", tz="UTC") else values,
                         type=arrow_type)
        # chunks that start inside a byte of a bit-packed column, and an empty chunk
        column = pa.chunked_array([whole.slice(3, 100), whole.slice(0, 0), whole.slice(211, 500)])
        got = column_numpy(column, dtype)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, np.concatenate([values[3:103], values[211:711]]))
    with_nulls = pa.chunked_array([pa.array([1.5, None, 2.5])])
    np.testing.assert_array_equal(column_numpy(with_nulls, np.float64), [1.5, np.nan, 2.5])
    assert column_numpy(pa.chunked_array([], type=pa.float64()), np.float64).shape == (0,)


def test_missing_symbols_reads_back_only_until_every_symbol_is_found(tmp_path, tm, monkeypatch):
    from workstation.store import generate_demo
    from workstation.store.memory_store import MemoryBarStore

    generate_demo(tmp_path / "store", symbols=3, days=6, seed=2, time_manager=tm)
    store = BarStore(tmp_path / "store", time_manager=tm)
    old_day = store.dates("1m")[0]
    # a symbol that traded only on the first day
    first_file = store.day_file("1m", old_day)
    frame = store.read_bars(None, "1m", 0, 2**62)
    early = frame[frame["timestamp"] < pd.Timestamp(old_day + dt.timedelta(days=1), tz="America/New_York")]
    store.write_bars(early.assign(symbol="OLDY"), "1m")
    read: list = []
    original = BarStore.file_symbols
    monkeypatch.setattr(BarStore, "file_symbols", lambda self, path: read.append(path) or original(self, path))
    assert store.missing_symbols(["ACME", "BOLT"], "1m") == []
    assert len(read) == 1                                   # the newest file held both
    read.clear()
    assert store.missing_symbols(["NOPE", "OLDY", "ACME", "ZZZ"], "1m") == ["NOPE", "ZZZ"]
    assert len(read) == len(store.files("1m")) and read[-1] == first_file
    assert store.missing_symbols(["ACME"], "5m") == ["ACME"]             # no 5m bars at all
    assert set(store.symbols("1m")) == {"ACME", "BOLT", "CYRX", "OLDY"}
    memory = MemoryBarStore([], {"1m": store.symbols("1m")}, tm)
    assert memory.missing_symbols(["NOPE", "OLDY", "ACME"], "1m") == ["NOPE"]


def test_a_run_of_a_symbol_the_store_lacks_names_it_and_what_the_store_has(demo_store):
    from workstation.config import validate_config_dict
    from workstation.errors import StoreError
    from workstation.system import SystemManager

    store, _ = demo_store
    cfg = validate_config_dict({"name": "missing", "symbols": ["ACME", "NOPE"],
                                "backtest": {"start_date": "2024-12-02", "end_date": "2024-12-03"},
                                "strategies": [], "historical": {"trailing_days": 0, "warmup_bars": 0}})
    with pytest.raises(StoreError) as caught:
        SystemManager(cfg, store=store)
    assert "symbol NOPE has no 1m bars" in str(caught.value)
    assert "The store has: ACME, BOLT, CYRX, DYNA, ECHO." in str(caught.value)
    ok = validate_config_dict({**cfg.model_dump(mode="json"), "symbols": ["ACME", "ECHO"]})
    assert SystemManager(ok, store=store).sessions
