"""The crosshair: dashed lines across every pane at the mouse, value badges on the axes, and which bar
the read-out describes.

The mouse position is kept in SCENE coordinates and mapped to bar coordinates again whenever the
view moves or bars arrive: while the mouse rests on a chart during play, the read-out always shows
the bar under the mouse now, not the one that was under it when the mouse last moved. UI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6 import QtCore

from ui.widgets.chart.axes import TimeAxisItem
from ui.widgets.chart.bar_store import ChartBars
from ui.widgets.chart.formatting import fmt_badge_time
from ui.widgets.chart.panes import Pane


class Crosshair:
    """Tracks the hovered point and draws the crosshair on the chart's panes."""

    def __init__(
        self,
        panes: Callable[[], list[Pane]],
        time_axis: TimeAxisItem,
        bars: ChartBars,
        price_text: Callable[[float], str],
        changed: Callable[[], None],
    ):
        self._panes = panes
        self._time_axis = time_axis
        self._bars = bars
        self._price_text = price_text
        self._changed = changed
        self._scene_pos: QtCore.QPointF | None = None
        self._pane_name = "price"
        self._show_h = True
        self.x: float | None = None  # bar coordinate of the hovered point (None: no crosshair)
        self.y: float | None = None  # pane coordinate (None: no horizontal line)

    @property
    def active(self) -> bool:
        return self._scene_pos is not None

    def pane_name(self) -> str:
        return self._pane_name

    def mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        """The mouse moved in the chart's scene."""
        for pane in self._panes():
            if pane.vb.sceneBoundingRect().contains(scene_pos):
                self._scene_pos = QtCore.QPointF(scene_pos)
                self._pane_name = pane.name
                self._show_h = True
                self.update()
                return
        self.clear()

    def set_at(self, x: float, y: float | None, pane_name: str = "price") -> None:
        """Put the crosshair at bar coordinate x (and pane value y) as if the mouse were there."""
        pane = next((p for p in self._panes() if p.name == pane_name), None)
        if pane is None:
            raise KeyError(f"no pane {pane_name!r}; panes: {[p.name for p in self._panes()]}")
        (_, _), (y0, y1) = pane.vb.viewRange()
        self._scene_pos = pane.vb.mapViewToScene(QtCore.QPointF(float(x), (y0 + y1) / 2 if y is None else float(y)))
        self._pane_name = pane_name
        self._show_h = y is not None
        self.update()

    def clear(self) -> None:
        """Hide the crosshair; the read-out shows the newest bar again."""
        if self._scene_pos is None and self.x is None:
            return
        self._scene_pos = None
        self.x = self.y = None
        for p in self._panes():
            p.cross_v.hide()
            p.cross_h.hide()
            p.axis.set_badge("cross", None)
        self._time_axis.set_badge("cross", None)
        self._changed()

    def readout_index(self) -> int | None:
        """The bar the read-out describes: under the crosshair, else the newest (None without bars)."""
        last = self._bars.last_x
        if last < 0:
            return None
        if self.x is None:
            return last
        return min(max(int(round(self.x)), 0), last)

    def update(self) -> None:
        """Map the kept mouse position to bar coordinates again and redraw lines, badges, read-out."""
        if self._scene_pos is None:
            return
        panes = self._panes()
        pane = next((p for p in panes if p.name == self._pane_name), None)
        if pane is None:
            self.clear()
            return
        pt = pane.vb.mapSceneToView(self._scene_pos)
        self.x = float(pt.x())
        self.y = float(pt.y()) if self._show_h else None
        idx = self.readout_index()
        xs = float(idx) if idx is not None else self.x
        price = panes[0]
        (x0, x1), _ = price.vb.viewRange()
        px = (xs - x0) / (x1 - x0) * price.vb.width() if x1 > x0 else 0.0
        for p in panes:
            p.cross_v.place(px)
            if p is pane and self.y is not None and math.isfinite(self.y):
                p.cross_h.place(p.y_to_pixel(self.y))
                text = self._price_text(self.y) if p.name == "price" else p.axis.format_value(self.y)
                p.axis.set_badge("cross", self.y, text)
            else:
                p.cross_h.hide()
                p.axis.set_badge("cross", None)
        local = self._local_ns(idx)
        if local is not None:
            self._time_axis.set_badge("cross", xs, fmt_badge_time(local))
        else:
            self._time_axis.set_badge("cross", None)
        self._changed()

    def _local_ns(self, idx: int | None) -> int | None:
        b = self._bars
        if idx is None:
            return None
        if idx == b.n and b.forming is not None:
            return b.forming.local_ns
        if 0 <= idx < b.n:
            return int(b.local_ns[idx])
        return None
