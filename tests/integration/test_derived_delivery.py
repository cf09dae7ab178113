"""Every completed derived bar reaches a strategy exactly once, in time order, with the indicators
stepped between two bars, on thin data where one bar time often completes two bars of one
interval; in both threading modes, for on_bar and on_bars strategies. Expected bars from pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration import probe_strategies as probes
from tests.integration.runhelpers import crossover_config, run_to_end, store_from_frame
from tests.integration.thin_data import delivery_times, make_thin_bars, resample_session_bars
from workstation.calendar import TimeManager

SYMBOLS = {"GAPA": 2, "GAPB": 4}
START, END = "2024-11-11", "2024-12-03"          # with the early close of 2024-11-29


@pytest.fixture(scope="module")
def thin_bars() -> pd.DataFrame:
    return make_thin_bars(SYMBOLS, START, END, seed=3, keep=(0.1, 0.2))


@pytest.fixture(scope="module")
def thin_store(thin_bars, tmp_path_factory):
    return store_from_frame(thin_bars, tmp_path_factory.mktemp("delivery") / "store")


def _expected(bars: pd.DataFrame, interval: str) -> pd.DataFrame:
    tm = TimeManager()
    all_ts = bars["timestamp"].astype("int64").to_numpy()
    out = []
    for sym, g in bars.groupby("symbol", sort=True):
        d = resample_session_bars(g, interval, tm)
        d["symbol"] = sym
        d["delivered"] = delivery_times(d, all_ts, tm)
        d["sma3"] = d["close"].rolling(3).mean()
        out.append(d)
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize("stage_threads", [True, False])
@pytest.mark.parametrize("probe", ["OnBarProbe", "OnBarsProbe"])
def test_each_derived_bar_once_in_order_with_stepped_indicators(thin_bars, thin_store, stage_threads, probe):
    strategies = []
    for iv in ("5m", "15m"):
        strategies.append({"name": f"{probe}_{iv}", "interval": iv,
                           "class_path": f"tests.integration.probe_strategies:{probe}",
                           "params": {"key": f"{probe}-{iv}-{stage_threads}"}})
    cfg = crossover_config(list(SYMBOLS), START, END, derived=["5m", "15m"], strategies=strategies)
    cfg["backtest"]["stage_threads"] = stage_threads
    run_to_end(cfg, thin_store)
    for iv in ("5m", "15m"):
        got = pd.DataFrame(probes.DELIVERIES[f"{probe}-{iv}-{stage_threads}"],
                           columns=["symbol", "timestamp", "close", "delivered", "sma3"])
        exp = _expected(thin_bars, iv)
        doubles = exp.groupby(["symbol", "delivered"]).size()
        assert (doubles > 1).sum() >= (20 if iv == "5m" else 1), "two bars of one interval at one bar time"
        for sym in SYMBOLS:
            g = got[got["symbol"] == sym].reset_index(drop=True)
            e = exp[exp["symbol"] == sym].reset_index(drop=True)
            # exactly once each, in time order
            np.testing.assert_array_equal(g["timestamp"].to_numpy(), e["timestamp"].to_numpy(), err_msg=(iv, sym))
            np.testing.assert_array_equal(g["close"].to_numpy(), e["close"].to_numpy())
            np.testing.assert_array_equal(g["delivered"].to_numpy(), e["delivered"].to_numpy())
            # the indicators at each delivery hold exactly the bars up to it
            np.testing.assert_allclose(g["sma3"].to_numpy(), e["sma3"].to_numpy(), rtol=0, atol=1e-9,
                                       equal_nan=True)
