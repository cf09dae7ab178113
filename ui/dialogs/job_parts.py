"""The parts the store-job dialogs share (Fetch from Alpaca…, Import bars…): their column, title,
form, progress bar, status line and summary box, built alike so the two look alike."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QProgressBar, QVBoxLayout, QWidget

from ui.theme import mono_font


def job_column(dialog: QWidget, title: str, title_name: str) -> QVBoxLayout:
    """The dialog's column with its title at the top."""
    col = QVBoxLayout(dialog)
    col.setContentsMargins(18, 16, 18, 14)
    col.setSpacing(10)
    label = QLabel(title, dialog)
    label.setObjectName(title_name)
    col.addWidget(label)
    return col


def job_form() -> QFormLayout:
    """A form of right-aligned labels."""
    form = QFormLayout()
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
    form.setHorizontalSpacing(12)
    form.setVerticalSpacing(8)
    return form


def job_progress(dialog: QWidget) -> QProgressBar:
    """A thin bar: empty before the job, busy (range 0..0) while it runs."""
    bar = QProgressBar(dialog)
    bar.setRange(0, 1)
    bar.setValue(0)
    bar.setTextVisible(False)
    bar.setFixedHeight(10)
    return bar


def job_status(dialog: QWidget, text: str, name: str) -> QLabel:
    """The one-line (wrapping, selectable) status under the bar."""
    label = QLabel(text, dialog)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def job_summary(dialog: QWidget, name: str, placeholder: str, min_height: int) -> QPlainTextEdit:
    """The read-only monospaced box the job's summary (or its error) goes in."""
    box = QPlainTextEdit(dialog)
    box.setObjectName(name)
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    box.setFont(mono_font())
    box.setMinimumHeight(min_height)
    box.setPlaceholderText(placeholder)
    return box
