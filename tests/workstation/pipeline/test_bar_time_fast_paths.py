"""The per-bar-time shortcuts for a bar time of every symbol (issue 11): each gives what the general
path gives, and the checks they skip still hold where the shortcut does not apply.

- `BarTimes.every_symbol`: which bar times hold exactly symbols 0..n-1 in order.
- SessionData.append_bars of every symbol while all symbols are aligned (same count, same last
  start): the order check still refuses a bar time that is not after the last one.
- `publish_forming` reusing the timestamp column of an unchanged `present` array.
- The quality stage's aligned measure (BarTime.every_symbol) against the general one.
- `Indicator.all_ready`.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.workstation.pipeline.stage_harness import (
    MINUTE,
    Recorder,
    local_ns,
    metrics,
    minutes,
    new_session_data,
    session,
)
from workstation.events import EventBus
from workstation.indicators import make_indicator
from workstation.pipeline.feed import BarTimes
from workstation.pipeline.quality import DataQualityManager
from workstation.pipeline.stage_events import BarTime, SessionEnd, SessionStart
from workstation.session import BarOrderError, SessionData

DAY = "2024-03-05"
T0 = 1_704_205_800_000_000_000  # 2024-01-02 09:30 New York


def _bar_times(rows: list[tuple[int, int]]) -> BarTimes:
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    sym = np.array([r[1] for r in rows], dtype=np.int64)
    ones = np.ones(len(rows))
    return BarTimes.from_arrays(ts, sym, ones, ones, ones, ones, ones)


def test_every_symbol_marks_only_bar_times_of_every_symbol_in_order():
    m = MINUTE
    block = _bar_times([
        (T0, 0), (T0, 1), (T0, 2),              # complete
        (T0 + m, 0), (T0 + m, 2),               # a symbol missing
        (T0 + 2 * m, 1), (T0 + 2 * m, 0), (T0 + 2 * m, 2),   # every symbol, not in order
        (T0 + 3 * m, 0), (T0 + 3 * m, 0), (T0 + 3 * m, 2),   # three rows, a symbol twice
        (T0 + 4 * m, 0), (T0 + 4 * m, 1), (T0 + 4 * m, 2),   # complete
    ])
    assert block.every_symbol(3) == [True, False, False, False, True]
    assert block.every_symbol(4) == [False] * 5
    assert _bar_times([]).every_symbol(3) == []


def _sd(n=3) -> SessionData:
    return SessionData([f"S{i}" for i in range(n)], ["1m", "5m"])


def _append_all(sd: SessionData, ts: int, value: float = 1.0) -> None:
    v = np.full(sd.n_symbols, value)
    sd.append_bars("1m", None, ts, v, v + 1, v - 1, v, v)


def test_aligned_appends_of_every_symbol_still_refuse_a_bar_time_not_after_the_last():
    sd = _sd()
    _append_all(sd, T0)
    _append_all(sd, T0 + MINUTE)
    with pytest.raises(BarOrderError):
        _append_all(sd, T0 + MINUTE)              # the same bar time again
    with pytest.raises(BarOrderError):
        _append_all(sd, T0)                       # an older one
    assert sd.bar_counts("1m").tolist() == [2, 2, 2]


def test_appends_of_every_symbol_after_uneven_writes_check_each_symbol():
    sd = _sd()
    _append_all(sd, T0)
    one = np.ones(1)
    sd.append_bars("1m", np.array([1]), T0 + 2 * MINUTE, one, one, one, one, one)   # S1 ahead
    with pytest.raises(BarOrderError, match="S1"):
        _append_all(sd, T0 + 2 * MINUTE)
    sd.append_bars("1m", np.array([0, 2]), T0 + 2 * MINUTE, *(np.ones(2),) * 5)      # even again
    _append_all(sd, T0 + 3 * MINUTE)
    with pytest.raises(BarOrderError):
        _append_all(sd, T0 + 3 * MINUTE)
    sd.append_bar("S2", "1m", T0 + 4 * MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0)              # a single append
    with pytest.raises(BarOrderError, match="S2"):
        _append_all(sd, T0 + 4 * MINUTE)
    sd.insert_bar("S0", "1m", T0 + MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0)                  # a late bar
    with pytest.raises(BarOrderError, match="S2"):
        _append_all(sd, T0 + 4 * MINUTE)
    assert sd.bar_counts("1m").tolist() == [4, 3, 4]


def test_aligned_appends_store_what_appends_by_index_store():
    fast, general = _sd(), _sd()
    idx = np.arange(3, dtype=np.int64)
    rng = np.random.default_rng(7)
    for k in range(40):                          # past the initial capacity: the block grows
        o, h, lo, c, v = (rng.random(3) for _ in range(5))
        fast.append_bars("1m", None, T0 + k * MINUTE, o, h, lo, c, v)
        # (indices listed out of order: the general path, which never takes the shortcut)
        general.append_bars("1m", idx[::-1], T0 + k * MINUTE, o[::-1], h[::-1], lo[::-1], c[::-1], v[::-1])
    for s in fast.symbols:
        a, b = fast.bars(s, "1m"), general.bars(s, "1m")
        for field in ("timestamp", "open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(a, field), getattr(b, field))
        assert fast.latest_bar(s, "1m") == general.latest_bar(s, "1m")
        assert fast.session_metrics(s) == general.session_metrics(s)
    assert fast.bar_counts("1m").tolist() == general.bar_counts("1m").tolist()


def test_session_metrics_folded_on_read_equal_metrics_kept_per_write():
    """Bar times of every symbol leave their metrics to the first read; mixed with partial bar times,
    single appends and a late bar, in whatever order reads come, the metrics are those of the
    general path (written per bar)."""
    fast, general = _sd(), _sd()
    idx = np.arange(3, dtype=np.int64)
    rng = np.random.default_rng(11)
    rev = idx[::-1]
    for k in range(30):
        o, h, lo, c, v = (rng.random(3) * 10 for _ in range(5))
        t = T0 + k * MINUTE
        if k % 7 == 5:                   # a partial bar time (S1 missing)
            part = np.array([0, 2])
            fast.append_bars("1m", part, t, o[part], h[part], lo[part], c[part], v[part])
            general.append_bars("1m", part, t, o[part], h[part], lo[part], c[part], v[part])
        elif k == 2:                     # single appends, one symbol after the other
            for sd in (fast, general):
                for i in range(3):
                    sd.append_bar(f"S{i}", "1m", t, o[i], h[i], lo[i], c[i], v[i])
        else:
            fast.append_bars("1m", None, t, o, h, lo, c, v)
            general.append_bars("1m", rev, t, o[::-1], h[::-1], lo[::-1], c[::-1], v[::-1])
        if k == 4:                       # a late bar replacing S1's first while bar times lag
            fast.insert_bar("S1", "1m", T0, 5.0, 6.0, 4.0, 5.5, 100.0)
            general.insert_bar("S1", "1m", T0, 5.0, 6.0, 4.0, 5.5, 100.0)
        if k == 20:
            fast.insert_bar("S1", "1m", T0 + 5 * MINUTE, 5.0, 6.0, 4.0, 5.5, 100.0)   # S1's missing bar
            general.insert_bar("S1", "1m", T0 + 5 * MINUTE, 5.0, 6.0, 4.0, 5.5, 100.0)
        if k in (2, 6, 25):
            for s in fast.symbols:
                assert fast.session_metrics(s) == general.session_metrics(s)
    arrays_fast, arrays_general = fast.session_metrics_arrays(), general.session_metrics_arrays()
    for a, b in zip(arrays_fast, arrays_general, strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    for s in fast.symbols:
        assert fast.session_metrics(s) == general.session_metrics(s)
    fast.clear_session()
    assert fast.session_metrics("S0").volume == 0.0


def test_adding_symbols_while_metrics_lag_keeps_them():
    sd = _sd()
    for k in range(3):
        sd.append_bars("1m", None, T0 + k * MINUTE, *(np.full(3, 2.0 + k),) * 5)    # lagging
    sd.add_symbols(["S3"])
    assert sd.session_metrics("S0").volume == 9.0 and sd.session_metrics("S0").last == 4.0
    assert sd.session_metrics("S3").volume == 0.0 and np.isnan(sd.session_metrics("S3").high)


def test_publish_forming_with_the_same_present_array_takes_the_new_start():
    sd = _sd()
    present = np.array([True, False, True])
    v = np.array([1.0, np.nan, 3.0])
    sd.publish_forming("5m", T0, present, v, v, v, v, v, np.arange(3))
    assert sd.forming_bar("S0", "5m").timestamp == T0
    sd.publish_forming("5m", T0 + 5 * MINUTE, present, v, v, v, v, v, np.arange(3))
    assert sd.forming_bar("S0", "5m").timestamp == T0 + 5 * MINUTE
    assert sd.forming_bar("S2", "5m").timestamp == T0 + 5 * MINUTE
    assert sd.forming_bar("S1", "5m") is None
    sd.clear_forming("5m")
    assert all(sd.forming_bar(s, "5m") is None for s in sd.symbols)


def _quality_run(bars: dict[str, list[int]], flag: bool):
    """The quality manager over these bar starts; `flag`: bar times of every symbol carry
    every_symbol (as the coordinator sends them). Quality after each bar time, gaps, summary rows."""
    sess = session(DAY)
    sd = new_session_data(list(bars), ["1m", "5m"])
    bus = EventBus()
    rec = Recorder(bus, ["gap", "quality"])
    manager = DataQualityManager(sd, "1m", ["5m"], metrics(), bus)
    manager.process(SessionStart(sess))
    n = len(bars)
    sets = [set(ts) for ts in bars.values()]
    seen = []
    for t in sorted(set().union(*sets)):
        idx = np.array([i for i, ts in enumerate(sets) if t in ts], dtype=np.int64)
        ones = np.ones(len(idx))
        sd.append_bars("1m", idx, t, ones, ones, ones, ones, ones)
        manager.process(BarTime(t, idx, ones, ones, ones, ones, ones, flag and len(idx) == n))
        assert manager.error is None
        seen.append([sd.quality(s, "1m") for s in sd.symbols])
    manager.process(SessionEnd(sess, False))
    gaps = [(g.symbol, g.start_ns, g.end_ns, g.missing) for g in manager.gaps]
    return seen, gaps, manager.session_rows, [(kind, repr(payload)) for kind, payload in rec.events]


def test_quality_of_bar_times_of_every_symbol_equals_the_general_measure():
    sess = session(DAY)
    every = minutes(sess, skip=[("09:30", "09:33"), ("11:00", "11:04")], until="15:00")   # all miss these
    bars = {
        "AAA": every,
        "BBB": [t for t in every if not local_ns(DAY, "10:00") <= t < local_ns(DAY, "10:02")],
        "CCC": every + minutes(sess, skip=[("09:30", "15:20")]),   # alone after 15:20
    }
    fast = _quality_run(bars, flag=True)
    general = _quality_run(bars, flag=False)
    assert fast == general
    seen, gaps, _, _ = fast
    assert ("AAA", local_ns(DAY, "09:30"), local_ns(DAY, "09:32"), 3) in gaps
    assert ("CCC", local_ns(DAY, "11:00"), local_ns(DAY, "11:03"), 4) in gaps
    assert seen[0] == [25.0, 25.0, 25.0]               # 09:33, the first of four minutes


def test_all_ready_follows_the_warm_up_of_every_lane():
    sma = make_indicator("sma(3)", lanes=2)
    assert not sma.all_ready
    for k in range(3):
        sma.update(np.array([1.0 + k]), lanes=np.array([0]))
    assert sma.ready_at(np.array([0, 1])).tolist() == [True, False]
    assert not sma.all_ready
    for k in range(3):
        sma.update(np.array([1.0 + k]), lanes=np.array([1]))
    assert sma.all_ready
    assert sma.ready_at(np.array([0, 1])).all()
    sma.reset(np.array([1]))
    assert not sma.all_ready
