"""A pane of the chart: a ViewBox with its right value axis, grid and crosshair lines.

`ChartViewBox` gives mouse clicks and drags on the pane's empty area to the chart's interaction
handler first (drawing tools, context menu); what the handler leaves, pans and zooms as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pyqtgraph as pg
from PySide6 import QtCore

from ui.widgets.chart.axes import ValueAxisItem
from ui.widgets.chart.decorations import CrossLine, GridItem, TextBlock
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor


class PaneInteraction(Protocol):
    """Takes a pane's mouse events before the ViewBox pans (True = handled)."""

    def view_click(self, pane: Pane, ev) -> bool: ...

    def view_drag(self, pane: Pane, ev) -> bool: ...


class ChartViewBox(pg.ViewBox):
    """A ViewBox that offers clicks and drags to an interaction handler before panning/zooming."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False, defaultPadding=0.0)
        self.pane: Pane | None = None
        self.interaction: PaneInteraction | None = None

    def mouseClickEvent(self, ev) -> None:
        if self.interaction is not None and self.pane is not None and self.interaction.view_click(self.pane, ev):
            ev.accept()
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if self.interaction is not None and self.pane is not None and self.interaction.view_drag(self.pane, ev):
            ev.accept()
            return
        super().mouseDragEvent(ev, axis)


class Pane:
    """One stacked plot area: a ViewBox with its right axis, grid and crosshair lines."""

    def __init__(
        self,
        name: str,
        theme: ChartTheme,
        axis_kind: str,
        x_ticks: Callable[[], list[float]],
        scale: PriceScale | None = None,
    ):
        self.name = name
        self.vb = ChartViewBox()
        self.vb.pane = self
        self.vb.enableAutoRange(False)
        self.vb.setMouseEnabled(x=True, y=False)
        self.vb.setMinimumHeight(24)
        self.scale = scale
        self.axis = ValueAxisItem(
            theme, axis_kind, min_spacing_px=46.0 if axis_kind == "price" else 26.0, scale=scale
        )
        self.axis.linkToView(self.vb)
        self.grid = GridItem(self.vb, theme, x_ticks, self.axis.tick_values_now)
        pen = cosmetic_pen(qcolor(theme.crosshair), QtCore.Qt.PenStyle.DashLine)
        self.cross_v = CrossLine(self.vb, pen, vertical=True)
        self.cross_h = CrossLine(self.vb, pen, vertical=False)
        self.text: TextBlock | None = None

    def y_to_pixel(self, y: float) -> float:
        """Pane pixel row of value (pane coordinate) y."""
        (_, _), (y0, y1) = self.vb.viewRange()
        h = self.vb.height()
        return h - (y - y0) / (y1 - y0) * h if y1 > y0 else 0.0

    def pixel_to_y(self, py: float) -> float:
        """Pane coordinate at pane pixel row py."""
        (_, _), (y0, y1) = self.vb.viewRange()
        h = self.vb.height()
        return y0 + (h - py) / h * (y1 - y0) if h > 0 else y0
