"""The results view built in steps (a big run read in the background: cards and tables, then the plots)
ends as the one-shot build,
never shows a previous run meanwhile, and its plot axes draw the same pixels as pyqtgraph's
(pytest-qt, offscreen)."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

import ui.windows.results_view as results_view
from tests.ui.test_results_view import build_run
from ui.windows.results_view import ResultsView, _FormattedAxis
from workstation.execution.stats import drawdown_series
from workstation.runs import load_run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("staged")
    return build_run(root / "a", seed=14), build_run(root / "b", seed=21, starting_cash=250_000.0)


def view_state(view: ResultsView) -> dict:
    """Everything the view shows: texts, cells, cards, plot data, lines, pages, read-out."""
    def cells(model):
        return [[model.data(model.index(r, c), role) for c in range(model.columnCount())
                 for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole)]
                for r in range(model.rowCount())]

    def curve(item):
        x, y = item.getData()
        return (None, None) if x is None else (x.tolist(), y.tolist())

    return {
        "labels": [label.text() for label in (view.title_label, view.subtitle_label, view.trade_count_label,
                                              view.symbol_count_label, view.gap_count_label, view.readout)],
        "card_texts": {k: [w.text() for w in c.findChildren(results_view.QLabel)]
                       for k, c in view.stat_cards.items()},
        "trades": cells(view.trade_proxy), "symbols": cells(view.symbol_proxy), "gaps": cells(view.gap_proxy),
        "equity": curve(view.equity_curve), "drawdown": curve(view.drawdown_curve),
        "fill": view.equity_curve.opts["fillLevel"], "start": view.start_line.value(),
        "sessions": [(id(plot), line.value()) for plot, line in view._session_lines],
        "ranges": (view.equity_plot.getViewBox().viewRange(), view.drawdown_plot.getViewBox().viewRange()),
        "pages": [s.currentIndex() for s in (view.plots_stack, view.trades_stack, view.symbols_stack,
                                             view.gaps_stack)],
        "empty": [(e.findChildren(results_view.QLabel)[0].text()) for e in
                  (view.plots_empty, view.trades_empty, view.symbols_empty, view.gaps_empty)],
        "export": view.export_button.isEnabled(), "filter": view.trade_filter.isEnabled(),
        "arrays": (view._equity_times_ns.tolist(), view._equity_values.tolist(), view._drawdown_pct.tolist()),
        "region": view.trade_region.isVisible(),
    }


def shown_view(qtbot) -> ResultsView:
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1280, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def comparable(state: dict) -> dict:
    state = dict(state)
    state["sessions"] = [value for _plot, value in state["sessions"]]
    return state


def test_the_staged_build_ends_as_the_one_shot_build(qtbot, two_runs):
    run_a, run_b = two_runs
    one_shot, staged = shown_view(qtbot), shown_view(qtbot)
    for view in (one_shot, staged):
        view.load_run_folder(run_a)  # a run shown before, as in the window
    one_shot.set_results(load_run(run_b))
    staged.show_results_in_steps(load_run(run_b))
    assert staged.building and staged.results is not None
    # the first step: cards and tables
    assert staged.trade_model.rowCount() == one_shot.trade_model.rowCount()
    assert staged.symbol_model.rowCount() == one_shot.symbol_model.rowCount()
    assert len(staged._equity_values) == 0  # the plots come in a later turn
    qtbot.waitUntil(lambda: not staged.building, timeout=5000)
    qtbot.wait(20)
    assert comparable(view_state(staged)) == comparable(view_state(one_shot))


def test_a_staged_build_never_shows_the_previous_run(qtbot, two_runs):
    run_a, run_b = two_runs
    view = shown_view(qtbot)
    view.load_run_folder(run_a)
    a_equity = view._equity_values.copy()
    view.show_results_in_steps(load_run(run_b))
    # after the first step: run b's cards and tables; the plots blank, not run a's
    assert view.results is not None and view.results.run_dir == load_run(run_b).run_dir
    assert view.trade_model.rowCount() == len(load_run(run_b).trades)
    assert view.plots_stack.currentIndex() == 1
    assert view.plots_empty.findChildren(results_view.QLabel)[0].text() == ""
    assert len(view._equity_values) == 0
    readout = view.readout.text()  # already the final one: its width sets the compact view's split
    qtbot.waitUntil(lambda: not view.building, timeout=5000)
    assert view.readout.text() == readout and "bar times" in readout
    assert len(view._equity_values) and not np.array_equal(view._equity_values, a_equity)


@pytest.mark.parametrize("supersede", ["clear", "set_results", "load_run_folder", "staged"])
def test_a_superseded_staged_build_drops_its_remaining_steps(qtbot, two_runs, supersede):
    run_a, run_b = two_runs
    view, expected = shown_view(qtbot), shown_view(qtbot)
    view.show_results_in_steps(load_run(run_b))
    assert view.building
    if supersede == "clear":
        view.clear("The run is playing")
        expected.set_results(load_run(run_b))
        expected.clear("The run is playing")
    elif supersede == "set_results":
        view.set_results(load_run(run_a))
        expected.set_results(load_run(run_a))
    elif supersede == "load_run_folder":
        view.load_run_folder(run_a)
        expected.load_run_folder(run_a)
    else:
        view.show_results_in_steps(load_run(run_a))
        expected.set_results(load_run(run_a))
    qtbot.waitUntil(lambda: not view.building, timeout=5000)
    qtbot.wait(50)  # run b's remaining steps would have run by now
    state = view_state(view)
    if supersede == "clear":  # cleared: as a cleared view, and run b's plots never come (hidden, empty)
        assert view.results is None and state["pages"] == [1, 1, 1, 1]
        assert view.equity_curve.getData()[0] is None or len(view.equity_curve.getData()[0]) == 0
        plot_keys = ("equity", "drawdown", "fill", "start", "sessions", "ranges", "arrays")

        def shown_parts(s: dict) -> dict:
            return {k: v[:-1] if k == "labels" else v for k, v in comparable(s).items() if k not in plot_keys}

        assert shown_parts(state) == shown_parts(view_state(expected))  # the labels but the plot read-out
    else:
        assert comparable(state) == comparable(view_state(expected))


def test_the_drawdown_is_the_engines_drawdown_series(qtbot, two_runs):
    view = shown_view(qtbot)
    results = load_run(two_runs[1])
    view.set_results(results)
    start = results.stats.get("starting_cash") or results.starting_cash
    expected = drawdown_series(results.equity, start)["drawdown_pct"].to_numpy()
    assert np.array_equal(view._drawdown_pct, expected)
    assert np.array_equal(view.drawdown_curve.getData()[1], expected)


# ------------------------------------------------------------------------------------- plot axes


class _PyqtgraphAxis(pg.AxisItem):
    """_FormattedAxis's labels drawn by pyqtgraph's own AxisItem.paint (QPicture, drawLine)."""

    def __init__(self) -> None:
        super().__init__("left")
        self.enableAutoSIPrefix(False)

    tickStrings = _FormattedAxis.tickStrings  # type: ignore[assignment]
    _suffix = ""


def plot_image(axis: pg.AxisItem, size: tuple[int, int], y: np.ndarray, offset: float) -> np.ndarray:
    """The plot's pixels; the widget is closed and left to Python (not deleteLater: pyqtgraph's items
    in reference cycles collected after their C++ objects were deleted can crash a later test)."""
    widget = pg.PlotWidget(axisItems={"left": axis})
    widget.setBackground("#1b1f24")
    widget.resize(*size)
    plot = widget.getPlotItem()
    plot.showGrid(x=True, y=True, alpha=0.12)
    results_view._style_axis(plot.getAxis("left"))
    plot.getAxis("left").setWidth(78)
    plot.plot(np.arange(len(y)), y + offset, pen="#26a69a", fillLevel=float(y.min() + offset), brush=(38, 166, 154, 30))
    widget.show()
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32).reshape(image.height(), image.width()).copy()
    widget.close()
    return pixels


@pytest.mark.parametrize("size", [(1554, 427), (1234, 180), (640, 333), (901, 257)])
def test_the_plot_axes_draw_the_same_pixels_as_pyqtgraph_with_their_grid_lines_filled(qtbot, monkeypatch, size):
    filled = []
    real = results_view._draw_line
    monkeypatch.setattr(results_view, "_draw_line", lambda *a: filled.append(real(*a)) or filled[-1])
    rng = np.random.default_rng(size[0])
    y = np.cumsum(rng.normal(0, 50, 3900))
    for offset in (1e5, 12_345.678, 0.0):
        fast = plot_image(_FormattedAxis(), size, y, offset)
        slow = plot_image(_PyqtgraphAxis(), size, y, offset)
        gc.collect()  # the closed plots go now, while their C++ objects are alive
        assert fast.shape == slow.shape
        assert np.array_equal(fast, slow), f"{int((fast != slow).sum())} pixels differ at {size}, {offset}"
    assert sum(filled) > len(filled) / 2  # most lines (the grid) took the fast way
