"""DataProcessor on its own: derived bars equal pandas resampling (early close, lunch break), every
completed derived bar is handed to the analysis stage exactly once, in time order, with the
indicators holding exactly the bars up to it, the short bar at the close is flushed once, and the
price grid follows the decimals of the closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.workstation.pipeline.stage_harness import (
    MINUTE,
    AnalysisRecorder,
    metrics,
    minutes,
    new_session_data,
    session,
)
from workstation.calendar import SimulatedClock
from workstation.pipeline.processor import DataProcessor
from workstation.pipeline.stage_events import BarTime, SessionEnd, SessionStart
from workstation.strategies.base import StrategyContext

DERIVED = ["5m", "15m", "60m"]


def _bars(sess, keep: float, seed: int, symbols=("AAA", "BBB"), decimals=(2, 4)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for sym, dec in zip(symbols, decimals, strict=True):
        ts = np.array(minutes(sess))
        ts = ts[rng.random(len(ts)) < keep]
        close = np.round(50 + np.cumsum(rng.normal(0, 0.05, len(ts))), dec)
        frames.append(pd.DataFrame({"symbol": sym, "timestamp": ts, "open": close, "high": close + 0.01,
                                    "low": close - 0.01, "close": close, "volume": rng.integers(1, 100, len(ts))}))
    return pd.concat(frames).sort_values(["timestamp", "symbol"]).reset_index(drop=True)


def _run(sessions_bars: list[tuple], symbols=("AAA", "BBB"), tz="America/New_York"):
    symbols = list(symbols)
    sd = new_session_data(symbols, ["1m", *DERIVED], tz=tz)
    clock = SimulatedClock(sessions_bars[0][0].open_ns)
    processor = DataProcessor(sd, "1m", DERIVED, ["sma(3)"], metrics())
    watch = [(iv, "sma(3)") for iv in DERIVED]
    analysis = AnalysisRecorder(sd, watch)
    processor.output = analysis
    written = []
    for sess, bars in sessions_bars:
        sd.clear_session()
        processor.process(SessionStart(sess))
        for ts, g in bars.groupby("timestamp", sort=True):
            idx = np.array([symbols.index(s) for s in g["symbol"]], dtype=np.int64)
            cols = [g[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")]
            clock.advance_to(int(ts) + MINUTE)
            sd.append_bars("1m", idx, int(ts), *cols)
            processor.process(BarTime(int(ts), idx, *cols))
        clock.advance_to(sess.close_ns)
        processor.process(SessionEnd(sess))
        for iv in DERIVED:
            for sym in symbols:
                b = sd.bars(sym, iv)
                written.append(pd.DataFrame({"symbol": sym, "interval": iv, "timestamp": np.array(b.timestamp),
                                             "close": np.array(b.close), "open": np.array(b.open),
                                             "high": np.array(b.high), "low": np.array(b.low),
                                             "volume": np.array(b.volume)}))
    return processor, analysis, pd.concat(written, ignore_index=True), sd, clock


def _resample(bars: pd.DataFrame, sess, interval: str) -> pd.DataFrame:
    out = []
    length = pd.Timedelta(interval.replace("m", "min"))
    for start, end in sess.segments:
        g = bars[(bars["timestamp"] >= start) & (bars["timestamp"] < end)]
        for sym, h in g.groupby("symbol"):
            h = h.set_index(pd.to_datetime(h["timestamp"], utc=True))
            r = h.resample(length, origin=pd.Timestamp(start, tz="UTC"), closed="left", label="left").agg(
                {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna(subset=["open"])
            r = r.reset_index().rename(columns={"index": "timestamp"})
            r["timestamp"] = r["timestamp"].astype("int64")
            r["symbol"] = sym
            out.append(r)
    return pd.concat(out, ignore_index=True).sort_values(["symbol", "timestamp"]).reset_index(drop=True)


@pytest.mark.parametrize(("day", "exchange"), [("2024-03-05", "XNYS"), ("2024-11-29", "XNYS"), ("2024-10-28", "XHKG")])
def test_derived_bars_equal_pandas(day, exchange):
    sess = session(day, exchange)
    bars = _bars(sess, keep=0.3, seed=1)
    _, _, written, _, _ = _run([(sess, bars)], tz=sess.tz)
    for iv in DERIVED:
        ours = written[written["interval"] == iv].sort_values(["symbol", "timestamp"]).reset_index(drop=True)
        exp = _resample(bars, sess, iv)
        np.testing.assert_array_equal(ours["timestamp"].to_numpy(), exp["timestamp"].to_numpy(), err_msg=iv)
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_allclose(ours[col].to_numpy(), exp[col].to_numpy(), rtol=0, atol=1e-12)


def test_every_derived_bar_handed_over_once_in_order_with_stepped_indicators():
    sessions = [session("2024-03-05"), session("2024-03-06")]
    runs = [(s, _bars(s, keep=0.15, seed=k)) for k, s in enumerate(sessions)]
    _, analysis, written, _, _ = _run(runs)
    seen = {}
    doubles = 0
    last_time = None
    for step in analysis.seen:
        if step["streamed"] is not None:
            last_time = step["streamed"][0]
        by_interval = {}
        for iv, idx in step["completed"]:
            by_interval[iv] = by_interval.get(iv, 0) + 1
            for i in idx.tolist():
                sym = ["AAA", "BBB"][i]
                bar = step["latest"][(iv, sym)]
                seen.setdefault((iv, sym), []).append((bar.timestamp, bar.close, step["indicators"][(iv, "sma(3)")][i]))
        assert all(v == 1 for v in by_interval.values()), "one bar of an interval per hand-over"
    kinds = [s["kind"] for s in analysis.seen]
    doubles = sum(1 for a, b in zip(kinds, kinds[1:], strict=False) if a == "bars_step")
    assert doubles >= 3, "the data must complete two bars of one interval at one bar time"
    assert last_time is not None
    for iv in DERIVED:
        for sym in ("AAA", "BBB"):
            exp = written[(written["interval"] == iv) & (written["symbol"] == sym)]
            got = seen[(iv, sym)]
            assert [t for t, _, _ in got] == exp["timestamp"].tolist(), (iv, sym)      # once each, in order
            assert [c for _, c, _ in got] == exp["close"].tolist()
            sma = exp["close"].rolling(3).mean().to_numpy()
            np.testing.assert_allclose([v for _, _, v in got], sma, rtol=0, atol=1e-12, equal_nan=True)


def test_short_bar_at_the_close_is_flushed_once():
    sess = session("2024-03-05")
    bars = _bars(sess, keep=1.0, seed=3)
    bars = bars[bars["timestamp"] < sess.close_ns - 100 * MINUTE]        # data ends at 14:20
    _, analysis, written, _, _ = _run([(sess, bars)])
    last60 = written[(written["interval"] == "60m")]["timestamp"].max()
    assert last60 == sess.open_ns + 4 * 60 * MINUTE                      # 13:30, ends 14:30 > data
    flushed = [s for s in analysis.seen if s["streamed"] is None and s["completed"]]
    assert len(flushed) == 1
    assert {iv for iv, _ in flushed[0]["completed"]} == {"15m", "60m"}     # the 14:15 5m bar ended with 14:19


def test_price_decimals_follow_the_closes():
    sess = session("2024-03-05")
    bars = _bars(sess, keep=0.5, seed=4, decimals=(2, 4))
    processor, _, _, sd, clock = _run([(sess, bars)])
    ctx = StrategyContext(sd, clock, sd.indicators, lambda: np.zeros(2), sd.symbols)
    assert ctx.price_decimals().tolist() == [2, 4]


def test_a_revision_rebuilds_the_symbols_indicator_lanes_from_history_and_session_as_bar_after_bar():
    """A late bar or a gap fill (Revise) rebuilds the symbol's indicator lanes from its trailing history
    and this session's bars: the same values, bit for bit, as an indicator fed those bars one by one
    (history first; VWAP, reset each session, the session's only), and the other symbol's lanes keep
    theirs."""
    from workstation.indicators import input_fields, make_indicator
    from workstation.pipeline.stage_events import Revise

    specs = ["sma(20)", "macd(12,26,9)", "bb(20,2)", "atr(14)", "rsi(14)", "vwap"]
    sess = session("2024-11-26")
    symbols = ["AAA", "BBB"]
    sd = new_session_data(symbols, ["1m"])
    processor = DataProcessor(sd, "1m", [], specs, metrics())
    processor.output = AnalysisRecorder(sd, [])
    rng = np.random.default_rng(11)
    history = {}
    for sym in symbols:                                     # two days of trailing 1m bars
        n = 780
        close = 40 + np.cumsum(rng.normal(0, 0.05, n))
        history[sym] = pd.DataFrame({"timestamp": sess.open_ns - (n - np.arange(n)) * MINUTE, "open": close,
                                     "high": close + 0.02, "low": close - 0.03, "close": close,
                                     "volume": rng.integers(1, 900, n).astype(float)})
        sd.set_historical_bars(sym, "1m", history[sym])
    processor.process(SessionStart(sess))
    for ts in minutes(sess)[:120]:
        idx = np.array([0, 1], dtype=np.int64)
        cols = [np.round(40 + rng.normal(0, 0.2, 2), 2) for _ in range(5)]
        cols[1], cols[2] = np.maximum.reduce(cols[:4]) + 0.01, np.minimum.reduce(cols[:4]) - 0.01
        sd.append_bars("1m", idx, int(ts), *cols)
        processor.process(BarTime(int(ts), idx, *cols))
    bank = processor.indicators.get
    before = {spec: bank("1m", spec).outputs() for spec in specs}
    late = minutes(sess)[120]
    sd.insert_bar("BBB", "1m", late - 30 * MINUTE, 41.0, 41.2, 40.9, 41.1, 500.0)   # a filled gap: out of order
    processor.process(Revise(np.array([1], dtype=np.int64)))
    sess_bars = sd.bars("BBB", "1m")
    for spec in specs:
        expected = make_indicator(spec, lanes=1)
        parts = [] if spec == "vwap" else [history["BBB"]]
        parts.append(pd.DataFrame({f: np.asarray(getattr(sess_bars, f)) for f in FIELDS}))
        frame = pd.concat(parts, ignore_index=True)
        for _, row in frame.iterrows():
            expected.update(*(float(row[f]) for f in input_fields(spec)))
        got = bank("1m", spec).outputs()
        for name, values in expected.outputs().items():
            assert got[name][1].tobytes() == values[0].tobytes(), (spec, name)
            assert got[name][0].tobytes() == before[spec][name][0].tobytes(), (spec, name)   # AAA untouched


FIELDS = ("open", "high", "low", "close", "volume")
