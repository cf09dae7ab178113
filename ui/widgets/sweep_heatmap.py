"""SweepHeatmap: the sweep's objective over two chosen parameters, the others fixed or best-of.

The grid itself comes from `workstation.sweep.results.heatmap_grid` (pandas, no Qt); this widget
only picks the axes and draws. Each square is coloured by its value (the best end of the scale is
bright whatever the direction), squares without a finished cell are hatched grey, values are
printed inside when there is room. A click selects the square's cell, a double-click opens it
(`cell_activated`). GUI thread only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ui import theme
from workstation.sweep.results import axis_values, heatmap_grid

BEST_OF = "best of"
NULL_LABEL = "null"
"""A parameter's missing value (swept over null, e.g. participation_limit_pct: [null, 10, 25])."""
_COLOUR_MAP = pg.colormap.get("viridis")


def _label(value: Any) -> str:
    if value is None:
        return NULL_LABEL
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def decimals_for(values: np.ndarray) -> int:
    """Decimals that show the largest finite value with three significant digits (none from 100 up,
    at most 4), so every square of a map is written alike: -12.0 beside -31.1, not -12 beside -31.1."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if largest <= 0.0:
        return 2
    return int(min(4, max(0, 2 - math.floor(math.log10(largest)))))


def _fmt(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return ""
    return f"{value:,.{decimals}f}"


class _GridItem(pg.GraphicsObject):
    """Paints the squares, their values and the selection; square (i, j) covers [j, j+1) x [i, i+1)."""

    def __init__(self) -> None:
        super().__init__()
        self.grid = np.zeros((0, 0))
        self.lo, self.hi = 0.0, 1.0
        self.invert = False
        self.selected: tuple[int, int] | None = None
        self.show_values = True

    def set_grid(self, grid: np.ndarray, invert: bool) -> None:
        self.prepareGeometryChange()
        self.grid = grid
        finite = grid[np.isfinite(grid)]
        self.lo, self.hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.invert = invert
        self.update()

    def colour(self, value: float) -> QColor:
        span = self.hi - self.lo
        t = 0.5 if span <= 0 else (value - self.lo) / span
        if self.invert:
            t = 1.0 - t
        return _COLOUR_MAP.map(float(t), mode="qcolor")

    def boundingRect(self) -> QRectF:
        rows, cols = self.grid.shape
        return QRectF(0, 0, max(cols, 1), max(rows, 1))

    def paint(self, painter: QPainter, *_args) -> None:
        rows, cols = self.grid.shape
        painter.setPen(Qt.PenStyle.NoPen)
        empty = QBrush(QColor(theme.PANEL_ALT), Qt.BrushStyle.BDiagPattern)
        for i in range(rows):
            for j in range(cols):
                value = self.grid[i, j]
                rect = QRectF(j + 0.03, i + 0.03, 0.94, 0.94)
                if math.isfinite(value):
                    painter.fillRect(rect, self.colour(value))
                else:
                    painter.fillRect(rect, QColor(theme.PANEL))
                    painter.fillRect(rect, empty)
        if self.selected is not None:
            i, j = self.selected
            painter.setPen(QPen(QColor(theme.TEXT_BRIGHT), 0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(j + 0.02, i + 0.02, 0.96, 0.96))


class _ColourScale(QWidget):
    """A vertical colour scale with the lowest and highest value of the grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(74)
        self.lo, self.hi, self.invert = 0.0, 1.0, False
        self.decimals = 2

    def set_range(self, lo: float, hi: float, invert: bool, decimals: int = 2) -> None:
        self.lo, self.hi, self.invert, self.decimals = lo, hi, invert, decimals
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        bar = QRectF(8, 18, 16, max(10, self.height() - 36))
        gradient = QLinearGradient(bar.bottomLeft(), bar.topLeft())
        for k in range(11):
            t = k / 10
            gradient.setColorAt(t, _COLOUR_MAP.map(1.0 - t if self.invert else t, mode="qcolor"))
        painter.fillRect(bar, gradient)
        painter.setPen(QColor(theme.MUTED))
        painter.setFont(theme.ui_font(theme.UI_POINT_SIZE - 1))
        top, bottom = (self.lo, self.hi) if self.invert else (self.hi, self.lo)
        painter.drawText(QPointF(28, bar.top() + 8), _fmt(top, self.decimals))
        painter.drawText(QPointF(28, bar.bottom()), _fmt(bottom, self.decimals))


class _ValueAxis(pg.AxisItem):
    """Ticks at square centres, labelled with the parameter values."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.labels: list[str] = []
        self.setPen(pg.mkPen(theme.BORDER))
        self.setTextPen(pg.mkPen(theme.MUTED))

    def set_labels(self, labels: list[str]) -> None:
        self.labels = labels
        self.setTicks([[(k + 0.5, text) for k, text in enumerate(labels)]])


class SweepHeatmap(QWidget):
    """Heatmap of a numeric results column over two swept parameters; see the module docstring."""

    cell_selected = Signal(str)   # cell_id
    cell_activated = Signal(str)  # cell_id (double-click)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = pd.DataFrame()
        self.params: list[tuple[str, str]] = []  # (path, alias)
        self.direction = "max"
        self.ids = np.zeros((0, 0), dtype=object)
        self.xs: list = []
        self.ys: list = []
        self._updating = False

        self.x_combo, self.y_combo, self.value_combo = QComboBox(), QComboBox(), QComboBox()
        for combo, name in ((self.x_combo, "HeatmapX"), (self.y_combo, "HeatmapY"), (self.value_combo, "HeatmapValue")):
            combo.setObjectName(name)
            combo.currentIndexChanged.connect(self._choice_changed)
        controls = QHBoxLayout()
        controls.setSpacing(8)
        for caption, combo in (("X", self.x_combo), ("Y", self.y_combo), ("Colour", self.value_combo)):
            label = QLabel(caption)
            label.setStyleSheet(f"color: {theme.MUTED};")
            controls.addWidget(label)
            controls.addWidget(combo)
        controls.addStretch(1)
        self.others_box = QWidget()
        self.others_layout = QGridLayout(self.others_box)
        self.others_layout.setContentsMargins(0, 0, 0, 0)
        self.others_layout.setHorizontalSpacing(8)
        self.others_layout.setColumnStretch(6, 1)
        self.other_combos: dict[str, QComboBox] = {}
        self._other_values: dict[str, list] = {}   # path -> the values its combo lists (item data: index)

        self.x_axis, self.y_axis = _ValueAxis("bottom"), _ValueAxis("left")
        self.plot = pg.PlotWidget(axisItems={"bottom": self.x_axis, "left": self.y_axis}, background=theme.BACKGROUND)
        self.plot.setObjectName("HeatmapPlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(False, False)
        self.plot.getViewBox().invertY(False)
        self.item = _GridItem()
        self.plot.addItem(self.item)
        self.texts: list[pg.TextItem] = []
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.viewport().installEventFilter(self)
        self.scale = _ColourScale()
        self.caption = QLabel("")
        self.caption.setStyleSheet(f"color: {theme.MUTED};")

        body = QHBoxLayout()
        body.addWidget(self.plot, 1)
        body.addWidget(self.scale)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(controls)
        layout.addWidget(self.others_box)
        layout.addLayout(body, 1)
        layout.addWidget(self.caption)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # ------------------------------------------------------------------ data
    def set_data(self, results: pd.DataFrame, params: list[tuple[str, str]], objective: str, direction: str,
                 value_columns: list[str]) -> None:
        """New results (cells arrive): keeps the chosen axes, colour column and fixed values."""
        first = not self.params
        self.results, self.direction = results, direction
        self._updating = True
        try:
            if [p for p, _ in params] != [p for p, _ in self.params]:
                self.params = params
                for combo in (self.x_combo, self.y_combo):
                    combo.clear()
                    for path, alias in params:
                        combo.addItem(alias, path)
                self.y_combo.insertItem(0, "(none)", None)
                self.x_combo.setCurrentIndex(0)
                self.y_combo.setCurrentIndex(2 if len(params) > 1 else 0)
            if first or self.value_combo.count() != len(value_columns):
                current = self.value_combo.currentData() or objective
                self.value_combo.clear()
                for column in value_columns:
                    self.value_combo.addItem(column, column)
                self.value_combo.setCurrentIndex(max(0, self.value_combo.findData(current)))
            self._rebuild_others()
        finally:
            self._updating = False
        self.redraw()

    def choose(self, x: str, y: str | None, value: str | None = None) -> None:
        """Pick the axes (parameter paths) and the colour column."""
        self._updating = True
        self.x_combo.setCurrentIndex(self.x_combo.findData(x))
        self.y_combo.setCurrentIndex(self.y_combo.findData(y))
        if value is not None:
            self.value_combo.setCurrentIndex(self.value_combo.findData(value))
        self._updating = False
        self._rebuild_others()
        self.redraw()

    def fix(self, path: str, value: Any) -> None:
        """Hold another parameter at `value` (None = best of its values; a null value by its label)."""
        combo = self.other_combos[path]
        combo.setCurrentIndex(0 if value is None else max(0, combo.findText(_label(value))))

    def fixed_values(self) -> dict[str, Any]:
        """The other parameters held at one value (None: held at null), by path; best-of ones absent."""
        return {path: self._other_values[path][combo.currentData()] for path, combo in self.other_combos.items()
                if isinstance(combo.currentData(), int) and combo.currentData() >= 0}

    def _rebuild_others(self) -> None:
        axes = {self.x_combo.currentData(), self.y_combo.currentData()}
        others = [(p, a) for p, a in self.params if p not in axes]
        if [p for p, _ in others] == list(self.other_combos):
            for path, combo in self.other_combos.items():
                self._fill_values(combo, path)
            return
        while self.others_layout.count():
            widget = self.others_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.other_combos = {}
        for k, (path, alias) in enumerate(others):
            label = QLabel(alias)
            label.setStyleSheet(f"color: {theme.MUTED};")
            label.setToolTip(path)
            combo = QComboBox()
            combo.setObjectName(f"Fixed:{path}")
            combo.setToolTip(f"{path}: hold at one value, or take the best cell over its values")
            self._fill_values(combo, path)
            combo.currentIndexChanged.connect(self._choice_changed)
            self.others_layout.addWidget(label, k // 3, 2 * (k % 3))
            self.others_layout.addWidget(combo, k // 3, 2 * (k % 3) + 1)
            self.other_combos[path] = combo
        self.others_box.setVisible(bool(others))

    def _fill_values(self, combo: QComboBox, path: str) -> None:
        current = combo.currentText()
        values = axis_values(self.results[path]) if path in self.results else []
        self._other_values[path] = values
        texts = [BEST_OF, *(_label(v) for v in values)]
        if [combo.itemText(i) for i in range(combo.count())] == texts:
            return
        blocked = combo.blockSignals(True)
        combo.clear()
        combo.addItem(BEST_OF, -1)
        for k, v in enumerate(values):
            combo.addItem(_label(v), k)
        combo.setCurrentIndex(max(0, combo.findText(current)))
        combo.blockSignals(blocked)

    def _choice_changed(self) -> None:
        if self._updating:
            return
        if self.sender() in (self.x_combo, self.y_combo):
            self._rebuild_others()
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        x, y = self.x_combo.currentData(), self.y_combo.currentData()
        value = self.value_combo.currentData()
        if x is None or value is None or self.results.empty or x not in self.results:
            self.item.set_grid(np.zeros((0, 0)), False)
            self.caption.setText("no finished cells yet")
            return
        frame = self.results
        y_path = y if y is not None and y != x else "_row"
        if y_path == "_row":
            frame = frame.assign(_row="")
        fixed = self.fixed_values()
        direction = self.direction if value == self.value_combo.itemData(0) else "max"
        self.xs, self.ys, grid, self.ids = heatmap_grid(frame, x, y_path, value, direction, fixed)
        self.item.set_grid(grid, invert=direction == "min")
        self.item.selected = None
        decimals = decimals_for(grid)          # the squares and the colour scale alike
        self.scale.set_range(self.item.lo, self.item.hi, direction == "min", decimals)
        self.x_axis.set_labels([_label(v) for v in self.xs])
        self.y_axis.set_labels([_label(v) for v in self.ys])
        self.x_axis.setLabel(self.x_combo.currentText())
        self.y_axis.setLabel("" if y_path == "_row" else self.y_combo.currentText())
        self._draw_values(grid, decimals)
        rows, cols = grid.shape
        self.plot.setXRange(0, max(cols, 1), padding=0.02)
        self.plot.setYRange(0, max(rows, 1), padding=0.02)
        held = ", ".join(f"{a}={c.currentText()}" for (p, a), c in
                         ((pa, self.other_combos[pa[0]]) for pa in self.params if pa[0] in self.other_combos))
        filled = int(np.isfinite(grid).sum())
        self.caption.setText(f"{self.value_combo.currentText()} ({direction}), {filled} of {grid.size} squares"
                             + (f"; others: {held}" if held else "") + ". Double-click a square to replay it.")

    def _draw_values(self, grid: np.ndarray, decimals: int) -> None:
        for text in self.texts:
            self.plot.removeItem(text)
        self.texts = []
        rows, cols = grid.shape
        if rows * cols > 400:
            return
        font = QFont(theme.mono_font(theme.TABLE_POINT_SIZE - (1 if cols > 10 else 0)))
        for i in range(rows):
            for j in range(cols):
                if not math.isfinite(grid[i, j]):
                    continue
                colour = self.item.colour(grid[i, j])
                luminance = 0.299 * colour.redF() + 0.587 * colour.greenF() + 0.114 * colour.blueF()
                ink = "#101010" if luminance > 0.5 else theme.TEXT_BRIGHT
                text = pg.TextItem(_fmt(grid[i, j], decimals), color=ink, anchor=(0.5, 0.5))
                text.setFont(font)
                text.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(text)
                self.texts.append(text)

    def _square_at(self, scene_pos) -> tuple[int, int] | None:
        view = self.plot.getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        p = view.mapSceneToView(scene_pos)
        i, j = int(math.floor(p.y())), int(math.floor(p.x()))
        rows, cols = self.ids.shape
        return (i, j) if 0 <= i < rows and 0 <= j < cols and self.ids[i, j] else None

    def _clicked(self, event) -> None:
        if event.double():
            return  # handled in eventFilter (pyqtgraph reports it only after the final release)
        square = self._select(event.scenePos())
        if square is not None:
            self.cell_selected.emit(str(self.ids[square]))

    def _select(self, scene_pos) -> tuple[int, int] | None:
        square = self._square_at(scene_pos)
        if square is not None:
            self.item.selected = square
            self.item.update()
        return square

    def eventFilter(self, watched, event) -> bool:
        if watched is self.plot.viewport() and event.type() == QEvent.Type.MouseButtonDblClick:
            square = self._select(self.plot.mapToScene(event.position().toPoint()))
            if square is not None:
                self.cell_activated.emit(str(self.ids[square]))
                return True
        return super().eventFilter(watched, event)

    def square_of(self, cell_id: str) -> tuple[int, int] | None:
        found = np.argwhere(self.ids == cell_id)
        return (int(found[0][0]), int(found[0][1])) if len(found) else None
