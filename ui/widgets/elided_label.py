"""A one-line QLabel that ends its text in "…" where it does not fit, instead of being clipped or
widening its window.

A plain QLabel asks for the width of its whole text: in a status bar or a toolbar a long text (a
config file's name while it loads) raised the window's minimum width past the screen, and Qt widened
the window to it (1350 → 1380 px on a 1366 px screen) and left it so."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel


class ElidedLabel(QLabel):
    """A one-line label that elides its text with "…" instead of being clipped; full text in the tooltip.
    Its minimum width is small whatever its text: it takes the room its layout gives it."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(10, hint.height())

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def shown_text(self) -> str:
        """The text as drawn: elided to the label's width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())
