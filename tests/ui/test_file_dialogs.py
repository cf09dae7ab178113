"""The file dialogs open at a size for browsing (Qt's own dialog is ~620 pixels wide: the Type column cut,
seen in Xvfb) and answer what the static QFileDialog functions answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLineEdit, QTreeView, QWidget

from ui import file_dialogs
from ui.file_dialogs import (
    DETAIL_WIDTHS,
    DIALOG_SIZE,
    existing_directory,
    open_file_name,
    open_file_names,
    save_file_name,
)

columns: list[list[int]] = []      # the details list's column widths and its width, per dialog


def _answer(seen: list, text: str | None) -> None:
    """At the dialog's first event-loop turn: note its size, then type `text` and accept (None: cancel)."""

    def act() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible())
        seen.append((dialog.width(), dialog.height(), dialog.fileMode(), dialog.acceptMode()))
        header = dialog.findChild(QTreeView, "treeView").header()
        columns.append([header.sectionSize(k) for k in range(4)] + [header.viewport().width()])
        if text is None:
            dialog.reject()
            return
        dialog.findChild(QLineEdit).setText(text)
        dialog.findChild(QDialogButtonBox).button(
            QDialogButtonBox.StandardButton.Save if dialog.acceptMode() is QFileDialog.AcceptMode.AcceptSave
            else QDialogButtonBox.StandardButton.Open).click()

    QTimer.singleShot(0, act)


@pytest.fixture
def own_qt_settings(tmp_path):
    """Qt keeps its own dialog's state (the columns' widths among it) in the user's QtProject.conf and
    restores it: the test's dialogs read and write one of their own instead."""
    fmt, scope = QSettings.Format.NativeFormat, QSettings.Scope.UserScope
    QSettings.setPath(fmt, scope, str(tmp_path / "qt-settings"))
    yield
    QSettings.setPath(fmt, scope, os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config"))


def test_each_dialog_opens_wide_and_answers_the_chosen_paths(qtbot, tmp_path, own_qt_settings):
    parent = QWidget()
    qtbot.addWidget(parent)
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x")
    (tmp_path / "store").mkdir()
    seen: list = []
    _answer(seen, "a.csv")
    assert open_file_name(parent, "Open", str(tmp_path), "CSV (*.csv)") == str(tmp_path / "a.csv")
    _answer(seen, '"a.csv" "b.csv"')
    assert sorted(open_file_names(parent, "Open", str(tmp_path), "CSV (*.csv)")) == \
        [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    _answer(seen, "new.html")
    assert save_file_name(parent, "Save", str(tmp_path), "HTML (*.html)") == str(tmp_path / "new.html")
    _answer(seen, "store")
    assert existing_directory(parent, "Folder", str(tmp_path)) == str(tmp_path / "store")
    _answer(seen, None)
    assert open_file_name(parent, "Open", str(tmp_path)) == ""
    _answer(seen, None)
    assert open_file_names(parent, "Open", str(tmp_path)) == []
    modes = [(mode, accept) for _w, _h, mode, accept in seen[:4]]
    assert modes == [(QFileDialog.FileMode.ExistingFile, QFileDialog.AcceptMode.AcceptOpen),
                     (QFileDialog.FileMode.ExistingFiles, QFileDialog.AcceptMode.AcceptOpen),
                     (QFileDialog.FileMode.AnyFile, QFileDialog.AcceptMode.AcceptSave),
                     (QFileDialog.FileMode.Directory, QFileDialog.AcceptMode.AcceptOpen)]
    area = parent.screen().availableGeometry()
    expected = (min(DIALOG_SIZE[0], area.width() - file_dialogs.SCREEN_MARGIN[0]),
                min(DIALOG_SIZE[1], area.height() - file_dialogs.SCREEN_MARGIN[1]))
    assert {(w, h) for w, h, _m, _a in seen} == {expected}
    assert expected[0] >= 800 or area.width() < 840
    # the file names take what the Size, Type and Date columns leave ("JSON document" not cut)
    for name, *details, width in columns:
        assert details == list(DETAIL_WIDTHS) and name == width - sum(DETAIL_WIDTHS)


def test_a_folder_dialog_can_start_with_a_folder_selected(qtbot, tmp_path, own_qt_settings):
    """The results window's "Open run folder": the newest run selected, Open takes it as it is."""
    parent = QWidget()
    qtbot.addWidget(parent)
    for name in ("run-a", "run-b"):
        (tmp_path / name).mkdir()

    def accept() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible())
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Open).click()

    QTimer.singleShot(0, accept)
    assert existing_directory(parent, "Open run folder", str(tmp_path), str(tmp_path / "run-b")) == \
        str(tmp_path / "run-b")
