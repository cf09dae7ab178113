"""File dialogs opened at a size for browsing data folders.

Where the desktop offers no native file dialog (a minimal window manager, Xvfb, a desktop without
its portal), Qt shows its own, ~620 pixels wide: the file names cramped and the Type column cut
("JSO…ent"). These functions open it at DIALOG_SIZE (within the screen's available area) and return
what the static QFileDialog functions do ("" or [] when cancelled). A native dialog is still used
where there is one, at its own size.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHeaderView, QTreeView, QWidget

__all__ = ["DIALOG_SIZE", "existing_directory", "open_file_name", "open_file_names", "save_file_name"]

DIALOG_SIZE = (900, 560)
SCREEN_MARGIN = (40, 80)        # left around the dialog on a smaller screen (its frame, a panel)
DETAIL_WIDTHS = (90, 150, 150)  # Qt's own dialog's Size, Type and Date Modified columns; Name takes the rest


def sized(dialog: QFileDialog) -> QFileDialog:
    """`dialog` resized to DIALOG_SIZE, or to its screen's available area less SCREEN_MARGIN."""
    parent = dialog.parentWidget()
    screen = parent.screen() if parent is not None else QGuiApplication.primaryScreen()
    width, height = DIALOG_SIZE
    if screen is not None:
        area = screen.availableGeometry()
        width = min(width, area.width() - SCREEN_MARGIN[0])
        height = min(height, area.height() - SCREEN_MARGIN[1])
    dialog.resize(width, height)
    details = dialog.findChild(QTreeView, "treeView")     # Qt's own dialog's list (none in a native one)
    if details is not None:
        header = details.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, pixels in enumerate(DETAIL_WIDTHS, start=1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, pixels)
    return dialog


def _ask(parent: QWidget | None, title: str, start: str, name_filter: str, mode: QFileDialog.FileMode,
         accept: QFileDialog.AcceptMode = QFileDialog.AcceptMode.AcceptOpen, select: str | None = None) -> list[str]:
    dialog = sized(QFileDialog(parent, title, start, name_filter))
    dialog.setFileMode(mode)
    dialog.setAcceptMode(accept)
    if mode is QFileDialog.FileMode.Directory:
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    if select is not None:
        dialog.selectFile(select)
    return dialog.selectedFiles() if dialog.exec() else []


def open_file_name(parent: QWidget | None, title: str, start: str, name_filter: str = "") -> str:
    """One existing file ("" when cancelled)."""
    chosen = _ask(parent, title, start, name_filter, QFileDialog.FileMode.ExistingFile)
    return chosen[0] if chosen else ""


def open_file_names(parent: QWidget | None, title: str, start: str, name_filter: str = "") -> list[str]:
    """Existing files ([] when cancelled)."""
    return _ask(parent, title, start, name_filter, QFileDialog.FileMode.ExistingFiles)


def save_file_name(parent: QWidget | None, title: str, start: str, name_filter: str = "") -> str:
    """A file to write, an existing one confirmed by the dialog ("" when cancelled)."""
    chosen = _ask(parent, title, start, name_filter, QFileDialog.FileMode.AnyFile, QFileDialog.AcceptMode.AcceptSave)
    return chosen[0] if chosen else ""


def existing_directory(parent: QWidget | None, title: str, start: str, select: str | None = None) -> str:
    """An existing folder ("" when cancelled); `select`: a folder in `start` selected at first."""
    chosen = _ask(parent, title, start, "", QFileDialog.FileMode.Directory, select=select)
    return chosen[0] if chosen else ""
