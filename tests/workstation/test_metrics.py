"""Tests of RunningStat and PerformanceMetrics (per-run and per-session aggregates, reports)."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import statistics
import threading

import pytest

from workstation.metrics import (
    BARS_PROCESSED,
    OVERRUNS_PROCESSOR,
    PROCESSOR_EVENT,
    SESSION_DURATION,
    STANDARD_COUNTERS,
    STANDARD_STATS,
    PerformanceMetrics,
    RunningStat,
    render_report_text,
    timed,
)


def test_running_stat_matches_statistics_module():
    rng = random.Random(3)
    values = [rng.uniform(-5, 50) for _ in range(500)]
    s = RunningStat()
    for x in values:
        s.add(x)
    assert s.count == 500
    assert s.total == pytest.approx(sum(values))
    assert s.mean == pytest.approx(statistics.fmean(values))
    assert s.min == min(values) and s.max == max(values) and s.last == values[-1]
    assert s.variance == pytest.approx(statistics.variance(values))
    assert s.stdev == pytest.approx(statistics.stdev(values))


def test_running_stat_empty_and_without_variance():
    s = RunningStat()
    assert s.count == 0 and math.isnan(s.mean) and math.isnan(s.variance)
    d = s.to_dict()
    assert d["min"] is None and d["mean"] is None and d["count"] == 0
    s.add(2.0)
    assert math.isnan(s.variance) and s.to_dict()["stdev"] is None
    nv = RunningStat(track_variance=False)
    for x in (1.0, 2.0, 3.0):
        nv.add(x)
    assert nv.mean == 2.0 and math.isnan(nv.variance)
    s.reset()
    assert s.count == 0 and s.total == 0.0


def test_running_stat_merge_equals_single_stream():
    a, b, both = RunningStat(), RunningStat(), RunningStat()
    for k in range(40):
        x = (k * 7919) % 101 / 3.0
        (a if k % 3 else b).add(x)
        both.add(x)
    merged = a.copy()
    merged.merge(b)
    assert merged.count == both.count
    assert merged.mean == pytest.approx(both.mean)
    assert merged.variance == pytest.approx(both.variance)
    assert (merged.min, merged.max) == (both.min, both.max)
    empty = RunningStat()
    empty.merge(a)
    assert empty.count == a.count and empty.mean == pytest.approx(a.mean)


def test_record_timer_and_counters():
    pm = PerformanceMetrics()
    pm.record(PROCESSOR_EVENT, 0.002)
    pm.record(PROCESSOR_EVENT, 0.004)
    with pm.timer("analysis.event") as t:
        sum(range(1000))
    assert t.elapsed > 0
    stat = pm.stat(PROCESSOR_EVENT)
    assert stat.count == 2 and stat.mean == pytest.approx(0.003) and stat.max == 0.004
    assert pm.stat("analysis.event").last == pytest.approx(t.elapsed)
    assert pm.stat("never.recorded").count == 0
    pm.incr(BARS_PROCESSED, 500)
    pm.incr(BARS_PROCESSED)
    assert pm.counter(BARS_PROCESSED) == 501 and pm.counter("nothing") == 0
    with pytest.raises(ValueError):
        pm.incr("")
    with timed(pm, "quality.pass"):
        pass
    with timed(None, "quality.pass"):
        pass
    assert pm.stat("quality.pass").count == 1


def test_session_and_run_aggregates():
    pm = PerformanceMetrics()
    pm.record(PROCESSOR_EVENT, 0.010)
    pm.incr(OVERRUNS_PROCESSOR, 2)
    pm.incr(BARS_PROCESSED, 390)
    pm.record(SESSION_DURATION, 1.5)
    first = pm.session_report(dt.date(2024, 1, 2), {"symbols": 3})
    assert first["session_date"] == "2024-01-02"
    assert first["stats"][PROCESSOR_EVENT]["count"] == 1
    assert first["counters"][OVERRUNS_PROCESSOR] == 2 and first["extra"] == {"symbols": 3}
    # Session figures were reset, run figures kept.
    assert pm.session_stat(PROCESSOR_EVENT).count == 0 and pm.session_counter(BARS_PROCESSED) == 0
    pm.record(PROCESSOR_EVENT, 0.030)
    pm.incr(BARS_PROCESSED, 210)
    second = pm.session_report("2024-01-03")
    assert second["stats"][PROCESSOR_EVENT]["mean"] == pytest.approx(0.030)
    assert second["counters"][BARS_PROCESSED] == 210
    assert pm.stat(PROCESSOR_EVENT).count == 2
    assert pm.stat(PROCESSOR_EVENT).mean == pytest.approx(0.020)
    assert pm.counter(BARS_PROCESSED) == 600
    report = pm.backtest_report({"final_equity": 101_000.0})
    assert report["sessions"] == 2
    assert report["counters"][BARS_PROCESSED] == 600
    assert [s["session_date"] for s in report["session_summaries"]] == ["2024-01-02", "2024-01-03"]
    assert report["session_summaries"][0]["overruns"] == 2
    assert report["session_summaries"][0]["duration_s"] == pytest.approx(1.5)
    assert report["extra"]["final_equity"] == 101_000.0
    assert [r["session_date"] for r in pm.session_reports()] == ["2024-01-02", "2024-01-03"]
    # reset=False keeps the session aggregates.
    pm.record(PROCESSOR_EVENT, 0.001)
    pm.session_report("2024-01-04", reset=False)
    assert pm.session_stat(PROCESSOR_EVENT).count == 1
    pm.reset_session()
    assert pm.session_stat(PROCESSOR_EVENT).count == 0


def test_snapshot_json_has_standard_names():
    pm = PerformanceMetrics()
    pm.record("custom.stage", 0.5)
    snap = json.loads(pm.to_json())
    for scope in ("run", "session"):
        assert set(STANDARD_STATS) <= set(snap[scope]["stats"])
        assert set(STANDARD_COUNTERS) <= set(snap[scope]["counters"])
    assert snap["run"]["stats"]["custom.stage"]["total"] == 0.5
    assert snap["run"]["stats"][PROCESSOR_EVENT]["mean"] is None
    # A session report with a date and numpy-like values in extra serialises.
    report = pm.session_report(dt.date(2024, 1, 2), {"when": dt.date(2024, 1, 2)})
    assert json.loads(json.dumps(report, default=str))["session_date"] == "2024-01-02"


def test_report_text_is_an_aligned_table():
    pm = PerformanceMetrics()
    pm.record(PROCESSOR_EVENT, 0.0025)
    pm.record(PROCESSOR_EVENT, 0.0075)
    pm.incr(BARS_PROCESSED, 42)
    text = pm.report_text("Run totals")
    lines = text.splitlines()
    assert lines[0] == "Run totals" and set(lines[1]) == {"="}
    header = next(line for line in lines if line.startswith("statistic"))
    row = next(line for line in lines if line.startswith(PROCESSOR_EVENT))
    assert row.split() == [PROCESSOR_EVENT, "2", "5.000", "7.500", "0.010"]
    assert len(row) == len(header)  # columns line up
    assert next(line for line in lines if line.startswith(BARS_PROCESSED)).split() == [BARS_PROCESSED, "42"]
    empty_row = next(line for line in lines if line.startswith("queue.load"))
    assert empty_row.split()[1:4] == ["0", "-", "-"]
    with pytest.raises(ValueError):
        pm.report_text(scope="week")
    pm.session_report("2024-01-02")
    bt = pm.backtest_report_text({"note": "ok"})
    assert "2024-01-02" in bt and "note: ok" in bt
    assert "session date: 2024-01-05" in render_report_text(pm.session_report("2024-01-05"), "S")


def test_threads_recording_concurrently_lose_nothing():
    pm = PerformanceMetrics()

    def work() -> None:
        for _ in range(2000):
            pm.record(PROCESSOR_EVENT, 0.001)
            pm.incr(BARS_PROCESSED)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pm.stat(PROCESSOR_EVENT).count == 8000
    assert pm.counter(BARS_PROCESSED) == 8000
    assert pm.stat(PROCESSOR_EVENT).total == pytest.approx(8.0)
