"""Historical phase: trailing bars, historical indicators (trailing daily average, per-minute
intraday average, 52-week high/low) and historical quality, checked against pandas on the demo data,
for the first session (full load) and later sessions (rolled forward, not reloaded)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.integration.runhelpers import crossover_config
from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager

NY = "America/New_York"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("hist") / "store"
    generate_demo(root, symbols=2, seed=9)
    return BarStore(root)


def test_historical_indicators_match_pandas(demo):
    syms = demo.symbols("1m")
    cfg = crossover_config(syms, "2024-11-27", "2024-12-03")
    cfg["historical"] = {
        "trailing_days": 3, "intervals": ["1m"], "warmup_bars": 0, "enable_quality": True,
        "indicators": [
            {"name": "avgvol10", "kind": "avg_daily", "field": "volume", "period": "10d", "skip_early_close": True},
            {"name": "vol_by_minute", "kind": "avg_intraday", "field": "volume", "period": "5d"},
            {"name": "high52", "kind": "max", "field": "high", "period": "52w"},
            {"name": "low3m", "kind": "min", "field": "low", "period": "3m"},
        ]}
    system = SystemManager(validate_config_dict(cfg), store=demo)
    seen = {}

    def on_start(_kind, payload):
        sd = system.session_data
        seen[payload["date"]] = {
            sym: {name: sd.historical_indicator(sym, name) for name in
                  ("avgvol10", "vol_by_minute", "high52", "low3m", "historical_quality_pct")}
            | {"bars": np.asarray(sd.historical_bars(sym, "1m").timestamp).copy()}
            for sym in syms}

    system.events.subscribe("session_start", on_start)
    system.start()
    assert system.wait(120) and system.error is None
    tm = TimeManager()
    daily = demo.read_daily(syms, "2023-10-01", "2024-12-06")
    assert len(seen) == 4                       # 11-27, 11-29 (early close), 12-02, 12-03
    for day, per_sym in seen.items():
        ten = [d for d in tm.trailing_dates(day, "10d") if not tm.session(d).early_close]
        five = tm.trailing_dates(day, "5d")
        three = tm.trailing_dates(day, "3d")
        for sym, got in per_sym.items():
            d = daily[daily["symbol"] == sym]
            exp_avg = d[d["date"].isin(ten)]["volume"].mean()
            assert got["avgvol10"] == pytest.approx(exp_avg, rel=1e-12)
            exp_high = d[d["date"].isin(tm.trailing_dates(day, "52w"))]["high"].max()
            assert got["high52"] == pytest.approx(exp_high, rel=1e-12)
            exp_low = d[d["date"].isin(tm.trailing_dates(day, "3m"))]["low"].min()
            assert got["low3m"] == pytest.approx(exp_low, rel=1e-12)
            # per-minute average volume over the 5 trailing days (NaN-aware)
            rows = []
            for past in five:
                sess = tm.session(past)
                m = demo.read_bars([sym], "1m", sess.open_ns, sess.close_ns, rth_only=True)
                minute = ((m["timestamp"].astype("int64") - sess.open_ns) // 60_000_000_000).to_numpy()
                arr = np.full(390, np.nan)
                arr[minute] = m["volume"].to_numpy()
                rows.append(arr)
            exp_curve = np.nanmean(np.vstack(rows), axis=0)
            np.testing.assert_allclose(got["vol_by_minute"], exp_curve, rtol=1e-12)
            # trailing bars are exactly the 3 previous sessions' regular-hours bars
            first, last = tm.session(three[0]), tm.session(three[-1])
            exp_bars = demo.read_bars([sym], "1m", first.open_ns, last.close_ns, rth_only=True)
            np.testing.assert_array_equal(got["bars"], exp_bars["timestamp"].astype("int64").to_numpy())
            expected_minutes = sum(tm.session(x).minutes for x in three)
            assert got["historical_quality_pct"] == pytest.approx(100.0 * len(exp_bars) / expected_minutes)


def test_daily_history_from_minutes_equals_pandas_groupby_bit_for_bit(demo, tmp_path):
    """A store with 1m bars only: the daily history is aggregated from the minutes (read as arrays,
    no pandas in the run). Every value of the first session (all from the store) equals pandas'
    groupby of the same minutes exactly: daily volume a grouped sum, the 10-day average a grouped
    mean of those, highs and lows max / min. Later sessions replace the finished day's row with
    the day the engine saw (gap-filled minutes count: their zero volume moves a compensated sum by
    an ulp), so those compare to a relative 1e-12."""

    tm = TimeManager()
    syms = demo.symbols("1m")
    minutes_only = BarStore(tmp_path / "minutes", create=True)
    first_ns, last_ns = tm.session("2024-10-01").open_ns, tm.session("2024-12-06").close_ns
    minutes = demo.read_bars(syms, "1m", first_ns, last_ns)[
        ["symbol", "timestamp", "open", "high", "low", "close", "volume"]]
    # fractional volumes (as adjusted or fractional-share volumes are), where rounding order shows
    minutes["volume"] = minutes["volume"] / 7.0 + np.random.default_rng(4).random(len(minutes)) * 1e-3
    minutes_only.write_bars(minutes, "1m")
    cfg = crossover_config(syms, "2024-11-27", "2024-12-03")
    cfg["historical"] = {"trailing_days": 2, "intervals": ["1m"], "warmup_bars": 0, "indicators": [
        {"name": "avgvol10", "kind": "avg_daily", "field": "volume", "period": "10d"},
        {"name": "high52", "kind": "max", "field": "high", "period": "52w"},
        {"name": "low3m", "kind": "min", "field": "low", "period": "3m"}]}
    system = SystemManager(validate_config_dict(cfg), store=minutes_only)
    seen: dict = {}
    system.events.subscribe("session_start", lambda _k, p: seen.__setitem__(p["date"], {
        s: {n: system.session_data.historical_indicator(s, n) for n in ("avgvol10", "high52", "low3m")}
        for s in syms}))
    system.start()
    assert system.wait(120) and system.error is None
    bars = minutes_only.read_bars(syms, "1m", first_ns, last_ns, rth_only=True)
    bars["date"] = bars["timestamp"].dt.tz_convert(NY).dt.date
    bars = bars.sort_values(["symbol", "timestamp"], kind="stable")
    daily = bars.groupby(["symbol", "date"], sort=True).agg(
        high=("high", "max"), low=("low", "min"), volume=("volume", "sum")).reset_index()
    assert len(seen) == 4
    for day, per_symbol in seen.items():
        for sym, got in per_symbol.items():
            d = daily[daily["symbol"] == sym]
            ten = d[d["date"].isin(tm.trailing_dates(day, "10d"))]
            expected = ten.groupby("symbol")["volume"].mean().iloc[0]
            assert got["avgvol10"] == (expected if day == min(seen) else pytest.approx(expected, rel=1e-12))
            assert got["high52"] == d[d["date"].isin(tm.trailing_dates(day, "52w"))]["high"].max()
            assert got["low3m"] == d[d["date"].isin(tm.trailing_dates(day, "3m"))]["low"].min()
    # days of the run no finished session replaced (here: a session started without the ones before it
    # having run, as a live run started late skips them) are read from the store when needed
    later = SystemManager(validate_config_dict(cfg), store=minutes_only)
    history = later.historical
    history.prepare(later.sessions[0].date, later.sessions[-1].date)
    assert history._unread_days == {s.date for s in later.sessions}     # nothing of the run read up front
    day = later.sessions[2].date
    history.load_session(day)
    assert history._unread_days == {s.date for s in later.sessions[2:]}
    for sym in syms:
        d = daily[daily["symbol"] == sym]
        ten = d[d["date"].isin(tm.trailing_dates(day, "10d"))]
        assert later.session_data.historical_indicator(sym, "avgvol10") == ten.groupby("symbol")["volume"].mean().iloc[0]
        assert later.session_data.historical_indicator(sym, "low3m") == \
            d[d["date"].isin(tm.trailing_dates(day, "3m"))]["low"].min()


def test_kahan_segment_sums_are_pandas_grouped_sums_bit_for_bit():
    import pandas as pd

    from workstation.pipeline.historical import kahan_segment_sums

    rng = np.random.default_rng(11)
    plain_differs = 0
    for trial in range(60):
        lengths = rng.integers(0, 40, int(rng.integers(1, 30)))
        values = rng.standard_normal(int(lengths.sum())) * 10.0 ** rng.integers(-3, 12, int(lengths.sum()))
        values[rng.random(len(values)) < 0.1] = np.nan
        if trial % 7 == 0 and len(values):
            values[rng.integers(0, len(values))] = np.inf
        ends = np.cumsum(lengths)
        starts = ends - lengths
        groups = np.repeat(np.arange(len(lengths)), lengths)
        expected = pd.Series(values).groupby(groups).sum().reindex(np.arange(len(lengths)), fill_value=0.0)
        got = kahan_segment_sums(values, starts, ends, chunk=int(rng.integers(1, 9)))
        np.testing.assert_array_equal(got, expected.to_numpy(float))
        plain_differs += not np.array_equal(got, [np.nansum(values[a:b]) for a, b in zip(starts, ends, strict=True)])
    assert plain_differs > 10


def test_sorted_group_sums_are_pandas_sorted_groupby_sums_bit_for_bit():
    """pandas sums sorted groups with np.add.reduceat when there is no NaN, with Kahan otherwise."""
    import pandas as pd

    from workstation.pipeline.historical import sorted_group_sums

    rng = np.random.default_rng(12)
    kahan_differs = reduceat_differs = 0
    for trial in range(40):
        lengths = rng.integers(1, 400, int(rng.integers(1, 12)))
        values = rng.random(int(lengths.sum())) * 1e5 / 7
        if trial % 2:
            values[rng.random(len(values)) < 0.02] = np.nan
        codes = np.repeat(np.arange(len(lengths)), lengths)
        expected = pd.Series(values).groupby(codes, sort=True).sum().to_numpy(float)
        got = sorted_group_sums(values, lengths)
        np.testing.assert_array_equal(got, expected)
        starts = np.cumsum(lengths) - lengths
        with np.errstate(invalid="ignore"):
            reduceat_differs += not np.array_equal(np.add.reduceat(np.nan_to_num(values), starts), got)
        from workstation.pipeline.historical import kahan_segment_sums
        kahan_differs += not np.array_equal(kahan_segment_sums(values, starts, starts + lengths), got)
    assert kahan_differs and reduceat_differs      # both paths are needed to match pandas


def test_daily_history_from_minutes_reads_nothing_before_the_stores_first_day(demo, tmp_path):
    """A 52-week high over a store of 1m bars that begins a few days before the run: the daily history
    asks the store only for its own days (not the ~250 trading dates before them), with the same values."""
    tm = TimeManager()
    syms = demo.symbols("1m")
    minutes_only = BarStore(tmp_path / "minutes", create=True)
    minutes = demo.read_bars(syms, "1m", tm.session("2024-11-20").open_ns, tm.session("2024-12-06").close_ns)
    minutes_only.write_bars(minutes[["symbol", "timestamp", "open", "high", "low", "close", "volume"]], "1m")
    reads = []

    class Counting:
        def __getattr__(self, name):
            return getattr(minutes_only, name)

        def read_session_arrays(self, day, *args, **kwargs):
            reads.append(day)
            return minutes_only.read_session_arrays(day, *args, **kwargs)

    cfg = crossover_config(syms, "2024-11-27", "2024-11-29")
    cfg["historical"] = {"trailing_days": 0, "warmup_bars": 0, "indicators": [
        {"name": "high52", "kind": "max", "field": "high", "period": "52w"}]}
    system = SystemManager(validate_config_dict(cfg), store=Counting())
    system.historical.prepare(system.sessions[0].date, system.sessions[-1].date)
    before = [d for d in reads if str(d) < "2024-11-27"]          # (the feed reads the run's days ahead)
    assert sorted(before) == tm.trading_dates("2024-11-20", "2024-11-26")
    system.historical.load_session(system.sessions[0].date)
    for sym in syms:
        expected = minutes[(minutes["symbol"] == sym) & (minutes["timestamp"] < "2024-11-27 05:00Z")]["high"].max()
        assert system.session_data.historical_indicator(sym, "high52") == expected
