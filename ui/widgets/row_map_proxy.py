"""RowMapProxy: the flat-table proxy plumbing shared by the numpy-sorted/filtered views.

The results view's trade and gap tables (`ui.windows.frame_table.ColumnSortProxy`) and the signal
log (`ui.widgets.signal_log.SignalFilterProxyModel`) show a source model's rows in an order they
compute with numpy: `_rows` holds the shown source rows in display order. This base answers Qt's
proxy questions from `_rows` (counts, indexes, mapping both ways through a lazily built inverse,
flags, vertical header numbers, cell data through the source's `data_at(row, column, role)`); the
subclasses decide what `_rows` is. UI thread only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractProxyModel, QModelIndex, QObject, QPersistentModelIndex, Qt

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)


class RowMapProxy(QAbstractProxyModel):
    """A flat proxy showing source rows `_rows` (int64, display order) of `_model`.

    Subclasses set `_model` in setSourceModel, keep `_rows` current, reset `_inverse` to None
    whenever `_rows` changes, and give `_source_row_count()` (the size of the inverse map).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model: Any = None
        self._rows = np.empty(0, dtype=np.int64)
        self._inverse: np.ndarray | None = None

    def _source_row_count(self) -> int:
        """How many source rows the inverse map covers."""
        return self._model.rowCount() if self._model is not None else 0

    def _header(self, section: int, orientation: Qt.Orientation, role: int) -> Any:
        """The horizontal header (the source's unless a subclass decorates it)."""
        return self._model.headerData(section, orientation, role)

    # ----- Qt proxy interface -------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def index(
        self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()  # noqa: B008
    ) -> QModelIndex:
        if parent.isValid() or not (0 <= row < len(self._rows) and 0 <= column < self.columnCount()):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index: QModelIndex | QPersistentModelIndex | None = None) -> Any:  # type: ignore[override]
        if index is None:
            return QObject.parent(self)
        return QModelIndex()

    def sibling(self, row: int, column: int, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        return self.index(row, column)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) > 0

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid() or self._model is None or index.row() >= len(self._rows):
            return None
        return self._model.data_at(int(self._rows[index.row()]), index.column(), role)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if self._model is None:
            return None
        if orientation == Qt.Orientation.Vertical:
            return str(section + 1) if int(role) == _DISPLAY else None
        return self._header(section, orientation, role)

    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not proxy_index.isValid() or self._model is None or proxy_index.row() >= len(self._rows):
            return QModelIndex()
        return self._model.index(int(self._rows[proxy_index.row()]), proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not source_index.isValid():
            return QModelIndex()
        row = self.proxy_row(source_index.row())
        return self.index(row, source_index.column()) if row >= 0 else QModelIndex()

    # ----- mapping helpers ----------------------------------------------------------------------

    def source_row(self, proxy_row: int) -> int:
        """The source row shown at `proxy_row`."""
        return int(self._rows[proxy_row])

    def proxy_row(self, source_row: int) -> int:
        """The row showing source row `source_row`, or -1 when it is not shown."""
        inverse = self._inverse_map()
        return int(inverse[source_row]) if 0 <= source_row < len(inverse) else -1

    def _finish_relayout(self, persistent: list[QPersistentModelIndex], sources: list[int]) -> None:
        """End a layout change begun with layoutAboutToBeChanged, after `_rows` changed: each persistent
        index moves to the row now showing the source row it showed (`sources`, -1: none), or becomes
        invalid when that row is not shown."""
        self._inverse = None
        moved = []
        for index, source in zip(persistent, sources, strict=True):
            row = self.proxy_row(source) if source >= 0 else -1
            moved.append(self.index(row, index.column()) if row >= 0 else QModelIndex())
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _inverse_map(self) -> np.ndarray:
        if self._inverse is None:
            inverse = np.full(self._source_row_count(), -1, dtype=np.int64)
            inverse[self._rows] = np.arange(len(self._rows), dtype=np.int64)
            self._inverse = inverse
        return self._inverse
