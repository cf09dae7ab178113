"""The mouse on the chart's panes beyond pan and zoom: right-click menus (on the pane or on a
drawing) and the drawing tools on the price pane. Implements the panes' PaneInteraction."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from ui.widgets.chart.chart_actions import ChartPoint
from ui.widgets.chart.panes import Pane

if TYPE_CHECKING:
    from ui.widgets.chart.chart import CandleChart


class ChartMouse:
    """Routes clicks and drags of the chart's panes: menus, drawing tools, selection."""

    def __init__(self, chart: CandleChart):
        self._chart = chart
        chart.drawings.context_menu_requested.connect(self._drawing_menu)
        chart.order_lines.context_menu_requested.connect(self._order_menu)

    def view_click(self, pane: Pane, ev) -> bool:
        chart = self._chart
        chart.setFocus(QtCore.Qt.FocusReason.MouseFocusReason)
        if ev.button() == QtCore.Qt.MouseButton.RightButton:
            drawing = chart.drawings.selected_id if pane is chart.price else None
            self.popup(ev.screenPos().toPoint(), self.point_at(pane, ev.pos(), drawing))
            return True
        if pane is not chart.price:
            chart.drawings.select(None)
            return False
        return chart.drawings.view_click(ev)

    def view_drag(self, pane: Pane, ev) -> bool:
        return pane is self._chart.price and self._chart.drawings.view_drag(ev)

    def point_at(self, pane: Pane, pos: QtCore.QPointF, drawing_id: str | None = None, order_id: int | None = None,
                 on_position: bool = False) -> ChartPoint:
        """The chart point under pane pixel ``pos`` (price NaN outside the price pane)."""
        chart = self._chart
        pt = pane.vb.mapToView(pos)
        price = chart.price_scale.price(pt.y()) if pane is chart.price else math.nan
        return ChartPoint(chart.time_map.time_of(pt.x()), price, drawing_id, order_id, on_position)

    def popup(self, screen_pos: QtCore.QPoint, point: ChartPoint) -> QtWidgets.QMenu:
        menu = self._chart.context_menu(point)
        menu.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(screen_pos)
        return menu

    def _drawing_menu(self, screen_pos: QtCore.QPoint, drawing_id: str) -> None:
        self.popup(screen_pos, self.point_at(self._chart.price, self._local(screen_pos), drawing_id))

    def _order_menu(self, screen_pos: QtCore.QPoint, order_id: int | None) -> None:
        chart = self._chart
        chart.setFocus(QtCore.Qt.FocusReason.MouseFocusReason)
        self.popup(screen_pos, self.point_at(chart.price, self._local(screen_pos), None, order_id, order_id is None))

    def _local(self, screen_pos: QtCore.QPoint) -> QtCore.QPointF:
        view = self._chart.graphics_view
        return self._chart.price.vb.mapFromScene(view.mapToScene(view.mapFromGlobal(screen_pos)))
