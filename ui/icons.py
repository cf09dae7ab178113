"""Icons drawn in the theme's colours: the replay's transport (play, pause, step, back, stop) and the
config editor's. Qt's standard media icons are black glyphs made for light themes: on the dark
toolbar and menus they were nearly invisible (the enabled Play as dark as the disabled Pause).

Each icon has a normal pixmap in the theme's text colour and a disabled one in its muted colour,
drawn at 16 and 32 px (sharp on scaled screens)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPainterPath, QPixmap

from ui import theme

SIZES = (16, 32)


def _play(s: float) -> QPainterPath:
    path = QPainterPath()
    path.moveTo(0.28 * s, 0.18 * s)
    path.lineTo(0.80 * s, 0.50 * s)
    path.lineTo(0.28 * s, 0.82 * s)
    path.closeSubpath()
    return path


def _pause(s: float) -> QPainterPath:
    path = QPainterPath()
    path.addRect(QRectF(0.25 * s, 0.20 * s, 0.17 * s, 0.60 * s))
    path.addRect(QRectF(0.58 * s, 0.20 * s, 0.17 * s, 0.60 * s))
    return path


def _stop(s: float) -> QPainterPath:
    path = QPainterPath()
    path.addRect(QRectF(0.24 * s, 0.24 * s, 0.52 * s, 0.52 * s))
    return path


def _skip(s: float, forward: bool) -> QPainterPath:
    """Two triangles and a bar: ▶▶| forward, |◀◀ back."""
    def x(v: float) -> float:
        return v * s if forward else (1.0 - v) * s

    path = QPainterPath()
    for left in (0.12, 0.42):
        path.moveTo(QPointF(x(left), 0.22 * s))
        path.lineTo(QPointF(x(left + 0.32), 0.50 * s))
        path.lineTo(QPointF(x(left), 0.78 * s))
        path.closeSubpath()
    bar = QRectF(min(x(0.76), x(0.88)), 0.22 * s, 0.12 * s, 0.56 * s)
    path.addRect(bar)
    return path


def _lines(s: float) -> QPainterPath:
    """A page of lines (edit the config)."""
    path = QPainterPath()
    for k in range(4):
        path.addRect(QRectF(0.20 * s, (0.22 + 0.16 * k) * s, 0.60 * s, 0.08 * s))
    return path


SHAPES: dict[str, Callable[[float], QPainterPath]] = {
    "play": _play, "pause": _pause, "stop": _stop, "step": lambda s: _skip(s, True),
    "back": lambda s: _skip(s, False), "edit": _lines,
}


def themed_icon(kind: str) -> QIcon:
    """The icon `kind` (a key of SHAPES) in the theme's text colour, muted when disabled."""
    shape = SHAPES[kind]
    icon = QIcon()
    for mode, colour in ((QIcon.Mode.Normal, theme.TEXT), (QIcon.Mode.Active, theme.TEXT_BRIGHT),
                         (QIcon.Mode.Disabled, theme.blend(theme.MUTED, theme.PANEL, 0.35).name())):
        for size in SIZES:
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillPath(shape(float(size)), theme.qcolor(colour))
            painter.end()
            icon.addPixmap(pixmap, mode)
    return icon
