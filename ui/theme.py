"""The workstation's dark theme: colour constants, fonts, a Fusion palette and the application style sheet.

Colours follow the TradingView-like dark scheme traders know (teal up, red down). Widgets import the
constants for custom painting; `apply_theme(app)` styles every standard widget once at start-up.
Extra rules in `resources/style.qss` (next to `ui/`) are appended after the built-in sheet.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

logger = logging.getLogger(__name__)

BACKGROUND = "#131722"
PANEL = "#1e222d"
PANEL_ALT = "#222632"
BORDER = "#2a2e39"
HOVER = "#2a2e39"
SCROLL_HANDLE = "#4a4e5a"  # visible on PANEL without drawing the eye
SELECTION = "#2b3a63"
TEXT = "#d1d4dc"
TEXT_BRIGHT = "#eceff5"
MUTED = "#787b86"
ACCENT = "#2962ff"
ACCENT_LIGHT = "#5b8cff"
UP = "#26a69a"
DOWN = "#ef5350"
AMBER = "#f0b90b"
ERROR_ROW = "#3b1e25"

UI_POINT_SIZE = 9
TABLE_POINT_SIZE = 9

STYLE_OVERRIDES = Path(__file__).resolve().parent.parent / "resources" / "style.qss"


def qcolor(hex_colour: str, alpha: int = 255) -> QColor:
    """A QColor from one of the hex constants, optionally translucent (alpha 0-255)."""
    colour = QColor(hex_colour)
    colour.setAlpha(alpha)
    return colour


def blend(a: str | QColor, b: str | QColor, t: float) -> QColor:
    """Linear RGB mix of two colours: t=0 gives `a`, t=1 gives `b` (t is clamped to [0, 1])."""
    ca, cb = QColor(a), QColor(b)
    t = min(1.0, max(0.0, t))
    return QColor(
        round(ca.red() + (cb.red() - ca.red()) * t),
        round(ca.green() + (cb.green() - ca.green()) * t),
        round(ca.blue() + (cb.blue() - ca.blue()) * t),
    )


def mono_font(point_size: float = TABLE_POINT_SIZE, bold: bool = False) -> QFont:
    """The system fixed-pitch font at `point_size`, for aligned numbers and times."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def ui_font(point_size: float = UI_POINT_SIZE, bold: bool = False) -> QFont:
    """The application's proportional UI font at `point_size`."""
    font = QFont(QApplication.font())
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def build_palette() -> QPalette:
    """A dark QPalette matching the colour constants (used with the Fusion style)."""
    palette = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    palette.setColor(role.Window, QColor(BACKGROUND))
    palette.setColor(role.WindowText, QColor(TEXT))
    palette.setColor(role.Base, QColor(PANEL))
    palette.setColor(role.AlternateBase, QColor(PANEL_ALT))
    palette.setColor(role.ToolTipBase, QColor(PANEL))
    palette.setColor(role.ToolTipText, QColor(TEXT))
    palette.setColor(role.PlaceholderText, QColor(MUTED))
    palette.setColor(role.Text, QColor(TEXT))
    palette.setColor(role.Button, QColor(PANEL))
    palette.setColor(role.ButtonText, QColor(TEXT))
    palette.setColor(role.BrightText, QColor(TEXT_BRIGHT))
    palette.setColor(role.Light, QColor(BORDER))
    palette.setColor(role.Midlight, QColor(BORDER))
    palette.setColor(role.Mid, QColor(BORDER))
    palette.setColor(role.Dark, QColor(BACKGROUND))
    palette.setColor(role.Shadow, QColor("#0b0e14"))
    palette.setColor(role.Highlight, QColor(SELECTION))
    palette.setColor(role.HighlightedText, QColor(TEXT_BRIGHT))
    palette.setColor(role.Link, QColor(ACCENT_LIGHT))
    palette.setColor(role.LinkVisited, QColor(ACCENT_LIGHT))
    for disabled_role in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, disabled_role, QColor(MUTED))
    palette.setColor(group.Disabled, role.Highlight, QColor(BORDER))
    return palette


STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QWidget {{ color: {TEXT}; }}
QToolTip {{
    background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px 6px;
}}
QToolBar {{
    background: {PANEL}; border: none; border-bottom: 1px solid {BORDER}; spacing: 4px; padding: 2px 4px;
}}
QToolBar::separator {{ background: {BORDER}; width: 1px; margin: 4px 4px; }}
QToolButton {{
    background: transparent; border: 1px solid transparent; border-radius: 3px; padding: 3px 6px;
}}
QToolButton:hover {{ background: {HOVER}; border-color: {BORDER}; }}
QToolButton:pressed {{ background: {SELECTION}; }}
QToolButton:checked {{ background: {SELECTION}; border-color: {ACCENT}; color: {TEXT_BRIGHT}; }}
QPushButton {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 3px; padding: 4px 12px;
}}
QPushButton:hover {{ background: {HOVER}; border-color: {MUTED}; }}
QPushButton:pressed, QPushButton:checked {{ background: {SELECTION}; border-color: {ACCENT}; }}
QPushButton:default {{ border-color: {ACCENT}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {MUTED}; }}
QPushButton#primaryButton {{ background: {ACCENT}; border-color: {ACCENT}; color: #ffffff; }}
QPushButton#primaryButton:hover {{ background: #1e53e5; }}
QPushButton#primaryButton:disabled {{ background: #1b2a57; border-color: #1b2a57; color: #6f7dab; }}
QDockWidget {{ color: {TEXT}; }}
QDockWidget::title {{
    background: {PANEL}; border-bottom: 1px solid {BORDER}; padding: 5px 8px; text-align: left;
}}
QMainWindow::separator {{ background: {BORDER}; width: 2px; height: 2px; }}
QMainWindow::separator:hover {{ background: {ACCENT}; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
QTableView, QTreeView, QListView {{
    background: {PANEL}; alternate-background-color: {PANEL_ALT}; border: 1px solid {BORDER};
    gridline-color: {BORDER}; selection-background-color: {SELECTION}; selection-color: {TEXT_BRIGHT};
    font-size: {TABLE_POINT_SIZE}pt;
}}
QTableView::item {{ padding: 0px 4px; }}
QTableCornerButton::section {{ background: {PANEL}; border: none; }}
QHeaderView {{ background: {PANEL}; border: none; }}
QHeaderView::section {{
    background: {PANEL}; color: {MUTED}; border: none; border-right: 1px solid {BORDER};
    border-bottom: 1px solid {BORDER}; padding: 3px 6px; font-weight: 600;
}}
QHeaderView::section:hover {{ color: {TEXT}; }}
QHeaderView::section:checked {{ color: {TEXT}; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QDateEdit, QDateTimeEdit, QPlainTextEdit, QTextEdit {{
    background: {BACKGROUND}; border: 1px solid {BORDER}; border-radius: 3px; padding: 3px 6px;
    selection-background-color: {SELECTION};
}}
QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QDateEdit:focus, QPlainTextEdit:focus,
QTextEdit:focus, QComboBox:focus {{ border-color: {ACCENT}; }}
QComboBox {{
    background: {BACKGROUND}; border: 1px solid {BORDER}; border-radius: 3px; padding: 3px 8px;
    min-height: 16px;
}}
QComboBox:hover {{ border-color: {MUTED}; }}
QComboBox QAbstractItemView {{
    background: {PANEL}; border: 1px solid {BORDER}; selection-background-color: {SELECTION};
    outline: none;
}}
QComboBox QAbstractItemView::item {{ min-height: 22px; padding: 0px 6px; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::add-page:horizontal {{ background: {BORDER}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {TEXT}; border: 2px solid {ACCENT}; width: 10px; height: 10px; margin: -5px 0;
    border-radius: 7px;
}}
QSlider::handle:horizontal:hover {{ background: {TEXT_BRIGHT}; border-color: {ACCENT_LIGHT}; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; top: -1px; background: {PANEL}; }}
QTabBar::tab {{
    background: {BACKGROUND}; color: {MUTED}; border: 1px solid {BORDER}; border-bottom: none;
    padding: 5px 12px; margin-right: 1px;
}}
QTabBar::tab:selected {{ background: {PANEL}; color: {TEXT}; border-top: 2px solid {ACCENT}; }}
QTabBar::tab:hover:!selected {{ color: {TEXT}; }}
QScrollBar:vertical {{ background: {PANEL}; width: 10px; margin: 0; border: none; }}
QScrollBar:horizontal {{ background: {PANEL}; height: 10px; margin: 0; border: none; }}
QScrollBar::handle:vertical {{ background: {SCROLL_HANDLE}; min-height: 24px; border-radius: 4px; margin: 1px; }}
QScrollBar::handle:horizontal {{ background: {SCROLL_HANDLE}; min-width: 24px; border-radius: 4px; margin: 1px; }}
QScrollBar::handle:hover {{ background: {MUTED}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; background: none; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QScrollArea {{ border: none; background: transparent; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 4px; margin-top: 14px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {MUTED}; }}
QProgressBar {{
    background: {BACKGROUND}; border: 1px solid {BORDER}; border-radius: 3px; text-align: center;
    color: {TEXT}; height: 8px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; padding: 4px 0; }}
QMenu::item {{ padding: 4px 20px; }}
QMenu::item:selected {{ background: {SELECTION}; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}
QMenuBar {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item:selected {{ background: {HOVER}; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: 13px; height: 13px; }}
"""


def style_sheet() -> str:
    """The built-in sheet plus any extra rules from `resources/style.qss`."""
    try:
        extra = STYLE_OVERRIDES.read_text(encoding="utf-8")
    except FileNotFoundError:
        extra = ""
    except OSError as exc:
        logger.warning("cannot read style overrides %s: %s", STYLE_OVERRIDES, exc)
        extra = ""
    return STYLE_SHEET + ("\n" + extra if extra.strip() else "")


def apply_theme(app: QApplication) -> None:
    """Give `app` the Fusion style, the dark palette, a 9 pt UI font and the style sheet."""
    app.setStyle("Fusion")
    app.setPalette(build_palette())
    font = QFont(app.font())
    if font.pointSizeF() < UI_POINT_SIZE:
        font.setPointSizeF(UI_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(style_sheet())
