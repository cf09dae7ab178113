"""The results view's data-gap list: read from the run folder's gaps.parquet (pytest-qt, offscreen)."""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pandas as pd
import pytest
from PySide6.QtCore import Qt

from tests.ui.test_results_view import build_run
from ui.windows.results_view import SORT_ROLE, ResultsView
from workstation.pipeline.gap_list import gaps_frame

NY = "America/New_York"


def _ns(text: str) -> int:
    return int(pd.Timestamp(text, tz=NY).value)


GAPS = [
    {"session_date": "2024-03-05", "symbol": "BOLT", "interval": "1m", "start": _ns("2024-03-05 10:02"),
     "end": _ns("2024-03-05 10:05"), "missing": 3, "status": "measured"},
    {"session_date": "2024-03-04", "symbol": "ACME", "interval": "15m", "start": _ns("2024-03-04 15:30"),
     "end": _ns("2024-03-04 16:00"), "missing": 2, "status": "measured"},
    {"session_date": "2024-03-04", "symbol": "ACME", "interval": "1m", "start": _ns("2024-03-04 09:31"),
     "end": _ns("2024-03-04 09:32"), "missing": 1, "status": "measured"},
]


@pytest.fixture(scope="module")
def run_with_gaps(tmp_path_factory):
    run = build_run(tmp_path_factory.mktemp("gaps") / "run")
    (run / "gaps.parquet").mkdir()
    gaps_frame(GAPS[:2]).to_parquet(run / "gaps.parquet" / "part-0001.parquet", index=False)
    gaps_frame(GAPS[2:]).to_parquet(run / "gaps.parquet" / "part-0002.parquet", index=False)
    return run


def _cells(view, column: int) -> list[str]:
    proxy = view.gap_proxy
    return [proxy.index(r, column).data() for r in range(proxy.rowCount())]


def test_gap_list_lists_every_gap_in_time_order_in_exchange_time(qtbot, run_with_gaps):
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.load_run_folder(run_with_gaps)
    view.show()
    assert view.gaps_stack.currentIndex() == 0
    assert view.gap_model.rowCount() == 3
    assert view.gap_count_label.text() == "3 \u00b7 6 bars"
    assert _cells(view, 0) == ["Mar 04 09:31", "Mar 04 15:30", "Mar 05 10:02"]
    assert _cells(view, 1) == ["09:32", "16:00", "10:05"]
    assert _cells(view, 2) == ["ACME", "ACME", "BOLT"]
    assert _cells(view, 3) == ["1m", "15m", "1m"]
    assert _cells(view, 4) == ["1", "2", "3"]
    view.gap_table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert [view.gap_proxy.index(r, 4).data(SORT_ROLE) for r in range(3)] == [3, 2, 1]
    view.grab().save(str(run_with_gaps.parent / "results_gaps.png"))


def test_run_without_gaps_or_with_a_damaged_list_says_so(qtbot, run_with_gaps, tmp_path):
    clean = tmp_path / "clean"
    shutil.copytree(run_with_gaps, clean)
    shutil.rmtree(clean / "gaps.parquet")
    view = ResultsView()
    qtbot.addWidget(view)
    view.load_run_folder(clean)
    assert view.gap_model.rowCount() == 0 and view.gaps_stack.currentIndex() == 1
    assert view.gaps_empty.findChildren(type(view.gap_count_label))[0].text() == "No data gaps"
    (clean / "gaps.parquet").mkdir()
    (clean / "gaps.parquet" / "part-0001.parquet").write_bytes(b"not parquet")
    view.load_run_folder(clean)                       # the rest of the results still load
    assert view.trade_model.rowCount() > 0 and view.gaps_stack.currentIndex() == 1
    texts = " ".join(lbl.text() for lbl in view.gaps_empty.findChildren(type(view.gap_count_label)))
    assert "cannot read the gap list" in texts


def _rows_shown(table) -> int:
    """Rows of `table` drawn whole without scrolling (0 when the table is not on screen)."""
    if not table.isVisible():
        return 0
    shown = table.viewport().visibleRegion().boundingRect().height()
    return min(table.model().rowCount(), shown // table.rowHeight(0))


def test_per_symbol_and_gap_lists_show_rows_in_a_short_view_and_side_by_side_in_a_tall_one(qtbot, run_with_gaps):
    """At 1280 x 800 the two lists stacked beside the trades showed a header and no row: in a short view
    they are two tabs (counts in the titles), in a tall one one above the other, each with rows."""
    from ui.windows.results_view import SIDE_PANEL_MIN_ROWS

    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1280, 330)      # the docked results at 1280 x 800 (compact: plots beside the tables)
    view.set_compact(True)
    view.load_run_folder(run_with_gaps)
    view.show()
    qtbot.waitExposed(view)
    panel = view.side_panel
    qtbot.waitUntil(lambda: panel.tabbed)
    assert [panel.tabs.tabText(k) for k in range(2)] == ["By symbol 5", "Data gaps 3"]
    qtbot.waitUntil(lambda: _rows_shown(view.symbol_table) >= SIDE_PANEL_MIN_ROWS)
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: _rows_shown(view.gap_table) == 3)
    view.resize(1400, 900)      # tall: both lists at once, each with its own title again
    view.set_compact(False)
    qtbot.waitUntil(lambda: not panel.tabbed)
    qtbot.waitUntil(lambda: _rows_shown(view.symbol_table) >= SIDE_PANEL_MIN_ROWS
                    and _rows_shown(view.gap_table) == 3)
    assert view.symbol_count_label.isVisible() and view.gap_count_label.isVisible()
    view.set_compact(True)      # and back: the tabs again, on the tab the trader chose
    view.resize(1280, 330)
    qtbot.waitUntil(lambda: panel.tabbed and _rows_shown(view.gap_table) == 3)
    assert not view.gap_count_label.isVisible()
    view.grab().save(str(run_with_gaps.parent / "results_side_tabs.png"))
