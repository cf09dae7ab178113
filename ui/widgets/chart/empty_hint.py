"""The hint a chart with no bars shows in the middle of its price pane: an empty chart's bare axes (a price
scale 0 to 1, no times) looked broken before a replay's first bar, when the store holds nothing before its
start (seen in Xvfb on real data whose first stored day was the config's first session)."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ui.widgets.chart.theme import ChartTheme

EMPTY_TITLE = "No bars yet"
EMPTY_TEXT = "They appear here as the session plays."


class EmptyChartHint(QtWidgets.QLabel):
    """A two-line label over the chart, shown while it has no bar (completed or forming); it keeps itself
    centred on the price pane and lets every mouse event through to the chart."""

    def __init__(self, chart: QtWidgets.QWidget, view: pg.GraphicsLayoutWidget, pane_rect: Callable, theme: ChartTheme):
        super().__init__(chart)
        self._chart = chart
        self._view = view
        self._pane_rect = pane_rect     # -> the price pane's scene rectangle
        self.setObjectName("EmptyChartHint")
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setText(f"<div style='font-size:{theme.title_font_px + 2}px; font-weight:600; color:{theme.text};'>"
                     f"{EMPTY_TITLE}</div><div style='font-size:{theme.font_px + 1}px; color:{theme.text_dim};'>"
                     f"{EMPTY_TEXT}</div>")
        self.setStyleSheet("background: transparent;")
        self.hide()

    def show_for(self, empty: bool) -> None:
        """Shown (and placed) when the chart has no bar (`empty`), hidden otherwise."""
        if empty:
            self.place()
        if empty != self.isVisibleTo(self._chart):
            self.setVisible(empty)

    def place(self, *_args) -> None:
        """Centre on the price pane (on the chart before its panes are laid out)."""
        self.adjustSize()
        rect = self._pane_rect()
        if rect.isEmpty():
            centre = QtCore.QPoint(self._chart.width() // 2, self._chart.height() // 2)
        else:
            centre = self._view.mapTo(self._chart, self._view.mapFromScene(rect.center()))
        self.move(max(0, centre.x() - self.width() // 2), max(0, centre.y() - self.height() // 2))
        self.raise_()           # over the chart's view (added to the layout after this label was made)
