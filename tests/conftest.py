"""The Qt process policy for every test that uses Qt, wherever it lives (tests/ui, tests/faults, ...).

The application installs two guards (ui.app): the PySide6 None-refcount guard before its first Qt
call, and garbage collection only in the GUI thread. A test that asks for `qapp` or `qtbot` gets the
same policy the first time any such test runs (the guard before its fixtures create the
QApplication), so the outcome of a Qt test does not depend on which folder's tests ran first. Tests
that use no Qt import none.
"""

from __future__ import annotations

import pytest

QT_FIXTURES = ("qapp", "qtbot")


def _uses_qt(item: pytest.Item) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in QT_FIXTURES)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the fixtures of a Qt test are set up: PySide6 6.12 on Python 3.11 drains None's refcount
    on every void call, and the process aborts ("deallocating None") once enough Qt calls were made
    without the guard (once per process; a no-op where the leak is absent)."""
    if _uses_qt(item):
        from ui.app import install_none_refcount_guard

        install_none_refcount_guard()


@pytest.fixture(scope="session")
def qt_process_policy(qapp):
    """Garbage collection only in the GUI thread, as the application does (see ui.app)."""
    import gc

    from ui.collector import install_gui_thread_gc

    timer = install_gui_thread_gc(qapp)
    yield timer
    timer.stop()
    gc.enable()


@pytest.fixture(autouse=True)
def qt_policy_for_qt_tests(request):
    """Give a test that uses Qt the process policy before its body runs."""
    if _uses_qt(request.node):
        request.getfixturevalue("qt_process_policy")
