"""SweepSetupForm: sets up a sweep as the `workstation sweep` command line the window then runs.

The form never runs anything itself: `arguments()` gives the command's options, and `check()` runs
the command's own checks in-process (workstation.sweep.commands.prepare: the config, every path and
value, the constraints, the walk-forward windows) without Ray, so the user sees "24 cells" or the
exact error before starting. GUI thread only.
"""

from __future__ import annotations

import datetime as dt
import shlex
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.file_dialogs import existing_directory, open_file_name
from workstation.errors import WorkstationError
from workstation.sweep.spec import OBJECTIVES, resolve_path, strategy_parameters, suggested_paths


def _default_values(value) -> str:
    """A small range around a parameter's current value (five values), as a starting point."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if isinstance(value, int):
        step = max(1, round(abs(value) / 4))
        return f"{max(1, value - 2 * step)}:{value + 2 * step}:{step}"
    return f"{value * 0.5:g}:{value * 1.5:g}:{value * 0.25:g}"


class SweepSetupForm(QWidget):
    """The sweep's settings; `start_requested` carries the command's options."""

    start_requested = Signal(list)

    def __init__(self, config_path: str | Path | None = None, store: str | Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SweepSetup")
        self._config: dict = {}
        self.config_edit = QLineEdit(str(config_path or ""))
        self.config_edit.setObjectName("SweepConfig")
        self.config_edit.editingFinished.connect(self._config_changed)
        self.store_edit = QLineEdit(str(store or ""))
        self.store_edit.setPlaceholderText("the config's data_source.store_path")

        self.params = QTableWidget(0, 2)
        self.params.setObjectName("SweepParams")
        self.params.setHorizontalHeaderLabels(["Parameter", "Values"])
        self.params.verticalHeader().setVisible(False)
        self.params.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.params.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.params.horizontalHeader().resizeSection(1, 120)
        self.params.verticalHeader().setDefaultSectionSize(30)
        self.params.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.params.setMinimumHeight(130)
        add, remove = QToolButton(), QToolButton()
        add.setText("+")
        add.setToolTip("Add a parameter")
        add.clicked.connect(lambda: self.add_param())
        remove.setText("−")
        remove.setToolTip("Remove the selected parameter")
        remove.clicked.connect(self._remove_param)
        param_buttons = QHBoxLayout()
        hint = QLabel("3,5,8 · 15:40:5 (ends in) · 0.1:0.9 (random)")
        hint.setStyleSheet(f"color: {theme.MUTED};")
        param_buttons.addWidget(hint, 1)
        param_buttons.addWidget(add)
        param_buttons.addWidget(remove)

        self.constraints_edit = QLineEdit()
        self.constraints_edit.setObjectName("SweepConstraints")
        self.constraints_edit.setPlaceholderText("fast < slow; slow - fast >= 5")
        self.objective_combo = QComboBox()
        self.objective_combo.setObjectName("SweepObjective")
        self.objective_combo.setEditable(True)
        self.objective_combo.addItems(list(OBJECTIVES))
        self.direction_combo = QComboBox()
        self.direction_combo.addItems(["max", "min"])
        self.method_combo = QComboBox()
        self.method_combo.setObjectName("SweepMethod")
        self.method_combo.addItems(["grid", "random"])
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(1, 1_000_000)
        self.samples_spin.setValue(50)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.method_combo.currentTextChanged.connect(self._method_changed)

        self.walk_forward = QGroupBox("Walk-forward, in trading days")
        self.walk_forward.setObjectName("SweepWalkForward")
        self.walk_forward.setCheckable(True)
        self.walk_forward.setChecked(False)
        self.train_spin, self.test_spin, self.step_spin = QSpinBox(), QSpinBox(), QSpinBox()
        for spin, value in ((self.train_spin, 20), (self.test_spin, 5), (self.step_spin, 5)):
            spin.setRange(1, 5000)
            spin.setValue(value)
        wf = QHBoxLayout(self.walk_forward)
        for caption, spin in (("train", self.train_spin), ("test", self.test_spin), ("step", self.step_spin)):
            wf.addWidget(QLabel(caption))
            wf.addWidget(spin)
        wf.addStretch(1)

        self.workers_spin = QSpinBox()
        self.workers_spin.setObjectName("SweepWorkers")
        self.workers_spin.setRange(0, 10_000)
        self.workers_spin.setSpecialValueText("every CPU")
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("local cluster (or HOST:PORT of a Ray head)")
        self.keep_combo = QComboBox()
        self.keep_combo.addItems(["no run folders", "best K cells", "every cell"])
        self.keep_spin = QSpinBox()
        self.keep_spin.setRange(1, 100_000)
        self.keep_spin.setValue(5)
        self.out_edit = QLineEdit()
        self.out_edit.setObjectName("SweepOut")

        for spin in (self.samples_spin, self.seed_spin, self.keep_spin, self.train_spin, self.test_spin,
                     self.step_spin):
            spin.setMaximumWidth(90)
        self.workers_spin.setMaximumWidth(110)
        self.direction_combo.setMaximumWidth(70)
        self.method_combo.setMaximumWidth(90)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Config", self._with_browse(self.config_edit, self._browse_config))
        form.addRow("Bar store", self.store_edit)
        form.addRow(self._section("Parameters"))
        form.addRow(self.params)
        form.addRow(param_buttons)
        form.addRow("Constraints", self.constraints_edit)
        form.addRow("Objective", self._row(self.objective_combo, self.direction_combo))
        form.addRow("Method", self._row(self.method_combo, stretch=True))
        form.addRow("Samples", self._row(self.samples_spin, QLabel("seed"), self.seed_spin, stretch=True))
        form.addRow(self.walk_forward)
        form.addRow(self._section("Where"))
        form.addRow("Workers", self._row(self.workers_spin, stretch=True))
        form.addRow("Ray address", self.address_edit)
        form.addRow("Keep runs", self._row(self.keep_combo, self.keep_spin))
        form.addRow("Sweep folder", self._with_browse(self.out_edit, self._browse_out))

        self.message = QLabel("")
        self.message.setObjectName("SweepCheckMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Check the sweep and count its cells (nothing runs)")
        self.check_button.clicked.connect(self.check)
        self.start_button = QPushButton("Start sweep")
        self.start_button.setObjectName("SweepStart")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._start)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.start_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self._method_changed(self.method_combo.currentText())
        self._keep_changed()
        self.keep_combo.currentIndexChanged.connect(self._keep_changed)
        self._config_changed()

    # ------------------------------------------------------------------ layout helpers
    @staticmethod
    def _row(*widgets: QWidget, stretch: bool = False) -> QWidget:
        holder = QWidget()
        layout = QHBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            layout.addWidget(w)
        if stretch:
            layout.addStretch(1)
        return holder

    @staticmethod
    def _section(title: str) -> QLabel:
        label = QLabel(title)
        label.setStyleSheet(f"color: {theme.TEXT_BRIGHT}; font-weight: 600; padding-top: 6px;")
        return label

    def _with_browse(self, edit: QLineEdit, slot) -> QWidget:
        button = QToolButton()
        button.setText("…")
        button.clicked.connect(slot)
        return self._row(edit, button)

    def _browse_config(self) -> None:
        path = open_file_name(self, "Session config to sweep", str(Path.cwd()), "Configs (*.json)")
        if path:
            self.config_edit.setText(path)
            self._config_changed()

    def _browse_out(self) -> None:
        path = existing_directory(self, "Sweep folder", str(Path.cwd()))
        if path:
            self.out_edit.setText(path)

    def _method_changed(self, method: str) -> None:
        self.samples_spin.setEnabled(method == "random")
        self.seed_spin.setEnabled(method == "random")

    def _keep_changed(self) -> None:
        self.keep_spin.setEnabled(self.keep_combo.currentIndex() == 1)

    # ------------------------------------------------------------------ parameters
    def _config_changed(self) -> None:
        from workstation.config import load_config

        path = self.config_edit.text().strip()
        try:
            self._config = load_config(path).model_dump(mode="json") if path else {}
        except WorkstationError as exc:
            self._config = {}
            self._show(str(exc), ok=False)
            return
        if not self.out_edit.text().strip() and path:
            self.out_edit.setText(str(Path("sweeps") / f"{Path(path).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"))
        if self.params.rowCount() == 0 and self._config:
            strategies = self._config.get("strategies") or []
            numeric = [(f"strategies.{st['name']}.params.{k}", v) for st in strategies[:1]
                       for k, v in strategy_parameters(st).items() if isinstance(v, int | float) and not isinstance(v, bool)]
            for path_, value in numeric[:2]:
                self.add_param(path_, _default_values(value))
            names = [p.rsplit(".", 1)[-1] for p, _ in numeric[:2]]
            if names == ["fast", "slow"] and not self.constraints_edit.text():
                self.constraints_edit.setText("fast < slow")
        for row in range(self.params.rowCount()):
            self._fill_paths(self.params.cellWidget(row, 0))

    def _fill_paths(self, combo: QComboBox) -> None:
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(suggested_paths(self._config) if self._config else [])
        combo.setEditText(current)
        combo.blockSignals(False)

    def add_param(self, path: str = "", values: str = "") -> None:
        row = self.params.rowCount()
        self.params.insertRow(row)
        combo = QComboBox()
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.setToolTip("Dotted path into the config, e.g. strategies.<name>.params.fast or risk.min_quality_pct")
        self._fill_paths(combo)
        combo.setEditText(path)
        edit = QLineEdit(values)
        edit.setPlaceholderText("3,5,8 or 15:40:5")
        combo.activated.connect(lambda _index, c=combo, e=edit: self._prefill(c, e))
        self.params.setCellWidget(row, 0, combo)
        self.params.setCellWidget(row, 1, edit)

    def _prefill(self, combo: QComboBox, edit: QLineEdit) -> None:
        """A path picked from the list starts with values around its current value (none typed yet)."""
        if not edit.text().strip():
            edit.setText(_default_values(self._current_value(combo.currentText())))

    def _current_value(self, path: str):
        """The config's value at a path, found as the sweep finds it (`resolve_path`: list entries by
        name or position); a strategy parameter the config leaves out is its class's default. None when
        the path is not in the config."""
        try:
            _, location = resolve_path(self._config, path, "the sweep form")
        except WorkstationError:
            return None
        if len(location) == 4 and location[0] == "strategies" and location[2] == "params":
            return strategy_parameters(self._config["strategies"][location[1]]).get(location[3])
        node = self._config
        for step in location:
            node = node[step]
        return node

    def _remove_param(self) -> None:
        row = self.params.currentRow()
        if row < 0:
            row = self.params.rowCount() - 1
        if row >= 0:
            self.params.removeRow(row)

    def param_rows(self) -> list[tuple[str, str]]:
        rows = []
        for row in range(self.params.rowCount()):
            path = self.params.cellWidget(row, 0).currentText().strip()
            values = self.params.cellWidget(row, 1).text().strip()
            if path or values:
                rows.append((path, values))
        return rows

    def load_command(self, arguments: list[str], cwd: str | None = None) -> bool:
        """Fill the form from a recorded `workstation sweep` command (a sweep folder's sweep.json), so
        that Start resumes it or a changed copy runs into a new folder. False if it cannot be read."""
        from workstation.cli import build_parser

        if not arguments:
            return False
        try:
            ns = build_parser().parse_args(["sweep", *arguments])
        except SystemExit:
            return False
        base = Path(cwd) if cwd else Path.cwd()

        def absolute(text: str | None) -> str:
            return "" if not text else str(text if Path(text).is_absolute() else base / text)

        self.config_edit.setText(absolute(ns.config))
        self.store_edit.setText(absolute(ns.store))
        self.out_edit.setText(absolute(ns.out))
        self.params.setRowCount(0)
        for option in ns.param or ():
            path, _, values = option.partition("=")
            self.add_param(path, values)
        self.constraints_edit.setText("; ".join(ns.constraint or ()))
        if ns.objective:
            self.objective_combo.setEditText(ns.objective)
        self.direction_combo.setCurrentText(ns.direction or "max")
        self.method_combo.setCurrentText(ns.method or "grid")
        if ns.samples:
            self.samples_spin.setValue(ns.samples)
        self.seed_spin.setValue(ns.seed or 0)
        self.walk_forward.setChecked(bool(ns.walk_forward))
        if ns.walk_forward:
            from workstation.sweep.walk_forward import parse_walk_forward

            wf = parse_walk_forward(ns.walk_forward)
            self.train_spin.setValue(wf["train"])
            self.test_spin.setValue(wf["test"])
            self.step_spin.setValue(wf.get("step", wf["test"]))
        self.workers_spin.setValue(ns.workers or 0)
        self.address_edit.setText(ns.address or "")
        self.keep_combo.setCurrentIndex(2 if ns.keep_runs else 1 if ns.keep_top else 0)
        if ns.keep_top:
            self.keep_spin.setValue(ns.keep_top)
        self._config_changed()
        return True

    # ------------------------------------------------------------------ the command
    def arguments(self) -> list[str]:
        """The `workstation sweep` options of this form (without the program name)."""
        args = [self.config_edit.text().strip(), "--out", self.out_edit.text().strip()]
        if self.store_edit.text().strip():
            args += ["--store", self.store_edit.text().strip()]
        for path, values in self.param_rows():
            args += ["--param", f"{path}={values}"]
        for text in (t.strip() for t in self.constraints_edit.text().split(";")):
            if text:
                args += ["--constraint", text]
        args += ["--objective", self.objective_combo.currentText().strip(), "--direction",
                 self.direction_combo.currentText(), "--method", self.method_combo.currentText()]
        if self.method_combo.currentText() == "random":
            args += ["--samples", str(self.samples_spin.value()), "--seed", str(self.seed_spin.value())]
        if self.walk_forward.isChecked():
            args += ["--walk-forward",
                     f"train={self.train_spin.value()},test={self.test_spin.value()},step={self.step_spin.value()}"]
        if self.workers_spin.value():
            args += ["--workers", str(self.workers_spin.value())]
        if self.address_edit.text().strip():
            args += ["--address", self.address_edit.text().strip()]
        if self.keep_combo.currentIndex() == 1:
            args += ["--keep-top", str(self.keep_spin.value())]
        elif self.keep_combo.currentIndex() == 2:
            args += ["--keep-runs"]
        return args

    def command_text(self) -> str:
        return "workstation sweep " + " ".join(shlex.quote(a) for a in self.arguments())

    def check(self):
        """Run the command's own checks (no Ray); show the cell count or the error. The plan or None."""
        from workstation.cli import build_parser
        from workstation.sweep.commands import prepare

        try:
            if not self.out_edit.text().strip():
                raise WorkstationError("give a sweep folder")
            namespace = build_parser().parse_args(["sweep", *self.arguments()])
            plan, _store, _tm = prepare(namespace)
        except (WorkstationError, SystemExit) as exc:
            self._show(str(exc) if isinstance(exc, WorkstationError) else "the options are not valid", ok=False)
            return None
        windows = f" in {len(plan.windows)} walk-forward windows" if plan.windows else ""
        self._show(f"✓ {plan.total_cells:,} cells{windows}: {', '.join(a.alias for a in plan.axes)}", ok=True)
        return plan

    def _show(self, text: str, ok: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme.UP if ok else theme.DOWN};")

    def _start(self) -> None:
        if self.check() is not None:
            self.start_requested.emit(self.arguments())
