"""Forming bars are published without a copy per bar time (the processor's DerivedBarBuilder replaces
its arrays instead of writing into published ones): read after every bar time of a whole run, each
symbol's forming 5m and 15m bar equals the bar pandas builds from the 1m bars of its bucket so far
(first open, highest high, lowest low, last close, summed volume), including symbols with missing
minutes (the builder's partial folds); and every block once published still holds, at the run's end,
exactly the values it held when it was read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workstation.config import validate_config_dict
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager

DAYS = ("2024-12-04", "2024-12-05")
MINUTE = 60_000_000_000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("forming") / "store"
    generate_demo(root, symbols=4, days=4, seed=5, missing_rate=0.3)
    return root


def test_forming_bars_read_mid_run_equal_pandas_and_never_change_once_published(store):
    cfg = validate_config_dict({
        "name": "forming", "symbols": ["ACME", "BOLT", "CYRX", "DYNA"],
        "streams": {"interval": "1m", "derived": ["5m", "15m"]},
        "backtest": {"start_date": DAYS[0], "end_date": DAYS[-1], "stage_threads": False},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": {"min_quality_pct": 0},
    })
    system = SystemManager(cfg, store_path=store)
    sd = system.session_data
    seen: list[tuple] = []            # (bar start ns, symbol, interval, forming Bar fields or None)
    blocks: list[tuple] = []          # (published block, copies of its arrays when read)

    def on_bars(_kind, event):
        ts = event.start_ns
        for iv in ("5m", "15m"):
            f = sd._states[iv].forming
            if not blocks or blocks[-1][0] is not f:
                blocks.append((f, f.present.copy(), tuple(c.copy() for c in f.columns)))
            for sym in sd.symbols:
                bar = sd.forming_bar(sym, iv)
                seen.append((ts, sym, iv, None if bar is None else
                             (bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume)))

    system.events.subscribe("bars", on_bars)
    system.start()
    assert system.wait(120) and system.error is None
    # the engine's input bars (pandas, from the store) and the expected forming bars after each bar time
    bars = BarStore(store).read_bars(list(sd.symbols), "1m", pd.Timestamp(DAYS[0], tz="America/New_York").value,
                                     pd.Timestamp(DAYS[-1], tz="America/New_York").value + 86_400 * 10**9,
                                     rth_only=True)
    ts_all = bars["timestamp"].astype("int64").to_numpy()
    local = bars["timestamp"].dt.tz_convert("America/New_York")
    checked = partial = 0
    for ts, sym, iv, got in seen:
        n = int(iv[:-1]) * MINUTE
        t_local = pd.Timestamp(ts, tz="UTC").tz_convert("America/New_York")
        bucket = t_local.floor(f"{iv[:-1]}min")
        bucket_ns, end_ns = bucket.value, bucket.value + n
        sel = ((bars["symbol"] == sym).to_numpy() & (ts_all >= bucket_ns) & (ts_all <= ts)
               & (local.dt.date == t_local.date()).to_numpy())
        rows = bars[sel]
        if ts + MINUTE >= end_ns or rows.empty:
            assert got is None, (ts, sym, iv, got)
            continue
        want = (bucket_ns, rows["open"].iloc[0], rows["high"].max(), rows["low"].min(), rows["close"].iloc[-1],
                float(rows["volume"].sum()))
        assert got == want, (pd.Timestamp(ts, tz="UTC"), sym, iv, got, want)
        checked += 1
        partial += len(rows) < (ts - bucket_ns) // MINUTE + 1
    assert checked > 1000 and partial > 50        # forming bars of symbols with missing minutes too
    for block, present, columns in blocks:         # nothing published was written into afterwards
        assert np.array_equal(block.present, present)
        for col, kept in zip(block.columns, columns, strict=True):
            assert np.array_equal(col, kept, equal_nan=True)
