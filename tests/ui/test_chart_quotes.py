"""The chart's bid/ask band: a run that streams quote bars draws, for each shown 1m bar, the bid and
ask close of the store's quote bar of that minute (NaN where none), and the read-out shows the spread."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.workstation.execution.test_quote_fills import _quote_frame
from workstation.store import BarStore, generate_demo
from workstation.store.importer import import_files


@pytest.fixture(scope="module")
def quote_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui_quotes") / "store"
    generate_demo(root, symbols=2, days=5, seed=11)
    frame = _quote_frame(root)
    path = root.parent / "quotes.csv"
    frame.to_csv(path, index=False)
    import_files([path], BarStore(root), kind="quotes")
    return root


def _config(tmp_path, store, quotes: bool):
    cfg = {"name": "quote band", "symbols": ["ACME", "BOLT"],
           "streams": {"derived": ["5m"], "indicators": [], "quotes": quotes},
           "backtest": {"start_date": "2024-12-04", "end_date": "2024-12-04"},
           "historical": {"trailing_days": 0, "warmup_bars": 0},
           "risk": {"min_quality_pct": 0}, "data_source": {"store_path": str(store)}}
    path = tmp_path / f"band_{quotes}.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


@pytest.mark.parametrize("symbol", ["BOLT"])
def test_the_chart_draws_the_bid_ask_band_of_the_shown_bars(qtbot, ui_make_window, tmp_path, quote_store, symbol):
    w = ui_make_window()
    w.load_config(_config(tmp_path, quote_store, quotes=True))
    panel = w.chart_panels[0]
    panel.set_current_symbol(symbol)
    with qtbot.waitSignal(w.bridge.finished, timeout=30_000):
        w.play_action.trigger()
    qtbot.wait(50)
    chart = panel.chart
    ts = chart.bar_arrays()[0]
    assert len(ts) > 300
    quotes = pd.read_parquet(quote_store / "quotes" / "interval=1m")
    quotes = quotes[quotes["symbol"] == symbol]
    by_ts = dict(zip(quotes["timestamp"].dt.tz_convert("UTC").astype("int64"),
                     zip(quotes["bid_close"], quotes["ask_close"], strict=True), strict=True))
    expected_bid = np.array([by_ts.get(int(t), (np.nan, np.nan))[0] for t in ts])
    expected_ask = np.array([by_ts.get(int(t), (np.nan, np.nan))[1] for t in ts])
    assert np.isnan(expected_bid).sum() > 10          # BOLT lacks every 9th minute's quote bar
    np.testing.assert_array_equal(chart.quote_band.bid, expected_bid)
    np.testing.assert_array_equal(chart.quote_band.ask, expected_ask)
    last = len(ts) - 1
    if np.isfinite(expected_bid[last]):
        assert f"Spread {expected_ask[last] - expected_bid[last]:.2f}" in chart.readout_text()
    # the 5m chart and a run without quote bars draw none
    panel.set_current_interval("5m")
    assert len(chart.quote_band.bid) == 0


def test_no_band_without_streamed_quotes(qtbot, ui_make_window, tmp_path, quote_store):
    w = ui_make_window()
    w.load_config(_config(tmp_path, quote_store, quotes=False))
    with qtbot.waitSignal(w.bridge.finished, timeout=30_000):
        w.play_action.trigger()
    qtbot.wait(50)
    chart = w.chart_panels[0].chart
    assert chart.bar_count > 300 and len(chart.quote_band.bid) == 0 and "Spread" not in chart.readout_text()
