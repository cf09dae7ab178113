"""The floating "Jump to live" button at the bottom-right of the price pane (shown while the chart does
not follow the newest bar)."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ui.widgets.chart.theme import ChartTheme


class JumpToLiveButton(QtWidgets.QToolButton):
    """A button over the chart that resumes follow mode; it keeps itself at the price pane's corner."""

    def __init__(self, chart: QtWidgets.QWidget, view: pg.GraphicsLayoutWidget, pane_rect: Callable, theme: ChartTheme,
                 jump: Callable[[], None]):
        super().__init__(chart)
        self._chart = chart
        self._view = view
        self._pane_rect = pane_rect  # -> the price pane's scene rectangle
        t = theme
        self.setText("Jump to live \u25b6")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(
            f"QToolButton {{ background: {t.badge}; color: {t.text_bright}; border: 1px solid {t.separator};"
            f" border-radius: 4px; padding: 3px 9px; font-size: {t.font_px + 1}px; }}"
            f" QToolButton:hover {{ background: #434651; }}"
        )
        self.clicked.connect(jump)
        self.hide()

    def place(self, *_args) -> None:
        """Move to 10 px inside the price pane's bottom-right corner."""
        self.adjustSize()
        corner = self._view.mapFromScene(self._pane_rect().bottomRight())
        pt = self._view.mapTo(self._chart, corner)
        self.move(max(0, pt.x() - self.width() - 10), max(0, pt.y() - self.height() - 10))
        self.raise_()
