"""The backtest results view: equity curve with drawdown, statistics, trade list, per-symbol table
and the run's data gaps (gaps.parquet: every run of missing bars per session, symbol and interval).

Shows a `RunResults` (a loaded run folder). Times are displayed in the run's exchange time zone.
The equity and drawdown plots use the equity-point number as x (one point per bar time), so
nights and weekends take no room; the bottom axis labels those points with exchange-local
session dates and times. Double-clicking a trade emits `trade_activated(symbol, entry_ns, exit_ns)`.
The tables (ui/windows/frame_table.py) sort and filter with numpy and format a cell's text when it is
first drawn, so a run of 12,000 trades shows in a fraction of a second; `read_run_folder_in_background`
reads a run folder in a worker thread and shows it in the UI thread in two event-loop turns (cards and
tables, then the plots: `show_results_in_steps`), and the plot axes fill their faint grid lines as pixel
rows (`_DirectAxis`), so that no turn blocks the UI for long.
"""

from __future__ import annotations

import html
import logging
import math
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import (
    QModelIndex,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QKeySequence, QPainter, QTransform
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

# isort: split
import pyqtgraph as pg  # imported after PySide6 so that pyqtgraph binds to it

from ui import theme
from ui.file_dialogs import existing_directory, save_file_name
from ui.widgets.chart.axes import TimeAxisItem
from ui.widgets.chart.formatting import MONTHS, NS_PER_DAY, WEEKDAYS, local_parts
from ui.widgets.chart.theme import ChartTheme
from ui.widgets.elided_label import ElidedLabel
from ui.windows.frame_table import (  # noqa: F401  (ColumnData, FrameTableModel, SORT_ROLE: this module's interface)
    SORT_ROLE,
    ColumnData,
    FrameTableModel,
    LazyCells,
    fit_columns,
    make_table,
)
from workstation.errors import WorkstationError
from workstation.execution.stats import drawdown_series
from workstation.model import parse_interval
from workstation.pipeline.gap_list import read_gap_list
from workstation.report.formatting import (  # noqa: F401  (fmt_* are part of this module's interface)
    fmt_money,
    fmt_money_short,
    fmt_number,
    fmt_pct,
    fmt_qty,
    open_at_end_text,
    sharpe_note,
)
from workstation.report.formatting import price_decimals as _price_decimals
from workstation.run_writer import run_folder_status
from workstation.runs import RunResults, load_run
from workstation.runs.folder import CONFIG_FILE, run_folders

log = logging.getLogger(__name__)

NO_TRADES_TEXT = "No trades in this run"
OPEN_HINT = "Open a backtest run folder (config.json, trades.parquet, equity.parquet) to see its results."
_AXIS_WIDTH = 78
STEP_PAUSE_MS = 10  # between the steps of a staged build: the event loop draws the last step meanwhile
_MIN_LABEL_GAP_PX = 64


# ------------------------------------------------------------------------------ formatting


def _pnl_colour(x: float | None) -> QColor | None:
    if x is None or not math.isfinite(x) or abs(x) < 1e-12:
        return None
    return QColor(theme.UP if x > 0 else theme.DOWN)


# ---------------------------------------------------------------------------- table model


PLOTS_MIN_HEIGHT = 210
TABLES_MIN_HEIGHT = 190  # title bar, header and five trade rows
COMPACT_MIN_HEIGHT = 150  # plots beside the tables in a short dock: title bar, header and three rows
SIDE_PANEL_MIN_ROWS = 3  # per-symbol and gap rows shown at least when stacked (else the two are tabs)

AXIS_TITLE_MARGIN_PX = 8  # room kept around a rotated axis title
CARD_SPACING = 8  # between the statistics cards (they go on two rows when one row would cut their titles)


def fit_axis_label(plot: pg.PlotItem) -> None:
    """Show a plot's rotated left-axis title only where the plot is tall enough for it: in a short
    plot (the compact results at 1280 x 800) it would run into the next plot's title."""
    axis = plot.getAxis("left")
    text = axis.labelText
    if not text:
        return
    needed = QFontMetrics(axis.label.font()).horizontalAdvance(text) + AXIS_TITLE_MARGIN_PX
    show = plot.getViewBox().height() >= needed
    if axis.label.isVisible() != show:
        axis.showLabel(show)


def _table_section(title: str, tooltip: str = "") -> tuple[QWidget, QVBoxLayout, QHBoxLayout, QLabel]:
    """A titled table section: (the section, its column layout, its header bar, the count label). The
    header holds the title, the count and a stretch; what the caller adds to the bar goes on the right."""
    section = QWidget()
    box = QVBoxLayout(section)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(6)
    bar = QHBoxLayout()
    title_label = QLabel(title)
    title_label.setObjectName("SectionTitle")
    if tooltip:
        title_label.setToolTip(tooltip)
    count = QLabel("")
    count.setObjectName("SectionCount")
    bar.addWidget(title_label)
    bar.addWidget(count)
    bar.addStretch(1)
    box.addLayout(bar)
    return section, box, bar, count


class SidePanel(QStackedWidget):
    """The per-symbol table and the data gaps beside the trades: one above the other when the panel is
    tall enough for a header and SIDE_PANEL_MIN_ROWS rows of each, else as two tabs (a short results dock:
    at 1280 x 800 the two stacked halves showed no row at all). The sections (`_table_section`s, each with
    its table) keep their widgets; only their container changes (`tabbed`), with the section's title and
    count in the tab's title instead of its header bar."""

    def __init__(self, first: tuple[QWidget, QTableView], second: tuple[QWidget, QTableView],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # (section, its table, its header bar); the bar's first two widgets are its title and count labels
        self._sections = tuple((section, table, section.layout().itemAt(0).layout())
                               for section, table in (first, second))
        self._split = QSplitter(Qt.Orientation.Vertical)
        self._split.setChildrenCollapsible(False)
        self._split.setHandleWidth(8)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(False)    # both titles stay readable: the panel is as wide as they are
        self.addWidget(self._split)
        self.addWidget(self.tabs)
        self.tabbed = True          # so that the first `_set_tabbed(False)` lays the sections out
        self._tab_index = 0
        self._set_tabbed(False)

    def stacked_height(self) -> int:
        """The height both sections need one above the other, each with its title, its table's header,
        SIDE_PANEL_MIN_ROWS rows and a horizontal scroll bar."""
        total = self._split.handleWidth()
        for section, table, header in self._sections:
            rows = table.verticalHeader().defaultSectionSize() * SIDE_PANEL_MIN_ROWS
            title = header.sizeHint().height() + section.layout().spacing()
            total += (title + table.horizontalHeader().sizeHint().height() + rows
                      + table.horizontalScrollBar().sizeHint().height() + 2 * table.frameWidth())
        return total

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._set_tabbed(event.size().height() < self.stacked_height())

    def _set_tabbed(self, tabbed: bool) -> None:
        if tabbed == self.tabbed:
            return
        self.tabbed = tabbed
        if not tabbed:
            self._tab_index = self.tabs.currentIndex()   # the trader's choice comes back with the tabs
        for section, _table, header in self._sections:
            for i in range(header.count()):
                widget = header.itemAt(i).widget()
                if widget is not None:
                    widget.setVisible(not tabbed)
            if tabbed:
                self.tabs.addTab(section, "")
            else:
                self._split.addWidget(section)
                section.show()      # the tab widget hid the page that was not current
        if tabbed:
            self.update_tab_titles()
            self.tabs.setCurrentIndex(max(self._tab_index, 0))
            self.setCurrentWidget(self.tabs)
        else:
            self._split.setStretchFactor(0, 1)
            self._split.setStretchFactor(1, 1)
            self._split.setSizes([1, 1])    # halves again (sections come back with their tab's sizes)
            self.setCurrentWidget(self._split)

    def update_tab_titles(self) -> None:
        """The tabs' titles: each section's title and count (as its header shows when stacked)."""
        for k, (_section, _table, header) in enumerate(self._sections):
            if k < self.tabs.count():     # the count's first part: "19", not "19 · 19 bars"
                title, count = header.itemAt(0).widget().text(), header.itemAt(1).widget().text()
                self.tabs.setTabText(k, f"{title} {count.split(' · ')[0]}".rstrip())


def _with_empty_state(table: QTableView) -> tuple[QStackedWidget, EmptyState]:
    """The table and an empty-state message in one stack (page 0 the table, page 1 the message)."""
    stack = QStackedWidget()
    stack.addWidget(table)
    empty = EmptyState()
    stack.addWidget(empty)
    return stack, empty


# -------------------------------------------------------------------------------- plot axes


class PointTimes:
    """Exchange wall-clock times (ns) of the equity points, for the shared time axis and the read-out.

    x = equity-point number (like the chart's bar index); session starts are where the exchange date
    changes."""

    def __init__(self) -> None:
        self.local_ns = np.zeros(0, dtype=np.int64)
        self.day_starts = np.zeros(0, dtype=np.int64)

    def set_times(self, times: pd.Series, tz: str) -> None:
        local = pd.DatetimeIndex(times).tz_convert(tz)
        self.local_ns = local.tz_localize(None).as_unit("ns").asi8.copy()
        days = self.local_ns // NS_PER_DAY
        change = np.ones(len(days), dtype=bool)
        change[1:] = days[1:] != days[:-1]
        self.day_starts = np.flatnonzero(change)

    def axis_times(self) -> tuple[np.ndarray, int]:
        return self.local_ns, len(self.local_ns)

    def label_of(self, i: int) -> str:
        """'Tue Jan 02 10:31' for point i (exchange time)."""
        if not 0 <= i < len(self.local_ns):
            return ""
        d = local_parts(int(self.local_ns[i]))
        return f"{WEEKDAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day:02d} {d.hour:02d}:{d.minute:02d}"


class _DirectAxis(pg.AxisItem):
    """An axis that draws its ticks and grid lines faster, pixel for pixel as pyqtgraph's AxisItem.

    The y grid is drawn by the left axis as up to ~40 faint (alpha 3-30) lines across the plot; Qt's
    raster engine blends such a line pixel by pixel (~0.5 ms each for 1,500 px, ~35 ms of each
    ~50 ms repaint of the results plots). A 1-px horizontal or vertical line of a solid cosmetic pen
    lights pixel row floor(y) from column floor(x0) to floor(x1): the same pixels filled as an
    integer rectangle take a tenth of the time. Other lines, and coordinates within 1e-3 of a pixel
    edge but not on it (where Qt's fixed-point rounding might differ), are drawn as before. The draw specs are made
    when pyqtgraph drops its picture (range, size or style changed) and drawn directly each paint."""

    _specs: tuple[Any, ...] | None = None

    def paint(self, p: QPainter, opt: Any, widget: Any) -> None:
        if self.picture is None or self._specs is None:
            p.save()
            if self.style["tickFont"]:
                p.setFont(self.style["tickFont"])
            self._specs = self.generateDrawSpecs(p)
            p.restore()
            self.picture = _SPECS_MADE  # pyqtgraph sets it to None when the axis must be made again
        if self._specs is not None:
            p.save()
            try:
                self._draw(p, *self._specs)
            finally:
                p.restore()

    def _draw(self, p: QPainter, axis_spec: Any, tick_specs: Any, text_specs: Any) -> None:
        """AxisItem.drawPicture with the lines drawn by `_draw_line`."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        device = p.transform()
        if device.type() not in (QTransform.TransformationType.TxNone, QTransform.TransformationType.TxTranslate):
            device = None  # scaled or rotated: every line as pyqtgraph draws it
        pen, p1, p2 = axis_spec
        _draw_line(p, device, pen, p1, p2)
        for pen, p1, p2 in tick_specs:
            _draw_line(p, device, pen, p1, p2)
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in text_specs:
            p.drawText(rect, int(flags), text)


_SPECS_MADE: Any = object()  # stands for AxisItem.picture while a _DirectAxis's draw specs are current
_EDGE = 1e-3  # px: a line end this close to a pixel edge is drawn by Qt itself


def _near_edge(v: float) -> bool:
    """Within _EDGE of a pixel edge but not on it (a whole number is exact in Qt's fixed point too)."""
    return 0 < abs(v - round(v)) < _EDGE


def _draw_line(p: QPainter, device: QTransform | None, pen: Any, p1: Any, p2: Any) -> bool:
    """p.drawLine(p1, p2) with `pen`; an aliased 1-px horizontal or vertical line is filled instead
    (then True)."""
    if (
        device is None
        or pen.style() != Qt.PenStyle.SolidLine
        or not pen.isCosmetic()
        or pen.widthF() > 1.0
        or pen.brush().style() != Qt.BrushStyle.SolidPattern
    ):
        p.setPen(pen)
        p.drawLine(p1, p2)
        return False
    dx, dy = device.dx(), device.dy()
    x1, y1, x2, y2 = p1.x() + dx, p1.y() + dy, p2.x() + dx, p2.y() + dy
    if y1 == y2 and abs(x2 - x1) >= 1 and not any(_near_edge(v) for v in (x1, x2, y1)):
        lo, hi = sorted((x1, x2))
        rect = QRect(math.floor(lo), math.floor(y1), math.floor(hi) - math.floor(lo) + 1, 1)
    elif x1 == x2 and abs(y2 - y1) >= 1 and not any(_near_edge(v) for v in (y1, y2, x1)):
        lo, hi = sorted((y1, y2))
        rect = QRect(math.floor(x1), math.floor(lo), 1, math.floor(hi) - math.floor(lo) + 1)
    else:
        p.setPen(pen)
        p.drawLine(p1, p2)
        return False
    p.save()
    p.resetTransform()
    p.fillRect(rect, pen.color())
    p.restore()
    return True


class _FormattedAxis(_DirectAxis):
    """Left axis with thousands separators, as many decimals as the tick spacing needs, optional '%'."""

    def __init__(self, suffix: str = "", **kwargs: Any) -> None:
        super().__init__("left", **kwargs)
        self._suffix = suffix
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        decimals = 0 if spacing <= 0 or spacing >= 1 else min(6, -math.floor(math.log10(spacing)))
        return [fmt_number(v + 0.0, decimals) + self._suffix for v in values]

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N803
        """pyqtgraph's spacing, with labelled ticks at least LABEL_GAP_LINES text lines apart: it puts ~3
        labels on any axis, which in a short plot (the compact results, ~65 px) ran into each other. A
        wider step is the next of 1-2-5 times a power of ten; the original step stays as a minor level."""
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if not levels or size <= 0 or span <= 0:
            return levels
        min_px = LABEL_GAP_LINES * QFontMetrics(self.style.get("tickFont") or self.font()).height()
        major = levels[0][0]
        while major * size / span < min_px:
            major = _next_nice_step(major)
        return levels if major == levels[0][0] else [(major, 0.0), (levels[0][0], 0.0)]


LABEL_GAP_LINES = 1.4
"""Labelled ticks of a results plot's value axis are at least this many text lines apart."""


def _next_nice_step(step: float) -> float:
    """The next tick step after `step` in 1, 2, 5 times a power of ten: 0.5 -> 1, 1 -> 2, 250 -> 500."""
    power = 10.0 ** math.floor(math.log10(step))
    mantissa = step / power
    for nice in (2.0, 5.0, 10.0):
        if mantissa < nice * 0.99:
            return nice * power
    return 20.0 * power


def _style_axis(axis: pg.AxisItem) -> None:
    axis.setPen(pg.mkPen(theme.BORDER))
    axis.setTextPen(pg.mkPen(theme.MUTED))
    axis.setStyle(tickLength=-4, tickTextOffset=6)


# ------------------------------------------------------------------------------- stat cards


class StatCard(QFrame):
    """One statistic: a small muted title, a large value (font shrinks to fit the card) and a caption."""

    VALUE_POINT_SIZES = (15.0, 14.0, 13.0, 12.0, 11.0, 10.0, 9.0)

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatCard")
        self.base_tooltip = tooltip
        self.setToolTip(tooltip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 7, 10, 7)
        layout.setSpacing(1)
        self.title = ElidedLabel(title.upper())
        self.title.setObjectName("StatTitle")
        self.title.setToolTip(tooltip)
        self.value = QLabel("\u2014")
        self.value.setObjectName("StatValue")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.value.setMinimumWidth(10)
        self.caption = ElidedLabel("")
        self.caption.setObjectName("StatCaption")
        for label in (self.title, self.value, self.caption):
            layout.addWidget(label)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(100)
        self._fit_value()

    def set(self, value: str, colour: str | None, caption: str = "", detail: str | None = None) -> None:
        """Show a value; `detail` (this run's) follows the card's description in its tooltip."""
        self.value.setText(value)
        self.value.setStyleSheet(f"color: {colour or theme.TEXT_BRIGHT};")
        self.caption.setText(caption)
        # rich text, so that Qt wraps a long detail instead of one line across the screen (never
        # between a minus sign and its amount: a word joiner after it)
        wrapped = html.escape(detail or "").replace("\u2212", "\u2212\u2060")
        tooltip = f"<p>{html.escape(self.base_tooltip)}</p><p>{wrapped}</p>" if detail else self.base_tooltip
        self.setToolTip(tooltip)
        self.title.setToolTip(tooltip)
        self._fit_value()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_value()

    def _fit_value(self) -> None:
        """Largest value font (15 pt down to 9 pt) that shows the whole value in the card's width."""
        margins = self.layout().contentsMargins()
        available = self.width() - margins.left() - margins.right() - 2
        font = QFont(self.font())
        font.setWeight(QFont.Weight.DemiBold)
        for size in self.VALUE_POINT_SIZES:
            font.setPointSizeF(size)
            if QFontMetrics(font).horizontalAdvance(self.value.text()) <= available:
                break
        self.value.setFont(font)
        self.value.setFixedHeight(QFontMetrics(self._max_font()).height())

    def title_width(self) -> int:
        """The card width that shows its whole title."""
        margins = self.layout().contentsMargins()
        return max(self.minimumWidth(), self.title.sizeHint().width() + margins.left() + margins.right() + 4)

    def _max_font(self) -> QFont:
        font = QFont(self.font())
        font.setWeight(QFont.Weight.DemiBold)
        font.setPointSizeF(self.VALUE_POINT_SIZES[0])
        return font


_CARDS: tuple[tuple[str, str, str], ...] = (
    ("total_return_pct", "Total return", "Final equity against the starting cash."),
    (
        "sharpe",
        "Sharpe",
        "Annualised (sqrt 252) Sharpe ratio of daily returns, risk-free rate 0; needs at least two sessions.",
    ),
    ("max_drawdown_pct", "Drawdown", "Maximum drawdown: deepest fall of equity below its running peak."),
    ("win_rate_pct", "Win rate", "Share of trades with a positive net P&L."),
    ("profit_factor", "Profit factor", "Gross profit divided by gross loss of the trades; below: both."),
    ("trades", "Trades", "Closed round trips (flat, open, flat). Open positions at the end are not trades."),
    ("exposure_pct", "Exposure", "Share of bar times with an open position."),
    ("final_equity", "Final equity", "Cash plus open positions at the last close."),
    ("avg_trade_pnl", "Avg trade", "Mean net P&L per trade (after commissions); below: best / worst trade."),
)

_LOCAL_STYLE = f"""
#ResultsView {{ background: {theme.BACKGROUND}; }}
#ResultsTitle {{ color: {theme.TEXT_BRIGHT}; font-size: 14pt; font-weight: 600; }}
#ResultsSubtitle {{ color: {theme.MUTED}; }}
#RunIncomplete {{ color: {theme.AMBER}; background: #2e2a1a; border: 1px solid #5c4d14; border-radius: 4px;
    padding: 4px 8px; }}
#StatCard {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 6px; }}
#StatCard QLabel {{ background: transparent; }}
#StatTitle {{ color: {theme.MUTED}; font-size: 7.5pt; font-weight: 600; letter-spacing: 0.5px; }}
#StatCaption {{ color: {theme.MUTED}; font-size: 8pt; }}
#SectionTitle {{ color: {theme.TEXT}; font-weight: 600; font-size: 10pt; }}
#SectionCount {{ color: {theme.MUTED}; }}
#PlotPanel {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 6px; }}
#Readout {{ color: {theme.MUTED}; background: transparent; }}
#EmptyState {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 6px; }}
#EmptyTitle {{ color: {theme.TEXT}; font-size: 12pt; font-weight: 600; background: transparent; }}
#EmptyHint {{ color: {theme.MUTED}; background: transparent; }}
QSplitter::handle {{ background: {theme.BACKGROUND}; }}
QSplitter::handle:hover {{ background: {theme.BORDER}; }}
"""


class EmptyState(QFrame):
    """A centred message shown instead of an empty table or plot."""

    def __init__(self, title: str = "", hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title_label = QLabel(title)
        self.title_label.setObjectName("EmptyTitle")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label = QLabel(hint)
        self.hint_label.setObjectName("EmptyHint")
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.title_label)
        layout.addWidget(self.hint_label)
        layout.addStretch(1)

    def set_text(self, title: str, hint: str = "") -> None:
        self.title_label.setText(title)
        self.hint_label.setText(hint)
        self.hint_label.setVisible(bool(hint))


# ------------------------------------------------------------------------------------- view


class ResultsView(QWidget):
    """Equity curve + drawdown, statistics cards, trade list and per-symbol table of one run."""

    trade_activated = Signal(str, "qlonglong", "qlonglong")
    """Emitted on a trade double-click: symbol, entry time and exit time (int ns UTC, bar starts)."""
    report_exported = Signal(str)
    """Emitted with the path of an HTML report just written by *Export report…*."""
    run_folder_read = Signal(str, str)
    """After `read_run_folder_in_background`: the run folder and "" once it is shown, or the message
    why it cannot be read (then nothing changed)."""
    _read_done = Signal(int, str, object)  # from the reader thread: (read id, folder, (results, status) or error)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ResultsView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_LOCAL_STYLE)
        self.results: RunResults | None = None
        self._trades = pd.DataFrame()
        self._equity_times_ns = np.zeros(0, dtype=np.int64)
        self._equity_values = np.zeros(0)
        self._drawdown_pct = np.zeros(0)
        self._gap_note = ""
        self._read_id = 0  # the latest background read; older ones are dropped when they end
        self._build_id = 0  # the latest build of the view; the rest of a superseded staged build is dropped
        self.building = False
        """True while a staged build (`show_results_in_steps`) still has steps to run."""
        self._read_done.connect(self._on_read_done)

        root = QVBoxLayout(self)
        root.setContentsMargins(12, 10, 12, 10)
        root.setSpacing(10)

        header = QVBoxLayout()
        header.setSpacing(2)
        self._empty_text = ("No run loaded", OPEN_HINT)   # what the empty view says (`clear`)
        # elided in a narrow dock (whole in the tooltip) rather than widen the view: the dock would scroll
        # sideways; a wrapped label would make its scroll area give the view its preferred height
        self.title_label = ElidedLabel("No run loaded")
        self.title_label.setObjectName("ResultsTitle")
        self.subtitle_label = ElidedLabel("Open a run folder to see its equity curve, statistics and trades.")
        self.subtitle_label.setObjectName("ResultsSubtitle")
        header.addWidget(self.title_label)
        header.addWidget(self.subtitle_label)
        self.completion_label = QLabel()  # shown when the run folder is not complete (killed, failed write)
        self.completion_label.setObjectName("RunIncomplete")
        self.completion_label.setWordWrap(True)
        self.completion_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.completion_label.hide()
        header.addWidget(self.completion_label)
        title_row = QHBoxLayout()
        title_row.addLayout(header, 1)
        self.export_button = QPushButton("Export report\u2026")
        self.export_button.setToolTip(
            "Save this run as one HTML file (statistics, charts, data coverage, trades, config) "
            "that opens in any browser, offline (Ctrl+E)"
        )
        self.export_button.setShortcut(QKeySequence("Ctrl+E"))
        self.export_button.clicked.connect(self.choose_export_report)
        self.export_button.setEnabled(False)
        title_row.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        root.addLayout(title_row)

        self._cards_grid = QGridLayout()
        self._cards_grid.setHorizontalSpacing(CARD_SPACING)
        self._cards_grid.setVerticalSpacing(CARD_SPACING)
        self.stat_cards: dict[str, StatCard] = {key: StatCard(title, tip) for key, title, tip in _CARDS}
        self.card_columns = 0
        self._arrange_cards(len(_CARDS))
        root.addLayout(self._cards_grid)

        self._splitter = QSplitter(Qt.Orientation.Vertical)
        self._splitter.setChildrenCollapsible(False)
        self._splitter.setHandleWidth(8)
        self._plots_panel = self._build_plots()
        self._splitter.addWidget(self._plots_panel)
        self._splitter.addWidget(self._build_tables())
        self.compact = False
        self._splitter.setStretchFactor(0, 11)
        self._splitter.setStretchFactor(1, 9)
        root.addWidget(self._splitter, 1)
        self._initial_split_done = False
        self._show_results_state()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._arrange_cards(self._card_columns_for(event.size().width()))

    def minimum_height_at(self, width: int) -> int:
        """minimumSizeHint's height once the view is `width` wide (the cards may take another number of rows)."""
        n = len(self.stat_cards)
        rows_now = -(-n // max(self.card_columns, 1))
        rows_then = -(-n // self._card_columns_for(width))
        card = next(iter(self.stat_cards.values())).sizeHint().height()
        return self.minimumSizeHint().height() + (rows_then - rows_now) * (card + CARD_SPACING)

    def one_row_width(self) -> int:
        """The narrowest view that shows every card on one row with its whole title."""
        margins = self.layout().contentsMargins()
        n = len(self.stat_cards)
        need = max(card.title_width() for card in self.stat_cards.values())
        return n * need + (n - 1) * CARD_SPACING + margins.left() + margins.right()

    def _card_columns_for(self, width: int) -> int:
        """All the cards on one row when each gets the width its title needs, else two rows."""
        n = len(self.stat_cards)
        return n if self.one_row_width() <= width else (n + 1) // 2

    def _arrange_cards(self, columns: int) -> None:
        if columns == self.card_columns:
            return
        grid = self._cards_grid
        for card in self.stat_cards.values():
            grid.removeWidget(card)
        for col in range(max(columns, self.card_columns)):
            grid.setColumnStretch(col, 1 if col < columns else 0)
        for i, card in enumerate(self.stat_cards.values()):
            grid.addWidget(card, i // columns, i % columns)
        self.card_columns = columns

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._initial_split_done:
            self._initial_split_done = True
            total = max(self._splitter.height(), 400)
            self._splitter.setSizes([int(total * 0.54), total - int(total * 0.54)])
            QTimer.singleShot(0, self, self._fit_symbol_panel)

    def _fit_symbol_panel(self) -> None:
        """Give the per-symbol table the width its columns need (within 24-38 % of the view)."""
        total = max(self._table_splitter.width(), 600)
        needed = 0
        tables = (self.symbol_table, self.gap_table) if self.gap_model.rowCount() else (self.symbol_table,)
        for table in tables:
            header = table.horizontalHeader()
            needed = max(needed, sum(header.sectionSize(c) for c in range(header.count()))
                         + 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width() + 4)
        width = int(min(max(needed, total * 0.2), total * 0.38))
        self._table_splitter.setSizes([total - width, width])

    def set_compact(self, compact: bool) -> None:
        """Put the equity plots beside the tables (a short dock) instead of above them."""
        if compact == self.compact:
            return
        self.compact = compact
        self._splitter.setOrientation(Qt.Orientation.Horizontal if compact else Qt.Orientation.Vertical)
        self._plots_panel.setMinimumHeight(COMPACT_MIN_HEIGHT if compact else PLOTS_MIN_HEIGHT)
        self._table_splitter.setMinimumHeight(COMPACT_MIN_HEIGHT if compact else TABLES_MIN_HEIGHT)
        total = self._splitter.width() if compact else self._splitter.height()
        first = int(total * (0.38 if compact else 0.54))
        self._splitter.setSizes([first, total - first])

    def clear(self, title: str = "No run loaded", hint: str = OPEN_HINT) -> None:
        """Show no run (e.g. while a new run plays), with `title` and `hint` where the results go."""
        self._empty_text = (title, hint)
        self._read_id += 1  # a background read still going will not show its run
        self._build_id += 1  # nor the rest of a staged build
        self.building = False
        self.results = None
        self._trades = pd.DataFrame()
        self._equity_times_ns = np.zeros(0, dtype=np.int64)
        self._equity_values = np.zeros(0)
        self._drawdown_pct = np.zeros(0)
        self.trade_model.set_columns([])
        self.symbol_model.set_columns([])
        self.trade_count_label.setText("")
        self.symbol_count_label.setText("")
        self.title_label.setText(title)
        self.subtitle_label.setText(hint)
        self.export_button.setEnabled(False)   # nothing to export until a run is shown again
        for card in self.stat_cards.values():
            card.set("\u2014", None, "")
        self._show_results_state()

    # ---------------------------------------------------------------- building

    def _build_plots(self) -> QWidget:
        panel = QFrame()
        panel.setObjectName("PlotPanel")
        panel.setMinimumHeight(PLOTS_MIN_HEIGHT)  # below it the two panes' labels run together
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(10, 6, 10, 4)
        layout.setSpacing(2)
        top = QHBoxLayout()
        title = QLabel("Equity and drawdown")
        title.setObjectName("SectionTitle")
        self.readout = QLabel("")
        self.readout.setObjectName("Readout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.readout)
        layout.addLayout(top)

        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground(theme.PANEL)
        self.plot_widget.ci.layout.setSpacing(0)
        self.plot_widget.ci.setContentsMargins(0, 0, 0, 0)
        self.point_times = PointTimes()
        self.drawdown_axis = TimeAxisItem(
            ChartTheme(background=theme.PANEL, axis_line=theme.BORDER, separator=theme.BORDER, text=theme.MUTED),
            self.point_times.axis_times,
            min_label_px=_MIN_LABEL_GAP_PX,
            weekday_dates=True,
        )
        self.equity_plot = self.plot_widget.addPlot(
            row=0, col=0, axisItems={"left": _FormattedAxis(), "bottom": _DirectAxis("bottom")}
        )
        self.equity_axis = self.equity_plot.getAxis("bottom")
        self.drawdown_plot = self.plot_widget.addPlot(
            row=1,
            col=0,
            axisItems={"bottom": self.drawdown_axis, "left": _FormattedAxis("%")},
        )
        self.plot_widget.ci.layout.setRowStretchFactor(0, 7)
        self.plot_widget.ci.layout.setRowStretchFactor(1, 3)
        self.drawdown_plot.setXLink(self.equity_plot)
        for plot in (self.equity_plot, self.drawdown_plot):
            plot.showGrid(x=False, y=True, alpha=0.12)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getViewBox().setMouseEnabled(x=True, y=False)
            _style_axis(plot.getAxis("left"))
            plot.getAxis("left").setWidth(_AXIS_WIDTH)
        _style_axis(self.equity_axis)
        self.equity_axis.setStyle(showValues=False)
        self.equity_axis.setHeight(6)
        self.equity_plot.getViewBox().setDefaultPadding(0.02)
        self.drawdown_plot.getViewBox().setDefaultPadding(0.04)
        self.equity_plot.setLabel("left", "Equity", color=theme.MUTED)
        self.drawdown_plot.setLabel("left", "Drawdown", color=theme.MUTED)
        for plot in (self.equity_plot, self.drawdown_plot):
            plot.getViewBox().sigResized.connect(lambda _box, plot=plot: fit_axis_label(plot))

        up = QColor(theme.UP)
        self.equity_curve = pg.PlotDataItem(
            pen=pg.mkPen(up, width=1.6), fillLevel=0.0, brush=theme.qcolor(theme.UP, 30)
        )
        self.start_line = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(theme.MUTED, width=1, style=Qt.PenStyle.DashLine)
        )
        self.drawdown_curve = pg.PlotDataItem(
            pen=pg.mkPen(theme.DOWN, width=1.2), fillLevel=0.0, brush=theme.qcolor(theme.DOWN, 70)
        )
        self.trade_region = pg.LinearRegionItem(
            movable=False, brush=theme.qcolor(theme.ACCENT, 45), pen=pg.mkPen(theme.qcolor(theme.ACCENT, 160))
        )
        self.trade_region.setZValue(-10)
        self.trade_region.hide()
        self.equity_plot.addItem(self.start_line, ignoreBounds=True)
        self.equity_plot.addItem(self.equity_curve)
        self.equity_plot.addItem(self.trade_region, ignoreBounds=True)
        self.drawdown_plot.addItem(self.drawdown_curve)
        self.drawdown_plot.addItem(
            pg.InfiniteLine(angle=0, pos=0.0, movable=False, pen=pg.mkPen(theme.BORDER))
        )
        self._session_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._cursor_lines = []
        for plot in (self.equity_plot, self.drawdown_plot):
            line = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(theme.qcolor(theme.TEXT, 90), width=1)
            )
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self._cursor_lines.append(line)
        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plots_empty = EmptyState()
        self.plots_stack = QStackedWidget()
        self.plots_stack.addWidget(self.plot_widget)
        self.plots_stack.addWidget(self.plots_empty)
        layout.addWidget(self.plots_stack, 1)
        return panel

    def _build_tables(self) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(8)

        trades_box, box, bar, self.trade_count_label = _table_section("Trades")
        self.trade_filter = QLineEdit()
        self.trade_filter.setPlaceholderText("Filter symbol, side, strategy\u2026")
        self.trade_filter.setClearButtonEnabled(True)
        self.trade_filter.setFixedWidth(250)
        bar.addWidget(self.trade_filter)
        self.trade_model = FrameTableModel(self)
        self.trade_table, self.trade_proxy = make_table(self.trade_model, 3, Qt.SortOrder.AscendingOrder)
        self.trade_table.setToolTip("Double-click a trade to show it on the chart.")
        self.trade_table.doubleClicked.connect(self._on_trade_double_clicked)
        self.trade_table.selectionModel().currentRowChanged.connect(self._on_trade_selected)
        self.trade_filter.textChanged.connect(self._on_filter_changed)
        self.trades_stack, self.trades_empty = _with_empty_state(self.trade_table)
        box.addWidget(self.trades_stack, 1)

        symbols_box, sbox, sbar, self.symbol_count_label = _table_section("By symbol")
        # Same height as the filter box of the trades header, so both tables start on one line.
        spacer = QLineEdit()
        spacer.setFixedWidth(0)
        spacer.setFrame(False)
        spacer.setEnabled(False)
        spacer.setStyleSheet("border: none; background: transparent; padding: 3px 0;")
        sbar.addWidget(spacer)
        self.symbol_model = FrameTableModel(self)
        self.symbol_table, self.symbol_proxy = make_table(self.symbol_model, 1, Qt.SortOrder.DescendingOrder)
        self.symbols_stack, self.symbols_empty = _with_empty_state(self.symbol_table)
        sbox.addWidget(self.symbols_stack, 1)

        self.side_panel = right = SidePanel((symbols_box, self.symbol_table), (self._build_gaps(), self.gap_table))

        splitter.addWidget(trades_box)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 380])
        splitter.setMinimumHeight(TABLES_MIN_HEIGHT)  # a short dock scrolls rather than crush the tables
        self._table_splitter = splitter
        return splitter

    def _build_gaps(self) -> QWidget:
        """The run's data gaps: one row per run of missing bars (session, symbol, interval)."""
        gaps_box, box, _bar, self.gap_count_label = _table_section(
            "Data gaps", "Runs of missing bars per session, symbol and interval (gaps.parquet of the run)")
        self.gap_model = FrameTableModel(self)
        self.gap_table, self.gap_proxy = make_table(self.gap_model, 0, Qt.SortOrder.AscendingOrder)
        self.gaps_stack, self.gaps_empty = _with_empty_state(self.gap_table)
        box.addWidget(self.gaps_stack, 1)
        return gaps_box

    # ----------------------------------------------------------------- loading

    def load_run_folder(self, path: str | Path) -> RunResults:
        """Load a run folder and show it; raises DataError (naming the file) when it cannot be read.
        A folder that is not complete (its run was killed, or a write failed) is shown with a warning."""
        self._read_id += 1  # supersedes a background read still going
        results = load_run(path)
        self._show_read(path, results, run_folder_status(path))
        return results

    def read_run_folder_in_background(self, path: str | Path) -> None:
        """Read a run folder (files and statistics: ~0.1 s for 12,000 trades) in a worker thread and
        show it when read, so the UI thread only builds the view, in steps (`show_results_in_steps`);
        `run_folder_read` reports the first step (header, cards and tables: what a caller shows the
        view for; the plots follow). A later read, `load_run_folder`, `set_results` or `clear()` supersedes it."""
        self._read_id += 1
        read_id = self._read_id

        def read() -> None:
            try:
                outcome: object = (load_run(path), run_folder_status(path))
            except WorkstationError as exc:
                outcome = exc
            try:
                self._read_done.emit(read_id, str(path), outcome)
            except RuntimeError:  # the view was deleted meanwhile (its window closed)
                log.debug("run folder %s read after its view was closed", path)

        threading.Thread(target=read, name="RunFolderReader", daemon=True).start()

    def _on_read_done(self, read_id: int, path: str, outcome: object) -> None:
        if read_id != self._read_id:
            log.debug("dropped the superseded read of %s", path)
            return
        if isinstance(outcome, WorkstationError):
            log.warning("cannot read run folder %s: %s", path, outcome)
            self.run_folder_read.emit(path, str(outcome))
            return
        results, status = outcome  # type: ignore[misc]
        self.show_results_in_steps(results)
        self._show_status(path, status)
        self.run_folder_read.emit(path, "")

    def _show_read(self, path: str | Path, results: RunResults, status: Any) -> None:
        self.set_results(results)
        self._show_status(path, status)

    def _show_status(self, path: str | Path, status: Any) -> None:
        if not status.complete:
            self.completion_label.setText(f"\u26a0  {status.message}")
            self.completion_label.setToolTip(str(Path(path) / "run_status.json"))
            self.completion_label.show()

    def set_results(self, results: RunResults) -> None:
        """Show one run's results (replaces what is shown), all at once."""
        self._build_id += 1
        self.building = False
        for step in self._build_steps(results):
            step()

    def show_results_in_steps(self, results: RunResults) -> None:
        """Show one run's results like `set_results`: header, cards and tables now, the equity plots in
        a later event-loop turn, after the tables were drawn, so that no turn of a big run's build
        blocks the UI thread for long (issue 10: a stall of at most 150 ms; the plots' first draw alone
        is ~40 ms). Until then the plot area is blank, never the previous run's. `building` is True
        until the last step ran; a later `set_results`, `show_results_in_steps`, load or `clear()`
        drops the rest. The tables come first so that the view's layout is the one-shot build's."""
        self._build_id += 1
        build_id = self._build_id
        steps = self._build_steps(results)
        self.building = True

        def run_next() -> None:
            if build_id != self._build_id:  # superseded (cleared, or another run shown)
                return
            steps.pop(0)()
            if steps:  # after a pause, so that what this step changed is drawn in a turn of its own
                QTimer.singleShot(STEP_PAUSE_MS, self, run_next)
            else:
                self.building = False

        run_next()

    def _build_steps(self, results: RunResults) -> list[Any]:
        """The steps that show `results`, in order; run back to back they are `set_results`."""
        tz = results.timezone

        def header_cards_tables() -> None:
            self.results = results
            self.completion_label.hide()
            self._set_header(results)
            self._set_stats(results.stats)
            self._set_trades(results.trades, tz)
            self._set_symbols(results.stats)
            self._set_gaps(results.run_dir, tz)
            self._show_results_state()
            self.export_button.setEnabled(True)
            if self._initial_split_done:
                self._fit_symbol_panel()
            self._show_plots_pending(results)

        def plots() -> None:
            self._set_plots(results, tz)
            self._set_session_lines()
            self._show_plots_state()

        return [header_cards_tables, plots]

    def _show_plots_pending(self, results: RunResults) -> None:
        """Until the plots are built: a blank plot area (not the previous run's curves). The read-out
        shows its final text already: its width decides how the compact view splits its width."""
        self._equity_times_ns = np.zeros(0, dtype=np.int64)
        self._equity_values = np.zeros(0)
        self._drawdown_pct = np.zeros(0)
        self.trade_region.hide()
        equity = results.equity
        self.readout.setText(self._default_readout(equity["equity"].to_numpy(dtype=np.float64) if len(equity) else None))
        self.plots_empty.set_text("", "")
        self.plots_stack.setCurrentIndex(1)

    def export_report(self, path: str | Path) -> Path:
        """Write the shown run's HTML report to `path`; WorkstationError when it cannot be written."""
        if self.results is None:
            raise WorkstationError("no run is shown: open a run folder first")
        self.results.report_html(path)
        self.report_exported.emit(str(path))
        return Path(path)

    def choose_export_report(self) -> None:
        """Ask where to save the HTML report (default: report.html in the run folder) and write it."""
        if self.results is None:
            return
        start = str(self.results.run_dir / "report.html")
        path = save_file_name(self, "Export report", start, "HTML report (*.html)")
        if not path:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # well under a second for 36,000 trades
        try:
            self.export_report(path)
        except WorkstationError as exc:
            QApplication.restoreOverrideCursor()
            log.warning("cannot export the report to %s: %s", path, exc)
            QMessageBox.warning(self, "Cannot export the report", str(exc))
            return
        QApplication.restoreOverrideCursor()

    def _set_header(self, results: RunResults) -> None:
        self.title_label.setText(results.name)
        facts = "   \u00b7   ".join(results.headline_facts())
        self.subtitle_label.setText(facts)
        self.subtitle_label.setToolTip(f"{facts}\n{results.run_dir}")

    def _set_stats(self, s: dict[str, Any]) -> None:
        cards = self.stat_cards
        ret = s.get("total_return_pct")
        open_text = open_at_end_text(s)      # positions still open at the end: their part of the net P&L
        cards["total_return_pct"].set(fmt_pct(ret), _colour_hex(ret), f"{fmt_money(s.get('net_pnl'))} net", open_text)
        sharpe = s.get("sharpe")
        cards["sharpe"].set(fmt_number(sharpe), _colour_hex(sharpe), sharpe_note(s, short=True))
        dd = s.get("max_drawdown_pct")
        cards["max_drawdown_pct"].set(
            fmt_pct(dd), theme.DOWN if dd else None, fmt_money(s.get("max_drawdown"))
        )
        n = int(s.get("trades") or 0)
        win = s.get("win_rate_pct")
        cards["win_rate_pct"].set(
            fmt_pct(win, signed=False, decimals=1),
            None,
            f"{s.get('winning_trades', 0)} of {n} won" if n else "no trades",
        )
        pf = s.get("profit_factor")
        if pf is None and n and not s.get("losing_trades"):
            cards["profit_factor"].set("\u221e", theme.UP, "no losing trade")
        else:
            colour = None if pf is None else (theme.UP if pf > 1 else theme.DOWN if pf < 1 else None)
            caption = f"{fmt_money_short(s.get('gross_profit'))} / {fmt_money_short(s.get('gross_loss'))}"
            cards["profit_factor"].set(fmt_number(pf), colour, caption if n else "no trades")
        cards["trades"].set(
            f"{n:,}",
            None,
            f"{s.get('long_trades', 0)} long \u00b7 {s.get('short_trades', 0)} short"
            if n
            else "no round trips",
        )
        cards["exposure_pct"].set(
            fmt_pct(s.get("exposure_pct"), signed=False, decimals=1), None, "time in market"
        )
        start = f"from {fmt_money(s.get('starting_cash'), signed=False, decimals=0)}"
        cards["final_equity"].set(
            fmt_money(s.get("final_equity"), signed=False),
            _colour_hex(s.get("net_pnl")),
            f"incl. {fmt_money_short(s.get('open_pnl'))} open" if open_text else start,   # short: a narrow card
            open_text,
        )
        avg = s.get("avg_trade_pnl")
        caption = (
            f"{fmt_money_short(s.get('best_trade'))} / {fmt_money_short(s.get('worst_trade'))}"
            if n
            else "no trades"
        )
        cards["avg_trade_pnl"].set(fmt_money(avg), _colour_hex(avg), caption)

    def _set_plots(self, results: RunResults, tz: str) -> None:
        equity = results.equity
        n = len(equity)
        self.trade_region.hide()
        self._equity_times_ns = (
            pd.DatetimeIndex(equity["time"]).as_unit("ns").asi8.copy() if n else np.zeros(0, dtype=np.int64)
        )
        self._equity_values = equity["equity"].to_numpy(dtype=np.float64) if n else np.zeros(0)
        x = np.arange(n, dtype=np.float64)
        times = equity["time"] if n else pd.Series(pd.DatetimeIndex([], tz="UTC"))
        self.point_times.set_times(times, tz)
        self.drawdown_axis.reset_cache()
        start_cash = results.stats.get("starting_cash") or results.starting_cash
        if n:
            # Only the equity column: drawdown_pct needs no times, and converting 4,000 zoned times
            # to objects (what drawdown_series does with a "time" column) took ~30 ms of the UI thread.
            dd = drawdown_series(equity[["equity"]], start_cash)["drawdown_pct"].to_numpy()
            self._drawdown_pct = dd
            base = min(float(self._equity_values.min()), start_cash)
            self.equity_curve.setData(x, self._equity_values)
            self.equity_curve.setFillLevel(base)
            self.drawdown_curve.setData(x, dd)
            self.equity_plot.enableAutoRange()
            self.drawdown_plot.enableAutoRange()
            self.equity_plot.setXRange(0, max(n - 1, 1), padding=0.01)
            high = max(float(self._equity_values.max()), start_cash)
            if high - base < start_cash * 1e-4:  # a flat curve: show +-0.5 % instead of a rounding-noise axis
                self.equity_plot.setYRange(start_cash * 0.995, start_cash * 1.005, padding=0)
            low = min(float(dd.min()), -0.1)
            self.drawdown_plot.setYRange(low * 1.08, 0.0, padding=0)
        else:
            self._drawdown_pct = np.zeros(0)
            for item in (self.equity_curve, self.drawdown_curve):
                item.setData([], [])
            self.equity_plot.setXRange(0, 1)
            self.equity_plot.setYRange(start_cash * 0.99, start_cash * 1.01)
        self.start_line.setValue(start_cash)
        self.readout.setText(self._default_readout())

    def _set_session_lines(self) -> None:
        """A dashed line at each session start after the first (two InfiniteLines a session: ~2 ms)."""
        for plot, line in self._session_lines:
            plot.removeItem(line)
        self._session_lines = []
        for start in self.point_times.day_starts[1:].tolist():
            for plot in (self.equity_plot, self.drawdown_plot):
                line = pg.InfiniteLine(
                    pos=start - 0.5,
                    angle=90,
                    movable=False,
                    pen=pg.mkPen(theme.BORDER, width=1, style=Qt.PenStyle.DashLine),
                )
                line.setZValue(-20)
                plot.addItem(line, ignoreBounds=True)
                self._session_lines.append((plot, line))

    def _set_trades(self, trades: pd.DataFrame, tz: str) -> None:
        self._trades = trades.reset_index(drop=True)
        n = len(self._trades)
        self.trade_filter.clear()
        if n == 0:
            self.trade_model.set_columns(_trade_columns(self._trades, tz))
            self.trade_count_label.setText("")
            return
        self.trade_model.set_columns(_trade_columns(self._trades, tz))
        self.trade_count_label.setText(f"{n:,}")
        _show_in_order(self.trade_table, [c.title for c in self.trade_model.columns()], TRADE_COLUMN_ORDER)
        fit_columns(self.trade_table)

    def _set_symbols(self, s: dict[str, Any]) -> None:
        per = s.get("per_symbol") or {}
        self.symbol_model.set_columns(_symbol_columns(per))
        self.symbol_count_label.setText(f"{len(per)}" if per else "")
        self.side_panel.update_tab_titles()
        fit_columns(self.symbol_table, stretch_column=0)

    def _set_gaps(self, run_dir: Path, tz: str) -> None:
        try:
            gaps = read_gap_list(run_dir)
            self._gap_note = "" if gaps is not None else "No missing bars (or a run folder without a gap list)."
        except WorkstationError as exc:
            gaps, self._gap_note = None, str(exc)
        gaps = gaps if gaps is not None else pd.DataFrame(columns=["session_date", "symbol", "interval", "start",
                                                                   "end", "missing", "status"])
        self.gap_model.set_columns(_gap_columns(gaps, tz))
        n = len(gaps)
        self.gap_count_label.setText(f"{n:,} · {int(gaps['missing'].sum()):,} bars" if n else "")
        self.side_panel.update_tab_titles()
        if n:
            fit_columns(self.gap_table)

    def _show_results_state(self) -> None:
        has_trades = self.trade_model.rowCount() > 0
        self.trades_stack.setCurrentIndex(0 if has_trades else 1)
        self.symbols_stack.setCurrentIndex(0 if self.symbol_model.rowCount() > 0 else 1)
        self.gaps_stack.setCurrentIndex(0 if self.gap_model.rowCount() > 0 else 1)
        self.trade_filter.setEnabled(has_trades)
        if self.results is None:
            self.plots_stack.setCurrentIndex(1)
            title, hint = self._empty_text
            self.plots_empty.set_text(title, hint)
            self.trades_empty.set_text(title, hint)
            self.symbols_empty.set_text(title)
            self.gaps_empty.set_text(title)
            return
        self._show_plots_state()
        strategies = [st for st in (self.results.config.get("strategies") or [])
                      if isinstance(st, dict) and st.get("enabled", True)]
        self.trades_empty.set_text(
            NO_TRADES_TEXT,
            "The strategies completed no round trip (positions still open at the end are not trades)."
            if strategies else
            "The config runs no strategy (none, or all disabled): add one in the config editor (≣), or trade "
            "by hand while it replays.",
        )
        self.symbols_empty.set_text("No symbols traded")
        self.gaps_empty.set_text("No data gaps", self._gap_note)

    def _show_plots_state(self) -> None:
        has_equity = self.results is not None and len(self.results.equity) > 0
        self.plots_stack.setCurrentIndex(0 if has_equity else 1)
        self.plots_empty.set_text(
            "No equity points in this run", "The run ended before its first bar was processed."
        )

    # ------------------------------------------------------------- interaction

    def _source_row(self, proxy_index: QModelIndex) -> int:
        return self.trade_proxy.mapToSource(proxy_index).row()

    def _trade_times(self, row: int) -> tuple[str, int, int]:
        trade = self._trades.iloc[row]
        return (
            str(trade["symbol"]),
            int(pd.Timestamp(trade["entry_time"]).value),
            int(pd.Timestamp(trade["exit_time"]).value),
        )

    def _on_trade_double_clicked(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        symbol, entry_ns, exit_ns = self._trade_times(self._source_row(index))
        log.debug("trade activated: %s %d -> %d", symbol, entry_ns, exit_ns)
        self.trade_activated.emit(symbol, entry_ns, exit_ns)

    def _on_trade_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or len(self._equity_times_ns) == 0:
            self.trade_region.hide()
            return
        _symbol, entry_ns, exit_ns = self._trade_times(self._source_row(current))
        lo = int(np.searchsorted(self._equity_times_ns, entry_ns, side="left"))
        hi = int(np.searchsorted(self._equity_times_ns, exit_ns, side="left"))
        lo = min(lo, len(self._equity_times_ns) - 1)
        hi = min(max(hi, lo), len(self._equity_times_ns) - 1)
        self.trade_region.setRegion((lo - 0.5, hi + 0.5))
        self.trade_region.show()

    def _on_filter_changed(self, text: str) -> None:
        self.trade_proxy.setFilterFixedString(text.strip())
        shown = self.trade_proxy.rowCount()
        total = self.trade_model.rowCount()
        self.trade_count_label.setText(f"{shown:,} of {total:,}" if text.strip() else f"{total:,}")

    def _default_readout(self, equity_values: np.ndarray | None = None) -> str:
        values = self._equity_values if equity_values is None else equity_values
        n = len(values)
        if not n:
            return ""
        return (
            f"{n:,} bar times   \u00b7   last {fmt_money(float(values[-1]), signed=False)}"
            f"   \u00b7   hover the curve for values"
        )

    def _on_mouse_moved(self, pos: Any) -> None:
        n = len(self._equity_values)
        inside = n and any(
            p.sceneBoundingRect().contains(pos) for p in (self.equity_plot, self.drawdown_plot)
        )
        if not inside:
            for line in self._cursor_lines:
                line.hide()
            self.readout.setText(self._default_readout())
            return
        x = self.equity_plot.getViewBox().mapSceneToView(pos).x()
        i = int(min(max(round(x), 0), n - 1))
        for line in self._cursor_lines:
            line.setValue(i)
            line.show()
        self.readout.setText(
            f"{self.point_times.label_of(i)}   \u00b7   equity "
            f"{fmt_money(float(self._equity_values[i]), signed=False)}   \u00b7   drawdown "
            f"{fmt_pct(float(self._drawdown_pct[i]))}"
        )


def _colour_hex(x: float | None) -> str | None:
    if x is None or not math.isfinite(x) or abs(x) < 1e-12:
        return None
    return theme.UP if x > 0 else theme.DOWN


# Characters the formatted texts of a column can hold (lower case): the trade filter skips a column whose
# alphabet lacks a character of the filter text without formatting that column's texts.
_DIGITS = "0123456789"
_TIME_ALPHABET = "".join(sorted(set("".join(MONTHS).lower()))) + _DIGITS + " :"
_QTY_ALPHABET = _DIGITS + ",.e+-"
_PRICE_ALPHABET = _DIGITS + ",.-"
_MONEY_ALPHABET = _DIGITS + ",.$+\u2212\u2014"
_PCT_ALPHABET = _DIGITS + ",.%+\u2212\u2014"


def _time_cells(times: Any, tz: str, fmt: str) -> tuple[np.ndarray, LazyCells[str]]:
    """(UTC ns sort keys, exchange-time texts made on demand) of a time column; `fmt` "%b %d %H:%M"
    or "%H:%M" (as strftime gives them, without its per-value cost)."""
    index = pd.DatetimeIndex(times) if len(times) else pd.DatetimeIndex([], tz="UTC")
    if index.tz is None:
        index = index.tz_localize("UTC")
    utc_ns = index.as_unit("ns").asi8
    local_ns = index.tz_convert(tz).tz_localize(None).as_unit("ns").asi8
    with_date = fmt == "%b %d %H:%M"
    if not with_date and fmt != "%H:%M":
        raise ValueError(f"unsupported time format {fmt!r}")

    @lru_cache(maxsize=4096)
    def text(ns: int) -> str:
        d = local_parts(ns)
        clock = f"{d.hour:02d}:{d.minute:02d}"
        return f"{MONTHS[d.month - 1]} {d.day:02d} {clock}" if with_date else clock

    return utc_ns, LazyCells(local_ns.tolist(), text)


def _trade_columns(trades: pd.DataFrame, tz: str) -> list[ColumnData]:
    """Table columns of the trade list (display in exchange time, sort on raw values). Texts and colours
    are made when first drawn (LazyCells): a big run shows without formatting every cell."""
    n = len(trades)
    qty = trades["quantity"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    entry = trades["entry_price"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    exit_ = trades["exit_price"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    pnl = trades["pnl"].to_numpy(dtype=np.float64) if n else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(np.abs(qty) * entry > 0, pnl / (np.abs(qty) * entry) * 100.0, np.nan)
    entry_ns, entry_texts = _time_cells(trades["entry_time"] if n else [], tz, "%b %d %H:%M")
    exit_ns, exit_texts = _time_cells(trades["exit_time"] if n else [], tz, "%b %d %H:%M")
    decimals = _price_decimals(np.concatenate([entry, exit_]))
    up, down = QColor(theme.UP), QColor(theme.DOWN)

    def pnl_colour(x: float) -> QColor | None:
        return None if not math.isfinite(x) or abs(x) < 1e-12 else (up if x > 0 else down)

    def price(p: float) -> str:
        return f"{p:,.{decimals}f}"

    sides = np.where(qty > 0, "Long", "Short") if n else np.zeros(0, dtype=str)
    symbols = trades["symbol"].to_numpy(dtype=str) if n else np.zeros(0, dtype=str)
    strategies = (
        trades["strategy"].to_numpy(dtype=str) if n and "strategy" in trades else np.full(n, "", dtype=str)
    )
    pnl_list, ret_list = pnl.tolist(), ret.tolist()
    return [
        ColumnData("Symbol", symbols, symbols.tolist(), numeric=False),
        ColumnData("Side", sides, sides.tolist(), LazyCells(qty.tolist(), lambda q: up if q > 0 else down),
                   numeric=False),
        ColumnData("Qty", np.abs(qty), LazyCells(np.abs(qty).tolist(), fmt_qty), tooltip="Largest position held",
                   alphabet=_QTY_ALPHABET),
        ColumnData("Entry time", entry_ns, entry_texts, numeric=False, tooltip=f"Bar start of the entry fill ({tz})",
                   alphabet=_TIME_ALPHABET),
        ColumnData("Entry", entry, LazyCells(entry.tolist(), price), tooltip="Average entry price",
                   alphabet=_PRICE_ALPHABET),
        ColumnData("Exit time", exit_ns, exit_texts, numeric=False, tooltip=f"Bar start of the exit fill ({tz})",
                   alphabet=_TIME_ALPHABET),
        ColumnData("Exit", exit_, LazyCells(exit_.tolist(), price), tooltip="Average exit price",
                   alphabet=_PRICE_ALPHABET),
        ColumnData("P&L", pnl, LazyCells(pnl_list, fmt_money), LazyCells(pnl_list, pnl_colour),
                   tooltip="Net of commissions", alphabet=_MONEY_ALPHABET),
        ColumnData(
            "Return",
            np.where(np.isnan(ret), -np.inf, ret),
            LazyCells(ret_list, fmt_pct),
            LazyCells(ret_list, pnl_colour),
            tooltip="Net P&L / entry value",
            alphabet=_PCT_ALPHABET,
        ),
        ColumnData("Strategy", strategies, strategies.tolist(), numeric=False),
    ]


# the trade list's columns as shown: what a trade made next to its size (beside the plots at 1280 x 800
# the table is ~390 px wide and the P&L, after both times and prices, was scrolled out of sight)
TRADE_COLUMN_ORDER = ("Symbol", "Side", "Qty", "P&L", "Return", "Entry time", "Entry", "Exit time", "Exit", "Strategy")


def _show_in_order(table: QTableView, columns: list[str], order: tuple[str, ...]) -> None:
    """Show the table's `columns` (titles, in the model's order) in `order` (the header's visual order:
    the model's columns, and so sorting, copying and column numbers, are unchanged; a model reset undoes
    it, so it is applied after each)."""
    header = table.horizontalHeader()
    visual = 0
    for title in order:
        if title in columns:
            header.moveSection(header.visualIndex(columns.index(title)), visual)
            visual += 1


def _symbol_columns(per_symbol: dict[str, dict[str, Any]]) -> list[ColumnData]:
    names = sorted(per_symbol)
    trades = [int(per_symbol[s]["trades"]) for s in names]
    pnl = [float(per_symbol[s]["pnl"]) for s in names]
    win = [float(per_symbol[s]["win_rate_pct"]) for s in names]
    # the net P&L next to the symbol: beside the results at 1280 x 800 the table is ~250 px wide and a last
    # column was scrolled out of sight
    return [
        ColumnData("Symbol", names, names, numeric=False),
        ColumnData(
            "Net P&L",
            pnl,
            [fmt_money(p) for p in pnl],
            [_pnl_colour(p) for p in pnl],
            tooltip="Sum of the trades' P&L after commissions",
        ),
        ColumnData("Trades", trades, [f"{t:,}" for t in trades]),
        ColumnData("Win %", win, [fmt_pct(w, signed=False, decimals=1) for w in win], tooltip="Win rate"),
    ]


def _gap_columns(gaps: pd.DataFrame, tz: str) -> list[ColumnData]:
    n = len(gaps)
    start_ns, start_texts = _time_cells(pd.to_datetime(gaps["start"], utc=True) if n else [], tz, "%b %d %H:%M")
    _end_ns, end_texts = _time_cells(pd.to_datetime(gaps["end"], utc=True) if n else [], tz, "%H:%M")
    missing = [int(m) for m in gaps["missing"]]
    symbols = [str(s) for s in gaps["symbol"]]
    intervals = [str(i) for i in gaps["interval"]]
    return [
        ColumnData("Start", start_ns, start_texts, numeric=False, tooltip="First missing bar (exchange time)"),
        ColumnData("End", start_ns, end_texts, numeric=False, tooltip="End of the last missing bar (exchange time)"),
        ColumnData("Symbol", symbols, symbols, numeric=False),
        ColumnData("Interval", [_interval_seconds(i) for i in intervals], intervals, numeric=False),
        ColumnData("Bars", missing, [f"{m:,}" for m in missing], tooltip="Missing bars"),
    ]


def _interval_seconds(text: str) -> int:
    try:
        return parse_interval(text).seconds
    except ValueError:
        return 0


# ----------------------------------------------------------------------------------- window


def newest_run_folder(folder: str | Path) -> Path | None:
    """The most recently written run folder (one holding config.json) directly in `folder`, or None."""
    return max(run_folders(folder), key=lambda p: ((p / CONFIG_FILE).stat().st_mtime_ns, p.name), default=None)


class ResultsWindow(QMainWindow):
    """A window around `ResultsView` with an "Open run folder…" action, and with `continue_run` (the
    main window's File → Continue a run…) a "Continue this run" action for the run shown."""

    def __init__(self, parent: QWidget | None = None, runs_dir: str | Path = "runs",
                 continue_run: Callable[[Path], bool] | None = None) -> None:
        super().__init__(parent)
        self.runs_dir = Path(runs_dir)
        self.setWindowTitle("Backtest results")
        self.view = ResultsView(self)
        self.setCentralWidget(self.view)
        self.open_action = QAction("Open run folder\u2026", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setToolTip(
            "Open a backtest run folder (config.json, trades.parquet, equity.parquet)"
        )
        self.open_action.triggered.connect(self.choose_run_folder)
        toolbar = self.addToolBar("Results")
        toolbar.setObjectName("ResultsToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.open_action)
        self._continue_run = continue_run
        self.continue_action = QAction("Continue this run\u2026", self)
        self.continue_action.setToolTip("Take this run up again in the replay window: its config, its hand "
                                        "orders applied again at their times, paused where it stopped")
        self.continue_action.triggered.connect(self.continue_shown_run)
        self.continue_action.setEnabled(False)
        if continue_run is not None:
            toolbar.addAction(self.continue_action)
        self.view.report_exported.connect(lambda path: self.statusBar().showMessage(f"Report written to {path}"))
        self.statusBar().showMessage("Open a run folder to see its results.")
        self.resize(1400, 900)

    def choose_run_folder(self) -> None:
        """Ask for a run folder and open it: the dialog starts in the folder of the run shown (else the
        window's runs folder) with its newest run selected (the folder sorts the runs oldest first)."""
        start = self.view.results.run_dir.parent if self.view.results else self.runs_dir
        newest = newest_run_folder(start)
        chosen = existing_directory(self, "Open run folder", str(start), None if newest is None else str(newest))
        if chosen:
            self.open_run_folder(chosen)

    def open_run_folder(self, path: str | Path) -> bool:
        """Load and show a run folder; an unreadable folder is reported in a message box. True on success."""
        try:
            results = self.view.load_run_folder(path)
        except WorkstationError as exc:
            log.warning("cannot open run folder %s: %s", path, exc)
            QMessageBox.warning(self, "Cannot open run folder", str(exc))
            self.statusBar().showMessage(f"Could not open {path}")
            return False
        self.setWindowTitle(f"Backtest results \u2014 {results.name}")
        self.statusBar().showMessage(str(results.run_dir))
        self.continue_action.setEnabled(self._continue_run is not None and results.config.get("mode") != "live")
        return True

    def continue_shown_run(self) -> None:
        """The run shown, taken up again in the replay window (which comes to the front)."""
        results = self.view.results
        if results is None or self._continue_run is None:
            return
        parent = self.parentWidget()
        if self._continue_run(results.run_dir) and parent is not None:
            parent.raise_()
            parent.activateWindow()
