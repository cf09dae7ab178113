"""CandleChart: price, volume and oscillator panes over a bar-index x axis (a pure view).

Fed by its owner (the main window's ChartFeed) with bars: ``set_bars`` replaces, ``append_bar`` adds
a completed bar, ``set_forming`` shows the partial bar of a derived interval. Timestamps are int64 ns
UTC bar STARTS; the x coordinate of completed bar ``i`` is ``i`` (no overnight or weekend gaps), the
forming bar sits at ``bar_count``; axis labels show bar starts in the exchange zone. Appends are
coalesced: the view is brought up to date once per event-loop pass (``refresh``).

The parts live in their own modules: bar store and time map, chart types, price scale, bar and series
items, axes, panes, overlays (the engine's indicators), viewport (follow mode, y fit), crosshair,
legend, drawings, order lines (working orders and the position, given by the owner with
``order_lines.set_orders`` / ``set_position``) and the actions/context menu. UI thread only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.chart.bar_store import ChartBars, TimeMap, UtcOffsets
from ui.widgets.chart.chart_actions import ChartActions, ChartPoint
from ui.widgets.chart.chart_types import ChartType
from ui.widgets.chart.crosshair import Crosshair
from ui.widgets.chart.drawing_model import DrawingBook
from ui.widgets.chart.drawing_tools import DrawingLayer
from ui.widgets.chart.empty_hint import EmptyChartHint
from ui.widgets.chart.interaction import ChartMouse
from ui.widgets.chart.legend import Legend
from ui.widgets.chart.live_button import JumpToLiveButton
from ui.widgets.chart.markers import MarkerLayer
from ui.widgets.chart.order_lines import OrderLineLayer
from ui.widgets.chart.overlays import Overlay, OverlaySet
from ui.widgets.chart.pane_stack import PaneStack
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_display import PriceDisplay
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.quote_band import QuoteBand
from ui.widgets.chart.session_shading import SessionShading
from ui.widgets.chart.theme import ChartTheme
from ui.widgets.chart.viewport import Viewport
from workstation.model import parse_interval
from workstation.report.formatting import grid_decimals


class CandleChart(QtWidgets.QWidget):
    """Candles (or a line, or Heikin-Ashi), volume and oscillator panes with linked x axes."""

    following_changed = QtCore.Signal(bool)
    view_changed = QtCore.Signal()  # chart type or log scale changed
    price_decimals_changed = QtCore.Signal(int)   # the prices shown with more or fewer decimals

    CHUNK_SIZE = 512
    DECIMATE_ABOVE = 3000
    DEFAULT_VISIBLE_BARS = Viewport.DEFAULT_VISIBLE_BARS
    RIGHT_MARGIN_BARS = Viewport.RIGHT_MARGIN_BARS

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        tz: str = "America/New_York",
        theme: ChartTheme | None = None,
    ):
        super().__init__(parent)
        self.theme = theme or ChartTheme()
        self.tz = tz
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self._bars = ChartBars(UtcOffsets(ZoneInfo(tz)))
        self._scale = PriceScale()
        self._time_map = TimeMap(self._bars)
        self._appended_from: int | None = None
        self.symbol = ""
        self.interval = ""

        self.session_shading = SessionShading(self._bars)
        self.panes = PaneStack(self.theme, self._bars.axis_times, self._scale, self.session_shading)
        self._view = self.panes.view
        self.time_axis = self.panes.time_axis
        self.price, self.volume = self.panes.price, self.panes.volume
        self.display = PriceDisplay(
            self._bars, self.price, self.volume, self._scale, self.theme, self.CHUNK_SIZE, self.DECIMATE_ABOVE
        )
        self.candles, self.volume_bars = self.display.candles, self.display.volume_bars
        self.markers = MarkerLayer(self._bars, self.price, self._scale, self.theme)
        self.quote_band = QuoteBand(self.price.vb, lambda: self._bars.n, self._scale, self.theme)
        self.overlays_set = OverlaySet(
            self._bars, self.price, self._scale, self.theme, self._make_sub_pane, self.CHUNK_SIZE, self.DECIMATE_ABOVE
        )
        self.viewport = Viewport(
            self.price,
            self.volume,
            lambda: self.panes.sub_panes,
            self._bars,
            self._y_extent,
            lambda i0, i1: self.overlays_set.fit_sub_panes(i0, i1, Viewport.set_y),
            self._scale,
            self,
        )
        self.viewport.following_changed.connect(self._on_following_changed)
        self.legend = Legend(
            self.theme, self._bars, self.display.heikin_ashi, self.overlays_set, self.price,
            lambda: self.panes.sub_panes, self._scale,
        )
        self.legend.quote_band = self.quote_band
        self.crosshair = Crosshair(
            self.panes.all, self.time_axis, self._bars, self._crosshair_price_text, self._update_texts
        )
        self.drawings = DrawingLayer(self.price, self._time_map, self._scale, self.theme, self.legend.price_text, self)
        self.order_lines = OrderLineLayer(
            self.price, self._scale, self.theme, self.legend.price_text, lambda: self.price.axis.decimals, self
        )
        self.order_lines.drawing_tool_armed = self.drawings.tool_armed
        self.chart_actions = ChartActions(self)
        self._live_button = JumpToLiveButton(self, self._view, self._axes_corner, self.theme, self.jump_to_live)
        self._empty_hint = EmptyChartHint(self, self._view, lambda: self.price.vb.sceneBoundingRect(), self.theme)
        self.mouse = ChartMouse(self)
        for pane in (self.price, self.volume):
            pane.vb.interaction = self.mouse

        self.price.vb.sigXRangeChanged.connect(self._on_x_range_changed)
        self.price.vb.sigYRangeChanged.connect(self._on_y_range_changed)
        self.price.vb.sigResized.connect(self._on_resized)
        self._view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        for pane in (self.price, self.volume):
            pane.vb.sigRangeChangedManually.connect(self._on_user_range_change)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._view)
        self._view.viewport().installEventFilter(self)

        self._refresh_timer = QtCore.QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._update_texts()
        self.viewport.apply_follow()
        self._empty_hint.show_for(True)

    def _make_sub_pane(self, ov: Overlay) -> Pane:
        pane = self.panes.make_sub_pane(ov)
        pane.vb.interaction = self.mouse
        pane.vb.sigRangeChangedManually.connect(self._on_user_range_change)
        return pane

    @property
    def price_scale(self) -> PriceScale:
        """The price pane's scale (linear or log)."""
        return self._scale

    @property
    def time_map(self) -> TimeMap:
        """Times (ns UTC) <-> chart x."""
        return self._time_map

    # data API ---------------------------------------------------------------------------------
    @property
    def bar_count(self) -> int:
        """Number of completed bars."""
        return self._bars.n

    @property
    def capacity(self) -> int:
        """Allocated bar slots (doubles when full)."""
        return self._bars.capacity

    def bar_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Views (ts, open, high, low, close, volume) of the completed bars; do not modify."""
        s, n = self._bars, self._bars.n
        return s.ts[:n], s.open[:n], s.high[:n], s.low[:n], s.close[:n], s.volume[:n]

    def set_bars(self, ts, o, h, low, c, v) -> None:
        """Replace every bar with the given arrays (ts int64 ns UTC bar starts, ascending)."""
        arrays = {"ts": ts, "open": o, "high": h, "low": low, "close": c, "volume": v}
        n = len(ts)
        for name, arr in arrays.items():
            if len(arr) != n:
                raise ValueError(f"set_bars: {name} has {len(arr)} values but ts has {n}")
        ts_arr = np.asarray(ts, dtype=np.int64)
        if n > 1 and np.any(np.diff(ts_arr) <= 0):
            bad = int(np.flatnonzero(np.diff(ts_arr) <= 0)[0]) + 1
            raise ValueError(f"set_bars: ts must be strictly ascending; ts[{bad}]={ts_arr[bad]} <= ts[{bad - 1}]")
        self._bars.replace(ts_arr, *(np.asarray(a, dtype=np.float64) for a in (o, h, low, c, v)))
        self._after_replace()

    def append_bar(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Append one completed bar (ts int64 ns UTC bar start, after the last bar)."""
        bars = self._bars
        ts = int(ts)
        if bars.n and ts <= int(bars.ts[bars.n - 1]):
            raise ValueError(f"append_bar: ts {ts} is not after the last bar ts {int(bars.ts[bars.n - 1])}")
        bars.append(ts, float(o), float(h), float(low), float(c), float(v))
        i = bars.n - 1
        self.overlays_set.bar_appended(i)
        if self._appended_from is None:
            self._appended_from = i
        if i == 0 or i % 64 == 0:
            self._update_bar_minutes()
        self._request_refresh()

    def append_bars(self, ts, o, h, low, c, v) -> None:
        """Append completed bars at once (ts int64 ns UTC bar starts, ascending, after the last bar): what
        `append_bar` does for each, at the cost of a few numpy calls (a redraw at MAX brings hundreds)."""
        ts_arr = np.asarray(ts, dtype=np.int64)
        k = len(ts_arr)
        cols = [np.asarray(a, dtype=np.float64) for a in (o, h, low, c, v)]
        for name, arr in zip(("open", "high", "low", "close", "volume"), cols, strict=True):
            if len(arr) != k:
                raise ValueError(f"append_bars: {name} has {len(arr)} values but ts has {k}")
        if not k:
            return
        bars = self._bars
        if k > 1 and np.any(np.diff(ts_arr) <= 0):
            bad = int(np.flatnonzero(np.diff(ts_arr) <= 0)[0]) + 1
            raise ValueError(f"append_bars: ts must be strictly ascending; ts[{bad}]={ts_arr[bad]} <= ts[{bad - 1}]")
        if bars.n and int(ts_arr[0]) <= int(bars.ts[bars.n - 1]):
            raise ValueError(f"append_bars: ts {int(ts_arr[0])} is not after the last bar ts {int(bars.ts[bars.n - 1])}")
        first = bars.n
        bars.extend(ts_arr, *cols)
        self.overlays_set.bars_appended(first, bars.n)
        if self._appended_from is None:
            self._appended_from = first
        if (bars.n - 1) // 64 > (first - 1) // 64:        # a multiple of 64 among them (as append_bar)
            self._update_bar_minutes()
        self._request_refresh()

    def set_forming(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Show the partial bar of a derived interval right after the last completed bar."""
        self._bars.set_forming(int(ts), float(o), float(h), float(low), float(c), float(v))
        self._request_refresh()

    def clear_forming(self) -> None:
        """Remove the forming bar."""
        if self._bars.forming is not None:
            self._bars.forming = None
            self._request_refresh()

    @property
    def forming(self) -> tuple[int, float, float, float, float, float] | None:
        """The forming bar as (ts, open, high, low, close, volume), or None."""
        f = self._bars.forming
        return None if f is None else (f.ts, f.open, f.high, f.low, f.close, f.volume)

    def set_regular_hours(self, hours: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Shade the bars outside these regular sessions (opens, closes: int64 ns UTC, one pair per
        day) as pre-market and post-market; None: no shading (a regular-hours run)."""
        self.session_shading.set_regular_hours(*(hours if hours is not None else (None, None)))
        for pane in self.panes.all():
            pane.grid.update()

    def set_closing_windows(self, windows: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Shade the session-close rule's window of each day ([flatten time, regular close), int64 ns UTC);
        None: no rule, nothing shaded."""
        self.session_shading.set_closing_windows(*(windows if windows is not None else (None, None)))
        for pane in self.panes.all():
            pane.grid.update()

    def clear(self) -> None:
        """Drop bars, forming bar and markers; keep overlays, title and drawings; resume following."""
        self._bars.clear()
        self.markers.clear()
        self.quote_band.clear()
        self._after_replace()
        self.jump_to_live()

    def index_at(self, ts: int) -> int:
        """Index of the bar whose start is the greatest <= ts (-1 before the first bar; the forming
        bar's index ``bar_count`` when ts is at or after its start)."""
        return self._bars.index_at(int(ts))

    # markers ----------------------------------------------------------------------------------
    def add_marker(self, ts: int, price: float, side: str) -> None:
        """Mark a fill: side 'buy' (green triangle up, tip at price) or 'sell' (red, down)."""
        self.markers.add(ts, price, side)

    def add_markers(self, markers: list[tuple[int, float, str]]) -> None:
        """Mark several fills at once, (ts, price, side) each (see `add_marker`)."""
        self.markers.add_many(markers)

    def set_quote_band(self, bid: np.ndarray, ask: np.ndarray) -> None:
        """Bid and ask closes of the first len(bid) bars (NaN where no quote bar): drawn as the bid/ask band."""
        self.quote_band.set_values(bid, ask)
        self._update_texts()

    def clear_markers(self) -> None:
        """Remove every marker."""
        self.markers.clear()

    def marker_positions(self) -> list[tuple[int, float, str]]:
        """(bar index, price, side) of each drawable marker, in x order."""
        return self.markers.positions()

    # overlays ---------------------------------------------------------------------------------
    def overlays(self) -> list[str]:
        """The active overlay specs (the engine's canonical form), in the order given."""
        return self.overlays_set.specs()

    def set_overlays(self, specs: Sequence[str]) -> None:
        """Choose the indicator overlays: any spec the engine accepts (sma(N), ema(N), bb, vwap on the
        price; rsi, macd, atr below). ValueError names a spec the engine does not know."""
        self.overlays_set.set_specs(specs)
        if self.panes.set_sub_panes(self.overlays_set.sub_panes()):
            self._live_button.place()
            self.viewport.fit_y_now()
        self._request_refresh()

    def overlay_series(self, spec: str) -> dict[str, np.ndarray]:
        """The stored series of an active overlay (views of length ``bar_count``; NaN before ready)."""
        self.overlays_set.flush()
        ov = self.overlays_set.get(spec)
        n = self._bars.n
        return {k: a[:n] for k, a in ov.series.items()}

    @property
    def sub_pane_count(self) -> int:
        """Number of oscillator panes below the volume pane."""
        return len(self.panes.sub_panes)

    # chart type and scale ---------------------------------------------------------------------
    @property
    def chart_type(self) -> ChartType:
        return self.display.chart_type

    def set_chart_type(self, chart_type: ChartType | str) -> None:
        """Candles, line (closes) or Heikin-Ashi candles."""
        chart_type = ChartType(chart_type)
        if chart_type is self.display.chart_type:
            return
        self.display.set_chart_type(chart_type)
        self.legend.chart_type = chart_type
        self.chart_actions.sync_state()
        self.view_changed.emit()
        self.refresh()

    @property
    def log_scale(self) -> bool:
        return self._scale.log

    def set_log_scale(self, on: bool) -> None:
        """Logarithmic (True) or linear price scale."""
        on = bool(on)
        if on == self._scale.log:
            return
        if on and self._bars.n and float(self._bars.low[: self._bars.n].min()) <= 0:
            on = False  # no logarithm of a non-positive price: stay linear
        self._scale.log = on
        self.display.scale_changed()
        self.overlays_set.scale_changed()
        self.quote_band.scale_changed()
        self.markers.item.scale_changed()
        self.order_lines.relayout()
        self.price.axis.invalidate()
        self.chart_actions.sync_state()
        self.view_changed.emit()
        self.refresh()

    # title and read-out -----------------------------------------------------------------------
    def set_title(self, symbol: str, interval: str) -> None:
        """Set the symbol and interval shown at the top-left (the drawings follow the symbol)."""
        self.symbol, self.interval = symbol, interval
        self.legend.symbol, self.legend.interval = symbol, interval
        try:
            self._time_map.bar_ns = parse_interval(interval).ns if interval else 0
        except ValueError:
            self._time_map.bar_ns = 0
        if symbol != self.drawings.symbol:
            self.order_lines.clear()
        self.drawings.set_symbol(symbol)
        self._update_texts()

    def title_text(self) -> str:
        """The title line as plain text."""
        return self.price.text.plain_text().split("\n")[0] if self.price.text else ""

    def readout_text(self) -> str:
        """Every line of the price pane's read-out (title, OHLCV, overlays) plus the sub-panes'."""
        parts = [self.price.text.plain_text()] if self.price.text else []
        parts += [p.text.plain_text() for p in self.panes.sub_panes if p.text]
        return "\n".join(parts)

    def _crosshair_price_text(self, y: float) -> str:
        return self.legend.price_text(self._scale.price(y))

    def _update_texts(self) -> None:
        self.legend.update(self.crosshair.readout_index())

    # crosshair --------------------------------------------------------------------------------
    def set_crosshair(self, x: float, y: float | None = None, pane: str = "price") -> None:
        """Put the crosshair at bar coordinate x (and pane value y) as the mouse would; updates the read-out."""
        self.crosshair.set_at(x, y, pane)

    def clear_crosshair(self) -> None:
        """Hide the crosshair; the read-out shows the newest bar again."""
        self.crosshair.clear()

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        self.crosshair.mouse_moved(scene_pos)
        self.drawings.mouse_moved(scene_pos)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.Leave:
            self.clear_crosshair()
        return super().eventFilter(obj, ev)

    # menus ------------------------------------------------------------------------------------
    def context_menu(self, point: ChartPoint) -> QtWidgets.QMenu:
        """The right-click menu for a chart point (built fresh each time)."""
        return self.chart_actions.menu(point)

    def add_menu_provider(self, provider) -> None:
        """Add entries to the right-click menu: ``provider(menu, ChartPoint)`` (e.g. orders at a price)."""
        self.chart_actions.providers.append(provider)

    def set_drawing_book(self, book: DrawingBook) -> None:
        """Show and edit the drawings of this book (one per config) for the chart's symbol."""
        self.drawings.set_book(book)

    # view commands ------------------------------------------------------------------------------
    @property
    def following(self) -> bool:
        """True while the view tracks the newest bar."""
        return self.viewport.following

    def jump_to_live(self) -> None:
        """Resume following the newest bar."""
        self.viewport.jump_to_live()

    def reset_zoom(self) -> None:
        """The default zoom, following the newest bar."""
        self.viewport.reset_zoom()

    def go_to_first_bar(self) -> None:
        """Show the first bar at the left edge (keeps the zoom)."""
        self.viewport.go_to_first_bar()

    def show_bar_at(self, ts: int) -> None:
        """Centre the view on the bar at time ts (e.g. a trade) and stop following."""
        self.viewport.show_index(self.index_at(ts))

    def visible_range(self) -> tuple[float, float]:
        """The x range (bar coordinates) shown."""
        return self.viewport.visible_range()

    def set_visible_range(self, x0: float, x1: float) -> None:
        """Show bar coordinates [x0, x1]; following continues only if the newest bar is at the right edge."""
        self.viewport.set_visible_range(x0, x1)

    def save_png(self, path: str | Path) -> bool:
        """Save what the chart shows (all panes and axes) as a PNG file. True when written."""
        self.refresh()
        return self._view.grab().save(str(path), "PNG")

    def _on_following_changed(self, on: bool) -> None:
        self._live_button.setVisible(not on)
        self._live_button.place()
        self.following_changed.emit(on)

    def _on_user_range_change(self, _mask) -> None:
        if self.viewport.user_range_changed():
            self._request_refresh()

    def _on_x_range_changed(self, *_args) -> None:
        for p in self.panes.all():
            p.grid.update()
        self.crosshair.update()
        self.drawings.relayout()
        self.viewport.x_range_changed()

    def _on_y_range_changed(self, *_args) -> None:
        self.drawings.relayout()
        self.order_lines.relayout()

    def _on_resized(self, *_args) -> None:
        self._live_button.place()
        self.drawings.relayout()
        self.order_lines.relayout()

    # refresh ----------------------------------------------------------------------------------
    def _request_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Apply pending appends to the view now (normally run by a zero-delay timer)."""
        self._refresh_timer.stop()
        vp = self.viewport
        vp.in_refresh = True
        try:
            if self._appended_from is not None:
                self._widen_price_decimals(self._appended_from)
                self.display.bars_appended()
                self._appended_from = None
            self.overlays_set.flush()
            self.display.sync_forming()
            if self.markers:
                self.markers.place()
            self.time_axis.reset_cache()
            if vp.following:
                vp.apply_follow()
            vp.fit_y_now()
            self.crosshair.update()
            self.drawings.relayout()
            self._update_texts()
            # pyqtgraph moves its view boxes to the new range just before painting, which changes the
            # scene during the paint and queues a second (often a third) paint of the whole chart:
            # move them now, so the queued paint draws what is final
            self.graphics_view.scene().prepareForPaint()
        finally:
            vp.in_refresh = False
        self._empty_hint.show_for(self._bars.n == 0 and self._bars.forming is None)

    def _after_replace(self) -> None:
        bars = self._bars
        n = bars.n
        self._update_bar_minutes()
        recent = slice(max(0, n - 256), n)
        decimals = grid_decimals(bars.open[recent], bars.high[recent], bars.low[recent], bars.close[recent])
        if decimals is None:   # prices on no decimal grid (adjusted): cents, or 4 decimals below a dollar
            decimals = 2 if n == 0 or float(np.median(bars.close[recent])) >= 1 else 4
        self._set_price_decimals(decimals)
        if self._scale.log and n and float(bars.low[:n].min()) <= 0:
            self.set_log_scale(False)
        self.display.bars_replaced()
        self.overlays_set.recompute_all()
        self._appended_from = None
        self.markers.place()
        self.refresh()

    def _set_price_decimals(self, decimals: int) -> None:
        if decimals != self.price.axis.decimals:
            self.price.axis.decimals = decimals
            self.price_decimals_changed.emit(decimals)

    def _widen_price_decimals(self, first: int) -> None:
        """Bars appended from `first` with finer prices than shown (the first bars of a replay that
        began without history, or a finer tick later) show more decimals from now on."""
        bars, n = self._bars, self._bars.n
        decimals = grid_decimals(bars.open[first:n], bars.high[first:n], bars.low[first:n], bars.close[first:n])
        if decimals is not None and decimals > self.price.axis.decimals:
            self._set_price_decimals(decimals)

    def _y_extent(self, i0: int, i1: int, with_forming: bool) -> tuple[float, float, float]:
        """(price low, price high, volume max) of the bars and price overlays drawn over [i0, i1)."""
        lo, hi, vmax = self.display.extent(i0, i1, with_forming)
        if i1 > i0:
            olo, ohi = self.overlays_set.price_extent(i0, i1)
            lo, hi = min(lo, olo), max(hi, ohi)
        return lo, hi, vmax

    def _update_bar_minutes(self) -> None:
        step = self._bars.median_step_ns()
        if step > 0:
            self.time_axis.bar_minutes = max(1.0 / 60, step / 60e9)

    # geometry ---------------------------------------------------------------------------------
    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        QtCore.QTimer.singleShot(0, self, self._live_button.place)
        if self._empty_hint.isVisibleTo(self):
            QtCore.QTimer.singleShot(0, self, self._empty_hint.place)

    def _axes_corner(self) -> QtCore.QRectF:
        """The scene rectangle below the price axis and right of the time axis (empty in every layout)."""
        axis, time_axis = self.price.axis.sceneBoundingRect(), self.time_axis.sceneBoundingRect()
        return QtCore.QRectF(axis.left(), time_axis.top(), axis.width(), time_axis.height())

    @property
    def empty_hint(self) -> QtWidgets.QLabel:
        """The "No bars yet" hint over the price pane (shown while the chart has no bar)."""
        return self._empty_hint

    @property
    def live_button(self) -> QtWidgets.QToolButton:
        """The floating 'Jump to live' button (visible only while not following)."""
        return self._live_button

    @property
    def graphics_view(self) -> pg.GraphicsLayoutWidget:
        """The pyqtgraph view holding the panes."""
        return self._view
