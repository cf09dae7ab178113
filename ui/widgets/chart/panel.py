"""A candle chart with its toolbar row: symbol and interval pickers, indicators, chart type and log
scale, the drawing tools, jump to live.

The panel owns no engine objects: the main window feeds `panel.chart` with bars and listens to the
signals to decide what to feed. Several panels can sit side by side in a splitter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.chart.chart import CandleChart
from ui.widgets.chart.chart_actions import DRAW_ACTIONS, TYPE_ACTIONS
from ui.widgets.chart.overlays import canonical_spec
from ui.widgets.chart.theme import ChartTheme

log = logging.getLogger(__name__)

INDICATOR_CHOICES: tuple[tuple[str, str], ...] = (
    ("SMA 20", "sma(20)"),
    ("SMA 50", "sma(50)"),
    ("EMA 20", "ema(20)"),
    ("Bollinger 20 2", "bb(20,2)"),
    ("VWAP", "vwap"),
    ("RSI 14", "rsi(14)"),
    ("MACD 12 26 9", "macd(12,26,9)"),
    ("ATR 14", "atr(14)"),
)
"""(menu text, overlay spec) of the Indicators menu, in menu order (more can be added as custom)."""

TOOLBAR_LEVELS = 3  # ChartPanel._fit_toolbar: full, short labels, drawing tools in a menu

TOOL_GLYPHS = {
    "draw_horizontal_line": "\u2015",
    "draw_trend_line": "\u2571",
    "draw_rectangle": "\u25ad",
    "draw_text_note": "T",
}


def ask_indicator_spec(parent: QtWidgets.QWidget) -> str | None:
    """Ask for an indicator spec (None when cancelled)."""
    text, ok = QtWidgets.QInputDialog.getText(
        parent, "Add indicator", "Indicator spec, e.g. ema(50), atr(14), bb(20,2.5), rsi(7):"
    )
    return text.strip() if ok and text.strip() else None


class ChartPanel(QtWidgets.QWidget):
    """Toolbar (symbol, interval, indicators, chart type, drawing tools, jump to live) above a `CandleChart`."""

    symbol_changed = QtCore.Signal(str)
    interval_changed = QtCore.Signal(str)
    overlays_changed = QtCore.Signal(list)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        tz: str = "America/New_York",
        theme: ChartTheme | None = None,
    ):
        super().__init__(parent)
        self.chart = CandleChart(tz=tz, theme=theme)
        t = self.chart.theme
        self.setObjectName("ChartPanel")
        self.ask_indicator = lambda: ask_indicator_spec(self)

        self.symbol_combo = QtWidgets.QComboBox()
        self.symbol_combo.setObjectName("ChartSymbol")
        self.symbol_combo.setMinimumContentsLength(6)
        self.symbol_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.symbol_combo.setToolTip("Symbol")
        self.interval_combo = QtWidgets.QComboBox()
        self.interval_combo.setObjectName("ChartInterval")
        self.interval_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.interval_combo.setToolTip("Bar interval")

        self.indicator_menu = QtWidgets.QMenu(self)
        self.indicator_actions: dict[str, QtGui.QAction] = {}
        for text, spec in INDICATOR_CHOICES:
            self._add_indicator_action(text, spec)
        self.indicator_menu.addSeparator()
        self.custom_indicator_action = self.indicator_menu.addAction("Add indicator\u2026")
        self.custom_indicator_action.triggered.connect(self._add_custom_indicator)
        self.indicator_button = self._menu_button("Indicators", self.indicator_menu, "Indicator overlays of this chart")

        actions = self.chart.chart_actions.actions
        self.view_menu = QtWidgets.QMenu(self)
        for action_id in TYPE_ACTIONS.values():
            self.view_menu.addAction(actions[action_id])
        self.view_menu.addSeparator()
        self.view_menu.addAction(actions["log_scale"])
        self.view_menu.addAction(actions["reset_zoom"])
        self.view_menu.addSeparator()
        self.view_menu.addAction(actions["save_png"])
        self.view_button = self._menu_button("Chart", self.view_menu, "Chart type, log scale, zoom, save as PNG")

        self.tool_buttons: dict[str, QtWidgets.QToolButton] = {}
        for kind, action_id in DRAW_ACTIONS.items():
            button = QtWidgets.QToolButton()
            button.setObjectName(f"Tool_{kind.value}")
            button.setText(TOOL_GLYPHS[action_id])
            button.setCheckable(True)
            keys = actions[action_id].shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
            button.setToolTip(f"{kind.label} ({keys})")
            button.clicked.connect(lambda checked, k=kind: self.chart.drawings.arm(k if checked else None))
            self.tool_buttons[action_id] = button
        self.chart.drawings.tool_changed.connect(self._sync_tool_buttons)

        self.live_action = QtGui.QAction("Jump to live \u25b6", self)
        self.live_action.setToolTip("Follow the newest bar again (End)")
        self.live_action.triggered.connect(self.chart.jump_to_live)
        self.live_action.setEnabled(not self.chart.following)
        self.chart.following_changed.connect(lambda on: self.live_action.setEnabled(not on))
        self.live_button = QtWidgets.QToolButton()
        self.live_button.setDefaultAction(self.live_action)
        # a narrow chart (two or three side by side on a laptop): shorter labels, then the drawing tools
        # in one menu, so the toolbar never widens the window past the screen (see _fit_toolbar)
        self.draw_menu = QtWidgets.QMenu(self)
        for action_id in DRAW_ACTIONS.values():
            self.draw_menu.addAction(actions[action_id])
        self.draw_button = self._menu_button("\u270e", self.draw_menu, "Drawing tools")
        self.draw_button.setObjectName("DrawMenu")
        self.draw_button.hide()
        self.toolbar_level = 0

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 3, 6, 3)
        bar.setSpacing(6)
        for widget in (self.symbol_combo, self.interval_combo, self.indicator_button, self.view_button):
            bar.addWidget(widget)
        bar.addSpacing(8)
        for button in self.tool_buttons.values():
            bar.addWidget(button)
        bar.addWidget(self.draw_button)
        bar.addStretch(1)
        bar.addWidget(self.live_button)
        toolbar = QtWidgets.QWidget()
        toolbar.setObjectName("ChartToolbar")
        toolbar.setLayout(bar)
        toolbar.setStyleSheet(
            f"#ChartToolbar {{ background: {t.background}; border-bottom: 1px solid {t.separator}; }}"
            f" #ChartToolbar QToolButton:checked {{ background: #2a3a66; border: 1px solid {t.drawing}; }}"
        )
        self.toolbar = toolbar

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(toolbar)
        lay.addWidget(self.chart, 1)
        self.setFocusProxy(self.chart)
        self._set_toolbar_level(TOOLBAR_LEVELS - 1)
        self.setMinimumWidth(self.toolbar.minimumSizeHint().width())   # the narrowest toolbar, not the full one
        self._set_toolbar_level(0)

        self.symbol_combo.currentTextChanged.connect(self._on_symbol)
        self.interval_combo.currentTextChanged.connect(self._on_interval)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_toolbar(event.size().width())

    def _fit_toolbar(self, width: int) -> None:
        """The fullest toolbar that fits `width`: 0 every label, 1 short labels ("fx", "▶"), 2 also the
        drawing tools in one menu."""
        for level in range(TOOLBAR_LEVELS):
            self._set_toolbar_level(level)
            if self.toolbar.minimumSizeHint().width() <= width:
                return

    def _set_toolbar_level(self, level: int) -> None:
        if level == self.toolbar_level:
            return
        self.toolbar_level = level
        self.indicator_button.setText("Indicators" if level == 0 else "fx")
        self.live_action.setText("Jump to live \u25b6" if level == 0 else "\u25b6")
        for button in self.tool_buttons.values():
            button.setVisible(level < 2)
        self.draw_button.setVisible(level >= 2)

    def _menu_button(self, text: str, menu: QtWidgets.QMenu, tip: str) -> QtWidgets.QToolButton:
        button = QtWidgets.QToolButton()
        button.setText(text)
        button.setMenu(menu)
        button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setToolTip(tip)
        menu.aboutToHide.connect(lambda: QtCore.QTimer.singleShot(0, button, lambda: _leave_unless_under_mouse(button)))
        return button

    def _sync_tool_buttons(self, kind) -> None:
        for k, action_id in DRAW_ACTIONS.items():
            self.tool_buttons[action_id].setChecked(k is kind)

    # pickers ----------------------------------------------------------------------------------
    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Offer these symbols; keeps the current one when still offered (no signal then)."""
        self._fill(self.symbol_combo, symbols)
        self.chart.set_title(self.current_symbol(), self.current_interval())

    def set_intervals(self, intervals: Sequence[str]) -> None:
        """Offer these intervals ('1m', '5m', ...); keeps the current one when still offered."""
        self._fill(self.interval_combo, intervals)
        self.chart.set_title(self.current_symbol(), self.current_interval())

    def current_symbol(self) -> str:
        """The selected symbol ('' when none)."""
        return self.symbol_combo.currentText()

    def current_interval(self) -> str:
        """The selected interval ('' when none)."""
        return self.interval_combo.currentText()

    def set_current_symbol(self, symbol: str) -> None:
        """Select a symbol (emits symbol_changed when it changes)."""
        i = self.symbol_combo.findText(symbol)
        if i < 0:
            raise ValueError(f"symbol {symbol!r} is not offered; offered: {self._items(self.symbol_combo)}")
        self.symbol_combo.setCurrentIndex(i)

    def set_current_interval(self, interval: str) -> None:
        """Select an interval (emits interval_changed when it changes)."""
        i = self.interval_combo.findText(interval)
        if i < 0:
            raise ValueError(f"interval {interval!r} is not offered; offered: {self._items(self.interval_combo)}")
        self.interval_combo.setCurrentIndex(i)

    @staticmethod
    def _items(combo: QtWidgets.QComboBox) -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    def _fill(self, combo: QtWidgets.QComboBox, values: Sequence[str]) -> None:
        current = combo.currentText()
        combo.blockSignals(True)
        try:
            combo.clear()
            combo.addItems(list(values))
            i = combo.findText(current)
            combo.setCurrentIndex(i if i >= 0 else (0 if values else -1))
        finally:
            combo.blockSignals(False)
        if combo.currentText() != current:
            combo.currentTextChanged.emit(combo.currentText())

    def _on_symbol(self, symbol: str) -> None:
        self.chart.set_title(symbol, self.current_interval())
        self.symbol_changed.emit(symbol)

    def _on_interval(self, interval: str) -> None:
        self.chart.set_title(self.current_symbol(), interval)
        self.interval_changed.emit(interval)

    # indicators -------------------------------------------------------------------------------
    def _add_indicator_action(self, text: str, spec: str) -> QtGui.QAction:
        action = QtGui.QAction(text, self.indicator_menu)
        action.setCheckable(True)
        action.setData(spec)
        action.toggled.connect(self._on_indicator_toggled)
        before = self.indicator_menu.actions()
        custom_at = next((a for a in before if a.isSeparator()), None)
        self.indicator_menu.insertAction(custom_at, action) if custom_at else self.indicator_menu.addAction(action)
        self.indicator_actions[spec] = action
        return action

    def add_indicator(self, spec: str, checked: bool = True) -> str:
        """Offer (and check) any indicator the engine accepts; returns its canonical spec.
        ValueError names a spec the engine does not know."""
        canonical = canonical_spec(spec)
        action = self.indicator_actions.get(canonical) or self._add_indicator_action(canonical.upper(), canonical)
        action.setChecked(checked)
        return canonical

    def _add_custom_indicator(self) -> None:
        spec = self.ask_indicator()
        if spec is None:
            return
        try:
            self.add_indicator(spec)
        except ValueError as exc:
            QtWidgets.QMessageBox.warning(self, "Indicator not added", str(exc))

    def checked_overlays(self) -> list[str]:
        """Specs of the checked indicator actions, in menu order."""
        return [spec for spec, a in self.indicator_actions.items() if a.isChecked()]

    def set_checked_overlays(self, specs: Sequence[str]) -> None:
        """Check exactly these indicators (any spec the engine accepts; ones not in the menu are added
        to it) and apply them to the chart (one signal). ValueError names a spec the engine rejects."""
        wanted = [canonical_spec(s) for s in specs]
        for spec in wanted:
            if spec not in self.indicator_actions:
                self._add_indicator_action(spec.upper(), spec)
        for spec, action in self.indicator_actions.items():
            action.blockSignals(True)
            action.setChecked(spec in wanted)
            action.blockSignals(False)
        self._apply_overlays()

    def _on_indicator_toggled(self, _checked: bool) -> None:
        self._apply_overlays()

    def _apply_overlays(self) -> None:
        specs = self.checked_overlays()
        self.chart.set_overlays(specs)
        self.overlays_changed.emit(specs)


def _leave_unless_under_mouse(button: QtWidgets.QToolButton) -> None:
    """A menu button whose menu just closed with the mouse elsewhere (an item picked further down) got no
    leave event while the menu held the mouse, so it kept its hover highlight over a chart the mouse had
    left: drop that state unless the mouse is really over it."""
    if button.underMouse() and not button.rect().contains(button.mapFromGlobal(QtGui.QCursor.pos())):
        button.setAttribute(QtCore.Qt.WidgetAttribute.WA_UnderMouse, False)
        button.update()
