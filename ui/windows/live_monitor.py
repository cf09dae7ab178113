"""The live monitoring window: provider health, per-symbol feed figures, gaps and their fills, pipeline
timings, throughput and the (paper) strategy signals of one live run.

Live mode is paper only: strategies' orders go to the simulated broker, never to a venue. The window
observes a `LiveSystemManager`: engine threads only append events to a deque (observers must be
quick); a QTimer in the UI thread drains it and polls `live_status()` at most every `refresh_ms`, so
the UI never waits on the engine. Times are shown in the exchange zone (the provider's clock, which
is market time in a replay), except the gap-fill attempt log, which is stamped with local wall time.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from PySide6.QtCore import (
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

# isort: split
import pyqtgraph as pg  # imported after PySide6 so that pyqtgraph binds to it

from ui import theme
from ui.icons import themed_icon
from ui.widgets.metrics_panel import MetricsPanel
from ui.widgets.quality_gauges import BAD_BELOW, GapListDialog, QualityGaugePanel, quality_color
from ui.widgets.signal_log import SignalLogView, decision_row, error_row
from ui.windows.live_feed_problems import FeedNoticeBar, FeedProblemsPanel, feed_notices
from ui.windows.record_table import (
    Column,
    RecordTableModel,
    count_column,
    fit_columns,
    make_view,
    natural_widths,
    nonzero,
)
from workstation.config import load_config
from workstation.errors import ConfigError, WorkstationError
from workstation.live.system import LiveSystemManager
from workstation.system import resolve_store_path

logger = logging.getLogger(__name__)

OBSERVED_KINDS = ("decision", "error", "gap", "state", "session_start", "session_end", "backtest_end")
FINAL_STATES = ("finished", "stopped", "failed")
THROUGHPUT_WINDOW_S = 300.0
THROUGHPUT_SAMPLE_S = 1.0
RATE_WINDOW_S = 5.0
LATENCY_WARN_MS = 5_000.0
LATENCY_BAD_MS = 30_000.0

NOT_STARTED = "NOT STARTED"      # the pill before the run's Start (the provider is not connected: nothing failed)
HEALTH_COLOURS: dict[str, str] = {
    NOT_STARTED: theme.MUTED,
    "CONNECTING": theme.ACCENT_LIGHT,
    "STREAMING": theme.UP,
    "QUIET": theme.AMBER,
    "RECONNECTING": "#f57c00",
    "DISCONNECTED": theme.MUTED,
    "FAILED": theme.DOWN,
}
HEALTH_TIPS: dict[str, str] = {
    "CONNECTING": "Opening the connection to the provider",
    "STREAMING": "Connected and receiving data",
    "QUIET": "Connected, but no data for longer than expected",
    "RECONNECTING": "The connection dropped; reconnecting with back-off",
    "DISCONNECTED": "Not connected",
    "FAILED": "The provider gave up (e.g. the API key was rejected); needs a user action",
}
STATE_TEXT: dict[str, str] = {
    "stopped": "Stopped",
    "running": "Running",
    "paused": "Paused (the feed keeps arriving; bars are processed on resume)",
    "finished": "Finished",
    "failed": "Failed",
}



# ------------------------------------------------------------------------------------ building a run


def build_live_system(
    config_path: str | os.PathLike,
    store_path: str | os.PathLike | None = None,
    duration_s: float | None = None,
) -> LiveSystemManager:
    """Load and validate a live session config and build its (not yet started) LiveSystemManager.

    Raises ConfigError when the file is invalid or its mode is not "live"; `store_path` overrides
    the config's bar store (relative config paths are taken from the working directory).
    """
    cfg = load_config(config_path)
    if cfg.mode != "live":
        raise ConfigError(
            str(config_path),
            [
                (
                    "mode",
                    f'the live monitor needs a config with mode "live", got {cfg.mode!r}; '
                    'set "mode": "live" and a "live" provider section, or open it as a backtest',
                )
            ],
        )
    if duration_s is not None and duration_s <= 0:
        raise ValueError(f"duration_s must be positive seconds, got {duration_s!r}")
    store = resolve_store_path(cfg, str(store_path) if store_path is not None else None)
    return LiveSystemManager(cfg, store_path=store, duration_s=duration_s)


# ------------------------------------------------------------------------------------ derived rates


class FeedRates:
    """Messages per second per symbol, derived from successive cumulative message counts.

    The rate is taken over the last `window_s` seconds of samples (smoother than sample to sample
    when a symbol gets one bar a minute).
    """

    def __init__(self, window_s: float = RATE_WINDOW_S):
        if window_s <= 0:
            raise ValueError(f"rate window must be positive seconds, got {window_s!r}")
        self.window_s = float(window_s)
        self._samples: deque[tuple[float, np.ndarray]] = deque()

    def add(self, now_s: float, counts: Sequence[int] | np.ndarray) -> np.ndarray:
        """Record the cumulative counts at monotonic time `now_s`; return the rates (per second)."""
        counts = np.array(counts, dtype=np.int64)
        samples = self._samples
        if samples and (len(samples[-1][1]) != len(counts) or now_s < samples[-1][0]):
            samples.clear()
        samples.append((float(now_s), counts))
        while len(samples) > 2 and now_s - samples[1][0] >= self.window_s:
            samples.popleft()
        t0, c0 = samples[0]
        span = now_s - t0
        if span <= 0:
            return np.zeros(len(counts))
        return np.maximum(counts - c0, 0) / span

    def reset(self) -> None:
        self._samples.clear()


class ThroughputHistory:
    """Bars/s and messages/s sampled every `sample_s` seconds over the last `window_s` (wall time).

    Each sample is the rate over the last `smooth_s` seconds of cumulative counts, so bars that come
    in batches (one bar time a few seconds apart in a slow replay) read as a steady rate.
    """

    def __init__(
        self,
        window_s: float = THROUGHPUT_WINDOW_S,
        sample_s: float = THROUGHPUT_SAMPLE_S,
        smooth_s: float = RATE_WINDOW_S,
    ):
        if window_s <= 0 or sample_s <= 0 or smooth_s <= 0:
            raise ValueError(
                f"throughput window, sample and smoothing must be positive seconds, got "
                f"{window_s!r}, {sample_s!r}, {smooth_s!r}"
            )
        self.window_s = float(window_s)
        self.sample_s = float(sample_s)
        self.smooth_s = float(smooth_s)
        self.samples: deque[tuple[float, float, float]] = deque()  # (monotonic s, bars/s, messages/s)
        self._totals: deque[tuple[float, int, int]] = deque()  # (monotonic s, bars, messages) so far

    def add(self, now_s: float, bars_total: int, messages_total: int) -> bool:
        """Take a sample if `sample_s` passed since the last one; True when a sample was added."""
        totals = self._totals
        if totals and now_s - totals[-1][0] < self.sample_s:
            return False
        totals.append((now_s, bars_total, messages_total))
        if len(totals) < 2:
            return False
        while len(totals) > 2 and now_s - totals[1][0] >= self.smooth_s:
            totals.popleft()
        t0, bars0, messages0 = totals[0]
        span = now_s - t0
        self.samples.append(
            (now_s, max(0, bars_total - bars0) / span, max(0, messages_total - messages0) / span)
        )
        while self.samples and now_s - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        return True

    def latest(self) -> tuple[float, float] | None:
        """(bars/s, messages/s) of the newest sample, None before the first one."""
        return (self.samples[-1][1], self.samples[-1][2]) if self.samples else None

    def arrays(self, now_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(seconds relative to `now_s`, bars/s, messages/s)."""
        if not self.samples:
            empty = np.empty(0)
            return empty, empty, empty
        data = np.array(self.samples, dtype=float)
        return data[:, 0] - now_s, data[:, 1], data[:, 2]

    def reset(self) -> None:
        self.samples.clear()
        self._totals.clear()


# ------------------------------------------------------------------------------------ formatting


def format_ms(value: float | None) -> str:
    """Milliseconds: "—" unknown, "4.2" under 10, "1,234" above."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.1f}" if abs(value) < 10 else f"{value:,.0f}"


def format_rate(value: float | None) -> str:
    """Per-second rates: "—" unknown, "0", "2.5", "1,234"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value == 0:
        return "0"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


class ExchangeTime:
    """int ns UTC -> exchange-zone text, cached per second (display only)."""

    def __init__(self, tz: str):
        self.zone = ZoneInfo(tz)
        self._cache: dict[tuple[int, str], str] = {}

    def text(self, time_ns: int | None, fmt: str = "%H:%M:%S") -> str:
        if time_ns is None or time_ns < 0:
            return "—"
        key = (int(time_ns) // 1_000_000_000, fmt)
        text = self._cache.get(key)
        if text is None:
            if len(self._cache) > 20_000:
                self._cache.clear()
            text = dt.datetime.fromtimestamp(key[0], self.zone).strftime(fmt)
            self._cache[key] = text
        return text

    def moment(self, time_ns: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(int(time_ns) / 1e9, self.zone)


# ------------------------------------------------------------------------------------ table models


def _gap_status(record: dict) -> tuple[str, str]:
    """Status text and colour of a gap; "no trades": history confirmed the symbol did not trade."""
    text, colour = GapListDialog.status_text(record)
    if record.get("status") == "filled" and record.get("no_trades"):
        text += f" · {record['no_trades']} no trades"
    return text, colour



# ------------------------------------------------------------------------------------ small widgets


class HealthPill(QLabel):
    """A rounded, colour-coded label with the provider's connection state."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = ""
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFont(theme.ui_font(theme.UI_POINT_SIZE, bold=True))
        widest = max(self.fontMetrics().horizontalAdvance(f"\u25cf {s}") for s in HEALTH_COLOURS)
        self.setMinimumWidth(widest + 26)          # the longest state never clips
        self.set_state(NOT_STARTED)

    def set_state(self, state: str, detail: str = "") -> None:
        """Show `state` (a ProviderHealth value) in its colour; `detail` goes to the tooltip."""
        state = str(state)
        colour = HEALTH_COLOURS.get(state, theme.MUTED)
        if state != self.state:
            self.state = state
            background = theme.qcolor(colour, 46)
            self.setText(f"\u25cf {state}")
            self.setStyleSheet(
                f"QLabel {{ color: {colour}; background: rgba({background.red()}, {background.green()}, "
                f"{background.blue()}, {background.alpha()}); border: 1px solid {colour}; "
                f"border-radius: 9px; padding: 1px 9px; }}"
            )
        tip = HEALTH_TIPS.get(state, state)
        self.setToolTip(f"{tip}\n{detail}" if detail else tip)


class _Kpi:
    """A header figure: a small muted caption and a bright monospace value (two labels for a grid)."""

    def __init__(self, caption: str, tip: str, sample: str = "0,000.0"):
        self.caption = QLabel(caption.upper())
        self.caption.setStyleSheet(f"color: {theme.MUTED}; font-size: 8pt; font-weight: 600;")
        self.caption.setToolTip(tip)
        self.value = QLabel("—")
        self.value.setFont(theme.mono_font(10.5, bold=True))
        self.value.setStyleSheet(f"color: {theme.TEXT_BRIGHT};")
        self.value.setToolTip(tip)
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance(sample))

    def set(self, text: str, colour: str = theme.TEXT_BRIGHT) -> None:
        """Show `text` (plain or rich) in `colour`."""
        if self.value.text() != text:
            self.value.setText(text)
        _set_colour(self.value, colour)


class _Section(QFrame):
    """A titled panel like a dock widget: a title bar (with optional right-hand widgets) over content."""

    def __init__(self, title: str, content: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("liveSection")
        self.setStyleSheet(
            f"QFrame#liveSection {{ border: 1px solid {theme.BORDER}; background: {theme.PANEL}; }}"
        )
        self.title = QLabel(title)
        self.title.setStyleSheet(f"color: {theme.TEXT}; font-weight: 600;")
        self.extra = QLabel()
        self.extra.setStyleSheet(f"color: {theme.MUTED};")
        bar = QWidget()
        bar.setObjectName("liveSectionBar")
        bar.setStyleSheet(
            f"QWidget#liveSectionBar {{ background: {theme.PANEL}; border-bottom: 1px solid {theme.BORDER}; }}"
        )
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(8)
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.extra)
        self.bar_layout = row
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(content, 1)


class ThroughputChart(pg.PlotWidget):
    """Bars/s and messages/s over the last minutes of wall time (x: seconds relative to now)."""

    def __init__(self, window_s: float = THROUGHPUT_WINDOW_S, parent: QWidget | None = None):
        super().__init__(parent=parent, background=theme.PANEL)
        self.window_s = window_s
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(False, False)
        plot.showGrid(x=True, y=True, alpha=0.10)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.MUTED))
            axis.setStyle(tickLength=-4, tickTextOffset=5)
        plot.getAxis("left").setWidth(44)
        minutes = int(window_s // 60)
        ticks = [(-60.0 * m, f"-{m}m") for m in range(minutes, 0, -1)] + [(0.0, "now")]
        plot.getAxis("bottom").setTicks([ticks])
        plot.setXRange(-window_s, 0, padding=0.01)
        plot.enableAutoRange(axis="y", enable=True)
        plot.setLimits(yMin=0)
        # the key sits in a row of its own above the plot: inside it covered the oldest minute's values
        plot.setTitle(
            f'<span style="color:{theme.ACCENT_LIGHT}">\u2501\u2501</span>'
            f'<span style="color:{theme.TEXT}">&nbsp;bars/s</span>&nbsp;&nbsp;&nbsp;'
            f'<span style="color:{theme.UP}">\u2501\u2501</span>'
            f'<span style="color:{theme.TEXT}">&nbsp;messages/s</span>',
            size="8pt",
        )
        self.bars_curve = plot.plot(
            [],
            [],
            name="bars/s",
            pen=pg.mkPen(theme.ACCENT_LIGHT, width=1.6),
            fillLevel=0,
            brush=pg.mkBrush(theme.qcolor(theme.ACCENT, 45)),
        )
        self.messages_curve = plot.plot([], [], name="messages/s", pen=pg.mkPen(theme.UP, width=1.6))
        self.setToolTip("Bars processed and feed messages received per second (last 5 minutes of wall time)")

    def set_data(self, x: np.ndarray, bars: np.ndarray, messages: np.ndarray) -> None:
        self.bars_curve.setData(x, bars)
        self.messages_curve.setData(x, messages)
        top = max(float(bars.max()) if len(bars) else 0.0, float(messages.max()) if len(messages) else 0.0)
        self.getPlotItem().setYRange(0, max(top, 1.0) * 1.12, padding=0)

    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x seconds, bars/s, messages/s) as plotted."""
        x, bars = self.bars_curve.getData()
        _, messages = self.messages_curve.getData()
        empty = np.empty(0)
        return (
            empty if x is None else x,
            empty if bars is None else bars,
            empty if messages is None else messages,
        )


# ------------------------------------------------------------------------------------ the window


class LiveMonitorWindow(QMainWindow):
    """Monitors one live (paper) run; build with a LiveSystemManager or call `attach()` later.

    `owns_system=True` makes closing the window stop the run (`system.stop(1.0)`). `new_system`, when
    given, builds a fresh (not started) run of the same config: once a run has ended (stopped, or its
    duration or feed over), Start builds one with it, shows it and starts it, as a platform reconnects.
    """

    run_finished = Signal(dict)

    def __init__(
        self,
        system: LiveSystemManager | None = None,
        refresh_ms: int = 250,
        owns_system: bool = False,
        parent: QWidget | None = None,
        new_system: Callable[[], LiveSystemManager] | None = None,
    ):
        super().__init__(parent)
        if refresh_ms <= 0:
            raise ValueError(f"refresh_ms must be positive, got {refresh_ms!r}")
        self.refresh_ms = int(refresh_ms)
        self.owns_system = owns_system
        self.new_system = new_system
        self.system: LiveSystemManager | None = None
        self._events: deque[tuple[str, Any]] = deque()
        self._observer: Callable[[str, Any], None] | None = None
        self._status: dict[str, Any] = {}
        self._times = ExchangeTime("America/New_York")
        self._rates = FeedRates()
        self._throughput = ThroughputHistory()
        self._health_seen = 0
        self._behind: list[str] = []           # symbols whose last bar is behind the clock
        self._fill_seen = 0
        self._decisions = 0
        self._errors = 0
        self._open_session: dict[str, Any] | None = None  # session_start payload until its session_end
        self._session_events = False
        self._summary: dict[str, Any] | None = None
        self._final = False
        self._header_room = 0  # px the header can still grow by (see _set_fitting)
        self._memory_mb: float | None = None
        self._stopper: threading.Thread | None = None
        self._process = None
        self._rows_fitted = False              # the symbols table fitted to its rows once shown

        self.setWindowTitle("Live monitor")
        self.resize(1400, 900)
        self._build_toolbar()
        self._build_header()
        self._build_body()
        self.statusBar().setSizeGripEnabled(False)
        self.state_label = QLabel("No live run attached")
        self.statusBar().addWidget(self.state_label, 1)
        paper = QLabel("Paper trading · no order is ever sent")
        paper.setStyleSheet(f"color: {theme.AMBER}; padding-right: 6px;")
        self.statusBar().addPermanentWidget(paper)

        self._timer = QTimer(self)
        self._timer.setInterval(self.refresh_ms)
        self._timer.timeout.connect(self.refresh_now)
        if system is not None:
            self.attach(system)
        self._update_controls()

    # ----- construction -----------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar("Run")
        bar.setObjectName("liveToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._play_icon, self._pause_icon = themed_icon("play"), themed_icon("pause")
        self.start_action = QAction(self._play_icon, "Start", self)
        self.start_action.setToolTip("Connect to the provider and start the live (paper) run")
        self.stop_action = QAction(themed_icon("stop"), "Stop", self)
        self.stop_action.setToolTip("Stop the run and disconnect (the run cannot be resumed)")
        self.pause_action = QAction(self._pause_icon, "Pause", self)
        self.pause_action.setCheckable(True)
        self.pause_action.setToolTip(
            "Pause processing; the feed keeps arriving and is processed on resume (the market does not pause)"
        )
        self.start_action.triggered.connect(self.start)
        self.stop_action.triggered.connect(self.stop)
        self.pause_action.toggled.connect(self._on_pause_toggled)
        bar.addAction(self.start_action)
        bar.addAction(self.pause_action)
        bar.addAction(self.stop_action)
        bar.addSeparator()
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.paper_label = QLabel("PAPER ONLY  ·  signals go to the simulated broker, no order is ever sent")
        self.paper_label.setStyleSheet(
            f"color: {theme.AMBER}; border: 1px solid {theme.AMBER}; border-radius: 3px; padding: 2px 8px;"
        )
        self.paper_label.setToolTip("Live mode never sends orders: fills are simulated by the paper broker")
        bar.addWidget(self.paper_label)
        self.addToolBar(bar)
        self.toolbar = bar

    def _build_header(self) -> None:
        header = QWidget()
        header.setObjectName("liveHeader")
        header.setStyleSheet(
            f"QWidget#liveHeader {{ background: {theme.BACKGROUND}; border-bottom: 1px solid {theme.BORDER}; }}"
        )
        row = QHBoxLayout(header)
        row.setContentsMargins(12, 8, 12, 8)
        row.setSpacing(12)

        self.mode_badge = QLabel("LIVE · PAPER")
        self.mode_badge.setFont(theme.ui_font(10, bold=True))
        live = theme.qcolor(theme.DOWN, 40)
        self.mode_badge.setStyleSheet(
            f"color: #ff8a80; background: rgba({live.red()}, {live.green()}, {live.blue()}, {live.alpha()}); "
            f"border: 1px solid {theme.DOWN}; border-radius: 3px; padding: 4px 10px;"
        )
        self.mode_badge.setToolTip("Live market data; orders are simulated (paper), never sent")
        row.addWidget(self.mode_badge, 0, Qt.AlignmentFlag.AlignVCenter)

        provider_box = QVBoxLayout()
        provider_box.setSpacing(3)
        name_row = QHBoxLayout()
        name_row.setSpacing(6)
        caption = QLabel("PROVIDER")
        caption.setStyleSheet(f"color: {theme.MUTED}; font-size: 8pt; font-weight: 600;")
        self.provider_label = QLabel("—")
        self.provider_label.setFont(theme.ui_font(10, bold=True))
        self.provider_label.setStyleSheet(f"color: {theme.TEXT_BRIGHT};")
        name_row.addWidget(caption, 0, Qt.AlignmentFlag.AlignBaseline)
        name_row.addWidget(self.provider_label, 0, Qt.AlignmentFlag.AlignBaseline)
        name_row.addStretch(1)
        self.header_pill = HealthPill()
        self.keys_label = QLabel("")
        self.keys_label.setStyleSheet(f"color: {theme.MUTED}; font-size: 8pt;")
        self.keys_label.setToolTip("Where the provider sends the API keys (from the environment variables "
                                   "named in the config); never shown here")
        provider_box.addLayout(name_row)
        provider_box.addWidget(self.header_pill, 0, Qt.AlignmentFlag.AlignLeft)
        provider_box.addWidget(self.keys_label)
        row.addLayout(provider_box)

        row.addSpacing(6)
        clock_box = QVBoxLayout()
        clock_box.setSpacing(0)
        clock_row = QHBoxLayout()
        clock_row.setSpacing(6)
        self.clock_label = QLabel("--:--:--")
        self.clock_label.setFont(theme.mono_font(17, bold=True))
        self.clock_label.setStyleSheet(f"color: {theme.TEXT_BRIGHT};")
        self.clock_label.setToolTip("The live clock in the exchange time zone")
        self.zone_label = QLabel("")
        self.zone_label.setStyleSheet(f"color: {theme.MUTED};")
        clock_row.addWidget(self.clock_label)
        clock_row.addWidget(self.zone_label, 0, Qt.AlignmentFlag.AlignBottom)
        clock_row.addStretch(1)
        self.session_label = QLabel("No session")
        self.session_label.setStyleSheet(f"color: {theme.MUTED};")
        clock_box.addLayout(clock_row)
        clock_box.addWidget(self.session_label)
        row.addLayout(clock_box)

        row.addStretch(1)
        self.kpi_messages = _Kpi("Messages/s", "Feed messages received per second, all symbols")
        self.kpi_bars = _Kpi("Bars/s", "Bars from the live feed processed per second (without the catch-up)")
        self.kpi_latency = _Kpi(
            "Latency p99", "Pipeline latency, bar received to strategies done (99th pct, wall ms)", "0,000 ms"
        )
        self.kpi_late = _Kpi(
            "Late bars", "Bars inserted after their bar time was processed (late arrivals and fills)"
        )
        self.kpi_gaps = _Kpi(
            "Gaps", "Gaps found, filled from history, given up (retries in the gap list)", ""
        )
        self.kpi_signals = _Kpi(
            "Signals", "Strategy signals (paper), and those rejected by the risk checks", ""
        )
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        pairs = (
            (self.kpi_messages, self.kpi_bars),
            (self.kpi_latency, self.kpi_late),
            (self.kpi_gaps, self.kpi_signals),
        )
        for k, (top, bottom) in enumerate(pairs):
            for r, kpi in enumerate((top, bottom)):
                grid.addWidget(
                    kpi.caption, r, 3 * k, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                grid.addWidget(kpi.value, r, 3 * k + 1)
            if k < len(pairs) - 1:
                separator = QFrame()
                separator.setFrameShape(QFrame.Shape.VLine)
                separator.setStyleSheet(f"color: {theme.BORDER};")
                grid.addWidget(separator, 0, 3 * k + 2, 2, 1)
                grid.setColumnMinimumWidth(3 * k + 2, 14)
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setStyleSheet(f"color: {theme.BORDER};")
        row.addWidget(separator)
        row.addLayout(grid)
        self.header = header

    def _build_body(self) -> None:
        # Per-symbol feed table.
        self.symbol_model = RecordTableModel(self._symbol_columns(), self)
        self.symbol_view = make_view(self.symbol_model, sortable=True, fit=True)
        self.symbol_section = _Section("Symbols", self.symbol_view)

        # Bottom tabs: signals, gaps, fill log, quality tiles.
        self.signal_log = SignalLogView(refresh_ms=100)
        self.gap_model = RecordTableModel(
            self._gap_columns(), self, key=lambda g: (g["symbol"], g["interval"], g["start_ns"], g["end_ns"])
        )
        self.gap_view = make_view(self.gap_model, sortable=True)
        self.fill_log_model = RecordTableModel(self._fill_columns(), self)
        self.fill_log_view = make_view(self.fill_log_model, sortable=False)
        self.quality_panel = QualityGaugePanel()
        self.quality_panel.set_gap_provider(self._gaps_of)
        self.problems_panel = FeedProblemsPanel(self._times.text)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.signal_log, "Signals (paper)")
        self.tabs.addTab(self.gap_view, "Gaps")
        self.tabs.addTab(self.fill_log_view, "Gap-fill log")
        self.tabs.addTab(self.quality_panel, "Quality")
        self.tabs.addTab(self.problems_panel, "Feed problems")

        left = QSplitter(Qt.Orientation.Vertical)
        left.setChildrenCollapsible(False)
        left.addWidget(self.symbol_section)
        left.addWidget(self.tabs)
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 3)

        # Connection: pill, provider counters and the health history.
        self.health_pill = HealthPill()
        self.provider_stats_label = QLabel("—")
        self.provider_stats_label.setStyleSheet(f"color: {theme.MUTED};")
        self.provider_stats_label.setWordWrap(True)
        self.health_model = RecordTableModel(self._health_columns(), self)
        self.health_view = make_view(self.health_model, sortable=False)
        connection = QWidget()
        box = QVBoxLayout(connection)
        box.setContentsMargins(8, 6, 8, 8)
        box.setSpacing(6)
        pill_row = QHBoxLayout()
        pill_row.addWidget(self.health_pill)
        pill_row.addStretch(1)
        box.addLayout(pill_row)
        box.addWidget(self.provider_stats_label)
        box.addWidget(self.health_view, 1)
        self.connection_section = _Section("Connection", connection)

        self.throughput_chart = ThroughputChart()
        self.throughput_chart.setMinimumHeight(120)
        self.throughput_section = _Section("Throughput · last 5 min", self.throughput_chart)

        # Pipeline: live latency figures over the metrics panel's stage timings and overruns.
        self.pipeline_label = QLabel("—")
        self.pipeline_label.setStyleSheet(f"color: {theme.TEXT}; padding: 6px 10px 0 10px;")
        self.pipeline_label.setTextFormat(Qt.TextFormat.RichText)
        self.pipeline_label.setWordWrap(True)       # between figures: a narrow column never widens the window
        self.metrics_panel = MetricsPanel()
        for widget in (
            self.metrics_panel.clock_label,
            self.metrics_panel.zone_label,
            self.metrics_panel.session_label,
            self.metrics_panel.sessions_bar,
            self.metrics_panel.sparkline,
            self.metrics_panel.peak_label,
        ):
            widget.hide()  # the header shows the clock and session, the chart the rates
        pipeline = QWidget()
        pipe_box = QVBoxLayout(pipeline)
        pipe_box.setContentsMargins(0, 0, 0, 0)
        pipe_box.setSpacing(0)
        pipe_box.addWidget(self.pipeline_label)
        pipe_box.addWidget(self.metrics_panel, 1)
        self.pipeline_section = _Section("Pipeline", pipeline)

        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        right.addWidget(self.connection_section)
        right.addWidget(self.throughput_section)
        right.addWidget(self.pipeline_section)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 3)
        right.setStretchFactor(2, 4)
        right.setSizes([250, 230, 340])

        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(0, 5)
        body.setStretchFactor(1, 2)
        body.setSizes([940, 460])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        self.notice_bar = FeedNoticeBar()
        layout.addWidget(self.notice_bar)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(6, 6, 6, 6)
        inner_layout.addWidget(body)
        layout.addWidget(inner, 1)
        self.setCentralWidget(central)
        self.body_splitter, self.left_splitter, self.right_splitter = body, left, right
        self._size_columns()

    def _size_columns(self) -> None:
        self.symbol_view.natural_widths = natural_widths(self.symbol_model)
        self.symbol_view.minimum_widths = natural_widths(self.symbol_model, padding=10)
        self.symbol_view.fit_columns()
        for view, model in (
            (self.gap_view, self.gap_model),
            (self.fill_log_view, self.fill_log_model),
            (self.health_view, self.health_model),
        ):
            fit_columns(view, natural_widths(model)[:-1])

    # ----- column definitions ----------------------------------------------------------------------

    def _symbol_columns(self) -> list[Column]:
        t = self._times

        def last_bar_colour(r: dict) -> str | None:
            return theme.AMBER if r["stale"] else None

        def latency_colour(r: dict) -> str | None:
            v = r["latency_ms"] / r["clock_speed"]  # a replay clock runs `speed` times the wall
            if math.isnan(v):
                return None
            return theme.DOWN if v >= LATENCY_BAD_MS else (theme.AMBER if v >= LATENCY_WARN_MS else None)

        def quality_text(r: dict) -> str:
            q = r["quality_pct"]
            return "—" if q is None or math.isnan(q) else f"{q:.1f} %"

        def quality_colour_of(r: dict) -> str | None:
            q = r["quality_pct"]
            if q is None or math.isnan(q):
                return None
            return quality_color(q, r["risk_minimum"]).name()

        return [
            Column("Symbol", lambda r: r["symbol"], bold=True, sample="WWWWW"),
            Column(
                "Last bar",
                lambda r: t.text(r["last_bar_ns"], "%H:%M") if r["last_bar_ns"] >= 0 else "—",
                sort=lambda r: r["last_bar_ns"],
                colour=last_bar_colour,
                mono=True,
                tip="Start of the newest bar received, exchange time (amber: behind the clock)",
                sample="00:00",
                cell_tip=lambda r: (
                    t.text(r["last_bar_ns"], "%Y-%m-%d %H:%M %Z") if r["last_bar_ns"] >= 0 else None
                ),
            ),
            Column(
                "Latency ms",
                lambda r: format_ms(r["latency_ms"]),
                sort=lambda r: _nan_last(r["latency_ms"]),
                colour=latency_colour,
                right=True,
                mono=True,
                sample="00,000",
                tip="Feed latency of the newest bar in ms: receive time minus bar end, on the live clock "
                "(market time in a replay, so it grows with the replay speed)",
            ),
            Column(
                "Messages",
                lambda r: f"{r['messages']:,}",
                sort=lambda r: r["messages"],
                right=True,
                mono=True,
                tip="Bar messages received from the feed",
            ),
            Column(
                "Msg/s",
                lambda r: format_rate(r["rate"]),
                sort=lambda r: r["rate"],
                right=True,
                mono=True,
                tip=f"Messages per second over the last {RATE_WINDOW_S:g} s of wall time",
            ),
            Column(
                "Quality",
                quality_text,
                sort=lambda r: _nan_last(r["quality_pct"]),
                colour=quality_colour_of,
                right=True,
                mono=True,
                sample="100.0 %",
                tip="Bars present / bars expected since the open, streamed interval",
            ),
            count_column("No trades", "no_trade_minutes", None,
                         "Minutes the symbol did not trade: no bar in the stream nor in the provider's history "
                         "(counted missing in quality, as a backtest counts them; never asked for again)"),
            count_column("Gaps", "gaps", None, "Gaps found (runs of missing bars)"),
            count_column("Filled", "filled", theme.UP, "Gaps filled from the provider's history"),
            count_column("Failed", "failed", theme.DOWN, "Gaps given up after the maximum retries"),
            count_column("Pending", "pending", theme.AMBER, "Gaps waiting for a fill or a retry"),
            count_column("Retries", "retries", theme.AMBER, "Fill retries over all gaps of the symbol"),
        ]

    def _gap_columns(self) -> list[Column]:
        t = self._times
        return [
            Column("Symbol", lambda r: r["symbol"], bold=True, sample="WWWWW"),
            Column("Interval", lambda r: r["interval"], sample="15m"),
            Column(
                "From",
                lambda r: t.text(r["start_ns"], "%H:%M"),
                sort=lambda r: r["start_ns"],
                mono=True,
                tip="First missing bar (start, exchange time)",
                sample="00:00",
                cell_tip=lambda r: t.text(r["start_ns"], "%Y-%m-%d %H:%M %Z"),
            ),
            Column(
                "To",
                lambda r: t.text(r["end_ns"], "%H:%M"),
                sort=lambda r: r["end_ns"],
                mono=True,
                tip="Last missing bar (start, exchange time)",
                sample="00:00",
            ),
            Column(
                "Missing",
                lambda r: f"{r['missing']:,}",
                sort=lambda r: r["missing"],
                right=True,
                mono=True,
                tip="Bars missing in the gap",
            ),
            Column(
                "Retries",
                lambda r: str(r["retries"]),
                sort=lambda r: r["retries"],
                right=True,
                mono=True,
                colour=lambda r: nonzero(r["retries"], theme.AMBER),
                tip="Fill attempts after the first one",
            ),
            Column(
                "Filled",
                lambda r: str(r["filled"]),
                sort=lambda r: r["filled"],
                right=True,
                mono=True,
                tip="Bars inserted by the fill",
            ),
            Column(
                "No trades",
                lambda r: str(r.get("no_trades", 0)),
                sort=lambda r: r.get("no_trades", 0),
                right=True,
                mono=True,
                tip="Minutes of the gap the history confirmed had no trade",
            ),
            Column(
                "Status",
                lambda r: _gap_status(r)[0],
                sort=lambda r: str(r["status"]),
                colour=lambda r: _gap_status(r)[1],
                bold=True,
                sample="filled (after 3 retries)",
                tip="pending (waiting for a fill or a retry), filled (every missing minute has its bar or had "
                "no trade), no trades (the symbol did not trade in the gap: a thin symbol) or failed (gave up "
                "after the maximum retries)",
            ),
        ]

    def _fill_columns(self) -> list[Column]:
        t = self._times

        def outcome_colour(r: dict) -> str:
            outcome = str(r.get("outcome", ""))
            return theme.UP if outcome == "filled" else theme.DOWN if outcome == "error" else theme.AMBER

        def wall(r: dict) -> str:
            stamp = r.get("wall_time")
            if stamp is None:
                return "—"
            moment = dt.datetime.fromtimestamp(float(stamp))
            return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"

        def span(r: dict) -> str:
            start, end = t.text(r["start_ns"], "%H:%M"), t.text(r["end_ns"], "%H:%M")
            return start if start == end else f"{start}–{end}"

        def ms(key: str) -> Callable[[dict], str]:
            return lambda r: format_ms(r.get(key))

        return [
            Column(
                "Time",
                wall,
                sort=lambda r: r.get("wall_time", 0.0),
                mono=True,
                tip="Wall-clock time of the history request (local time)",
                sample="00:00:00.000",
            ),
            Column("Symbol", lambda r: r["symbol"], bold=True, sample="WWWWW"),
            Column("Gap", span, mono=True, tip="Bar starts of the gap (exchange time)", sample="00:00–00:00"),
            Column(
                "Attempt",
                lambda r: str(r.get("attempt", 1)),
                right=True,
                mono=True,
                tip="1 = first attempt, then the retries",
            ),
            Column(
                "Outcome",
                lambda r: str(r.get("outcome", "")),
                colour=outcome_colour,
                bold=True,
                sample="no data at the source",
            ),
            Column(
                "Bars",
                lambda r: str(r["bars"]) if "bars" in r else "—",
                right=True,
                mono=True,
                tip="Bars the history request returned",
            ),
            Column(
                "Request ms",
                ms("request_ms"),
                right=True,
                mono=True,
                tip="Duration of the history request",
                sample="00,000",
            ),
            Column(
                "Deliver ms",
                ms("deliver_ms"),
                right=True,
                mono=True,
                tip="Time to hand the bars to the pipeline",
            ),
            Column(
                "Detail",
                lambda r: str(r.get("detail", "")),
                colour=lambda r: theme.DOWN if r.get("detail") else None,
                cell_tip=lambda r: r.get("detail") or None,
            ),
        ]

    def _health_columns(self) -> list[Column]:
        t = self._times
        return [
            Column(
                "Time",
                lambda r: t.text(r["time_ns"]),
                mono=True,
                sample="00:00:00",
                tip="When the state changed (provider clock, exchange time)",
                cell_tip=lambda r: t.text(r["time_ns"], "%Y-%m-%d %H:%M:%S %Z"),
            ),
            Column(
                "State",
                lambda r: f"\u25cf {r['state']}",
                colour=lambda r: HEALTH_COLOURS.get(r["state"]),
                bold=True,
                sample="\u25cf RECONNECTING",
                cell_tip=lambda r: HEALTH_TIPS.get(r["state"]),
            ),
            Column("Detail", lambda r: r["detail"], cell_tip=lambda r: r["detail"] or None),
        ]

    # ----- attaching a run ---------------------------------------------------------------------------

    def attach(self, system: LiveSystemManager) -> None:
        """Monitor `system` (a LiveSystemManager, started or not); replaces any run shown before.

        Signals and errors emitted before the window attached are not replayed; the figures polled
        from `live_status()` (health history, gaps, fill log, per-symbol counts) are complete.
        """
        if not callable(getattr(system, "live_status", None)):
            raise TypeError(f"the live monitor needs a LiveSystemManager, got {type(system).__name__}")
        self.detach()
        self.system = system
        cfg = system.cfg
        self._times = ExchangeTime(cfg.timezone)
        for model, columns in (
            (self.symbol_model, self._symbol_columns()),
            (self.gap_model, self._gap_columns()),
            (self.fill_log_model, self._fill_columns()),
            (self.health_model, self._health_columns()),
        ):
            model.reset(columns)  # the columns format times in the run's exchange zone
        self.problems_panel.set_time_text(self._times.text)
        self._events = deque()
        events = self._events

        def observe(kind: str, payload: Any) -> None:
            events.append((kind, payload))  # engine thread: only queue

        self._observer = observe
        for kind in OBSERVED_KINDS:
            system.events.subscribe(kind, observe)
        self._rates.reset()
        self._throughput.reset()
        self._health_seen = self._fill_seen = self._decisions = self._errors = 0
        self._open_session, self._session_events, self._summary, self._final = None, False, None, False
        self.signal_log.clear()
        self.metrics_panel.clear()
        self.throughput_chart.set_data(np.empty(0), np.empty(0), np.empty(0))
        self.quality_panel.set_primary_interval(cfg.streams.interval)
        self.quality_panel.set_risk_minimum(self._risk_minimum())
        self.quality_panel.set_symbols(cfg.symbols)
        self.setWindowTitle(f"Live monitor — {cfg.name}")
        self.provider_label.setText(str(getattr(system.provider, "name", cfg.live.provider)))
        self.symbol_section.title.setText(f"Symbols · {len(cfg.symbols)} · {cfg.streams.interval}")
        self.refresh_now()
        self._timer.start()
        self._update_controls()

    def detach(self) -> None:
        """Stop observing the current run (it keeps running unless stopped)."""
        self._timer.stop()
        system, observer = self.system, self._observer
        if system is not None and observer is not None:
            for kind in OBSERVED_KINDS:
                system.events.unsubscribe(kind, observer)
        self._observer = None
        self.system = None

    def _risk_minimum(self) -> float:
        system = self.system
        minimum = float(system.cfg.risk.min_quality_pct) if system is not None else 95.0
        return min(100.0, max(BAD_BELOW, minimum))

    # ----- run control -------------------------------------------------------------------------------

    def is_started(self) -> bool:
        """Whether the attached run was started (it may have ended since)."""
        system = self.system
        if system is None:
            return False
        return system.has_started()

    def start(self) -> None:
        """Start the attached run if it was never started; after it ended, a new run of the same config
        (`new_system`), which replaces it in the window."""
        system = self.system
        if self._system_ended() and self.new_system is not None:
            try:
                fresh = self.new_system()
            except WorkstationError as exc:
                logger.warning("live run could not be built again: %s", exc)
                self._show_message(f"Could not start: {exc}", theme.DOWN)
                return
            self.attach(fresh)
            system = fresh
        if system is None or self.is_started():
            return
        try:
            system.start()
        except WorkstationError as exc:
            logger.warning("live run did not start: %s", exc)
            self._update_controls()
            self._show_message(f"Could not start: {exc}", theme.DOWN)
            return
        self._update_controls()

    def stop(self) -> None:
        """Stop the run in a helper thread (joining the engine threads must not block the UI)."""
        system = self.system
        if system is None or (self._stopper is not None and self._stopper.is_alive()):
            return
        self._show_message("Stopping…", theme.AMBER)
        self._stopper = threading.Thread(target=system.stop, args=(2.0,), name="LiveMonitorStop", daemon=True)
        self._stopper.start()
        self.stop_action.setEnabled(False)
        self.pause_action.setEnabled(False)

    def _on_pause_toggled(self, paused: bool) -> None:
        system = self.system
        if system is None:
            return
        if paused and system.state == "running":
            system.pause()
        elif not paused and system.state == "paused":
            system.resume()
        self._update_controls()

    def _system_ended(self) -> bool:
        """The attached run was started and has ended (its threads done)."""
        system = self.system
        return (system is not None and self.is_started() and system.state in FINAL_STATES
                and system.has_ended())

    def _update_controls(self) -> None:
        system = self.system
        started = self.is_started()
        state = system.state if system is not None else None
        ended = self._system_ended()
        self.start_action.setEnabled(system is not None and (not started or (ended and self.new_system is not None)))
        active = system is not None and started and not ended
        stopping = self._stopper is not None and self._stopper.is_alive()
        self.stop_action.setEnabled(active and not stopping)
        self.pause_action.setEnabled(active and not stopping and state in ("running", "paused"))
        paused = state == "paused"
        if self.pause_action.isChecked() != paused:
            self.pause_action.blockSignals(True)
            self.pause_action.setChecked(paused)
            self.pause_action.blockSignals(False)
        self.pause_action.setText("Resume" if paused else "Pause")
        self.pause_action.setIcon(self._play_icon if paused else self._pause_icon)
        if system is None:
            self._show_message("No live run attached", theme.MUTED)
        elif self._summary is not None:
            self._show_summary(self._summary)
        elif not stopping:
            colour = theme.UP if state == "running" else theme.AMBER if state == "paused" else theme.MUTED
            text = STATE_TEXT.get(str(state), str(state)) if started else "Ready: press Start to connect"
            self._show_message(text, colour)

    def _show_message(self, text: str, colour: str) -> None:
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"color: {colour}; padding-left: 4px;")

    def _show_summary(self, summary: dict) -> None:
        state = summary.get("state", "")
        parts = [
            f"Run {state}",
            f"{summary.get('bars_processed', 0):,} bars",
            f"{summary.get('signals', 0):,} signals",
        ]
        if "gaps_found" in summary:
            parts.append(
                f"gaps {summary['gaps_found']} found, {summary['gaps_filled']} filled, "
                f"{summary['gaps_failed']} failed"
            )
        if summary.get("latency_ms_p99") is not None:
            parts.append(f"latency p99 {format_ms(summary['latency_ms_p99'])} ms")
        if summary.get("error"):
            parts.append(f"error: {summary['error']}")
        colour = theme.DOWN if state == "failed" or summary.get("error") else theme.TEXT
        self._show_message(" · ".join(parts), colour)

    # ----- refresh (UI thread) -----------------------------------------------------------------------

    def refresh_now(self) -> None:
        """Drain the queued engine events and poll the run's live status once (UI thread)."""
        system = self.system
        if system is None:
            return
        state_changed = self._drain_events()
        now = time.monotonic()
        status = system.live_status()
        self._status = status
        rates = self._rates.add(now, status["messages"])
        if self._final:
            rates = np.zeros(len(rates))
        bars_total = int(system.bars_processed)
        messages_total = int(np.sum(status["messages"]))
        # bars processed from the live feed: without the catch-up from history (bounded by the
        # messages received, since caught_up_bars is only counted once the catch-up is done)
        live_bars = min(bars_total - system.caught_up_bars, messages_total)
        if self._throughput.add(now, max(0, live_bars), messages_total):
            self.throughput_chart.set_data(*self._throughput.arrays(now))
            self._memory_mb = self._read_memory_mb()
        self._update_header(status, rates)
        self._update_symbols(status, rates)
        self._update_gaps(status)
        self._update_health(status)
        self._update_problems(status)
        self._update_pipeline(status, bars_total)
        if state_changed:
            self._update_controls()
        if self._final:
            self._timer.stop()  # the run ended: its figures no longer change
            self._update_controls()

    def _drain_events(self) -> bool:
        events = self._events
        rows: list[dict] = []
        state_changed = False
        for _ in range(len(events)):
            kind, payload = events.popleft()
            if kind == "decision":
                rows.append(decision_row(payload))
                self._decisions += 1
            elif kind == "error":
                rows.append(error_row(payload))
                self._errors += 1
            elif kind == "session_start":
                self._open_session, self._session_events = dict(payload), True
            elif kind == "session_end":
                self._open_session, self._session_events = None, True
            elif kind == "state":
                state_changed = True
            elif kind == "backtest_end":
                self._summary = dict(payload)
                self._final = True
                state_changed = True
                self.run_finished.emit(self._summary)
        if rows:
            self.signal_log.append_rows(rows)
            self._set_tab_text(0, f"Signals (paper) · {self.signal_log.model.row_count():,}")
        return state_changed

    def _set_tab_text(self, index: int, text: str) -> None:
        if self.tabs.tabText(index) != text:
            self.tabs.setTabText(index, text)

    def _update_header(self, status: dict, rates: np.ndarray) -> None:
        clock_ns = int(status["clock_ns"])
        moment = self._times.moment(clock_ns)
        self.clock_label.setText(moment.strftime("%H:%M:%S"))
        self.zone_label.setText(moment.strftime("%Z"))
        self.provider_label.setText(str(status["provider"]))
        history = status["health_history"]
        detail = history[-1][2] if history else ""
        health = str(status["health"])
        if health == "DISCONNECTED" and not history and not self.is_started():
            health, detail = NOT_STARTED, "Press Start to connect"     # nothing went wrong: nothing began
        self.header_pill.set_state(health, detail)
        self.health_pill.set_state(health, detail)
        where = status.get("key_destinations") or {}
        keys = ("keys go to " + " · ".join(f"{host} ({what})" for what, host in where.items())) if where else \
            "no API keys (local source)"
        if self.keys_label.text() != keys:
            self.keys_label.setText(keys)
        # what the header can still grow by before it is wider than the window (its layout's size is the one
        # of the last layout pass: the texts set below are counted as they are set)
        self._header_room = self.header.width() - self.header.minimumSizeHint().width()
        self._set_fitting(self.session_label, self.session_label.setText, self._session_text(clock_ns).split(" · "),
                          " · ", "\n")
        _set_colour(self.session_label, theme.UP if self._session_open(clock_ns) else theme.MUTED)

        self.kpi_messages.set(format_rate(float(np.sum(rates))))
        latest = self._throughput.latest()
        self.kpi_bars.set("0" if self._final else format_rate(latest[0]) if latest else "—")
        p99 = status["pipeline_latency_p99_ms"]
        self.kpi_latency.set("—" if p99 is None or math.isnan(p99) else f"{format_ms(p99)} ms")
        self.kpi_late.set(f"{int(status['late_bars']):,}")
        gaps = status["gaps"]
        found = len(gaps)
        filled = sum(1 for g in gaps if g["status"] == "filled")
        failed = sum(1 for g in gaps if g["status"] == "failed")
        pending = sum(1 for g in gaps if g["status"] == "pending")
        no_trades = sum(1 for g in gaps if g["status"] == "no_trades")
        gap_parts = [
            f"{found}{_unit('found')}",
            f"<span style='color:{theme.UP if filled else theme.TEXT_BRIGHT}'>{filled}</span>{_unit('filled')}",
            f"<span style='color:{theme.DOWN if failed else theme.TEXT_BRIGHT}'>{failed}</span>{_unit('failed')}",
        ]
        if no_trades:
            gap_parts.append(f"{no_trades}{_unit('no trades')}")
        if pending:
            gap_parts.append(f"<span style='color:{theme.AMBER}'>{pending}</span>{_unit('pending')}")
        self._set_fitting(self.kpi_gaps.value, self.kpi_gaps.set, gap_parts, " ", "<br>")
        model = self.signal_log.model
        signal_parts = [f"{model.signal_count:,}{_unit('signals')}", f"{model.rejected_count:,}{_unit('rejected')}"]
        if model.error_count:
            signal_parts.append(f"<span style='color:{theme.DOWN}'>{model.error_count:,}</span>{_unit('errors')}")
        self._set_fitting(self.kpi_signals.value, self.kpi_signals.set, signal_parts, " ", "<br>")

    def _set_fitting(self, label: QLabel, show: Callable[[str], None], parts: list[str], gap: str,
                     line_break: str) -> None:
        """Show `parts` in the header's `label` on one line, or on two when that line would make the header
        wider than the window (at 1280 x 800 the gap counts and an early close's session line grew the
        window past the screen's edge)."""
        before = label.minimumSizeHint().width()
        show(gap.join(parts))
        if len(parts) > 1 and label.minimumSizeHint().width() - before > self._header_room:
            half = (len(parts) + 1) // 2
            show(gap.join(parts[:half]) + line_break + gap.join(parts[half:]))
        self._header_room -= label.minimumSizeHint().width() - before

    def _session_open(self, clock_ns: int) -> bool:
        """The engine is in a session (between its session_start and session_end events) and the
        clock is before the close."""
        system = self.system
        if system is None or self._final:
            return False
        session = self._open_session
        if session is None and not self._session_events and self.is_started():
            current = system.current_session  # attached to a run already in a session
            if current is not None:
                session = {"open_ns": current.open_ns, "close_ns": current.close_ns}
        return session is not None and session["open_ns"] <= clock_ns < session["close_ns"]

    def _session_text(self, clock_ns: int) -> str:
        """The session line, e.g. "Tue 2024-01-02 · open until 16:00" or "Market closed · opens Wed …"."""
        system = self.system
        if system is None:
            return "No session"
        t = self._times
        current = next((s for s in system.sessions if s.open_ns <= clock_ns < s.close_ns), None)
        if current is not None:
            day = dt.date.fromisoformat(t.text(current.open_ns, "%Y-%m-%d"))
            head = day.strftime("%a %Y-%m-%d")
            # before Start the engine is in no session yet, and a run stopped mid-session has left it:
            # the calendar's (it read "closed" at 12:10, and at 12:26 after Stop, on a day open until 13:00)
            if self._session_open(clock_ns) or not self.is_started() or self._final:
                early = " (early close)" if current.early_close else ""
                return f"{head} · open until {t.text(current.close_ns, '%H:%M')}{early}"
            return f"{head} · closed"
        upcoming = next((s for s in system.sessions if s.open_ns > clock_ns), None)
        if upcoming is not None and not self._final:
            return f"Market closed · opens {t.text(upcoming.open_ns, '%a %Y-%m-%d %H:%M')}"
        last = system.sessions[-1] if system.sessions else None
        if last is not None:
            return f"{t.text(last.open_ns, '%a %Y-%m-%d')} · closed"
        return "No session"

    def _update_symbols(self, status: dict, rates: np.ndarray) -> None:
        system = self.system
        assert system is not None
        symbols = status["symbols"]
        base = system.cfg.streams.interval
        step_ns = _interval_ns(base)
        clock_ns = int(status["clock_ns"])
        qualities = system.quality_by_interval() if system.current_session is not None else None
        quality = qualities[base] if qualities is not None else None
        open_now = self._session_open(clock_ns)
        per_symbol: dict[str, dict[str, int]] = {
            s: {"gaps": 0, "filled": 0, "failed": 0, "pending": 0, "retries": 0} for s in symbols
        }
        for gap in status["gaps"]:
            figures = per_symbol.get(gap["symbol"])
            if figures is None:
                continue
            figures["gaps"] += 1
            figures["retries"] += int(gap.get("retries", 0) or 0)
            state = gap["status"]
            if state == "filled":
                figures["filled"] += 1
            elif state == "failed":
                figures["failed"] += 1
            elif state == "pending":
                figures["pending"] += 1
        no_trade_minutes = status.get("no_trade_minutes") or {}
        minimum = self._risk_minimum()
        speed = max(1.0, float(getattr(system.clock, "speed", 1.0) or 1.0))
        last_bar = status["last_bar_ts"]
        latency = status["feed_latency_ms"]
        messages = status["messages"]
        records = []
        gauge_updates = []
        for i, symbol in enumerate(symbols):
            last = int(last_bar[i])
            pct = float(quality[i]) if quality is not None else float("nan")
            stale = open_now and last >= 0 and clock_ns - (last + step_ns) > 2 * step_ns
            records.append(
                {
                    "symbol": symbol,
                    "last_bar_ns": last,
                    "latency_ms": float(latency[i]),
                    "messages": int(messages[i]),
                    "rate": float(rates[i]),
                    "quality_pct": pct,
                    "risk_minimum": minimum,
                    "stale": stale,
                    "clock_speed": speed,
                    "no_trade_minutes": int(no_trade_minutes.get(symbol, 0)),
                    **per_symbol[symbol],
                }
            )
            if quality is not None:
                gauge_updates.append((symbol, base, pct, per_symbol[symbol]["gaps"]))
        self.symbol_model.set_records(records)
        if gauge_updates and qualities is not None:
            for interval, derived in qualities.items():
                if interval != base:
                    gauge_updates.extend((s, interval, float(derived[i]), 0) for i, s in enumerate(symbols))
            self.quality_panel.update_many(gauge_updates)
        stale_count = sum(1 for r in records if r["stale"])
        # for the QUIET notice: behind the clock, or no bar streamed at all while the session is open
        self._behind = [r["symbol"] for r in records if r["stale"] or (open_now and r["last_bar_ns"] < 0)]
        self.symbol_section.extra.setText(
            f"{int(np.sum(messages)):,} messages" + (f" · {stale_count} behind" if stale_count else "")
        )

    def _update_gaps(self, status: dict) -> None:
        gaps = list(reversed(status["gaps"]))  # newest first
        self.gap_model.set_records(gaps)
        log = status["fill_log"]
        if len(log) != self._fill_seen:
            self._fill_seen = len(log)
            self.fill_log_model.set_records(list(reversed(log)))
        open_gaps = sum(1 for g in gaps if g["status"] == "pending")
        self._set_tab_text(1, f"Gaps · {len(gaps)}" + (f" ({open_gaps} pending)" if open_gaps else ""))
        self._set_tab_text(2, f"Gap-fill log · {len(log)}")

    def _update_health(self, status: dict) -> None:
        history = status["health_history"]
        if len(history) != self._health_seen or (history and self.health_model.rowCount() == 0):
            self._health_seen = len(history)
            self.health_model.set_records(
                [
                    {"time_ns": int(t), "state": str(state), "detail": str(detail)}
                    for t, state, detail in reversed(history)
                ]
            )
        stats = status["provider_stats"]
        parts = [
            f"messages {int(stats.get('messages_received', 0)):,}",
            f"bars {int(stats.get('bars_delivered', 0)):,}",
            f"duplicates {int(stats.get('duplicates_dropped', 0)):,}",
            f"reconnects {int(stats.get('reconnects', 0)):,}",
        ]
        if stats.get("malformed_messages"):
            parts.append(f"malformed {int(stats['malformed_messages']):,}")
        if stats.get("frames_dropped"):
            parts.append(f"frames dropped {int(stats['frames_dropped']):,}")
        if stats.get("server_errors"):
            unknown = int(stats.get("unknown_server_errors", 0) or 0)
            parts.append(f"server errors {int(stats['server_errors']):,}" + (f" ({unknown} unknown)" if unknown else ""))
        if stats.get("rest_requests"):
            limited = int(stats.get("rest_rate_limited", 0) or 0)
            parts.append(f"history requests {int(stats['rest_requests']):,}"
                         + (f" ({limited} rate-limited)" if limited else ""))
        last = stats.get("last_message_ns")
        if last:
            parts.append(f"last message {self._times.text(int(last))}")
        self.provider_stats_label.setText(" · ".join(parts))
        self.connection_section.extra.setText(str(status["provider"]))

    def _update_problems(self, status: dict) -> None:
        errors, bad = self.problems_panel.update_status(status)
        self._set_tab_text(4, "Feed problems" + (f" · {errors + bad:,}" if errors + bad else ""))
        self.notice_bar.set_notices(feed_notices(status, self._behind, self._times.text, self._final))

    def _update_pipeline(self, status: dict, bars_total: int) -> None:
        system = self.system
        assert system is not None
        p99 = status["pipeline_latency_p99_ms"]
        backlog = system.counter("overruns.live_backlog")
        muted = theme.MUTED

        def figure(caption: str, value: str, colour: str = theme.TEXT_BRIGHT) -> str:
            caption, value = caption.replace(" ", "&nbsp;"), value.replace(" ", "&nbsp;")  # each figure whole
            return f"<span style='color:{muted}'>{caption}</span>&nbsp;<b style='color:{colour}'>{value}</b>"

        self.pipeline_label.setText(
            "&nbsp;&nbsp; ".join(
                [
                    figure("latency p99", "—" if math.isnan(p99) else f"{format_ms(p99)} ms"),
                    figure("late bars", f"{int(status['late_bars']):,}"),
                    figure("backlog", f"{backlog:,}", theme.AMBER if backlog else theme.TEXT_BRIGHT),
                    figure("caught up", f"{system.caught_up_bars:,}"),
                ]
            )
        )
        self.pipeline_label.setToolTip(
            "latency p99: bar received → strategies done (wall ms, last 5,000 bars)\n"
            "late bars: bars inserted after their bar time was processed (late arrivals and gap fills)\n"
            "backlog: bar times processed while more data was already waiting\n"
            "caught up: bars of the session before the start, processed from the provider's history"
        )
        latest = self._throughput.latest()
        snapshot: dict[str, Any] = dict(system.metrics_snapshot())
        snapshot.update(
            {
                "bars_processed": bars_total,
                "clock_ns": int(status["clock_ns"]),
                "sessions_done": system.sessions_done,
                "sessions_total": len(system.sessions),
            }
        )
        if latest is not None:
            snapshot["bars_per_s"] = 0.0 if self._final else latest[0]
        if self._memory_mb is not None:
            snapshot["memory_mb"] = self._memory_mb
        self.metrics_panel.update_metrics(snapshot)

    def _read_memory_mb(self) -> float | None:
        try:
            import psutil

            if self._process is None:
                self._process = psutil.Process()
            return self._process.memory_info().rss / 1e6
        except (ImportError, OSError):
            return None

    def _gaps_of(self, symbol: str) -> list[dict]:
        return [g for g in self._status.get("gaps", []) if g["symbol"] == symbol]

    # ----- read-outs (tests, scripted use) -----------------------------------------------------------

    def health_states(self) -> list[str]:
        """The provider states shown in the history, oldest first."""
        return [r["state"] for r in reversed(self.health_model.records())]

    def run_ended(self) -> bool:
        """Whether the end of the attached run was seen (its final figures are shown)."""
        return self._final

    def decision_count(self) -> int:
        """Decisions received from the run's events so far."""
        return self._decisions

    def throughput_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x seconds relative to now, bars/s, messages/s) as the chart shows them."""
        return self.throughput_chart.data()

    # ----- closing -----------------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._rows_fitted:
            self._rows_fitted = True
            QTimer.singleShot(0, self, self.fit_symbol_rows)    # once the splitters have their sizes

    def fit_symbol_rows(self) -> None:
        """Give the symbols table the height of all its rows, at most half of the left column (a long list
        scrolls); the tabs below take the rest (their 2:3 share left 4 of 5 symbols visible at 768 px)."""
        view, splitter = self.symbol_view, self.left_splitter
        rows = max(self.symbol_model.rowCount(), len(self.system.cfg.symbols) if self.system is not None else 0)
        chrome = self.symbol_section.height() - view.viewport().height()     # title bar, header, frame
        need = chrome + rows * view.verticalHeader().defaultSectionSize() + 2
        total = sum(splitter.sizes())
        top = max(self.symbol_section.minimumSizeHint().height(), min(need, total // 2))
        splitter.setSizes([top, total - top])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._timer.stop()
        system = self.system
        if system is not None and self.owns_system:
            if not system.stop(1.0):
                logger.warning("live run threads still alive after stop: %s", system.alive_threads())
        if self._stopper is not None:
            self._stopper.join(2.0)
        self.detach()
        super().closeEvent(event)


def _set_colour(label: QLabel, colour: str) -> None:
    """Give `label` the text colour `colour` (the style sheet is only replaced when it changes)."""
    sheet = f"color: {colour};"
    if label.styleSheet() != sheet:
        label.setStyleSheet(sheet)


def _unit(text: str) -> str:
    """A small muted word after a header figure (rich text; never broken across lines)."""
    text = text.replace(" ", "&nbsp;")
    return f"<span style='color:{theme.MUTED}; font-size:8pt; font-weight:400'>&nbsp;{text}</span>"


def _nan_last(value: float | None) -> float:
    return math.inf if value is None or math.isnan(value) else value


def _interval_ns(interval: str) -> int:
    from workstation.model import parse_interval

    return parse_interval(interval).ns


def open_live_monitor(
    config_path: str | Path, store_path: str | Path | None = None, refresh_ms: int = 250
) -> LiveMonitorWindow:
    """Build the live run of `config_path` and a window that owns it (shown, not started)."""
    system = build_live_system(config_path, store_path)
    window = LiveMonitorWindow(system, refresh_ms=refresh_ms, owns_system=True,
                               new_system=lambda: build_live_system(config_path, store_path))
    window.show()
    return window
