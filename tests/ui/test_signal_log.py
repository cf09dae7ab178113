"""Signal log model, numpy filter/sort proxy and view (pytest-qt, offscreen)."""

from __future__ import annotations

import csv
import math
import os
import random

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QWheelEvent
from PySide6.QtWidgets import QAbstractSlider, QApplication

from ui import theme
from ui.widgets.signal_log import (
    COL_ACTION,
    COL_DECISION,
    COL_PRICE,
    COL_REASON,
    COL_SYMBOL,
    COL_TIME,
    COLUMNS,
    SORT_ROLE,
    SignalFilterProxyModel,
    SignalLogModel,
    SignalLogView,
)
from workstation.model import Action

SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY", "TSLA"]
STRATEGIES = ["ma_cross", "rsi_reversion", "breakout"]
REASONS = ["max position exceeded", "daily loss limit", "insufficient cash"]
MINUTE = 60_000_000_000
T0 = int(pd.Timestamp("2024-03-15 09:31", tz="America/New_York").value)


def make_rows(count: int, seed: int = 0, start: int = 0) -> list[dict]:
    """Deterministic signals: ~15 % rejected, ~2 % strategy errors, time increasing per 3 rows."""
    rnd = random.Random(seed)
    rows = []
    for i in range(start, start + count):
        time_ns = T0 + (i // 3) * MINUTE
        symbol, strategy = rnd.choice(SYMBOLS), rnd.choice(STRATEGIES)
        if rnd.random() < 0.02:
            rows.append(
                {
                    "time_ns": time_ns,
                    "symbol": symbol,
                    "strategy": strategy,
                    "action": "ERROR",
                    "quantity": None,
                    "price": None,
                    "confidence": None,
                    "approved": None,
                    "reason": f"ValueError: bad bar #{i}",
                    "kind": "error",
                }
            )
            continue
        approved = rnd.random() > 0.15
        rows.append(
            {
                "time_ns": time_ns,
                "symbol": symbol,
                "strategy": strategy,
                "action": rnd.choice([Action.BUY, Action.SELL, "CLOSE"]),
                "quantity": rnd.choice([1, 10, 100, 250]),
                "price": round(rnd.uniform(5, 1500), 2),
                "confidence": round(rnd.random(), 2),
                "approved": approved,
                "reason": "" if approved else rnd.choice(REASONS),
                "kind": "signal",
            }
        )
    return rows


def add(view: SignalLogView, rows: list[dict]) -> None:
    """Append through the view and take the rows in now (the view otherwise refreshes every 100 ms)."""
    view.append_rows(rows)
    view.flush()


def shown_source_rows(proxy: SignalFilterProxyModel) -> list[int]:
    return [proxy.source_row(r) for r in range(proxy.rowCount())]


def display(model, row: int, column: int) -> str:
    return model.data(model.index(row, column), Qt.ItemDataRole.DisplayRole)


@pytest.fixture
def view(qtbot):
    widget = SignalLogView()
    qtbot.addWidget(widget)
    widget.resize(1000, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_append_100k_rows_in_batches(qtbot):
    model = SignalLogModel()
    proxy = SignalFilterProxyModel()
    proxy.setSourceModel(model)
    rows = make_rows(100_000, seed=1)
    inserted = []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    for start in range(0, len(rows), 200):
        model.append_rows(rows[start : start + 200])
    assert model.rowCount() == 100_000
    assert proxy.rowCount() == 100_000
    assert len(inserted) == 500 and inserted[0] == (0, 199) and inserted[-1] == (99_800, 99_999)
    first, last = rows[0], rows[-1]
    assert display(model, 0, COL_SYMBOL) == first["symbol"]
    assert display(model, 99_999, COL_SYMBOL) == last["symbol"]
    assert display(proxy, 99_999, COL_REASON) == last["reason"]
    assert display(model, 0, COL_TIME) == "2024-03-15 09:31:00"
    expected_last_time = pd.Timestamp(last["time_ns"], tz="UTC").tz_convert("America/New_York")
    assert display(model, 99_999, COL_TIME) == expected_last_time.strftime("%Y-%m-%d %H:%M:%S")
    if first["kind"] == "signal":
        assert display(model, 0, COL_PRICE) == f"{first['price']:,.2f}"
    errors = sum(r["kind"] == "error" for r in rows)
    rejected = sum(r["approved"] is False for r in rows)
    assert (model.error_count, model.rejected_count, model.signal_count) == (
        errors,
        rejected,
        len(rows) - errors,
    )
    assert model.row_dict(54_321)["time_ns"] == rows[54_321]["time_ns"]


def test_display_formats_and_colours(qtbot):
    model = SignalLogModel(exchange_tz="America/New_York")
    model.append_rows(
        [
            {
                "time_ns": T0,
                "symbol": "AAPL",
                "strategy": "ma",
                "action": Action.BUY,
                "quantity": 1500,
                "price": 1234.5,
                "confidence": 0.876,
                "approved": True,
                "reason": "",
                "kind": "signal",
            },
            {
                "time_ns": T0 + MINUTE,
                "symbol": "AAPL",
                "strategy": "ma",
                "action": "sell",
                "quantity": 2.5,
                "price": 10,
                "confidence": 0.5,
                "approved": False,
                "reason": "too big",
                "kind": "signal",
            },
        ]
    )
    texts = [display(model, 0, c) for c in range(len(COLUMNS))]
    assert texts == ["2024-03-15 09:31:00", "AAPL", "ma", "BUY", "1,500", "1,234.50", "0.88", "Approved", ""]
    assert display(model, 1, COL_ACTION) == "SELL"
    assert display(model, 1, COL_DECISION) == "Rejected"
    fg = Qt.ItemDataRole.ForegroundRole
    assert model.data(model.index(0, COL_ACTION), fg).color() == QColor(theme.UP)
    assert model.data(model.index(1, COL_ACTION), fg).color() == QColor(theme.DOWN)
    assert model.data(model.index(0, COL_DECISION), fg).color() == QColor(theme.UP)
    assert model.data(model.index(1, COL_DECISION), fg).color() == QColor(theme.AMBER)
    assert model.data(model.index(0, COL_PRICE), SORT_ROLE) == 1234.5
    plain = model.plain_columns(np.array([0, 1]))
    assert [column[0] for column in plain][4:6] == ["1500", "1234.50"]
    assert [column[1] for column in plain] == [
        model.display_text(1, c, thousands=False) for c in range(len(COLUMNS))
    ]


def test_each_symbols_prices_show_the_decimals_they_carry(qtbot):
    """EURUSD's 1.07963 showed as 1.08 (every price had 2 decimals); a symbol's prices now all show the
    finest decimals its prices carry, and a computed price on no decimal grid does not widen them."""
    model = SignalLogModel(exchange_tz="America/New_York")
    rows = [("EURUSD", 1.07963), ("EURUSD", 1.078), ("SPY", 431.78), ("SPY", 431.78 / 1.0001),
            ("SRNE", 8.525), ("SRNE", 8.5)]
    model.append_rows([{"time_ns": T0 + i * MINUTE, "symbol": sym, "strategy": "s", "action": Action.BUY,
                        "quantity": 1, "price": price, "confidence": 1.0, "approved": True, "reason": "",
                        "kind": "signal"} for i, (sym, price) in enumerate(rows)])
    shown = [display(model, i, COL_PRICE) for i in range(len(rows))]
    assert shown == ["1.07963", "1.07800", "431.78", f"{431.78 / 1.0001:,.2f}", "8.525", "8.500"]
    assert model.plain_columns(np.arange(len(rows)))[COL_PRICE] == [t.replace(",", "") for t in shown]
    model.clear()
    model.append_rows([{"time_ns": T0, "symbol": "SRNE", "strategy": "s", "action": Action.BUY, "quantity": 1,
                        "price": 8.5, "confidence": 1.0, "approved": True, "reason": "", "kind": "signal"}])
    assert display(model, 0, COL_PRICE) == "8.50"                      # a new run forgets the old decimals


def test_error_rows_are_marked(qtbot):
    model = SignalLogModel()
    rows = make_rows(3, seed=2)
    rows.insert(
        1, {"time_ns": T0, "symbol": "TSLA", "strategy": "breakout", "reason": "boom", "kind": "error"}
    )
    model.append_rows(rows)
    error_index = model.index(1, COL_ACTION)
    assert display(model, 1, COL_ACTION) == "ERROR"
    assert display(model, 1, COL_DECISION) == "Error"
    assert display(model, 1, COL_REASON) == "boom"
    assert display(model, 1, COL_PRICE) == ""
    background = model.data(error_index, Qt.ItemDataRole.BackgroundRole)
    assert background is not None and background.color() == QColor(theme.ERROR_ROW)
    icon = model.data(error_index, Qt.ItemDataRole.DecorationRole)
    assert icon is not None and not icon.isNull()
    assert "boom" in model.data(model.index(1, COL_TIME), Qt.ItemDataRole.ToolTipRole)
    assert [c[0] for c in model.plain_columns(np.array([1]))] == [
        model.display_text(1, c, thousands=False) for c in range(len(COLUMNS))
    ]
    normal = model.index(0, COL_ACTION)
    assert model.data(normal, Qt.ItemDataRole.BackgroundRole) is None
    assert model.data(normal, Qt.ItemDataRole.DecorationRole) is None
    assert model.error_count == 1 + sum(r.get("kind") == "error" for r in rows[:1] + rows[2:])


def test_filters_by_symbol_strategy_decision_and_text(view, qtbot):
    rows = make_rows(3000, seed=3)
    for start in range(0, len(rows), 250):
        add(view, rows[start : start + 250])
    proxy = view.proxy

    def expect(predicate) -> list[int]:
        return [i for i, r in enumerate(rows) if predicate(r)]

    assert [view.symbol_combo.itemText(i) for i in range(view.symbol_combo.count())] == [
        "All symbols",
        *sorted(SYMBOLS),
    ]
    view.set_symbol_filter("NVDA")
    assert shown_source_rows(proxy) == expect(lambda r: r["symbol"] == "NVDA")
    view.set_strategy_filter("breakout")
    assert shown_source_rows(proxy) == expect(lambda r: r["symbol"] == "NVDA" and r["strategy"] == "breakout")
    view.set_symbol_filter(None)
    view.set_strategy_filter(None)
    view.set_decision_filter("rejected")
    assert shown_source_rows(proxy) == expect(lambda r: r["approved"] is False)
    view.set_decision_filter("approved")
    assert shown_source_rows(proxy) == expect(lambda r: r["approved"] is True)
    view.set_decision_filter("errors")
    assert shown_source_rows(proxy) == expect(lambda r: r["kind"] == "error")
    assert "shown" in view.count_label.text()
    view.set_decision_filter("all")
    view.set_text_filter("LOSS")
    assert shown_source_rows(proxy) == expect(lambda r: "loss" in r["reason"].lower())
    view.set_text_filter("rsi_rev")
    assert shown_source_rows(proxy) == expect(lambda r: r["strategy"] == "rsi_reversion")
    view.set_text_filter("")
    assert proxy.rowCount() == len(rows)
    # Typing in the line edit filters after the debounce.
    view.text_edit.setText("insufficient")
    assert proxy.rowCount() == len(rows)  # debounced while typing
    wanted = expect(lambda r: "insufficient" in r["reason"])
    qtbot.waitUntil(lambda: shown_source_rows(proxy) == wanted)
    # A filter stays applied to rows appended afterwards.
    more = make_rows(300, seed=4, start=3000)
    add(view, more)
    rows += more
    assert shown_source_rows(proxy) == expect(lambda r: "insufficient" in r["reason"])
    assert proxy.filterAcceptsRow(shown_source_rows(proxy)[0]) is True


def test_counts_label(view):
    rows = make_rows(1000, seed=5)
    add(view, rows)
    errors = sum(r["kind"] == "error" for r in rows)
    rejected = sum(r["approved"] is False for r in rows)
    assert view.count_label.text() == (
        f"{len(rows) - errors:,} signals · {rejected:,} rejected · {errors:,} error{'s' if errors != 1 else ''}"
    )


def _prices_in_display_order(proxy) -> list[float]:
    return [proxy.data(proxy.index(r, COL_PRICE), SORT_ROLE) for r in range(proxy.rowCount())]


def test_sort_by_price_is_numeric_with_blanks_last(view):
    base = make_rows(4, seed=6)
    prices = [9.5, 100.25, 10.0, 1000.0]
    for row, price in zip(base, prices, strict=True):
        row.update(kind="signal", approved=True, price=price, action="BUY", quantity=1, confidence=0.5)
    base.append({"time_ns": T0, "symbol": "SPY", "strategy": "x", "reason": "err", "kind": "error"})
    add(view, base)
    view.table.sortByColumn(COL_PRICE, Qt.SortOrder.AscendingOrder)
    shown = _prices_in_display_order(view.proxy)
    assert shown[:4] == [9.5, 10.0, 100.25, 1000.0] and math.isnan(shown[4])
    view.table.sortByColumn(COL_PRICE, Qt.SortOrder.DescendingOrder)
    shown = _prices_in_display_order(view.proxy)
    assert shown[:4] == [1000.0, 100.25, 10.0, 9.5] and math.isnan(shown[4])
    assert display(view.proxy, 0, COL_PRICE) == "1,000.00"
    # Back to arrival order.
    view.proxy.sort(-1)
    assert shown_source_rows(view.proxy) == list(range(5))


def test_sorting_100k_rows_and_appending_while_sorted(qtbot):
    model = SignalLogModel()
    proxy = SignalFilterProxyModel()
    proxy.setSourceModel(model)
    rows = make_rows(100_000, seed=7)
    for start in range(0, len(rows), 1000):
        model.append_rows(rows[start : start + 1000])
    proxy.sort(COL_PRICE, Qt.SortOrder.AscendingOrder)
    prices = model.price[np.asarray(shown_source_rows(proxy))]
    finite = prices[~np.isnan(prices)]
    assert np.all(np.diff(finite) >= 0) and np.all(np.isnan(prices[len(finite) :]))
    # Rows appended while sorted land in their sorted places (stable: ties keep arrival order).
    for seed in range(3):
        model.append_rows(make_rows(200, seed=100 + seed, start=len(rows)))
    order = np.asarray(shown_source_rows(proxy))
    assert len(order) == 100_600 and len(set(order.tolist())) == 100_600
    keys = model.price[order]
    expected = np.argsort(model.price[: model.row_count()], kind="stable")
    assert np.array_equal(order, expected)
    assert np.all(np.diff(keys[~np.isnan(keys)]) >= 0)
    proxy.sort(COL_SYMBOL, Qt.SortOrder.DescendingOrder)
    symbols = [model.symbols.names[c] for c in model.symbol_codes[np.asarray(shown_source_rows(proxy))]]
    assert symbols == sorted(symbols, reverse=True)


def test_proxy_matches_brute_force_under_random_appends(qtbot):
    """Filter + sort + appends at random, checked against a plain Python recomputation."""
    model = SignalLogModel(max_rows=5000)
    proxy = SignalFilterProxyModel()
    proxy.setSourceModel(model)
    rnd = random.Random(8)
    stored: list[dict] = []
    for step in range(40):
        batch = make_rows(rnd.randint(1, 120), seed=step, start=len(stored))
        if step % 7 == 3:
            batch[0]["symbol"] = f"NEW{step}"  # new category: sort keys of all rows shift
        model.append_rows(batch)
        stored += batch
        if step % 10 == 5:
            proxy.set_filters(symbol=rnd.choice([None, "AAPL"]), decision=rnd.choice(["all", "rejected"]))
        if step % 6 == 0:
            proxy.sort(rnd.choice([-1, COL_PRICE, COL_SYMBOL, COL_TIME]), rnd.choice(list(Qt.SortOrder)))
        filters = proxy.filters()
        accepted = [
            i
            for i, r in enumerate(stored)
            if (filters["symbol"] is None or r["symbol"] == filters["symbol"])
            and (filters["decision"] == "all" or (r["approved"] is False and r["kind"] == "signal"))
        ]
        column, descending = proxy.sort_column(), proxy.sort_order() == Qt.SortOrder.DescendingOrder
        if column >= 0:
            keys = model.sort_keys(column, np.asarray(accepted, dtype=np.int64))
            keys = -keys if descending else keys
            accepted = [accepted[i] for i in np.argsort(keys, kind="stable")]
        assert shown_source_rows(proxy) == accepted, f"step {step}"
        for proxy_row in range(0, proxy.rowCount(), 17):
            source = proxy.mapToSource(proxy.index(proxy_row, 2))
            assert proxy.mapFromSource(source).row() == proxy_row


def test_selection_survives_sorting_and_sorted_appends(view, qtbot):
    view.set_following(False)
    rows = make_rows(500, seed=9)
    add(view, rows)
    view.table.selectRow(10)
    chosen = view.proxy.source_row(10)
    view.table.sortByColumn(COL_PRICE, Qt.SortOrder.AscendingOrder)
    add(view, make_rows(100, seed=10, start=500))
    selected = view.table.selectionModel().selectedRows()
    assert [view.proxy.source_row(i.row()) for i in selected] == [chosen]


def test_follow_scrolls_and_turns_off_when_user_scrolls_up(view, qtbot):
    bar = view.table.verticalScrollBar()
    add(view, make_rows(400, seed=11))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert view.is_following()
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMinimum)  # the user scrolls back
    assert not view.is_following()
    add(view, make_rows(200, seed=12, start=400))
    qtbot.wait(20)
    assert bar.value() == 0 and not view.is_following()
    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)  # back to the newest row
    assert view.is_following()
    add(view, make_rows(200, seed=13, start=600))

    def newest_row_visible() -> bool:
        last_visible = view.table.rowAt(view.table.viewport().height() - 2)
        return last_visible == view.proxy.rowCount() - 1 == 799

    qtbot.waitUntil(newest_row_visible)
    # Filtering keeps following the newest rows.
    view.set_decision_filter("approved")
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert view.is_following()
    view.set_following(False)
    view.set_following(True)
    assert bar.value() == bar.maximum()


def test_follow_reacts_to_wheel_and_keyboard(view, qtbot):
    bar = view.table.verticalScrollBar()
    add(view, make_rows(400, seed=19))
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    centre = QPointF(view.table.viewport().rect().center())
    wheel_up = QWheelEvent(
        centre,
        view.table.viewport().mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.table.viewport(), wheel_up)
    assert bar.value() < bar.maximum()
    assert not view.is_following()
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert bar.value() == bar.maximum()
    assert view.is_following()


def test_export_csv_writes_filtered_rows(view, tmp_path):
    rows = make_rows(800, seed=14)
    add(view, rows)
    view.set_symbol_filter("MSFT")
    view.set_decision_filter("rejected")
    path = tmp_path / "signals.csv"
    written = view.export_csv(path)
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    expected = [r for r in rows if r["symbol"] == "MSFT" and r["approved"] is False]
    assert records[0] == list(COLUMNS)
    assert written == len(expected) == len(records) - 1 > 0
    for record, row in zip(records[1:], expected, strict=True):
        assert record[1] == "MSFT" and record[7] == "Rejected" and record[8] == row["reason"]
        assert float(record[5]) == pytest.approx(row["price"])
        assert record[2] == row["strategy"]


def test_copy_puts_selected_rows_on_clipboard_as_tsv(view, qtbot):
    rows = make_rows(50, seed=15)
    rows[3].update(kind="signal", approved=True, price=1234.5, quantity=1000, action="BUY", reason="")
    add(view, rows)
    selection = view.table.selectionModel()
    for row in (3, 7):
        selection.select(
            view.proxy.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    view.table.setFocus()
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    assert len(lines) == 3
    first = lines[1].split("\t")
    assert (
        first[1] == rows[3]["symbol"] and first[3] == "BUY" and first[4] == "1000" and first[5] == "1234.50"
    )
    assert lines[2].split("\t")[1] == rows[7]["symbol"]


def test_max_rows_drops_oldest(qtbot):
    model = SignalLogModel(max_rows=100)
    proxy = SignalFilterProxyModel()
    proxy.setSourceModel(model)
    rows = make_rows(260, seed=16)
    for start in range(0, len(rows), 30):
        model.append_rows(rows[start : start + 30])
    assert 0 < model.rowCount() <= 100
    assert proxy.rowCount() == model.rowCount()
    kept = rows[len(rows) - model.rowCount() :]
    assert model.row_dict(model.rowCount() - 1)["reason"] == kept[-1]["reason"]
    assert model.row_dict(0)["time_ns"] == kept[0]["time_ns"]
    assert model.error_count == sum(r["kind"] == "error" for r in kept)
    assert model.rejected_count == sum(r["approved"] is False for r in kept)
    assert shown_source_rows(proxy) == list(range(model.rowCount()))


def test_view_coalesces_appends_until_refresh(qtbot):
    view = SignalLogView(refresh_ms=50)
    qtbot.addWidget(view)
    insertions = []
    view.proxy.rowsInserted.connect(lambda parent, first, last: insertions.append((first, last)))
    rows = []
    for start in range(0, 600, 100):
        batch = make_rows(100, seed=20, start=start)
        rows += batch
        assert view.append_rows(batch) == 100
    # The model (and its counts) is current at once; the table takes the rows in one refresh.
    assert view.model.rowCount() == 600 and view.model.error_count == sum(r["kind"] == "error" for r in rows)
    assert view.pending_count() == 600 and view.proxy.rowCount() == 0
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 600, timeout=2000)
    assert insertions == [(0, 599)] and view.pending_count() == 0
    # Reading the rows takes in pending ones at once.
    view.append_rows(make_rows(10, seed=21, start=600))
    assert len(view.shown_rows()) == 610
    # Pending rows survive the model dropping its oldest rows.
    small = SignalLogView(SignalLogModel(max_rows=100), refresh_ms=10_000)
    qtbot.addWidget(small)
    small.append_rows(make_rows(90, seed=23))
    small.append_rows(make_rows(30, seed=24, start=90))
    small.flush()
    assert small.proxy.rowCount() == small.model.rowCount() <= 100
    assert shown_source_rows(small.proxy) == list(range(small.model.rowCount()))
    immediate = SignalLogView(refresh_ms=0)
    qtbot.addWidget(immediate)
    immediate.append_rows(make_rows(5, seed=22))
    assert immediate.proxy.rowCount() == 5


def test_clear_empties_log_and_combos(view):
    add(view, make_rows(100, seed=17))
    view.clear()
    assert view.model.rowCount() == 0 and view.proxy.rowCount() == 0
    assert view.symbol_combo.count() == 1
    assert view.count_label.text().startswith("0 signals")
    add(view, make_rows(5, seed=18))
    assert view.proxy.rowCount() == 5


def test_invalid_arguments_are_rejected(qtbot):
    with pytest.raises(ValueError, match="max_rows"):
        SignalLogModel(max_rows=0)
    with pytest.raises(ValueError, match="Mars/Olympus"):
        SignalLogModel(exchange_tz="Mars/Olympus")
    proxy = SignalFilterProxyModel()
    proxy.setSourceModel(SignalLogModel())
    with pytest.raises(ValueError, match="maybe"):
        proxy.set_filters(decision="maybe")


def test_engine_decisions_append_as_their_row_dicts_do(qtbot):
    """The bridge hands the log the engine's Decisions as they come (no dict per signal at MAX speed):
    the model holds exactly what it holds for their `decision_row` dicts, mixed with error rows, in
    order, signals and order decisions (BUY STOP BRACKET, CANCEL ...) alike."""
    from ui.widgets.signal_log import decision_row, error_row, row_time_ns
    from workstation.model import Decision, Signal

    t0 = int(pd.Timestamp("2024-12-04 14:31", tz="UTC").value)
    decisions = [
        Decision(Signal("ACME", Action.BUY, 100, 10.5, t0, "sma", 0.8), True),
        Decision(Signal("BOLT", Action.SELL, 50.0, 20.25, t0 + 60_000_000_000, "sma"), False, "too big"),
        Decision(Signal("ACME", Action.SELL, 100, 10.9, t0 + 120_000_000_000, "orb", 1.0,
                        {"order_type": "stop", "stop_loss": 9.0}), True, "", kind="order"),
        Decision(Signal("CYRX", Action.BUY, 10, 5.0, t0 + 180_000_000_000, "orb", 1.0, {"order_type": "limit"}),
                 True, "", kind="cancel"),
    ]
    error = error_row({"time_ns": t0 + 90_000_000_000, "symbol": "ACME", "message": "boom"})
    mixed = [decisions[0], decisions[1], error, decisions[2], decisions[3]]
    assert [row_time_ns(r) for r in mixed] == [t0, t0 + 60_000_000_000, t0 + 90_000_000_000,
                                               t0 + 120_000_000_000, t0 + 180_000_000_000]
    fast, slow = SignalLogModel(), SignalLogModel()
    assert fast.append_rows(mixed) == 5
    slow.append_rows([decision_row(r) if not isinstance(r, dict) else r for r in mixed])
    for name in SignalLogModel._array_names():
        np.testing.assert_array_equal(getattr(fast, name)[:5], getattr(slow, name)[:5], err_msg=name)
    texts = [[fast.data(fast.index(r, c)) for c in range(len(COLUMNS))] for r in range(5)]
    assert texts == [[slow.data(slow.index(r, c)) for c in range(len(COLUMNS))] for r in range(5)]
    assert [t[COL_ACTION] for t in texts] == ["BUY", "SELL", "ERROR", "SELL STOP BRACKET", "CANCEL BUY LIMIT"]
    assert (fast.signal_count, fast.error_count, fast.rejected_count) == (4, 1, 1)


def test_a_block_of_signal_decisions_appends_as_their_row_dicts_do(qtbot):
    """A frame of signal Decisions only (as at MAX: read a column at a time) holds exactly what their
    `decision_row` dicts hold, new names interned as they first appear, counts included."""
    from ui.widgets.signal_log import decision_row
    from workstation.model import Decision, Signal

    t0 = int(pd.Timestamp("2024-12-04 14:31", tz="UTC").value)
    rng = np.random.default_rng(5)
    names = ["ACME", "BOLT", "CYRX", "DYNA"]
    block = [Decision(Signal(names[k % 4], (Action.BUY, Action.SELL, Action.CLOSE)[k % 3], float(rng.integers(1, 500)),
                             float(rng.uniform(5, 50)), t0 + k * 60_000_000_000, ("sma", "rsi")[k % 2],
                             float(rng.uniform(0, 1))), bool(k % 5), "" if k % 5 else f"limit {k % 3}")
             for k in range(300)]
    fast, slow = SignalLogModel(), SignalLogModel()
    for model in (fast, slow):
        model.append_rows([decision_row(Decision(Signal("ZED", Action.BUY, 1.0, 1.0, t0 - 1, "orb"), True))])
    assert fast._signal_columns(block) is not None and fast._signal_columns([*block, {"kind": "error"}]) is None
    assert fast.append_rows(block) == 300
    slow.append_rows([decision_row(r) for r in block])
    for name in SignalLogModel._array_names():
        np.testing.assert_array_equal(getattr(fast, name)[:301], getattr(slow, name)[:301], err_msg=name)
    for table in ("symbols", "strategies", "actions", "reasons"):
        assert getattr(fast, table).names == getattr(slow, table).names, table
    assert (fast.signal_count, fast.rejected_count) == (slow.signal_count, slow.rejected_count) == (301, 60)
    texts = [[fast.data(fast.index(r, c)) for c in range(len(COLUMNS))] for r in (1, 2, 3, 150, 300)]
    assert texts == [[slow.data(slow.index(r, c)) for c in range(len(COLUMNS))] for r in (1, 2, 3, 150, 300)]


def test_engine_decision_batches_append_as_their_decisions_do(qtbot):
    """The bridge hands the log the engine's "decisions" payloads (DecisionBatch: a round's signal
    verdicts as columns, or ready Decisions), mixed with error rows: the model holds exactly what the
    per-row path holds for the batches' `decisions()` as `decision_row` dicts, in order, names
    interned in the same order, counts included; `rows_until` keeps what a step back keeps."""
    from ui.widgets.signal_log import decision_row, error_row, rows_until
    from workstation.model import Decision, Signal
    from workstation.model.batches import DecisionBatch, SignalBatch

    t0 = int(pd.Timestamp("2024-12-04 14:31", tz="UTC").value)
    minute = 60_000_000_000
    symbols = ["ACME", "BOLT", "CYRX", "DYNA"]
    first = SignalBatch("sma", t0, symbols, np.array([2, 0, 3, 2]), (Action.BUY, Action.SELL, Action.CLOSE, Action.BUY),
                        np.array([100.0, 50.0, 7.0, 3.0]), np.array([10.5, 20.25, 5.0, 5.5]), np.array([0.8, 1.0, 0.5, 0.1]))
    second = SignalBatch("rsi", t0 + 2 * minute, symbols, [1, 1], (Action.SELL, Action.BUY), [5, 6.5], [21.0, 20.5],
                         [1.0, 0.25])
    orders = DecisionBatch.of(
        Decision(Signal("ACME", Action.SELL, 100, 10.9, t0 + minute, "orb", 1.0,
                        {"order_type": "stop", "stop_loss": 9.0}), True, "", kind="order"),
        Decision(Signal("CYRX", Action.BUY, 10, 5.0, t0 + 3 * minute, "orb", 1.0, {"order_type": "limit"}),
                 False, "too late", kind="cancel"))
    other = SignalBatch("sma", t0 + minute, ["ZED", "EPIC"], [1, 0, 1], (Action.CLOSE, Action.BUY, Action.BUY),
                        [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.5, 0.5, 0.5])   # another symbol list, in a run
    mixed = [DecisionBatch(first, (True, False, True, True), ("", "too big", "", "")),
             DecisionBatch(other, (True, True, False), ("", "", "limit")), orders,
             error_row({"time_ns": t0 + 90_000_000_000, "symbol": "ACME", "message": "boom"}),
             DecisionBatch(second, (False, True), ("no shorting", ""))]
    per_row = [r for row in mixed for r in (row.decisions() if isinstance(row, DecisionBatch) else [row])]
    assert len(per_row) == 12
    fast, slow = SignalLogModel(), SignalLogModel()
    for model in (fast, slow):
        model.append_rows([decision_row(Decision(Signal("ZED", Action.BUY, 1.0, 1.0, t0 - 1, "orb"), True))])
    assert fast.append_rows(mixed) == 12
    slow.append_rows([decision_row(r) if not isinstance(r, dict) else r for r in per_row])
    for name in SignalLogModel._array_names():
        np.testing.assert_array_equal(getattr(fast, name)[:13], getattr(slow, name)[:13], err_msg=name)
    for table in ("symbols", "strategies", "actions", "reasons"):
        assert getattr(fast, table).names == getattr(slow, table).names, table
    texts = [[fast.data(fast.index(r, c)) for c in range(len(COLUMNS))] for r in range(13)]
    assert texts == [[slow.data(slow.index(r, c)) for c in range(len(COLUMNS))] for r in range(13)]
    assert [t[1] for t in texts[5:8]] == ["EPIC", "ZED", "EPIC"]
    assert [t[COL_ACTION] for t in texts[1:5] + texts[8:]] == ["BUY", "SELL", "CLOSE", "BUY", "SELL STOP BRACKET",
                                                  "CANCEL BUY LIMIT", "ERROR", "SELL", "BUY"]
    assert [t[1] for t in texts[1:5]] == ["CYRX", "ACME", "DYNA", "CYRX"]
    assert (fast.signal_count, fast.error_count, fast.rejected_count) == (12, 1, 4)
    # a step back to t0 + 2 min keeps the first round, the order (not the cancel), the error and the second round
    kept = rows_until(mixed, t0 + 2 * minute)
    assert [len(r) if isinstance(r, DecisionBatch) else 1 for r in kept] == [4, 3, 1, 1, 2]
    assert kept[2].objects == orders.objects[:1]
    assert [len(r) if isinstance(r, DecisionBatch) else 1 for r in rows_until(mixed, t0 + minute)] == [4, 3, 1]
    assert [len(r) for r in rows_until(mixed, t0 + minute - 1)] == [4]
    # a model too small for the batch keeps its newest rows, as the per-row path does
    small, small_slow = SignalLogModel(max_rows=3), SignalLogModel(max_rows=3)
    small.append_rows(mixed)
    small_slow.append_rows([decision_row(r) if not isinstance(r, dict) else r for r in per_row])
    for name in SignalLogModel._array_names():
        np.testing.assert_array_equal(getattr(small, name)[:3], getattr(small_slow, name)[:3], err_msg=name)


def test_action_column_widens_to_a_long_action_unless_sized_by_hand(view, qtbot):
    """A bracketed stop entry's action, "BUY STOP BRACKET", was cut to "BUY STO…" (the column was sized for
    "ERROR"). The column now widens to the longest action when one arrives, as wide as Qt sizes its
    cells; after the trader resizes it, it keeps the trader's width."""
    from ui.widgets.signal_log import COL_ACTION

    header = view.table.horizontalHeader()
    add(view, make_rows(30, seed=3))
    before = header.sectionSize(COL_ACTION)
    assert before >= view.table.sizeHintForColumn(COL_ACTION)
    order = dict(make_rows(1, seed=4, start=40)[0], action="MODIFY SELL STOP_LIMIT BRACKET", kind="modify")
    add(view, [order])
    assert display(view.proxy, view.proxy.rowCount() - 1, COL_ACTION) == "MODIFY SELL STOP_LIMIT BRACKET"
    assert header.sectionSize(COL_ACTION) > before
    assert header.sectionSize(COL_ACTION) >= view.table.sizeHintForColumn(COL_ACTION)   # Qt would not elide it
    header.resizeSection(COL_ACTION, before)          # the trader's width
    add(view, [dict(order, action="CANCEL BUY TRAILING_STOP BRACKET", kind="cancel")])
    assert header.sectionSize(COL_ACTION) == before


def test_the_current_rows_reason_shows_whole_under_the_table(view, qtbot):
    """The Reason column cuts a long reason at its width; the footer shows the clicked row's whole, an
    error's as Error, nothing for a row without one, and nothing after a clear."""
    view.set_following(False)
    long_reason = ("daily loss limit: trading stopped for the session at a loss of 1,234.56 "
                   "(risk.max_daily_loss 1,000.00)")
    rows = make_rows(20, seed=3)
    rows[4] = dict(rows[4], approved=False, reason=long_reason, kind="signal")
    rows[7] = dict(rows[7], approved=True, reason="", kind="signal")
    rows[10] = dict(rows[10], action="ERROR", quantity=None, price=None, confidence=None, approved=None,
                    reason="ZeroDivisionError: division by zero (my_strategies.py:42 in on_bar)", kind="error")
    add(view, rows)
    view.table.resizeColumnToContents(COL_TIME)
    reason_rect = view.table.visualRect(view.proxy.index(4, COL_REASON))
    assert view.table.fontMetrics().horizontalAdvance(long_reason) > reason_rect.width()   # cut in the table
    for row, expected in ((4, f"Reason: {long_reason}"), (7, "")):
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.table.visualRect(view.proxy.index(row, COL_SYMBOL)).center())
        assert view.reason_label.text() == expected
    view.table.setCurrentIndex(view.proxy.index(10, COL_SYMBOL))
    assert view.reason_label.text() == "Error: ZeroDivisionError: division by zero (my_strategies.py:42 in on_bar)"
    view.clear()
    assert view.reason_label.text() == ""
