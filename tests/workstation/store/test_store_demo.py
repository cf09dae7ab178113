"""Demo data: determinism, calendar (DST, early close), realism checks, missing minutes, daily history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workstation.store import BarStore, ensure_demo_data, generate_demo
from workstation.store.demo import BASE_SYMBOLS, demo_symbols

NS_MIN = 60_000_000_000


def file_bytes(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "bars").rglob("*.parquet"))}


def test_default_window_symbols_and_sessions(demo_store, tm):
    store, summary = demo_store
    assert summary.symbols == list(BASE_SYMBOLS)
    assert store.symbols("1m") == sorted(BASE_SYMBOLS)
    window = tm.trading_dates("2024-10-01", "2024-12-06")
    assert store.dates("1m") == window and summary.sessions == len(window) == 48
    assert (summary.first_date, summary.last_date) == (dt.date(2024, 10, 1), dt.date(2024, 12, 6))


def test_same_seed_same_bytes_other_seed_differs(tmp_path, tm):
    a = generate_demo(tmp_path / "a", symbols=2, days=3, seed=11, time_manager=tm)
    b = generate_demo(tmp_path / "b", symbols=2, days=3, seed=11, time_manager=tm)
    generate_demo(tmp_path / "c", symbols=2, days=3, seed=12, time_manager=tm)
    assert a.minute_bars == b.minute_bars
    fa, fb, fc = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b"), file_bytes(tmp_path / "c")
    assert fa == fb and len(fa) == 3 + 2  # 3 dates of 1m bars, daily years 2023 and 2024
    assert set(fa) == set(fc) and fa != fc
    assert BarStore(tmp_path / "a", time_manager=tm).dates("1m") == [
        dt.date(2024, 12, 4),
        dt.date(2024, 12, 5),
        dt.date(2024, 12, 6),
    ]


def test_early_close_has_210_minutes(demo_store, tm):
    store, _ = demo_store
    session = tm.session("2024-11-29")
    assert session.early_close and session.minutes == 210
    arrays = store.read_session_arrays("2024-11-29", "1m", list(BASE_SYMBOLS), rth_only=False)
    assert arrays.timestamp.min() == session.open_ns
    assert arrays.timestamp.max() == session.close_ns - NS_MIN
    assert len(np.unique(arrays.timestamp)) == 210
    per_symbol = np.bincount(arrays.symbol_index, minlength=5)
    assert (per_symbol <= 210).all() and (per_symbol >= 205).all()


def test_dst_change_moves_the_open_in_utc(demo_store, tm):
    store, _ = demo_store
    before = store.read_session_arrays("2024-11-01", "1m", ["ACME"])
    after = store.read_session_arrays("2024-11-04", "1m", ["ACME"])
    assert before.timestamp.min() == pd.Timestamp("2024-11-01 13:30", tz="UTC").value
    assert after.timestamp.min() == pd.Timestamp("2024-11-04 14:30", tz="UTC").value
    assert before.timestamp.max() < pd.Timestamp("2024-11-01 20:00", tz="UTC").value
    assert after.timestamp.max() < pd.Timestamp("2024-11-04 21:00", tz="UTC").value


def test_about_0_2_percent_missing_minutes(demo_store, tm):
    store, summary = demo_store
    expected = sum(s.minutes for s in tm.sessions("2024-10-01", "2024-12-06")) * 5
    stored = int(store.coverage()["bars"].sum())
    assert stored == summary.minute_bars == expected - summary.missing_minutes
    rate = summary.missing_minutes / expected
    assert 0.001 < rate < 0.0035


def test_bars_are_realistic(demo_store, tm):
    store, _ = demo_store
    frame = store.read_bars(None, "1m", 0, 2**62)
    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    for arr in (o, h, lo, c):
        assert np.allclose(arr * 100, np.round(arr * 100), atol=1e-6), "prices must sit on the $0.01 grid"
    assert (lo > 0).all() and (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all()
    assert (frame["volume"] > 0).all() and frame["rth"].all()
    assert ((frame["vwap"] >= frame["low"]) & (frame["vwap"] <= frame["high"])).all()
    # U-shaped volume with an opening burst
    minute = (
        pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
        - tm.session_bounds(tm.local_dates(pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8))[0]
    )
    minute //= NS_MIN
    regular = frame.assign(minute=minute)
    regular = regular[
        ~regular["timestamp"].dt.tz_convert("America/New_York").dt.date.eq(dt.date(2024, 11, 29))
    ]
    by_minute = regular.groupby("minute")["volume"].mean()
    midday = by_minute.loc[150:250].mean()
    assert by_minute.loc[0] > 4 * midday
    assert by_minute.loc[5:20].mean() > 1.3 * midday and by_minute.loc[370:389].mean() > 1.3 * midday
    # symbols differ in price level and volatility
    closes = frame.groupby("symbol")["close"].median()
    assert closes.max() / closes.min() > 1.5
    returns = (
        frame.sort_values(["symbol", "timestamp"])
        .groupby("symbol")["close"]
        .apply(lambda s: np.log(s).diff().std())
    )
    assert returns.max() / returns.min() > 1.2


def test_daily_history_covers_a_year_before_the_window(demo_store, tm):
    store, summary = demo_store
    history = store.read_daily(["ACME"], "2023-10-01", "2024-09-30")
    expected = tm.trading_dates("2023-10-01", "2024-09-30")
    assert list(history["date"]) == expected and len(expected) >= 250
    assert summary.history_start == expected[0]
    window = store.read_daily(list(BASE_SYMBOLS), "2024-10-01", "2024-12-06")
    assert len(window) == 48 * 5
    # window daily bars are the aggregation of that day's 1m bars
    day = tm.session("2024-11-29")
    minutes = store.read_bars(["BOLT"], "1m", day.open_ns, day.close_ns)
    bolt = window[(window["symbol"] == "BOLT") & (window["date"] == dt.date(2024, 11, 29))].iloc[0]
    assert bolt["open"] == minutes["open"].iloc[0] and bolt["close"] == minutes["close"].iloc[-1]
    assert bolt["high"] == minutes["high"].max() and bolt["low"] == minutes["low"].min()
    assert bolt["volume"] == minutes["volume"].sum()
    # the 1m window continues from the last daily close (no jump between history and window)
    last_close = history["close"].iloc[-1]
    first_open = store.read_session_arrays("2024-10-01", "1m", ["ACME"]).open[0]
    assert abs(first_open / last_close - 1) < 0.1


def test_more_symbols_get_generated_names():
    names = demo_symbols(60)
    assert names[:5] == list(BASE_SYMBOLS) and len(set(names)) == 60
    assert all(n.isalpha() and n.isupper() and len(n) == 4 for n in names)
    assert demo_symbols(60) == names and demo_symbols(3) == ["ACME", "BOLT", "CYRX"]


def test_ensure_demo_data_creates_once(tmp_path, monkeypatch):
    calls = []
    import workstation.store.demo as demo

    real = demo.generate_demo

    def small(root, **kwargs):
        calls.append(root)
        return real(root, symbols=1, days=1)

    monkeypatch.setattr(demo, "generate_demo", small)
    root = tmp_path / "store"
    assert ensure_demo_data(root) is True
    assert ensure_demo_data(root) is False
    assert len(calls) == 1 and BarStore(root).dates("1m") == [dt.date(2024, 12, 6)]


def test_rejects_bad_days(tmp_path, tm):
    from workstation.errors import DataError

    with pytest.raises(DataError, match="--days"):
        generate_demo(tmp_path / "x", days=0, time_manager=tm)
