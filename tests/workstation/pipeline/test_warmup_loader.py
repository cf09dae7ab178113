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


# ---------------------------------------------------------------------- one builder for warm-up and chart
def _replayed(session, arrays, base: str, interval: str) -> list[tuple]:
    """The replay's bars of `interval` from one day's streamed bars: DerivedBarBuilder fed bar time
    after bar time, the forming bar completed at the end (the independent reference)."""
    from workstation.model import parse_interval
    from workstation.pipeline.processor import DerivedBarBuilder

    n = int(arrays.symbol_index.max()) + 1
    builder = DerivedBarBuilder(interval, base, n)
    builder.start_session(session.open_ns, session.close_ns, session.break_start_ns, session.break_end_ns,
                          session.pre_market_start_ns, session.post_market_end_ns)
    out = []
    starts, ends = bar_time_slices(arrays.timestamp)
    for a, b in zip(starts, ends, strict=True):
        ts = int(arrays.timestamp[a])
        cols = (arrays.open[a:b], arrays.high[a:b], arrays.low[a:b], arrays.close[a:b], arrays.volume[a:b])
        out += builder.add(ts, arrays.symbol_index[a:b].astype(np.int64), *cols, ts + parse_interval(base).ns)
    done = builder.flush_due(session.end_ns) or builder.complete()
    return out + ([done] if done is not None else [])


def _flatten(batches: list[tuple]) -> list[np.ndarray]:
    rows = [(np.full(len(b[1]), b[0], dtype=np.int64), np.asarray(b[1], dtype=np.int64), *b[2:]) for b in batches]
    return [np.concatenate([r[k] for r in rows]) for k in range(7)]


@pytest.mark.parametrize("exchange, symbols, days", [
    ("XNYS", {"WLA": 2, "WLB": 4, "WLC": 3}, ("2024-11-26", "2024-11-29")),   # gapped; 29th: early close
    ("XHKG", {"HKA": 3, "HKB": 2}, ("2024-03-18", "2024-03-20")),              # lunch break
])
def test_session_bars_are_the_replays_derived_bars_to_the_bit(tmp_path, exchange, symbols, days):
    from workstation.pipeline.warmup import read_day, session_interval_bars

    tm = TimeManager(exchange)
    bars = make_thin_bars(symbols, days[0], days[1], seed=4, keep=(0.2, 0.9), exchange=exchange)
    rng = np.random.default_rng(8)   # volumes whose sum depends on the order of the additions
    bars["volume"] = rng.random(len(bars)) * 10.0 ** rng.integers(0, 12, len(bars))
    store = BarStore(tmp_path / "store", create=True, exchange=exchange, time_manager=tm)
    store.write_bars(bars, "1m")
    names = list(symbols)
    checked = 0
    for session in tm.sessions(*days):
        arrays = read_day(store, session, "1m", names)
        built = session_interval_bars(session, arrays, "1m", ["1m", "5m", "15m", "60m"])
        minute = built["1m"]
        np.testing.assert_array_equal(minute.start, arrays.timestamp)
        np.testing.assert_array_equal(minute.close, arrays.close)
        for interval in ("5m", "15m", "60m"):
            expected = _flatten(_replayed(session, arrays, "1m", interval))
            got = built[interval]
            for k, column in enumerate((got.start, got.symbol_index, got.open, got.high, got.low, got.close,
                                        got.volume)):
                np.testing.assert_array_equal(column, expected[k], err_msg=f"{session.date} {interval} {k}")
            # one bar time per slot start, in order
            assert (np.diff(got.start[got.bounds[:-1]]) > 0).all()
            checked += got.rows
    assert checked > 100


def test_the_chart_history_before_the_run_is_the_replays_bars_of_n_days(store):
    from workstation.pipeline.warmup import prerun_bars, read_day

    tm = TimeManager()
    got = prerun_bars(store, tm, SYMBOLS, "1m", ["15m", "60m"], pd.Timestamp(FIRST).date(), 3)
    days = tm.trading_dates("2024-03-01", "2024-03-19")[-3:]
    for interval in ("1m", "15m", "60m"):
        for i, sym in enumerate(SYMBOLS):
            parts = []
            for day in days:
                session = tm.session(day)
                arrays = read_day(store, session, "1m", SYMBOLS)
                if interval == "1m":
                    mine = arrays.symbol_index == i
                    parts.append((arrays.timestamp[mine], arrays.close[mine], arrays.volume[mine]))
                else:
                    flat = _flatten(_replayed(session, arrays, "1m", interval))
                    mine = flat[1] == i
                    parts.append((flat[0][mine], flat[5][mine], flat[6][mine]))
            view = got[(sym, interval)]
            np.testing.assert_array_equal(view.timestamp, np.concatenate([p[0] for p in parts]))
            np.testing.assert_array_equal(view.close, np.concatenate([p[1] for p in parts]))
            np.testing.assert_array_equal(view.volume, np.concatenate([p[2] for p in parts]))
            assert view.timestamp.dtype == np.int64 and view.close.dtype == np.float64
    assert prerun_bars(store, tm, SYMBOLS, "1m", [], pd.Timestamp("1990-01-02").date(), 3) == {}


def test_each_day_is_read_once(store):
    reads = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def read_session_arrays(self, day, *args, **kwargs):
            reads.append(day)
            return self.inner.read_session_arrays(day, *args, **kwargs)

    loader = WarmupLoader(Counting(store), TimeManager(), SYMBOLS, "1m", ["15m", "60m"], {"1m": 50, "15m": 30,
                                                                                        "60m": 25})
    _collect(loader)
    assert len(reads) == len(set(reads)) == loader.days_read > 1


def test_blocks_hold_the_batches_bar_time_by_bar_time(store):
    """`blocks` (what the run's warm-up feeds) are `batches` several bar times at once: per interval the
    same bar times, in the same order, with the same rows."""
    counts = {"1m": 50, "15m": 30, "60m": 25}
    first = pd.Timestamp(FIRST).date()
    batches = list(WarmupLoader(store, TimeManager(), SYMBOLS, "1m", ["15m", "60m"], counts).batches(first))
    from_blocks = []
    for bars in WarmupLoader(store, TimeManager(), SYMBOLS, "1m", ["15m", "60m"], counts).blocks(first):
        assert len(bars.done_ns) == len(bars.bounds) - 1 and (np.diff(bars.done_ns) > 0).all()
        for j in range(len(bars.bounds) - 1):
            a, b = bars.bounds[j], bars.bounds[j + 1]
            from_blocks.append((bars.interval, bars.symbol_index[a:b], tuple(c[a:b] for c in bars.columns)))
    for interval in counts:
        mine = [batch for batch in from_blocks if batch[0] == interval]
        expected = [batch for batch in batches if batch[0] == interval]
        assert len(mine) == len(expected) > 0
        for (_, idx, columns), (_, idx_expected, columns_expected) in zip(mine, expected, strict=True):
            np.testing.assert_array_equal(idx, idx_expected)
            for column, column_expected in zip(columns, columns_expected, strict=True):
                np.testing.assert_array_equal(column, column_expected)
