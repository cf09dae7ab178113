"""Exchanges with a lunch break (XHKG, XTKS): expected bars, derived-bar cuts and the avg_intraday
grid come from the calendar's own break and session times (pandas-market-calendars' schedule,
read here independently of the engine), never from a 390-minute day."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest

from tests.integration.runhelpers import crossover_config
from workstation.config import validate_config_dict
from workstation.run_writer import RunWriter
from workstation.store import BarStore
from workstation.system import SystemManager

MINUTE = pd.Timedelta("1min")
CASES = {
    # XTKS closes at 15:30 from 2024-11-05 (15:00 before): 300, then 330 trading minutes
    "XTKS": ("Asia/Tokyo", "2024-10-24", "2024-11-08"),
    "XHKG": ("Asia/Hong_Kong", "2024-10-24", "2024-11-08"),
}


def _schedule(exchange: str, start: str, end: str) -> pd.DataFrame:
    return mcal.get_calendar(exchange).schedule(start, end)


def _minute_bars(exchange: str, start: str, end: str) -> pd.DataFrame:
    """Every minute from open to close (lunch break included, as some vendors send it) for two
    symbols; LBB misses 1 minute in 50."""
    rng = np.random.default_rng(5)
    frames = []
    for sym in ("LBA", "LBB"):
        price = 100.0
        for _, row in _schedule(exchange, start, end).iterrows():
            ts = pd.date_range(row["market_open"], row["market_close"], freq=MINUTE, inclusive="left")
            if sym == "LBB":
                ts = ts[rng.random(len(ts)) > 0.02]
            close = np.round(price + np.cumsum(rng.normal(0, 0.05, len(ts))), 2)
            price = float(close[-1])
            frames.append(pd.DataFrame({"symbol": sym, "timestamp": ts, "open": close, "high": close + 0.01,
                                        "low": close - 0.01, "close": close,
                                        "volume": rng.integers(100, 1000, len(ts)).astype(float)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module", params=list(CASES))
def lunch_run(request, tmp_path_factory):
    exchange = request.param
    tz, start, end = CASES[exchange]
    root = tmp_path_factory.mktemp(exchange)
    bars = _minute_bars(exchange, start, end)
    store = BarStore(root / "store", create=True, exchange=exchange)
    store.write_bars(bars, "1m")
    first = _schedule(exchange, start, end).index[5].date().isoformat()
    cfg = crossover_config(["LBA", "LBB"], first, end, derived=["5m", "60m"], exchange=exchange, timezone=tz)
    cfg["historical"] = {"trailing_days": 0, "warmup_bars": 0, "enable_quality": True, "indicators": [
        {"name": "vol_by_minute", "kind": "avg_intraday", "field": "volume", "period": "5d"}]}
    cfg["gap_filler"] = {"enable_session_quality": True}
    cfg["risk"] = {"min_quality_pct": 95, "min_confidence": 0, "max_position_qty": 1e9}
    system = SystemManager(validate_config_dict(cfg), store=store)
    curves = {}
    system.events.subscribe("session_start", lambda _k, p: curves.__setitem__(
        p["date"], {s: np.array(system.session_data.historical_indicator(s, "vol_by_minute")) for s in ("LBA", "LBB")}))
    rejected = []
    system.events.subscribe("decision", lambda _k, d: rejected.append((d.signal.symbol, d.reason)))
    RunWriter(system, root / "run")
    system.start()
    assert system.wait(120) and system.error is None
    return exchange, bars, root / "run", curves, rejected, first, end


def _trading_parts(row) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [(row["market_open"], row["break_start"]), (row["break_end"], row["market_close"])]


def test_expected_bars_leave_the_lunch_break_out(lunch_run):
    exchange, bars, run, _, rejected, first, end = lunch_run
    q = pd.read_parquet(run / "quality.parquet")
    sched = _schedule(exchange, first, end)
    minutes = {d.date(): int((r["market_close"] - r["market_open"] - (r["break_end"] - r["break_start"])) / MINUTE)
               for d, r in sched.iterrows()}
    one = q[q["interval"] == "1m"]
    np.testing.assert_array_equal(one["expected"], [minutes[d] for d in one["session_date"]])
    assert set(minutes.values()) <= {300, 330} and min(minutes.values()) < 390
    dense = one[one["symbol"] == "LBA"]
    assert (dense["present"] == dense["expected"]).all() and (dense["quality_pct"] == 100.0).all()
    assert (dense["gaps"] == 0).all()
    lba = [reason for sym, reason in rejected if sym == "LBA"]
    assert len(lba) > 20 and not [r for r in lba if "quality" in r]     # none refused for quality


def test_derived_bars_are_cut_at_the_break(lunch_run):
    exchange, bars, run, _, _, first, end = lunch_run
    written = pd.read_parquet(run / "bars.parquet")
    sched = _schedule(exchange, first, end)
    for iv in ("5m", "60m"):
        length = pd.Timedelta(iv.replace("m", "min"))
        exp = []
        for _, row in sched.iterrows():
            for a, b in _trading_parts(row):
                g = bars[(bars["timestamp"] >= a) & (bars["timestamp"] < b)]
                for sym, h in g.groupby("symbol"):
                    r = h.set_index("timestamp").resample(length, origin=a, closed="left", label="left").agg(
                        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
                    ).dropna(subset=["open"]).reset_index()
                    r["symbol"] = sym
                    exp.append(r)
        exp = pd.concat(exp).sort_values(["symbol", "timestamp"]).reset_index(drop=True)
        got = written[written["interval"] == iv].sort_values(["symbol", "timestamp"]).reset_index(drop=True)
        assert len(got) == len(exp), iv
        np.testing.assert_array_equal(got["timestamp"].to_numpy(), exp["timestamp"].to_numpy())
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_allclose(got[col].to_numpy(), exp[col].to_numpy(), rtol=0, atol=1e-9)
    one = written[written["interval"] == "1m"]
    local = one["timestamp"].dt.tz_convert(CASES[exchange][0])
    assert not ((local.dt.time >= sched["break_start"].iloc[0].tz_convert(CASES[exchange][0]).time())
                & (local.dt.time < sched["break_end"].iloc[0].tz_convert(CASES[exchange][0]).time())).any()


def test_avg_intraday_grid_has_the_sessions_trading_minutes(lunch_run):
    exchange, bars, _, curves, _, first, end = lunch_run
    sched = _schedule(exchange, CASES[exchange][1], end)
    days = list(sched.index.date)
    assert len(curves) >= 5
    for day, per_symbol in curves.items():
        k = days.index(day)
        window = sched.iloc[k - 5:k]
        length = max(int((r["market_close"] - r["market_open"] - (r["break_end"] - r["break_start"])) / MINUTE)
                     for _, r in sched.iloc[k - 5:k + 1].iterrows())
        for sym, curve in per_symbol.items():
            assert curve.shape == (length,)
            grid = np.full((5, length), np.nan)
            for j, (_, row) in enumerate(window.iterrows()):
                offset = 0
                for a, b in _trading_parts(row):
                    g = bars[(bars["symbol"] == sym) & (bars["timestamp"] >= a) & (bars["timestamp"] < b)]
                    grid[j, offset + ((g["timestamp"] - a) // MINUTE).to_numpy(dtype=np.int64)] = g["volume"]
                    offset += int((b - a) / MINUTE)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)      # minutes no trailing day had (NaN)
                expected = np.nanmean(grid, axis=0)
            np.testing.assert_allclose(curve, expected, rtol=1e-12, err_msg=(day, sym))
