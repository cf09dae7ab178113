"""Engine metrics panel: simulated clock, session progress, throughput with a bars/s sparkline,
overruns and a table of stage timings.

Fed by the main window with a PerformanceMetrics snapshot ({"stats": {name: {count, mean, max, min,
total, last}}, "counters": {name: int}}, durations in seconds; a {"run": ..., "session": ...}
snapshot is read from its "run" part) plus extras: bars_per_s, clock_ns (int ns UTC), session_date,
memory_mb, sessions_done, sessions_total.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import deque
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme

logger = logging.getLogger(__name__)

STAGE_LABELS: dict[str, str] = {
    "coordinator.iteration": "Coordinator",
    "processor.event": "Processor",
    "analysis.event": "Analysis",
    "quality.pass": "Quality pass",
}
LOAD_LABELS: dict[str, str] = {
    "session.transition": "Transition",
    "session.duration": "Session",
    "historical.load": "Historical load",
    "queue.load": "Queue load",
}
STAT_DESCRIPTIONS: dict[str, str] = {
    "coordinator.iteration": "One coordinator iteration (one bar time)",
    "processor.event": "Data processor work per event (derived bars, indicators)",
    "analysis.event": "Strategy analysis per event",
    "quality.pass": "One data-quality pass",
    "session.transition": "Switching from one session to the next",
    "session.duration": "Wall time of a whole session",
    "historical.load": "Loading the trailing historical bars",
    "queue.load": "Loading a session's bars into the queues",
}
OVERRUN_COUNTERS: dict[str, str] = {
    "overruns.processor": "Processor",
    "overruns.analysis": "Analysis",
    "overruns.quality": "Quality",
}
BARS_COUNTERS = ("bars.processed", "bars_processed")
SPARKLINE_SECONDS = 120.0
SPARKLINE_SAMPLE_S = 0.5
STAGE_COLUMNS = ("Stage", "Count", "Mean", "Max")
LOAD_COLUMNS = ("Sessions & loads", "Last", "Mean", "Max")


def format_duration(seconds: float | None) -> str:
    """Seconds -> "850 µs", "4.2 ms", "48 ms", "1.23 s", "12.3 s" (at most 6 characters), "—" if unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if seconds < 0.000_999_5:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 0.009_95:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 0.999_5:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 9.995:
        return f"{seconds:.2f} s"
    if seconds < 99.95:
        return f"{seconds:.1f} s"
    return f"{seconds:,.0f} s"


def format_count(count: int | float | None) -> str:
    """Compact counts for narrow columns: 950, 12,345, 1.23M."""
    if count is None:
        return "—"
    count = int(count)
    if count < 1_000_000:
        return f"{count:,}"
    return f"{count / 1e6:.2f}M"


def stage_label(name: str) -> str:
    """Readable label of a statistic name (unknown names are shown as they are)."""
    return STAGE_LABELS.get(name) or LOAD_LABELS.get(name) or name



def set_progress(bar: QProgressBar, value: int, maximum: int) -> None:
    """Move a progress bar without QProgressBar.setValue's synchronous repaint: a styled bar is not
    opaque, so that repaint also paints its parent's area at once (~6 ms in the metrics panel, every
    session at MAX speed, holding the interpreter lock the engine needs); here the bar is marked for
    the next frame's paint instead. Does nothing when neither the value nor the range changed."""
    if bar.maximum() == maximum and bar.minimum() == 0 and bar.value() == value:
        return
    bar.setUpdatesEnabled(False)
    try:
        bar.setRange(0, maximum)
        bar.setValue(value)
    finally:
        bar.setUpdatesEnabled(True)     # schedules one ordinary (asynchronous) paint

class _FigureTable(QTableWidget):
    """A compact read-only table: a name column, then right-aligned monospace figure columns."""

    def __init__(self, columns: tuple[str, ...], mono: QFont) -> None:
        super().__init__(0, len(columns))
        self.columns = columns
        self._mono = mono
        self._rows: dict[str, int] = {}
        self.setHorizontalHeaderLabels(list(columns))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        number_width = QFontMetrics(mono).horizontalAdvance("000,000") + 12
        for column in range(1, len(columns)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, number_width)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        first = self.horizontalHeaderItem(0)
        if first is not None:
            first.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def names(self) -> list[str]:
        return list(self._rows)

    def set_names(self, names: list[str], known: set[str]) -> None:
        """Lay out one row per statistic (kept texts move along); unknown names are muted."""
        if list(self._rows) == names:
            return
        previous = {name: self.texts(name) for name in self._rows}
        self.setRowCount(len(names))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        self._rows = {}
        for row, name in enumerate(names):
            label = QTableWidgetItem(stage_label(name))
            description = STAT_DESCRIPTIONS.get(name)
            label.setToolTip(f"{description} ({name})" if description else name)
            if name not in known:
                label.setForeground(QColor(theme.MUTED))
            self.setItem(row, 0, label)
            old = previous.get(name)
            for column in range(1, len(self.columns)):
                item = QTableWidgetItem(old[self.columns[column]] if old else "—")
                item.setTextAlignment(right)
                item.setFont(self._mono)
                self.setItem(row, column, item)
            self._rows[name] = row
        height = (
            self.horizontalHeader().sizeHint().height()
            + len(names) * self.verticalHeader().defaultSectionSize()
        )
        self.setFixedHeight(height + 2 * self.frameWidth())

    def reset_figures(self) -> None:
        """Blank every figure (the rows stay)."""
        for row in range(self.rowCount()):
            for column in range(1, len(self.columns)):
                item = self.item(row, column)
                if item is not None:
                    item.setText("—")

    def set_figures(self, name: str, texts: tuple[str, ...]) -> None:
        row = self._rows.get(name)
        if row is None:
            return
        for column, text in enumerate(texts, start=1):
            item = self.item(row, column)
            if item is not None and item.text() != text:
                item.setText(text)

    def texts(self, name: str) -> dict[str, str] | None:
        row = self._rows.get(name)
        if row is None:
            return None
        return {
            column: (self.item(row, i).text() if self.item(row, i) is not None else "")
            for i, column in enumerate(self.columns)
        }


class MetricsPanel(QWidget):
    """Read-only view of the engine's performance figures; call `update_metrics` up to 60 times a second."""

    def __init__(self, exchange_tz: str = "America/New_York", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        try:
            self._zone = ZoneInfo(exchange_tz)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"unknown exchange time zone {exchange_tz!r}") from exc
        self.exchange_tz = exchange_tz
        self._history: deque[tuple[float, float]] = deque()
        self._peak = 0.0    # the peak the label shows
        self._session_date_text: str | None = None
        self._sessions: tuple[int | None, int | None] = (None, None)
        self._mono = theme.mono_font(theme.TABLE_POINT_SIZE)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)

        # Clock and session progress.
        self.clock_label = QLabel("--:--:--")
        self.clock_label.setFont(theme.mono_font(18, bold=True))
        self.clock_label.setStyleSheet(f"color: {theme.TEXT_BRIGHT};")
        self.zone_label = QLabel("")
        self.zone_label.setStyleSheet(f"color: {theme.MUTED};")
        clock_row = QHBoxLayout()
        clock_row.setSpacing(6)
        clock_row.addWidget(self.clock_label)
        clock_row.addWidget(self.zone_label, 0, Qt.AlignmentFlag.AlignBottom)
        clock_row.addStretch(1)
        self.session_label = QLabel("No session")
        self.session_label.setStyleSheet(f"color: {theme.TEXT};")
        self.sessions_bar = QProgressBar()
        self.sessions_bar.setTextVisible(False)
        self.sessions_bar.setFixedHeight(4)
        self.sessions_bar.setRange(0, 1)
        self.sessions_bar.setValue(0)
        layout.addLayout(clock_row)
        layout.addWidget(self.session_label)
        layout.addWidget(self.sessions_bar)
        layout.addWidget(self._separator())

        # Throughput.
        figures = QGridLayout()
        figures.setHorizontalSpacing(12)
        figures.setVerticalSpacing(3)
        self.bars_label = self._value_label()
        self.rate_label = self._value_label()
        self.memory_label = self._value_label()
        for row, (caption, label) in enumerate(
            (
                ("Bars processed", self.bars_label),
                ("Bars / s", self.rate_label),
                ("Memory", self.memory_label),
            )
        ):
            figures.addWidget(self._caption(caption), row, 0)
            figures.addWidget(label, row, 1)
        figures.setColumnStretch(1, 1)
        layout.addLayout(figures)

        self.sparkline = pg.PlotWidget(background=theme.PANEL)
        self.sparkline.setFixedHeight(56)
        self.sparkline.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        plot = self.sparkline.getPlotItem()
        plot.hideAxis("bottom")
        plot.hideAxis("left")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.getViewBox().setDefaultPadding(0.02)
        plot.setXRange(-SPARKLINE_SECONDS, 0, padding=0)
        accent = QColor(theme.ACCENT_LIGHT)
        fill = QColor(theme.ACCENT)
        fill.setAlpha(60)
        self.sparkline_curve = plot.plot(
            [], [], pen=pg.mkPen(accent, width=1.5), fillLevel=0, brush=pg.mkBrush(fill)
        )
        self.sparkline.setToolTip("Bars per second over the last 2 minutes")
        self.peak_label = QLabel()
        self.peak_label.setStyleSheet(f"color: {theme.MUTED};")
        figures.addWidget(self.peak_label, 1, 2)
        layout.addWidget(self.sparkline)
        layout.addWidget(self._separator())

        # Overruns.
        overruns = QHBoxLayout()
        overruns.setSpacing(10)
        overruns.addWidget(self._caption("Overruns"))
        self.overrun_labels: dict[str, QLabel] = {}
        for name, caption in OVERRUN_COUNTERS.items():
            label = QLabel()
            label.setToolTip(f"{caption} fell behind the clock this many times ({name})")
            self.overrun_labels[name] = label
            overruns.addWidget(label)
        overruns.addStretch(1)
        layout.addLayout(overruns)
        self._set_overruns({})

        # Timings.
        self.stages_table = _FigureTable(STAGE_COLUMNS, self._mono)
        self.loads_table = _FigureTable(LOAD_COLUMNS, self._mono)
        self.loads_table.set_names(list(LOAD_LABELS), set(LOAD_LABELS))
        layout.addWidget(self.stages_table)
        layout.addWidget(self.loads_table)
        layout.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self._set_throughput(None, None, None)
        self._set_timings({})

    # ----- public API ---------------------------------------------------------------------------

    def update_metrics(self, snapshot: Mapping[str, Any], now: float | None = None) -> None:
        """Show a metrics snapshot; `now` (monotonic seconds) dates the bars/s sample for the sparkline."""
        figures = snapshot.get("run") if "stats" not in snapshot and "run" in snapshot else snapshot
        stats: Mapping[str, Mapping[str, Any]] = (figures or {}).get("stats") or {}
        counters: Mapping[str, int] = (figures or {}).get("counters") or {}

        self._set_clock(snapshot.get("clock_ns"), snapshot.get("session_date"))
        self._set_sessions(snapshot.get("sessions_done"), snapshot.get("sessions_total"))
        bars = snapshot.get("bars_processed")
        if bars is None:
            bars = next((counters[name] for name in BARS_COUNTERS if name in counters), None)
        rate = snapshot.get("bars_per_s")
        self._set_throughput(bars, rate, snapshot.get("memory_mb"))
        if rate is not None:
            self._add_rate_sample(float(rate), time.monotonic() if now is None else now)
        self._set_overruns(counters)
        self._set_timings(stats)

    def clear(self) -> None:
        """Forget the figures and the sparkline (e.g. when a new run starts)."""
        self._history.clear()
        self.sparkline_curve.setData([], [])
        self.peak_label.setText("")
        self.clock_label.setText("--:--:--")
        self.zone_label.setText("")
        self.session_label.setText("No session")
        self._session_date_text = None
        self._sessions = (None, None)
        self.sessions_bar.setRange(0, 1)
        self.sessions_bar.setValue(0)
        self._set_throughput(None, None, None)
        self._set_overruns({})
        self._set_timings({})
        self.stages_table.reset_figures()
        self.loads_table.reset_figures()

    def timing_row(self, name: str) -> dict[str, str] | None:
        """The texts shown for statistic `name` by column title (Stage/Count/Mean/Max or
        Sessions & loads/Last/Mean/Max), None if the panel has no row for it."""
        return self.stages_table.texts(name) or self.loads_table.texts(name)

    def sparkline_data(self) -> tuple[np.ndarray, np.ndarray]:
        """(seconds relative to the newest sample, bars/s) as plotted."""
        x, y = self.sparkline_curve.getData()
        empty = np.empty(0)
        return (empty if x is None else x), (empty if y is None else y)

    def show_clock(self, clock_ns: int | None, session_date: Any = None) -> None:
        """Show the simulated clock (the main window passes the time its status bar shows, as it
        changes, so the two never disagree between two metrics refreshes)."""
        self._set_clock(clock_ns, session_date)

    # ----- sections -----------------------------------------------------------------------------

    def _set_clock(self, clock_ns: int | None, session_date: Any) -> None:
        if clock_ns is not None:
            moment = dt.datetime.fromtimestamp(int(clock_ns) / 1e9, self._zone)
            self.clock_label.setText(moment.strftime("%H:%M:%S"))
            self.zone_label.setText(moment.strftime("%Z"))
            if session_date is None:
                session_date = moment.date()
        if session_date is not None:
            if isinstance(session_date, str):
                try:
                    session_date = dt.date.fromisoformat(session_date[:10])
                except ValueError:
                    pass
            text = (
                session_date.strftime("%a %Y-%m-%d")
                if isinstance(session_date, dt.date)
                else str(session_date)
            )
            self._session_date_text = text
        self._refresh_session_label()

    def _set_sessions(self, done: int | None, total: int | None) -> None:
        self._sessions = (done, total)
        if total:
            set_progress(self.sessions_bar, min(int(done or 0), int(total)), int(total))
        self._refresh_session_label()

    def _refresh_session_label(self) -> None:
        date_text = self._session_date_text
        done, total = self._sessions
        parts = [f"Session {date_text}" if date_text else "No session"]
        if total:
            parts.append(f"{int(done or 0)} of {int(total)} done")
        self.session_label.setText(" · ".join(parts))

    def _set_throughput(self, bars: int | None, rate: float | None, memory_mb: float | None) -> None:
        self.bars_label.setText("—" if bars is None else f"{int(bars):,}")
        self.rate_label.setText("—" if rate is None else f"{rate:,.0f}")
        self.memory_label.setText("—" if memory_mb is None else f"{memory_mb:,.0f} MB")

    def _add_rate_sample(self, rate: float, now: float) -> None:
        history = self._history
        if history and now - history[-1][0] < SPARKLINE_SAMPLE_S:
            # Between samples only the newest value changes; the curve is redrawn twice a second, or at
            # once when the value is a new peak (a run's final rate: "7,962 bars/s, peak 5,660" otherwise)
            history[-1] = (history[-1][0], rate)
            if rate > self._peak:
                self._redraw_sparkline(now)
            return
        history.append((now, rate))
        while history and now - history[0][0] > SPARKLINE_SECONDS:
            history.popleft()
        self._redraw_sparkline(now)

    def _redraw_sparkline(self, now: float) -> None:
        if not self._history:
            self.sparkline_curve.setData([], [])
            return
        times = np.fromiter((t for t, _ in self._history), dtype=float, count=len(self._history))
        rates = np.fromiter((r for _, r in self._history), dtype=float, count=len(self._history))
        self.sparkline_curve.setData(times - now, rates)
        peak = self._peak = float(rates.max())
        self.sparkline.getPlotItem().setYRange(0, max(peak, 1.0) * 1.1, padding=0)
        self.peak_label.setText(f"peak {peak:,.0f}")

    def _set_overruns(self, counters: Mapping[str, int]) -> None:
        for name, label in self.overrun_labels.items():
            count = int(counters.get(name, 0) or 0)
            caption = OVERRUN_COUNTERS[name]
            colour = theme.AMBER if count else theme.MUTED
            label.setText(f"{caption} <b style='color:{colour}'>{count:,}</b>")

    def _set_timings(self, stats: Mapping[str, Mapping[str, Any]]) -> None:
        """Pipeline stages (and any unknown statistic) get count/mean/max; loads last/mean/max."""
        others = sorted(n for n in stats if n not in STAGE_LABELS and n not in LOAD_LABELS)
        self.stages_table.set_names(list(STAGE_LABELS) + others, set(STAGE_LABELS))
        for name in self.stages_table.names():
            figures = stats.get(name)
            if figures is None:
                continue
            count = figures.get("count") or 0
            self.stages_table.set_figures(
                name,
                (
                    format_count(count),
                    format_duration(figures.get("mean")) if count else "—",
                    format_duration(figures.get("max")) if count else "—",
                ),
            )
        for name in LOAD_LABELS:
            figures = stats.get(name)
            if figures is None:
                continue
            count = figures.get("count") or 0
            self.loads_table.set_figures(
                name,
                tuple(format_duration(figures.get(key)) if count else "—" for key in ("last", "mean", "max")),
            )

    # ----- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _caption(text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet(f"color: {theme.MUTED};")
        return label

    @staticmethod
    def _value_label() -> QLabel:
        label = QLabel("—")
        label.setFont(theme.mono_font(10, bold=True))
        label.setStyleSheet(f"color: {theme.TEXT_BRIGHT};")
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return label

    @staticmethod
    def _separator() -> QFrame:
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet(f"color: {theme.BORDER}; background: {theme.BORDER};")
        line.setFixedHeight(1)
        return line
