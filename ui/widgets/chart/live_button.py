"""The floating "Jump to live" button, shown while the chart does not follow the newest bar. It sits in
the chart's bottom-right corner, where the price axis column meets the time axis: a corner no bar, price
or time label uses (over the price pane's corner it hid the newest bars; seen in Xvfb)."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ui.widgets.chart.theme import ChartTheme


class JumpToLiveButton(QtWidgets.QToolButton):
    """A button over the chart that resumes follow mode; it keeps itself in the axes' corner."""

    def __init__(self, chart: QtWidgets.QWidget, view: pg.GraphicsLayoutWidget, corner_rect: Callable, theme: ChartTheme,
                 jump: Callable[[], None]):
        super().__init__(chart)
        self._chart = chart
        self._view = view
        self._corner_rect = corner_rect  # -> the scene rectangle of the corner below the price axis
        t = theme
        self.setText("Live \u25b6")
        self.setToolTip("Jump to live: follow the newest bar again (End)")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(
            f"QToolButton {{ background: {t.drawing}; color: #ffffff; border: none; border-radius: 3px;"
            f" padding: 1px 6px; font-size: {t.font_px}px; font-weight: 600; }}"
            f" QToolButton:hover {{ background: #5b8cff; }}"
        )
        self.clicked.connect(jump)
        self.hide()

    def place(self, *_args) -> None:
        """Centre in the corner below the price axis (inside the chart when the corner is smaller)."""
        self.adjustSize()
        rect = self._corner_rect()
        centre = self._view.mapTo(self._chart, self._view.mapFromScene(rect.center()))
        x = min(centre.x() - self.width() // 2, self._chart.width() - self.width() - 2)
        y = min(centre.y() - self.height() // 2, self._chart.height() - self.height() - 1)
        self.move(max(0, x), max(0, y))
        self.raise_()
