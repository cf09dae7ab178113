"""A Qt test outside tests/ui runs under the application's Qt policy (tests/conftest.py), whatever
ran before it: in CI order the fault tests' Qt tests run before any UI test."""

from __future__ import annotations

import gc
import sys


def test_a_qt_test_outside_the_ui_tests_runs_under_the_applications_qt_policy(qtbot, qapp):
    from PySide6.QtCore import QTimer

    from ui.app import none_refcount_leaks

    assert not gc.isenabled()                                   # collection only in the GUI thread
    timer = qapp.findChild(QTimer, "gui_thread_gc")
    assert timer is not None and timer.isActive()
    assert sys.getrefcount(None) > 1 << 39 or not none_refcount_leaks()   # the None-refcount guard
