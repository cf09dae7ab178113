"""Real mouse input for widget tests: press, move with the button held, release (QTest.mouseMove
cannot hold a button), sent to a widget as the window system would."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

LEFT = QtCore.Qt.MouseButton.LeftButton
RIGHT = QtCore.Qt.MouseButton.RightButton
NONE = QtCore.Qt.MouseButton.NoButton
MOVE_GAP_MS = 15  # pyqtgraph drops mouse moves closer than 10 ms apart (its mouseRateLimit)


def _send(widget: QtWidgets.QWidget, kind, pos: QtCore.QPointF, button, buttons) -> None:
    global_pos = QtCore.QPointF(widget.mapToGlobal(pos.toPoint()))
    ev = QtGui.QMouseEvent(kind, pos, global_pos, button, buttons, QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, ev)


def move(widget: QtWidgets.QWidget, pos: QtCore.QPointF) -> None:
    """Move the mouse (no button held)."""
    QTest.qWait(MOVE_GAP_MS)
    _send(widget, QtCore.QEvent.Type.MouseMove, QtCore.QPointF(pos), NONE, NONE)


def click(widget: QtWidgets.QWidget, pos: QtCore.QPointF, button=LEFT) -> None:
    """Press and release at ``pos`` (after moving there)."""
    pos = QtCore.QPointF(pos)
    move(widget, pos)
    _send(widget, QtCore.QEvent.Type.MouseButtonPress, pos, button, button)
    _send(widget, QtCore.QEvent.Type.MouseButtonRelease, pos, button, NONE)
    QTest.qWait(QtWidgets.QApplication.doubleClickInterval() + 20)  # the next click is not a double click


def double_click(widget: QtWidgets.QWidget, pos: QtCore.QPointF) -> None:
    pos = QtCore.QPointF(pos)
    move(widget, pos)
    for kind in (QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease,
                 QtCore.QEvent.Type.MouseButtonDblClick, QtCore.QEvent.Type.MouseButtonRelease):
        held = LEFT if kind != QtCore.QEvent.Type.MouseButtonRelease else NONE
        _send(widget, kind, pos, LEFT, held)


def drag(widget: QtWidgets.QWidget, start: QtCore.QPointF, end: QtCore.QPointF, steps: int = 8) -> None:
    """Press at ``start``, move to ``end`` in ``steps`` with the left button held, release."""
    start, end = QtCore.QPointF(start), QtCore.QPointF(end)
    move(widget, start)
    _send(widget, QtCore.QEvent.Type.MouseButtonPress, start, LEFT, LEFT)
    for k in range(1, steps + 1):
        p = start + (end - start) * (k / steps)
        QTest.qWait(MOVE_GAP_MS)
        _send(widget, QtCore.QEvent.Type.MouseMove, p, NONE, LEFT)
    _send(widget, QtCore.QEvent.Type.MouseButtonRelease, end, LEFT, NONE)
    QTest.qWait(QtWidgets.QApplication.doubleClickInterval() + 20)
