"""Top-level windows that fit the screen they open on.

The main window's default size (1600 x 1000) and the other windows' (1400 x 900) are larger than a
1280 x 800 laptop screen: opened at that size, part of the window (the docks on the right, the
signal log's rows) lies off the screen where no window manager shrinks it. `fit_to_screen` gives a
window its default size where the screen has room for it, and otherwise the screen's available area
(minus the room a window frame takes), placed inside that area.

The screen is looked up with QGuiApplication's static functions, never `QWidget.screen()`: PySide6
(6.11) makes the QScreen wrapper that `screen()` returns a Python-side child of the widget, and when
such a widget is collected in a reference cycle the garbage collector can hand the wrapper ownership
of the application's QScreen and delete it (a later layout or menu then crashes in QScreen; see
tests/ui/test_screen_fit.py::test_fitting_windows_never_lets_the_collector_delete_the_screen).
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

# room kept for the window manager's frame and title bar when a window is shrunk to the screen
FRAME_ALLOWANCE = (16, 48)


def screen_of(window: QWidget) -> QScreen | None:
    """The screen under the window's centre, else the primary screen (None without screens). Static
    look-ups only: see the module docstring for why not `window.screen()`."""
    return QGuiApplication.screenAt(window.frameGeometry().center()) or QGuiApplication.primaryScreen()


def fit_to_screen(window: QWidget, width: int, height: int) -> tuple[int, int]:
    """Resize `window` to width x height, or smaller so that it fits, with a window frame
    (FRAME_ALLOWANCE), its screen's available area, and move it inside that area when it was shrunk.
    Returns the size given."""
    screen = screen_of(window)
    if screen is None:
        window.resize(width, height)
        return width, height
    area = screen.availableGeometry()
    # with its frame: a 750 px dialog and its title bar do not fit a 768 px screen
    fit_w = width + FRAME_ALLOWANCE[0] <= area.width()
    fit_h = height + FRAME_ALLOWANCE[1] <= area.height()
    fits = fit_w and fit_h
    w = width if fit_w else max(320, area.width() - FRAME_ALLOWANCE[0])
    h = height if fit_h else max(240, area.height() - FRAME_ALLOWANCE[1])
    window.resize(w, h)
    if not fits:
        window.move(area.left() + (area.width() - w) // 2, area.top())
    return w, h
