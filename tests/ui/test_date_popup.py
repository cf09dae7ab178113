"""The date fields' calendar popup (ui.widgets.date_popup): whole day names, six whole weeks, and
the exchange's trading days told apart from weekends, holidays and days outside the range."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QLocale, QPoint, Qt
from PySide6.QtWidgets import QDateEdit, QTableView

from ui import theme
from ui.widgets.date_popup import OUT_OF_RANGE, mark_trading_days, readable_calendar_popup
from workstation.calendar import TimeManager


def colour(calendar, day: dt.date) -> str:
    return calendar.dateTextFormat(QDate(day.year, day.month, day.day)).foreground().color().name()


def test_the_popup_shows_whole_day_names_and_six_whole_weeks(qtbot, ui_themed):
    edit = QDateEdit(QDate(2024, 11, 25))
    readable_calendar_popup(edit)
    qtbot.addWidget(edit)
    edit.resize(110, 26)                  # as narrow as the toolbar's field: the popup used to be too
    edit.show()
    qtbot.waitExposed(edit)
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton, pos=QPoint(edit.width() - 6, edit.height() // 2))
    calendar = edit.calendarWidget()
    qtbot.waitUntil(calendar.isVisible)
    view = calendar.findChild(QTableView)
    metrics = view.fontMetrics()
    model = view.model()
    names = [model.index(0, col).data() for col in range(7)]
    assert names == [calendar.locale().dayName(day, QLocale.FormatType.ShortFormat) for day in range(1, 8)]  # Monday first
    for col, name in enumerate(names):
        assert view.columnViewportPosition(col) + view.columnWidth(col) <= view.viewport().width()
        # the theme pads a table cell 4 px each side: less room and Qt draws "…" ("Wed" in a 33 px column)
        assert view.columnWidth(col) >= metrics.horizontalAdvance(name) + 2 * 4 + 2, name
    last = model.rowCount() - 1                                                       # the sixth week
    assert last == 6 and view.rowViewportPosition(last) + view.rowHeight(last) <= view.viewport().height()
    assert calendar.weekdayTextFormat(Qt.DayOfWeek.Sunday).foreground().color().name() == theme.MUTED
    calendar.hide()


def test_trading_days_stand_out_from_holidays_weekends_and_the_days_out_of_range(qtbot):
    edit = QDateEdit()
    readable_calendar_popup(edit)
    qtbot.addWidget(edit)
    first, last = dt.date(2024, 11, 25), dt.date(2024, 12, 3)
    edit.setDateRange(QDate(2024, 11, 25), QDate(2024, 12, 3))
    mark_trading_days(edit, TimeManager("XNYS").trading_dates(first, last))
    calendar = edit.calendarWidget()
    assert colour(calendar, dt.date(2024, 11, 27)) == theme.TEXT          # a session
    assert colour(calendar, dt.date(2024, 11, 29)) == theme.TEXT          # the early close is a session
    assert colour(calendar, dt.date(2024, 11, 28)) == theme.MUTED         # Thanksgiving
    assert colour(calendar, dt.date(2024, 12, 1)) == theme.MUTED          # a Sunday
    assert colour(calendar, dt.date(2024, 11, 22)) == OUT_OF_RANGE        # before the range
    assert colour(calendar, dt.date(2024, 12, 31)) == OUT_OF_RANGE        # after it, in a month it shows
    edit.setDateRange(QDate(2024, 12, 2), QDate(2024, 12, 3))             # a narrower range: marked anew
    mark_trading_days(edit, TimeManager("XNYS").trading_dates(dt.date(2024, 12, 2), dt.date(2024, 12, 3)))
    assert colour(calendar, dt.date(2024, 11, 27)) != theme.TEXT
