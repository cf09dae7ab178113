"""The chart's panes stacked in one pyqtgraph view: price, volume, one pane per oscillator, and the
time axis under the last; x axes linked. UI thread only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.chart.axes import LeanAxis, TimeAxisItem
from ui.widgets.chart.decorations import TextBlock
from ui.widgets.chart.overlays import Overlay
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.session_shading import SessionShading
from ui.widgets.chart.theme import ChartTheme

PANE_STRETCH = {"price": 60, "volume": 15}
OSCILLATOR_STRETCH = 22


class PaneStack:
    """The view, its panes and the time axis."""

    def __init__(
        self,
        theme: ChartTheme,
        bar_times: Callable[[], tuple[np.ndarray, int]],
        scale: PriceScale,
        shading: SessionShading | None = None,
    ):
        self._theme = theme
        self._shading = shading
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.background)
        self.view.scene().setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        self.view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.view.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self._layout = self.view.ci
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.layout.setSpacing(0)
        self.time_axis = TimeAxisItem(theme, bar_times)
        x_ticks = self.time_axis.tick_values_now
        self.price = Pane("price", theme, "price", x_ticks, scale=scale)
        self.volume = Pane("volume", theme, "volume", x_ticks)
        self.price.text = TextBlock(self.price.vb, theme)
        self.price.grid.shading = self.volume.grid.shading = shading
        self.sub_panes: list[Pane] = []
        self.time_axis.linkToView(self.price.vb)
        self.volume.vb.setXLink(self.price.vb)
        fm = QtGui.QFontMetricsF(self.price.axis._font)
        self._axis_width = int(fm.horizontalAdvance("000000.00") + LeanAxis.TICK + 2 * LeanAxis.GAP + 6)
        self.relayout()

    def all(self) -> list[Pane]:
        """Every pane, top to bottom."""
        return [self.price, self.volume, *self.sub_panes]

    def make_sub_pane(self, ov: Overlay) -> Pane:
        """A pane for an oscillator overlay (RSI with its 30/70 band, MACD with its zero line)."""
        pane = Pane(ov.spec, self._theme, "value", self.time_axis.tick_values_now)
        pane.vb.setXLink(self.price.vb)
        pane.text = TextBlock(pane.vb, self._theme)
        pane.grid.shading = self._shading
        if ov.kind == "rsi":
            pane.axis.fixed_ticks = (30.0, 50.0, 70.0)
            pane.grid.levels = (30.0, 70.0)
            pane.grid.band = (30.0, 70.0)
            pane.vb.setYRange(0.0, 100.0, padding=0.0)
        elif ov.kind == "macd":
            pane.grid.levels = (0.0,)
        return pane

    def set_sub_panes(self, panes: list[Pane]) -> bool:
        """Show these oscillator panes below the volume. True when the stack changed."""
        if panes == self.sub_panes:
            return False
        for old in self.sub_panes:
            if old not in panes:
                self._layout.removeItem(old.vb)
                self._layout.removeItem(old.axis)
                old.vb.setXLink(None)
        self.sub_panes = panes
        self.relayout()
        return True

    def relayout(self) -> None:
        """Place the panes top to bottom with the time axis under the last one."""
        lay = self._layout
        for item in list(lay.items):
            lay.removeItem(item)
        panes = self.all()
        grid = lay.layout
        for row in range(grid.rowCount()):
            grid.setRowStretchFactor(row, 0)
        for row, pane in enumerate(panes):
            lay.addItem(pane.vb, row=row, col=0)
            lay.addItem(pane.axis, row=row, col=1)
            pane.axis.setWidth(self._axis_width)
            grid.setRowStretchFactor(row, PANE_STRETCH.get(pane.name, OSCILLATOR_STRETCH))
            pane.grid.separator = row > 0
            pane.axis.separator = row > 0
        lay.addItem(self.time_axis, row=len(panes), col=0)
        grid.setRowStretchFactor(len(panes), 0)
