"""WarmupLoader on its own: it yields, in time order, each interval's last N whole bars before the
first session (pandas-built bars for the derived intervals), reading back only as far as needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.thin_data import make_thin_bars, resample_session_bars
from workstation.calendar import TimeManager
from workstation.pipeline.coordinator import bar_time_slices
from workstation.pipeline.warmup import WarmupLoader, warmup_counts
from workstation.store import BarStore

FIRST = "2024-03-20"
SYMBOLS = ["WLA", "WLB"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    bars = make_thin_bars({"WLA": 2, "WLB": 4}, "2024-02-20", "2024-03-22", seed=9, keep=(0.1, 0.3),
                          short_last_session=False)
    # WLB starts trading later: the loader must not read back forever for it
    bars = bars[~((bars["symbol"] == "WLB") & (bars["timestamp"] < pd.Timestamp("2024-03-12", tz="UTC")))]
    s = BarStore(tmp_path_factory.mktemp("wl") / "store", create=True)
    s.write_bars(bars, "1m")
    return s


def _collect(loader):
    got = {}
    order = []
    for interval, idx, cols in loader.batches(pd.Timestamp(FIRST).date()):
        for k, i in enumerate(idx.tolist()):
            got.setdefault((interval, SYMBOLS[i]), []).append(cols[3][k])
        order.append(interval)
    return got, order


def test_warmup_counts():
    assert warmup_counts(200, {"1m": 15, "60m": 20}) == {"1m": 200, "60m": 200}
    assert warmup_counts(10, {"1m": 15, "5m": 0}) == {"1m": 15, "5m": 10}
    assert warmup_counts(0, {"1m": 15}) == {"1m": 0}


def test_each_interval_gets_its_last_whole_bars(store):
    counts = {"1m": 50, "15m": 30, "60m": 25}
    loader = WarmupLoader(store, TimeManager(), SYMBOLS, "1m", ["15m", "60m"], counts)
    got, _ = _collect(loader)
    tm = TimeManager()
    first_open = tm.session(FIRST).open_ns
    for sym in SYMBOLS:
        minute = store.read_bars([sym], "1m", 0, first_open, rth_only=True)
        assert got["1m", sym] == minute["close"].tolist()[-50:]
        for iv, n in (("15m", 30), ("60m", 25)):
            exp = resample_session_bars(minute, iv, tm)["close"].tolist()
            assert got[iv, sym] == exp[-n:], (iv, sym)
    # read back far enough for WLA's 25 60m bars; WLB (fewer bars) did not make it read further
    assert loader.days_read <= loader.max_days


def test_reading_back_stops_at_max_days_and_the_store_start(store):
    loader = WarmupLoader(store, TimeManager(), SYMBOLS, "1m", ["60m"], {"1m": 10, "60m": 10_000}, max_days=4)
    got, _ = _collect(loader)
    assert loader.days_read == 4
    assert len(got["60m", "WLA"]) <= 4 * 7
    loader = WarmupLoader(store, TimeManager(), SYMBOLS, "1m", ["60m"], {"1m": 10, "60m": 10_000})
    _collect(loader)
    first_stored = store.dates("1m")[0]
    assert loader.days_read == len(TimeManager().trading_dates(first_stored, "2024-03-19"))


def test_nothing_to_warm_up_reads_nothing(store):
    loader = WarmupLoader(store, TimeManager(), SYMBOLS, "1m", ["5m"], {"1m": 0, "5m": 0})
    assert list(loader.batches(pd.Timestamp(FIRST).date())) == [] and loader.days_read == 0


def test_bar_time_slices():
    ts = np.array([5, 5, 7, 9, 9, 9])
    assert bar_time_slices(ts) == ([0, 2, 3], [2, 3, 6])
    assert bar_time_slices(np.array([], dtype=np.int64)) == ([], [])
