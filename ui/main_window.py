"""MainWindow: the visual backtest workstation (toolbar, charts, docks, status bar) around an EngineBridge.

The window holds no trading logic: it asks the EngineBridge to load, play, pause, step, stop, change
speed and jump, and draws the coalesced UpdateBatch the bridge emits at most once per frame. Charts
are fed from the bridge's session history plus the live SessionData session (only the bars not
shown yet), derived intervals get their forming bar, fills become buy/sell markers, working orders and
the position become lines. Hand trading (the trade bar, hotkeys, the charts' menus and order lines, the
Orders & Positions panel) goes through HandTrading to the bridge; *Strategies* off starts runs without
the config's strategies. Layout, chart choices and the last config persist in QSettings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
from PySide6.QtCore import QDate, QEvent, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDateEdit,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.bridge import EngineBridge, UpdateBatch
from ui.chart_feed import ChartFeed
from ui.collector import GuiThreadCollector
from ui.config_loader import ConfigLoader
from ui.dialogs.config_editor import ConfigEditorDialog
from ui.dialogs.shortcuts_dialog import ShortcutsDialog
from ui.file_dialogs import existing_directory, open_file_name
from ui.hand_trading import HandTrading
from ui.icons import themed_icon
from ui.screen_fit import fit_to_screen
from ui.shortcuts import shortcut
from ui.throughput import ThroughputMeter
from ui.widgets.chart import ChartPanel, DrawingBook, sidecar_path
from ui.widgets.date_popup import mark_trading_days, readable_calendar_popup
from ui.widgets.elided_label import ElidedLabel
from ui.widgets.metrics_panel import MetricsPanel
from ui.widgets.orders_panel import OrdersPanel
from ui.widgets.quality_gauges import QualityGaugePanel
from ui.widgets.signal_log import SignalLogView, rows_until
from ui.widgets.speed_control import SpeedControl
from ui.widgets.status_bar import ElidingStatusBar
from ui.widgets.timeline import Timeline, TimelineSession
from ui.widgets.trade_bar import TradeBar
from ui.windows.results_view import ResultsView, ResultsWindow
from workstation.config import load_config
from workstation.errors import WorkstationError
from workstation.model import parse_interval
from workstation.preflight import PreflightCache
from workstation.report.formatting import run_time_text
from workstation.runs.continuation import Continuation, newest_traded_run, read_continuation
from workstation.runs.folder import CONFIG_FILE
from workstation.system import FAILED, FINISHED, PAUSED, RUNNING, STOPPED

log = logging.getLogger(__name__)

ORGANIZATION = "BacktestWorkstation"
APPLICATION = "workstation"
OPEN_ITEM = "__open__"
MAX_CHARTS = 4
ADD_CHART_TIP = "Show another chart side by side (e.g. the same symbol at 15m)"
NO_ROOM_FOR_CHART = ("No room for another chart at this window width: remove a chart, close a panel on the right, "
                     "or widen the window")
RESULTS_DOCK_CHROME = 60  # the dock's title bar and the tab bar under it
RESULTS_DOCK_SIDES = 24  # the dock's frame and its scroll bar beside the results view
RESULTS_SHARE = 0.5  # of the height shared by the chart area and the bottom docks
CHART_MIN_PX = 300  # a chart (with its toolbar) stays at least this tall when results show
BOTTOM_DOCK_PX = 270  # the bottom docks' height at the default window size
BOTTOM_DOCK_SHARE = 0.28  # ... and at most this share of a smaller window's height
QUALITY_DOCK_SHARE = 0.45  # the Data quality dock takes at most this share of the right column
DOCK_SEPARATOR_PX = 4
METRICS_INTERVAL_MS = 250
BACKGROUND_READ_TRADES = 2_000  # a finished run with this many trades is read outside the UI thread
# At MAX speed the charts, signal log, gauges and status redraw at most 4 times a second (paced speeds:
# every frame), and less often when the UI thread's work (these redraws, their paint, the batches) took
# more than MAX_SPEED_UI_SHARE of the time since the last redraw: each redraw takes the interpreter lock
# from the engine threads, so on a slow or busy machine the views slow down, not the replay (the next
# redraw waits until the share is back under budget, at most MAX_SPEED_VIEW_INTERVAL_MAX_S).
MAX_SPEED_VIEW_INTERVAL_S = 0.25
MAX_SPEED_VIEW_INTERVAL_MAX_S = 1.0
MAX_SPEED_UI_SHARE = 0.12
# a batch that comes this much before the view interval is up redraws too: the bridge sends one per view
# interval at MAX (ui.bridge.MAX_SPEED_FRAME_MS), and a timer firing a few ms early must not skip a redraw
MAX_SPEED_VIEW_SLACK_S = 0.015
DEFAULT_OVERLAYS = ("sma(20)", "bb(20,2)", "rsi(14)")
SECOND_CHART_OVERLAYS = ("ema(20)",)
_ZONE_LABELS = {"America/New_York": "ET", "America/Chicago": "CT", "America/Los_Angeles": "PT"}
_STATE_COLOURS = {
    RUNNING: theme.UP,
    PAUSED: theme.AMBER,
    STOPPED: theme.MUTED,
    FINISHED: theme.ACCENT_LIGHT,
    FAILED: theme.DOWN,
    "none": theme.MUTED,
    "loading": theme.AMBER,
}


def zone_label(tz: str, moment: dt.datetime) -> str:
    """Short zone name for display: ET for New York, else the zone's abbreviation (CET, JST ...)."""
    return _ZONE_LABELS.get(tz) or moment.strftime("%Z")


def pill_style(colour: str) -> str:
    """Style sheet of a rounded badge (mode, state) in `colour`."""
    return (
        f"QLabel {{ color: {colour}; border: 1px solid {colour}; border-radius: 8px; padding: 1px 8px; "
        f"font-weight: 700; letter-spacing: 1px; }}"
    )


NO_RESULTS_YET = "No results yet"   # the results view while a loaded run has not ended
IMPORT_CLOSE_WAIT_S = 300.0     # closing the window waits this long for a bar import in progress


class MainWindow(QMainWindow):
    """The replay / visual backtest window; see the module docstring."""

    error_reported = Signal(str, str)  # title, message (also shown in a message box when modal)
    config_loaded = Signal(str, bool)  # config path, loaded (False: refused, the error was shown)
    results_loaded = Signal(str)  # run folder shown in the Results dock ("" when none)

    def __init__(
        self,
        bridge: EngineBridge | None = None,
        settings: QSettings | None = None,
        configs_dir: str | Path = "session_configs",
        store: str | Path | None = None,
        runs_dir: str | Path = "runs",
        modal_errors: bool = True,
        persist: bool = True,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("Backtest Workstation")
        self.bridge = bridge if bridge is not None else EngineBridge(runs_dir=runs_dir, parent=self)
        app = QApplication.instance()
        collector = app.findChild(GuiThreadCollector) if app is not None else None
        if collector is not None:
            collector.watch(self)       # its young collections wait while this window replays at MAX
        self.settings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)
        self.configs_dir = Path(configs_dir)
        self.store_override = Path(store) if store is not None else None
        self.modal_errors = modal_errors
        self.persist = persist
        self.error_messages: list[tuple[str, str]] = []
        self.chart_panels: list[ChartPanel] = []
        self.feeds: list[ChartFeed] = []
        self._chart_prefs: list[dict] = []
        self._suspend_feeds = False
        self._updating_configs = False
        self._config_paths: list[Path] = []
        self._tz = "America/New_York"
        self._zone = ZoneInfo(self._tz)
        self._throughput = ThroughputMeter()   # bars/s shown, from the bar counts sampled every ~250 ms
        self._bar_s = 60.0                      # seconds of the streamed interval (a bar time, unpaced)
        self._shown_clock_ns: int | None = None # the simulated time the status bar shows
        self._results_window: ResultsWindow | None = None
        self._editor: ConfigEditorDialog | None = None
        self.fetch_dialog = None  # offered when a config names symbols or dates the store lacks
        self.import_dialog = None  # File → Import bars…
        self._shortcuts_dialog: ShortcutsDialog | None = None
        self._preflight_cache = PreflightCache()  # calendars and store catalogues the editor reuses
        self.drawing_book = DrawingBook(parent=self)  # the loaded config's drawings (sidecar file)
        self._chart_height: int | None = None  # the chart area's height before the results made room
        self._symbol_index: dict[str, int] = {}
        self._quality: dict | None = None  # latest quality (%) per interval by symbol index
        self._sweep_windows: list[QMainWindow] = []
        self._process = psutil.Process()
        self._shown_once = False
        self._toolbar_full_width = 0     # the replay toolbar's width with its buttons' names (fit_toolbar)
        # the Data quality dock is fitted to its tiles (the rest of the right column to Metrics) until the
        # trader drags a dock divider (kept in the settings)
        self.right_docks_by_hand = False
        self._right_fit_timer = QTimer(self)
        self._right_fit_timer.setSingleShot(True)
        self._right_fit_timer.setInterval(0)
        self._right_fit_timer.timeout.connect(self.fit_right_docks)
        self._views_at = 0.0
        self.view_clock = time.monotonic  # when the MAX-speed views were last drawn (tests replace it)
        self.view_cpu_clock = time.thread_time  # the UI thread's CPU time (tests replace it)
        self._views_cpu = 0.0
        self._pending_rows: list = []  # signal-log rows (DecisionBatches, error dicts) not shown yet
        self._seek_message = ""        # the last seek's "At the bar …" (a step forward clears it: stale)
        self._taking_up = ""           # what a continuation's seek takes up ("continued RUN (3 hand orders)")
        self._pending_quality: set[int] = set()
        self._pending_session_start = False
        self.trade_bar = TradeBar()
        self.hand_trading = HandTrading(self.bridge, self.trade_bar, self._report_trade, parent=self,
                                        confirm=lambda *question: self.confirm(*question))
        self._active_chart: ChartPanel | None = None
        self.config_loader = ConfigLoader(self._prepare_config, nice=self.bridge.engine_nice, parent=self)
        self._loading: tuple[Path, bool] | None = None  # (config, play when loaded) of the load running
        self._continuing: Continuation | None = None     # the run folder that load takes up (continue_run)
        self.config_loader.progress.connect(self._on_load_progress)
        self.config_loader.loaded.connect(self._on_config_prepared)
        self.config_loader.failed.connect(self._on_config_failed)

        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self._build_shortcuts()

        b = self.bridge
        b.batch_ready.connect(self._on_batch)
        b.state_changed.connect(self._on_state)
        b.run_failed.connect(self._on_run_failed)
        b.finished.connect(self._on_finished)
        b.system_changed.connect(self._on_system_changed)

        self._metrics_timer = QTimer(self)
        self._metrics_timer.setInterval(METRICS_INTERVAL_MS)
        self._metrics_timer.timeout.connect(self.update_metrics)

        self.resize(1600, 1000)
        self.geometry_restored = False   # True once restore_settings gave the window its saved geometry
        self._default_state = self.saveState()
        if self.persist:
            self.restore_settings()
        self.refresh_configs()
        self._update_controls()

    # ================================================================== construction
    def _build_central(self) -> None:
        self.chart_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.chart_splitter.setObjectName("ChartSplitter")
        self.chart_splitter.setChildrenCollapsible(False)
        self.chart_splitter.setHandleWidth(3)
        self.timeline = Timeline()
        self.timeline.seek_requested.connect(self.seek_to)
        central = QWidget()
        central.setObjectName("ChartArea")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.chart_splitter, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.add_chart()

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        return dock

    def _build_docks(self) -> None:
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._make_zone_panels(self._tz)
        self.results_view = ResultsView()
        self.results_view.setObjectName("ResultsView")

        self.quality_dock = self._dock("Data quality", "QualityDock", self.gauges)
        self.metrics_dock = self._dock("Metrics", "MetricsDock", self.metrics_panel)
        self.signal_dock = self._dock("Signal log", "SignalLogDock", self.signal_log)
        results_scroll = QScrollArea()
        results_scroll.setObjectName("ResultsScroll")
        results_scroll.setWidgetResizable(True)
        results_scroll.setFrameShape(QFrame.Shape.NoFrame)
        results_scroll.setWidget(self.results_view)
        self.results_dock = self._dock("Results", "ResultsDock", results_scroll)
        self.orders_panel = OrdersPanel(exchange_tz=self._tz)
        self.orders_panel.on_symbol_activated = self._on_gauge_clicked
        self.orders_panel.prices.floor = self.hand_trading.price_decimals   # as the symbol's chart shows them
        self.orders_panel.cancel_requested.connect(self.hand_trading.cancel)
        self.orders_panel.flatten_requested.connect(self.hand_trading.flatten)
        self.orders_dock = self._dock("Orders && Positions", "OrdersDock", self.orders_panel)
        self.docks = [self.quality_dock, self.metrics_dock, self.signal_dock, self.orders_dock, self.results_dock]

        area = Qt.DockWidgetArea
        self.addDockWidget(area.RightDockWidgetArea, self.quality_dock)
        self.addDockWidget(area.RightDockWidgetArea, self.metrics_dock)
        self.splitDockWidget(self.quality_dock, self.metrics_dock, Qt.Orientation.Vertical)
        self.addDockWidget(area.BottomDockWidgetArea, self.signal_dock)
        self.addDockWidget(area.BottomDockWidgetArea, self.orders_dock)
        self.addDockWidget(area.BottomDockWidgetArea, self.results_dock)
        self.tabifyDockWidget(self.signal_dock, self.orders_dock)
        self.tabifyDockWidget(self.signal_dock, self.results_dock)
        self.signal_dock.raise_()
        self.resizeDocks([self.quality_dock], [380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.quality_dock, self.metrics_dock], [300, 460], Qt.Orientation.Vertical)
        self.resizeDocks([self.signal_dock], [BOTTOM_DOCK_PX], Qt.Orientation.Vertical)
        self.installEventFilter(self)        # a press on a dock divider (the window's own area)
        self.quality_dock.installEventFilter(self)   # its height changed: fit the right column again
        self.chart_splitter.installEventFilter(self)  # the chart area's width: room for another chart

        self.results_view.trade_activated.connect(self.show_trade)
        self.results_view.run_folder_read.connect(self._on_results_read)
        self.results_view.report_exported.connect(
            lambda path: self.statusBar().showMessage(f"Report written to {path}", 10000))
        self._results_read_run = -1  # the run whose folder is being read in the background
        self.orders_dock.visibilityChanged.connect(lambda visible: visible and self.orders_panel.refresh())

    def _make_zone_panels(self, tz: str) -> None:
        """The panels that show exchange times (gauges, metrics, signal log), for zone `tz`."""
        self.gauges = QualityGaugePanel(exchange_tz=tz)
        self.gauges.setObjectName("QualityGauges")
        self.gauges.set_gap_provider(self.bridge.gap_list)
        self.gauges.gauge_clicked.connect(self._on_gauge_clicked)
        self.metrics_panel = MetricsPanel(exchange_tz=tz)
        self.metrics_panel.setObjectName("MetricsPanel")
        self.signal_log = SignalLogView(exchange_tz=tz)
        self.signal_log.setObjectName("SignalLog")

    def _set_exchange_zone(self, tz: str) -> None:
        """Rebuild the zone-bound widgets when a config of another exchange zone is loaded."""
        if tz == self._tz:
            return
        self._tz, self._zone = tz, ZoneInfo(tz)
        old = (self.gauges, self.metrics_panel, self.signal_log)
        self._make_zone_panels(tz)
        self.quality_dock.setWidget(self.gauges)
        self.metrics_dock.setWidget(self.metrics_panel)
        self.signal_dock.setWidget(self.signal_log)
        for widget in old:
            widget.deleteLater()
        count = len(self.chart_panels)
        while self.chart_panels:
            self.chart_panels.pop().deleteLater()
            self.feeds.pop()
        for _ in range(count):
            self.add_chart()

    def _build_actions(self) -> None:
        style = self.style()
        icon = QStyle.StandardPixmap

        def action(text: str, tip: str, slot, pixmap=None, shortcut: str | None = None) -> QAction:
            # a menu shows the key after the tab (bound by _build_shortcuts); a toolbar button the name only
            act = QAction(f"{text}\t{shortcut}" if shortcut else text, self)
            if shortcut:
                act.setIconText(text)   # fixed: an action whose text changes (Strategies on/off) has no key
            # the name first: a narrow window shows the replay buttons' icons only (fit_toolbar)
            named = f"{text.rstrip('…')}: {tip[0].lower()}{tip[1:]}" if pixmap is not None else tip
            act.setToolTip(named + (f" ({shortcut})" if shortcut else ""))
            if isinstance(pixmap, str):
                act.setIcon(themed_icon(pixmap))      # drawn in the theme's colours (ui/icons.py)
            elif pixmap is not None:
                act.setIcon(style.standardIcon(pixmap))
            act.triggered.connect(slot)
            return act

        self.play_action = action("Play", "Start or resume the replay", self.play, "play", "Space")
        self.pause_action = action("Pause", "Pause between two bars", self.pause, "pause", "Space")
        self.step_action = action(
            "Step", "Advance exactly one bar, then pause", self.step, "step", "Right"
        )
        self.step_back_action = action(
            "Back", "Step back one bar time: orders, positions and indicators as they were then",
            self.step_back, "back", "Left"
        )
        self.stop_action = action(
            "Stop", "Stop the run (results so far are kept)", self.stop, "stop"
        )
        self.strategies_action = action(
            "Strategies on",
            "Run the config's strategies; off: the run starts without them and you trade by hand alone "
            "(a run already playing keeps its strategies until the next run)",
            self._on_strategies_toggled,
        )
        self.strategies_action.setCheckable(True)
        self.strategies_action.setChecked(True)
        self.edit_action = action(
            "Edit config…",
            "Edit the selected session config",
            self.edit_config,
            "edit",
        )
        self.new_config_action = action(
            "New config…", "Write a new session config in the editor, starting from the example; Save asks "
            "for its file name", lambda: self.new_config())
        self.new_config_action.setShortcuts([QKeySequence(k) for k in shortcut("new_config").keys])
        self.open_config_action = action(
            "Open config…", "Open a session config file", self.open_config_dialog, icon.SP_DialogOpenButton
        )
        self.open_config_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_run_action = action(
            "Open run folder…", "Show the results of a finished run folder", self.open_run_folder
        )
        self.continue_run_action = action(
            "Continue a run…", "Take up a replay you traded in again from its run folder: its config, your "
            "orders applied again at their times, paused where it stopped", self.continue_run_dialog)
        self.import_action = action(
            "Import bars…", "Import bar files (MetaTrader, NinjaTrader, TradingView exports, CSV, Parquet) into "
            "the bar store", lambda: self.open_import_dialog())
        self.import_action.setShortcuts([QKeySequence(k) for k in shortcut("import_bars").keys])
        self.add_chart_action = action("Add chart", ADD_CHART_TIP, self.add_chart_clicked)
        self.add_chart_action.setShortcuts([QKeySequence(k) for k in shortcut("add_chart").keys])
        self.remove_chart_action = action("Remove chart", "Remove the rightmost chart", self.remove_chart)
        self.reset_layout_action = action(
            "Reset layout", "Put every panel back where it started", self.reset_layout
        )
        self.sweep_action = action(
            "Sweep…", "Set up and run a parameter sweep (or walk-forward) of this config on Ray",
            lambda: self.open_sweep_window(),
        )
        self.quit_action = action("Quit", "Close the workstation", self.close)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.shortcuts_action = action("Keyboard shortcuts", "Every shortcut of the window and the charts",
                                       self.show_shortcuts)
        self.shortcuts_action.setShortcuts([QKeySequence(k) for k in shortcut("shortcuts").keys])
        self.shortcuts_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(self.shortcuts_action)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Replay", self)
        tb.setObjectName("ReplayToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(16, 16))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

        caption = QLabel("Config")
        caption.setStyleSheet(f"color: {theme.MUTED}; padding-left: 4px;")
        tb.addWidget(caption)
        self.config_combo = QComboBox()
        self.config_combo.setObjectName("ConfigPicker")
        self.config_combo.setMinimumContentsLength(18)
        self.config_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.config_combo.setToolTip("Session config (session_configs/*.json)")
        self.config_combo.currentIndexChanged.connect(self._on_config_picked)
        tb.addWidget(self.config_combo)
        tb.addAction(self.edit_action)
        tb.addSeparator()
        for act in (self.play_action, self.pause_action, self.step_back_action, self.step_action, self.stop_action):
            tb.addAction(act)
        tb.addSeparator()

        jump_caption = QLabel("Jump to")
        jump_caption.setStyleSheet(f"color: {theme.MUTED}; padding-left: 4px;")
        tb.addWidget(jump_caption)
        self.jump_date = QDateEdit()
        self.jump_date.setObjectName("JumpDate")
        readable_calendar_popup(self.jump_date)
        self.jump_date.setDisplayFormat("yyyy-MM-dd")
        self.jump_date.setToolTip("Session date to jump to (within the config's date range)")
        tb.addWidget(self.jump_date)
        self.jump_button = QToolButton()
        self.jump_button.setText("Go")
        self.jump_button.setToolTip("Start again at this date (indicators warm up again)")
        self.jump_button.clicked.connect(self.jump_clicked)
        tb.addWidget(self.jump_button)
        tb.addSeparator()

        self.speed_control = SpeedControl(0.0)
        self.speed_control.setObjectName("SpeedControl")
        self.speed_control.setMinimumWidth(280)
        self.speed_control.setMaximumWidth(420)
        self.speed_control.speed_changed.connect(self.set_speed)
        tb.addWidget(self.speed_control)

        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.mode_badge = QLabel("BACKTEST")
        self.mode_badge.setObjectName("ModeBadge")
        self.mode_badge.setToolTip("Backtest: simulated clock over stored bars")
        self.mode_badge.setStyleSheet(pill_style(theme.ACCENT_LIGHT))
        tb.addWidget(self.mode_badge)
        pad = QWidget()
        pad.setFixedWidth(6)
        tb.addWidget(pad)

        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        trade = QToolBar("Trade", self)
        trade.setObjectName("TradeToolbar")
        trade.setMovable(False)
        trade.addAction(self.strategies_action)
        toggle = trade.widgetForAction(self.strategies_action)
        toggle.setObjectName("StrategiesToggle")
        toggle.setStyleSheet(
            f"QToolButton#StrategiesToggle {{ padding: 2px 8px; border-radius: 3px; border: 1px solid {theme.BORDER}; }}"
            f" QToolButton#StrategiesToggle:checked {{ color: {theme.UP}; border-color: {theme.UP}; }}"
            f" QToolButton#StrategiesToggle:!checked {{ color: #131722; background: {theme.AMBER};"
            f" border-color: {theme.AMBER}; font-weight: 600; }}"
            # a config of no strategy: nothing to turn on or off (_sync_strategies_badge)
            f" QToolButton#StrategiesToggle:disabled {{ color: {theme.MUTED}; background: transparent;"
            f" border-color: {theme.BORDER}; font-weight: normal; }}")
        self.strategies_toggle = toggle
        trade.addSeparator()
        trade.addWidget(self.trade_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, trade)
        self.trade_toolbar = trade
        self.trade_bar.editing_done.connect(self._focus_active_chart)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.new_config_action)
        file_menu.addAction(self.open_config_action)
        file_menu.addAction(self.edit_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_run_action)
        file_menu.addAction(self.continue_run_action)
        file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = bar.addMenu("&Run")
        for act in (self.play_action, self.pause_action, self.step_back_action, self.step_action, self.stop_action):
            run_menu.addAction(act)
        run_menu.addSeparator()
        run_menu.addAction(self.strategies_action)
        run_menu.addSeparator()
        run_menu.addAction(self.sweep_action)
        view_menu = bar.addMenu("&View")
        view_menu.aboutToShow.connect(self._update_chart_actions)     # room for another chart, as laid out now
        view_menu.addAction(self.add_chart_action)
        view_menu.addAction(self.remove_chart_action)
        view_menu.addSeparator()
        view_menu.addAction(self.trade_toolbar.toggleViewAction())
        for dock in self.docks:
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(self.reset_layout_action)
        help_menu = bar.addMenu("Help")  # no Alt mnemonic: Alt+H draws a horizontal line on a chart
        help_menu.addAction(self.shortcuts_action)

    def _build_status_bar(self) -> None:
        sb = ElidingStatusBar()         # a message too long for the room left of the read-outs ends in "…"
        self.setStatusBar(sb)
        mono = theme.mono_font(theme.UI_POINT_SIZE)

        def label(name: str, tip: str, font=None) -> QLabel:
            lab = QLabel()
            lab.setObjectName(name)
            lab.setToolTip(tip)
            if font is not None:
                lab.setFont(font)
            lab.setStyleSheet(f"color: {theme.TEXT}; padding: 0 8px;")
            sb.addPermanentWidget(lab)
            return lab

        self.clock_label = label("StatusClock", "Simulated clock (exchange time)", mono)
        self.session_label = label("StatusSession", "Session date")
        self.rate_label = label("StatusRate", "Bars processed per second", mono)
        self.overrun_label = label("StatusOverruns", "Stages that fell behind the clock (overruns)")
        self.state_label = QLabel()
        self.state_label.setObjectName("StatusState")
        self.state_label.setStyleSheet(
            pill_style(theme.MUTED).replace("QLabel", "QLabel#StatusState")
            + " QLabel#StatusState { margin: 2px 6px; }"
            + "".join(
                f' QLabel#StatusState[state="{state}"] {{ color: {colour}; border-color: {colour}; }}'
                for state, colour in _STATE_COLOURS.items()
            )
        )
        sb.addPermanentWidget(self.state_label)
        self.load_progress = QProgressBar()
        self.load_progress.setObjectName("LoadProgress")
        self.load_progress.setRange(0, 0)  # busy: the steps of a load have no known duration
        self.load_progress.setTextVisible(False)
        self.load_progress.setFixedSize(110, 12)
        # elided: a long config file name must not widen the window past the screen while it loads
        self.load_label = ElidedLabel()
        self.load_label.setObjectName("LoadStep")
        self.load_label.setStyleSheet(f"color: {theme.TEXT}; padding: 0 6px;")
        sb.addWidget(self.load_progress)
        sb.addWidget(self.load_label, 1)
        self.load_progress.hide()
        self.load_label.hide()
        self._set_state_label("none")
        sb.showMessage("Pick a session config to start.")

    def _build_shortcuts(self) -> None:
        def bind(shortcut_id: str, slot) -> None:
            for keys in shortcut(shortcut_id).keys:
                sc = QShortcut(QKeySequence(keys), self)
                sc.setContext(Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(slot)

        bind("play_pause", self.toggle_play)
        bind("step", self.step)
        bind("step_back", self.step_back)
        bind("faster", self.speed_control.faster)
        bind("slower", self.speed_control.slower)
        bind("buy_market", lambda: self._hand(lambda: self.hand_trading.market(+1)))
        bind("sell_market", lambda: self._hand(lambda: self.hand_trading.market(-1)))
        bind("flatten", lambda: self._hand(lambda: self.hand_trading.flatten(self.trade_bar.symbol())))
        bind("cancel_all_orders", lambda: self._hand(lambda: self.hand_trading.cancel_all(self.trade_bar.symbol())))
        QApplication.instance().focusChanged.connect(self._on_focus_changed)

    # ================================================================== hand trading
    def _hand(self, fn) -> None:
        if self.bridge.loaded:
            fn()

    def _report_trade(self, text: str, ok: bool) -> None:
        self.statusBar().showMessage(("" if ok else "Hand order refused: ") + text, 8000)

    def _on_strategies_toggled(self, on: bool) -> None:
        rebuilt = self.bridge.set_strategies_enabled(on)
        self._sync_strategies_badge()
        if self.bridge.loaded and not rebuilt and self.bridge.started:
            self.statusBar().showMessage(
                f"Strategies {'on' if on else 'off'} from the next run (Stop, then Play); this run keeps "
                f"{'its strategies' if self.bridge.strategies_running else 'trading by hand only'}", 8000)

    def _sync_strategies_badge(self) -> None:
        """The toggle says what the next run does; its tooltip says what the current run does. A config
        that runs no strategy has nothing to turn on or off: the toggle says so, disabled."""
        config = self.bridge.run_config
        if config is not None and not any(st.enabled for st in config.strategies):
            self.strategies_action.setEnabled(False)
            self.strategies_action.setText("No strategies")
            self.strategies_action.setToolTip(
                "This config runs no strategy (none, or all disabled): you trade by hand alone. Add one in the "
                "config editor (Edit config…, Strategies)")
            return
        self.strategies_action.setEnabled(True)
        on = self.strategies_action.isChecked()
        self.strategies_action.setText("Strategies on" if on else "Strategies off")
        running = self.bridge.loaded and self.bridge.started and self.bridge.strategies_running != on
        self.strategies_action.setToolTip(
            ("Runs start with the config's strategies; click to practise by hand without them"
             if on else "Runs start without the config's strategies: only your hand orders trade; click to "
                        "run the strategies again")
            + (f" (this run was started with them {'on' if not on else 'off'}: it keeps that until it ends)"
               if running else ""))

    def set_active_chart(self, panel: ChartPanel) -> None:
        """The chart the trader works on: the trade bar trades its symbol."""
        if panel not in self.chart_panels:
            return
        self._active_chart = panel
        symbol = panel.current_symbol()
        if symbol and symbol != self.trade_bar.symbol():
            self.trade_bar.set_symbol(symbol)

    def _on_focus_changed(self, _old, new) -> None:
        widget = new
        while widget is not None:
            if isinstance(widget, ChartPanel):
                self.set_active_chart(widget)
                return
            widget = widget.parentWidget()

    def _focus_active_chart(self) -> None:
        panel = self._active_chart if self._active_chart in self.chart_panels else (
            self.chart_panels[0] if self.chart_panels else None)
        if panel is not None:
            panel.chart.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_shortcuts(self) -> ShortcutsDialog:
        """The list of every shortcut (F1 or ?), one window at a time."""
        if self._shortcuts_dialog is None:
            self._shortcuts_dialog = ShortcutsDialog(self)
        self._shortcuts_dialog.show()
        self._shortcuts_dialog.raise_()
        return self._shortcuts_dialog

    # ================================================================== charts
    def add_chart(self, symbol: str | None = None, interval: str | None = None) -> ChartPanel | None:
        """Add a chart panel at the right of the others (at most MAX_CHARTS)."""
        if len(self.chart_panels) >= MAX_CHARTS:
            return None
        panel = ChartPanel(tz=self._tz)
        panel.setObjectName(f"Chart{len(self.chart_panels)}")
        panel.chart.set_drawing_book(self.drawing_book)
        feed = ChartFeed(panel, self.bridge)
        self.chart_panels.append(panel)
        self.feeds.append(feed)
        self.chart_splitter.addWidget(panel)
        panel.symbol_changed.connect(lambda _s, f=feed: self._reload_feed(f))
        panel.symbol_changed.connect(lambda _s, p=panel: self._active_chart is p and self.set_active_chart(p))
        panel.interval_changed.connect(lambda _i, f=feed: self._reload_feed(f))
        self.hand_trading.attach(panel)
        if self._active_chart not in self.chart_panels:
            self._active_chart = panel
        cfg = self.bridge.run_config
        if cfg is not None:
            self._suspend_feeds = True
            try:
                panel.set_symbols(list(cfg.symbols))
                panel.set_intervals(self.bridge.intervals())
                if symbol and symbol in cfg.symbols:
                    panel.set_current_symbol(symbol)
                if interval and interval in self.bridge.intervals():
                    panel.set_current_interval(interval)
            finally:
                self._suspend_feeds = False
            feed.reload()
        sizes = [1] * len(self.chart_panels)
        self.chart_splitter.setSizes([s * 1000 for s in sizes])
        self._update_chart_actions()
        return panel

    def add_chart_clicked(self) -> None:
        """Second chart default: the first chart's symbol at the largest derived interval. Refused
        (with a status message) when another chart would not fit on the screen."""
        if len(self.chart_panels) < MAX_CHARTS and not self._room_for_another_chart():
            self.statusBar().showMessage(NO_ROOM_FOR_CHART, 6000)
            self._update_chart_actions()
            return
        first = self.chart_panels[0] if self.chart_panels else None
        intervals = self.bridge.intervals()
        interval = intervals[-1] if intervals else None
        panel = self.add_chart(first.current_symbol() if first else None, interval)
        if panel is not None and not panel.checked_overlays():
            panel.set_checked_overlays(list(SECOND_CHART_OVERLAYS))

    def remove_chart(self) -> None:
        if len(self.chart_panels) <= 1:
            return
        panel = self.chart_panels.pop()
        self.feeds.pop()
        panel.setParent(None)
        panel.deleteLater()
        self._update_chart_actions()

    def _update_chart_actions(self) -> None:
        room = self._room_for_another_chart()
        self.add_chart_action.setEnabled(len(self.chart_panels) < MAX_CHARTS and room)
        self.add_chart_action.setToolTip(ADD_CHART_TIP if room else f"{ADD_CHART_TIP}. {NO_ROOM_FOR_CHART}")
        self.remove_chart_action.setEnabled(len(self.chart_panels) > 1)

    def _room_for_another_chart(self) -> bool:
        """Every chart, one more included, fits at its narrowest (ChartPanel's compact toolbar) in the
        chart area plus what the right-hand docks can give up: else the window would widen past the
        screen's edge (2 charts at 1366 x 768 made it 1,495 px wide)."""
        if not self.chart_panels:
            return True
        handle = self.chart_splitter.handleWidth()
        need = (len(self.chart_panels) + 1) * (self.chart_panels[0].minimumWidth() + handle)
        right = self._docked_right(getattr(self, "docks", ()))       # the first chart comes before the docks
        spare = max(0, min(d.width() for d in right) - max(d.minimumSizeHint().width() for d in right)) if right else 0
        return need <= self.chart_splitter.width() + spare

    def _docked_right(self, docks: Iterable[QDockWidget]) -> list[QDockWidget]:
        """Those of `docks` shown in the right-hand column (not floating, not hidden)."""
        return [d for d in docks if d.isVisible() and not d.isFloating()
                and self.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]

    def _reload_feed(self, feed: ChartFeed) -> None:
        if not self._suspend_feeds:
            feed.reload()

    def show_trade(self, symbol: str, entry_ns: int, exit_ns: int) -> None:
        """Show a trade on the first chart: its symbol, centred on the entry bar."""
        if not self.chart_panels:
            return
        panel = self.chart_panels[0]
        if symbol != panel.current_symbol():
            try:
                panel.set_current_symbol(symbol)
            except ValueError:
                self.statusBar().showMessage(f"{symbol} is not in the loaded config", 5000)
                return
        chart = panel.chart
        first = int(chart.bar_arrays()[0][0]) if chart.bar_count else None
        if first is None or entry_ns < first:
            older = self.bridge.run_folder_bars(symbol, panel.current_interval())
            if older is not None and older.timestamp.shape[0]:
                feed = self.feeds[0]
                chart.set_bars(*older)
                chart.clear_markers()
                for fill in self.bridge.fills_of(symbol):
                    chart.add_marker(fill.time, fill.price, "buy" if fill.quantity > 0 else "sell")
                feed.sync_forming(symbol, panel.current_interval())
        chart.show_bar_at(int(entry_ns))
        when = dt.datetime.fromtimestamp(entry_ns / 1e9, self._zone)
        self.statusBar().showMessage(
            f"Trade {symbol} entered {when:%Y-%m-%d %H:%M} {zone_label(self._tz, when)}", 8000
        )

    # ================================================================== configs
    def refresh_configs(self) -> None:
        """List session_configs/*.json (plus configs opened from elsewhere) and "Open…"."""
        current = self.bridge.config_path
        paths = sorted(self.configs_dir.glob("*.json")) if self.configs_dir.is_dir() else []
        known = {p.absolute() for p in paths}  # absolute(): no file system call per config
        for extra in self._config_paths:
            if extra.absolute() not in known:
                paths.append(extra)
                known.add(extra.absolute())
        self._updating_configs = True
        try:
            combo = self.config_combo
            combo.clear()
            for p in paths:
                # a run folder's config (File → Continue a run…) is named by its folder, not "config"
                combo.addItem(p.parent.name if p.name == CONFIG_FILE else p.stem, str(p))
                combo.setItemData(combo.count() - 1, str(p), Qt.ItemDataRole.ToolTipRole)
            combo.insertSeparator(combo.count())
            combo.addItem("Open…", OPEN_ITEM)
            index = -1
            if current is not None:
                items = [(i, combo.itemData(i)) for i in range(combo.count())]
                items = [(i, Path(data)) for i, data in items if data not in (None, OPEN_ITEM)]
                # the same path spelled alike first; resolving links only when none is
                index = next((i for i, p in items if p.absolute() == current.absolute()), -1)
                if index < 0:
                    target = current.resolve()
                    index = next((i for i, p in items if p.resolve() == target), -1)
            combo.setCurrentIndex(index)
        finally:
            self._updating_configs = False

    def _on_config_picked(self, index: int) -> None:
        if self._updating_configs or index < 0:
            return
        data = self.config_combo.itemData(index)
        if data == OPEN_ITEM:
            self.open_config_dialog()
            self.refresh_configs()
            return
        if data and (
            self.bridge.config_path is None or Path(data).resolve() != self.bridge.config_path.resolve()
        ):
            self.open_config(data)

    def open_config_dialog(self) -> None:
        start = str(self.configs_dir if self.configs_dir.is_dir() else Path.cwd())
        path = open_file_name(self, "Open session config", start, "Session configs (*.json)")
        if path:
            self.open_config(path)

    def open_config(self, path: str | Path, play: bool = False, continuing: Continuation | None = None) -> None:
        """Load a config without blocking the window: the slow part (store, calendar, symbols,
        strategies, chart history) runs in a worker thread while the status bar shows its progress;
        the run is installed when it is built (`config_loaded` tells), then played when `play`. A
        second pick while a load runs replaces it. The run loaded before keeps its state until then.
        `continuing`: the config is a run folder's, whose run this load takes up (continue_run)."""
        path = Path(path)
        self._loading = (path, play)
        self._continuing = continuing
        self.config_loader.load(path)
        self.statusBar().clearMessage()  # a message would cover the progress
        self.load_label.setText(f"Loading {path.name}…")
        self.load_progress.show()
        self.load_label.show()
        self._update_controls()

    @property
    def loading(self) -> bool:
        """True while a config loads in the background (open_config)."""
        return self._loading is not None

    def _prepare_config(self, path: Path, progress) -> object:
        """Worker thread: a live config is only read (the live monitor builds its own run); a backtest
        config gets its run built by the bridge (no Qt call, no change to the bridge)."""
        progress(f"Reading {path.name}")
        if load_config(path).mode == "live":
            return ("live", path)
        continuing = self._continuing        # set before this load started (open_config)
        store = self.store_override or (continuing.store if continuing is not None else None)
        return self.bridge.prepare_run(path, store=store, progress=progress)

    def _on_load_progress(self, load_id: int, step: str) -> None:
        if self._loading is not None and load_id == self.config_loader.current_id:
            self.load_label.setText(f"{step}…")

    def _end_loading(self) -> tuple[Path, bool]:
        path, play = self._loading
        self._loading = None
        self.load_progress.hide()
        self.load_label.hide()
        self.load_label.clear()
        return path, play

    def _on_config_prepared(self, _load_id: int, prepared) -> None:
        path, play = self._end_loading()
        if isinstance(prepared, tuple) and prepared[0] == "live":
            ok = self.open_live_monitor(path)
            self._update_controls()
            self.config_loaded.emit(str(path), ok)
            return
        continuing, self._continuing = self._continuing, None
        what = continuing.run_dir.name if continuing is not None else path.name
        if not self.may_replace_run(f"{'Continue' if continuing else 'Open'} {what}?",
                                    "Continue" if continuing else "Open"):
            self.refresh_configs()          # the picker shows the run kept
            self._update_controls()
            self.statusBar().showMessage(f"Kept the run in progress; {what} was not "
                                         f"{'taken up' if continuing else 'opened'}", 6000)
            self.config_loaded.emit(str(path), False)
            return
        self.bridge.install_prepared(prepared)
        self._update_controls()
        # the rest in the next turn of the event loop: no single long stall (the charts drawing
        # the new run and the config list come in separate events)
        run_id = self.bridge.run_id
        QTimer.singleShot(0, self, lambda: self._after_prepared_install(path, play, run_id, continuing))

    def _after_prepared_install(self, path: Path, play: bool, run_id: int,
                                continuing: Continuation | None = None) -> None:
        if run_id != self.bridge.run_id:  # another load or a jump came first
            self.config_loaded.emit(str(path), True)
            return
        self._config_installed(path)
        if continuing is not None:
            self._take_up(continuing)
        self.config_loaded.emit(str(path), True)
        if play and self.bridge.loaded:
            self.play()

    def continue_run_dialog(self) -> None:
        runs = self.bridge.runs_dir
        newest = newest_traded_run(runs)
        path = existing_directory(self, "Continue a run: its folder", str(runs if runs.is_dir() else Path.cwd()),
                                  None if newest is None else str(newest))
        if path:
            self.continue_run(path)

    def continue_run(self, run_dir: str | Path) -> bool:
        """Take up a replay again from its run folder (workstation.runs.continuation): its config loaded
        (in the background, as a config is), its hand orders applied again at their times, and the run
        taken at full speed to where the folder shows it stopped, paused there. A folder that is not a
        run's, or whose files are bad, is said and nothing changes; replacing a run traded by hand asks
        first. False when the folder cannot be taken up."""
        try:
            continuing = read_continuation(run_dir)
        except WorkstationError as exc:
            self.show_error("Cannot continue the run", str(exc))
            return False
        if any(st.enabled for st in continuing.config.strategies) and not self.bridge.strategies_enabled:
            self.strategies_action.trigger()     # on: the run had its strategies, so does its continuation
        self.open_config(continuing.config_path, continuing=continuing)
        return True

    def _take_up(self, continuing: Continuation) -> None:
        try:
            self.bridge.take_up(continuing.hand_orders, continuing.resume_ns)
        except WorkstationError as exc:
            self.show_error("Cannot continue the run", str(exc))
            return
        self._update_controls()
        self.statusBar().showMessage(f"{continuing.describe()}…", 8000)
        if continuing.resume_ns is not None:     # the seek's end says where it is
            self._taking_up = f"continued {continuing.what}"

    def _on_config_failed(self, _load_id: int, message: str) -> None:
        path, _play = self._end_loading()
        self._continuing = None
        self.show_error("Cannot load the session config", message, Path(path))
        self.refresh_configs()
        self._update_controls()
        self.config_loaded.emit(str(path), False)

    def load_config(self, path: str | Path) -> bool:
        """Load a config and build its run (stopped), blocking the UI thread until it is built (scripts
        and tests; the window's own pickers use `open_config`). Errors are shown, never raised. True
        on success."""
        path = Path(path)
        if self._loading is not None:
            self.config_loader.cancel()
            self._end_loading()
        try:
            if load_config(path).mode == "live":
                return self.open_live_monitor(path)
            self.bridge.load_config(path, store=self.store_override)
        except WorkstationError as exc:
            self.show_error("Cannot load the session config", str(exc), path)
            self.refresh_configs()
            self._offer_fetch(path)
            return False
        except OSError as exc:
            self.show_error("Cannot load the session config", f"{path}: {exc.strerror or exc}")
            self.refresh_configs()
            return False
        self._config_installed(path)
        return True

    def _config_installed(self, path: Path) -> None:
        """After a config's run was installed: remember the config, take its speed, say so."""
        if path.parent.resolve() != self.configs_dir.resolve() and path not in self._config_paths:
            self._config_paths.append(path)
        if self.persist:
            self.settings.setValue("config/last", str(path.resolve()))
        cfg = self.bridge.config
        self.speed_control.set_speed(cfg.backtest.speed_multiplier)
        self.refresh_configs()
        if self.import_dialog is not None and self.import_dialog.isVisible():
            self.import_dialog.follow_store(self.store_root())   # the window's store, unless chosen there
        self.statusBar().showMessage(f"Loaded {path.name}: {cfg.name}", 6000)

    def _offer_fetch(self, path: Path) -> None:
        """The store lacks the config's symbols or dates: offer to fetch them (the config loads after)."""
        from ui.dialogs.fetch_dialog import offer_fetch_for_config

        self.fetch_dialog = offer_fetch_for_config(self, path, self.store_override,
                                                   lambda summary: summary.get("ok") and self.load_config(path))

    def open_live_monitor(self, path: str | Path) -> bool:
        """A live config opens the live monitor (paper only), which owns its run."""
        from ui.windows.live_monitor import LiveMonitorWindow, build_live_system

        try:
            system = build_live_system(path, self.store_override)
        except WorkstationError as exc:
            self.show_error("Cannot open the live monitor", str(exc))
            return False
        store = self.store_override
        window = LiveMonitorWindow(system, owns_system=True, new_system=lambda: build_live_system(path, store))
        fit_to_screen(window, 1400, 900)
        window.show()
        self._live_windows = [w for w in getattr(self, "_live_windows", []) if w.isVisible()] + [window]
        self.statusBar().showMessage(f"Opened the live monitor for {Path(path).name}", 6000)
        return True

    def open_sweep_window(self, sweep_dir: str | Path | None = None):
        """Run → Sweep…: the sweep window on the selected config (or a sweep folder); a cell
        double-clicked there opens here for a visual replay."""
        from ui.windows.sweep_window import SweepWindow

        window = SweepWindow(sweep_dir, config_path=self.bridge.config_path, store=self.store_override,
                             open_config=self._open_sweep_cell)
        fit_to_screen(window, window.width(), window.height())
        window.show()
        self._sweep_windows = [w for w in self._sweep_windows if w.isVisible()] + [window]
        return window

    def _open_sweep_cell(self, path: Path) -> bool:
        self.open_config(path)
        self.raise_()
        self.activateWindow()
        return True

    def last_config(self) -> Path | None:
        """The config loaded last time (from QSettings), when it still exists."""
        value = self.settings.value("config/last")
        if value and Path(str(value)).is_file():
            return Path(str(value))
        return None

    def edit_config(self) -> None:
        """Open the config editor on the selected config; its Run loads and plays that config."""
        self._open_config_editor(self.bridge.config_path)

    def new_config(self, for_bars: dict | None = None) -> None:
        """Open the config editor on a new config (the example's settings, named "New session", or on
        `for_bars`: bars just imported, see ConfigEditorDialog); its Save asks for a file name in the
        configs folder, its Run saves then loads and plays it."""
        self._open_config_editor(None, for_bars)

    def _open_config_editor(self, config_path: Path | None, for_bars: dict | None = None) -> None:
        dialog = ConfigEditorDialog(
            config_path=config_path,
            configs_dir=self.configs_dir,
            parent=self,
            store_path=self.store_override,
            preflight_cache=self._preflight_cache,
            for_bars=for_bars,
        )
        dialog.saved.connect(self._on_config_saved)
        dialog.run_requested.connect(self._on_run_requested)
        dialog.finished.connect(lambda _r: setattr(self, "_editor", None))
        self._editor = dialog
        dialog.show()

    def _on_config_saved(self, path: str) -> None:
        p = Path(path)
        if p.parent.resolve() != self.configs_dir.resolve() and p not in self._config_paths:
            self._config_paths.append(p)
        self.refresh_configs()
        self.statusBar().showMessage(f"Saved {p.name}", 5000)

    def _on_run_requested(self, path: str) -> None:
        self.open_config(path, play=True)

    # ================================================================== controls
    def play(self) -> None:
        if self._loading is not None:  # Play while a config loads: play it once it is loaded
            self._loading = (self._loading[0], True)
            self.statusBar().showMessage(f"Plays when {self._loading[0].name} has loaded", 4000)
            return
        self._control(self.bridge.play)

    def pause(self) -> None:
        self._control(self.bridge.pause)

    def toggle_play(self) -> None:
        if self.bridge.state == RUNNING:
            self.pause()
        else:
            self.play()

    def step(self) -> None:
        """One bar time forward; the last seek's "At the bar …" would then name a bar no longer shown."""
        bar = self.statusBar()
        if self._control(self.bridge.step) and bar.full_message == self._seek_message:
            bar.clearMessage()

    def step_back(self) -> None:
        """One bar time back (← or the Back button): the engine restores the state as it was then."""
        if self._control(self.bridge.step_back) and self.bridge.system is not None and self.bridge.system.seeking:
            # usually done within a frame; the first one after a fast replay may replay for seconds
            self.statusBar().showMessage("Going back one bar time…")

    def seek_to(self, bar_ns: int) -> None:
        """Go to the bar time starting at `bar_ns` (the timeline), back or forward, then stay paused; the
        status bar says where to until the seek's own message replaces it (a far seek replays for seconds)."""
        if self._control(lambda: self.bridge.seek(bar_ns)):
            when = dt.datetime.fromtimestamp(bar_ns / 1e9, self._zone)
            self.statusBar().showMessage(f"Going to the bar {when:%a %m-%d %H:%M}…")

    def stop(self) -> None:
        self._control(self.bridge.stop)

    def set_speed(self, speed: float) -> None:
        self._control(lambda: self.bridge.set_speed(speed))

    def jump_clicked(self) -> None:
        self.jump_to(self.jump_date.date().toPython())

    def jump_to(self, day: dt.date) -> None:
        """Start again at `day`; the charts show the days before it, the replay continues from there."""
        if self._loading is None and not self.may_replace_run(f"Jump to {day:%Y-%m-%d}?", "Jump"):
            self.statusBar().showMessage("Kept the run in progress", 5000)
            return
        if self._control(lambda: self.bridge.jump_to(day)):
            first = self.bridge.first_session_date()
            self.statusBar().showMessage(
                f"Jumped to {day:%a %Y-%m-%d}" if first in (None, day) else
                f"Jumped to {first:%a %Y-%m-%d}, the first trading day from {day:%a %Y-%m-%d}", 5000)

    def engine_at_max(self) -> bool:
        """The engine replays at MAX (or seeks): the GUI thread's collector waits (ui.collector)."""
        return self.bridge.replaying_fast()

    def may_replace_run(self, question: str, accept: str) -> bool:
        """Before a jump or another config replaces the run in progress: True at once unless the user
        traded by hand in it (a hand order the engine refused, and nothing else, is no trade); then ask
        (`confirm`): the run ends (File → Continue a run… can take it up again from its folder)."""
        bridge, system = self.bridge, self.bridge.system
        if (system is None or not bridge.started or bridge.hand_commands <= bridge.hand_refused
                or system.state not in (RUNNING, PAUSED) or system.has_ended()):
            return True
        held = []
        if bridge.account is not None:
            held = [f"{symbol} {qty:+,.10g}" for symbol, qty, *_ in bridge.account.open_positions()]
            if len(held) > 6:
                held[5:] = [f"{len(held) - 5} more positions"]
        orders = len(bridge.open_orders())
        if orders:
            held.append(f"{orders} open order{'s' if orders != 1 else ''}")
        where = f"its folder {bridge.run_dir}" if bridge.run_dir is not None else "its run folder"
        return self.confirm(
            question,
            "This ends the run in progress, in which you traded by hand.",
            (f"It holds {', '.join(held)}. " if held else "")
            + f"What it did so far stays in {where}; File → Continue a run… takes it up again there.",
            accept,
        )

    def confirm(self, title: str, text: str, detail: str, accept: str) -> bool:
        """Ask a yes/no question: `accept` (the action's name) or Cancel, Cancel by default."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setText(text)
        box.setInformativeText(detail)
        yes = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
        box.exec()
        return box.clickedButton() is yes

    def _control(self, fn) -> bool:
        if self._loading is not None:  # the run shown is about to be replaced
            self.statusBar().showMessage(f"Loading {self._loading[0].name}: wait until it has loaded", 4000)
            return False
        try:
            fn()
        except WorkstationError as exc:
            self.show_error("Replay", str(exc))
            return False
        except ValueError as exc:
            self.show_error("Replay", str(exc))
            return False
        self._update_controls()
        return True

    def _update_controls(self) -> None:
        state = self.bridge.state
        loaded = self.bridge.loaded and self._loading is None  # no control of a run about to be replaced
        self.play_action.setEnabled(loaded and state != RUNNING)
        self.pause_action.setEnabled(state == RUNNING)
        self.step_action.setEnabled(loaded and state in (STOPPED, RUNNING, PAUSED))
        can_seek = loaded and self.bridge.can_seek()
        self.step_back_action.setEnabled(can_seek and self.bridge.started and state in (RUNNING, PAUSED))
        self.timeline.setEnabled(can_seek)
        self.stop_action.setEnabled(self.bridge.started and state in (RUNNING, PAUSED) and self._loading is None)
        self.jump_date.setEnabled(loaded)
        if loaded == bool(self.jump_date.specialValueText()):
            # no config: a dash, not Qt's default 2000-01-01 (the special text shows at the minimum date)
            self.jump_date.setSpecialValueText("" if loaded else "\u2014")
            if not loaded:
                self.jump_date.setDateRange(QDate(2000, 1, 1), QDate(2000, 1, 1))
        self.jump_button.setEnabled(loaded)
        self.trade_bar.set_trading_enabled(loaded)
        self._set_state_label("loading" if self._loading is not None else state)

    def _set_state_label(self, state: str) -> None:
        """The state pill; colours come from one style sheet with a selector per state (re-polishing one
        label is cheap, setting a new style sheet on every state change is not)."""
        label = self.state_label
        label.setText({"none": "NO CONFIG"}.get(state, state.upper()))
        if label.property("state") != state:
            label.setProperty("state", state)
            label.style().unpolish(label)
            label.style().polish(label)

    # ================================================================== bridge signals
    def _on_system_changed(self, _system) -> None:
        """A run was built (config loaded, jump, or Play after the end or a stop): show its config,
        put away the previous run's results, reload the charts."""
        self._put_away_results()
        cfg = self.bridge.run_config
        base_cfg = self.bridge.config
        self._symbol_index = {s: i for i, s in enumerate(cfg.symbols)}
        self._quality = None
        self._use_drawings_of(self.bridge.config_path)
        self._set_exchange_zone(cfg.timezone)
        self.setWindowTitle(f"Backtest Workstation — {base_cfg.name if base_cfg else cfg.name}")
        live = cfg.mode == "live"
        self.mode_badge.setText("LIVE" if live else "BACKTEST")
        self.mode_badge.setStyleSheet(pill_style(theme.DOWN if live else theme.ACCENT_LIGHT))
        if base_cfg is not None:
            lo, hi = base_cfg.backtest.start_date, base_cfg.backtest.end_date
            self.jump_date.setDateRange(QDate(lo.year, lo.month, lo.day), QDate(hi.year, hi.month, hi.day))
            start = cfg.backtest.start_date
            self.jump_date.setDate(QDate(start.year, start.month, start.day))
            mark_trading_days(self.jump_date, self.bridge.system.tm.trading_dates(lo, hi))
        intervals = self.bridge.intervals()
        self._suspend_feeds = True
        try:
            for i, panel in enumerate(self.chart_panels):
                panel.set_symbols(list(cfg.symbols))
                panel.set_intervals(intervals)
                prefs = self._chart_prefs[i] if i < len(self._chart_prefs) else {}
                if prefs.get("symbol") in cfg.symbols:
                    panel.set_current_symbol(prefs["symbol"])
                if prefs.get("interval") in intervals:
                    panel.set_current_interval(prefs["interval"])
                overlays = prefs.get("overlays")
                if overlays is None and i == 0 and not panel.checked_overlays():
                    overlays = list(DEFAULT_OVERLAYS)
                if overlays is not None:
                    try:
                        panel.set_checked_overlays(list(overlays))
                    except ValueError:
                        log.info("ignoring saved overlays %r", overlays)
                if prefs.get("chart_type"):
                    try:
                        panel.chart.set_chart_type(prefs["chart_type"])
                    except ValueError:
                        log.info("ignoring saved chart type %r", prefs["chart_type"])
                panel.chart.set_log_scale(bool(prefs.get("log_scale", False)))
            self._chart_prefs = []
        finally:
            self._suspend_feeds = False
        for feed in self.feeds:
            feed.reload()
        system = self.bridge.system
        self.timeline.set_sessions([TimelineSession(x.date, x.open_ns, x.close_ns) for x in system.sessions],
                                   parse_interval(cfg.streams.interval).ns, cfg.timezone)
        self._bar_s = parse_interval(cfg.streams.interval).ns / 1e9
        self.trade_bar.set_symbols(list(cfg.symbols))
        active = self._active_chart if self._active_chart in self.chart_panels else None
        if active is not None and active.current_symbol():
            self.trade_bar.set_symbol(active.current_symbol())
        self.trade_bar.show_answer("", True)
        self._sync_strategies_badge()
        self.gauges.set_symbols(list(cfg.symbols))
        self.gauges.clear_values()     # the previous run's quality is not this one's
        self._right_fit_timer.start()
        self.gauges.set_primary_interval(cfg.streams.interval)
        self.gauges.set_risk_minimum(min(100.0, max(50.0, cfg.risk.min_quality_pct)))
        self.signal_log.clear()
        self.metrics_panel.clear()
        self.orders_panel.set_exchange_zone(cfg.timezone)
        self.orders_panel.clear()
        self._pending_rows, self._pending_quality, self._pending_session_start = [], set(), False
        self._throughput.reset()
        self._update_status(None)
        self._update_controls()

    def _on_batch(self, batch: UpdateBatch) -> None:
        """Draw one frame's engine updates. At MAX speed the costly views (charts, signal log, gauges,
        status) take what accumulated every VIEW_INTERVAL_S instead of every frame: at that pace
        nobody reads them faster, and each repaint competes with the engine threads for the GIL."""
        if batch.run_id != self.bridge.run_id:
            return
        paced = self.bridge.speed > 0 or self.bridge.state != RUNNING
        now = self.view_clock()
        cpu = self.view_cpu_clock()
        # at MAX a new session shows with the next redraw (a 100-symbol session replays in ~0.2 s: a redraw
        # forced at each start would outpace the UI budget); the run's first one shows at once
        due = paced or batch.finished is not None or any(start.get("index") == 0 for start in batch.session_starts)
        due = due or now - self._views_at >= self.max_speed_view_interval(cpu) - MAX_SPEED_VIEW_SLACK_S
        self._pending_rows.extend(batch.rows)
        if batch.quality_changed is not None:
            self._pending_quality.update(batch.quality_changed.tolist())
        if batch.quality is not None:
            self._quality = batch.quality
        if batch.gap_counts:
            index = self._symbol_index
            self._pending_quality.update(index[s] for s in batch.gap_counts if s in index)
        self._pending_session_start |= bool(batch.session_starts)
        if due or batch.seek is not None:  # at MAX the playhead moves with the other views, not per batch
            self.timeline.set_clock(batch.clock_ns)
        if batch.seek is not None:
            self._after_seek(batch)
            return
        self.orders_panel.apply(batch)
        self.hand_trading.on_batch(batch)
        if self.bridge.state == PAUSED:  # a step (paused, batches come only when something moved):
            self.update_metrics()  # the metrics say so now, not at the next 250 ms tick
        for feed in self.feeds:
            feed.on_batch(batch, due)
        if not due:
            # no redraw for this batch (at MAX the views wait for the next due one): an engine held for the
            # frame (ui.bridge.GATE_HOLD_MS) goes on now, not after a hold for a paint that does not come
            self.bridge.frame_drawn()
            return
        self._views_at, self._views_cpu = now, cpu
        if on_screen(self.orders_panel):  # behind the signal log's tab it is "visible" but not shown
            self.orders_panel.refresh()
        if self._pending_rows:
            rows, self._pending_rows = self._pending_rows, []
            self.signal_log.append_rows(rows)
            if not paced:  # the views redraw 4/s at MAX: the log shows its rows with them, not 100 ms later
                self.signal_log.flush()
        if self._pending_quality or self._pending_session_start:
            self._update_gauges(self._pending_session_start, self._pending_quality)
            self._pending_quality = set()
            self._pending_session_start = False
        self._update_status(batch)

    def max_speed_view_interval(self, cpu: float) -> float:
        """Seconds between two redraws of the views at MAX: MAX_SPEED_VIEW_INTERVAL_S, longer when the UI
        thread used more than MAX_SPEED_UI_SHARE of the time since the last redraw (`cpu`: its CPU time
        now), capped at MAX_SPEED_VIEW_INTERVAL_MAX_S."""
        spent = max(0.0, cpu - self._views_cpu)
        return min(MAX_SPEED_VIEW_INTERVAL_MAX_S, max(MAX_SPEED_VIEW_INTERVAL_S, spent / MAX_SPEED_UI_SHARE))

    def _after_seek(self, batch: UpdateBatch) -> None:
        """A step back or seek ended: every view shows the engine's state at that bar time (the
        bridge rebuilt what it folds); the signal log loses the rows of the future gone back from."""
        done = batch.seek
        bridge = self.bridge
        rows = rows_until(self._pending_rows, done.clock_ns)
        self._pending_rows = []
        self.signal_log.append_rows(rows)
        self.signal_log.drop_after(done.clock_ns)
        self.orders_panel.show_state(bridge.account, bridge.open_orders(), bridge.fills())
        self.hand_trading.on_batch(batch)
        for feed in self.feeds:
            feed.reload()
        self._views_at, self._views_cpu = self.view_clock(), self.view_cpu_clock()
        self._update_gauges(True, set())
        self._pending_quality, self._pending_session_start = set(), False
        self._update_status(batch)
        self._update_controls()
        self.update_metrics()
        stats = bridge.system.snapshot_stats() if bridge.system is not None else {}
        when = dt.datetime.fromtimestamp(done.last_bar_ns / 1e9, self._zone) if done.last_bar_ns >= 0 else None
        how = ("went forward" if done.restored_position < 0 else "restored a snapshot")
        if done.restored_position >= 0:
            # gone back: the last hand order's answer ("done (order 5)") may be of an order that no
            # longer exists (the rewind rules); the Orders & Positions panel says what does
            self.trade_bar.show_answer("", True)
        # short enough for the room the status bar's permanent read-outs leave at 1280 px; what the
        # snapshots hold is in the timeline's tooltip
        self._seek_message = (
            f"At the bar {when:%a %m-%d %H:%M}: {how}, replayed {done.replayed:,} bar times in {done.seconds:.2f} s"
            if when is not None else "At the start of the run")
        if self._taking_up:       # the bar time first: a long run folder name is what the status bar cuts
            self._seek_message = (f"At the bar {when:%a %m-%d %H:%M}, where it stopped: {self._taking_up}"
                                  if when is not None else f"At its start: {self._taking_up}")
            self._taking_up = ""
        self.statusBar().showMessage(self._seek_message, 15000)
        self.timeline.setToolTip(
            "Timeline: click or drag to go to any bar time (Shift+drag: bar by bar; wheel: one bar time a notch; "
            "← steps back one bar time, → one forward). "
            f"Snapshots: {stats.get('count', 0)} every {stats.get('every', 0)} bar times, "
            f"{stats.get('bytes', 0) / 2**20:.1f} of {stats.get('budget_bytes', 0) / 2**20:.0f} MiB")

    def _update_gauges(self, all_symbols: bool, changed: set[int]) -> None:
        """Push quality (every interval, hover) and gap counts of the changed symbols to the gauges."""
        quality = self._quality
        cfg = self.bridge.run_config
        if quality is None or cfg is None:
            return
        symbols = list(cfg.symbols)
        idx = range(len(symbols)) if all_symbols else sorted(changed)
        base = cfg.streams.interval
        gaps = self.bridge.gap_counts()
        updates = []
        for i in idx:
            sym = symbols[i]
            for iv, arr in quality.items():
                updates.append((sym, iv, float(arr[i]), gaps.get(sym, 0) if iv == base else 0))
        self.gauges.update_many(updates)

    def _on_state(self, state: str) -> None:
        self._update_controls()
        if state == RUNNING:
            self._metrics_timer.start()
            if self.bridge.state == RUNNING:    # not a start the frame's seek already paused again
                self.statusBar().clearMessage()
        elif state in (PAUSED, STOPPED, FINISHED, FAILED):
            self.update_metrics()
            if state != PAUSED:
                self._metrics_timer.stop()

    def _on_run_failed(self, message: str) -> None:
        self.show_error("The run failed", message)

    def _on_finished(self, summary: dict) -> None:
        self.update_metrics(final=summary)
        self._update_controls()
        state = summary.get("state")
        text = (
            f"Backtest {state}: {summary.get('sessions_done', 0)}/{summary.get('sessions_total', 0)} sessions · "
            f"{summary.get('bars_processed', 0):,} bars in {run_time_text(summary, 1, rate=False)} · "
            f"{summary.get('trades', 0):,} trades"
        )
        self.statusBar().showMessage(text)
        run_id = self.bridge.run_id
        trades = int(summary.get("trades") or 0)
        QTimer.singleShot(0, self, lambda: self._show_results(run_id, trades))

    def _show_results(self, run_id: int, trades: int = 0) -> None:
        """Load the finished run's folder into the Results dock (after the last frame was drawn); a run
        of BACKGROUND_READ_TRADES trades or more is read in a worker thread (`_on_results_read` shows it)."""
        run_dir = self.bridge.run_dir
        if run_id != self.bridge.run_id:
            return
        if run_dir is None or not (run_dir / "trades.parquet").exists():
            self.results_loaded.emit("")
            return
        if trades >= BACKGROUND_READ_TRADES:
            self._results_read_run = run_id
            self.results_view.read_run_folder_in_background(run_dir)
            return
        try:
            self.results_view.load_run_folder(run_dir)
        except WorkstationError as exc:
            self.show_error("Cannot show the results", str(exc))
            self.results_loaded.emit("")
            return
        self._results_shown(run_dir)

    def _on_results_read(self, path: str, message: str) -> None:
        """A background read of the finished run's folder ended (and the run was shown unless `message`)."""
        if self._results_read_run != self.bridge.run_id:
            return
        if message:
            self.show_error("Cannot show the results", message)
            self.results_loaded.emit("")
            return
        self._results_shown(Path(path))

    def _results_shown(self, run_dir: Path) -> None:
        self.results_dock.show()
        self.results_dock.raise_()
        self.timeline.hide()            # a finished run cannot seek: its height goes to the chart
        self._make_room_for_results()
        self.results_loaded.emit(str(run_dir))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self and event.type() == QEvent.Type.MouseButtonPress and not self.right_docks_by_hand:
            # the window itself gets the presses on the dividers between docks (no child widget there):
            # the trader arranges the docks, the right column is no longer fitted. Presses a child did
            # not take (a click on the chart or a label) reach the window too: they arrange nothing
            if self.childAt(event.position().toPoint()) is None:
                self.right_docks_by_hand = True
        elif watched is self.quality_dock and event.type() == QEvent.Type.Resize and not self.right_docks_by_hand:
            self._right_fit_timer.start()     # (a fit that changes nothing changes no height: no loop)
        elif watched is self.chart_splitter and event.type() == QEvent.Type.Resize:
            # the chart area changed (the window resized, a dock opened, closed or moved): room for one more?
            self._update_chart_actions()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_toolbar()
        self._right_fit_timer.start()

    def fit_toolbar(self) -> None:
        """The replay toolbar needs ~1,430 px with its buttons' names: at 1280 x 800 the speed control and the
        mode badge went into its overflow, out of sight. When the names do not fit, the buttons show their
        icons only (each tooltip starts with the name)."""
        tb = self.toolbar
        full = tb.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        if full:
            self._toolbar_full_width = tb.sizeHint().width()
        compact = self._toolbar_full_width > tb.width()
        if compact == full:
            tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly if compact
                                  else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def fit_right_docks(self) -> None:
        """The Data quality dock as tall as its tiles need, full ones when they fit in QUALITY_DOCK_SHARE of
        the right column, else one-line ones (at most that share; a long list scrolls), and the rest of
        the column to the Metrics dock below it: at 1280 x 800 five symbols' tiles left ~90 px empty while
        the Metrics' stage table was cut. Only with both docks side by side in the right column, some
        symbols loaded and no divider dragged by the trader."""
        quality, metrics = self.quality_dock, self.metrics_dock
        if self.right_docks_by_hand or not self.gauges.symbols():
            return
        right = Qt.DockWidgetArea.RightDockWidgetArea
        for dock in (quality, metrics):
            if not dock.isVisible() or dock.isFloating() or self.dockWidgetArea(dock) != right:
                return
            if self.tabifiedDockWidgets(dock):
                return
        if quality.geometry().bottom() >= metrics.geometry().top():
            return                                          # not one above the other
        column = quality.height() + metrics.height()
        chrome = quality.height() - self.gauges.height() + self.gauges.chrome_height()
        cap = int(column * QUALITY_DOCK_SHARE)
        full = chrome + self.gauges.tiles_height(compact=False)
        target = full if full <= cap else min(chrome + self.gauges.tiles_height(compact=True), cap)
        if abs(target - quality.height()) > 2:
            self.resizeDocks([quality, metrics], [target, column - target], Qt.Orientation.Vertical)

    def fit_docks_to_height(self) -> None:
        """A window shrunk to a small screen keeps most of its height for the chart: the bottom docks
        (signal log, orders, results) start at most BOTTOM_DOCK_SHARE of the window's height."""
        height = min(BOTTOM_DOCK_PX, int(self.height() * BOTTOM_DOCK_SHARE))
        self.resizeDocks([self.signal_dock], [height], Qt.Orientation.Vertical)

    def _make_room_for_results(self) -> None:
        """Share the height between the chart and the docked Results: the chart keeps about half of it
        (at least CHART_MIN_PX); when the full results layout does not fit its share, the equity plots
        go beside the tables (compact), so trade rows show without scrolling even at 1280x800."""
        dock = self.results_dock
        if dock.isFloating() or self.dockWidgetArea(dock) != Qt.DockWidgetArea.BottomDockWidgetArea:
            return
        central = self.centralWidget()
        if self._chart_height is None:
            self._chart_height = central.height()
        shared = self._shared_height()  # the chart area and the bottom docks
        view = self.results_view
        right = self._docked_right((self.quality_dock, self.metrics_dock))
        # plots beside the tables, or cards that want more than the dock's width: the bottom docks then
        # run under the right column too, so the tables get the window's width and the cards one row
        wide = dock.width() - RESULTS_DOCK_SIDES
        under = bool(right) and view.one_row_width() > wide
        if under:
            wide = self.width() - RESULTS_DOCK_SIDES
        view.set_compact(False)
        full = view.minimum_height_at(wide) + RESULTS_DOCK_CHROME
        share = int(shared * RESULTS_SHARE)
        if full <= share:
            height = share
        else:
            view.set_compact(True)
            under = bool(right)
            wide = self.width() - RESULTS_DOCK_SIDES if under else wide
            compact = view.minimum_height_at(wide) + RESULTS_DOCK_CHROME
            height = max(share, min(compact, shared - CHART_MIN_PX))
        self.resizeDocks([dock], [height], Qt.Orientation.Vertical)
        if under:
            self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._right_fit_timer.start()           # the right column is shorter now

    def _put_away_results(self) -> None:
        """A new run starts: the previous run's results leave, the signal log is shown again and the
        bottom docks get back the height they had before the results came."""
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._right_fit_timer.start()
        self.timeline.show()
        # also before the window's first results: "No run loaded ... open a run folder" read as if the
        # run in progress were not there (seen in Xvfb, paused mid-run)
        self.results_view.clear(NO_RESULTS_YET, "The run's equity curve, statistics and trades show here when it ends.")
        self.results_loaded.emit("")
        self.signal_dock.raise_()
        if self._chart_height is not None:
            if self.dockWidgetArea(self.signal_dock) == Qt.DockWidgetArea.BottomDockWidgetArea:
                bottom = self._shared_height() - self._chart_height - DOCK_SEPARATOR_PX
                self.resizeDocks([self.signal_dock], [max(bottom, 0)], Qt.Orientation.Vertical)
            self._chart_height = None

    def _shared_height(self) -> int:
        """Height the chart area and the bottom docks share (central top to status bar top)."""
        bottom = self.statusBar().geometry().top() if self.statusBar().isVisible() else self.height()
        return bottom - self.centralWidget().geometry().top()

    def _use_drawings_of(self, config_path: Path | None) -> None:
        """The charts show and save the drawings of this config (in-memory for a config without a file)."""
        path = sidecar_path(config_path) if config_path is not None else None
        if path is not None and path == self.drawing_book.path:
            return
        book = DrawingBook(path, parent=self)
        book.problem.connect(lambda message: self.show_error("Drawings", message))
        old, self.drawing_book = self.drawing_book, book
        for panel in self.chart_panels:
            panel.chart.set_drawing_book(book)
        old.deleteLater()
        if book.load_problem:
            self.show_error("Drawings", book.load_problem)

    # ================================================================== status and metrics
    def _update_status(self, batch: UpdateBatch | None) -> None:
        progress = self.bridge.progress()
        if progress is None:
            self.clock_label.setText("--")
            self._shown_clock_ns = None
            return
        now_ns = batch.clock_ns if batch is not None else progress.clock_ns
        moment = dt.datetime.fromtimestamp(now_ns / 1e9, self._zone)
        self.clock_label.setText(f"{moment:%Y-%m-%d %H:%M:%S} {zone_label(self._tz, moment)}")
        self._shown_clock_ns = now_ns
        session = self.bridge.current_session
        self.metrics_panel.show_clock(now_ns, session["date"] if session is not None else None)
        if session is not None:
            date = session["date"]
            text = f"Session {date:%a %Y-%m-%d} ({session['index'] + 1}/{session['total']})"
            if session.get("early_close"):
                close = dt.datetime.fromtimestamp(session["close_ns"] / 1e9, self._zone)
                text += f"  <span style='color:{theme.AMBER}'>early close {close:%H:%M}</span>"
            if session.get("start_ns", session["open_ns"]) < session["open_ns"] and now_ns <= session["open_ns"]:
                text += "  · pre-market"                      # extended hours (session_hours: extended)
            elif session.get("end_ns", session["close_ns"]) > session["close_ns"] and now_ns > session["close_ns"]:
                text += "  · post-market"
            self.session_label.setText(text)
        elif progress.first_session is not None and progress.last_session is not None:
            self.session_label.setText(
                f"{progress.sessions_total} sessions {progress.first_session:%Y-%m-%d} → "
                f"{progress.last_session:%Y-%m-%d}"
            )

    def update_metrics(self, final: dict | None = None) -> None:
        """Refresh the metrics panel and the status-bar rates (every ~250 ms while running)."""
        progress = self.bridge.progress()
        if progress is None:
            return
        now = time.monotonic()
        bars = progress.bars_processed
        if final is None and progress.state in (FINISHED, STOPPED, FAILED) and self.bridge.last_summary:
            final = self.bridge.last_summary
        if final is not None:
            rate = float(final.get("bars_per_s") or 0.0)
        elif progress.state != RUNNING:
            self._throughput.reset()     # paused: no rate, and none carried over to the resume
            rate = 0.0
        else:
            speed = self.bridge.speed
            rate = self._throughput.sample(now, bars, self._bar_s / speed if speed > 0 else None)
        snap = self.bridge.metrics_snapshot()
        session = self.bridge.current_session
        snap.update(
            {
                "bars_per_s": rate,
                "bars_processed": bars,
                # the time the status bar shows (the engine's clock may have moved on since that frame)
                "clock_ns": self._shown_clock_ns if self._shown_clock_ns is not None else progress.clock_ns,
                "session_date": session["date"] if session else None,
                "memory_mb": self._process.memory_info().rss / 2**20,
                "sessions_done": progress.sessions_done,
                "sessions_total": progress.sessions_total,
            }
        )
        self.metrics_panel.update_metrics(snap, now)
        self.rate_label.setText(f"{rate:,.0f} bars/s")
        counters = snap["run"]["counters"]
        overruns = sum(v for k, v in counters.items() if k.startswith("overruns."))
        colour = theme.AMBER if overruns else theme.MUTED
        self.overrun_label.setText(f"overruns <b style='color:{colour}'>{overruns:,}</b>")

    def refresh_views(self) -> None:
        """Bring every view up to date now (charts, log, gauges, metrics, status), e.g. before a screenshot."""
        if self._pending_rows:
            rows, self._pending_rows = self._pending_rows, []
            self.signal_log.append_rows(rows)
        self.signal_log.flush()
        if self.signal_log.is_following():
            self.signal_log.scroll_to_newest()
        if self._pending_quality or self._pending_session_start:
            self._update_gauges(self._pending_session_start, self._pending_quality)
            self._pending_quality, self._pending_session_start = set(), False
        for feed in self.feeds:
            feed.flush()
            feed.panel.chart.refresh()
        self.orders_panel.refresh()
        self.update_metrics()
        self._update_status(None)

    # ================================================================== errors
    def show_error(self, title: str, message: str, config_path: Path | None = None) -> None:
        """Tell the user (message box unless modal_errors is False) and put it in the status bar;
        `config_path`: the config the error is about, which the box offers to open in the editor."""
        log.warning("%s: %s", title, message)
        self.error_messages.append((title, message))
        self.statusBar().showMessage(f"{title}: {message.splitlines()[0] if message else ''}", 10000)
        self.error_reported.emit(title, message)
        if self.modal_errors:
            self.error_box(title, message, config_path).exec()

    def error_box(self, title: str, message: str, config_path: Path | None = None) -> QMessageBox:
        """The error's message box; with an existing `config_path`, an *Edit config…* button opens
        that config in the editor (to mend what the message names, e.g. a strategy's class_path)."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, self)
        if config_path is not None and Path(config_path).is_file():
            edit = box.addButton("Edit config\u2026", QMessageBox.ButtonRole.ActionRole)
            edit.setToolTip(f"Open {Path(config_path).name} in the config editor")
            edit.clicked.connect(lambda: self._open_config_editor(Path(config_path)))
        return box

    # ================================================================== misc
    def _on_gauge_clicked(self, symbol: str) -> None:
        if self.chart_panels and symbol != self.chart_panels[0].current_symbol():
            try:
                self.chart_panels[0].set_current_symbol(symbol)
            except ValueError:
                pass

    def store_root(self) -> Path:
        """The bar store this window reads: --store, else the loaded config's, else the default."""
        from workstation.run_commands import DEFAULT_STORE
        from workstation.system import resolve_store_path

        if self.store_override is not None:
            return self.store_override
        cfg = self.bridge.config
        return resolve_store_path(cfg) if cfg is not None else Path(DEFAULT_STORE)

    def open_import_dialog(self, files: Iterable[str | Path] = ()) -> None:
        """File → Import bars…: the import dialog on this window's store (one at a time)."""
        from ui.dialogs.import_dialog import ImportDialog

        dialog = self.import_dialog
        if dialog is None or not dialog.isVisible():
            dialog = self.import_dialog = ImportDialog(self.store_root(), self)
            dialog.imported.connect(self._on_bars_imported)
            dialog.new_config_requested.connect(self.new_config)
        dialog.add_files(list(files))
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _on_bars_imported(self, summary: dict) -> None:
        """Say what an import stored. When the loaded config reads that store and has an imported
        symbol, its run (built at load, with its chart history) does not have the new bars: it is
        loaded again in the background, unless it has started (then the message says to)."""
        symbols = sorted(summary.get("per_symbol", {}))
        text = f"Imported {summary.get('rows_stored', 0):,} bars of {', '.join(symbols)}"
        cfg, path = self.bridge.config, self.bridge.config_path
        imported_into = summary.get("store_root")
        if (cfg is not None and path is not None and imported_into is not None and set(symbols) & set(cfg.symbols)
                and Path(imported_into).resolve() == self.store_root().resolve()):
            if not self.bridge.started and not self.loading:
                self.open_config(path)           # its progress replaces the message; "Loaded …" follows
                return
            text += f"; load {path.name} again to replay them"
        self.statusBar().showMessage(text, 8000)

    def open_run_folder(self) -> None:
        if self._results_window is None:
            self._results_window = ResultsWindow(self, runs_dir=self.bridge.runs_dir, continue_run=self.continue_run)
            fit_to_screen(self._results_window, self._results_window.width(), self._results_window.height())
        self._results_window.show()
        self._results_window.choose_run_folder()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks:
            dock.show()
        self.signal_dock.raise_()
        self.right_docks_by_hand = False      # the default layout: the right column is fitted again
        self._right_fit_timer.start()

    # ================================================================== settings
    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/right_docks_by_hand", "true" if self.right_docks_by_hand else "false")
        s.setValue("charts/count", len(self.chart_panels))
        s.setValue("charts/splitter", self.chart_splitter.saveState())
        for i, panel in enumerate(self.chart_panels):
            s.setValue(f"charts/{i}/symbol", panel.current_symbol())
            s.setValue(f"charts/{i}/interval", panel.current_interval())
            s.setValue(f"charts/{i}/overlays", json.dumps(panel.checked_overlays()))
            s.setValue(f"charts/{i}/chart_type", panel.chart.chart_type.value)
            s.setValue(f"charts/{i}/log_scale", "true" if panel.chart.log_scale else "false")
        if self.bridge.config_path is not None:
            s.setValue("config/last", str(self.bridge.config_path.resolve()))
        s.sync()

    def restore_settings(self) -> None:
        s = self.settings
        count = _int(s.value("charts/count"), 1)
        for _ in range(1, min(MAX_CHARTS, count)):
            self.add_chart()
        prefs = []
        for i in range(len(self.chart_panels)):
            prefs.append(
                {
                    "symbol": s.value(f"charts/{i}/symbol"),
                    "interval": s.value(f"charts/{i}/interval"),
                    "overlays": saved_overlays(s.value(f"charts/{i}/overlays")),
                    "chart_type": s.value(f"charts/{i}/chart_type"),
                    "log_scale": str(s.value(f"charts/{i}/log_scale", "false")).lower() == "true",
                }
            )
        self._chart_prefs = prefs
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.geometry_restored = bool(self.restoreGeometry(geometry))
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        self.right_docks_by_hand = str(s.value("window/right_docks_by_hand", "false")).lower() == "true"
        splitter = s.value("charts/splitter")
        if splitter is not None:
            self.chart_splitter.restoreState(splitter)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.chart_panels and not self._shown_once:
            self._shown_once = True
            self.chart_panels[0].chart.setFocus(Qt.FocusReason.OtherFocusReason)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.UpdateRequest:
            # the window's repaint of what changed is done (the views' paint after a batch): the engine,
            # held for the frame at MAX, goes on
            self.bridge.frame_drawn()
        return handled

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.persist:
            self.save_settings()
        self._metrics_timer.stop()
        self.config_loader.cancel()
        if not self.bridge.shutdown(1.0):
            log.warning("engine threads still running at close: %s", ", ".join(self.bridge.alive_threads()))
        if self._editor is not None:
            self._editor.close()
        importing = self.import_dialog
        if importing is not None and importing.is_running():     # its files are written one by one: finish
            self.statusBar().showMessage("Waiting for the import to finish…")
            if not importing.wait(IMPORT_CLOSE_WAIT_S):
                log.warning("the bar import still runs at close; the same import run again completes it")
        for window in getattr(self, "_live_windows", []):
            window.close()                   # each stops the live run it owns
        super().closeEvent(event)


def on_screen(widget: QWidget) -> bool:
    """True when some of `widget` is shown: a dock behind another dock's tab says isVisible() but has an
    empty visible region (redrawing it is wasted work; it is redrawn when its tab is raised)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def saved_overlays(value) -> list[str] | None:
    """The overlay specs saved for a chart: a JSON list (older settings: one spec per comma, which
    split bb(20,2) apart; their pieces are rejoined). None when nothing was saved."""
    if value is None:
        return None
    text = str(value)
    try:
        specs = json.loads(text)
    except json.JSONDecodeError:
        specs = None
    if isinstance(specs, list):
        return [str(x) for x in specs]
    out: list[str] = []
    for piece in (p for p in text.split(",") if p and p != "-"):
        if out and out[-1].count("(") > out[-1].count(")"):
            out[-1] += "," + piece
        else:
            out.append(piece)
    return out


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
