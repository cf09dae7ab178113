"""Colour checks of what the UI paints: WCAG contrast of an icon against a background."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPixmap


def luminance(c: QColor) -> float:
    """WCAG relative luminance of a colour."""
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def icon_contrast(pixmap: QPixmap, background: str) -> float:
    """WCAG contrast ratio of the brightest opaque pixel of `pixmap` against `background`."""
    image = pixmap.toImage()
    bright = max((luminance(image.pixelColor(x, y)) for x in range(image.width()) for y in range(image.height())
                  if image.pixelColor(x, y).alpha() > 200), default=0.0)
    back = luminance(QColor(background))
    return (max(bright, back) + 0.05) / (min(bright, back) + 0.05)
