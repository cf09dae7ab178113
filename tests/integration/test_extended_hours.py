"""Extended hours (`session_hours: extended`): the sessions, the bars replayed, the quality counts
and the derived-bar windows all come from pandas-market-calendars' own pre/post times (its
`schedule(start="pre", end="post")`, read here independently of the engine), over a window with an
early close (2024-11-29, post-market to 17:00) and a DST change (2024-11-03). Regular hours stay
the default and replay none of the pre/post bars the store holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest

from tests.integration.runhelpers import crossover_config
from workstation.calendar import TimeManager, session_slot_bounds
from workstation.config import validate_config_dict
from workstation.errors import CalendarError, ConfigError
from workstation.preflight import preflight_problems
from workstation.run_writer import RunWriter
from workstation.store import BarStore
from workstation.system import SystemManager

MINUTE = pd.Timedelta("1min")
EXCHANGE, TZ = "NYSE", "America/New_York"
START, FIRST, END = "2024-10-28", "2024-11-01", "2024-12-03"     # FIRST..END: DST change and an early close
AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def _schedule(start: str, end: str) -> pd.DataFrame:
    return mcal.get_calendar(EXCHANGE).schedule(start, end, start="pre", end="post")


def _parts(row) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    return {"pre": (row["pre"], row["market_open"]), "regular": (row["market_open"], row["market_close"]),
            "post": (row["market_close"], row["post"])}


# ------------------------------------------------------------------------------------ calendar
def test_extended_sessions_equal_the_calendars_pre_and_post_times(tmp_path):
    sched = _schedule(FIRST, END)
    assert (sched.index.date == pd.Timestamp("2024-11-29").date()).any()
    for cache_dir in (None, tmp_path, tmp_path):                 # computed, written, then read from disk
        tm = TimeManager(EXCHANGE, cache_dir=cache_dir, session_hours="extended")
        sessions = tm.sessions(FIRST, END)
        assert [s.date for s in sessions] == list(sched.index.date)
        for s, (_, row) in zip(sessions, sched.iterrows(), strict=True):
            assert s.start_ns == row["pre"].value and s.end_ns == row["post"].value
            assert s.open_ns == row["market_open"].value and s.close_ns == row["market_close"].value
            assert s.minutes == (row["post"] - row["pre"]) // MINUTE
            assert len(s.slot_starts(MINUTE.value)) == (row["post"] - row["pre"]) // MINUTE
    assert tm.stats.years_from_disk == 1 and tm.stats.years_computed == 0
    early = tm.session("2024-11-29")
    assert early.minutes == 330 + 210 + 240                      # 04:00-09:30, 09:30-13:00, 13:00-17:00
    # the same calendar in regular hours: the regular sessions, no pre/post
    regular = TimeManager(EXCHANGE, cache_dir=tmp_path).session("2024-11-29")
    assert not regular.extended and regular.minutes == 210 and regular.start_ns == regular.open_ns


def test_a_calendar_without_pre_and_post_times_is_refused_for_extended_hours():
    with pytest.raises(CalendarError, match="'XNYS' has no pre-/post-market times.*'NYSE'"):
        TimeManager("XNYS", cache_dir=None, session_hours="extended")
    with pytest.raises(ValueError, match="unknown session hours 'overnight'"):
        TimeManager("NYSE", cache_dir=None, session_hours="overnight")


@pytest.mark.parametrize("minutes", [5, 15, 45, 60, 90])
def test_slots_are_counted_back_from_the_regular_open(minutes):
    """Pre-market windows end at the open (never spanning it): the same windows as pandas resample
    with its origin at the regular open, the earliest cut at the pre-market start."""
    length = pd.Timedelta(minutes=minutes)
    for _, row in _schedule("2024-11-27", "2024-11-29").iterrows():
        starts, ends = session_slot_bounds(row["market_open"].value, row["market_close"].value, length.value,
                                           pre_market_start_ns=row["pre"].value, post_market_end_ns=row["post"].value)
        expected_starts, expected_ends = [], []
        for a, b in _parts(row).values():
            every_minute = pd.Series(1, index=pd.date_range(a, b, freq=MINUTE, inclusive="left"))
            bins = every_minute.resample(length, origin=row["market_open"] if a < row["market_open"] else a,
                                         closed="left", label="left").count()
            expected_starts += [max(t, a).value for t in bins.index]
            expected_ends += [min(t + length, b).value for t in bins.index]
        np.testing.assert_array_equal(starts, expected_starts)
        np.testing.assert_array_equal(ends, expected_ends)
        assert not ((starts < row["market_open"].value) & (ends > row["market_open"].value)).any()
        assert not ((starts < row["market_close"].value) & (ends > row["market_close"].value)).any()


# ------------------------------------------------------------------------------------ a run
def _minute_bars() -> pd.DataFrame:
    """Every minute from 03:00 to 21:00 New York time (outside the extended hours too, as some vendors
    send) for two symbols; EXB misses about 1 minute in 20, more of them in the pre-market."""
    rng = np.random.default_rng(13)
    frames = []
    for sym in ("EXA", "EXB"):
        price = 50.0
        for day in _schedule(START, END).index:
            local = pd.Timestamp(day.date()).tz_localize(TZ)
            ts = pd.date_range(local + pd.Timedelta(hours=3), local + pd.Timedelta(hours=21), freq=MINUTE,
                               inclusive="left").tz_convert("UTC")
            if sym == "EXB":
                hour = ts.tz_convert(TZ).hour
                ts = ts[rng.random(len(ts)) > np.where(hour < 9, 0.15, 0.03)]
            close = np.round(price + np.cumsum(rng.normal(0, 0.04, len(ts))), 2)
            price = float(close[-1])
            frames.append(pd.DataFrame({"symbol": sym, "timestamp": ts, "open": close, "high": close + 0.01,
                                        "low": close - 0.01, "close": close,
                                        "volume": rng.integers(10, 1000, len(ts)).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _run(root, store, hours: str):
    cfg = crossover_config(["EXA", "EXB"], FIRST, END, derived=["5m", "60m"], exchange=EXCHANGE, timezone=TZ,
                           session_hours=hours)
    cfg["historical"] = {"trailing_days": 2, "intervals": ["1m"], "warmup_bars": 0, "enable_quality": True,
                         "indicators": []}
    cfg["gap_filler"] = {"enable_session_quality": True}
    system = SystemManager(validate_config_dict(cfg), store=store)
    RunWriter(system, root / f"run-{hours}")
    system.start()
    assert system.wait(180) and system.error is None
    return root / f"run-{hours}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("extended")
    bars = _minute_bars()
    store = BarStore(root / "store", create=True, exchange=EXCHANGE)
    store.write_bars(bars, "1m")
    return bars, _run(root, store, "extended"), _run(root, store, "regular")


def _inside(bars: pd.DataFrame, which: tuple[str, ...], first: str = FIRST) -> pd.DataFrame:
    """The bars inside the named parts (pre, regular, post) of each session first..END, per mcal."""
    keep = np.zeros(len(bars), dtype=bool)
    for _, row in _schedule(first, END).iterrows():
        for name, (a, b) in _parts(row).items():
            if name in which:
                keep |= ((bars["timestamp"] >= a) & (bars["timestamp"] < b)).to_numpy()
    return bars[keep]


def test_extended_run_replays_every_pre_and_post_bar(runs):
    bars, extended, regular = runs
    written = pd.read_parquet(extended / "bars.parquet")
    one = written[written["interval"] == "1m"].sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    expected = _inside(bars, ("pre", "regular", "post")).sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    assert len(one) == len(expected)
    np.testing.assert_array_equal(one["timestamp"].to_numpy(), expected["timestamp"].to_numpy())
    np.testing.assert_array_equal(one["close"].to_numpy(), expected["close"].to_numpy())
    local = one["timestamp"].dt.tz_convert(TZ).dt.hour
    assert (local == 4).any() and (local == 19).any() and not (local < 4).any() and not (local >= 20).any()
    # the strategy trades the extended hours too: fills before 09:30 and after 16:00 New York time
    fills = pd.read_parquet(extended / "fills.parquet")
    fill_time = pd.to_datetime(fills[[c for c in fills.columns if "time" in c][0]], utc=True).dt.tz_convert(TZ)
    minutes = fill_time.dt.hour * 60 + fill_time.dt.minute
    assert (minutes < 9 * 60 + 30).any() and (minutes >= 16 * 60).any()
    # regular hours: the same store, none of the pre/post bars
    reg = pd.read_parquet(regular / "bars.parquet")
    reg_one = reg[reg["interval"] == "1m"]
    assert len(reg_one) == len(_inside(bars, ("regular",)))


def test_extended_quality_counts_the_calendars_minutes(runs):
    bars, extended, regular = runs
    sched = _schedule(FIRST, END)
    present = _inside(bars, ("pre", "regular", "post"))
    present = present.assign(session_date=present["timestamp"].dt.tz_convert(TZ).dt.date)
    counts = present.groupby(["session_date", "symbol"]).size()
    for run, (first, last) in ((extended, ("pre", "post")), (regular, ("market_open", "market_close"))):
        q = pd.read_parquet(run / "quality.parquet")
        one = q[q["interval"] == "1m"].reset_index(drop=True)
        minutes = {d.date(): (r[last] - r[first]) // MINUTE for d, r in sched.iterrows()}
        np.testing.assert_array_equal(one["expected"], [minutes[d] for d in one["session_date"]])
        if run == extended:
            assert minutes[pd.Timestamp("2024-11-29").date()] == 780 and max(minutes.values()) == 960
            np.testing.assert_array_equal(one["present"], [counts[(d, s)] for d, s in
                                                           zip(one["session_date"], one["symbol"], strict=True)])
            np.testing.assert_allclose(one["quality_pct"], 100.0 * one["present"] / one["expected"], rtol=1e-12)
            assert (one[one["symbol"] == "EXA"]["quality_pct"] == 100.0).all()
            assert (one[one["symbol"] == "EXB"]["quality_pct"] < 95.0).all()
        else:
            assert max(minutes.values()) == 390 and min(minutes.values()) == 210


def test_extended_derived_bars_stay_anchored_at_the_regular_open(runs):
    bars, extended, _ = runs
    written = pd.read_parquet(extended / "bars.parquet")
    sched = _schedule(FIRST, END)
    for iv in ("5m", "60m"):
        length = pd.Timedelta(iv.replace("m", "min"))
        expected = []
        for _, row in sched.iterrows():
            for name, (a, b) in _parts(row).items():
                part = bars[(bars["timestamp"] >= a) & (bars["timestamp"] < b)]
                origin = row["market_open"] if name == "pre" else a
                for sym, group in part.groupby("symbol"):
                    r = group.set_index("timestamp").resample(length, origin=origin, closed="left",
                                                              label="left").agg(AGG).dropna(subset=["open"])
                    r.index = np.maximum(r.index, a)         # the earliest pre-market window starts at 04:00
                    expected.append(r.reset_index().assign(symbol=sym))
        expected_frame = pd.concat(expected).sort_values(["symbol", "timestamp"]).reset_index(drop=True)
        got = written[written["interval"] == iv].sort_values(["symbol", "timestamp"]).reset_index(drop=True)
        assert len(got) == len(expected_frame), iv
        np.testing.assert_array_equal(got["timestamp"].to_numpy(), expected_frame["timestamp"].to_numpy())
        for col in AGG:
            np.testing.assert_allclose(got[col].to_numpy(), expected_frame[col].to_numpy(), rtol=0, atol=1e-9)
    sixty = written[written["interval"] == "60m"]["timestamp"].dt.tz_convert(TZ)
    assert {"04:00", "04:30", "08:30", "09:30", "15:30", "16:00", "19:00"} <= set(sixty.dt.strftime("%H:%M"))


# ------------------------------------------------------------------------------------ config
def test_session_hours_config_is_validated(tmp_path):
    base = crossover_config(["EXA"], FIRST, END, exchange=EXCHANGE, timezone=TZ)
    with pytest.raises(ConfigError) as err:
        validate_config_dict({**base, "session_hours": "overnight"})
    assert "session_hours" in str(err.value) and "'regular' or 'extended'" in str(err.value)
    with pytest.raises(ConfigError, match="session_hours 'extended' is for backtests"):
        validate_config_dict({**base, "session_hours": "extended", "mode": "live"})
    assert validate_config_dict(base).session_hours == "regular"
    xnys = validate_config_dict({**base, "exchange": "XNYS", "session_hours": "extended"})
    problems = dict(preflight_problems(xnys, store_path=tmp_path / "none"))
    assert "no pre-/post-market times" in problems["session_hours"] and "'NYSE'" in problems["session_hours"]
    nyse = validate_config_dict({**base, "session_hours": "extended"})
    assert "session_hours" not in dict(preflight_problems(nyse, store_path=tmp_path / "none"))


def test_the_opening_range_starts_at_the_regular_open_in_extended_hours(tmp_path):
    """opening_range_breakout in extended hours: the range is 09:30-09:45 (pandas), never the
    pre-market bars before it, whose highs and lows are made wider here to tell."""
    bars = _minute_bars()
    bars = bars[bars["timestamp"] >= pd.Timestamp("2024-11-25", tz=TZ)].reset_index(drop=True)
    local = bars["timestamp"].dt.tz_convert(TZ)
    minute = local.dt.hour * 60 + local.dt.minute
    pre = minute < 9 * 60 + 30
    bars.loc[pre, "high"] += 5.0
    bars.loc[pre, "low"] -= 5.0
    store = BarStore(tmp_path / "store", create=True, exchange=EXCHANGE)
    store.write_bars(bars, "1m")
    cfg = crossover_config(["EXA", "EXB"], "2024-11-26", "2024-11-29", exchange=EXCHANGE, timezone=TZ,
                           session_hours="extended")
    cfg["strategies"] = [{"name": "orb", "class_path": "opening_range_breakout",
                          "params": {"range_minutes": 15, "reward_risk": 2.0, "quantity": 10}}]
    cfg["execution"] = {**cfg["execution"], "allow_short": True}
    system = SystemManager(validate_config_dict(cfg), store=store)
    system.start()
    assert system.wait(120) and system.error is None
    in_range = (minute >= 9 * 60 + 30) & (minute < 9 * 60 + 45)
    ranges = bars[in_range].assign(day=local[in_range].dt.date).groupby(["symbol", "day"]).agg(
        high=("high", "max"), low=("low", "min"))
    entries = [o for o in system.broker.orders() if o.role.value == "entry"]
    assert len(entries) == 2 * 2 * len(_schedule("2024-11-26", "2024-11-29"))    # both sides, two symbols, 3 days
    for o in entries:
        day = pd.Timestamp(o.submitted_at, unit="ns", tz="UTC").tz_convert(TZ).date()
        high, low = ranges.loc[(o.symbol, day)]
        assert o.stop_price == (high if o.quantity > 0 else low)


def test_a_regular_run_ignores_the_stored_pre_and_post_bars_exactly(runs, tmp_path):
    """Regular hours (the default) on a store holding whole days give exactly the results of the same
    run on a store holding only the regular-session bars: trades, equity, quality, bars."""
    bars, _, regular = runs
    store = BarStore(tmp_path / "store", create=True, exchange=EXCHANGE)
    store.write_bars(_inside(bars, ("regular",), first=START), "1m")
    only_regular = _run(tmp_path, store, "regular")
    for name in ("trades", "equity", "quality", "bars", "orders"):
        pd.testing.assert_frame_equal(pd.read_parquet(regular / f"{name}.parquet"),
                                      pd.read_parquet(only_regular / f"{name}.parquet"), check_exact=True)
    assert len(pd.read_parquet(regular / "trades.parquet")) > 10


def test_daily_values_stay_on_regular_hours_in_an_extended_run(tmp_path):
    """A 5-day high/low and average daily volume in an extended run are those of the regular-session
    bars (pandas), on every session (including days the run itself replayed), though the pre-market
    highs and lows here are wider."""
    bars = _minute_bars()
    local = bars["timestamp"].dt.tz_convert(TZ)
    pre = (local.dt.hour * 60 + local.dt.minute) < 9 * 60 + 30
    bars.loc[pre, "high"] += 5.0
    bars.loc[pre, "low"] -= 5.0
    store = BarStore(tmp_path / "store", create=True, exchange=EXCHANGE)
    store.write_bars(bars, "1m")
    cfg = crossover_config(["EXA", "EXB"], "2024-11-04", "2024-11-12", exchange=EXCHANGE, timezone=TZ,
                           session_hours="extended")
    cfg["historical"] = {"trailing_days": 1, "intervals": ["1m"], "warmup_bars": 0, "enable_quality": True,
                         "indicators": [{"name": "high_5d", "kind": "max", "field": "high", "period": "5d"},
                                        {"name": "low_5d", "kind": "min", "field": "low", "period": "5d"},
                                        {"name": "vol_5d", "kind": "avg_daily", "field": "volume", "period": "5d"},
                                        {"name": "vol_by_minute", "kind": "avg_intraday", "field": "volume",
                                         "period": "5d"}]}
    system = SystemManager(validate_config_dict(cfg), store=store)
    seen: dict = {}
    system.events.subscribe("session_start", lambda _k, p: seen.__setitem__(p["date"], {
        (s, n): system.session_data.historical_indicator(s, n) for s in ("EXA", "EXB")
        for n in ("high_5d", "low_5d", "vol_5d", "vol_by_minute")}))
    system.start()
    assert system.wait(120) and system.error is None
    regular = _inside(bars, ("regular",), first=START)
    regular = regular.assign(day=regular["timestamp"].dt.tz_convert(TZ).dt.date)
    daily = regular.groupby(["symbol", "day"]).agg(high=("high", "max"), low=("low", "min"),
                                                   volume=("volume", "sum"))
    days = list(_schedule(START, END).index.date)
    assert len(seen) == 7
    for day, values in seen.items():
        window = days[days.index(day) - 5:days.index(day)]
        for sym in ("EXA", "EXB"):
            d = daily.loc[sym].loc[window]
            assert values[(sym, "high_5d")] == d["high"].max() and values[(sym, "low_5d")] == d["low"].min()
            assert values[(sym, "vol_5d")] == pytest.approx(d["volume"].mean(), rel=1e-12)
            # avg_intraday: one mean per minute of the extended session (960, minute 0 = 04:00)
            sched = _schedule(START, END)
            grid = np.full((5, 960), np.nan)
            for j, w in enumerate(window):
                pre_start = sched.loc[pd.Timestamp(w), "pre"]
                g = bars[(bars["symbol"] == sym) & (bars["timestamp"] >= pre_start)
                         & (bars["timestamp"] < sched.loc[pd.Timestamp(w), "post"])]
                grid[j, ((g["timestamp"] - pre_start) // MINUTE).to_numpy(dtype=np.int64)] = g["volume"]
            np.testing.assert_allclose(values[(sym, "vol_by_minute")], np.nanmean(grid, axis=0), rtol=1e-12)
