"""The trade bar: hand trading during a replay (symbol, quantity, optional stop loss and take profit
distances, Buy / Sell at market, Flatten, Cancel all) and the answer to the last hand order.

A view: it only emits what the trader asked for (`buy_requested`, `sell_requested`,
`flatten_requested`, `cancel_all_requested`) and shows what it is told (`show_answer`); the position
itself shows on the chart (its line) and in the Orders & Positions panel. The main window's HandTrading turns the requests into orders. The symbol follows the
chart the trader works on (`set_symbol`); distances are in the symbol's currency from the entry price
(0 = none). UI thread only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from ui import theme
from ui.shortcuts import shortcut

MAX_QUANTITY = 1_000_000


def _keys(shortcut_id: str) -> str:
    return " or ".join(shortcut(shortcut_id).keys)


class AnswerLabel(QLabel):
    """The answer to the last hand order, in one line. When it does not fit, its start gives way ("…")
    rather than its end: a refusal's reason comes last ("buy 900000 ACME market: refused: position
    limit: would hold 900000 > 1000 shares" lost the reason at 1366 px before). `text()` and the tooltip
    keep the whole answer."""

    def shown_text(self) -> str:
        """The text as drawn at the label's width: whole, else from the first of its parts ("a: b; c: d")
        that fits after "…", else its end."""
        text, width, metrics = self.text(), max(0, self.contentsRect().width()), self.fontMetrics()
        if metrics.horizontalAdvance(text) <= width:
            return text
        for part in re.finditer(r"[:;] ", text):
            shorter = "… " + text[part.end():]
            if metrics.horizontalAdvance(shorter) <= width:
                return shorter
        return metrics.elidedText(text, Qt.TextElideMode.ElideLeft, width)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self.shown_text())


class TradeBar(QWidget):
    """See the module docstring."""

    buy_requested = Signal()
    sell_requested = Signal()
    flatten_requested = Signal()
    cancel_all_requested = Signal()
    editing_done = Signal()           # Enter in a number box: the chart may take the focus back

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TradeBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 1, 4, 1)
        layout.setSpacing(6)

        def caption(text: str, tip: str) -> QLabel:
            label = QLabel(text)
            label.setStyleSheet(f"color: {theme.MUTED};")
            label.setToolTip(tip)
            layout.addWidget(label)
            return label

        caption("Trade", "Hand trading: orders go through the same risk checks and fill rules as a strategy's, "
                         "owned by 'manual'")
        self.symbol_combo = QComboBox()
        self.symbol_combo.setObjectName("TradeSymbol")
        self.symbol_combo.setMinimumContentsLength(5)
        self.symbol_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.symbol_combo.setToolTip("Symbol traded (follows the chart you click)")
        layout.addWidget(self.symbol_combo)

        caption("Qty", "Shares per order")
        self.quantity_box = self._number("TradeQuantity", 0, 1, MAX_QUANTITY, 100, 1, "Shares per order")
        layout.addWidget(self.quantity_box)
        caption("SL", "Stop loss distance from the entry price (0 = none): the order becomes a bracket")
        self.stop_loss_box = self._number("TradeStopLoss", 2, 0, 1e6, 0, 0.05,
                                          "Stop loss this far below a buy's entry (above a sell's); 0 = none")
        layout.addWidget(self.stop_loss_box)
        caption("TP", "Take profit distance from the entry price (0 = none): the order becomes a bracket")
        self.take_profit_box = self._number("TradeTakeProfit", 2, 0, 1e6, 0, 0.05,
                                            "Take profit this far above a buy's entry (below a sell's); 0 = none")
        layout.addWidget(self.take_profit_box)

        self.sell_button = self._button("SellButton", "Sell MKT", f"Sell at market ({_keys('sell_market')})",
                                        theme.DOWN, self.sell_requested)
        self.buy_button = self._button("BuyButton", "Buy MKT", f"Buy at market ({_keys('buy_market')})",
                                       theme.UP, self.buy_requested)
        self.flatten_button = self._button("FlattenButton", "Flatten",
                                           f"Cancel the symbol's orders and close its position ({_keys('flatten')})",
                                           None, self.flatten_requested)
        self.cancel_all_button = self._button("CancelAllButton", "Cancel all",
                                              f"Cancel every working order of the symbol "
                                              f"({_keys('cancel_all_orders')})", None, self.cancel_all_requested)
        for button in (self.sell_button, self.buy_button, self.flatten_button, self.cancel_all_button):
            layout.addWidget(button)

        self.answer_label = AnswerLabel("")
        self.answer_label.setObjectName("TradeAnswer")
        self.answer_label.setMinimumWidth(1)
        self.answer_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.answer_label.setToolTip("The answer to your last hand order (also in the status bar and the signal log)")
        layout.addWidget(self.answer_label, 1)

    def sizeHint(self) -> QSize:
        """As wide as the controls need (the answer takes what is left): a toolbar holding the bar never
        moves it into its overflow menu because of a long answer."""
        return self.minimumSizeHint()

    def _number(self, name: str, decimals: int, low: float, high: float, value: float, step: float,
                tip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setObjectName(name)
        box.setDecimals(decimals)
        box.setRange(low, high)
        box.setValue(value)
        box.setSingleStep(step)
        box.setToolTip(tip)
        box.setKeyboardTracking(False)
        box.setAccelerated(True)
        box.setAlignment(Qt.AlignmentFlag.AlignRight)
        if low == 0:
            box.setSpecialValueText("off")
        box.setFixedWidth(box.fontMetrics().horizontalAdvance("1,000,000" if decimals == 0 else "0000.00") + 42)
        box.lineEdit().returnPressed.connect(self.editing_done)
        return box

    def _button(self, name: str, text: str, tip: str, colour: str | None, signal) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        if colour is not None:
            button.setStyleSheet(
                f"QToolButton#{name} {{ color: #ffffff; background: {colour}; border: 1px solid {colour};"
                f" border-radius: 3px; padding: 2px 10px; font-weight: 600; }}"
                f" QToolButton#{name}:hover {{ background: {theme.blend(colour, '#ffffff', 0.15).name()}; }}"
                f" QToolButton#{name}:pressed {{ background: {theme.blend(colour, '#000000', 0.2).name()}; }}"
                f" QToolButton#{name}:disabled {{ background: {theme.PANEL}; color: {theme.MUTED};"
                f" border-color: {theme.BORDER}; }}")
        button.clicked.connect(signal)
        return button

    # ------------------------------------------------------------------ state
    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Offer these symbols; keeps the current one when still offered. A new current symbol is told
        once (`currentTextChanged`: its price decimals), not for each item the refill goes through."""
        current = self.symbol_combo.currentText()
        self.symbol_combo.blockSignals(True)
        self.symbol_combo.clear()
        self.symbol_combo.addItems(list(symbols))
        i = self.symbol_combo.findText(current)
        self.symbol_combo.setCurrentIndex(i if i >= 0 else (0 if symbols else -1))
        self.symbol_combo.blockSignals(False)
        if self.symbol_combo.currentText() != current:
            self.symbol_combo.currentTextChanged.emit(self.symbol_combo.currentText())

    def set_symbol(self, symbol: str) -> None:
        i = self.symbol_combo.findText(symbol)
        if i >= 0:
            self.symbol_combo.setCurrentIndex(i)

    def symbol(self) -> str:
        return self.symbol_combo.currentText()

    def set_price_decimals(self, decimals: int, step: float | None = None) -> None:
        """Stop loss and take profit distances in the traded symbol's price unit (5 decimals for
        EURUSD's 1.08002), the arrows' step `step` (default 5 units: 0.05 for cents; a tick of 0.25)."""
        step = 5 * 10.0 ** -decimals if step is None else step
        for box in (self.stop_loss_box, self.take_profit_box):
            if box.decimals() != decimals:
                box.setDecimals(decimals)
            if box.singleStep() != step:
                box.setSingleStep(step)

    def quantity(self) -> float:
        return _shown_value(self.quantity_box)

    def stop_loss_distance(self) -> float:
        return _shown_value(self.stop_loss_box)

    def take_profit_distance(self) -> float:
        return _shown_value(self.take_profit_box)

    def unreadable_field(self) -> str:
        """What is wrong when a number box's text is not a number in its range (being typed: empty,
        a lone ".", 0 shares), else "". An order read then would take the box's previous value, not
        what the box shows."""
        for caption, box in (("Qty", self.quantity_box), ("SL", self.stop_loss_box), ("TP", self.take_profit_box)):
            if not box.hasAcceptableInput():
                low = "0 (none)" if box.minimum() == 0 else f"{box.minimum():,g}"
                return f'{caption} "{box.cleanText()}" is not a number from {low} to {box.maximum():,.0f}'
        return ""

    def set_trading_enabled(self, enabled: bool) -> None:
        for widget in (self.buy_button, self.sell_button, self.flatten_button, self.cancel_all_button):
            widget.setEnabled(enabled)

    def show_answer(self, text: str, ok: bool) -> None:
        """The answer to the last hand order: green when done, red with the reason when refused."""
        self.answer_label.setText(text)
        self.answer_label.setToolTip(text)
        self.answer_label.setStyleSheet(f"color: {theme.UP if ok else theme.DOWN};")

    def answer_text(self) -> str:
        return self.answer_label.text()


def _shown_value(box: QDoubleSpinBox) -> float:
    """The number the box shows. Its text is taken first: with keyboard tracking off, a number typed
    but not confirmed (no Enter, and the focus still in the box, as when a Buy or Sell button is
    clicked: tool buttons do not take the focus) is not yet the box's value, and the order took the
    previous one (typed 250, clicked Buy MKT, bought 100; seen in Xvfb)."""
    box.interpretText()
    return float(box.value())
