"""SweepWindow: set up and watch a parameter sweep, explore its results, replay any cell.

The sweep itself runs as a `workstation sweep` process (QProcess), so Ray lives outside the GUI
process and Stop is the command's own SIGTERM handling (finished cells kept, resumable). The window
only reads the sweep folder the command writes (progress.json, results.parquet, walk_forward*),
polled twice a second, so it also follows a sweep started from a shell
(`workstation-gui --sweep SWEEP_DIR`). Tabs: the sortable results table, the heatmap of any column
over two parameters, the walk-forward chart, the command's output. A double-click on a cell (table
or heatmap) writes that cell's session config to SWEEP_DIR/cells/cell<N>-<parameters>.json and opens
it in the main window for a visual replay. GUI thread only; no trading logic here.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QModelIndex, QProcess, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.widgets.sweep_heatmap import SweepHeatmap
from ui.widgets.sweep_setup import SweepSetupForm
from ui.widgets.walk_forward_chart import WalkForwardChart
from ui.windows.frame_table import ColumnData, FrameTableModel, LazyCells, fit_columns, make_table
from ui.windows.results_view import EmptyState
from workstation.errors import WorkstationError
from workstation.sweep.results import RESULTS_FILE, SweepFolder, is_missing, param_text, params_label
from workstation.sweep.spec import replay_config

POLL_MS = 500
TABLE_STATISTICS = (
    ("total_return_pct", "Return %"), ("sharpe", "Sharpe"), ("max_drawdown_pct", "Max DD %"),
    ("profit_factor", "Profit f."), ("win_rate_pct", "Win %"), ("trades", "Trades"),
    ("coverage_pct", "Coverage %"), ("run_time_s", "Run s"),
)
HEATMAP_COLUMNS = ("sharpe", "total_return_pct", "net_pnl", "profit_factor", "max_drawdown_pct", "win_rate_pct",
                   "avg_trade_pnl", "trades", "exposure_pct", "run_time_s")


def _text(value: Any, decimals: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    try:
        if pd.isna(value):
            return "–"
    except (TypeError, ValueError):
        pass
    if isinstance(value, float):
        return f"{value:,.{decimals}f}"
    return str(value)


def _key(value: Any) -> Any:
    try:
        v = float(value)
        return v if math.isfinite(v) else -math.inf
    except (TypeError, ValueError):
        return str(value)


def _signed_colour(value: Any) -> QColor | None:
    if not isinstance(value, float) or not math.isfinite(value):
        return None
    return QColor(theme.UP if value > 0 else theme.DOWN if value < 0 else theme.TEXT)


def _keys(values: pd.Series) -> np.ndarray | list[str]:
    """Sort keys of a results column the numpy sort proxy ranks: numbers as floats (missing and
    non-finite values -inf, first ascending), or, in a column holding any text, every value as text."""
    if values.dtype.kind in "fiub":
        keys = values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        keys[~np.isfinite(keys)] = -np.inf
        return keys
    keys = [_key(v) for v in values]
    if all(isinstance(k, float) for k in keys):
        return np.array(keys, dtype=np.float64)
    return [str(k) for k in keys]


def _window_keys(windows: pd.Series, phases: pd.Series) -> np.ndarray:
    """One float per (window, phase): by window, then phase by name (test before train)."""
    names = sorted({str(p) for p in phases})
    rank = {name: k for k, name in enumerate(names)}
    window = _keys(windows)
    if not isinstance(window, np.ndarray):
        window = np.unique(np.array(window, dtype=str), return_inverse=True)[1].astype(np.float64)
    return window * len(names) + np.array([rank[str(p)] for p in phases], dtype=np.float64)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class SweepWindow(QMainWindow):
    """See the module docstring. `open_config(path)` loads a config into the main window (True if done)."""

    cell_opened = Signal(str)  # path of the cell config handed to the main window

    def __init__(self, sweep_dir: str | Path | None = None, config_path: str | Path | None = None,
                 store: str | Path | None = None, open_config: Callable[[Path], bool] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SweepWindow")
        self.setWindowTitle("Parameter sweep")
        self.open_config = open_config
        self.folder: SweepFolder | None = None
        self.definition: dict | None = None
        self.results = pd.DataFrame()
        self.row_ids: list[str] = []
        self._stamps: dict[str, float] = {}
        self.process: QProcess | None = None
        self.last_error = ""

        self.setup = SweepSetupForm(config_path, store)
        self.setup.start_requested.connect(self.start)
        scroll = QScrollArea()
        scroll.setObjectName("SweepSetupScroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.setup)
        scroll.setMinimumWidth(410)

        self.title = QLabel("No sweep yet")
        self.title.setObjectName("SweepTitle")
        self.title.setFont(theme.ui_font(theme.UI_POINT_SIZE + 3, bold=True))
        self.state_label = QLabel("")
        self.state_label.setObjectName("SweepState")
        self.progress = QProgressBar()
        self.progress.setObjectName("SweepProgress")
        self.progress.setTextVisible(True)
        self.status = QLabel("Set up a sweep on the left, or open a sweep folder.")
        self.status.setObjectName("SweepStatus")
        self.status.setWordWrap(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the sweep; finished cells are kept and it can be resumed")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Run the same sweep again: only the missing cells are computed")
        self.resume_button.clicked.connect(self.resume)
        self.open_button = QPushButton("Open cell")
        self.open_button.setToolTip("Replay the selected cell in the main window (or double-click it)")
        self.open_button.clicked.connect(self.open_selected)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.state_label)
        head.addStretch(1)
        for button in (self.open_button, self.resume_button, self.stop_button):
            head.addWidget(button)

        self.model = FrameTableModel(self)
        self.table, self.proxy = make_table(self.model, 0, Qt.SortOrder.DescendingOrder)
        self.table.setObjectName("SweepResults")
        self.table.doubleClicked.connect(self._table_double_clicked)
        self.empty = EmptyState("No finished cells yet", "Cells appear here as they finish.")
        results_page = QWidget()
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.empty)
        results_layout.addWidget(self.table)
        self.heatmap = SweepHeatmap()
        self.heatmap.cell_activated.connect(self.open_cell)
        self.heatmap.cell_selected.connect(self.select_cell)
        self.walk_forward = WalkForwardChart()
        self.log = QPlainTextEdit()
        self.log.setObjectName("SweepLog")
        self.log.setReadOnly(True)
        self.log.setFont(theme.mono_font())
        self.log.setMaximumBlockCount(5000)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("SweepTabs")
        self.tabs.addTab(results_page, "Results")
        self.tabs.addTab(self.heatmap, "Heatmap")
        self.tabs.addTab(self.walk_forward, "Walk-forward")
        self.tabs.addTab(self.log, "Log")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(10, 10, 10, 6)
        right_layout.addLayout(head)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.tabs, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([440, 960])
        self.setCentralWidget(self.splitter)

        self._progress_text = ""   # the progress line last shown in the status
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.resize(1400, 860)
        self._update_buttons()
        if sweep_dir is not None:
            self.load_folder(sweep_dir)

    # ------------------------------------------------------------------ folder
    def load_folder(self, path: str | Path) -> None:
        """Show (and follow) the sweep folder at `path`."""
        self.folder = SweepFolder(path)
        self.definition = None
        self._stamps = {}
        self._progress_text = ""
        self.title.setText(Path(path).name)
        self.title.setToolTip(str(Path(path).resolve()))
        self.refresh()

    def _changed(self, name: str) -> bool:
        path = self.folder.root / name  # type: ignore[union-attr]
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return False
        if self._stamps.get(name) == stamp:
            return False
        self._stamps[name] = stamp
        return True

    def refresh(self) -> None:
        """Read what changed in the sweep folder and redraw it."""
        if self.folder is None:
            return
        try:
            if self.definition is None:
                self.definition = self.folder.definition()
                if self.definition is not None and not self.running():
                    self.setup.load_command(self._recorded_command(), self.definition.get("cwd"))
                if self.definition is not None and not self.definition.get("windows"):
                    self.walk_forward.summary.setText("This sweep has no walk-forward windows: tick Walk-forward "
                                                      "in the form to run one.")
            if self._changed(RESULTS_FILE):
                self.results = self.folder.read_results() if self.folder.results_path.is_file() else pd.DataFrame()
                self._show_results()
            if self._changed("walk_forward.json"):
                self._show_walk_forward()
        except WorkstationError as exc:
            self.status.setText(str(exc))
            self._progress_text = ""   # the next readable progress replaces the error
            return
        self._show_progress()
        self._update_buttons()

    def _params(self) -> list[tuple[str, str]]:
        return [(p["path"], p["alias"]) for p in (self.definition or {}).get("params", [])]

    def _objective(self) -> tuple[str, str]:
        d = self.definition or {}
        return d.get("objective", "sharpe"), d.get("direction", "max")

    # ------------------------------------------------------------------ progress
    def _show_progress(self) -> None:
        progress = self.folder.read_progress() if self.folder else None  # type: ignore[union-attr]
        running = self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning
        if progress is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.state_label.setText("starting…" if running else "")
            return
        total, done = int(progress.get("total") or 0), int(progress.get("done") or 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done:,} / {total:,} cells")
        state = progress.get("state", "")
        if state == "running" and not running and not _alive(progress.get("pid")):
            state = "stopped"
        colour = {"running": theme.ACCENT_LIGHT, "finished": theme.UP, "interrupted": theme.AMBER}.get(state, theme.MUTED)
        self.state_label.setText(state)
        self.state_label.setStyleSheet(f"color: {colour}; font-weight: 600; padding-left: 8px;")
        parts = []
        if progress.get("failed"):
            parts.append(f"{progress['failed']} failed")
        if state == "running":
            parts.append(f"{float(progress.get('cells_per_s') or 0) * 60:,.1f} cells/min, ETA {_clock(progress.get('eta_s'))}")
        best = progress.get("best")
        if best:
            aliases = dict(self._params())
            label = params_label(aliases, best.get("params") or {})
            parts.append(f"best {progress.get('objective')} {_text(best.get('value'))}: {label}")   # as in the table
        parts.append(f"{progress.get('workers', '?')} workers on {progress.get('cluster', '?')}")
        text = " · ".join(parts)
        if text != self._progress_text:   # unchanged progress leaves a message shown since (cell opened…)
            self._progress_text = text
            self.status.setText(text)

    # ------------------------------------------------------------------ results
    def _show_results(self) -> None:
        frame = self.results
        self.empty.setVisible(frame.empty)
        self.table.setVisible(not frame.empty)
        if frame.empty:
            self.model.set_columns([])
            self.row_ids = []
            return
        objective, direction = self._objective()
        wf = bool((self.definition or {}).get("windows"))
        # sort keys numpy ranks (ColumnSortProxy): at 20,000 cells Qt's proxy took ~3 s of the UI thread for
        # each refresh and each click on a title, asking the model for every compared cell
        columns = [ColumnData("Cell", _keys(frame["cell"]), [_text(v) for v in frame["cell"]])]
        if wf:
            columns.append(ColumnData("Window", _window_keys(frame["window"], frame["phase"]),
                                      [f"{_text(w)} {p}" for w, p in zip(frame["window"], frame["phase"], strict=True)],
                                      numeric=False))
        for path, alias in self._params():
            values = frame[path] if path in frame else pd.Series([None] * len(frame))
            columns.append(ColumnData(alias, _keys(values), [param_text(v) if is_missing(v)
                                                             else _text(v, 6).rstrip("0").rstrip(".")
                                                             if isinstance(v, float) else _text(v)
                                                             for v in values], tooltip=path))
        failed = frame["status"] != "ok"
        status_colours = [QColor(theme.DOWN) if f else None for f in failed]
        columns.append(ColumnData("Status", frame["status"].tolist(), frame["status"].tolist(), status_colours,
                                  numeric=False))
        titles = dict(TABLE_STATISTICS)
        shown = [(objective, titles.get(objective, objective))] + [(c, t) for c, t in TABLE_STATISTICS if c != objective]
        for column, title in shown:
            values = frame[column] if column in frame else pd.Series([None] * len(frame))
            listed = values.tolist()
            colours = LazyCells(listed, _signed_colour) if column in ("total_return_pct", "net_pnl", "sharpe") else None
            decimals = 0 if column == "trades" else 2
            # texts and colours made when drawn (or sampled for the widths): 20,000 cells x 9 figures
            columns.append(ColumnData(f"{title} ★" if column == objective else title, _keys(values),
                                      LazyCells(listed, lambda v, d=decimals: _text(v, d)), colours,
                                      tooltip=f"{column} (the objective, {direction}imised)" if column == objective
                                      else column))
        errors = frame["error"] if "error" in frame else pd.Series([None] * len(frame))
        columns.append(ColumnData("Error", [str(e or "") for e in errors], [_text(e) if e else "" for e in errors],
                                  [QColor(theme.DOWN)] * len(frame), numeric=False))
        sort_column, order = self.proxy.sortColumn(), self.proxy.sortOrder()
        first = self.model.columnCount() == 0
        selected = self.selected_cell_id()
        self.row_ids = frame["cell_id"].astype(str).tolist()
        self.model.set_columns(columns)
        objective_column = next(i for i, c in enumerate(columns) if c.title.endswith("★"))
        if first:
            best_first = Qt.SortOrder.DescendingOrder if direction == "max" else Qt.SortOrder.AscendingOrder
            self.table.sortByColumn(objective_column, best_first)
            fit_columns(self.table, stretch_column=len(columns) - 1)
        else:
            self.table.sortByColumn(sort_column, order)
        if selected:
            self.select_cell(selected)
        numeric = [objective] + [c for c in HEATMAP_COLUMNS if c != objective and c in frame]
        cells = frame[frame["phase"] != "test"]
        new_heatmap = not self.heatmap.params
        # walk-forward: the window is one more dimension (held at the latest window at first)
        self.heatmap.set_data(cells, self._params() + ([("window", "window")] if wf else []), objective, direction,
                              numeric)
        if wf and new_heatmap and "window" in self.heatmap.other_combos and cells["window"].notna().any():
            self.heatmap.fix("window", int(cells["window"].max()))

    def _show_walk_forward(self) -> None:
        root = self.folder.root  # type: ignore[union-attr]
        try:
            summary = json.loads((root / "walk_forward.json").read_text(encoding="utf-8"))
            equity = pd.read_parquet(root / "walk_forward_equity.parquet")
            windows = pd.read_parquet(root / "walk_forward.parquet")
        except (OSError, ValueError):
            return
        self.walk_forward.set_data(equity, windows, summary.get("objective", "sharpe"), dict(self._params()),
                                   summary.get("overall"))

    # ------------------------------------------------------------------ cells
    def _source_row(self, proxy_index: QModelIndex) -> int:
        return self.proxy.mapToSource(proxy_index).row()

    def selected_cell_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or not self.row_ids:
            return None
        return self.row_ids[self._source_row(rows[0])]

    def select_cell(self, cell_id: str) -> None:
        if cell_id not in self.row_ids:
            return
        source = self.model.index(self.row_ids.index(cell_id), 0)
        index = self.proxy.mapFromSource(source)
        self.table.selectRow(index.row())
        self.table.scrollTo(index)

    def _table_double_clicked(self, index: QModelIndex) -> None:
        self.open_cell(self.row_ids[self._source_row(index)])

    def open_selected(self) -> None:
        cell_id = self.selected_cell_id()
        if cell_id:
            self.open_cell(cell_id)

    def open_cell(self, cell_id: str) -> Path | None:
        """Write the cell's config to cells/cell<N>-<parameters>.json and open it in the main window."""
        if self.folder is None or self.definition is None or self.results.empty:
            return None
        rows = self.results[self.results["cell_id"] == cell_id]
        if rows.empty:
            return None
        row = rows.iloc[0].to_dict()
        params = {p: row.get(p) for p, _ in self._params()}
        window = None if pd.isna(row.get("window")) else int(row["window"])
        try:
            config = replay_config(self.definition, params, str(row.get("phase") or "sweep"), window)
        except WorkstationError as exc:
            self.status.setText(f"cannot open cell {cell_id}: {exc}")
            return None
        aliases = dict(self._params())
        label = " ".join(f"{aliases.get(p, p)}={param_text(v) if is_missing(v) else _text(v)}" for p, v in params.items())
        config["name"] = f"{config['name']} [sweep cell {row.get('cell')}: {label}]"[:120]
        stem = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"cell{row.get('cell')}-{label.replace(' ', '-')}")[:80]
        path = self.folder.write_cell_config(stem, config)
        self.cell_opened.emit(str(path))
        if self.open_config is not None and self.open_config(path):
            self.status.setText(f"Opened cell {row.get('cell')} ({label}) in the main window: press Play to replay it.")
        return path

    # ------------------------------------------------------------------ the process
    def start(self, arguments: list[str], cwd: str | None = None) -> None:
        """Run `workstation sweep` with `arguments` (in `cwd`, default the current folder) and follow
        its folder."""
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            return
        out = arguments[arguments.index("--out") + 1]
        self.log.appendPlainText("$ workstation sweep " + " ".join(arguments))
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "workstation.cli", "sweep", *arguments])
        process.setWorkingDirectory(cwd or str(Path.cwd()))
        self.process = process
        self.load_folder(Path(cwd or Path.cwd()) / out)
        process.start()
        self.tabs.setCurrentIndex(0)
        self._update_buttons()

    def _read_output(self) -> None:
        data = bytes(self.process.readAllStandardOutput()).decode(errors="replace")  # type: ignore[union-attr]
        for line in data.replace("\r", "\n").splitlines():
            if line.strip():
                self.log.appendPlainText(line)

    def _finished(self, code: int, _status) -> None:
        self.log.appendPlainText(f"[workstation sweep exited with code {code}]")
        if code == 2:
            self.last_error = self.log.toPlainText().splitlines()[-2] if self.log.blockCount() > 1 else ""
            self.tabs.setCurrentWidget(self.log)
        self.refresh()
        self._update_buttons()

    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask the sweep to stop (SIGTERM): running cells are cancelled, finished ones kept."""
        if self.running():
            self.process.terminate()  # type: ignore[union-attr]
            self.status.setText("Stopping: running cells are cancelled, finished cells are kept…")
            return
        progress = self.folder.read_progress() if self.folder else None
        pid = (progress or {}).get("pid")
        if progress and progress.get("state") == "running" and _alive(pid):
            os.kill(int(pid), signal.SIGTERM)  # a sweep started from a shell

    def _recorded_command(self) -> list[str]:
        command = list((self.definition or {}).get("command") or [])
        return command[command.index("sweep") + 1:] if "sweep" in command else []

    def resume(self) -> None:
        """Run the recorded command of this folder again, from the folder it was started in (only the
        missing cells are computed)."""
        arguments = self._recorded_command()
        if arguments:
            self.start(arguments, cwd=(self.definition or {}).get("cwd"))

    def _update_buttons(self) -> None:
        running = self.running()
        progress = self.folder.read_progress() if self.folder else None
        external = bool(progress and progress.get("state") == "running" and _alive(progress.get("pid")))
        self.stop_button.setEnabled(running or external)
        resumable = bool(self._recorded_command())
        self.resume_button.setEnabled(not running and not external and resumable and bool(progress)
                                      and progress.get("state") != "finished")
        if running and self.focusWidget() is self.setup.start_button:     # (hasFocus: only while active)
            # a disabled button passes its focus on, here to the first parameter's name: a key pressed then
            # overwrote it (Xvfb). The results tabs take it instead (the table shows once a cell is done).
            self.tabs.tabBar().setFocus(Qt.FocusReason.OtherFocusReason)
        self.setup.start_button.setEnabled(not running)
        self.open_button.setEnabled(not self.results.empty)

    def closeEvent(self, event) -> None:
        if self.running():
            self.process.terminate()  # type: ignore[union-attr]
            self.process.waitForFinished(15_000)  # type: ignore[union-attr]
        self.timer.stop()
        super().closeEvent(event)


def _alive(pid: Any) -> bool:
    """Whether the sweep process `pid` (from progress.json) still runs: ended and not reaped yet (a
    zombie, e.g. one the window itself started and killed) is not running (store.lock.pid_alive)."""
    from workstation.store.lock import pid_alive

    try:
        return int(pid) > 0 and pid_alive(int(pid))
    except (TypeError, ValueError):
        return False
