"""Quality of thin data, per streamed and derived interval, against pandas and the exchange schedule:
expected, present, gaps and missing bars per (session, symbol, interval), the gap list of the run
folder, and a session whose last bar ends two hours before the close (its short last derived bar,
flushed at the close, is counted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pytest

from tests.integration.runhelpers import crossover_config, store_from_frame
from tests.integration.thin_data import make_thin_bars
from workstation.run_writer import RunWriter

SYMBOLS = {"QTA": 2, "QTB": 4, "QTC": 5}
START, END = "2024-11-25", "2024-12-03"          # with the early close of 2024-11-29
INTERVALS = ("1m", "5m", "15m", "60m")


@pytest.fixture(scope="module")
def thin_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("thinq")
    bars = make_thin_bars(SYMBOLS, START, END, seed=21)
    # one symbol has no bar at all on one day
    day = pd.Timestamp("2024-12-02", tz="America/New_York")
    bars = bars[~((bars["symbol"] == "QTC") & (bars["timestamp"] >= day) & (bars["timestamp"] < day + pd.Timedelta("1D")))]
    store = store_from_frame(bars, root / "store")
    cfg = crossover_config(list(SYMBOLS), START, END, derived=list(INTERVALS[1:]))
    cfg["gap_filler"] = {"enable_session_quality": True}
    from workstation.config import validate_config_dict
    from workstation.system import SystemManager

    system = SystemManager(validate_config_dict(cfg), store=store)
    RunWriter(system, root / "run")
    system.start()
    assert system.wait(120) and system.error is None
    return bars, root / "run"


def _runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    out, k = [], 0
    while k < len(missing):
        if missing[k]:
            j = k
            while j + 1 < len(missing) and missing[j + 1]:
                j += 1
            out.append((k, j))
            k = j + 1
        else:
            k += 1
    return out


def _expected(bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quality rows and gap rows from pandas and the raw pandas-market-calendars schedule."""
    sched = mcal.get_calendar("XNYS").schedule(START, END)
    rows, gaps = [], []
    ts_all = pd.to_datetime(bars["timestamp"], utc=True)
    for day, (open_, close) in zip(sched.index.date, zip(sched["market_open"], sched["market_close"], strict=True),
                                   strict=True):
        for sym in SYMBOLS:
            sel = (bars["symbol"] == sym) & (ts_all >= open_) & (ts_all < close)
            ts = ts_all[sel]
            for iv in INTERVALS:
                length = pd.Timedelta(iv.replace("m", "min"))
                slots = pd.date_range(open_, close, freq=length, inclusive="left")
                filled = np.zeros(len(slots), dtype=bool)
                filled[((ts - open_) // length).to_numpy(dtype=np.int64)] = True
                runs = _runs(~filled)
                rows.append({"session_date": day, "symbol": sym, "interval": iv, "expected": len(slots),
                             "present": int(filled.sum()), "gaps": len(runs), "missing": int((~filled).sum())})
                gaps += [{"session_date": day, "symbol": sym, "interval": iv, "start": slots[a],
                          "end": min(slots[b] + length, close), "missing": b - a + 1} for a, b in runs]
    return pd.DataFrame(rows), pd.DataFrame(gaps)


def test_quality_rows_per_interval_equal_pandas(thin_run):
    bars, run = thin_run
    got = pd.read_parquet(run / "quality.parquet")
    exp_rows, _ = _expected(bars)
    key = ["session_date", "symbol", "interval"]
    merged = exp_rows.merge(got, on=key, how="outer", suffixes=("", "_got"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for col in ("expected", "present", "gaps", "missing"):
        np.testing.assert_array_equal(merged[f"{col}_got"], merged[col], err_msg=col)
    derived = merged[merged["interval"] != "1m"]
    assert (derived["gaps"] > 0).mean() > 0.5 and (derived["present"] < derived["expected"]).any()
    assert ((merged["expected"] == 210 * 1) & (merged["interval"] == "1m")).any()      # the early close
    absent = merged[(merged["symbol"] == "QTC") & (merged["session_date"].astype(str) == "2024-12-02")]
    assert (absent["present"] == 0).all() and (absent["missing"] == absent["expected"]).all()


def test_short_session_counts_the_bar_flushed_at_the_close(thin_run):
    """The first session of each symbol ends two hours early: its last 60m bar is complete only at
    the close; it is in bars.parquet and counted as present."""
    bars, run = thin_run
    written = pd.read_parquet(run / "bars.parquet")
    q = pd.read_parquet(run / "quality.parquet")
    first = q[q["session_date"].astype(str) == START]
    for iv in INTERVALS[1:]:
        for sym in SYMBOLS:
            counted = int(first[(first["symbol"] == sym) & (first["interval"] == iv)]["present"].iloc[0])
            day = pd.Timestamp(START, tz="America/New_York")
            w = written[(written["symbol"] == sym) & (written["interval"] == iv)
                        & (written["timestamp"] >= day) & (written["timestamp"] < day + pd.Timedelta("1D"))]
            assert counted == len(w), (sym, iv)
            last_bar = bars[(bars["symbol"] == sym)]["timestamp"].iloc[0]
            assert last_bar < pd.Timestamp(f"{START} 14:00", tz="America/New_York")


def test_gap_list_in_run_folder_equals_pandas(thin_run):
    bars, run = thin_run
    got = pd.read_parquet(run / "gaps.parquet")
    _, exp = _expected(bars)
    assert set(got.columns) >= {"session_date", "symbol", "interval", "start", "end", "missing", "status"}
    key = ["session_date", "symbol", "interval", "start"]
    got = got.sort_values(key).reset_index(drop=True)
    exp = exp.sort_values(key).reset_index(drop=True)
    assert len(got) == len(exp)
    for col in ("session_date", "symbol", "interval", "start", "end", "missing"):
        np.testing.assert_array_equal(got[col].to_numpy(), exp[col].to_numpy(), err_msg=col)
    assert set(got["interval"]) == set(INTERVALS)
