"""Colours, fonts and pens of the chart (dark, TradingView-like defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui


@dataclass(frozen=True)
class ChartTheme:
    """Colours and fonts of the chart."""

    background: str = "#131722"
    grid: str = "#1e222d"
    separator: str = "#2a2e39"
    axis_line: str = "#2a2e39"
    text: str = "#b2b5be"
    text_bright: str = "#d1d4dc"
    text_dim: str = "#787b86"
    up: str = "#26a69a"
    down: str = "#ef5350"
    line: str = "#e1e5ee"
    volume_alpha: int = 120
    wick_alpha_decimated: int = 150
    crosshair: str = "#758696"
    pre_market: str = "#ff9800"         # extended-hours shading (drawn faint, behind the grid)
    post_market: str = "#2962ff"
    extended_hours_alpha: int = 26
    closing_window: str = "#e040fb"     # the session-close rule's last minutes (drawn faint like the above)
    badge: str = "#363a45"
    buy_marker: str = "#00e676"
    sell_marker: str = "#ff1744"
    drawing: str = "#2962ff"            # the drawing tools' accent (toolbar, live button)
    # a new drawing's colour: light, and no indicator's (the first overlay, e.g. the default SMA(20), and the
    # MACD line are #2962ff: a trend line drawn in that blue along the SMA could not be told from it)
    new_drawing: str = "#f0f3fa"
    drawing_selected: str = "#ffb74d"
    overlay_colors: tuple[str, ...] = (
        "#2962ff",
        "#ff9800",
        "#e040fb",
        "#00bcd4",
        "#ffeb3b",
        "#8d6e63",
        "#f06292",
    )
    font_px: int = 11
    title_font_px: int = 13


def qcolor(hex_color: str, alpha: int | None = None) -> QtGui.QColor:
    """A QColor from '#rrggbb', optionally with an alpha (0-255)."""
    c = QtGui.QColor(hex_color)
    if alpha is not None:
        c.setAlpha(alpha)
    return c


def cosmetic_pen(
    color: QtGui.QColor, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine, width: int = 1
) -> QtGui.QPen:
    """A pen whose width is in pixels whatever the view's scale."""
    pen = QtGui.QPen(color)
    pen.setCosmetic(True)
    pen.setWidth(width)
    pen.setStyle(style)
    return pen
