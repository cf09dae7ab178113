"""Quality gauge panel and gap list dialog (pytest-qt, offscreen)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pandas as pd
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from ui import theme
from ui.widgets.quality_gauges import (
    GapListDialog,
    QualityGaugePanel,
    quality_color,
    quality_level,
)

SYMBOLS = [f"S{i:03d}" for i in range(100)]
T0 = int(pd.Timestamp("2024-03-15 10:31", tz="America/New_York").value)
MINUTE = 60_000_000_000


@pytest.fixture
def panel(qtbot):
    widget = QualityGaugePanel()
    qtbot.addWidget(widget)
    widget.resize(350, 600)
    widget.set_symbols(SYMBOLS)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def tile_pixel(panel: QualityGaugePanel, symbol: str) -> QColor:
    """Colour of the level stripe painted at the left edge of a tile."""
    panel.scroll_area.ensureVisible(0, panel.grid.tile_rect(symbol).center().y(), 0, 60)
    rect = panel.grid.tile_rect(symbol)
    image = panel.grid.grab(rect).toImage()
    return image.pixelColor(3, rect.height() // 2)


def close(a: QColor, b: QColor, tolerance: int = 6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def test_levels_and_colours_by_threshold():
    assert quality_level(None, 95) == "unknown"
    assert quality_level(49.9, 95) == "bad"
    assert quality_level(50.0, 95) == "warn"
    assert quality_level(94.9, 95) == "warn"
    assert quality_level(95.0, 95) == "good"
    assert quality_color(10, 95) == QColor(theme.DOWN)
    assert quality_color(100, 95) == QColor(theme.UP)
    assert close(quality_color(94.99, 95), QColor(theme.AMBER), tolerance=2)
    warm_low, warm_high = quality_color(51, 95), quality_color(90, 95)
    assert warm_low.red() > 200 and 25 <= warm_low.hslHue() <= 50  # orange
    assert 35 <= warm_high.hslHue() <= 50  # amber
    good = quality_color(97, 95)
    assert 100 <= good.hslHue() <= 180  # green


def test_tiles_use_level_colours_and_risk_minimum(panel):
    panel.update_many([("S000", "1m", 30.0, 12), ("S001", "1m", 80.0, 3), ("S002", "1m", 97.0, 1)])
    assert [panel.gauge_level(s) for s in ("S000", "S001", "S002", "S003")] == [
        "bad",
        "warn",
        "good",
        "unknown",
    ]
    assert close(tile_pixel(panel, "S000"), QColor(theme.DOWN))
    assert close(tile_pixel(panel, "S001"), panel.gauge_color("S001"))
    assert close(tile_pixel(panel, "S002"), panel.gauge_color("S002"))
    assert panel.gauge_color("S002").hslHue() > 90
    panel.set_risk_minimum(99)
    assert panel.gauge_level("S002") == "warn"
    assert close(tile_pixel(panel, "S002"), panel.gauge_color("S002"))
    assert "2 below 99 %" not in panel.summary_label.text()
    assert "3 below 99 %" in panel.summary_label.text()
    with pytest.raises(ValueError, match="risk minimum"):
        panel.set_risk_minimum(120)


def test_primary_interval_and_tooltip_per_interval(panel, qtbot):
    panel.update_many(
        [
            ("S005", "1m", 99.2, 1),
            ("S005", "15m", 100.0, 0),
            ("S005", "5m", 98.7, 1),
            ("S006", "1m", 100.0, 0),
        ]
    )
    assert panel.quality("S005") == pytest.approx(99.2)
    text = panel.tooltip_text("S005")
    assert "1m 99.2 % · 5m 98.7 % · 15m 100 %" in text
    assert "1 gap in 1m" in text
    panel.set_primary_interval("5m")
    assert panel.primary_value("S005") == (98.7, 1)
    assert panel.primary_value("S006") == (None, 0)
    assert panel.gauge_level("S006") == "unknown"
    # A real hover shows the same text.
    rect = panel.grid.tile_rect("S005")
    help_event = QHelpEvent(QEvent.Type.ToolTip, rect.center(), panel.grid.mapToGlobal(rect.center()))
    QApplication.sendEvent(panel.grid, help_event)
    qtbot.waitUntil(QToolTip.isVisible)
    assert QToolTip.text() == panel.tooltip_text("S005")
    assert "1m 99.2 % · 5m 98.7 % · 15m 100 %" in QToolTip.text() and "1 gap in 5m" in QToolTip.text()
    QToolTip.hideText()


def test_update_repaints_only_changed_tiles(panel, monkeypatch):
    panel.update_many([("S010", "1m", 90.0, 2), ("S011", "1m", 100.0, 0)])
    requested = []
    monkeypatch.setattr(panel.grid, "update", lambda *args: requested.append(args))
    panel.update_many([("S010", "1m", 90.0, 2), ("S011", "1m", 99.0, 1)])  # S010 unchanged
    assert len(requested) == 1
    assert requested[0][0].contains(panel.grid.tile_rect("S011"))
    assert not requested[0][0].intersects(panel.grid.tile_rect("S010"))
    requested.clear()
    panel.update_quality("S011", "1m", 99.0, 1)
    assert requested == []


def test_hundred_symbols_fit_in_a_docked_column(panel):
    rects = [panel.grid.tile_rect(s) for s in SYMBOLS]
    assert all(r is not None for r in rects)
    columns = len({r.x() for r in rects})
    assert columns == 3
    assert all(100 <= r.width() <= 180 and r.height() == rects[0].height() for r in rects)
    assert all(r.right() < panel.scroll_area.viewport().width() for r in rects)
    assert panel.grid.height() >= rects[-1].bottom()
    assert panel.scroll_area.verticalScrollBar().maximum() > 0
    # No two tiles overlap.
    assert len({(r.x(), r.y()) for r in rects}) == 100


def test_worst_first_order(panel):
    panel.update_many([("S050", "1m", 40.0, 9), ("S020", "1m", 90.0, 2), ("S030", "1m", 100.0, 0)])
    panel.set_sort("worst")
    order = panel.grid.order()
    assert order[:2] == ["S050", "S020"]
    panel.update_quality("S030", "1m", 10.0, 20)
    assert panel.grid.order()[0] == "S030"
    panel.set_sort("symbol")
    assert panel.grid.order() == SYMBOLS


def test_click_emits_and_opens_gap_dialog(panel, qtbot):
    gaps = [
        {
            "interval": "1m",
            "start_ns": T0 + 60 * MINUTE,
            "end_ns": T0 + 62 * MINUTE,
            "missing": 3,
            "status": "pending",
            "retries": 2,
        },
        {
            "interval": "1m",
            "start_ns": T0,
            "end_ns": T0 + 4 * MINUTE,
            "missing": 5,
            "status": "filled",
            "retries": 1,
        },
        {
            "interval": "5m",
            "start_ns": T0 + 120 * MINUTE,
            "end_ns": T0 + 125 * MINUTE,
            "missing": 2,
            "status": "failed",
            "retries": 5,
        },
        {
            "interval": "1m",
            "start_ns": T0 + 200 * MINUTE,
            "end_ns": T0 + 200 * MINUTE,
            "missing": 1,
            "status": "measured",
            "retries": 0,
        },
    ]
    asked = []

    def provider(symbol: str) -> list[dict]:
        asked.append(symbol)
        return gaps if symbol == "S004" else []

    panel.set_gap_provider(provider)
    panel.update_quality("S004", "1m", 96.0, 4)
    rect = panel.grid.tile_rect("S004")
    with qtbot.waitSignal(panel.gauge_clicked) as blocker:
        qtbot.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["S004"]
    assert asked == ["S004"]
    dialog = panel.open_gap_dialog("S004")
    qtbot.addWidget(dialog)
    assert isinstance(dialog, GapListDialog) and dialog.isVisible()
    table = dialog.table
    assert table.rowCount() == 4
    rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    assert rows[0] == ["1m", "2024-03-15 10:31", "10:35", "5", "filled (after 1 retry)"]
    assert rows[1] == ["1m", "2024-03-15 11:31", "11:33", "3", "pending (retry 2)"]
    assert rows[2] == ["5m", "2024-03-15 12:31", "12:36", "2", "failed after 5 retries"]
    assert rows[3][4] == "measured"
    assert table.item(2, 4).foreground().color() == QColor(theme.DOWN)
    assert "4 gaps · 11 missing bars · 1 pending" in dialog.summary_label.text()
    # Clicking outside any tile emits nothing.
    with qtbot.assertNotEmitted(panel.gauge_clicked):
        qtbot.mouseClick(panel.grid, Qt.MouseButton.LeftButton, pos=QPoint(1, 1))


def test_gap_dialog_without_provider_or_gaps(panel, qtbot):
    dialog = panel.open_gap_dialog("S001")
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 0
    assert "No gap information" in dialog.empty_label.text()
    panel.set_gap_provider(lambda symbol: [])
    dialog.refresh()
    assert "No gaps" in dialog.empty_label.text()


def test_unknown_symbol_update_adds_a_tile(panel):
    panel.update_quality("ZZZZ", "1m", 75.0, 3)
    assert panel.symbols()[-1] == "ZZZZ"
    assert panel.grid.tile_rect("ZZZZ") is not None
    assert panel.gauge_level("ZZZZ") == "warn"


def amber_pixels(panel: QualityGaugePanel, symbol: str) -> int:
    image = panel.grid.grab(panel.grid.tile_rect(symbol)).toImage()
    return sum(close(image.pixelColor(x, y), QColor(theme.AMBER), tolerance=40)
               for x in range(image.width()) for y in range(image.height()))


def test_a_short_panel_shows_every_tile_on_one_line_and_a_tall_one_full_tiles(qtbot):
    """Squeezed (the window's height shared with the results), five symbols would show one row of full
    tiles: one-line tiles show all five instead, a symbol with gaps still marked. With room, or with
    more symbols than one-line tiles could show either, the full tiles stay (a long list scrolls)."""
    from ui.widgets.quality_gauges import COMPACT_TILE_HEIGHT, TILE_HEIGHT

    five = ["ACME", "BOLT", "CYRX", "DYNA", "ECHO"]
    widget = QualityGaugePanel()
    qtbot.addWidget(widget)
    widget.set_symbols(five)
    widget.update_many([(s, "1m", 99.7 if s == "CYRX" else 100.0, 1 if s == "CYRX" else 0) for s in five])
    widget.resize(370, 300)
    widget.show()
    qtbot.waitExposed(widget)
    rects = [widget.grid.tile_rect(s) for s in five]
    assert {r.height() for r in rects} == {TILE_HEIGHT}                     # room: full tiles

    widget.resize(370, 120)                                                # two full rows do not fit
    qtbot.waitUntil(lambda: widget.grid.tile_rect("ACME").height() == COMPACT_TILE_HEIGHT, timeout=2000)
    viewport = widget.scroll_area.viewport().height()
    assert max(widget.grid.tile_rect(s).bottom() for s in five) < viewport   # every tile shows
    assert widget.scroll_area.verticalScrollBar().maximum() == 0
    assert amber_pixels(widget, "CYRX") > 4 and amber_pixels(widget, "BOLT") == 0   # the gaps' mark

    widget.resize(370, 300)
    qtbot.waitUntil(lambda: widget.grid.tile_rect("ACME").height() == TILE_HEIGHT, timeout=2000)

    widget.set_symbols(SYMBOLS)                                            # 100: neither fits, full tiles scroll
    widget.resize(350, 200)
    qtbot.wait(50)
    assert widget.grid.tile_rect("S000").height() == TILE_HEIGHT
    assert widget.scroll_area.verticalScrollBar().maximum() > 0
