"""MemoryBarStore answers every read the engine makes exactly as the Parquet BarStore does.

The reference is BarStore itself, reading the same store: frames are compared with pandas'
assert_frame_equal (dtypes included), session arrays element by element.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workstation.errors import StoreError
from workstation.store import BarStore
from workstation.store.memory_store import BarBlock, MemoryBarStore
from workstation.sweep.shipping import CellNeeds, DataShipper


def _memory(store: BarStore, tm, days, daily=None, symbols=None) -> MemoryBarStore:
    """A MemoryBarStore of `days` (1m) and `daily` (first, last), shipped as a sweep ships them."""
    symbols = symbols or store.symbols()
    shipper = DataShipper(store, tm, symbols, put=lambda block: block)  # no Ray: the blocks themselves
    blocks = shipper.refs(CellNeeds({"1m": tuple(days)}, daily, tuple(symbols)))
    return MemoryBarStore(blocks, {"1m": store.symbols("1m")}, tm, root=store.root)


def _assert_arrays_equal(a, b) -> None:
    assert a.rows == b.rows
    for name in a._fields:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name


def test_session_arrays_bars_and_daily_equal_the_parquet_store(demo_store, tm):
    store, _ = demo_store
    days = tm.trading_dates("2024-11-22", "2024-12-03")  # Thanksgiving and the early close inside
    mem = _memory(store, tm, days, daily=(dt.date(2023, 11, 1), dt.date(2024, 12, 3)))
    order = ["ECHO", "ACME", "CYRX"]  # the caller's order decides the symbol index
    for day in days:
        for rth_only in (True, False):
            _assert_arrays_equal(mem.read_session_arrays(day, "1m", order, rth_only=rth_only),
                                 store.read_session_arrays(day, "1m", order, rth_only=rth_only))
    assert mem.read_session_arrays(days[0], "1m", []).rows == 0
    spans = [(tm.session(days[0]).open_ns, tm.session(days[-1]).close_ns),
             (tm.session(days[2]).open_ns + 17 * 60_000_000_000, tm.session(days[4]).open_ns + 1)]
    for start, end in spans:
        for symbols in (None, ["BOLT", "ACME"], ["NOPE"], []):
            for rth_only in (True, False):
                pd.testing.assert_frame_equal(mem.read_bars(symbols, "1m", start, end, rth_only=rth_only),
                                              store.read_bars(symbols, "1m", start, end, rth_only=rth_only))
    for first, last in (("2023-11-01", "2024-12-03"), ("2024-02-10", "2024-02-20"), ("2024-11-29", "2024-11-29")):
        pd.testing.assert_frame_equal(mem.read_daily(["ACME", "DYNA"], first, last),
                                      store.read_daily(["ACME", "DYNA"], first, last))
    assert mem.symbols("1m") == store.symbols("1m")
    assert mem.has_symbol("BOLT", "1m") and not mem.has_symbol("ZZZ", "1m")


def test_extended_hours_and_missing_vendor_fields_survive_the_trip(real_import, tm):
    store, _ = real_import
    every = store.read_bars(None, "1m", 0, 2**62)
    extended = every[~every["rth"]]
    with_vwap = every[every["vwap"].notna()]
    assert len(extended) and len(with_vwap) and every["vwap"].isna().any()
    days = sorted({tm.local_dates(np.array([pd.Timestamp(t).value]))[0].astype(dt.date)
                   for t in (extended["timestamp"].iloc[0], with_vwap["timestamp"].iloc[0])})
    mem = _memory(store, tm, days)
    for day in days:
        span = _day_span(tm, day)
        for symbols in (None, [str(extended["symbol"].iloc[0]), str(with_vwap["symbol"].iloc[0])]):
            for rth_only in (True, False):
                pd.testing.assert_frame_equal(mem.read_bars(symbols, "1m", *span, rth_only=rth_only),
                                              store.read_bars(symbols, "1m", *span, rth_only=rth_only))
        names = store.symbols("1m")
        for rth_only in (True, False):
            _assert_arrays_equal(mem.read_session_arrays(day, "1m", names, rth_only=rth_only),
                                 store.read_session_arrays(day, "1m", names, rth_only=rth_only))


def _day_span(tm, day) -> tuple[int, int]:
    start = pd.Timestamp(day).tz_localize(tm.tz).tz_convert("UTC").value
    return start, start + 86_400 * 10**9


def test_a_date_that_was_not_shipped_is_an_error_not_an_empty_answer(demo_store, tm):
    store, _ = demo_store
    mem = _memory(store, tm, tm.trading_dates("2024-11-25", "2024-11-27"),
                  daily=(dt.date(2024, 1, 2), dt.date(2024, 11, 27)))
    with pytest.raises(StoreError, match="2024-12-02 were not shipped"):
        mem.read_session_arrays("2024-12-02", "1m", ["ACME"])
    with pytest.raises(StoreError, match="2024-11-22 were not shipped"):
        mem.read_bars(None, "1m", tm.session("2024-11-22").open_ns, tm.session("2024-11-25").close_ns)
    with pytest.raises(StoreError, match="1d bars of 2024-11-29"):
        mem.read_daily(["ACME"], "2024-11-01", "2024-11-29")
    # a span across the weekend and Thanksgiving, all shipped: no error
    assert len(mem.read_bars(["ACME"], "1m", tm.session("2024-11-25").open_ns,
                             tm.session("2024-11-27").close_ns)) > 0
    assert mem.read_session_arrays("2024-11-28", "1m", ["ACME"]).rows == 0  # Thanksgiving: no session


def test_blocks_pickle_zero_copy_sized_and_intraday_blocks_are_one_date(demo_store, tm):
    store, _ = demo_store
    frame = store.read_bars(None, "1m", *_day_span(tm, dt.date(2024, 11, 26)))
    block = BarBlock.from_frame(frame, "1m", dt.date(2024, 11, 26), dt.date(2024, 11, 26))
    assert block.rows == len(frame) and block.symbols == tuple(sorted(frame["symbol"].unique()))
    assert block.nbytes >= len(frame) * (4 + 8 * 8 + 1)
    two_days = BarBlock.from_frame(frame, "1m", dt.date(2024, 11, 26), dt.date(2024, 11, 27))
    with pytest.raises(StoreError, match="one block per date"):
        MemoryBarStore([two_days], {}, tm)
