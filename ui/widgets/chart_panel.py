"""A candle chart with its toolbar row: symbol and interval pickers, indicator menu, jump to live.

The panel owns no engine objects: the main window feeds `panel.chart` with bars and listens to the
signals to decide what to feed. Several panels can sit side by side in docks or a splitter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from ui.widgets.candles import CandleChart, ChartTheme

log = logging.getLogger(__name__)

INDICATOR_CHOICES: tuple[tuple[str, str], ...] = (
    ("SMA 20", "sma(20)"),
    ("SMA 50", "sma(50)"),
    ("EMA 20", "ema(20)"),
    ("Bollinger 20 2", "bb(20,2)"),
    ("VWAP", "vwap"),
    ("RSI 14", "rsi(14)"),
    ("MACD 12 26 9", "macd(12,26,9)"),
)
"""(menu text, overlay spec) of the Indicators menu, in menu order."""


class ChartPanel(QtWidgets.QWidget):
    """Toolbar (symbol, interval, indicators, jump to live) above a `CandleChart`."""

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
            action = self.indicator_menu.addAction(text)
            action.setCheckable(True)
            action.setData(spec)
            action.toggled.connect(self._on_indicator_toggled)
            self.indicator_actions[spec] = action
        self.indicator_button = QtWidgets.QToolButton()
        self.indicator_button.setText("Indicators")
        self.indicator_button.setMenu(self.indicator_menu)
        self.indicator_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.indicator_button.setToolTip("Indicator overlays of this chart")

        self.live_action = QtGui.QAction("Jump to live \u25b6", self)
        self.live_action.setToolTip("Follow the newest bar again")
        self.live_action.triggered.connect(self.chart.jump_to_live)
        self.live_action.setEnabled(not self.chart.following)
        self.chart.following_changed.connect(lambda on: self.live_action.setEnabled(not on))
        self.live_button = QtWidgets.QToolButton()
        self.live_button.setDefaultAction(self.live_action)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 3, 6, 3)
        bar.setSpacing(6)
        bar.addWidget(self.symbol_combo)
        bar.addWidget(self.interval_combo)
        bar.addWidget(self.indicator_button)
        bar.addStretch(1)
        bar.addWidget(self.live_button)
        toolbar = QtWidgets.QWidget()
        toolbar.setObjectName("ChartToolbar")
        toolbar.setLayout(bar)
        toolbar.setStyleSheet(
            f"#ChartToolbar {{ background: {t.background}; border-bottom: 1px solid {t.separator}; }}"
        )
        self.toolbar = toolbar

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(toolbar)
        lay.addWidget(self.chart, 1)

        self.symbol_combo.currentTextChanged.connect(self._on_symbol)
        self.interval_combo.currentTextChanged.connect(self._on_interval)

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
            raise ValueError(
                f"interval {interval!r} is not offered; offered: {self._items(self.interval_combo)}"
            )
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
    def checked_overlays(self) -> list[str]:
        """Specs of the checked indicator actions, in menu order."""
        return [spec for spec, a in self.indicator_actions.items() if a.isChecked()]

    def set_checked_overlays(self, specs: Sequence[str]) -> None:
        """Check exactly these menu entries (by spec) and apply them to the chart (one signal)."""
        unknown = [s for s in specs if s not in self.indicator_actions]
        if unknown:
            raise ValueError(
                f"overlays {unknown} are not in the Indicators menu {list(self.indicator_actions)}"
            )
        for spec, action in self.indicator_actions.items():
            action.blockSignals(True)
            action.setChecked(spec in specs)
            action.blockSignals(False)
        self._apply_overlays()

    def _on_indicator_toggled(self, _checked: bool) -> None:
        self._apply_overlays()

    def _apply_overlays(self) -> None:
        specs = self.checked_overlays()
        self.chart.set_overlays(specs)
        self.overlays_changed.emit(specs)
