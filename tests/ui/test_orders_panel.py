"""Orders & Positions panel, and the opening-range breakout in the GUI: the same trades headless, at MAX
and at a paced speed with pauses; the panel mid-replay shows the engine's positions and working orders."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from ui.bridge import EngineBridge, UpdateBatch
from ui.widgets.orders_panel import OrdersPanel
from workstation.config import validate_config_dict
from workstation.config.models import ExecutionConfig
from workstation.execution import SimulatedBroker, make_request
from workstation.system import SystemManager

MIN = 60_000_000_000
T0 = int(pd.Timestamp("2024-12-04 14:30", tz="UTC").value)


def _bar(broker, k, rows):
    idx = np.array([broker.index_of(s) for s in rows], dtype=np.int64)
    o, h, lo, c = (np.array(x, dtype=float) for x in zip(*rows.values(), strict=True))
    return broker.on_bar_time(T0 + k * MIN, idx, o, c, h, lo)


def _batch(broker, fills) -> UpdateBatch:
    return UpdateBatch(1, 0, 0, fills=list(fills), orders=broker.take_changes(), account=broker.account_snapshot())


def test_panel_shows_positions_working_orders_and_fills(qtbot):
    panel = OrdersPanel()
    qtbot.addWidget(panel)
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(starting_cash=50_000, allow_short=True))
    b.record_events = True
    _bar(b, 0, {"AAA": (10, 10, 10, 10), "BBB": (20, 20, 20, 20)})
    b.submit_order(make_request("AAA", 100, "market", stop_loss=9.5, take_profit=11.0), "s", T0 + MIN)
    b.submit_order(make_request("BBB", -50, "limit", limit_price=20.4, tag="fade"), "s", T0 + MIN)
    b.submit_order(make_request("BBB", 10, "limit", limit_price=5.0), "s", T0 + MIN)
    panel.apply(_batch(b, []))
    panel.refresh()
    assert [r[:5] for r in panel.orders_rows()] == [
        ("1", "AAA", "BUY", "100", "MKT"), ("2", "AAA", "SELL", "100", "STP SL"), ("3", "AAA", "SELL", "100", "LMT TP"),
        ("4", "BBB", "SELL", "50", "LMT"), ("5", "BBB", "BUY", "10", "LMT")]
    assert [r[6] for r in panel.orders_rows()][:3] == ["working", "held", "held"]
    fills = _bar(b, 1, {"AAA": (10.2, 10.6, 10.1, 10.5), "BBB": (20.1, 20.5, 19.9, 20.2)})
    panel.apply(_batch(b, fills))
    panel.refresh()
    # positions: AAA long 100 at 10.2, last 10.5; BBB short 50 at 20.4, last 20.2
    assert panel.positions_rows() == [("AAA", "100", "10.20", "10.50", "+30.00"),
                                      ("BBB", "-50", "20.40", "20.20", "+10.00")]
    assert [r[0] for r in panel.orders_rows()] == ["2", "3", "5"]        # the filled orders left the list
    assert [r[6] for r in panel.orders_rows()][:2] == ["working", "working"]   # exits active after the entry
    assert [r[1:5] for r in panel.fills_rows()] == [("BBB", "SELL", "50", "20.40"), ("AAA", "BUY", "100", "10.20")]
    equity = 50_000 + 30 + 10
    assert panel.account_labels["equity"].text() == f"{equity:,.2f}"
    assert panel.account_labels["unrealized"].text() == "+40.00"
    assert panel.account_labels["open_orders"].text() == "3"
    assert panel.orders_caption.text() == "Working orders (3)" and panel.positions_caption.text() == "Positions (2)"
    panel.clear()
    assert panel.positions_rows() == [] and panel.orders_rows() == [] and panel.fills_rows() == []


def test_account_strip_never_clips_a_figure_in_a_narrow_panel(qtbot):
    """At 1280x800 the panel is ~900 px wide: six-figure cash and buying power were cut ("303,36"). The
    strip shortens its captions, then drops the bar time, then the margin used, and every value shown
    keeps its whole text; a wide panel shows the full captions and the bar time."""
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(starting_cash=97_998.33, margin_multiplier=4))
    _bar(b, 0, {"AAA": (10, 10, 10, 10), "BBB": (20, 20, 20, 20)})
    b.submit_order(make_request("AAA", 2000, "market"), "s", T0 + MIN)
    _bar(b, 1, {"AAA": (10.2, 10.6, 10.1, 10.5), "BBB": (20.1, 20.5, 19.9, 20.2)})
    panel = OrdersPanel()
    qtbot.addWidget(panel)
    panel.apply(UpdateBatch(1, 0, 0, account=b.account_snapshot()))
    panel.refresh()

    def check(width: int) -> int:
        panel.resize(width, 240)
        panel.show()
        qtbot.waitExposed(panel)
        panel.refresh()
        qtbot.wait(30)
        shown = [label for label in panel.account_labels.values() if label.isVisible()]
        assert len(shown) >= 5
        for label in shown:           # each value as wide as its text: nothing cut
            assert label.width() >= label.fontMetrics().horizontalAdvance(label.text()), (width, label.text())
        right = max(label.geometry().right() for label in shown)
        assert right <= panel.width()
        return panel.strip_level

    assert panel.account_labels["buying_power"].text().count(",") >= 1
    assert check(1500) == 0
    assert panel.time_label.isVisible() and "Buying power" in [c[0].text() for c in panel._captions.values()]
    assert check(880) >= 1
    assert check(560) >= 2 and not panel.time_label.isVisible()


def test_tables_of_a_narrow_panel_cut_no_value_and_need_no_scroll_bar(qtbot, ui_themed):
    """At 1280x800 the panel is ~900 px wide: the three tables' columns need ~1,100 px, so quantities were
    cut ("1,4…") and each table needed a horizontal scroll bar. Now the panes share the width by need,
    the columns tighten, then the least needed ones hide (Avg; Id, Status, Type; Time) with their values
    in the rows' tooltips: every value shown is whole (as wide as the style sizes it) and no table
    scrolls sideways while the essential columns fit; the panes share the width so that no hidden column
    could be shown with the room left, the most needed ones first (a position's last price before an order's id). A wide panel shows every column; after the trader drags a handle the panes keep
    the widths given."""
    from ui.widgets.orders_panel import FILL_DROP, ORDER_DROP, POSITION_DROP

    b = SimulatedBroker(["AAA", "BBBB", "CCCCC"], ExecutionConfig(starting_cash=5_000_000, allow_short=True))
    b.record_events = True
    _bar(b, 0, {"AAA": (1234.5, 1234.5, 1234.5, 1234.5), "BBBB": (20, 20, 20, 20), "CCCCC": (99, 99, 99, 99)})
    b.submit_order(make_request("AAA", 1470, "market", stop_loss=1200.25, take_profit=1290.75), "s", T0 + MIN)
    b.submit_order(make_request("BBBB", -12_500, "market"), "s", T0 + MIN)
    b.submit_order(make_request("CCCCC", 300, "stop_limit", stop_price=101.5, limit_price=102.0), "s", T0 + MIN)
    fills = _bar(b, 1, {"AAA": (1234.6, 1240, 1230, 1238.1), "BBBB": (20.1, 20.5, 19.9, 20.2),
                        "CCCCC": (99, 99.5, 98.5, 99.2)})
    panel = OrdersPanel()
    qtbot.addWidget(panel)
    panel.apply(_batch(b, fills))
    panel.refresh()
    drops = {"positions": POSITION_DROP, "orders": ORDER_DROP, "fills": FILL_DROP}

    def check(width: int, may_scroll: bool = False) -> dict[str, list[int]]:
        panel.resize(width, 240)
        panel.show()
        qtbot.waitExposed(panel)
        qtbot.wait(30)
        hidden = {}
        for name, fit in panel.column_fits.items():
            view = fit.view
            assert view.model().rowCount() > 0
            assert may_scroll or not view.horizontalScrollBar().isVisible(), (width, name)
            header = view.horizontalHeader()
            for column in range(view.model().columnCount()):
                if view.isColumnHidden(column):
                    continue
                # Qt's own sizes for the column's header and cells: below them it elides the text
                need = max(view.sizeHintForColumn(column), header.sectionSizeHint(column))
                assert view.columnWidth(column) >= need, (width, name, column, view.columnWidth(column), need)
            hidden[name] = fit.hidden_columns()
            assert set(hidden[name]) <= set(drops[name]), (name, hidden[name])
        # the width is shared so that no hidden column could be shown with the room the tables have left
        spare = sum(f.view.viewport().width() - sum(w for c, w in enumerate(f.needed()) if c not in hidden[n])
                    for n, f in panel.column_fits.items())
        for name, fit in panel.column_fits.items():
            if hidden[name] and not may_scroll:
                comes_back = fit.drop[len(hidden[name]) - 1]
                assert fit.needed()[comes_back] > spare, (width, name, comes_back, spare)
        return hidden

    wide = check(1700)
    assert wide == {"positions": [], "orders": [], "fills": []}
    narrow = check(900)
    assert any(narrow.values())
    # more fills than the table shows: its vertical scroll bar takes room, and the panes share again
    for k in range(2, 14):
        more = _bar(b, k, {"AAA": (1238 + k, 1240 + k, 1230, 1238.1), "BBBB": (20.1, 20.5, 19.9, 20.2),
                           "CCCCC": (99, 99.5, 98.5, 99.2)})
        b.submit_order(make_request("BBBB", 1 if k % 2 else -1, "market"), "s", T0 + k * MIN)
        panel.apply(_batch(b, more))
    panel.refresh()
    assert check(900) == narrow and panel.fills_view.verticalScrollBar().isVisible()
    assert 3 not in narrow["positions"] or 0 in narrow["orders"]     # a position's last price before an order id
    # what a hidden column showed is in the row's tooltip
    tip = panel.orders_model.data(panel.orders_model.index(0, 1), Qt.ItemDataRole.ToolTipRole)
    first = panel.orders_rows()[0]
    assert f"order {first[0]}" in tip and first[6] in tip and first[5] in tip
    check(760)               # the essential columns of all three still fit
    # narrower than the essentials: a table scrolls sideways rather than cut a value
    assert check(600, may_scroll=True) == {name: sorted(drop) for name, drop in drops.items()}
    # the trader's split is kept: a resize no longer shares the width out by need
    panel.splitter.splitterMoved.emit(120, 1)
    sizes = panel.splitter.sizes()
    panel.splitter.setSizes([sizes[0] + 60, sizes[1] - 60, sizes[2]])
    kept = panel.splitter.sizes()
    panel.resize(601, 240)
    qtbot.wait(30)
    assert panel.user_split and abs(panel.splitter.sizes()[0] - kept[0]) <= 1


# ------------------------------------------------------------------ the opening-range breakout in the GUI


def orb_config(store, end="2024-12-05", speed=0.0) -> dict:
    return {
        "name": "ORB in the GUI",
        "symbols": ["ACME", "BOLT", "CYRX"],
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
        "historical": {"trailing_days": 0, "indicators": [], "warmup_bars": 0},
        "backtest": {"start_date": "2024-12-04", "end_date": end, "speed_multiplier": speed},
        "strategies": [{"name": "orb", "class_path": "opening_range_breakout",
                        "params": {"range_minutes": 15, "reward_risk": 1.5, "risk_per_trade": 150, "lot_size": 10}}],
        "risk": {"min_quality_pct": 0, "max_position_qty": 10_000},
        "execution": {"starting_cash": 100_000, "margin_multiplier": 4, "allow_short": True,
                      "commission_per_share": 0.005, "commission_min": 1.0},
        "data_source": {"store_path": str(store)},
    }


def trades_of(system) -> list[tuple]:
    return [(t.symbol, t.entry_time, t.entry_price, t.exit_time, t.exit_price, t.pnl) for t in system.broker.trades]


def headless(cfg: dict):
    system = SystemManager(validate_config_dict(cfg))
    system.start()
    assert system.wait(120) and system.error is None
    return system


def test_orb_same_trades_headless_at_max_and_paced_with_pauses(qtbot, tmp_path, ui_demo_store):
    expected = headless(orb_config(ui_demo_store))
    assert len(expected.broker.trades) >= 3

    bridge = EngineBridge(runs_dir=tmp_path / "runs", write_bars=False)
    try:
        bridge.load_config(validate_config_dict(orb_config(ui_demo_store)))
        with qtbot.waitSignal(bridge.finished, timeout=60_000):
            bridge.play()
        assert trades_of(bridge.system) == trades_of(expected)
        orders = pd.read_parquet(bridge.run_dir / "orders.parquet").sort_values("id")
        assert orders["status"].tolist() == [o.status.value for o in expected.broker.orders()]

        # paced: one session at 6000x (about 4 s), paused three times on the way
        one_day = headless(orb_config(ui_demo_store, end="2024-12-04"))
        bridge.load_config(validate_config_dict(orb_config(ui_demo_store, end="2024-12-04", speed=6000)))
        bridge.set_speed(6000)
        bridge.play()
        for _ in range(3):
            qtbot.wait(700)
            bridge.pause()
            qtbot.waitUntil(lambda: bridge.state == "paused", timeout=5000)
            qtbot.wait(200)
            bridge.play()
        qtbot.waitUntil(lambda: bridge.state == "finished", timeout=60_000)
        assert trades_of(bridge.system) == trades_of(one_day) and trades_of(one_day)
    finally:
        bridge.shutdown(2.0)


def test_panel_mid_replay_matches_the_engine(qtbot, tmp_path, ui_demo_store, make_window_for_orders):
    window = make_window_for_orders(orb_config(ui_demo_store, end="2024-12-04"))
    bridge = window.bridge
    window.orders_dock.show()
    window.orders_dock.raise_()
    bridge.step()
    qtbot.waitUntil(lambda: bridge.state == "paused", timeout=10_000)
    # step to 10:05 ET: the ranges are done, entries working, some filled
    target = int(pd.Timestamp("2024-12-04 10:05", tz="America/New_York").tz_convert("UTC").value)
    while bridge.system.clock.now_ns() < target:
        bridge.step()
        before = bridge.system.bars_processed
        qtbot.waitUntil(lambda before=before: bridge.system.bars_processed > before, timeout=5000)
    qtbot.waitUntil(lambda: not bridge._queue, timeout=5000)
    qtbot.wait(50)
    window.refresh_views()
    broker = bridge.system.broker
    panel = window.orders_panel
    assert panel.working_order_ids() == [o.id for o in broker.open_orders()] and panel.working_order_ids()
    held = {p.symbol: p for p in broker.open_positions()}
    shown = {row[0]: row for row in panel.positions_rows()}
    assert set(shown) == set(held)
    for symbol, p in held.items():
        assert shown[symbol][1] == f"{p.quantity:,.0f}"
        assert shown[symbol][4] == f"{p.unrealized_pnl:+,.2f}"
    assert len(panel.fills_rows()) == len(broker.fills)
    assert panel.account_labels["equity"].text() == f"{broker.equity():,.2f}"


@pytest.fixture
def make_window_for_orders(qtbot, tmp_path, ui_settings):
    from ui.main_window import MainWindow

    windows = []

    def make(cfg: dict):
        window = MainWindow(settings=ui_settings, configs_dir=tmp_path, runs_dir=tmp_path / "runs",
                            modal_errors=False, persist=False)
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        window.bridge.load_config(validate_config_dict(cfg))
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.bridge.shutdown(2.0)
        window.close()
    time.sleep(0.05)


def test_after_a_step_back_the_fills_table_holds_the_fills_up_to_then_only(qtbot):
    """A step back gives the panel the engine's fills at the bar time gone to (show_state): the table shows
    exactly those, newest first, and goes on from there (seen in Xvfb: after stepping back past a fill,
    "Recent fills (7)" still listed the 8 rows of before, the undone fill on top)."""
    panel = OrdersPanel()
    qtbot.addWidget(panel)
    b = SimulatedBroker(["AAA"], ExecutionConfig(starting_cash=1e6))
    b.record_events = True
    _bar(b, 0, {"AAA": (10, 10, 10, 10)})
    for k in range(1, 4):
        b.submit(0, 10.0, T0 + k * MIN, "s", 10.0)
        panel.apply(_batch(b, _bar(b, k + 1, {"AAA": (10 + k, 10 + k, 10 + k, 10 + k)})))
        panel.refresh()
    assert [r[4] for r in panel.fills_rows()] == ["13.00", "12.00", "11.00"]
    back = b.fills[:2]                                  # the state two bar times earlier: two fills
    panel.show_state(b.account_snapshot(), [], back)
    assert [r[4] for r in panel.fills_rows()] == ["12.00", "11.00"]
    assert panel.fills_caption.text() == "Recent fills (2)"
    b.submit(0, 10.0, T0 + 9 * MIN, "s", 10.0)          # and the replay goes on from there
    panel.apply(_batch(b, _bar(b, 10, {"AAA": (14, 14, 14, 14)})))
    panel.refresh()
    assert [r[4] for r in panel.fills_rows()] == ["14.00", "12.00", "11.00"]


def test_panel_keeps_the_orders_of_its_fills_only(qtbot):
    """Thousands of tagged limit orders filled over many batches, the panel never refreshed meanwhile (behind a
    tab): it holds the orders of the fills it keeps (and the working ones), not the run's history, and
    the fills it shows still name their order's type and tag."""
    from ui.widgets.orders_panel import MAX_FILLS

    panel = OrdersPanel()
    qtbot.addWidget(panel)
    b = SimulatedBroker(["AAA"], ExecutionConfig(starting_cash=1e12, allow_short=True))
    b.record_events = True
    _bar(b, 0, {"AAA": (10, 10, 10, 10)})
    b.submit_order(make_request("AAA", 1, "limit", limit_price=1.0, tag="resting"), "s", T0 + MIN)
    pruned = 0
    for k in range(1, 6001):
        b.submit_order(make_request("AAA", 1 if k % 2 else -1, "limit", limit_price=10.0, tag=f"t{k + 1}"), "s",
                       T0 + k * MIN)
        fills = _bar(b, k, {"AAA": (10, 10.1, 9.9, 10)})
        held = len(panel._order_of)
        panel.apply(_batch(b, fills))
        assert len(panel._order_of) <= 4 * MAX_FILLS + 1
        if len(panel._order_of) < held:
            pruned += 1
            if pruned == 2:
                break                   # right after the panel let go of orders: are its fills' still there?
    assert pruned == 2 and len(panel._order_of) == MAX_FILLS + 1
    panel.refresh()
    rows = panel.fills_model._rows
    assert len(rows) == MAX_FILLS
    newest = max(b.fills, key=lambda f: f.time)
    assert f"order {newest.order_id}" in rows[0][2] and "limit" in rows[0][2] and f"tag t{newest.order_id}" in rows[0][2]
    assert all("limit" in tip and "tag t" in tip for _texts, _colours, tip in rows)
    assert [r[0] for r in panel.orders_rows()] == ["1"] == [str(o.id) for o in b.open_orders()]   # the resting one
