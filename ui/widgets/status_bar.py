"""A status bar whose messages end in "…" where they would run under its permanent read-outs.

QStatusBar draws a message in the room left of its permanent widgets and clips it there, mid-word
(at 1280 px a config's name in "Loaded example_orb.json: Demo: opening-range breakout …" was cut
after a letter). This one shortens a message that does not fit to what fits with an ellipsis and
keeps the whole text in its tooltip while the message shows.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar, QWidget


class ElidingStatusBar(QStatusBar):
    """QStatusBar with `showMessage` eliding to the room its permanent widgets leave."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self.full_message = ""           # the text last asked for, before any shortening
        self.messageChanged.connect(self._on_message_changed)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802 - Qt's name
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def message_room(self) -> int:
        """Width (px) a message has: up to the first visible permanent widget, less the margins."""
        lefts = [w.geometry().left() for w in self._permanent if w.isVisible() and w.geometry().left() > 0]
        right = min(lefts) if lefts else self.width()
        margins = self.layout().contentsMargins() if self.layout() is not None else None
        return max(0, right - 2 * (margins.left() if margins is not None else 0) - 8)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self.full_message = text
        shown = text
        room = self.message_room() if self.isVisible() else 0     # not laid out yet: the room is unknown
        if text and room and self.fontMetrics().horizontalAdvance(text) > room:
            shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, room)
        self.setToolTip(text if shown != text else "")
        super().showMessage(shown, timeout)

    def _on_message_changed(self, message: str) -> None:
        if not message:                  # cleared or timed out: no stale tooltip
            self.setToolTip("")
            self.full_message = ""
