"""Extended-hours shading of the chart: bars outside the regular session (per the calendar's regular
open and close) are tinted as pre-market or post-market; regular hours (no hours given) tint nothing.
Checked against pandas-market-calendars' own pre/open/close/post times and on the painted pixels."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pandas_market_calendars as mcal  # noqa: E402

from ui.widgets.chart import CandleChart  # noqa: E402

SCHEDULE = mcal.get_calendar("NYSE").schedule("2024-11-26", "2024-11-29", start="pre", end="post")


def _extended_bars(minutes: int = 15):
    """`minutes` bars from each day's pre-market start to its post-market end (11-29: early close)."""
    ts = np.concatenate([pd.date_range(r["pre"], r["post"], freq=f"{minutes}min", inclusive="left").as_unit("ns").asi8
                         for _, r in SCHEDULE.iterrows()])
    rng = np.random.default_rng(4)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.1, len(ts))), 2)
    open_ = np.concatenate([[100.0], close[:-1]])
    return ts, open_, np.maximum(open_, close) + 0.05, np.minimum(open_, close) - 0.05, close, \
        np.round(rng.lognormal(7, 0.5, len(ts)))


def _regular_hours():
    return pd.DatetimeIndex(SCHEDULE["market_open"]).as_unit("ns").asi8, \
        pd.DatetimeIndex(SCHEDULE["market_close"]).as_unit("ns").asi8


def classed_chart(qtbot):
    """(chart, bars, their starts as UTC timestamps, the calendar's kinds of them: 1 pre-market, 2
    post-market, 0 regular) of a chart showing `_extended_bars()` with the regular hours given."""
    chart = CandleChart()
    qtbot.addWidget(chart)
    bars = _extended_bars()
    chart.set_bars(*bars)
    chart.set_regular_hours(_regular_hours())
    ts = pd.to_datetime(bars[0], utc=True)
    expected = np.zeros(len(ts), dtype=np.int8)
    for _, r in SCHEDULE.iterrows():
        expected[(ts >= r["pre"]) & (ts < r["market_open"])] = 1
        expected[(ts >= r["market_close"]) & (ts < r["post"])] = 2
    return chart, bars, ts, expected


def test_bars_are_classed_by_the_calendars_hours(qtbot):
    chart, bars, ts, expected = classed_chart(qtbot)
    np.testing.assert_array_equal(chart.session_shading.outside(bars[0]), expected)
    bands = chart.session_shading.bands(-10, len(ts) + 10)
    assert [kind for *_, kind in bands] == [1, 2] * len(SCHEDULE)
    first_post = next(b for b in bands if b[2] == 2)
    assert first_post[0] == int(np.flatnonzero(expected == 2)[0]) - 0.5
    chart.set_regular_hours(None)
    assert chart.session_shading.bands(-10, len(ts) + 10) == []


def shown_chart(qtbot, bars) -> CandleChart:
    """A 1100 x 560 chart on screen showing `bars` whole."""
    chart = CandleChart()
    chart.resize(1100, 560)
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_bars(*bars)
    chart.set_title("EXA", "15m")
    chart.set_visible_range(-1, len(bars[0]))
    return chart


def tinted(chart: CandleChart, plain, shaded, bar: int) -> bool:
    """Whether the pixel above bar index `bar` (a row above the candles, below the title) differs between
    the `plain` and `shaded` grabs (QImage) of `chart`."""
    vb = chart.price.vb
    (x0, x1), _ = vb.viewRange()
    rect = vb.sceneBoundingRect()
    x, y = int(rect.left() + (bar - x0) / (x1 - x0) * rect.width()), int(rect.top() + 4)
    return shaded.pixelColor(x, y) != plain.pixelColor(x, y)


def grabs_before_and_after(qtbot, tmp_path, bars, shade, name: str):
    """(chart, plain, shaded): `bars` on screen grabbed as they are and after `shade(chart)` (QImages);
    the second saved as `name` (also in $CHART_SCREENSHOT_DIR when set)."""
    chart = shown_chart(qtbot, bars)
    plain = chart.grab().toImage()
    shade(chart)
    qtbot.wait(1)
    chart.refresh()
    image = chart.grab()
    image.save(str(tmp_path / name))
    if os.environ.get("CHART_SCREENSHOT_DIR"):
        image.save(os.path.join(os.environ["CHART_SCREENSHOT_DIR"], name))
    return chart, plain, image.toImage()


def test_pre_and_post_market_are_tinted_on_screen(qtbot, tmp_path):
    bars = _extended_bars()
    chart, plain, shaded = grabs_before_and_after(qtbot, tmp_path, bars, lambda c: c.set_regular_hours(_regular_hours()),
                                                  "extended_hours_chart.png")
    kinds = chart.session_shading.outside(bars[0])
    pre, regular = int(np.flatnonzero(kinds == 1)[3]), int(np.flatnonzero(kinds == 0)[3])
    assert tinted(chart, plain, shaded, pre) and not tinted(chart, plain, shaded, regular)


def test_the_bridge_gives_the_chart_the_regular_hours_of_an_extended_run(qtbot, tmp_path, ui_demo_store):
    """An extended-hours run: the regular open/close of the pre-run days and every session, per mcal
    (the chart shades outside them); a regular-hours run: None (nothing shaded)."""
    import json

    from tests.ui.conftest import UI_END, UI_START, ui_config_dict
    from ui.bridge import EngineBridge

    bridge = EngineBridge(runs_dir=tmp_path / "runs", chart_days_before=2)
    try:
        regular = tmp_path / "regular.json"
        regular.write_text(json.dumps(ui_config_dict(ui_demo_store)), encoding="utf-8")
        bridge.load_config(regular)
        assert bridge.regular_hours() is None
        extended = tmp_path / "extended.json"
        extended.write_text(json.dumps({**ui_config_dict(ui_demo_store), "exchange": "NYSE",
                                        "session_hours": "extended"}), encoding="utf-8")
        bridge.load_config(extended)
        opens, closes = bridge.regular_hours()
        days = mcal.get_calendar("NYSE").schedule("2024-11-01", UI_END)
        first = list(days.index).index(pd.Timestamp(UI_START)) - 2
        np.testing.assert_array_equal(opens, pd.DatetimeIndex(days["market_open"].iloc[first:]).as_unit("ns").asi8)
        np.testing.assert_array_equal(closes, pd.DatetimeIndex(days["market_close"].iloc[first:]).as_unit("ns").asi8)
    finally:
        bridge.shutdown(1.0)


def test_an_extended_run_in_the_window_says_pre_market_and_shades_the_chart(qtbot, tmp_path, ui_make_window):
    """Stepping an extended-hours run: the first bar time is 04:00 New York, the status bar says
    pre-market and the chart shades its bars."""
    import json

    from tests.ui.conftest import ui_config_dict
    from workstation.store import BarStore

    store_path = tmp_path / "ext_store"
    bars = _extended_bars(minutes=1)
    store = BarStore(store_path, create=True, exchange="NYSE")
    for symbol in ("ACME", "BOLT", "CYRX"):
        store.write_bars(pd.DataFrame({"symbol": symbol, "timestamp": pd.to_datetime(bars[0], utc=True),
                                       "open": bars[1], "high": bars[2], "low": bars[3], "close": bars[4],
                                       "volume": bars[5]}), "1m")
    config = tmp_path / "extended.json"
    cfg = {**ui_config_dict(store_path, start_date="2024-11-27", end_date="2024-11-29"), "exchange": "NYSE",
           "session_hours": "extended"}
    config.write_text(json.dumps(cfg), encoding="utf-8")
    w = ui_make_window()
    w.load_config(config)
    system = w.bridge.system
    w.step_action.trigger()
    qtbot.waitUntil(lambda: system.bars_processed > 0, timeout=30_000)
    first = pd.Timestamp(SCHEDULE.loc["2024-11-27", "pre"])
    assert system.clock.now_ns() == (first + pd.Timedelta("1min")).value
    qtbot.waitUntil(lambda: "pre-market" in w.session_label.text(), timeout=5000)
    qtbot.waitUntil(lambda: w.chart_panels[0].chart.session_shading.enabled, timeout=5000)
    with qtbot.waitSignal(w.bridge.finished, timeout=5000):
        w.stop_action.trigger()
