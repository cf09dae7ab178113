"""The sweep window: results table, heatmap, walk-forward chart, opening a cell in the main window for
a replay, setting up a sweep, and a real sweep started, stopped and resumed from the window.

References: sweep folders written here with known statistics (pandas-free loops give the expected
heatmap), the session config each opened cell must have, and a real `workstation sweep` process."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import ui_config_dict
from ui.main_window import MainWindow
from ui.widgets.walk_forward_chart import WalkForwardChart
from ui.windows.sweep_window import SweepWindow
from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.sweep.results import SweepFolder
from workstation.sweep.runner import sweep_definition
from workstation.sweep.spec import SweepSpec, build_plan

FAST, SLOW, CONF = "strategies.sma_5_20.params.fast", "strategies.sma_5_20.params.slow", "risk.min_confidence"


def sharpe_of(fast: int, slow: int, conf: float) -> float:
    return fast / 10 - slow / 100 + conf


def write_sweep(root: Path, store: Path, failed: tuple[int, int, float] | None = (8, 20, 0.5)) -> Path:
    """A finished sweep folder over fast x slow x min_confidence whose sharpe is `sharpe_of` (one cell
    failed), as `workstation sweep` writes it."""
    cfg = validate_config_dict(ui_config_dict(store))
    plan = build_plan(SweepSpec(params={FAST: [3, 5, 8], SLOW: [15, 20], CONF: [0.0, 0.5]}), cfg,
                      TimeManager(), "ui test")
    folder = SweepFolder(root)
    folder.write_definition(sweep_definition(plan, store, None))
    rows = []
    for cell in plan.cells:
        f, s, c = cell.params[FAST], cell.params[SLOW], cell.params[CONF]
        bad = failed == (f, s, c)
        rows.append({"cell": cell.index, "cell_id": cell.cell_id, "phase": "sweep", "window": None,
                     "status": "failed" if bad else "ok", "error": "RuntimeError: boom" if bad else None,
                     "attempts": 3 if bad else 1, FAST: f, SLOW: s, CONF: c,
                     "sharpe": None if bad else sharpe_of(f, s, c),
                     "total_return_pct": None if bad else f - s / 10, "trades": None if bad else f * s})
    folder.write_results(rows, [a.path for a in plan.axes])
    best = max((r for r in rows if r["status"] == "ok"), key=lambda r: r["sharpe"])
    folder.write_progress({"state": "finished", "done": len(rows), "ok": len(rows) - 1, "failed": 1,
                           "total": len(rows), "objective": "sharpe", "workers": 2, "cluster": "test",
                           "best": {"cell_id": best["cell_id"], "value": best["sharpe"],
                                    "params": {p: best[p] for p in (FAST, SLOW, CONF)}}})
    return root


@pytest.fixture
def main_window(qtbot, tmp_path, ui_settings, ui_configs_dir):
    w = MainWindow(settings=ui_settings, configs_dir=ui_configs_dir, runs_dir=tmp_path / "runs", modal_errors=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    for sweep_window in w._sweep_windows:
        sweep_window.close()
    w.bridge.shutdown(2.0)


def table_texts(window: SweepWindow, column_title: str) -> list[str]:
    model = window.proxy
    col = next(c for c in range(model.columnCount()) if str(model.headerData(c, Qt.Orientation.Horizontal))
               .startswith(column_title))
    return [model.index(r, col).data() for r in range(model.rowCount())]


def test_results_table_sorts_and_a_double_click_replays_the_cell(qtbot, main_window, tmp_path, ui_demo_store):
    folder = write_sweep(tmp_path / "sweep", ui_demo_store)
    window = main_window.open_sweep_window(folder)
    qtbot.waitUntil(lambda: window.model.rowCount() == 12, timeout=5000)
    assert window.state_label.text() == "finished" and "1 failed" in window.status.text()
    sharpe = [float(t) for t in table_texts(window, "Sharpe ★") if t != "–"]
    assert sharpe == sorted(sharpe, reverse=True) and sharpe[0] == pytest.approx(sharpe_of(8, 15, 0.5))
    assert f"best sharpe {table_texts(window, 'Sharpe ★')[0]}: " in window.status.text()   # the table's figure
    assert table_texts(window, "Status").count("failed") == 1
    window.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # "slow": numeric sort, not text
    assert [int(v) for v in table_texts(window, "slow")] == sorted(int(v) for v in table_texts(window, "slow"))
    # double-click the row of fast=3 slow=20 confidence=0.5
    results = window.results
    target = results[(results[FAST] == 3) & (results[SLOW] == 20) & (results[CONF] == 0.5)].iloc[0]
    source = window.model.index(window.row_ids.index(target["cell_id"]), 0)
    index = window.proxy.mapFromSource(source)
    window.table.scrollTo(index)
    rect = window.table.visualRect(index)
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    name = f"cell{target['cell']}-fast=3-slow=20-min_confidence=0.50.json"
    qtbot.waitUntil(lambda: main_window.bridge.config_path is not None
                    and main_window.bridge.config_path.name == name, timeout=5000)
    cfg = main_window.bridge.config
    assert (cfg.strategies[0].params["fast"], cfg.strategies[0].params["slow"]) == (3, 20)
    assert cfg.risk.min_confidence == 0.5 and cfg.backtest.stage_threads is True  # the replay keeps threads
    assert "press Play" in window.status.text()
    window.refresh()   # the folder's poll (every 500 ms) must not wipe the message while nothing changed
    assert "press Play" in window.status.text()


def test_heatmap_shows_the_objective_over_two_parameters_fixed_or_best_of(qtbot, tmp_path, ui_demo_store):
    folder = write_sweep(tmp_path / "sweep", ui_demo_store)
    opened: list[Path] = []
    window = SweepWindow(folder, open_config=lambda p: opened.append(p) or True)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.heatmap)
    qtbot.waitUntil(lambda: window.heatmap.item.grid.size > 0, timeout=5000)
    heatmap = window.heatmap
    heatmap.choose(FAST, SLOW, "sharpe")
    assert heatmap.xs == [3, 5, 8] and heatmap.ys == [15, 20]
    for i, slow in enumerate(heatmap.ys):  # best of min_confidence: 0.5 unless that cell failed
        for j, fast in enumerate(heatmap.xs):
            expected = max(sharpe_of(fast, slow, c) for c in (0.0, 0.5) if (fast, slow, c) != (8, 20, 0.5))
            assert heatmap.item.grid[i, j] == pytest.approx(expected)
    heatmap.fix(CONF, 0.0)
    for i, slow in enumerate(heatmap.ys):
        for j, fast in enumerate(heatmap.xs):
            assert heatmap.item.grid[i, j] == pytest.approx(sharpe_of(fast, slow, 0.0))
    # every square is written with the same decimals: three significant digits of the largest value
    grid = heatmap.item.grid
    largest = float(np.nanmax(np.abs(grid)))
    decimals = min(4, max(0, 2 - int(np.floor(np.log10(largest)))))
    shown = sorted(t.textItem.toPlainText() for t in heatmap.texts)
    assert shown == sorted(f"{v:,.{decimals}f}" for v in grid.ravel() if np.isfinite(v))
    heatmap.fix(CONF, 0.5)
    assert np.isnan(heatmap.item.grid[1, 2])  # the failed cell leaves its square empty
    # double-click the square fast=5, slow=15 (confidence 0.5): its cell opens
    view = heatmap.plot.getViewBox()
    pos = heatmap.plot.mapFromScene(view.mapViewToScene(QPointF(1.5, 0.5)))
    qtbot.mouseClick(heatmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(heatmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: bool(opened), timeout=3000)
    config = json.loads(opened[0].read_text())
    assert config["strategies"][0]["params"]["fast"] == 5 and config["strategies"][0]["params"]["slow"] == 15
    assert config["risk"]["min_confidence"] == 0.5
    window.close()


PART = "execution.participation_limit_pct"


def test_heatmap_takes_a_parameter_swept_over_null_as_one_value(qtbot, tmp_path, ui_demo_store):
    """A parameter swept over null (`participation_limit_pct: [null, 10, 25]`: whole orders, or at most
    10 % / 25 % of a bar's volume) is one value of the heatmap, "null", last on its axis; its squares
    hold its cells, and it can be held fixed at null. (Its results column holds NaN: the heatmap raised a
    KeyError before.)"""
    cfg = validate_config_dict(ui_config_dict(ui_demo_store))
    plan = build_plan(SweepSpec(params={PART: [None, 10, 25], FAST: [3, 5], SLOW: [15, 20]}), cfg, TimeManager(),
                      "ui test")
    folder = SweepFolder(tmp_path / "sweep")
    folder.write_definition(sweep_definition(plan, ui_demo_store, None))

    def sharpe(part, fast, slow) -> float:
        return (0.5 if part is None else part / 100) + fast / 10 - slow / 100

    rows = [{"cell": c.index, "cell_id": c.cell_id, "phase": "sweep", "window": None, "status": "ok", "error": None,
             "attempts": 1, PART: c.params[PART], FAST: c.params[FAST], SLOW: c.params[SLOW],
             "sharpe": sharpe(c.params[PART], c.params[FAST], c.params[SLOW]), "total_return_pct": 1.0, "trades": 3}
            for c in plan.cells]
    folder.write_results(rows, [a.path for a in plan.axes])
    folder.write_progress({"state": "finished", "done": 12, "ok": 12, "failed": 0, "total": 12, "objective": "sharpe",
                           "workers": 2, "cluster": "test", "best": None})
    opened: list[Path] = []
    window = SweepWindow(folder.root, open_config=lambda p: opened.append(p) or True)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.heatmap)
    qtbot.waitUntil(lambda: window.heatmap.item.grid.size > 0, timeout=5000)
    heatmap = window.heatmap
    assert window.results[PART].isna().sum() == 4       # as `workstation sweep` stores a null: NaN
    assert sorted(table_texts(window, "participation_limit_pct")) == ["10"] * 4 + ["25"] * 4 + ["null"] * 4
    heatmap.choose(PART, FAST, "sharpe")                  # best of slow
    assert heatmap.xs == [10, 25, None] and heatmap.ys == [3, 5]
    assert [heatmap.x_axis.labels[k] for k in range(3)] == ["10", "25", "null"]
    for i, fast in enumerate(heatmap.ys):
        for j, part in enumerate(heatmap.xs):
            assert heatmap.item.grid[i, j] == pytest.approx(max(sharpe(part, fast, s) for s in (15, 20)))
    assert "6 of 6 squares" in heatmap.caption.text()
    # the null parameter held fixed while the heatmap shows fast x slow
    heatmap.choose(FAST, SLOW, "sharpe")
    combo = heatmap.other_combos[PART]
    assert [combo.itemText(k) for k in range(combo.count())] == ["best of", "10", "25", "null"]
    combo.setCurrentIndex(combo.findText("null"))
    assert heatmap.fixed_values() == {PART: None}
    for i, slow in enumerate(heatmap.ys):
        for j, fast in enumerate(heatmap.xs):
            assert heatmap.item.grid[i, j] == pytest.approx(sharpe(None, fast, slow))
    heatmap.fix(PART, 10)
    assert heatmap.item.grid[0, 0] == pytest.approx(sharpe(10, 3, 15))
    # double-click a null square: its cell opens with the parameter null
    heatmap.choose(PART, FAST, "sharpe")
    view = heatmap.plot.getViewBox()
    pos = heatmap.plot.mapFromScene(view.mapViewToScene(QPointF(2.5, 0.5)))
    qtbot.mouseClick(heatmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(heatmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: bool(opened), timeout=3000, )
    config = json.loads(opened[0].read_text())
    assert config["execution"]["participation_limit_pct"] is None
    assert config["strategies"][0]["params"]["fast"] == 3 and config["strategies"][0]["params"]["slow"] == 15
    window.close()


def test_walk_forward_chart_shades_each_test_window():
    chart = WalkForwardChart()
    times = pd.date_range("2024-11-25 14:31", periods=6, freq="1min", tz="UTC")
    equity = pd.DataFrame({"time": times, "equity": [100.0, 101, 102, 102, 99, 104], "window": [0, 0, 0, 1, 1, 1]})
    windows = pd.DataFrame({"window": [0, 1], "test_start": ["2024-11-25", "2024-11-26"],
                            "params": [json.dumps({FAST: 3}), json.dumps({FAST: 5})],
                            "is_sharpe": [1.5, 2.0], "oos_sharpe": [0.5, -0.2]})
    chart.set_data(equity, windows, "sharpe", {FAST: "fast"}, {"windows": 2, "windows_ok": 2, "in_sample": {
        "sharpe": 1.75}, "out_of_sample": {"sharpe": 0.15}, "efficiency": 0.4})
    import pyqtgraph as pg

    regions = [i for i in chart.equity_plot.items() if isinstance(i, pg.LinearRegionItem)]
    assert sorted(r.getRegion() for r in regions) == [(0.0, 3.0), (3.0, 6.0)]
    labels = sorted(i.toPlainText() for i in chart.equity_plot.items() if isinstance(i, pg.TextItem))
    assert labels == ["W0  11-25", "W1  11-26"]
    ticks = chart.bars_plot.getAxis("bottom")._tickLevels[0]
    assert [t[1] for t in ticks] == ["W0\n3", "W1\n5"]
    assert "under each window, top to bottom: fast" in chart.legend.text()
    bars = [i for i in chart.bars_plot.items() if isinstance(i, pg.BarGraphItem)]
    heights = sorted(tuple(b.opts["height"]) for b in bars)
    assert heights == [(0.5, -0.2), (1.5, 2.0)]
    assert "efficiency 0.4" in chart.summary.text()
    chart.set_data(equity, windows, "sharpe", {FAST: "fast"}, {"windows": 2, "windows_ok": 2, "efficiency": None})
    assert "efficiency not defined (the in-sample return is not positive)" in chart.summary.text()


def test_walk_forward_chart_names_every_window_and_its_parameters(qtbot):
    """4 windows of a 2-parameter walk-forward in the sweep window's room (880 px): the bars' axis draws
    every window's name and its parameter values (it leaves out labels that would overlap: "name=value"
    pairs on one line named 2 of the 4 windows, run together), and the windows' names on the equity stay
    above the curve."""
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPainter

    chart = WalkForwardChart()
    qtbot.addWidget(chart)
    chart.resize(880, 600)
    chart.show()
    qtbot.waitExposed(chart)
    minutes, reward = "strategies.orb_15.params.range_minutes", "strategies.orb_15.params.reward_risk"
    chosen = [{minutes: 30, reward: 1.5}, {minutes: 30, reward: 1.5}, {minutes: 5, reward: 3.0},
              {minutes: 5, reward: 1.5}]
    times = pd.date_range("2021-07-19 13:30", periods=40, freq="1min", tz="UTC")
    curve = [100_000.0 - 40 * k for k in range(40)]      # falls from its first point: its maximum
    equity = pd.DataFrame({"time": times, "equity": curve, "window": [k // 10 for k in range(40)]})
    windows = pd.DataFrame({"window": [0, 1, 2, 3], "test_start": ["2021-07-19", "2021-07-26", "2021-08-02",
                                                                   "2021-08-09"],
                            "params": [json.dumps(p) for p in chosen],
                            "is_sharpe": [-6.9, -7.4, -3.5, -6.1], "oos_sharpe": [-8.8, -16.4, -14.0, -5.8]})
    chart.set_data(equity, windows, "sharpe", {minutes: "range_minutes", reward: "reward_risk"},
                   {"windows": 4, "windows_ok": 4, "efficiency": None})
    qtbot.wait(50)
    axis = chart.bars_plot.getAxis("bottom")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis_spec, _tick_specs, text_specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert [spec[2] for spec in text_specs] == ["W0\n30\n1.5", "W1\n30\n1.5", "W2\n5\n3.0", "W3\n5\n1.5"]
    rects = [spec[0] for spec in text_specs]
    assert all(not a.intersects(b) for a, b in itertools.pairwise(rects))
    assert all(r.height() <= axis.height() for r in rects)      # the axis is tall enough for 3 lines
    assert "top to bottom: range_minutes, reward_risk" in chart.legend.text()
    names = [i for i in chart.equity_plot.items() if isinstance(i, pg.TextItem)]
    assert len(names) == 4 and all(item.pos().y() > max(curve) for item in names)
    top = chart.equity_plot.getViewBox().viewRange()[1][1]
    assert top > names[0].pos().y()                             # the names are inside the view


def test_the_setup_form_checks_the_sweep_before_anything_runs(qtbot, tmp_path, ui_small_config):
    window = SweepWindow(config_path=ui_small_config)
    qtbot.addWidget(window)
    setup = window.setup
    assert [p for p, _ in setup.param_rows()] == [FAST, SLOW]  # the first strategy's parameters offered
    assert setup.constraints_edit.text() == "fast < slow"
    setup.out_edit.setText(str(tmp_path / "out"))
    plan = setup.check()
    assert plan is not None and setup.message.text().startswith(f"✓ {plan.total_cells} cells")
    setup.add_param("risk.min_quality_pct", "90,101")
    assert setup.check() is None
    assert "--param risk.min_quality_pct: value 101" in setup.message.text()
    assert not (tmp_path / "out").exists()


def test_the_setup_form_offers_the_parameters_a_config_leaves_at_their_defaults(qtbot, tmp_path, ui_small_config):
    """The config sets only the quantity: the form still starts with the strategy's fast and slow, at
    values around the class defaults (5, 20), and offers them in every row's list; a path picked from the
    list fills an empty values field around its current value."""
    config = json.loads(Path(ui_small_config).read_text())
    config["strategies"] = [{**config["strategies"][0], "params": {"quantity": 100}}]
    path = tmp_path / "quantity_only.json"
    path.write_text(json.dumps(config))
    window = SweepWindow(config_path=path)
    qtbot.addWidget(window)
    setup = window.setup
    assert setup.param_rows() == [(FAST, "3:7:1"), (SLOW, "10:30:5")] and setup.constraints_edit.text() == "fast < slow"
    setup.add_param()
    combo, edit = setup.params.cellWidget(2, 0), setup.params.cellWidget(2, 1)
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items[:3] == [FAST, SLOW, FAST.replace("fast", "quantity")]
    index = items.index("risk.min_quality_pct")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    quality = validate_config_dict(config).risk.min_quality_pct
    assert edit.text() == f"{quality * 0.5:g}:{quality * 1.5:g}:{quality * 0.25:g}" and quality > 0
    edit.setText("90,95")                                   # typed values are never replaced
    combo.activated.emit(index)
    assert edit.text() == "90,95"


def test_a_sweep_started_from_the_window_can_be_stopped_and_resumed(qtbot, tmp_path, ui_small_config,
                                                                     monkeypatch):
    """The real thing: `workstation sweep` with its own local Ray, started, stopped and resumed from
    the window; its Ray processes are gone afterwards."""
    from tests.workstation.sweep.test_sweep_cluster import wait_gone

    ray_tmp = Path(tempfile.mkdtemp(prefix="rg", dir="/tmp"))
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))
    window = SweepWindow(config_path=ui_small_config)
    qtbot.addWidget(window)
    window.show()
    setup = window.setup
    setup.params.setRowCount(0)
    setup.add_param(FAST, "3,4,5")
    setup.add_param(SLOW, "20")
    setup.add_param("backtest.speed_multiplier", "40000")  # clock-driven: ~0.6 s a session, Stop lands mid-sweep
    setup.workers_spin.setValue(1)
    out = tmp_path / "sweep"
    setup.out_edit.setText(str(out))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    try:
        setup.start_button.setFocus()
        qtbot.mouseClick(setup.start_button, Qt.MouseButton.LeftButton)
        assert window.running()
        # the disabled Start button passed its focus on, to the first parameter's name in Xvfb: a key pressed
        # then overwrote it; the results tabs take it
        assert window.tabs.tabBar().hasFocus(), QApplication.focusWidget()
        qtbot.waitUntil(lambda: window.model.rowCount() >= 1, timeout=120_000)
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.running(), timeout=60_000)
        window.refresh()
        assert window.state_label.text() == "interrupted" and window.resume_button.isEnabled()
        stopped = len(pd.read_parquet(out / "results.parquet"))
        assert 1 <= stopped < 3
        qtbot.mouseClick(window.resume_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.running(), timeout=120_000)
        window.refresh()
        assert window.state_label.text() == "finished" and window.model.rowCount() == 3
        assert f"{3 - stopped} computed now, {stopped} from before" in window.log.toPlainText()
    finally:
        if window.running():
            window.stop()
            window.process.waitForFinished(30_000)
        left = wait_gone(str(ray_tmp), 15.0)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert not left, f"Ray processes of the window's sweep still running: {left}"


def test_run_menu_opens_the_sweep_window_on_the_selected_config(qtbot, main_window, ui_small_config):
    assert main_window.load_config(ui_small_config)
    run_menu = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&Run")
    assert main_window.sweep_action in run_menu.actions()
    main_window.sweep_action.trigger()
    window = main_window._sweep_windows[-1]
    assert window.isVisible() and Path(window.setup.config_edit.text()) == ui_small_config


def test_results_table_sorts_like_the_keys_of_every_cell_with_numpy(qtbot):
    """The results table sorts through numpy ranks (at 20,000 cells Qt's proxy took ~3 s of the UI thread
    per refresh and per click on a title). Every column sorts as a stable sort of the cells by their key
    does (numbers by value with missing and non-finite values first; a column holding any text as text;
    the walk-forward window by window, then phase), ascending and descending."""
    import math

    from ui.windows.sweep_window import _key

    rng = np.random.default_rng(7)
    n = 400
    fast = rng.choice([3.0, 5.0, 8.0, 13.0], n)
    mode = rng.choice(["a", "b", "10", "9"], n).astype(object)
    mode[rng.random(n) < 0.2] = 5                                       # numbers among the texts
    sharpe = rng.normal(size=n)
    sharpe[rng.random(n) < 0.1] = np.nan
    sharpe[rng.random(n) < 0.05] = np.inf
    frame = pd.DataFrame({
        "cell": np.arange(n), "cell_id": [f"c{i}" for i in range(n)], "window": rng.integers(0, 6, n),
        "phase": rng.choice(["train", "test"], n), "status": rng.choice(["ok", "failed"], n, p=[0.9, 0.1]),
        "p.fast": fast, "p.mode": mode, "sharpe": sharpe, "trades": rng.integers(0, 50, n),
        "total_return_pct": rng.normal(size=n) * 10, "error": [None] * n,
    })
    window = SweepWindow()
    qtbot.addWidget(window)
    window.definition = {"params": [{"path": "p.fast", "alias": "fast"}, {"path": "p.mode", "alias": "mode"}],
                         "objective": "sharpe", "direction": "max", "windows": [{"index": 0}]}
    window.results = frame
    window._show_results()
    titles = [window.model.headerData(c, Qt.Orientation.Horizontal) for c in range(window.model.columnCount())]

    def old_key(name: str, i: int):
        row = frame.iloc[i]
        if name == "Window":
            return (_key(row["window"]), str(row["phase"]))
        value = {"Cell": row["cell"], "fast": row["p.fast"], "Status": row["status"], "Sharpe ★": row["sharpe"],
                 "Trades": row["trades"], "Return %": row["total_return_pct"]}[name]
        key = _key(value)
        return key if not (isinstance(key, float) and math.isnan(key)) else -math.inf

    for name in ("Cell", "Window", "fast", "Status", "Sharpe ★", "Trades", "Return %"):
        column = titles.index(name)
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            window.table.sortByColumn(column, order)
            shown = [window.proxy.mapToSource(window.proxy.index(r, 0)).row() for r in range(n)]
            keys = [old_key(name, i) for i in range(n)]
            expected = sorted(range(n), key=lambda i: keys[i], reverse=order == Qt.SortOrder.DescendingOrder)
            assert [keys[i] for i in shown] == [keys[i] for i in expected], (name, order)
    # a column holding text and numbers sorts all as text
    window.table.sortByColumn(titles.index("mode"), Qt.SortOrder.AscendingOrder)
    shown = [window.proxy.mapToSource(window.proxy.index(r, 0)).row() for r in range(n)]
    texts = [str(_key(v)) for v in mode]
    assert [texts[i] for i in shown] == sorted(texts)
