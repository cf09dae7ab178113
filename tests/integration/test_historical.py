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
