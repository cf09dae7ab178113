"""The dialog that asks for a text note's text (several lines; Ctrl+Enter keeps it)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class NoteDialog(QtWidgets.QDialog):
    """The text of a note: several lines; Ctrl+Enter (or OK) keeps it, Esc cancels, Tab leaves the text."""

    def __init__(self, parent: QtWidgets.QWidget | None, initial: str):
        super().__init__(parent)
        self.setWindowTitle("Text note")
        self.editor = QtWidgets.QPlainTextEdit(initial)
        self.editor.setTabChangesFocus(True)
        self.editor.setPlaceholderText("What to remember here")
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.editor.installEventFilter(self)
        hint = QtWidgets.QLabel("Ctrl+Enter keeps the note")
        hint.setEnabled(False)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.editor)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(hint, 1)
        row.addWidget(buttons)
        lay.addLayout(row)
        self.resize(360, 180)

    def text(self) -> str:
        return self.editor.toPlainText().strip()

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if (
            obj is self.editor
            and ev.type() == QtCore.QEvent.Type.KeyPress
            and ev.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)
            and ev.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier
        ):
            self.accept()
            return True
        return super().eventFilter(obj, ev)


def ask_note_text(parent: QtWidgets.QWidget | None, initial: str) -> str | None:
    """Ask for a note's text in a dialog (None when cancelled or left empty)."""
    dialog = NoteDialog(parent, initial)
    ok = dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
    text = dialog.text()
    dialog.deleteLater()
    return text if ok and text else None
