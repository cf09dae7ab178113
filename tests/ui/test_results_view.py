"""ResultsView / ResultsWindow on synthetic run folders (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from ui.windows.results_view import (
    NO_TRADES_TEXT,
    SORT_ROLE,
    ResultsView,
    ResultsWindow,
    fmt_money,
    fmt_pct,
)
from workstation.config.models import ExecutionConfig
from workstation.execution.broker import SimulatedBroker
from workstation.execution.results import equity_frame, trades_frame

SYMBOLS = ["ACME", "BOLT", "CYRX", "DYNA", "ECHO"]
SESSIONS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
MIN = 60_000_000_000


def build_run(
    run_dir: Path, seed: int = 14, trade_prob: float = 0.013, starting_cash: float = 100_000.0
) -> Path:
    """A realistic run folder: 5 symbols x 5 sessions of 1m GBM bars traded at random by the broker."""
    rng = np.random.default_rng(seed)
    cfg = ExecutionConfig(
        commission_per_share=0.005, commission_min=1.0, slippage_bps=1.0, starting_cash=starting_cash,
        allow_short=True, margin_multiplier=4,  # the random trader shorts and holds up to 5 x 45k
    )
    broker = SimulatedBroker(SYMBOLS, cfg)
    prices = rng.uniform(30, 250, len(SYMBOLS))
    vol = rng.uniform(0.0008, 0.0025, len(SYMBOLS))
    drift = rng.normal(0, 0.00008, len(SYMBOLS))
    hold_until = np.full(len(SYMBOLS), -1)
    owner = [""] * len(SYMBOLS)
    all_idx = np.arange(len(SYMBOLS), dtype=np.int64)
    k = 0
    for day in SESSIONS:
        open_ns = int(pd.Timestamp(f"{day} 09:30", tz="America/New_York").tz_convert("UTC").value)
        prices *= np.exp(rng.normal(0, 0.01, len(SYMBOLS)))
        for minute in range(390):
            opens = np.round(prices, 2)
            prices *= np.exp(drift + vol * rng.standard_normal(len(SYMBOLS)))
            closes = np.round(prices, 2)
            present = all_idx[rng.random(len(SYMBOLS)) > 0.01]
            broker.on_bar_time(open_ns + minute * MIN, present, opens[present], closes[present])
            waiting = {o.symbol for o in broker.pending_orders()}
            when = open_ns + (minute + 1) * MIN
            for i in present.tolist():
                pos = broker.positions[i]
                if SYMBOLS[i] in waiting:
                    continue
                if pos == 0 and rng.random() < trade_prob:
                    size = max(100.0, round(rng.uniform(15_000, 45_000) / closes[i], -2))
                    owner[i] = str(rng.choice(["sma_5_20", "rsi_15m"]))
                    broker.submit(i, size if rng.random() < 0.65 else -size, when, owner[i], closes[i])
                    hold_until[i] = k + int(rng.integers(15, 160))
                elif pos != 0 and k >= hold_until[i]:
                    broker.submit(i, -pos, when, owner[i], closes[i])
                elif pos != 0 and rng.random() < 0.004:
                    broker.submit(i, float(np.sign(pos) * 100), when, owner[i], closes[i])
            k += 1
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "name": "Demo: SMA crossover and RSI reversion",
        "mode": "backtest",
        "timezone": "America/New_York",
        "symbols": SYMBOLS,
        "backtest": {"start_date": SESSIONS[0], "end_date": SESSIONS[-1]},
        "execution": cfg.model_dump(),
    }
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    trades_frame(broker.trades).to_parquet(run_dir / "trades.parquet", index=False)
    broker.equity_curve().to_parquet(run_dir / "equity.parquet", index=False)
    return run_dir


def build_empty_run(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"name": "quiet day", "symbols": ["ACME"]}))
    trades_frame([]).to_parquet(run_dir / "trades.parquet", index=False)
    t = int(pd.Timestamp("2024-03-04 14:30", tz="UTC").value) + np.arange(30) * MIN
    eq = np.full(30, 100_000.0)
    equity_frame(t, eq, eq, np.zeros(30), np.zeros(30)).to_parquet(run_dir / "equity.parquet", index=False)
    return run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("runs") / "run1")


@pytest.fixture
def view(qtbot, run_dir) -> ResultsView:
    v = ResultsView()
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.load_run_folder(run_dir)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_view_shows_every_trade_and_the_per_symbol_table(view):
    trades = view.results.trades
    assert 30 <= len(trades) <= 120
    assert view.trade_model.rowCount() == len(trades)
    assert view.trade_proxy.rowCount() == len(trades)
    assert view.trades_stack.currentWidget() is view.trade_table
    assert view.symbol_model.rowCount() == trades["symbol"].nunique()
    assert view.trade_count_label.text() == f"{len(trades):,}"
    x, y = view.equity_curve.getData()
    assert len(x) == len(view.results.equity) and y[-1] == pytest.approx(
        view.results.equity["equity"].iloc[-1]
    )


def test_stat_cards_show_the_computed_values(view):
    s = view.results.stats
    cards = view.stat_cards
    assert cards["trades"].value.text() == str(s["trades"])
    ret = s["total_return_pct"]
    assert cards["total_return_pct"].value.text() == ("+" if ret > 0 else "\u2212") + f"{abs(ret):.2f}%"
    assert cards["final_equity"].value.text() == f"${s['final_equity']:,.2f}"
    assert cards["win_rate_pct"].value.text() == f"{s['win_rate_pct']:.1f}%"
    assert cards["max_drawdown_pct"].value.text() == f"\u2212{abs(s['max_drawdown_pct']):.2f}%"
    assert cards["sharpe"].value.text() == ("\u2212" if s["sharpe"] < 0 else "") + f"{abs(s['sharpe']):.2f}"
    # what the annualised figure stands on: one daily return per session of the equity curve
    days = pd.to_datetime(view.results.equity["time"], utc=True).dt.tz_convert("America/New_York").dt.date.nunique()
    assert days >= 2 and cards["sharpe"].caption.text() == f"{days:,} daily returns"
    assert cards["profit_factor"].value.text() == f"{s['profit_factor']:.2f}"
    assert cards["exposure_pct"].value.text() == f"{s['exposure_pct']:.1f}%"
    assert cards["avg_trade_pnl"].value.text() == fmt_money(s["avg_trade_pnl"])
    up, down = "#26a69a", "#ef5350"
    assert (up if ret > 0 else down) in cards["total_return_pct"].value.styleSheet()
    assert down in cards["max_drawdown_pct"].value.styleSheet()


def test_formatting_helpers():
    assert (
        fmt_money(1234.5) == "+$1,234.50" and fmt_money(-2.0) == "\u2212$2.00" and fmt_money(0.0) == "$0.00"
    )
    assert fmt_money(1e5, signed=False, decimals=0) == "$100,000" and fmt_money(None) == "\u2014"
    assert fmt_pct(-4.104) == "\u22124.10%" and fmt_pct(55.0, signed=False, decimals=1) == "55.0%"


def test_sorting_by_pnl_and_entry_time(view):
    table, proxy = view.trade_table, view.trade_proxy
    pnl_col = 7
    assert view.trade_model.headerData(pnl_col, Qt.Orientation.Horizontal) == "P&L"
    table.sortByColumn(pnl_col, Qt.SortOrder.AscendingOrder)
    got = [proxy.index(r, pnl_col).data(SORT_ROLE) for r in range(proxy.rowCount())]
    assert got == sorted(view.results.trades["pnl"].tolist())
    table.sortByColumn(pnl_col, Qt.SortOrder.DescendingOrder)
    top = proxy.index(0, pnl_col).data(Qt.ItemDataRole.DisplayRole)
    assert top == fmt_money(view.results.trades["pnl"].max())
    table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    symbols = [proxy.index(r, 0).data() for r in range(proxy.rowCount())]
    assert symbols == sorted(symbols)
    table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    entry = [proxy.index(r, 3).data(SORT_ROLE) for r in range(proxy.rowCount())]
    assert entry == sorted(entry, reverse=True)


def test_entry_time_is_shown_in_exchange_time(view):
    view.trade_table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    first = view.results.trades.sort_values("entry_time").iloc[0]
    local = first["entry_time"].tz_convert("America/New_York")
    assert view.trade_proxy.index(0, 3).data() == local.strftime("%b %d %H:%M")


def test_double_click_emits_trade_activated(qtbot, view):
    table, proxy = view.trade_table, view.trade_proxy
    table.sortByColumn(7, Qt.SortOrder.DescendingOrder)  # best trade first
    row = 2
    index = proxy.index(row, 1)
    table.scrollTo(index)
    best = view.results.trades.sort_values("pnl", ascending=False, kind="mergesort").iloc[row]
    rect = table.visualRect(index)
    with qtbot.waitSignal(view.trade_activated, timeout=2000) as blocker:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    symbol, entry_ns, exit_ns = blocker.args
    assert symbol == best["symbol"]
    assert entry_ns == best["entry_time"].value and exit_ns == best["exit_time"].value
    assert view.trade_region.isVisible()
    lo, hi = view.trade_region.getRegion()
    times = view.results.equity["time"]
    assert times.iloc[int(lo + 0.5)] == best["entry_time"]


def test_filter_narrows_the_trade_list(qtbot, view):
    qtbot.keyClicks(view.trade_filter, "ACME")
    expected = int((view.results.trades["symbol"] == "ACME").sum())
    assert view.trade_proxy.rowCount() == expected
    assert view.trade_count_label.text() == f"{expected:,} of {len(view.results.trades):,}"


def test_empty_run_shows_a_no_trades_state(qtbot, tmp_path):
    v = ResultsView()
    qtbot.addWidget(v)
    v.load_run_folder(build_empty_run(tmp_path / "empty"))
    v.show()
    qtbot.waitExposed(v)
    assert v.trade_model.rowCount() == 0
    assert v.trades_stack.currentWidget() is v.trades_empty
    assert v.trades_empty.title_label.text() == NO_TRADES_TEXT and v.trades_empty.title_label.isVisible()
    # its config runs no strategy (a replay config made from imported bars): the hint says so, not that
    # "the strategies" completed no round trip
    assert v.trades_empty.hint_label.text().startswith("The config runs no strategy")
    assert v.plots_stack.currentWidget() is v.plot_widget  # the (flat) equity curve is still shown
    assert v.stat_cards["trades"].value.text() == "0"
    assert v.stat_cards["win_rate_pct"].value.text() == "\u2014"
    assert v.stat_cards["total_return_pct"].value.text() == "0.00%"


def test_a_run_whose_strategies_traded_nothing_says_so(qtbot, tmp_path):
    run = build_empty_run(tmp_path / "quiet")
    config = json.loads((run / "config.json").read_text())
    config["strategies"] = [{"name": "sma", "class_path": "sma_crossover", "enabled": True},
                            {"name": "off", "class_path": "rsi_reversion", "enabled": False}]
    (run / "config.json").write_text(json.dumps(config))
    v = ResultsView()
    qtbot.addWidget(v)
    v.load_run_folder(run)
    assert v.trades_empty.hint_label.text().startswith("The strategies completed no round trip")
    config["strategies"] = [{"name": "off", "class_path": "rsi_reversion", "enabled": False}]
    (run / "config.json").write_text(json.dumps(config))
    v.load_run_folder(run)
    assert v.trades_empty.hint_label.text().startswith("The config runs no strategy")


def test_a_fresh_view_says_no_run_is_loaded(qtbot):
    v = ResultsView()
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    assert (
        v.plots_stack.currentWidget() is v.plots_empty and v.plots_empty.title_label.text() == "No run loaded"
    )
    assert v.trades_stack.currentWidget() is v.trades_empty and not v.trade_filter.isEnabled()


def test_time_axis_labels_exchange_dates_and_times(view):
    axis = view.drawdown_axis  # the chart's time axis, shared
    n = len(view.results.equity)
    axis.setRange(0, n - 1)
    values, labels = axis.ticks_and_labels(1200)
    days = [t for t in labels if t[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri")]
    assert days == ["Mon Mar 04", "Tue Mar 05", "Wed Mar 06", "Thu Mar 07", "Fri Mar 08"][: len(SESSIONS)]
    starts = [v for v, t in zip(values, labels, strict=True) if t in days]
    assert starts == [float(i) for i in view.point_times.day_starts]  # each session's first point
    intraday = [t for t in labels if t not in days]
    assert intraday and all(len(t) == 5 and t[2] == ":" for t in intraday)
    axis.setRange(0, 60)
    zoomed = axis.ticks_and_labels(1200)[1]
    assert zoomed[0] == "Mon Mar 04" and zoomed[1] in {"09:35", "09:40", "09:45", "10:00"}
    assert view.point_times.label_of(0) == "Mon Mar 04 09:30"


def test_window_opens_a_folder_and_reports_a_bad_one(qtbot, run_dir, tmp_path, monkeypatch):
    w = ResultsWindow()
    qtbot.addWidget(w)
    assert w.open_run_folder(run_dir)
    assert "Demo: SMA crossover" in w.windowTitle()
    assert w.view.trade_model.rowCount() == len(w.view.results.trades)
    messages = []
    monkeypatch.setattr("ui.windows.results_view.QMessageBox.warning", lambda *args: messages.append(args[2]))
    (tmp_path / "broken").mkdir()
    assert not w.open_run_folder(tmp_path / "broken")
    assert messages and "config.json" in messages[0]


def test_hovering_the_curve_shows_time_equity_and_drawdown(view):
    from PySide6.QtCore import QPointF

    i = 400
    y = float(view.results.equity["equity"].iloc[i])
    scene_pos = view.equity_plot.getViewBox().mapViewToScene(QPointF(i, y))
    view._on_mouse_moved(scene_pos)
    text = view.readout.text()
    local = view.results.equity["time"].iloc[i].tz_convert("America/New_York")
    assert local.strftime("%a %b %d %H:%M") in text
    assert fmt_money(y, signed=False) in text
    assert all(line.isVisible() and line.value() == i for line in view._cursor_lines)


def test_a_short_dock_scrolls_instead_of_crushing_the_chart_and_tables(qtbot, run_dir):
    """At 1280x800 the Results dock is ~370 px high: the view keeps a readable equity chart and five
    trade rows and its scroll area scrolls to them."""
    from PySide6.QtWidgets import QScrollArea

    area = QScrollArea()
    area.setWidgetResizable(True)
    v = ResultsView()
    area.setWidget(v)
    qtbot.addWidget(area)
    area.resize(1270, 370)
    v.load_run_folder(run_dir)
    area.show()
    qtbot.waitExposed(area)
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)
    assert v.plot_widget.height() >= 160  # two panes of ~80 px at least
    table = v.trade_table
    assert table.viewport().height() >= 5 * table.verticalHeader().defaultSectionSize()
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    bottom = table.mapTo(area.viewport(), table.rect().bottomLeft()).y()
    assert bottom <= area.viewport().height()  # scrolled down, the whole trade table is in view


def test_export_report_writes_the_html_report_of_the_shown_run(qtbot, run_dir, tmp_path, monkeypatch):
    v = ResultsView()
    qtbot.addWidget(v)
    assert not v.export_button.isEnabled()
    v.load_run_folder(run_dir)
    assert v.export_button.isEnabled()
    target = tmp_path / "shared" / "report.html"
    asked = []

    def save_dialog(_parent, _title, start, _filter):
        asked.append(start)
        return str(target)

    monkeypatch.setattr("ui.windows.results_view.save_file_name", save_dialog)
    with qtbot.waitSignal(v.report_exported, timeout=10_000) as signal:
        qtbot.mouseClick(v.export_button, Qt.MouseButton.LeftButton)
    assert asked == [str(run_dir / "report.html")] and signal.args == [str(target)]
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Demo: SMA crossover and RSI reversion" in html
    assert html.count("<tr>") > len(v.results.trades)  # the trade list is in it

    messages = []
    monkeypatch.setattr("ui.windows.results_view.QMessageBox.warning", lambda *args: messages.append(args[2]))
    monkeypatch.setattr("ui.windows.results_view.save_file_name",
                        lambda *_a: str(tmp_path))  # a folder: cannot be written
    v.choose_export_report()
    assert messages and "it is a folder" in messages[0]


def test_axis_titles_show_only_where_the_plot_is_tall_enough_for_them(qtbot, view):
    """In a short results dock (compact, 1280 x 800) the rotated 'Equity' title ran into 'Drawdown'."""
    from PySide6.QtGui import QFontMetrics

    from ui.windows.results_view import AXIS_TITLE_MARGIN_PX

    def title_fits(plot):
        axis = plot.getAxis("left")
        text_px = QFontMetrics(axis.label.font()).horizontalAdvance(axis.labelText)
        return plot.getViewBox().height() >= text_px + AXIS_TITLE_MARGIN_PX

    plots = (view.equity_plot, view.drawdown_plot)
    view.resize(1400, 900)
    qtbot.waitUntil(lambda: all(title_fits(p) for p in plots))
    assert all(p.getAxis("left").label.isVisible() for p in plots)
    view.set_compact(True)
    view.plot_widget.setFixedHeight(120)   # the plots' height in the docked results at 1280 x 800
    qtbot.waitUntil(lambda: not title_fits(view.drawdown_plot))
    qtbot.waitUntil(lambda: not view.drawdown_plot.getAxis("left").label.isVisible())
    for p in plots:   # every title shown fits its plot, every hidden one would not
        assert p.getAxis("left").label.isVisible() == title_fits(p)
    view.plot_widget.setMinimumHeight(0)
    view.plot_widget.setMaximumHeight(16777215)
    view.set_compact(False)
    qtbot.waitUntil(lambda: all(p.getAxis("left").label.isVisible() for p in plots))


def test_value_axis_labels_keep_a_line_apart_in_a_short_plot(qapp):
    """The compact results (1366 x 768) gave the equity axis 44 px for a $2,177 range: pyqtgraph's 500-step
    put four labels 10 px apart, one over the other (Xvfb). Labelled ticks are now at least
    LABEL_GAP_LINES text lines apart (the next 1-2-5 step), the finer step kept as a minor level; a
    tall plot keeps pyqtgraph's spacing."""
    from PySide6.QtGui import QFontMetrics

    from ui.windows.results_view import LABEL_GAP_LINES, _FormattedAxis, _next_nice_step

    axis = _FormattedAxis()
    line = QFontMetrics(axis.font()).height()
    lo, hi = 98_144.6, 100_322.5
    levels = axis.tickSpacing(lo, hi, 44.0)
    assert levels[0][0] == 1000.0 and levels[1][0] == 500.0
    assert levels[0][0] * 44.0 / (hi - lo) >= LABEL_GAP_LINES * line
    values = axis.tickValues(lo, hi, 44.0)
    assert values[0][1] == [99_000.0, 100_000.0]
    import pyqtgraph as pg

    tall = axis.tickSpacing(lo, hi, 300.0)
    assert tall == pg.AxisItem.tickSpacing(axis, lo, hi, 300.0) and tall[0][0] == 500.0
    assert [_next_nice_step(s) for s in (0.5, 1.0, 2.0, 2.5, 5.0, 250.0)] == [1.0, 2.0, 5.0, 5.0, 10.0, 500.0]


def test_open_run_folder_starts_at_the_newest_run_of_the_windows_runs_folder(tmp_path):
    """The dialog listed the runs oldest first and started in ./runs whatever --runs said; it now starts in
    the window's runs folder with the most recent run (by its config.json) selected."""
    from ui.windows.results_view import newest_run_folder

    runs = tmp_path / "runs"
    assert newest_run_folder(runs) is None                      # no such folder
    for i, name in enumerate(["b-20261206-010000", "a-20261206-020000", "c-20261205-230000"]):
        (runs / name).mkdir(parents=True)
        (runs / name / "config.json").write_text("{}")
        os.utime(runs / name / "config.json", ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    (runs / "not-a-run").mkdir()
    assert newest_run_folder(runs) == runs / "c-20261205-230000"


def test_the_statistics_cards_take_two_rows_rather_than_cut_their_titles(qtbot, run_dir):
    """In a narrow dock (the bottom dock beside the right-hand panels, ~960 px) the nine cards would
    elide their titles ("TOTAL RET…") and scroll sideways: they go on two rows; a wide view keeps one."""
    from PySide6.QtWidgets import QScrollArea

    area = QScrollArea()
    area.setWidgetResizable(True)
    v = ResultsView()
    area.setWidget(v)
    qtbot.addWidget(area)
    v.load_run_folder(run_dir)
    area.resize(960, 400)
    area.show()
    qtbot.waitExposed(area)

    def rows() -> set[int]:
        return {card.y() for card in v.stat_cards.values()}

    qtbot.waitUntil(lambda: len(rows()) == 2)
    assert area.horizontalScrollBar().maximum() == 0          # nothing to scroll sideways
    for card in v.stat_cards.values():                        # every title whole
        assert card.title.width() >= card.title.sizeHint().width(), card.title.text()
    area.resize(1500, 400)
    qtbot.waitUntil(lambda: len(rows()) == 1)
    assert [card.x() for card in v.stat_cards.values()] == sorted(card.x() for card in v.stat_cards.values())


def test_positions_open_at_the_end_are_shown_as_part_of_the_net_pnl(qtbot, tmp_path):
    """A run that ends holding a position: the Final equity card says what the open position carries
    (net P&L minus the closed trades'), the two cards' tooltips split the net P&L; a flat end says nothing."""
    run = build_empty_run(tmp_path / "holding")
    t = int(pd.Timestamp("2024-03-04 14:30", tz="UTC").value) + np.arange(30) * MIN
    eq = np.full(30, 100_000.0)
    eq[-1] = 100_500.0                          # bought 100 at 95 (cash 90,500), marked at 100 at the end
    gross = np.zeros(30)
    gross[-5:] = [9_500.0, 9_600.0, 9_700.0, 9_800.0, 10_000.0]
    equity_frame(t, eq, np.full(30, 90_500.0), eq - 90_500.0, gross).to_parquet(run / "equity.parquet", index=False)
    v = ResultsView()
    qtbot.addWidget(v)
    v.load_run_folder(run)
    card = v.stat_cards["final_equity"]
    assert card.caption.text() == "incl. +$500 open"
    for name in ("final_equity", "total_return_pct"):
        tip = v.stat_cards[name].toolTip()
        assert "$10,000.00 gross exposure" in tip and "the whole +$500.00 net P&amp;L is theirs" in tip
        assert v.stat_cards[name].title.toolTip() == tip
    v.load_run_folder(build_empty_run(tmp_path / "flat"))
    assert card.caption.text() == "from $100,000" and card.toolTip() == card.base_tooltip
