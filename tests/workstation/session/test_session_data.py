"""Tests of SessionData: writers, readers, lifecycle, historical data, and concurrent readers."""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from workstation.errors import WorkstationError
from workstation.model import Bar
from workstation.session import (
    BarOrderError,
    BarsView,
    SessionData,
    UnknownIntervalError,
    UnknownSymbolError,
    default_capacity,
)

MIN = 60_000_000_000
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC = 09:30 New York


def make(symbols=("AAA", "BBB", "CCC"), intervals=("1m", "5m"), **kw) -> SessionData:
    return SessionData(list(symbols), list(intervals), **kw)


def ohlcv(base: np.ndarray | float) -> tuple:
    """Values with a checkable relation: high = open+1, low = open-1, close = open+0.5."""
    base = np.asarray(base, dtype=float)
    return base, base + 1.0, base - 1.0, base + 0.5, base * 10.0


def fill(sd: SessionData, bars: int, interval: str = "1m", step: int = MIN) -> None:
    n = sd.n_symbols
    idx = np.arange(n, dtype=np.int64)
    for k in range(bars):
        sd.append_bars(interval, idx, T0 + k * step, *ohlcv(100.0 * (idx + 1) + k))


# ---------------------------------------------------------------- construction


def test_constructor_validates_and_canonicalises():
    sd = make(intervals=("5m", "1M"))
    assert sd.intervals == ["5m", "1m"]
    assert sd.metrics_interval == "1m"  # the smallest interval
    assert sd.symbol_index == {"AAA": 0, "BBB": 1, "CCC": 2}
    with pytest.raises(ValueError, match="listed twice"):
        make(intervals=("1m", "1m"))
    with pytest.raises(ValueError, match="unknown interval"):
        make(intervals=("7x",))
    with pytest.raises(ValueError, match="more than once"):
        make(symbols=("AAA", "BBB", "AAA"))
    with pytest.raises(ValueError, match="not a symbol"):
        make(symbols=("AAA", ""))
    with pytest.raises(ValueError, match="capacity"):
        make(capacity={"15m": 10})
    with pytest.raises(ValueError, match="metrics_interval"):
        make(metrics_interval="15m")


def test_default_capacity_scales_with_interval_length():
    assert default_capacity(60) == 1024
    assert default_capacity(300) == 256
    assert default_capacity(900) == 128
    assert default_capacity(86400) == 16
    assert default_capacity(1) == 32768


def test_empty_session_reads():
    sd = make()
    assert sd.latest_bar("AAA", "1m") is None
    assert sd.bar_count("AAA", "1m") == 0
    assert sd.last_bars("AAA", "1m", 20).size == 0
    assert sd.bars("AAA", "5m").size == 0
    assert sd.forming_bar("AAA", "5m") is None
    m = sd.session_metrics("AAA")
    assert m.volume == 0 and math.isnan(m.high) and math.isnan(m.vwap)
    lb = sd.latest_bars(None, "1m")
    assert list(lb.timestamp) == [-1, -1, -1] and np.isnan(lb.close).all()


def test_unknown_symbol_and_interval_errors_name_the_value():
    sd = make()
    for call in (
        lambda: sd.latest_bar("ZZZ", "1m"),
        lambda: sd.bar_count("ZZZ", "1m"),
        lambda: sd.last_bars("ZZZ", "1m", 3),
        lambda: sd.session_metrics("ZZZ"),
        lambda: sd.append_bar("ZZZ", "1m", T0, 1, 1, 1, 1, 1),
    ):
        with pytest.raises(UnknownSymbolError, match="ZZZ"):
            call()
    for call in (
        lambda: sd.latest_bar("AAA", "2m"),
        lambda: sd.bars("AAA", "2m"),
        lambda: sd.append_bars("2m", [0], T0, 1, 1, 1, 1, 1),
    ):
        with pytest.raises(UnknownIntervalError, match="2m"):
            call()
    assert issubclass(UnknownSymbolError, KeyError) and issubclass(UnknownSymbolError, WorkstationError)


# ---------------------------------------------------------------- append + read


def test_append_bars_and_readers():
    sd = make()
    fill(sd, 30)
    for s, sym in enumerate(sd.symbols):
        base = 100.0 * (s + 1)
        assert sd.bar_count(sym, "1m") == 30
        bar = sd.latest_bar(sym, "1m")
        assert bar == Bar(
            sym, "1m", T0 + 29 * MIN, base + 29, base + 30, base + 28, base + 29.5, (base + 29) * 10
        )
        last = sd.last_bars(sym, "1m", 5)
        assert isinstance(last, BarsView) and last.size == 5
        assert list(last.timestamp) == [T0 + k * MIN for k in range(25, 30)]
        assert np.array_equal(last.high, last.open + 1) and np.array_equal(last.close, last.open + 0.5)
        assert sd.last_bars(sym, "1m", 100).size == 30
        assert sd.last_bars(sym, "1m", 0).size == 0
        assert sd.bars(sym, "1m").size == 30
    assert sd.bar_counts("1m").tolist() == [30, 30, 30]
    assert sd.bar_count("AAA", "5m") == 0


def test_views_are_zero_copy_and_read_only():
    sd = make()
    fill(sd, 10)
    view = sd.last_bars("BBB", "1m", 4)
    assert np.shares_memory(view.close, sd.bars("BBB", "1m").close)
    with pytest.raises(ValueError):
        view.close[0] = 1.0
    # Appending more bars does not change a view already held.
    before = view.close.copy()
    fill_more = np.arange(3, dtype=np.int64)
    sd.append_bars("1m", fill_more, T0 + 10 * MIN, *ohlcv(np.array([1.0, 2.0, 3.0])))
    assert np.array_equal(view.close, before)


def test_bars_since_and_between_use_bar_start():
    sd = make()
    fill(sd, 20)
    since = sd.bars_since("AAA", "1m", T0 + 15 * MIN)
    assert list(since.timestamp) == [T0 + k * MIN for k in range(15, 20)]
    assert sd.bars_since("AAA", "1m", T0 + 15 * MIN + 1).size == 4
    assert sd.bars_since("AAA", "1m", T0 + 99 * MIN).size == 0
    between = sd.bars_between("AAA", "1m", T0 + 3 * MIN, T0 + 6 * MIN)
    assert list(between.timestamp) == [T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN]
    assert sd.bars_between("AAA", "1m", T0 + 6 * MIN, T0 + 3 * MIN).size == 0


def test_append_subset_with_per_symbol_timestamps_and_none_means_all():
    sd = make()
    sd.append_bars("1m", np.array([0, 2]), np.array([T0, T0 + MIN]), *ohlcv(np.array([1.0, 3.0])))
    assert sd.bar_counts("1m").tolist() == [1, 0, 1]
    assert sd.latest_bar("CCC", "1m").timestamp == T0 + MIN
    sd.append_bars("1m", None, T0 + 2 * MIN, *ohlcv(np.array([1.0, 2.0, 3.0])))
    assert sd.bar_counts("1m").tolist() == [2, 1, 2]
    assert [b.timestamp for b in (sd.latest_bar(s, "1m") for s in sd.symbols)] == [T0 + 2 * MIN] * 3
    # Unequal counts with sym_idx=None still land in each symbol's next slot.
    sd.append_bars("1m", None, T0 + 3 * MIN, *ohlcv(np.array([5.0, 6.0, 7.0])))
    assert sd.bars("BBB", "1m").open.tolist() == [2.0, 6.0]


def test_append_rejects_out_of_order_duplicates_and_bad_indices():
    sd = make()
    fill(sd, 3)
    with pytest.raises(BarOrderError, match="BBB 1m") as err:
        sd.append_bars("1m", np.array([0, 1]), np.array([T0 + 5 * MIN, T0 + 2 * MIN]), *ohlcv(np.ones(2)))
    assert "insert_bar" in str(err.value) and "2024-01-02T14:32" in str(err.value)
    assert sd.bar_counts("1m").tolist() == [3, 3, 3]  # nothing published
    with pytest.raises(BarOrderError):
        sd.append_bar("AAA", "1m", T0 + 2 * MIN, 1, 2, 0, 1, 1)
    with pytest.raises(ValueError, match="twice"):
        sd.append_bars("1m", np.array([1, 1]), T0 + 9 * MIN, *ohlcv(np.ones(2)))
    with pytest.raises(UnknownSymbolError):
        sd.append_bars("1m", np.array([0, 5]), T0 + 9 * MIN, *ohlcv(np.ones(2)))
    with pytest.raises(UnknownSymbolError):
        sd.append_bars("1m", np.array([-1]), T0 + 9 * MIN, *ohlcv(np.ones(1)))
    assert sd.bar_counts("1m").tolist() == [3, 3, 3]
    sd.append_bars("1m", np.array([], dtype=np.int64), T0, 1, 1, 1, 1, 1)  # no-op


def test_append_bar_scalar_matches_vector_path():
    a, b = make(), make()
    for k in range(4):
        vals = ohlcv(np.array([10.0 + k, 20.0 + k, 30.0 + k]))
        a.append_bars("1m", np.arange(3), T0 + k * MIN, *vals)
        for s, sym in enumerate(b.symbols):
            b.append_bar(sym, "1m", T0 + k * MIN, *(float(x[s]) for x in vals))
    for sym in a.symbols:
        assert a.latest_bar(sym, "1m") == b.latest_bar(sym, "1m")
        assert np.array_equal(a.bars(sym, "1m").close, b.bars(sym, "1m").close)
        assert a.session_metrics(sym) == pytest.approx(b.session_metrics(sym))


def test_block_grows_by_doubling_and_old_views_stay_valid():
    sd = make(capacity={"1m": 4})
    fill(sd, 4)
    old_view = sd.bars("AAA", "1m")
    old_block = sd._states["1m"].block
    fill_from = 4
    idx = np.arange(3, dtype=np.int64)
    for k in range(fill_from, 11):
        sd.append_bars("1m", idx, T0 + k * MIN, *ohlcv(100.0 * (idx + 1) + k))
    assert sd._states["1m"].block.capacity == 16
    assert sd._states["1m"].block is not old_block
    assert old_view.size == 4 and list(old_view.timestamp) == [T0 + k * MIN for k in range(4)]
    bars = sd.bars("AAA", "1m")
    assert list(bars.timestamp) == [T0 + k * MIN for k in range(11)]
    assert np.array_equal(bars.open, 100.0 + np.arange(11))


def test_latest_bar_cache_follows_writes():
    sd = make()
    fill(sd, 2)
    first = sd.latest_bar("AAA", "1m")
    assert sd.latest_bar("AAA", "1m") is first  # cached object
    sd.append_bar("AAA", "1m", T0 + 5 * MIN, 7, 8, 6, 7.5, 70)
    assert sd.latest_bar("AAA", "1m") == Bar("AAA", "1m", T0 + 5 * MIN, 7, 8, 6, 7.5, 70)
    # Replacing the last bar's values through insert_bar is seen too.
    sd.insert_bar("AAA", "1m", T0 + 5 * MIN, 9, 10, 8, 9.5, 90)
    assert sd.latest_bar("AAA", "1m").open == 9


def test_last_bars_cache_follows_writes():
    sd = make()
    fill(sd, 3)
    view = sd.last_bars("AAA", "1m", 2)
    assert sd.last_bars("AAA", "1m", 2) is view  # cached while nothing is written
    assert sd.last_bars("AAA", "1m", 3).size == 3  # another n is rebuilt
    sd.append_bar("BBB", "1m", T0 + 9 * MIN, 1, 2, 0, 1, 1)  # a write to another symbol
    assert sd.last_bars("AAA", "1m", 2).timestamp.tolist() == [T0 + MIN, T0 + 2 * MIN]
    sd.append_bar("AAA", "1m", T0 + 9 * MIN, 1, 2, 0, 1, 1)
    assert sd.last_bars("AAA", "1m", 2).timestamp.tolist() == [T0 + 2 * MIN, T0 + 9 * MIN]
    sd.insert_bar("AAA", "1m", T0 + 9 * MIN, 7, 8, 6, 7, 1)  # same start: values replaced, same count
    assert sd.last_bars("AAA", "1m", 2).open.tolist() == [102.0, 7.0]
    sd.clear_session()
    assert sd.last_bars("AAA", "1m", 2).size == 0


def test_latest_bars_many_symbols():
    sd = make(symbols=("A", "B", "C", "D"))
    sd.append_bars("1m", np.array([0, 2]), T0, *ohlcv(np.array([1.0, 3.0])))
    sd.append_bars("1m", np.array([2]), T0 + MIN, *ohlcv(np.array([33.0])))
    lb = sd.latest_bars(["C", "B", "A"], "1m")
    assert lb.symbol_index.tolist() == [2, 1, 0]
    assert lb.timestamp.tolist() == [T0 + MIN, -1, T0]
    assert lb.open[0] == 33.0 and math.isnan(lb.open[1]) and lb.open[2] == 1.0
    assert np.array_equal(lb.high[[0, 2]], lb.open[[0, 2]] + 1)
    all_ = sd.latest_bars(None, "1m")
    assert all_.symbol_index.tolist() == [0, 1, 2, 3] and all_.timestamp.tolist() == [T0, -1, T0 + MIN, -1]
    by_index = sd.latest_bars(np.array([3, 2]), "1m")
    assert by_index.timestamp.tolist() == [-1, T0 + MIN]
    with pytest.raises(UnknownSymbolError, match="ZZ"):
        sd.latest_bars(["A", "ZZ"], "1m")


# ---------------------------------------------------------------- insert_bar


def test_insert_bar_places_late_bar_in_order_and_replaces_same_start():
    sd = make(capacity={"1m": 4})
    for k in (0, 1, 3, 4):  # bar 2 is missing
        sd.append_bar("AAA", "1m", T0 + k * MIN, *ohlcv(float(k)))
    view_before = sd.bars("AAA", "1m")
    pos = sd.insert_bar("AAA", "1m", T0 + 2 * MIN, *ohlcv(2.0))
    assert pos == 2
    bars = sd.bars("AAA", "1m")
    assert list(bars.timestamp) == [T0 + k * MIN for k in range(5)]
    assert bars.open.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert sd._states["1m"].block.capacity == 8  # grew while inserting
    assert list(view_before.timestamp) == [T0 + k * MIN for k in (0, 1, 3, 4)]  # old view untouched
    # Same start: replace values, count unchanged.
    assert sd.insert_bar("AAA", "1m", T0 + 1 * MIN, *ohlcv(50.0)) == 1
    assert sd.bar_count("AAA", "1m") == 5 and sd.bars("AAA", "1m").open[1] == 50.0
    # Later than everything: behaves like an append.
    assert sd.insert_bar("AAA", "1m", T0 + 9 * MIN, *ohlcv(9.0)) == 5
    assert sd.latest_bar("AAA", "1m").timestamp == T0 + 9 * MIN
    # Earliest.
    assert sd.insert_bar("AAA", "1m", T0 - MIN, *ohlcv(-1.0)) == 0
    assert sd.bars("AAA", "1m").open.tolist() == [-1.0, 0.0, 50.0, 2.0, 3.0, 4.0, 9.0]
    # Other symbols untouched.
    assert sd.bar_count("BBB", "1m") == 0


def test_insert_bar_recomputes_session_metrics():
    sd = make()
    sd.append_bar("AAA", "1m", T0, 10, 12, 9, 11, 100)
    sd.append_bar("AAA", "1m", T0 + 2 * MIN, 11, 13, 10, 12, 100)
    sd.insert_bar("AAA", "1m", T0 + MIN, 20, 30, 5, 25, 200)
    m = sd.session_metrics("AAA")
    assert m.volume == 400 and m.high == 30 and m.low == 5 and m.last == 12
    tp = np.array([(12 + 9 + 11) / 3, (30 + 5 + 25) / 3, (13 + 10 + 12) / 3])
    assert m.vwap == pytest.approx(float((tp * [100, 200, 100]).sum() / 400))


# ---------------------------------------------------------------- metrics, forming, quality


def test_session_metrics_vwap_of_typical_price():
    sd = make()
    sd.append_bars("1m", np.array([0, 1]), T0, [10, 20], [12, 22], [9, 19], [11, 21], [100, 0])
    sd.append_bars("1m", np.array([0, 1]), T0 + MIN, [11, 21], [15, 23], [10, 18], [14, 22], [300, 0])
    m = sd.session_metrics("AAA")
    assert m.volume == 400 and m.high == 15 and m.low == 9 and m.last == 14
    assert m.vwap == pytest.approx(((12 + 9 + 11) / 3 * 100 + (15 + 10 + 14) / 3 * 300) / 400)
    b = sd.session_metrics("BBB")
    assert b.volume == 0 and math.isnan(b.vwap) and b.high == 23 and b.low == 18 and b.last == 22
    arrays = sd.session_metrics_arrays()
    assert arrays.volume.tolist() == [400, 0, 0]
    assert arrays.vwap[0] == pytest.approx(m.vwap) and np.isnan(arrays.vwap[1:]).all()
    with pytest.raises(ValueError):
        arrays.volume[0] = 1.0
    # Derived-interval bars do not count into the session metrics.
    sd.append_bars("5m", np.array([0]), T0, 1, 1000, 0.5, 1, 1e6)
    assert sd.session_metrics("AAA") == m


def test_forming_bars():
    sd = make()
    sd.set_forming("5m", np.array([0, 2]), T0, [1, 3], [2, 4], [0.5, 2.5], [1.5, 3.5], [10, 30])
    assert sd.forming_bar("AAA", "5m") == Bar("AAA", "5m", T0, 1, 2, 0.5, 1.5, 10)
    assert sd.forming_bar("BBB", "5m") is None
    assert sd.forming_bar("CCC", "5m").close == 3.5
    sd.set_forming("5m", "AAA", T0, 1, 3, 0.5, 2.5, 20)
    assert sd.forming_bar("AAA", "5m").high == 3
    sd.clear_forming("5m", [0])
    assert sd.forming_bar("AAA", "5m") is None and sd.forming_bar("CCC", "5m") is not None
    sd.clear_forming("5m")
    assert sd.forming_bar("CCC", "5m") is None
    assert sd.bar_count("AAA", "5m") == 0  # forming bars are not session bars


def test_quality():
    sd = make()
    assert sd.quality("AAA", "1m") == 100.0
    sd.set_quality("1m", "BBB", 92.5)
    sd.set_quality("5m", np.array([0, 2]), np.array([50.0, 75.0]))
    assert sd.quality("BBB", "1m") == 92.5
    assert sd.quality_array("5m").tolist() == [50.0, 100.0, 75.0]
    with pytest.raises(ValueError, match="percent"):
        sd.set_quality("1m", "AAA", 101)
    with pytest.raises(ValueError, match="percent"):
        sd.set_quality("1m", "AAA", float("nan"))


# ---------------------------------------------------------------- change counters


def test_change_counters_and_changes_since():
    sd = make()
    snap = sd.counters("1m")
    assert sd.changes_since("1m", snap).size == 0
    sd.append_bars("1m", np.array([1]), T0, 1, 2, 0, 1, 1)
    assert sd.changes_since("1m", snap).tolist() == [1]
    c1 = sd.change_counter("BBB", "1m")
    sd.insert_bar("BBB", "1m", T0, 5, 6, 4, 5, 5)
    assert sd.change_counter("BBB", "1m") == c1 + 1
    snap5 = sd.counters("5m")
    sd.set_forming("5m", [2], T0, 1, 1, 1, 1, 1)
    assert sd.changes_since("5m", snap5).tolist() == [2]
    snap5 = sd.counters("5m")
    sd.clear_forming("5m", [2])
    assert sd.changes_since("5m", snap5).tolist() == [2]
    # Counters never go back: clear_session moves every counter on.
    snap = sd.counters("1m")
    sd.clear_session()
    assert sd.changes_since("1m", snap).tolist() == [0, 1, 2]
    assert (sd.counters("1m") > snap).all()


# ---------------------------------------------------------------- lifecycle


def test_clear_session_keeps_historical_and_leaves_old_views_intact():
    sd = make()
    fill(sd, 5)
    sd.set_forming("5m", [0], T0, 1, 1, 1, 1, 1)
    sd.set_quality("1m", "AAA", 80.0)
    sd.append_quote("AAA", T0, 1.0, 1.1, 100, 200)
    hist = {
        "timestamp": [T0 - 2 * MIN, T0 - MIN],
        "open": [1, 2],
        "high": [2, 3],
        "low": [0, 1],
        "close": [1, 2],
    }
    hist["volume"] = [10, 20]
    sd.set_historical_bars("AAA", "1m", hist)
    sd.set_historical_indicator("AAA", "avg_volume_10d", 1234.0)
    held = sd.bars("AAA", "1m")
    gen = sd.session_generation
    sd.clear_session()
    assert sd.session_generation == gen + 1
    assert sd.bar_count("AAA", "1m") == 0 and sd.latest_bar("AAA", "1m") is None
    assert sd.forming_bar("AAA", "5m") is None
    assert sd.quality("AAA", "1m") == 100.0
    assert sd.session_metrics("AAA").volume == 0
    assert sd.latest_quote("AAA") is None
    assert sd.historical_bars("AAA", "1m").size == 2
    assert sd.historical_indicator("AAA", "avg_volume_10d") == 1234.0
    assert held.size == 5 and held.open.tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]
    fill(sd, 2)  # the next session starts from scratch, times may repeat
    assert sd.bar_count("AAA", "1m") == 2
    sd.session_date = pd.Timestamp("2024-01-03").date()
    assert "2024-01-03" in repr(sd)


def test_add_symbols_extends_everything():
    sd = make(capacity={"1m": 4})
    fill(sd, 3)
    sd.set_quality("1m", "AAA", 90.0)
    indices = sd.add_symbols(["DDD", "AAA", "EEE"])
    assert indices == [3, 0, 4]
    assert sd.symbols == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    assert sd.bar_count("DDD", "1m") == 0 and sd.bar_count("AAA", "1m") == 3
    assert sd.quality("AAA", "1m") == 90.0 and sd.quality("EEE", "1m") == 100.0
    assert math.isnan(sd.session_metrics("DDD").high) and sd.session_metrics("AAA").volume > 0
    assert sd.latest_bar("DDD", "1m") is None
    assert sd.latest_bar("AAA", "1m").timestamp == T0 + 2 * MIN
    idx = np.arange(5, dtype=np.int64)
    counts = sd.bar_counts("1m")
    ts = T0 + 3 * MIN + np.zeros(5, dtype=np.int64)
    sd.append_bars("1m", idx, ts, *ohlcv(np.arange(5.0)))
    assert sd.bar_counts("1m").tolist() == (counts + 1).tolist()
    assert sd.latest_bar("EEE", "1m").open == 4.0
    assert sd.bars("AAA", "1m").size == 4
    assert sd.changes_since("1m", np.zeros(3, dtype=np.int64)).tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- historical


def _day(day: int, n: int = 3) -> dict:
    start = T0 + day * 1440 * MIN
    ts = start + np.arange(n, dtype=np.int64) * MIN
    base = float(day * 10)
    return {
        "timestamp": ts,
        "open": base + np.arange(n),
        "high": base + np.arange(n) + 1,
        "low": base + np.arange(n) - 1,
        "close": base + np.arange(n) + 0.5,
        "volume": np.full(n, 100.0),
    }


def test_set_historical_bars_accepts_frames_and_validates():
    sd = make()
    view = sd.set_historical_bars("AAA", "1m", _day(-1))
    assert view.size == 3 and view.timestamp.dtype == np.int64
    with pytest.raises(ValueError):
        view.open[0] = 0.0
    df = (
        pd.DataFrame(_day(-2))
        .set_index(pd.to_datetime(_day(-2)["timestamp"], utc=True))
        .drop(columns="timestamp")
    )
    sd.set_historical_bars("BBB", "1d", df)
    assert sd.historical_bars("BBB", "1d").timestamp.tolist() == _day(-2)["timestamp"].tolist()
    assert sd.historical_intervals("BBB") == ["1d"]
    # A tz-aware timestamp column (pandas 3 defaults to microseconds) and an Arrow table.
    times = pd.date_range("2024-01-02 14:30", periods=3, freq="1min", tz="UTC")
    frame = pd.DataFrame(
        {"timestamp": times, **{k: [1.0, 2.0, 3.0] for k in ("open", "high", "low", "close")}}
    )
    frame["volume"] = 5.0
    expected_ns = [T0, T0 + MIN, T0 + 2 * MIN]
    assert sd.set_historical_bars("AAA", "1h", frame).timestamp.tolist() == expected_ns
    pa = pytest.importorskip("pyarrow")
    assert sd.set_historical_bars("AAA", "1h", pa.Table.from_pandas(frame)).timestamp.tolist() == expected_ns
    sd.set_historical_bars("CCC", "1m", sd.historical_bars("AAA", "1m"))  # a BarsView
    assert sd.historical_bars("CCC", "1m").open.tolist() == view.open.tolist()
    assert sd.historical_bars("AAA", "5m").size == 0
    bad = _day(-1)
    bad["timestamp"] = bad["timestamp"][::-1].copy()
    with pytest.raises(ValueError, match="strictly increase"):
        sd.set_historical_bars("AAA", "1m", bad)
    missing = _day(-1)
    del missing["volume"]
    with pytest.raises(ValueError, match="volume"):
        sd.set_historical_bars("AAA", "1m", missing)
    naive = pd.DataFrame(_day(-1)).drop(columns="timestamp")
    naive.index = pd.to_datetime(_day(-1)["timestamp"])
    with pytest.raises(ValueError, match="naive"):
        sd.set_historical_bars("AAA", "1m", naive)
    with pytest.raises(UnknownSymbolError):
        sd.set_historical_bars("ZZZ", "1m", _day(-1))


def test_roll_historical_appends_day_and_drops_old_days():
    sd = make()
    first = {k: np.concatenate([_day(d)[k] for d in (-3, -2, -1)]) for k in _day(0)}
    sd.set_historical_bars("AAA", "1m", first)
    held = sd.historical_bars("AAA", "1m")
    window_start = T0 - 2 * 1440 * MIN  # keep days -2, -1, 0
    rolled = sd.roll_historical("AAA", "1m", _day(0), window_start)
    assert rolled.size == 9
    assert rolled.timestamp[0] == window_start and rolled.timestamp[-1] == _day(0)["timestamp"][-1]
    assert np.all(np.diff(rolled.timestamp) > 0)
    assert sd.historical_bars("AAA", "1m") is rolled
    assert held.size == 9 and held.timestamp[0] == T0 - 3 * 1440 * MIN  # old view unchanged
    # Rolling the same day again replaces it instead of duplicating.
    again = sd.roll_historical("AAA", "1m", _day(0), window_start)
    assert again.size == 9
    # Rolling into an empty history works.
    assert sd.roll_historical("BBB", "1m", _day(0), 0).size == 3


def test_roll_session_into_historical():
    sd = make()
    fill(sd, 4)
    sd.set_historical_bars("AAA", "1m", _day(-1))
    added = sd.roll_session_into_historical("1m", keep_days_from_ns=T0 - 1440 * MIN)
    assert added == 12
    hist = sd.historical_bars("AAA", "1m")
    assert hist.size == 7 and hist.timestamp[-1] == T0 + 3 * MIN
    sd.clear_session()
    assert sd.historical_bars("AAA", "1m").size == 7
    assert sd.historical_bars("CCC", "1m").size == 4


def test_historical_indicators():
    sd = make()
    assert sd.historical_indicator("AAA", "avg_volume_10d") is None
    sd.set_historical_indicator("AAA", "avg_volume_10d", 1e6)
    sd.set_historical_indicator("BBB", "intraday_avg_volume", np.arange(390.0))
    sd.set_historical_indicator("BBB", "high_52w", 180.5)
    assert sd.historical_indicator("AAA", "avg_volume_10d") == 1e6
    arr = sd.historical_indicator("BBB", "intraday_avg_volume")
    assert isinstance(arr, np.ndarray) and arr.shape == (390,) and not arr.flags.writeable
    assert sd.historical_indicator_names() == ["avg_volume_10d", "high_52w", "intraday_avg_volume"]
    assert set(sd.historical_indicators("BBB")) == {"intraday_avg_volume", "high_52w"}
    with pytest.raises(UnknownSymbolError):
        sd.historical_indicator("ZZZ", "x")
    sd.clear_historical()
    assert sd.historical_indicator_names() == []


# ---------------------------------------------------------------- quotes


def test_quotes_ring():
    sd = make(quote_history=3)
    assert sd.latest_quote("AAA") is None
    for k in range(5):
        sd.append_quote("AAA", T0 + k, 10.0 + k, 10.1 + k, 100, 200)
    q = sd.latest_quote("AAA")
    assert q.timestamp == T0 + 4 and q.bid == 14.0 and q.ask_size == 200
    assert [x.timestamp for x in sd.quotes("AAA")] == [T0 + 2, T0 + 3, T0 + 4]
    assert sd.quotes("BBB") == []


def test_bars_view_to_frame():
    sd = make()
    fill(sd, 3)
    df = sd.bars("AAA", "1m").to_frame(tz="America/New_York")
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert str(df.index[0]) == "2024-01-02 09:30:00-05:00"
    assert df["close"].tolist() == [100.5, 101.5, 102.5]


# ---------------------------------------------------------------- concurrency


def _hammer_values(ts: int, s: int) -> float:
    """open of symbol s at bar start ts: recoverable from (ts, s)."""
    return float((ts - T0) // MIN) * 1000.0 + s


def _check_bar(bar: Bar, s: int) -> None:
    o = _hammer_values(bar.timestamp, s)
    assert (bar.open, bar.high, bar.low, bar.close) == (o, o + 1, o - 1, o + 0.5), bar
    assert bar.volume == 1.0, bar


def _check_view(view: BarsView, s: int) -> None:
    ts = view.timestamp
    n = ts.shape[0]
    assert view.open.shape[0] == n and view.volume.shape[0] == n
    if n:
        assert np.all(ts[1:] > ts[:-1]), ts
        expected = ((ts - T0) // MIN).astype(float) * 1000.0 + s
        assert np.array_equal(view.open, expected), (view.open, expected)
        assert np.array_equal(view.high, expected + 1) and np.array_equal(view.low, expected - 1)
        assert np.array_equal(view.close, expected + 0.5) and np.all(view.volume == 1.0)


def test_concurrent_readers_never_see_partial_bars():
    n_sym, n_times = 50, 1500
    symbols = [f"S{s:02d}" for s in range(n_sym)]
    sd = SessionData(symbols, ["1m", "5m"], capacity={"1m": 8})  # forces several block growths
    late_symbol, late_minute = 7, 100
    errors: list[BaseException] = []
    done = threading.Event()

    passed_late = threading.Event()

    def writer() -> None:
        try:
            idx_all = np.arange(n_sym, dtype=np.int64)
            for k in range(n_times):
                ts = T0 + k * MIN
                idx = idx_all if k != late_minute else idx_all[idx_all != late_symbol]
                o = ((ts - T0) // MIN) * 1000.0 + idx.astype(float)
                sd.append_bars("1m", idx, ts, o, o + 1, o - 1, o + 0.5, np.ones(idx.shape[0]))
                if k == late_minute + 1:
                    passed_late.set()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    def gap_filler() -> None:
        """Inserts the missing bar from another thread while the writer keeps appending."""
        try:
            assert passed_late.wait(timeout=30)
            lt = T0 + late_minute * MIN
            o7 = _hammer_values(lt, late_symbol)
            pos = sd.insert_bar(symbols[late_symbol], "1m", lt, o7, o7 + 1, o7 - 1, o7 + 0.5, 1.0)
            assert pos == late_minute
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    def reader(offset: int) -> None:
        try:
            last_counts = [0] * n_sym
            rounds = 0
            while not done.is_set() or rounds < 2:
                rounds += 1
                for s in range(offset, n_sym, 3):
                    sym = symbols[s]
                    count = sd.bar_count(sym, "1m")
                    assert count >= last_counts[s], (sym, count, last_counts[s])
                    last_counts[s] = count
                    bar = sd.latest_bar(sym, "1m")
                    if bar is not None:
                        _check_bar(bar, s)
                    _check_view(sd.last_bars(sym, "1m", 20), s)
                    _check_view(sd.bars_since(sym, "1m", T0 + 90 * MIN), s)
                    whole = sd.bars(sym, "1m")
                    assert whole.size >= count
                    _check_view(whole, s)
                    m = sd.session_metrics(sym)
                    if m.volume > 0:
                        assert m.low <= m.vwap <= m.high and m.low <= m.last <= m.high, m
                lb = sd.latest_bars(None, "1m")
                has = lb.timestamp >= 0
                expected = ((lb.timestamp - T0) // MIN).astype(float) * 1000.0 + lb.symbol_index
                assert np.array_equal(lb.open[has], expected[has])
                assert np.array_equal(lb.close[has], expected[has] + 0.5)
                assert np.isnan(lb.open[~has]).all()
        except BaseException as e:
            errors.append(e)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often to interleave readers with the writer
    try:
        threads = [threading.Thread(target=reader, args=(r,)) for r in range(3)]
        threads.append(threading.Thread(target=writer))
        threads.append(threading.Thread(target=gap_filler))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        sys.setswitchinterval(old_interval)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    assert sd._states["1m"].block.capacity >= 2048  # grew from 8
    for s, sym in enumerate(symbols):
        bars = sd.bars(sym, "1m")
        assert bars.size == n_times
        _check_view(bars, s)
    assert sd.bars(symbols[late_symbol], "1m").timestamp[late_minute] == T0 + late_minute * MIN


def test_lazily_published_latest_bars_equal_the_last_bar_written_at_every_step():
    """The latest-bar snapshot is built only when read after a write (issue 11 item 6). Checked
    against an eager model (each symbol's bar with the newest start, updated at every write) after
    every append, subset append, late insert, added symbol and session clear, read both mid-run
    and after several unread writes; the snapshot is one object until the next write."""
    rng = np.random.default_rng(7)
    symbols = ["AAA", "BBB", "CCC", "DDD"]
    sd = SessionData(list(symbols), ["1m", "5m"], capacity={"1m": 4})   # growths on the way
    model: dict[str, tuple] = {}

    def check() -> None:
        lb = sd.latest_bars(None, "1m")
        for s, sym in enumerate(sd.symbols):
            want = model.get(sym)
            bar = sd.latest_bar(sym, "1m")
            if want is None:
                assert bar is None and lb.timestamp[s] == -1 and np.isnan(lb.close[s])
            else:
                assert (bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume) == want
                assert (lb.timestamp[s], lb.open[s], lb.high[s], lb.low[s], lb.close[s], lb.volume[s]) == want

    check()
    for k in range(60):
        ts = T0 + (2 * k) * MIN
        n = len(sd.symbols)
        idx = np.flatnonzero(rng.random(n) < 0.7).astype(np.int64)
        o = rng.integers(1000, 2000, idx.shape[0]) / 100.0
        v = rng.integers(1, 9, idx.shape[0]).astype(float)
        sd.append_bars("1m", idx, ts, o, o + 1, o - 1, o + 0.25, v)
        for j, i in enumerate(idx.tolist()):
            model[sd.symbols[i]] = (ts, o[j], o[j] + 1, o[j] - 1, o[j] + 0.25, v[j])
        if k % 3 == 0:       # several writes may go unread: the next read sees the newest
            check()
            st = sd._states["1m"]
            assert st.latest is st.latest                      # one snapshot until the next write
        if k == 20:          # a late bar before the newest: the latest stays the newest bar
            sym = sd.symbols[0]
            if sym in model and model[sym][0] > T0:
                sd.insert_bar(sym, "1m", model[sym][0] - MIN, 1.0, 2.0, 0.5, 1.5, 3.0)
            check()
        if k == 30:          # a late bar after the newest one of a symbol becomes its latest
            sym = sd.symbols[1]
            late = ts + MIN
            sd.insert_bar(sym, "1m", late, 5.0, 6.0, 4.0, 5.5, 2.0)
            model[sym] = (late, 5.0, 6.0, 4.0, 5.5, 2.0)
            check()
        if k == 40:
            sd.add_symbols(["EEE"])
            check()
        if k == 50:
            sd.clear_session()
            model.clear()
            check()
    check()


def test_lazily_published_latest_bars_of_dense_appends_equal_the_last_bars_written():
    """Every symbol at the same position (the dense path of the lazy snapshot), then one symbol more."""
    sd = SessionData(["AAA", "BBB", "CCC"], ["1m"], capacity={"1m": 2})
    for k in range(5):
        o = np.array([10.0, 20.0, 30.0]) + k
        sd.append_bars("1m", None, T0 + k * MIN, o, o + 1, o - 1, o + 0.5, o * 10)
        lb = sd.latest_bars(None, "1m")
        assert (lb.timestamp == T0 + k * MIN).all()
        assert lb.open.tolist() == o.tolist() and lb.high.tolist() == (o + 1).tolist()
        assert lb.low.tolist() == (o - 1).tolist() and lb.close.tolist() == (o + 0.5).tolist()
        assert lb.volume.tolist() == (o * 10).tolist()
        assert sd.latest_bar("BBB", "1m").close == o[1] + 0.5
    sd.append_bars("1m", np.array([2], dtype=np.int64), T0 + 9 * MIN, 1.0, 2.0, 0.5, 1.5, 7.0)
    lb = sd.latest_bars(None, "1m")
    assert lb.timestamp.tolist() == [T0 + 4 * MIN, T0 + 4 * MIN, T0 + 9 * MIN]
    assert lb.close.tolist() == [14.5, 24.5, 1.5] and lb.volume.tolist() == [140.0, 240.0, 7.0]
