"""Column-oriented read-only tables of the results and sweep windows: column data with texts formatted
on demand, the model, a numpy sort/filter proxy and column widths from a bounded sample of rows.

UI thread only. A table of 12,000 trades is shown without touching every cell: texts (and colours)
are formatted when a cell is first drawn (`LazyCells`), sorting ranks each column once with numpy
(`ColumnSortProxy`) instead of calling `data()` per comparison, and columns are sized from a few
hundred sampled rows (`fit_columns`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui.widgets.row_map_proxy import RowMapProxy

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_SORT = int(SORT_ROLE)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

T = TypeVar("T")


class LazyCells(Sequence[T], Generic[T]):
    """One column's cells (display texts or colours) made from its values when first read, then cached.

    `cells[row]` formats one cell; `all()` every cell (for the text filter)."""

    def __init__(self, values: Sequence[Any] | np.ndarray, make: Callable[[Any], T]) -> None:
        self._values = values
        self._make = make
        self._cells: list[T | None] = [None] * len(values)
        self._done = False

    def __len__(self) -> int:
        return len(self._cells)

    @overload
    def __getitem__(self, row: int) -> T: ...

    @overload
    def __getitem__(self, row: slice) -> list[T]: ...

    def __getitem__(self, row: int | slice) -> T | list[T]:
        if isinstance(row, slice):
            return self.all()[row]
        cell = self._cells[row]
        if cell is None:
            cell = self._cells[row] = self._make(self._values[row])
        return cell

    def all(self) -> list[T]:
        """Every cell, made now where not made yet."""
        if not self._done:
            make, values = self._make, self._values
            self._cells = [make(values[i]) if c is None else c for i, c in enumerate(self._cells)]
            self._done = True
        return self._cells  # type: ignore[return-value]

    def made(self) -> int:
        """How many cells have been made so far (for tests)."""
        return len(self._cells) if self._done else sum(c is not None for c in self._cells)


@dataclass
class ColumnData:
    """One table column: its header, sort keys, display texts and optional text colours.

    Sort keys compare as Qt compares them through SORT_ROLE: numbers by value, text by code point,
    None after everything; a NaN key sorts below every number."""

    title: str
    sort_keys: Sequence[Any] | np.ndarray
    texts: Sequence[str]
    colours: Sequence[QColor | None] | None = None
    numeric: bool = True
    tooltip: str = ""
    alphabet: str | None = None  # every character its texts can hold (lower case); None: any


def all_texts(texts: Sequence[str]) -> list[str]:
    """Every text of a column (formats what a LazyCells has not formatted yet)."""
    return texts.all() if isinstance(texts, LazyCells) else list(texts)


class FrameTableModel(QAbstractTableModel):
    """A read-only column-oriented table; SORT_ROLE gives raw values so sorting is numeric."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._columns: list[ColumnData] = []
        self._rows = 0

    def set_columns(self, columns: list[ColumnData]) -> None:
        self.beginResetModel()
        self._columns = columns
        self._rows = len(columns[0].texts) if columns else 0
        self.endResetModel()

    def columns(self) -> list[ColumnData]:
        return self._columns

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        return self.data_at(index.row(), index.column(), role)

    def data_at(self, row: int, column: int, role: int = _DISPLAY) -> Any:
        """data() of source row `row` (the proxy calls it without building an index)."""
        col = self._columns[column]
        role = int(role)
        if role == _DISPLAY:
            return col.texts[row]
        if role == _SORT:
            value = col.sort_keys[row]
            return value.item() if isinstance(value, np.generic) else value
        if role == _FOREGROUND and col.colours is not None:
            return col.colours[row]
        if role == _ALIGNMENT:
            return _RIGHT if col.numeric else _LEFT
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        col = self._columns[section]
        role = int(role)
        if role == _DISPLAY:
            return col.title
        if role == _TOOLTIP:
            return col.tooltip or col.title
        if role == _ALIGNMENT:
            return _RIGHT if col.numeric else _LEFT
        return None


HIDE_STYLE_SORT_ARROW = "QHeaderView::up-arrow, QHeaderView::down-arrow { image: none; width: 0px; height: 0px; }"


def _sort_arrow(value: Any, section: int, sort_column: int, order: Qt.SortOrder) -> Any:
    if section == sort_column and value:
        return f"{value} {chr(0x25B4) if order == Qt.SortOrder.AscendingOrder else chr(0x25BE)}"
    return value


class SortProxy(QSortFilterProxyModel):
    """Sorts on SORT_ROLE and shows the sort direction as a triangle in the sorted column's title.

    (The style's own sort arrow is hidden by the view's style sheet: it overlapped right-aligned titles.)
    """

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        value = super().headerData(section, orientation, role)
        if int(role) == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return _sort_arrow(value, section, self.sortColumn(), self.sortOrder())
        return value


# ------------------------------------------------------------------------------ numpy sort proxy


def sort_ranks(keys: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Dense ascending ranks (int64) of a column's sort keys in QSortFilterProxyModel's order: numbers
    by value (NaN below every number), text by code point, None (an invalid QVariant) after all."""
    if isinstance(keys, np.ndarray) and keys.dtype.kind in "iufbU":
        if keys.dtype.kind == "f":
            return _float_ranks(keys.astype(np.float64, copy=False))
        return np.unique(keys, return_inverse=True)[1].astype(np.int64).reshape(-1)
    values = list(keys)
    present = [v for v in values if v is not None]
    ranks = np.empty(len(values), dtype=np.int64)
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    if not present:
        ranks[:] = 0
        return ranks
    if all(isinstance(v, str) for v in present):
        dense = np.unique(np.array(present, dtype=str), return_inverse=True)[1].astype(np.int64).reshape(-1)
    elif all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, (int, np.integer)) for v in present):
            dense = np.unique(np.array(present, dtype=np.int64), return_inverse=True)[1].astype(np.int64)
        else:
            dense = _float_ranks(np.array(present, dtype=np.float64))
        dense = dense.reshape(-1)
    else:
        kinds = sorted({type(v).__name__ for v in present})
        raise TypeError(f"sort keys must be all numbers or all text (or None), got {kinds}")
    ranks[~missing] = dense
    ranks[missing] = int(dense.max()) + 1
    return ranks


def _float_ranks(values: np.ndarray) -> np.ndarray:
    present = ~np.isnan(values)
    ranks = np.zeros(len(values), dtype=np.int64)
    ranks[present] = np.unique(values[present], return_inverse=True)[1].reshape(-1) + 1
    return ranks


def merge_accepted(shown: np.ndarray, added: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """`shown` (sorted by `keys`) with the newly accepted rows `added` placed as QSortFilterProxyModel
    places rows a filter lets in again (proxy_intervals_for_source_items_to_add): `added` sorted stably
    by key; each run of them goes before the first shown row with a greater key than its first row,
    and takes along the following added rows whose keys do not exceed that shown row's."""
    added = added[np.argsort(keys[added], kind="stable")]
    if len(shown) == 0 or len(added) == 0:
        return added if len(shown) == 0 else shown
    shown_keys, added_keys = keys[shown], keys[added]
    pieces, start, i = [], 0, 0
    while i < len(added):
        at = int(np.searchsorted(shown_keys, added_keys[i], side="right"))
        end = len(added) if at >= len(shown) else max(i + 1, int(np.searchsorted(added_keys, shown_keys[at], "right")))
        pieces += [shown[start:at], added[i:end]]
        start, i = at, end
    pieces.append(shown[start:])
    return np.concatenate(pieces)


class ColumnSortProxy(RowMapProxy):
    """Sorts and filters a FrameTableModel with numpy, giving the rows in the order a
    QSortFilterProxyModel on SORT_ROLE with a case-insensitive fixed-string filter on every column gives.

    Each column's sort keys are ranked once (`sort_ranks`, on first sort by it); a sort is a stable
    argsort of the shown rows' ranks (negated when descending), so ties keep the order they had, as
    Qt's stable sort does. The filter tests the columns' display texts (lower-cased once per reset).
    `_rows` holds the shown source rows in display order. Sorting and filtering are layout changes that
    keep the selection (persistent indexes) on the same rows. Shows the sort direction in the title.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model: FrameTableModel | None = None
        self._ranks: dict[int, np.ndarray] = {}
        self._lower_texts: dict[int, list[str]] = {}
        self._filter = ""
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    # ----- wiring -------------------------------------------------------------------------------

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        if not isinstance(model, FrameTableModel):
            raise TypeError(f"ColumnSortProxy needs a FrameTableModel, got {type(model).__name__}")
        self.beginResetModel()
        if self._model is not None:
            self._model.modelAboutToBeReset.disconnect(self.beginResetModel)
            self._model.modelReset.disconnect(self._on_source_reset)
        super().setSourceModel(model)
        self._model = model
        model.modelAboutToBeReset.connect(self.beginResetModel)
        model.modelReset.connect(self._on_source_reset)
        self._rebuild()
        self.endResetModel()

    def _on_source_reset(self) -> None:
        self._rebuild()
        self.endResetModel()

    def _rebuild(self) -> None:
        """Every accepted row in source order, sorted by the sort column (as Qt's proxy after a reset)."""
        self._ranks = {}
        self._lower_texts = {}
        self._inverse = None
        n = self._model.rowCount() if self._model is not None else 0
        rows = np.arange(n, dtype=np.int64)
        if self._filter and n:
            rows = rows[self._accepted(rows)]
        self._rows = rows[np.argsort(self._keys()[rows], kind="stable")] if n else rows

    # ----- Qt proxy interface -------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._model is None else self._model.columnCount()

    def _header(self, section: int, orientation: Qt.Orientation, role: int) -> Any:
        value = self._model.headerData(section, orientation, role)
        if int(role) == _DISPLAY:
            return _sort_arrow(value, section, self._sort_column, self._sort_order)
        return value

    def source_rows(self) -> np.ndarray:
        """The shown source rows in display order (a copy)."""
        return self._rows.copy()

    # ----- sorting ------------------------------------------------------------------------------

    def sortColumn(self) -> int:
        return self._sort_column

    def sortOrder(self) -> Qt.SortOrder:
        return self._sort_order

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the shown rows by `column` (-1: source order), stably from their present order."""
        column = max(-1, column)
        if column == self._sort_column and order == self._sort_order:
            return
        self._relayout(lambda: self._set_sort(column, order))

    def _set_sort(self, column: int, order: Qt.SortOrder) -> np.ndarray:
        self._sort_column, self._sort_order = column, order
        rows = self._rows
        return rows[np.argsort(self._keys()[rows], kind="stable")]

    def _keys(self) -> np.ndarray:
        """Each source row's sort key under the present sort (negated ranks when descending)."""
        n = self._model.rowCount() if self._model is not None else 0
        column = self._sort_column
        if column < 0 or self._model is None or column >= self._model.columnCount():
            keys = np.arange(n, dtype=np.int64)
            return keys if self._sort_order == Qt.SortOrder.AscendingOrder else -keys
        ranks = self._ranks.get(column)
        if ranks is None:
            ranks = self._ranks[column] = sort_ranks(self._model.columns()[column].sort_keys)
        return ranks if self._sort_order == Qt.SortOrder.AscendingOrder else -ranks

    # ----- filtering ----------------------------------------------------------------------------

    def filter_text(self) -> str:
        return self._filter

    def setFilterFixedString(self, text: str) -> None:
        """Show the rows with `text` (case-insensitive) in any column's display text; "" shows all."""
        if text == self._filter:
            return
        self._relayout(lambda: self._set_filter(text))

    def _set_filter(self, text: str) -> np.ndarray:
        self._filter = text
        if self._model is None or self._model.rowCount() == 0:
            return self._rows
        n = self._model.rowCount()
        accepted = self._accepted(np.arange(n, dtype=np.int64))
        kept = self._rows[accepted[self._rows]]
        was_shown = np.zeros(n, dtype=bool)
        was_shown[self._rows] = True
        added = np.flatnonzero(accepted & ~was_shown).astype(np.int64)
        return merge_accepted(kept, added, self._keys())

    def _accepted(self, rows: np.ndarray) -> np.ndarray:
        """Mask over `rows`: whether the filter text occurs (case-insensitively) in one of the row's
        display texts. A column whose alphabet lacks a character of the filter text is skipped, so its
        texts need not all be formatted."""
        needle = self._filter.lower()
        if not needle or self._model is None:
            return np.ones(len(rows), dtype=bool)
        chars = set(needle)
        mask = np.zeros(len(rows), dtype=bool)
        for col, column in enumerate(self._model.columns()):
            if column.alphabet is not None and not chars <= set(column.alphabet):
                continue
            texts = self._lowered(col)
            mask |= np.fromiter((needle in texts[r] for r in rows.tolist()), dtype=bool, count=len(rows))
        return mask

    def _lowered(self, column: int) -> list[str]:
        """A column's display texts in lower case, made at the first filter that needs them."""
        texts = self._lower_texts.get(column)
        if texts is None and self._model is not None:
            texts = self._lower_texts[column] = [t.lower() for t in all_texts(self._model.columns()[column].texts)]
        return texts or []

    # ----- layout changes -----------------------------------------------------------------------

    def _relayout(self, change: Callable[[], np.ndarray]) -> None:
        """Apply `change` (which returns the new rows) as a layout change that keeps persistent indexes."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        sources = [int(self._rows[p.row()]) if 0 <= p.row() < len(self._rows) else -1 for p in persistent]
        self._rows = change()
        self._finish_relayout(persistent, sources)


# ----------------------------------------------------------------------------------- views


def make_table(
    model: FrameTableModel, sort_column: int, order: Qt.SortOrder, numpy_sort: bool = True
) -> tuple[QTableView, ColumnSortProxy | SortProxy]:
    """A sorted, single-selection table view on `model`: through a ColumnSortProxy, or a SortProxy
    (QSortFilterProxyModel) when `numpy_sort` is False (sort keys that are neither numbers nor text)."""
    proxy: ColumnSortProxy | SortProxy
    if numpy_sort:
        proxy = ColumnSortProxy()
    else:
        proxy = SortProxy()
        proxy.setSortRole(SORT_ROLE)
        proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        proxy.setFilterKeyColumn(-1)
    proxy.setSourceModel(model)
    table = QTableView()
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(sort_column, order)
    table.horizontalHeader().sortIndicatorChanged.connect(
        lambda *_: table.horizontalHeader().viewport().update()
    )
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(24)
    table.horizontalHeader().setHighlightSections(False)
    # the sorted column's title carries its direction as text (`_sort_arrow`): the style's own arrow, drawn
    # over a right-aligned title's end, showed a second triangle the other way round (Fusion draws an up
    # arrow for a descending sort) in the sweep window, whose window has no rule hiding it
    table.horizontalHeader().setStyleSheet(HIDE_STYLE_SORT_ARROW)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    return table, proxy


SAMPLE_ENDS = 50  # rows from the top and from the bottom of the shown order
SAMPLE_WIDEST = 20  # per column, rows with the widest-looking raw values


def sample_rows(column: ColumnData, shown: np.ndarray, ends: int = SAMPLE_ENDS, widest: int = SAMPLE_WIDEST) -> np.ndarray:
    """Source rows whose texts size `column`: the first and last `ends` shown rows, and the `widest`
    rows with the largest magnitudes (numbers, both signs) or the longest keys (text); all rows of a
    small table."""
    if len(shown) <= 2 * ends + 2 * widest:
        return shown
    picks = [shown[:ends], shown[-ends:]]
    keys = column.sort_keys
    if isinstance(keys, np.ndarray) and keys.dtype.kind in "iuf":
        values = np.where(np.isnan(keys), 0, keys) if keys.dtype.kind == "f" else keys
        picks += [np.argpartition(values, widest)[:widest], np.argpartition(values, -widest)[-widest:]]
    else:
        lengths = (np.char.str_len(keys) if isinstance(keys, np.ndarray) and keys.dtype.kind == "U"
                   else np.fromiter((len(str(k)) for k in keys), dtype=np.int64, count=len(keys)))
        picks.append(np.argpartition(lengths, -widest)[-widest:])
    return np.unique(np.concatenate(picks).astype(np.int64))


def fit_columns(table: QTableView, stretch_column: int | None = None) -> None:
    """Size columns to their cells (a sample of rows: `sample_rows`) or their title plus the sort arrow;
    one column (default: last) stretches."""
    header = table.horizontalHeader()
    font = QFont(header.font())
    font.setWeight(QFont.Weight.DemiBold)
    title_metrics = QFontMetrics(font)
    proxy = table.model()
    source = proxy.sourceModel() if isinstance(proxy, QAbstractProxyModel) else proxy
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if isinstance(source, FrameTableModel) and proxy.rowCount() > 0:
        shown = (proxy.source_rows() if isinstance(proxy, ColumnSortProxy)
                 else np.array([proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]))
        first = proxy.index(0, 0)
        cell_metrics = QFontMetrics(table.font())
        # the delegate's margins around the text (style-dependent): its size hint minus the text's advance
        margin = table.sizeHintForIndex(first).width() - cell_metrics.horizontalAdvance(str(first.data() or ""))
        for col, column in enumerate(source.columns()):
            texts = column.texts
            cells = max((cell_metrics.horizontalAdvance(texts[r]) for r in sample_rows(column, shown).tolist()),
                        default=0) + margin
            title = str(proxy.headerData(col, Qt.Orientation.Horizontal) or "")
            header.resizeSection(col, max(cells + 14, title_metrics.horizontalAdvance(title) + 32))
    else:
        for col in range(proxy.columnCount()):
            title = str(proxy.headerData(col, Qt.Orientation.Horizontal) or "")
            width = max(table.sizeHintForColumn(col) + 14, title_metrics.horizontalAdvance(title) + 32)
            header.resizeSection(col, width)
    if stretch_column is None:
        header.setStretchLastSection(True)
    else:
        header.setStretchLastSection(False)
        _StretchWhenRoom.on(table, stretch_column, header.sectionSize(stretch_column))


class _StretchWhenRoom(QObject):
    """Widens one column of a table to take the viewport's room the others leave, but never narrows it
    below its content (`natural`): Qt's Stretch mode shrinks the column to a few pixels when the others
    need the whole width (the per-symbol results table beside the trades at 1366 x 768 showed "…" for
    every symbol); the table then scrolls sideways instead. Follows the viewport's resizes."""

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self.table = table
        self.column, self.natural = 0, 0
        table.viewport().installEventFilter(self)

    @classmethod
    def on(cls, table: QTableView, column: int, natural: int) -> None:
        fitter = getattr(table, "_stretch_when_room", None)
        if fitter is None:
            fitter = table._stretch_when_room = cls(table)  # type: ignore[attr-defined]
        fitter.column, fitter.natural = column, natural
        fitter.fit()

    def fit(self) -> None:
        header = self.table.horizontalHeader()
        if self.column >= header.count():
            return
        others = sum(header.sectionSize(c) for c in range(header.count()) if c != self.column)
        width = max(self.natural, self.table.viewport().width() - others)
        if header.sectionSize(self.column) != width:
            header.resizeSection(self.column, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False
