"""The results tables' numpy sort/filter proxy, lazily formatted texts and sampled column widths
(pytest-qt, offscreen): the same rows in the same order as QSortFilterProxyModel, the same texts as
formatting every cell up front, and a big run shown without formatting every cell."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFontMetrics

from ui import theme
from ui.windows.frame_table import (
    SORT_ROLE,
    ColumnData,
    ColumnSortProxy,
    FrameTableModel,
    LazyCells,
    all_texts,
    fit_columns,
    make_table,
    merge_accepted,
    sort_ranks,
)
from ui.windows.results_view import ResultsView, _gap_columns, _trade_columns
from workstation.execution.results import equity_frame
from workstation.report.formatting import fmt_money, fmt_pct, fmt_qty
from workstation.report.formatting import price_decimals as _price_decimals

ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
TZ = "America/New_York"
MIN = 60_000_000_000


def synthetic_trades(n: int, seed: int = 3) -> pd.DataFrame:
    """Trades with many ties (few symbols, prices on a coarse grid, shared bar times), zero P&L,
    fractional quantities and zero entry prices (a NaN return)."""
    rng = np.random.default_rng(seed)
    t0 = int(pd.Timestamp("2024-03-04 14:30", tz="UTC").value)
    entry_ns = t0 + rng.integers(0, 5 * 390, n) * MIN
    qty = rng.choice([100.0, -100.0, 200.0, -50.0, 12.5, 0.3333], n)
    entry = np.round(rng.choice([0.0, 10.0, 20.5, 99.99, 150.0, 1234.5], n), 2)
    exit_ = np.round(entry * rng.choice([0.99, 1.0, 1.01], n), 2)
    pnl = np.round((exit_ - entry) * qty, 2)
    pnl[rng.random(n) < 0.05] = 1_234_567.89
    return pd.DataFrame({
        "symbol": pd.Series(rng.choice(["ACME", "BOLT", "acme", "Zed", "CYRX"], n), dtype="string"),
        "quantity": qty,
        "entry_time": pd.to_datetime(entry_ns, utc=True),
        "entry_price": entry,
        "exit_time": pd.to_datetime(entry_ns + rng.integers(1, 200, n) * MIN, utc=True),
        "exit_price": exit_,
        "pnl": pnl,
        "commission": np.ones(n),
        "strategy": pd.Series(rng.choice(["sma_5_20", "rsi_15m", "Manual"], n), dtype="string"),
    })


def eager_texts(trades: pd.DataFrame, tz: str) -> list[list[str]]:
    """The trade table's texts as the code before formatted every cell up front (strftime, fmt_*)."""
    qty = trades["quantity"].to_numpy(dtype=np.float64)
    entry = trades["entry_price"].to_numpy(dtype=np.float64)
    exit_ = trades["exit_price"].to_numpy(dtype=np.float64)
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(np.abs(qty) * entry > 0, pnl / (np.abs(qty) * entry) * 100.0, np.nan)
    decimals = _price_decimals(np.concatenate([entry, exit_]))
    time_fmt = "%b %d %H:%M"
    return [
        trades["symbol"].astype(str).tolist(),
        ["Long" if q > 0 else "Short" for q in qty],
        [fmt_qty(abs(q)) for q in qty],
        list(pd.DatetimeIndex(trades["entry_time"]).tz_convert(tz).strftime(time_fmt)),
        [f"{p:,.{decimals}f}" for p in entry],
        list(pd.DatetimeIndex(trades["exit_time"]).tz_convert(tz).strftime(time_fmt)),
        [f"{p:,.{decimals}f}" for p in exit_],
        [fmt_money(v) for v in pnl],
        [fmt_pct(v) for v in ret],
        trades["strategy"].astype(str).tolist(),
    ]


def colour_name(c: QColor | None) -> str | None:
    return None if c is None else c.name()


def shown(proxy) -> list[int]:
    return [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]


def qt_proxy(model: FrameTableModel) -> QSortFilterProxyModel:
    """The reference: the QSortFilterProxyModel the results view used before. Its rows are read once,
    as the view attached to it does at once (a proxy never read before its first sort orders the ties
    of a descending sort differently)."""
    proxy = QSortFilterProxyModel()
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setFilterKeyColumn(-1)
    proxy.setSourceModel(model)
    proxy.rowCount()
    return proxy


# ------------------------------------------------------------------------------ sort order


def mixed_columns(n: int, seed: int) -> list[ColumnData]:
    """Columns of every key kind the proxy ranks, with heavy ties: text (list and numpy), float with
    -inf and None, int ns (numpy), small ints, and a text column with None."""
    rng = np.random.default_rng(seed)
    words = rng.choice(["b", "B", "a", "ab", "Ab", "", "zz", "\u00e9t\u00e9"], n)
    floats = rng.choice([1.5, -2.0, 0.0, -0.0, 3.25, -math.inf, math.inf], n).tolist()
    floats = [None if rng.random() < 0.1 else f for f in floats]
    ns = (1_700_000_000_000_000_000 + rng.integers(0, 12, n) * MIN).astype(np.int64)
    small = rng.integers(-3, 4, n).tolist()
    maybe = [None if rng.random() < 0.2 else str(w) for w in rng.choice(["x", "y", "Y"], n)]
    return [
        ColumnData("word", words.tolist(), [f"w:{w}" for w in words], numeric=False),
        ColumnData("word np", words, [str(w).upper() for w in words], numeric=False),
        ColumnData("float", floats, [str(f) for f in floats]),
        ColumnData("ns", ns, LazyCells(ns.tolist(), lambda v: f"t{(v // MIN) % 100}")),
        ColumnData("small", small, [f"{s:+d}" for s in small]),
        ColumnData("maybe", maybe, [m or "-" for m in maybe], numeric=False),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sorts_and_filters_give_qt_proxys_rows_in_qts_order(qtbot, seed):
    """Random sequences of sorts (every column, both directions, from whatever order the rows are in)
    and filter changes give exactly the rows, in exactly the order, QSortFilterProxyModel gives."""
    model = FrameTableModel()
    model.set_columns(mixed_columns(300, seed))
    ours, reference = ColumnSortProxy(), qt_proxy(model)
    ours.setSourceModel(model)
    rng = np.random.default_rng(seed)
    filters = ["", "w:a", "A", "b", "+1", "-", "t1", "x", "zz", "", "é", "W:B"]
    assert shown(ours) == shown(reference)
    for step in range(80):
        if rng.random() < 0.3:
            text = str(rng.choice(filters))
            ours.setFilterFixedString(text)
            reference.setFilterFixedString(text)
        else:
            column, order = int(rng.integers(-1, model.columnCount())), ASC if rng.random() < 0.5 else DESC
            ours.sort(column, order)
            reference.sort(column, order)
        assert shown(ours) == shown(reference), f"step {step}"
    model.set_columns(mixed_columns(200, seed + 10))  # a reset keeps sort and filter, as Qt's does
    assert shown(ours) == shown(reference)


def test_every_trade_column_sorts_as_qt_both_directions(qtbot):
    model = FrameTableModel()
    model.set_columns(_trade_columns(synthetic_trades(400), TZ))
    for column in range(model.columnCount()):
        for order in (ASC, DESC, ASC):
            ours, reference = ColumnSortProxy(), qt_proxy(model)
            ours.setSourceModel(model)
            for proxy in (ours, reference):
                proxy.sort(3, ASC)  # the view's initial order
                proxy.sort(column, order)
            assert shown(ours) == shown(reference), (column, order)
            assert [ours.index(r, column).data(SORT_ROLE) for r in range(0, 400, 37)] == [
                reference.index(r, column).data(SORT_ROLE) for r in range(0, 400, 37)]


def test_the_trade_filter_matches_qt_on_every_column(qtbot):
    """Filter texts that hit symbols, sides, times, prices, money and percentages (the per-column
    alphabets must not skip a column that holds the text)."""
    model = FrameTableModel()
    model.set_columns(_trade_columns(synthetic_trades(400), TZ))
    ours, reference = ColumnSortProxy(), qt_proxy(model)
    ours.setSourceModel(model)
    for proxy in (ours, reference):
        proxy.sort(7, DESC)
    for text in ("acme", "LONG", "mar 05", "10:3", "$1,234,567", "\u2212$", "%", "+", "20.50", "0.333",
                 "\u2014", "e", "sma", "", "1"):
        ours.setFilterFixedString(text)
        reference.setFilterFixedString(text)
        assert shown(ours) == shown(reference), text


def test_alphabets_hold_every_character_of_their_columns_texts():
    for column in _trade_columns(synthetic_trades(600), TZ):
        if column.alphabet is not None:
            assert set("".join(all_texts(column.texts)).lower()) <= set(column.alphabet), column.title


def test_sort_ranks_order_nan_below_numbers_and_none_last():
    assert sort_ranks(np.array([2.0, np.nan, -np.inf, 2.0])).tolist() == [2, 0, 1, 2]
    assert sort_ranks([3, None, -1, 3]).tolist() == [1, 2, 0, 1]
    assert sort_ranks(["b", None, "B", "a"]).tolist() == [2, 3, 0, 1]  # code point order: "B" < "a"
    assert sort_ranks(np.array([1_700_000_000_000_000_001, 1_700_000_000_000_000_000])).tolist() == [1, 0]
    with pytest.raises(TypeError, match="all numbers or all text"):
        sort_ranks([1, "a"])


def test_merge_places_rows_let_in_again_as_qt_does():
    keys = np.array([0, 1, 1, 2, 1, 0, 3])
    # shown 0,1,3 (keys 0,1,2); let in 2,4 (key 1), 5 (key 0), 6 (key 3): 5 goes after the shown 0
    # (upper bound) and takes 2 and 4 with it (keys <= the next shown key 1)
    assert merge_accepted(np.array([0, 1, 3]), np.array([2, 4, 5, 6]), keys).tolist() == [0, 5, 2, 4, 1, 3, 6]


def test_sorting_keeps_the_selected_row_selected(qtbot):
    model = FrameTableModel()
    model.set_columns(_trade_columns(synthetic_trades(50), TZ))
    table, proxy = make_table(model, 3, ASC)
    qtbot.addWidget(table)
    table.selectRow(7)
    source = proxy.mapToSource(table.currentIndex()).row()
    table.sortByColumn(7, DESC)
    assert proxy.mapToSource(table.selectionModel().selectedRows()[0]).row() == source
    assert proxy.headerData(7, Qt.Orientation.Horizontal) == "P&L \u25be"


def test_the_sorted_title_shows_one_direction_not_the_styles_arrow_beside_it(qtbot, ui_themed):
    """The title carries the sort direction as text ("P&L ▾"); the style's own sort arrow was drawn over
    a right-aligned title's end too (the sweep window: "Sharpe ★ ▾" with Fusion's up arrow, the other way
    round, over it). The header paints the same with the style's indicator on as with it off."""
    model = FrameTableModel()
    model.set_columns(_trade_columns(synthetic_trades(50), TZ))
    table, proxy = make_table(model, 7, DESC)
    qtbot.addWidget(table)
    table.resize(900, 300)
    table.show()
    qtbot.waitExposed(table)
    header = table.horizontalHeader()
    assert proxy.headerData(7, Qt.Orientation.Horizontal) == "P&L \u25be"
    assert header.isSortIndicatorShown() and header.sortIndicatorSection() == 7
    shown = header.grab().toImage()
    header.setSortIndicatorShown(False)
    hidden = header.grab().toImage()
    assert shown == hidden


# ------------------------------------------------------------------------------ lazy texts


def test_lazy_texts_and_colours_equal_the_eagerly_formatted_ones():
    trades = synthetic_trades(500)
    columns = _trade_columns(trades, TZ)
    assert [all_texts(c.texts) for c in columns] == eager_texts(trades, TZ)
    qty, pnl = trades["quantity"].to_numpy(), trades["pnl"].to_numpy()
    up, down = QColor(theme.UP).name(), QColor(theme.DOWN).name()
    assert [colour_name(columns[1].colours[i]) for i in range(len(trades))] == [up if q > 0 else down for q in qty]
    assert [colour_name(columns[7].colours[i]) for i in range(len(trades))] == [
        None if abs(p) < 1e-12 else up if p > 0 else down for p in pnl]
    assert columns[8].sort_keys[np.flatnonzero(trades["entry_price"].to_numpy() == 0)[0]] == -math.inf


def test_lazy_cells_format_once_per_cell_and_on_demand():
    calls = []
    cells = LazyCells([1.0, 2.0, 3.0], lambda v: calls.append(v) or f"{v:.1f}")
    assert cells[1] == "2.0" and cells[1] == "2.0" and calls == [2.0] and cells.made() == 1
    assert cells.all() == ["1.0", "2.0", "3.0"] and calls == [2.0, 1.0, 3.0] and cells[0:2] == ["1.0", "2.0"]


def test_gap_times_are_formatted_as_strftime_would():
    start = pd.to_datetime(["2024-03-04 14:31", "2024-11-05 20:59"], utc=True)
    gaps = pd.DataFrame({"session_date": ["", ""], "symbol": ["A", "B"], "interval": ["1m", "5m"],
                         "start": start, "end": start + pd.Timedelta(minutes=3), "missing": [3, 1],
                         "status": ["", ""]})
    columns = _gap_columns(gaps, TZ)
    local = start.tz_convert(TZ)
    assert all_texts(columns[0].texts) == list(local.strftime("%b %d %H:%M"))
    assert all_texts(columns[1].texts) == list((local + pd.Timedelta(minutes=3)).strftime("%H:%M"))


# ------------------------------------------------------------------------------ a big run


def write_run(run_dir: Path, trades: pd.DataFrame) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"name": "big", "timezone": TZ, "symbols": ["ACME"],
                                                     "execution": {"starting_cash": 1e7}}))
    trades.to_parquet(run_dir / "trades.parquet", index=False)
    t = int(pd.Timestamp("2024-03-04 14:30", tz="UTC").value) + np.arange(5 * 390) * MIN
    eq = 1e7 + np.cumsum(np.sin(np.arange(len(t)) / 50.0)) * 100
    equity_frame(t, eq, eq, np.zeros(len(t)), np.zeros(len(t))).to_parquet(run_dir / "equity.parquet", index=False)
    return run_dir


def test_a_big_run_shows_its_first_rows_and_totals_without_formatting_every_cell(qtbot, tmp_path):
    trades = synthetic_trades(6000, seed=9)
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    view.load_run_folder(write_run(tmp_path / "big", trades))
    view.repaint()
    proxy, n = view.trade_proxy, len(trades)
    assert proxy.rowCount() == view.trade_model.rowCount() == n and view.trade_count_label.text() == "6,000"
    loaded = view.results.trades  # sorted by entry time, symbol as load_run sorts
    expected = loaded.sort_values("entry_time", kind="mergesort")
    eager = eager_texts(loaded, TZ)
    for r in range(5):
        source = proxy.mapToSource(proxy.index(r, 0)).row()
        assert source == expected.index[r]
        assert [proxy.index(r, c).data() for c in range(10)] == [eager[c][source] for c in range(10)]
    columns = view.trade_model.columns()
    assert 0 < columns[7].texts.made() < n // 10  # only the drawn (and width-sampled) cells
    qtbot.keyClicks(view.trade_filter, "ACME")
    assert view.trade_count_label.text() == f"{(loaded['symbol'].str.contains('acme', case=False)).sum():,} of 6,000"
    assert columns[7].texts.made() < n // 10  # the money column cannot hold letters: not formatted
    assert view.stat_cards["trades"].value.text() == "6,000"
    per_symbol = view.symbol_model.columns()
    assert [c.title for c in per_symbol] == ["Symbol", "Net P&L", "Trades", "Win %"]
    assert sum(per_symbol[2].sort_keys) == n
    assert sum(per_symbol[1].sort_keys) == pytest.approx(loaded["pnl"].sum())


def test_columns_are_wide_enough_for_the_widest_text_anywhere(qtbot):
    trades = synthetic_trades(3000, seed=4)
    trades["pnl"] = trades["pnl"].clip(-999, 999)
    trades.loc[1500, "pnl"] = -98_765_432_109.1  # the widest P&L, in the middle of the entry-time order
    trades.loc[1700, "symbol"] = "VERYLONGSYMBOLNAME"
    model = FrameTableModel()
    model.set_columns(_trade_columns(trades, TZ))
    table, proxy = make_table(model, 3, ASC)
    qtbot.addWidget(table)
    table.resize(1400, 600)
    table.show()
    qtbot.waitExposed(table)
    fit_columns(table)
    assert model.columns()[7].texts.made() < 1000  # a sample, not every row
    metrics = QFontMetrics(table.font())
    header = table.horizontalHeader()
    for column in (0, 7):
        widest = max(metrics.horizontalAdvance(t) for t in all_texts(model.columns()[column].texts))
        assert header.sectionSize(column) >= widest + 14, column


# ------------------------------------------------------------------------------ reading off the UI thread


def test_a_run_folder_read_in_the_background_is_shown_when_read(qtbot, tmp_path, monkeypatch):
    import threading

    import ui.windows.results_view as results_view

    readers = []
    real_load_run = results_view.load_run
    monkeypatch.setattr(results_view, "load_run",
                        lambda path: readers.append(threading.current_thread().name) or real_load_run(path))
    run_dir = write_run(tmp_path / "big", synthetic_trades(300))
    view = ResultsView()
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.run_folder_read, timeout=10_000) as done:
        view.read_run_folder_in_background(run_dir)
    assert done.args == [str(run_dir), ""] and readers == ["RunFolderReader"]
    assert view.results is not None and view.trade_model.rowCount() == 300
    assert view.export_button.isEnabled()

    view.clear()
    assert not view.export_button.isEnabled()   # no run shown: nothing to export
    (tmp_path / "broken").mkdir()
    with qtbot.waitSignal(view.run_folder_read, timeout=10_000) as done:
        view.read_run_folder_in_background(tmp_path / "broken")
    assert done.args[0] == str(tmp_path / "broken") and "config.json" in done.args[1]
    assert view.results is None

    view.read_run_folder_in_background(run_dir)
    view.clear("The run is playing")  # a new run started: the old read must not show its run
    qtbot.waitUntil(lambda: len(readers) == 3 and not any(
        t.name == "RunFolderReader" for t in threading.enumerate()), timeout=10_000)
    qtbot.wait(50)  # the finished read's (queued) report is delivered
    assert view.results is None and view.title_label.text() == "The run is playing"


def test_the_window_reads_a_big_finished_run_outside_the_ui_thread(qtbot, ui_make_window, ui_small_config,
                                                                   monkeypatch):
    import threading

    import ui.main_window as main_window
    import ui.windows.results_view as results_view

    readers = []
    real_load_run = results_view.load_run
    monkeypatch.setattr(results_view, "load_run",
                        lambda path: readers.append(threading.current_thread().name) or real_load_run(path))
    monkeypatch.setattr(main_window, "BACKGROUND_READ_TRADES", 1)  # the small run counts as big
    w = ui_make_window()
    w.load_config(ui_small_config)
    with qtbot.waitSignal(w.results_loaded, timeout=30_000, check_params_cb=bool) as shown_signal:
        w.play_action.trigger()
    assert readers == ["RunFolderReader"]
    assert shown_signal.args == [str(w.bridge.run_dir)] and w.results_dock.isVisible()
    assert w.results_view.results is not None and w.results_view.trade_model.rowCount() > 0
