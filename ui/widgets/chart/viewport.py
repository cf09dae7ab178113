"""What part of the bars the chart shows: follow mode, pans and zooms, Home/End, and the y fit.

x is the bar index (see bar_store). In follow mode the newest bar stays RIGHT_MARGIN_BARS from the
right edge and the visible width is the user's last zoom (DEFAULT_VISIBLE_BARS at first); with fewer
bars than that the bars fill the width from the first one instead of leaving the left part empty,
at most MAX_BAR_PX pixels per bar. A pan that moves the newest bar off the right edge leaves follow
mode; panning back to it (or End, or *Jump to live*) resumes it. Each pane's y range fits what is
visible, at most every Y_FIT_INTERVAL_MS while panning. UI thread only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6 import QtCore

from ui.widgets.chart.bar_store import ChartBars
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale

# (price low, price high, volume max) of what is drawn over bars [i0, i1), forming bar included or not
Extent = Callable[[int, int, bool], tuple[float, float, float]]


class Viewport(QtCore.QObject):
    """Owns the chart's x range (follow mode) and fits every pane's y range to it."""

    following_changed = QtCore.Signal(bool)

    DEFAULT_VISIBLE_BARS = 120
    RIGHT_MARGIN_BARS = 4
    MAX_BAR_PX = 28.0
    Y_FIT_INTERVAL_MS = 30

    def __init__(
        self,
        price: Pane,
        volume: Pane,
        sub_panes: Callable[[], list[Pane]],
        bars: ChartBars,
        extent: Extent,
        fit_sub_panes: Callable[[int, int], None],
        scale: PriceScale,
        parent: QtCore.QObject | None = None,
    ):
        super().__init__(parent)
        self._price = price
        self._volume = volume
        self._sub_panes = sub_panes
        self._bars = bars
        self._extent = extent
        self._fit_sub_panes = fit_sub_panes
        self._scale = scale
        self._following = True
        self.follow_width = float(self.DEFAULT_VISIBLE_BARS)
        self.in_refresh = False
        self._yfit_pending = False
        self._yfit_timer = QtCore.QTimer(self)
        self._yfit_timer.setSingleShot(True)
        self._yfit_timer.setInterval(self.Y_FIT_INTERVAL_MS)
        self._yfit_timer.timeout.connect(self._yfit_timeout)

    # follow mode --------------------------------------------------------------------------------
    @property
    def following(self) -> bool:
        """True while the view tracks the newest bar."""
        return self._following

    def set_following(self, on: bool) -> None:
        if on != self._following:
            self._following = on
            self.following_changed.emit(on)

    def follow_span(self) -> tuple[float, float]:
        """The x range follow mode shows now."""
        right = self._bars.last_x + 0.5 + self.RIGHT_MARGIN_BARS
        left = right - self.follow_width
        if left < -1.0:
            # fewer bars than the zoom shows: start at the first bar, bars no wider than MAX_BAR_PX
            left = -1.0
            min_width = max(10.0, self._price.vb.width() / self.MAX_BAR_PX)
            right = max(right, left + min_width)
        return left, right

    def apply_follow(self) -> None:
        left, right = self.follow_span()
        self.set_x_range(left, right)

    def jump_to_live(self) -> None:
        """Resume following the newest bar."""
        self.set_following(True)
        self.apply_follow()
        self.fit_y_now()

    def reset_zoom(self) -> None:
        """The default zoom, following the newest bar."""
        self.follow_width = float(self.DEFAULT_VISIBLE_BARS)
        self.jump_to_live()

    def go_to_first_bar(self) -> None:
        """Show the first bar at the left edge, keeping the zoom."""
        x0, x1 = self.visible_range()
        self.set_visible_range(-1.0, -1.0 + (x1 - x0))

    def show_index(self, idx: int) -> None:
        """Centre the view on bar ``idx`` and stop following."""
        idx = min(max(idx, 0), max(self._bars.last_x, 0))
        x0, x1 = self.visible_range()
        width = max(x1 - x0, 10.0)
        self.set_following(False)
        self.set_x_range(idx - width / 2, idx + width / 2)
        self.fit_y_now()

    def visible_range(self) -> tuple[float, float]:
        (x0, x1), _ = self._price.vb.viewRange()
        return float(x0), float(x1)

    def set_visible_range(self, x0: float, x1: float) -> None:
        """Show bar coordinates [x0, x1]; following continues only if the newest bar is at the right edge."""
        self.set_x_range(x0, x1)
        follow = x1 >= self._bars.last_x + self.RIGHT_MARGIN_BARS
        if follow:
            self.follow_width = max(10.0, x1 - x0)
        self.set_following(follow)
        self.fit_y_now()

    def set_x_range(self, x0: float, x1: float) -> None:
        cur = self._price.vb.viewRange()[0]
        if abs(cur[0] - x0) > 1e-9 or abs(cur[1] - x1) > 1e-9:
            self._price.vb.setXRange(x0, x1, padding=0.0)

    def user_range_changed(self) -> bool:
        """A mouse pan or zoom happened: stop following when the newest bar left the right edge, resume
        when it came back, and keep a zoom as the follow width. True when a refresh is wanted."""
        x0, x1 = self.visible_range()
        width = x1 - x0
        left, right = self.follow_span()
        if self._following:
            if abs(width - (right - left)) > 1e-6 * max(1.0, width):
                self.follow_width = max(10.0, width)
                return True
            if x1 < right - 1.0:
                self.set_following(False)
            return False
        live_right = self._bars.last_x + 0.5 + self.RIGHT_MARGIN_BARS
        if x1 >= live_right - 0.5:
            self.follow_width = max(10.0, width)
            self.set_following(True)
            return True
        return False

    # y fit --------------------------------------------------------------------------------------
    def x_range_changed(self) -> None:
        """Fit y now, or after Y_FIT_INTERVAL_MS when a fit just ran (panning emits many changes)."""
        if self.in_refresh:
            return
        if self._yfit_timer.isActive():
            self._yfit_pending = True
            return
        self.fit_y_now()
        self._yfit_timer.start()

    def _yfit_timeout(self) -> None:
        if self._yfit_pending:
            self._yfit_pending = False
            self.fit_y_now()
            self._yfit_timer.start()

    def visible_indices(self) -> tuple[int, int]:
        """Completed bars [i0, i1) at least partly in view."""
        x0, x1 = self.visible_range()
        n = self._bars.n
        return max(0, int(math.floor(x0))), min(n, int(math.ceil(x1)) + 1)

    def fit_y_now(self) -> None:
        """Fit each pane's y range to what is drawn in the visible x range."""
        bars = self._bars
        n = bars.n
        x0, x1 = self.visible_range()
        i0, i1 = self.visible_indices()
        f = bars.forming
        lo, hi, vmax = self._extent(i0, i1, f is not None and x0 <= n <= x1)
        if not math.isfinite(lo):
            if n == 0 and f is None:
                return
            j = min(max(i0, 0), n - 1) if n else -1
            lo, hi, vmax = self._extent(j, j + 1, False) if j >= 0 else self._extent(0, 0, True)
        scale = self._scale
        lo_y, hi_y = scale.y(lo), scale.y(hi)
        if not (math.isfinite(lo_y) and math.isfinite(hi_y)):
            lo_y, hi_y = (scale.y(hi) - 1, scale.y(hi)) if math.isfinite(scale.y(hi)) else (0.0, 1.0)
        span = hi_y - lo_y
        if span <= 0:
            span = max(abs(hi_y) * 0.002, 0.01) if not scale.log else 0.001
            lo_y -= span / 2
            hi_y += span / 2
        self.set_y(self._price, lo_y - 0.08 * span, hi_y + 0.14 * span)
        self.set_y(self._volume, 0.0, (vmax if vmax > 0 else 1.0) * 1.12)
        self._fit_sub_panes(i0, i1)

    @staticmethod
    def set_y(pane: Pane, lo: float, hi: float) -> None:
        vb: pg.ViewBox = pane.vb
        cur = vb.viewRange()[1]
        tol = (hi - lo) * 1e-9
        if abs(cur[0] - lo) > tol or abs(cur[1] - hi) > tol:
            vb.setYRange(lo, hi, padding=0.0)
