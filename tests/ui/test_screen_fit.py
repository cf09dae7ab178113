"""Windows fit the screen they open on (a 1280 x 800 laptop sees the whole window)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow

from ui.app import size_main_window
from ui.screen_fit import FRAME_ALLOWANCE, fit_to_screen, screen_of


def _area(window):
    return screen_of(window).availableGeometry()


def test_a_window_larger_than_the_screen_is_shrunk_and_placed_inside_it(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    area = _area(w)   # offscreen: 800 x 800
    width, height = area.width() + 800, area.height() + 200
    assert fit_to_screen(w, width, height) == (area.width() - FRAME_ALLOWANCE[0], area.height() - FRAME_ALLOWANCE[1])
    assert (w.width(), w.height()) == (area.width() - FRAME_ALLOWANCE[0], area.height() - FRAME_ALLOWANCE[1])
    assert area.contains(w.geometry())


def test_a_window_that_fits_keeps_its_size_and_place(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    w.move(30, 40)
    area = _area(w)
    assert fit_to_screen(w, area.width() - 100, area.height() - 300) == (area.width() - 100, area.height() - 300)
    assert (w.width(), w.height(), w.x(), w.y()) == (area.width() - 100, area.height() - 300, 30, 40)


def test_only_the_too_large_side_is_shrunk(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    area = _area(w)
    fit_to_screen(w, area.width() + 500, 300)
    assert (w.width(), w.height()) == (area.width() - FRAME_ALLOWANCE[0], 300)


def test_the_main_window_fits_the_screen_unless_a_size_or_saved_geometry_is_given(ui_make_window, tmp_path):
    w = ui_make_window()
    area = _area(w)
    assert not w.geometry_restored
    w.resize(1600, 1000)
    size_main_window(w, None)   # no --size, no saved geometry: shrunk to the 800 x 800 offscreen screen
    least = w.minimumSizeHint()   # the toolbars need ~990 px: wider than this screen, not than 1280
    assert w.width() == max(area.width() - FRAME_ALLOWANCE[0], least.width()) < 1600
    assert w.height() == max(area.height() - FRAME_ALLOWANCE[1], least.height()) < 1000
    size_main_window(w, (1280, 900))   # --size wins, even larger than the screen (screenshots)
    assert (w.width(), w.height()) == (1280, 900)


def test_a_restored_geometry_is_not_refitted(qtbot, ui_make_window, tmp_path):
    from ui.main_window import MainWindow

    ini = str(tmp_path / "gui.ini")
    first = MainWindow(settings=QSettings(ini, QSettings.Format.IniFormat), persist=True)
    qtbot.addWidget(first)
    first.resize(700, 500)
    first.save_settings()
    second = MainWindow(settings=QSettings(ini, QSettings.Format.IniFormat), persist=True)
    qtbot.addWidget(second)
    assert second.geometry_restored
    size_main_window(second, None)
    assert (second.width(), second.height()) == (700, 500)


def test_a_window_shrunk_to_a_small_screen_gives_the_chart_most_of_its_height(qtbot, ui_make_window):
    from ui.main_window import BOTTOM_DOCK_SHARE

    w = ui_make_window()
    w.resize(1600, 1000)
    qtbot.wait(50)
    before = w.signal_dock.height()
    size_main_window(w, None)
    assert int(w.height() * BOTTOM_DOCK_SHARE) + 8 < before
    qtbot.waitUntil(lambda: w.signal_dock.height() <= int(w.height() * BOTTOM_DOCK_SHARE) + 8, timeout=2000)
    assert w.centralWidget().height() > w.signal_dock.height()


# Run in a child process: when the screen is deleted, the process that deleted it crashes later.
COLLECTED_WINDOWS_SCRIPT = textwrap.dedent("""
    import gc
    from PySide6.QtWidgets import QApplication, QWidget
    from ui.screen_fit import fit_to_screen
    app = QApplication([])
    deleted = []
    app.primaryScreen().destroyed.connect(lambda *_: deleted.append(True))

    class Window(QWidget):
        pass

    first = QWidget()
    fit_to_screen(first, 2000, 2000)
    second = Window()
    second.itself = second            # a reference cycle, as windows with bound-method slots have
    fit_to_screen(second, 2000, 2000)
    del first, second
    gc.collect()
    print("screen deleted" if deleted else "screen kept", len(app.screens()))
""")


def test_fitting_windows_never_lets_the_collector_delete_the_screen():
    """Two fitted windows, one in a reference cycle, collected together: the application's QScreen
    must survive (with `QWidget.screen()` PySide6 6.11's collector deleted it and the next layout
    crashed: the segfaults of full test-suite runs in tests/ui/test_timeline.py)."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", COLLECTED_WINDOWS_SCRIPT], cwd=root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["screen", "kept", "1"], done.stdout + done.stderr[-2000:]


# A 1366 x 768 screen (the common laptop), through the offscreen platform's screen configuration.
LAPTOP_SCREEN = '{"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768}]}'
DIALOGS_SCRIPT = textwrap.dedent("""
    import json, sys
    from PySide6.QtWidgets import QApplication
    from ui.app import install_none_refcount_guard
    install_none_refcount_guard()
    app = QApplication([])
    from ui.dialogs.config_editor import ConfigEditorDialog
    from ui.dialogs.shortcuts_dialog import ShortcutsDialog
    area = app.primaryScreen().availableGeometry()
    editor = ConfigEditorDialog(config_path="session_configs/example_session.json", store_path=sys.argv[1])
    editor.show()
    shortcuts = ShortcutsDialog()
    shortcuts.show()
    app.processEvents()
    out = {"area": [area.width(), area.height()]}
    for name, dialog in (("editor", editor), ("shortcuts", shortcuts)):
        out[name] = [dialog.geometry().x(), dialog.geometry().y(), dialog.width(), dialog.height()]
    bottom = max(b.mapToGlobal(b.rect().bottomLeft()).y() for b in (editor._save_button, editor._run_button))
    out["editor_buttons_bottom"] = bottom
    print("DIALOGS " + json.dumps(out))
""")


def test_the_config_editor_and_the_shortcuts_fit_a_1366x768_screen(tmp_path):
    """At 750 px the config editor ran off the bottom of a 1366 x 768 laptop screen, its Save and Run
    buttons out of reach (no window manager shrinks a window to the screen); the shortcut list asks for up
    to 900 px. Both now fit the screen they open on."""
    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "screen.json"
    config.write_text(LAPTOP_SCREEN)
    done = subprocess.run([sys.executable, "-c", DIALOGS_SCRIPT, str(root / "data" / "store")], cwd=root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
                               "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    out = json.loads(done.stdout.split("DIALOGS ", 1)[1])
    width, height = out["area"]
    assert (width, height) == (1366, 768)
    for name in ("editor", "shortcuts"):
        x, y, w, h = out[name]
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height, (name, out[name])
        assert h + FRAME_ALLOWANCE[1] <= height, (name, out[name])     # room for its title bar
    assert out["editor_buttons_bottom"] < height - FRAME_ALLOWANCE[1] // 2
