"""The keyboard shortcuts dialog (F1 or ?): every shortcut of ui.shortcuts, grouped by where it works,
and the mouse gestures of the charts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from ui import theme
from ui.screen_fit import fit_to_screen
from ui.shortcuts import MOUSE, MOUSE_GESTURES, SHORTCUTS


def key_text(keys: tuple[str, ...]) -> str:
    """'F1 or ?' in the platform's notation."""
    return " or ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) or k for k in keys)


class ShortcutsDialog(QDialog):
    """A read-only list of every shortcut and mouse gesture."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        scopes: dict[str, list[tuple[str, str]]] = {}
        for s in SHORTCUTS:
            scopes.setdefault(s.scope, []).append((key_text(s.keys), s.description))
        scopes[MOUSE] = list(MOUSE_GESTURES)
        rows = []
        for scope, entries in scopes.items():
            rows.append(
                f"<tr><td colspan=2 style='padding:10px 0 4px 0; color:{theme.TEXT}; font-weight:600'>{scope}</td></tr>"
            )
            for keys, text in entries:
                rows.append(
                    f"<tr><td style='padding:2px 18px 2px 0; white-space:nowrap'>"
                    f"<span style='color:{theme.ACCENT_LIGHT}; font-family:monospace'>{keys}</span></td>"
                    f"<td style='color:{theme.TEXT}'>{text}</td></tr>"
                )
        self.label = QLabel("<table>" + "".join(rows) + "</table>")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setContentsMargins(16, 8, 16, 8)
        self.label.setWordWrap(True)      # long descriptions wrap in their column: no sideways scrolling
        self.scroll = scroll = QScrollArea()
        scroll.setWidget(self.label)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(scroll, 1)
        lay.addWidget(buttons)
        fit_to_screen(self, 720, min(self.label.sizeHint().height() + 70, 900))

    def text(self) -> str:
        """The list as plain text (for tests)."""
        return self.label.text()
