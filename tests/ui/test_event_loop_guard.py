"""The UI conftest's guard against a stopped Qt event loop (see `ui_event_loop_alive`)."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from tests.ui.conftest import event_loop_stuck, unstick_event_loop


def test_exit_outside_exec_is_detected_and_repaired(qtbot, qapp):
    assert not event_loop_stuck()
    qapp.exit(0)  # what leaves Qt's "quit now" flag set: no application exec() is running
    assert event_loop_stuck()
    fired: list[int] = []
    QTimer.singleShot(1, lambda: fired.append(1))
    qtbot.wait(50)  # returns at once: the timer cannot fire
    assert fired == []
    unstick_event_loop(qapp)
    assert not event_loop_stuck()
    qtbot.waitUntil(lambda: fired == [1], timeout=2000)
