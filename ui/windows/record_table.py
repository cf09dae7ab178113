"""A read-only table of record dicts for the live monitor: column definitions, a model that grows at
the top without losing selection or scroll, and compact dark views that fit their columns.

UI thread only. Records are plain dicts; each Column says how a record is shown, sorted and coloured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui import theme

SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


@dataclass(frozen=True)
class Column:
    """One column of a RecordTableModel: how a record dict is shown, sorted and coloured."""

    title: str
    text: Callable[[dict], str]
    sort: Callable[[dict], Any] | None = None
    colour: Callable[[dict], str | None] | None = None
    right: bool = False
    mono: bool = False
    bold: bool = False
    tip: str = ""
    cell_tip: Callable[[dict], str | None] | None = None
    sample: str = ""  # the widest text expected in the column (sizes it)


class RecordTableModel(QAbstractTableModel):
    """A read-only table of record dicts; `set_records` inserts new leading rows (lists shown newest
    first grow at the top) and repaints changed ones, so views keep their selection and scroll."""

    def __init__(
        self,
        columns: Sequence[Column],
        parent: QWidget | None = None,
        key: Callable[[dict], Any] | None = None,
    ):
        super().__init__(parent)
        self.columns = list(columns)
        self.key = key
        self._records: list[dict] = []
        self._mono = theme.mono_font(theme.TABLE_POINT_SIZE)
        self._bold = QFont(theme.ui_font(theme.TABLE_POINT_SIZE, bold=True))
        self._colours: dict[str, QColor] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == _DISPLAY:
            return column.title
        if role == _TOOLTIP:
            return column.tip or None
        if role == _ALIGNMENT:
            return _RIGHT if column.right else _LEFT
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid() or index.row() >= len(self._records):
            return None
        record = self._records[index.row()]
        column = self.columns[index.column()]
        role = int(role)
        if role == _DISPLAY:
            return column.text(record)
        if role == SORT_ROLE:
            return column.sort(record) if column.sort is not None else column.text(record)
        if role == _FOREGROUND:
            colour = column.colour(record) if column.colour is not None else None
            return self._colour(colour) if colour else None
        if role == _ALIGNMENT:
            return _RIGHT if column.right else _LEFT
        if role == _FONT:
            return self._bold if column.bold else (self._mono if column.mono else None)
        if role == _TOOLTIP:
            return column.cell_tip(record) if column.cell_tip is not None else None
        return None

    def _colour(self, name: str) -> QColor:
        colour = self._colours.get(name)
        if colour is None:
            colour = self._colours[name] = QColor(name)
        return colour

    def reset(self, columns: Sequence[Column] | None = None) -> None:
        """Remove every record (and take new column definitions if given)."""
        self.beginResetModel()
        if columns is not None:
            self.columns = list(columns)
        self._records = []
        self.endResetModel()

    def records(self) -> list[dict]:
        """The records in model order (a copy of the list)."""
        return list(self._records)

    def record(self, row: int) -> dict:
        return self._records[row]

    def set_records(self, records: list[dict]) -> None:
        """Show `records`; rows added in front are inserted, changed rows repainted."""
        old = self._records
        added = len(records) - len(old)
        key = self.key
        same_tail = added >= 0 and (
            [key(r) for r in records[added:]] == [key(r) for r in old]
            if key is not None and added > 0
            else True
        )
        if added < 0 or not same_tail:
            self.beginResetModel()
            self._records = records
            self.endResetModel()
            return
        if added > 0:
            self.beginInsertRows(QModelIndex(), 0, added - 1)
            self._records = records
            self.endInsertRows()
        else:
            self._records = records
        if records[added:] != old:
            top = self.index(added, 0)
            bottom = self.index(len(records) - 1, len(self.columns) - 1)
            self.dataChanged.emit(top, bottom)


class FitTableView(QTableView):
    """A table whose columns share the width in proportion to their natural widths; when narrow they
    shrink down to their minimum widths, then the table scrolls."""

    def __init__(self) -> None:
        super().__init__()
        self.natural_widths: list[int] = []
        self.minimum_widths: list[int] = []

    def fit_columns(self) -> None:
        widths = self.natural_widths
        if not widths:
            return
        minimum = self.minimum_widths or widths
        available = self.viewport().width()
        scale = available / sum(widths)
        header = self.horizontalHeader()
        used = 0
        for column, width in enumerate(widths):
            size = max(minimum[column], int(width * scale))
            if column == len(widths) - 1:
                size = max(minimum[column], available - used)
            header.resizeSection(column, size)
            used += size

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.fit_columns()


def make_view(model: QAbstractTableModel, sortable: bool, fit: bool = False) -> QTableView:
    """A compact dark table view on `model` (through a SORT_ROLE proxy when `sortable`); `fit` makes
    the columns share the view's width."""
    view = FitTableView() if fit else QTableView()
    if sortable:
        proxy = QSortFilterProxyModel(view)
        proxy.setSortRole(SORT_ROLE)
        proxy.setSourceModel(model)
        view.setModel(proxy)
        view.setSortingEnabled(True)
        view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    else:
        view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setCornerButtonEnabled(False)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(max(20, view.fontMetrics().height() + 6))
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(not fit)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setMinimumSectionSize(36)
    return view


def fit_columns(view: QTableView, widths: Sequence[int]) -> None:
    header = view.horizontalHeader()
    for column, width in enumerate(widths):
        header.resizeSection(column, width)


def natural_widths(model: RecordTableModel, padding: int = 20) -> list[int]:
    """Per column: room for its (bold) title and for its sample text in the cell font."""
    title = QFontMetrics(theme.ui_font(theme.TABLE_POINT_SIZE, bold=True))
    fonts = {
        "mono": QFontMetrics(theme.mono_font(theme.TABLE_POINT_SIZE)),
        "bold": title,
        "plain": QFontMetrics(theme.ui_font(theme.TABLE_POINT_SIZE)),
    }
    widths = []
    for column in model.columns:
        cell = fonts["bold" if column.bold else "mono" if column.mono else "plain"]
        widths.append(
            max(title.horizontalAdvance(column.title), cell.horizontalAdvance(column.sample)) + padding
        )
    return widths


def nonzero(value: int, colour: str) -> str | None:
    return colour if value else None


def count_column(title: str, key: str, colour: str | None, tip: str) -> Column:
    """A right-aligned integer column of the symbol table, coloured when non-zero (if `colour`)."""
    return Column(
        title,
        lambda r: str(r[key]),
        sort=lambda r: r[key],
        right=True,
        mono=True,
        colour=(lambda r: nonzero(r[key], colour)) if colour else None,
        tip=tip,
    )
