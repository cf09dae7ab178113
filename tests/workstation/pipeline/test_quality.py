"""DataQualityManager on its own: expected, present, gaps and missing bars per interval, the gap
list, trailing gaps, stopped runs, early closes and lunch breaks, against counts worked out here
from the calendar's minutes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workstation.pipeline.stage_harness import (
    MINUTE,
    Recorder,
    bar_time,
    local_ns,
    metrics,
    minutes,
    new_session_data,
    quality_run,
    session,
)
from workstation.events import EventBus
from workstation.pipeline.quality import DataQualityManager, slot_gaps
from workstation.pipeline.stage_events import Recount, SessionEnd, SessionStart, Stop, TrailingGaps

DAY = "2024-03-05"
DERIVED = ["5m", "60m"]


def _manager(symbols, derived=DERIVED, enabled=True, tz="America/New_York"):
    sd = new_session_data(symbols, ["1m", *derived], tz=tz)
    bus = EventBus()
    rec = Recorder(bus, ["gap", "quality"])
    manager = DataQualityManager(sd, "1m", list(derived), metrics(), bus, enabled=enabled)
    filled = []
    manager.on_gap = filled.append
    return manager, sd, rec, filled


def _rows(rows):
    return {(r["symbol"], r["interval"]): (r["expected"], r["present"], r["gaps"], r["missing"]) for r in rows}


@pytest.fixture
def normal_day():
    sess = session(DAY)
    bars = {
        "AAA": minutes(sess, skip=[("09:30", "09:32"), ("10:00", "10:05")], until="15:50"),
        "BBB": minutes(sess),
        "CCC": [],
    }
    manager, sd, rec, filled = _manager(["AAA", "BBB", "CCC"])
    rows = quality_run(manager, sd, sess, bars)
    return sess, manager, sd, rec, filled, rows


def test_rows_per_interval(normal_day):
    _, _, _, _, _, rows = normal_day
    got = _rows(rows)
    # AAA: 2 missing at the open, 5 at 10:00, 10 before the close (trailing)
    assert got["AAA", "1m"] == (390, 373, 3, 17)
    assert got["BBB", "1m"] == (390, 390, 0, 0)
    assert got["CCC", "1m"] == (390, 0, 1, 390)
    # 5m: the 09:30 bar exists (09:32-09:34), 10:00 is missing, 15:50 and 15:55 are missing
    assert got["AAA", "5m"] == (78, 75, 2, 3)
    assert got["BBB", "5m"] == (78, 78, 0, 0)
    assert got["CCC", "5m"] == (78, 0, 1, 78)
    # 60m: 7 bars (the last 15:30-16:00); all present for AAA
    assert got["AAA", "60m"] == (7, 7, 0, 0)
    assert got["CCC", "60m"] == (7, 0, 1, 7)
    assert [r["quality_pct"] for r in rows if r["symbol"] == "AAA"] == [pytest.approx(100 * 373 / 390)] * 3


def test_gap_list_and_totals(normal_day):
    sess, manager, sd, rec, filled, _ = normal_day
    day = DAY
    gaps = [(g["start_ns"], g["end_ns"], g["missing"]) for g in manager.gap_list("AAA")]
    assert gaps == [
        (local_ns(day, "09:30"), local_ns(day, "09:31"), 2),
        (local_ns(day, "10:00"), local_ns(day, "10:04"), 5),
        (local_ns(day, "15:50"), local_ns(day, "15:59"), 10),
    ]
    assert [(g["start_ns"], g["missing"]) for g in manager.gap_list("CCC")] == [(sess.open_ns, 390)]
    assert manager.gap_list("BBB") == []
    stats = manager.stats()
    assert stats["AAA"]["gaps_found"] == 3 and stats["AAA"]["missing_bars"] == 17
    assert stats["CCC"]["gaps_found"] == 1 and stats["CCC"]["missing_bars"] == 390
    assert stats["BBB"] == {"gaps_found": 0, "gaps_filled": 0, "gaps_failed": 0, "missing_bars": 0}
    # streamed-interval gaps go to the gap filler and to observers; derived ones do not
    assert [g.interval for g in filled] == ["1m"] * 4
    assert [g.interval for g in rec.of("gap")] == ["1m"] * 4


def test_run_folder_gap_rows_cover_every_interval(normal_day):
    _, manager, _, _, _, _ = normal_day
    rows = {(r["symbol"], r["interval"], r["start"]): (r["end"], r["missing"]) for r in manager.session_gap_rows}
    assert rows["AAA", "1m", local_ns(DAY, "10:00")] == (local_ns(DAY, "10:05"), 5)
    assert rows["AAA", "1m", local_ns(DAY, "15:50")] == (local_ns(DAY, "16:00"), 10)
    assert rows["AAA", "5m", local_ns(DAY, "10:00")] == (local_ns(DAY, "10:05"), 1)
    assert rows["AAA", "5m", local_ns(DAY, "15:50")] == (local_ns(DAY, "16:00"), 2)
    assert rows["CCC", "60m", local_ns(DAY, "09:30")] == (local_ns(DAY, "16:00"), 7)
    assert len(rows) == 3 + 1 + 2 + 1 + 1      # AAA 1m 3, CCC 1m 1, AAA 5m 2, CCC 5m 1, CCC 60m 1
    assert all(r["session_date"].isoformat() == DAY for r in manager.session_gap_rows)


def test_quality_is_published_per_bar_time_and_propagated(normal_day):
    _, _, sd, rec, _, _ = normal_day
    for iv in ("1m", "5m", "60m"):
        assert sd.quality("AAA", iv) == pytest.approx(100 * 373 / 390)
        assert sd.quality("CCC", iv) == 0.0
    # published as bars arrive: the first event at 09:31 (clock) shows AAA and CCC missing 09:30
    first_clock, changed, pct = rec.of("quality")[0]
    assert first_clock == local_ns(DAY, "09:31")
    assert pct[0] == 0.0 and pct[1] == 100.0


def test_a_stopped_run_is_measured_to_its_last_bar_time_without_trailing_gaps():
    sess = session(DAY)
    bars = {"AAA": minutes(sess, skip=[("09:30", "09:32"), ("10:00", "10:05")]), "BBB": minutes(sess), "CCC": []}
    manager, sd, _, _ = _manager(["AAA", "BBB", "CCC"])
    rows = _rows(quality_run(manager, sd, sess, bars, stop_after=local_ns(DAY, "11:00")))
    # bar times 09:30 .. 11:00 were processed: 91 expected (09:30-11:00 inclusive)
    assert rows["BBB", "1m"] == (91, 91, 0, 0)
    assert rows["AAA", "1m"] == (91, 84, 2, 7)
    assert rows["CCC", "1m"] == (91, 0, 0, 0)            # no trailing gap when stopped
    assert rows["AAA", "5m"] == (19, 18, 1, 1)           # 09:30 .. 11:00 slots started
    assert rows["CCC", "5m"] == (19, 0, 0, 0)
    assert rows["BBB", "60m"] == (2, 2, 0, 0)            # 09:30 and 10:30 started by 11:01
    assert manager.gap_list("CCC") == []


def test_early_close_counts_the_short_last_bar():
    sess = session("2024-11-29")
    assert sess.early_close
    manager, sd, _, _ = _manager(["AAA"], derived=["15m", "60m"])
    rows = _rows(quality_run(manager, sd, sess, {"AAA": minutes(sess, until="12:45")}))
    assert rows["AAA", "1m"] == (210, 195, 1, 15)
    assert rows["AAA", "15m"] == (14, 13, 1, 1)
    # 09:30, 10:30, 11:30, 12:30-13:00 (a short last bar): 4 expected, all present
    assert rows["AAA", "60m"] == (4, 4, 0, 0)


def test_a_gap_across_the_lunch_break_does_not_count_the_break():
    tz = "Asia/Hong_Kong"
    sess = session("2024-10-28", "XHKG")
    day = "2024-10-28"
    bars = {"HKA": minutes(sess, skip=[("11:55", "12:00"), ("13:00", "13:05")], tz=tz), "HKB": minutes(sess, tz=tz)}
    manager, sd, _, _ = _manager(["HKA", "HKB"], derived=["60m"], tz=tz)
    rows = _rows(quality_run(manager, sd, sess, bars))
    assert rows["HKB", "1m"] == (330, 330, 0, 0)
    assert rows["HKA", "1m"] == (330, 320, 1, 10)
    assert rows["HKA", "60m"] == (6, 6, 0, 0)
    (gap,) = manager.gap_list("HKA")
    assert (gap["start_ns"], gap["end_ns"], gap["missing"]) == (local_ns(day, "11:55", tz), local_ns(day, "13:04", tz), 10)
    assert sd.quality("HKB", "1m") == 100.0


def test_disabled_quality_measures_nothing():
    sess = session(DAY)
    manager, sd, rec, filled = _manager(["AAA"], enabled=False)
    rows = quality_run(manager, sd, sess, {"AAA": minutes(sess, skip=[("10:00", "10:30")])})
    assert all(r["quality_pct"] == 100.0 and r["gaps"] == 0 and r["missing"] == 0 for r in rows)
    assert {r["interval"]: r["present"] for r in rows}["5m"] == 72    # bars are still counted
    assert filled == [] and rec.of("gap") == [] and manager.session_gap_rows == []


def test_next_session_starts_clean(normal_day):
    sess, manager, sd, _, _, _ = normal_day
    nxt = session("2024-03-06")
    sd.clear_session()
    rows = _rows(quality_run(manager, sd, nxt, {"AAA": minutes(nxt), "BBB": minutes(nxt), "CCC": minutes(nxt)}))
    assert all(v == (390, 390, 0, 0) for k, v in rows.items() if k[1] == "1m")
    assert manager.gap_list("AAA") == []
    assert manager.stats()["AAA"]["gaps_found"] == 3             # totals are for the run


@pytest.mark.parametrize(("present", "n", "trailing", "expected"), [
    ([], 5, True, [(0, 4)]),
    ([], 0, True, []),
    ([], 5, False, []),
    ([0, 1, 2], 3, True, []),
    ([2], 5, True, [(0, 1), (3, 4)]),
    ([2], 5, False, [(0, 1)]),
    ([0, 4], 5, True, [(1, 3)]),
    ([1, 3], 6, True, [(0, 0), (2, 2), (4, 5)]),
])
def test_slot_gaps(present, n, trailing, expected):
    assert slot_gaps(np.array(present, dtype=np.int64), n, trailing) == expected


def test_quality_at_the_close_counts_minutes_no_symbol_had():
    """Every symbol stops at 15:00: the session's quality is measured to the close, not to the last
    bar time."""
    sess = session(DAY)
    manager, sd, rec, _ = _manager(["AAA", "BBB"])
    rows = _rows(quality_run(manager, sd, sess, {"AAA": minutes(sess, until="15:00"),
                                                 "BBB": minutes(sess, until="15:30")}))
    assert rows["AAA", "1m"] == (390, 330, 1, 60) and rows["BBB", "1m"] == (390, 360, 1, 30)
    assert sd.quality("AAA", "1m") == pytest.approx(100 * 330 / 390)
    assert sd.quality("BBB", "5m") == pytest.approx(100 * 360 / 390)
    assert [r["quality_pct"] for r in manager.session_rows if r["symbol"] == "AAA"] == \
        [pytest.approx(100 * 330 / 390)] * 3
    assert rec.of("quality")[-1][0] == sess.close_ns


def test_a_stray_lunch_break_bar_does_not_fill_a_derived_bar():
    """A bar inside the lunch break (a live gap fill may bring one from a vendor's history) counts
    for no derived slot: the 11:30-12:00 60m bar of HKA stays missing."""
    tz = "Asia/Hong_Kong"
    day = "2024-10-28"
    sess = session(day, "XHKG")
    manager, sd, _, _ = _manager(["HKA"], derived=["60m"], tz=tz)
    manager.process(SessionStart(sess))
    for t in minutes(sess, skip=[("11:30", "12:00")], tz=tz):
        sd.append_bars("1m", np.array([0]), t, 1.0, 1.0, 1.0, 1.0, 1.0)
        manager.process(bar_time(t, np.array([0])))
    sd.insert_bar("HKA", "1m", local_ns(day, "12:30", tz), 1.0, 1.0, 1.0, 1.0, 1.0)
    manager.process(SessionEnd(sess, False))
    rows = _rows(manager.session_rows)
    assert rows["HKA", "60m"] == (6, 5, 1, 1)


def test_no_quality_event_while_nothing_changes():
    sess = session(DAY)
    manager, sd, rec, _ = _manager(["BBB"])
    quality_run(manager, sd, sess, {"BBB": minutes(sess)})
    assert rec.of("quality") == []                         # 100 % from the first bar to the close
    assert sd.quality("BBB", "1m") == 100.0


def test_a_run_stopped_before_its_first_bar_time_expects_nothing():
    """... and does not carry the previous session's quality over."""
    manager, sd, rec, _ = _manager(["AAA", "BBB"])
    before = session("2024-03-04")
    quality_run(manager, sd, before, {"AAA": minutes(before, until="12:00")})
    sd.clear_session()
    sess = session(DAY)
    rows = quality_run(manager, sd, sess, {"AAA": minutes(sess)}, stop_after=sess.open_ns - MINUTE)
    assert {(r["interval"], r["expected"], r["present"], r["gaps"]) for r in rows} == \
        {("1m", 0, 0, 0), ("5m", 0, 0, 0), ("60m", 0, 0, 0)}
    assert all(r["quality_pct"] == 100.0 for r in rows)


def test_a_run_stopped_after_its_first_bar_time():
    sess = session(DAY)
    manager, sd, _, _ = _manager(["AAA", "BBB"])
    rows = _rows(quality_run(manager, sd, sess, {"AAA": minutes(sess), "BBB": minutes(sess)[1:]},
                             stop_after=sess.open_ns))
    assert rows["AAA", "1m"] == (1, 1, 0, 0) and rows["BBB", "1m"] == (1, 0, 0, 0)
    assert rows["AAA", "5m"] == (1, 1, 0, 0) and rows["AAA", "60m"] == (1, 1, 0, 0)


def test_live_trailing_gaps_then_session_end_lists_each_gap_once():
    """Live: the coordinator asks for trailing gaps (to fill them) before the session ends; the end
    does not add them again. Disabled quality finds none."""
    sess = session(DAY)
    manager, sd, _, filled = _manager(["AAA"])
    manager.process(SessionStart(sess))
    for t in minutes(sess, until="15:00"):
        sd.append_bars("1m", np.array([0]), t, 1.0, 1.0, 1.0, 1.0, 1.0)
        manager.process(bar_time(t, np.array([0])))
    manager.process(TrailingGaps(sess.close_ns))
    assert [(g.start_ns, g.missing) for g in filled] == [(local_ns(DAY, "15:00"), 60)]
    manager.process(SessionEnd(sess, False))
    assert len(manager.gap_list("AAA")) == 1 and len(filled) == 1
    assert _rows(manager.session_rows)["AAA", "1m"] == (390, 330, 1, 60)
    off, sd2, _, filled2 = _manager(["AAA"], enabled=False)
    off.process(SessionStart(sess))
    off.process(TrailingGaps(sess.close_ns))
    assert filled2 == [] and off.gap_list("AAA") == []


def test_live_recount_after_bars_were_inserted():
    """Live gap fills insert bars into SessionData; a recount makes the quality see them."""
    sess = session(DAY)
    manager, sd, _, _ = _manager(["AAA"])
    manager.process(SessionStart(sess))
    times = minutes(sess, skip=[("10:00", "10:10")], until="11:00")
    for t in times:
        sd.append_bars("1m", np.array([0]), t, 1.0, 1.0, 1.0, 1.0, 1.0)
        manager.process(bar_time(t, np.array([0])))
    assert sd.quality("AAA", "1m") == pytest.approx(100 * 80 / 90)
    for t in range(local_ns(DAY, "10:00"), local_ns(DAY, "10:10"), MINUTE):
        sd.insert_bar("AAA", "1m", t, 1.0, 1.0, 1.0, 1.0, 1.0)
    manager.process(Recount(local_ns(DAY, "11:00")))
    assert sd.quality("AAA", "1m") == 100.0


def test_threaded_quality_hands_the_bar_time_on_after_publishing_and_never_hangs():
    """In its own thread: a bar time goes to its output only after its quality is published, with
    the duty to acknowledge it; a bar time it fails on is acknowledged by the quality manager itself."""
    import threading

    from workstation.pipeline.subscription import StreamSubscription

    sess = session(DAY)
    manager, sd, _, _ = _manager(["AAA"])
    seen = []
    got = threading.Event()

    class Next:
        def pass_on(self, event, ack):
            seen.append((event.start_ns, sd.quality("AAA", "1m"), ack))
            got.set()

        def call(self, event):
            raise AssertionError("a bar time is handed on, not waited for")

    manager.output = Next()
    cycle = StreamSubscription("bar time")
    done = StreamSubscription("call")
    manager.start()
    try:
        done.start_cycle()
        manager.submit(SessionStart(sess), done)
        assert done.wait_until_ready(5.0)
        t = local_ns(DAY, "09:31")                     # 09:30 missing: 50 % at 09:32
        sd.append_bars("1m", np.array([0]), t, 1.0, 1.0, 1.0, 1.0, 1.0)
        manager.submit(bar_time(t, np.array([0])), cycle)
        assert got.wait(5.0)
        assert seen == [(t, 50.0, cycle)]
        cycle.start_cycle()
        manager.submit(bar_time(t + MINUTE, np.array([7])), cycle)     # no such symbol: fails
        assert cycle.wait_until_ready(5.0)
        assert manager.error is not None and len(seen) == 1
    finally:
        manager.submit(Stop())
        manager.join(5.0)
    assert not manager.is_alive()


def test_every_event_is_timed_as_quality_pass():
    sess = session(DAY)
    sd = new_session_data(["AAA"], ["1m"])
    m = metrics()
    manager = DataQualityManager(sd, "1m", [], m, EventBus())
    quality_run(manager, sd, sess, {"AAA": minutes(sess, until="09:40")})
    assert m.stat("quality.pass").count == 12             # start, 10 bar times, end
