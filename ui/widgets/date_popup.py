"""A readable calendar popup for the date fields (the toolbar's *Jump to*, the fetch dialog).

Qt's popup is as narrow as its date field: under the theme's table style its day names showed as
"…", "T…", and its last row of days was cut off. `readable_calendar_popup` gives it the size its
text needs, weeks from Monday, short day names, weekends muted instead of red and dates outside the
field's range dimmed; `mark_trading_days` mutes the days of the range the exchange does not trade.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from PySide6.QtCore import QDate, QLocale, Qt
from PySide6.QtGui import QColor, QFontMetrics, QTextCharFormat
from PySide6.QtWidgets import QCalendarWidget, QDateEdit, QWidget

from ui import theme

CALENDAR_STYLE = f"""
QCalendarWidget QWidget#qt_calendar_navigationbar {{ background: {theme.PANEL_ALT}; }}
QCalendarWidget QToolButton {{
    color: {theme.TEXT_BRIGHT}; background: transparent; border: none; padding: 3px 8px; font-weight: 600;
}}
QCalendarWidget QToolButton:hover {{ background: {theme.HOVER}; border-radius: 3px; }}
QCalendarWidget QToolButton::menu-indicator {{ image: none; width: 0px; }}
QCalendarWidget QSpinBox {{ background: {theme.BACKGROUND}; color: {theme.TEXT}; }}
QCalendarWidget QAbstractItemView {{
    background: {theme.PANEL}; color: {theme.TEXT}; border: none; outline: none;
    selection-background-color: {theme.ACCENT}; selection-color: {theme.TEXT_BRIGHT};
}}
QCalendarWidget QAbstractItemView::item {{ padding: 0px; }}
QCalendarWidget QAbstractItemView:disabled {{ color: {theme.BORDER}; }}
"""
CELL_PADDING_PX = 14   # around the widest day name or day number of a cell
ROW_PADDING_PX = 10


def readable_calendar_popup(edit: QDateEdit) -> QCalendarWidget:
    """Give `edit` a calendar popup sized and styled to be read (see the module docstring)."""
    edit.setCalendarPopup(True)
    calendar = edit.calendarWidget()
    calendar.setFirstDayOfWeek(Qt.DayOfWeek.Monday)
    calendar.setHorizontalHeaderFormat(QCalendarWidget.HorizontalHeaderFormat.ShortDayNames)
    calendar.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
    calendar.setGridVisible(False)
    calendar.setStyleSheet(CALENDAR_STYLE)
    weekend = QTextCharFormat()
    weekend.setForeground(QColor(theme.MUTED))
    for day in (Qt.DayOfWeek.Saturday, Qt.DayOfWeek.Sunday):
        calendar.setWeekdayTextFormat(day, weekend)
    header = calendar.headerTextFormat()
    header.setForeground(QColor(theme.MUTED))
    calendar.setHeaderTextFormat(header)
    metrics = QFontMetrics(calendar.font())
    names = [calendar.locale().dayName(day, QLocale.FormatType.ShortFormat) for day in range(1, 8)]
    cell = max(metrics.horizontalAdvance(text) for text in [*names, "30"]) + CELL_PADDING_PX
    row = metrics.height() + ROW_PADDING_PX
    navigation = calendar.findChild(QWidget, "qt_calendar_navigationbar")
    bar = navigation.sizeHint().height() if navigation is not None else row + 8
    calendar.setMinimumSize(max(7 * cell, navigation.sizeHint().width() if navigation is not None else 0) + 4,
                            bar + 7 * row + 4)   # the day names and six weeks
    return calendar


OUT_OF_RANGE = "#3d4250"   # a day that cannot be chosen: dimmer than a non-trading day


def mark_trading_days(edit: QDateEdit, trading_days: Iterable[dt.date]) -> None:
    """In the months the popup can show, dim the days outside `edit`'s range (Qt draws them like
    the others), mute the days of the range that are not in `trading_days` (weekends, holidays) and
    keep the normal text for the trading days."""
    calendar = edit.calendarWidget()
    calendar.setDateTextFormat(QDate(), QTextCharFormat())          # forget an earlier range's marks
    trading = set(trading_days)
    formats = {}
    for name, colour in (("out", OUT_OF_RANGE), ("muted", theme.MUTED), ("normal", theme.TEXT)):
        formats[name] = QTextCharFormat()
        formats[name].setForeground(QColor(colour))
    first, last = edit.minimumDate(), edit.maximumDate()
    day = QDate(first.year(), first.month(), 1)
    end = QDate(last.year(), last.month(), last.daysInMonth())
    while day <= end:
        kind = "out" if day < first or day > last else "normal" if day.toPython() in trading else "muted"
        calendar.setDateTextFormat(day, formats[kind])
        day = day.addDays(1)
