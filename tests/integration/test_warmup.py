"""Warm-up: each interval gets its own last whole bars before the first session (`warmup_bars` per
interval, at least what its indicators need), so a 60m RSI(14) is ready, and equal to the RSI of
the last whole 60m bars built by pandas, when the first session starts. Dense demo data and thin
generated data (where a day holds few bars)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.integration import probe_strategies as probes
from tests.integration.runhelpers import crossover_config, run_to_end, store_from_frame
from tests.integration.thin_data import make_thin_bars, resample_session_bars
from workstation.calendar import TimeManager
from workstation.indicators import compute_series
from workstation.store import BarStore, generate_demo

FIRST, LAST = "2024-11-26", "2024-11-27"
PROBES = {"1m": ["rsi(14)", "sma(20)"], "15m": ["rsi(14)", "sma(20)"], "60m": ["rsi(14)"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("warm") / "store"
    generate_demo(root, symbols=2, seed=12)
    return BarStore(root)


@pytest.fixture(scope="module")
def thin(tmp_path_factory) -> BarStore:
    bars = make_thin_bars({"WTA": 2, "WTB": 4}, "2024-09-03", LAST, seed=5, keep=(0.1, 0.3),
                          short_last_session=False)
    return store_from_frame(bars, tmp_path_factory.mktemp("warmthin") / "store")


def _run(store, warmup_bars: int, key: str) -> dict:
    cfg = crossover_config(store.symbols("1m"), FIRST, LAST, derived=["15m", "60m"], indicators=["rsi(14)", "sma(20)"])
    cfg["historical"]["warmup_bars"] = warmup_bars
    cfg["strategies"] = [{"name": "probe", "class_path": "tests.integration.probe_strategies:WarmupProbe",
                          "interval": "60m", "params": {"key": key, "probes": PROBES}}]
    run_to_end(cfg, store)
    return {(iv, spec): values for iv, spec, values in probes.DELIVERIES[key]}


def _expected(store: BarStore, interval: str, spec: str, count: int) -> np.ndarray:
    """The indicator over the last `count` whole bars of `interval` before FIRST (pandas bars)."""
    tm = TimeManager()
    out = []
    for sym in store.symbols("1m"):
        minute = store.read_bars([sym], "1m", 0, tm.session(FIRST).open_ns, rth_only=True)
        if interval == "1m":
            bars = minute
        else:
            minute = minute.assign(timestamp=minute["timestamp"])
            bars = resample_session_bars(minute, interval, tm)
        bars = bars.iloc[-count:]
        series = compute_series(spec, None, None, None, bars["close"].to_numpy(dtype=float), None)["value"]
        out.append(series[-1] if len(series) else np.nan)
    return np.array(out)


@pytest.mark.parametrize("which", ["demo", "thin"])
def test_every_interval_is_warm_with_its_own_whole_bars(which, demo, thin):
    store = demo if which == "demo" else thin
    got = _run(store, 200, f"warm-{which}")
    for (interval, spec), values in got.items():
        assert not np.isnan(values).any(), (interval, spec)
        np.testing.assert_allclose(values, _expected(store, interval, spec, 200), rtol=1e-12,
                                   err_msg=f"{interval} {spec}")


def test_few_warmup_bars_still_make_every_indicator_ready(demo):
    """warmup_bars = 10 < what the indicators need: every interval keeps rsi(14) (15 closes) and
    sma(20) (20), so each gets 20 whole bars (the RSI is that of exactly those 20)."""
    got = _run(demo, 10, "warm-few")
    for (interval, spec), values in got.items():
        count = 20
        assert not np.isnan(values).any(), (interval, spec)
        np.testing.assert_allclose(values, _expected(demo, interval, spec, count), rtol=1e-12,
                                   err_msg=f"{interval} {spec}")


def test_zero_warmup_bars_means_no_warm_up(demo):
    got = _run(demo, 0, "warm-off")
    assert all(np.isnan(v).all() for v in got.values())


class _CountingStore:
    """A BarStore that notes the dates of its read_session_arrays calls."""

    def __init__(self, inner: BarStore):
        self.inner = inner
        self.reads: list = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def read_session_arrays(self, day, *args, **kwargs):
        self.reads.append(day)
        return self.inner.read_session_arrays(day, *args, **kwargs)


def test_history_takes_the_days_the_warm_up_read(demo):
    """The first session's history (5 trailing days, a 10-day intraday average) takes the warm-up's
    reads of the days before the run instead of reading them again, with the same values."""
    import datetime as dt

    histories = {}
    for warmup_bars in (0, 200):
        cfg = crossover_config(demo.symbols("1m"), FIRST, LAST, derived=["15m"], indicators=["rsi(14)"])
        cfg["historical"] = {"trailing_days": 5, "warmup_bars": warmup_bars, "enable_quality": True,
                             "indicators": [{"name": "vol_by_minute", "kind": "avg_intraday", "field": "volume",
                                             "period": "10d"}]}
        store = _CountingStore(demo)
        system = run_to_end(cfg, store)
        before = [d for d in store.reads if d < dt.date.fromisoformat(FIRST)]
        assert len(before) == len(set(before)) >= 10, sorted(before)
        sd = system.session_data
        histories[warmup_bars] = [np.asarray(sd.historical_indicator(s, "vol_by_minute")) for s in sd.symbols]
    for got, expected in zip(histories[200], histories[0], strict=True):
        np.testing.assert_array_equal(got, expected)
