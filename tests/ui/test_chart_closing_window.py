"""The session-close rule's window on the chart (risk.flatten_before_close_minutes): the bars from each
session's flatten time to its regular close are shaded as "closing" (kind 3), with the extended-hours
shading around them; the bridge gives the windows of the run's sessions from the calendar. Checked against
pandas-market-calendars' closes (the early close of 2024-11-29 too) and on the painted pixels."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pandas_market_calendars as mcal  # noqa: E402

from tests.ui.test_chart_extended_hours import (  # noqa: E402
    SCHEDULE,
    _extended_bars,
    classed_chart,
    grabs_before_and_after,
    tinted,
)

MIN = 60_000_000_000


def _windows(minutes: int):
    closes = pd.DatetimeIndex(SCHEDULE["market_close"]).as_unit("ns").asi8
    return closes - minutes * MIN, closes


def test_bars_in_the_last_minutes_before_each_close_are_the_closing_window(qtbot):
    chart, bars, ts, expected = classed_chart(qtbot)
    chart.set_closing_windows(_windows(30))
    for _, r in SCHEDULE.iterrows():
        expected[(ts >= r["market_close"] - pd.Timedelta(minutes=30)) & (ts < r["market_close"])] = 3
    np.testing.assert_array_equal(chart.session_shading.outside(bars[0]), expected)
    # the early close: its window is 12:30-13:00 New York
    early = ts[expected == 3].tz_convert("America/New_York")
    assert {(t.hour, t.minute) for t in early if t.day == 29} == {(12, 30), (12, 45)}
    bands = chart.session_shading.bands(-10, len(ts) + 10)
    assert [kind for *_, kind in bands] == [1, 3, 2] * len(SCHEDULE)
    # a regular-hours chart: the window alone
    chart.set_regular_hours(None)
    only = chart.session_shading.outside(bars[0])
    np.testing.assert_array_equal(only, np.where(expected == 3, 3, 0))
    chart.set_closing_windows(None)
    assert chart.session_shading.bands(-10, len(ts) + 10) == []


def test_the_closing_window_is_tinted_on_screen(qtbot, tmp_path):
    bars = _extended_bars()
    ts = pd.to_datetime(bars[0], utc=True)
    regular = np.zeros(len(ts), dtype=bool)          # a regular-hours run's bars: pre and post dropped
    for _, r in SCHEDULE.iterrows():
        regular |= (ts >= r["market_open"]) & (ts < r["market_close"])
    bars = tuple(np.asarray(col)[regular] for col in bars)
    chart, plain, shaded = grabs_before_and_after(qtbot, tmp_path, bars, lambda c: c.set_closing_windows(_windows(60)),
                                                  "closing_window_chart.png")
    kinds = chart.session_shading.outside(bars[0])
    closing, regular_bar = int(np.flatnonzero(kinds == 3)[1]), int(np.flatnonzero(kinds == 0)[3])
    assert tinted(chart, plain, shaded, closing) and not tinted(chart, plain, shaded, regular_bar)


def test_the_bridge_gives_the_closing_windows_of_the_runs_sessions(qtbot, tmp_path, ui_demo_store):
    from tests.ui.conftest import UI_END, UI_START, ui_config_dict
    from ui.bridge import EngineBridge

    bridge = EngineBridge(runs_dir=tmp_path / "runs")
    try:
        plain = tmp_path / "plain.json"
        plain.write_text(json.dumps(ui_config_dict(ui_demo_store)), encoding="utf-8")
        bridge.load_config(plain)
        assert bridge.closing_windows() is None
        raw = ui_config_dict(ui_demo_store)
        raw["risk"] = {"flatten_before_close_minutes": 5}
        ruled = tmp_path / "ruled.json"
        ruled.write_text(json.dumps(raw), encoding="utf-8")
        bridge.load_config(ruled)
        starts, ends = bridge.closing_windows()
        closes = pd.DatetimeIndex(mcal.get_calendar("XNYS").schedule(UI_START, UI_END)["market_close"]).as_unit("ns").asi8
        np.testing.assert_array_equal(ends, closes)
        np.testing.assert_array_equal(starts, closes - 5 * MIN)
    finally:
        bridge.shutdown(1.0)
