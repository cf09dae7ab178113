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
