"""Strategy signal log: a columnar table model, a vectorised filter/sort proxy and the dockable view.

The model keeps one numpy array (or code table) per column, so 100,000+ rows cost a few MB and
`data()` is O(1); display strings are formatted only for the rows a view asks about. The proxy
filters and sorts with numpy over whole columns: Qt's QSortFilterProxyModel calls back into Python
once per comparison, which measured 39 s to sort 100,000 rows, against milliseconds here.
Times are int64 ns UTC in the model and shown in the exchange zone given to the model.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import chain, repeat
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSignalBlocker,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.file_dialogs import save_file_name
from ui.widgets.row_map_proxy import RowMapProxy
from workstation.model.batches import DecisionBatch, as_list
from workstation.report.formatting import MIN_PRICE_DECIMALS, shown_decimals

logger = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "Time",
    "Symbol",
    "Strategy",
    "Action",
    "Qty",
    "Price",
    "Confidence",
    "Decision",
    "Reason",
)
(
    COL_TIME,
    COL_SYMBOL,
    COL_STRATEGY,
    COL_ACTION,
    COL_QTY,
    COL_PRICE,
    COL_CONFIDENCE,
    COL_DECISION,
    COL_REASON,
) = range(len(COLUMNS))
NUMERIC_COLUMNS = frozenset({COL_QTY, COL_PRICE, COL_CONFIDENCE})
ACTION_PAD = 44   # an Action cell beyond its bold text: the error icon, its spacing and the cell padding

SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 2

KIND_SIGNAL = 0
KIND_ERROR = 1
APPROVED = 1
REJECTED = 0
NO_DECISION = -1

DECISION_FILTERS = ("all", "approved", "rejected", "errors")

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)

_HEADER_TIPS = {
    COL_TIME: "Signal time in the exchange time zone",
    COL_QTY: "Requested quantity",
    COL_PRICE: "Reference price of the signal",
    COL_CONFIDENCE: "The strategy's confidence, 0 to 1",
    COL_DECISION: "The risk checks' verdict",
    COL_REASON: "Why the signal was rejected, or the strategy's error message",
}


class _CodeTable:
    """Interns the strings of one categorical column; `rank` orders codes alphabetically."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}
        self._rank: np.ndarray | None = None
        self.version = 0

    def code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = len(self.names)
            self._codes[name] = code
            self.names.append(name)
            self._rank = None
            self.version += 1
        return code

    def lookup(self, name: str) -> int:
        """The code of `name`, or -1 if the column never held it."""
        return self._codes.get(name, -1)

    def rank(self) -> np.ndarray:
        """rank[code] = position of the code's name in case-insensitive alphabetical order."""
        if self._rank is None or len(self._rank) != len(self.names):
            order = sorted(range(len(self.names)), key=lambda c: (self.names[c].lower(), self.names[c]))
            rank = np.empty(len(self.names), dtype=np.int64)
            rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
            self._rank = rank
        return self._rank

    def clear(self) -> None:
        self.names.clear()
        self._codes.clear()
        self._rank = None
        self.version += 1


def _error_icon(size: int = 14) -> QIcon:
    """A small red disc with a white exclamation mark, drawn once per model."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.DOWN))
    painter.drawEllipse(QRectF(0.5, 0.5, size - 1, size - 1))
    painter.setBrush(QColor("#ffffff"))
    mid = size / 2
    painter.drawRoundedRect(QRectF(mid - 1, size * 0.22, 2, size * 0.36), 1, 1)
    painter.drawEllipse(QPointF(mid, size * 0.75), 1.1, 1.1)
    painter.end()
    return QIcon(pixmap)


def _format_quantity(quantity: float, thousands: bool = True) -> str:
    if math.isnan(quantity):
        return ""
    if quantity == int(quantity):
        return f"{int(quantity):,}" if thousands else str(int(quantity))
    text = f"{quantity:,.4f}" if thousands else f"{quantity:.4f}"
    return text.rstrip("0").rstrip(".")


def _extend(array: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """`array` + `extra` as a prefix view of a buffer with spare room (amortised O(len(extra)))."""
    size, added = len(array), len(extra)
    base = array.base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == 1
        and base.dtype == array.dtype
        and len(base) >= size + added
        and base.ctypes.data == array.ctypes.data
        and array.flags.c_contiguous
    ):
        base[size : size + added] = extra
        return base[: size + added]
    buffer = np.empty(max(1024, 2 * (size + added)), dtype=array.dtype)
    buffer[:size] = array
    buffer[size : size + added] = extra
    return buffer[: size + added]


class SignalLogModel(QAbstractTableModel):
    """Append-only table of strategy signals and errors, stored column-wise (one array per column)."""

    def __init__(
        self,
        exchange_tz: str = "America/New_York",
        max_rows: int = 1_000_000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if max_rows <= 0:
            raise ValueError(f"max_rows must be positive, got {max_rows!r}")
        try:
            self._zone = ZoneInfo(exchange_tz)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"unknown exchange time zone {exchange_tz!r}") from exc
        self.exchange_tz = exchange_tz
        self.max_rows = int(max_rows)
        self._n = 0
        self._capacity = 0
        self.time_ns = np.empty(0, dtype=np.int64)
        self.symbol_codes = np.empty(0, dtype=np.int32)
        self.strategy_codes = np.empty(0, dtype=np.int32)
        self.action_codes = np.empty(0, dtype=np.int32)
        self.reason_codes = np.empty(0, dtype=np.int32)
        self.quantity = np.empty(0, dtype=np.float64)
        self.price = np.empty(0, dtype=np.float64)
        self.symbol_decimals = np.empty(0, dtype=np.int64)   # by symbol code: the decimals its prices carry
        self.confidence = np.empty(0, dtype=np.float64)
        self.decision = np.empty(0, dtype=np.int8)
        self.kind = np.empty(0, dtype=np.int8)
        self.symbols = _CodeTable()
        self.strategies = _CodeTable()
        self.actions = _CodeTable()
        self.reasons = _CodeTable()
        self.signal_count = 0
        self.rejected_count = 0
        self.error_count = 0
        self._time_text: dict[int, str] = {}
        self._error_icon = _error_icon()
        self._brush_error_row = QBrush(QColor(theme.ERROR_ROW))
        self._brush_up = QBrush(QColor(theme.UP))
        self._brush_down = QBrush(QColor(theme.DOWN))
        self._brush_amber = QBrush(QColor(theme.AMBER))
        self._brush_close = QBrush(QColor(theme.ACCENT_LIGHT))
        self._brush_muted = QBrush(QColor(theme.MUTED))
        self._brush_text = QBrush(QColor(theme.TEXT))
        self._mono = theme.mono_font(theme.TABLE_POINT_SIZE)
        self._bold = QFont(theme.ui_font(theme.TABLE_POINT_SIZE, bold=True))
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    # ----- Qt model interface -------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == _DISPLAY:
            return COLUMNS[section]
        if role == _TOOLTIP:
            return _HEADER_TIPS.get(section)
        if role == _ALIGNMENT:
            return self._right if section in NUMERIC_COLUMNS else self._left
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        return self.data_at(index.row(), index.column(), role)

    def data_at(self, row: int, column: int, role: int = _DISPLAY) -> Any:
        """data() for storage row `row` (O(1)); the proxy calls this directly."""
        if row < 0 or row >= self._n:
            return None
        role = int(role)
        if role == _DISPLAY:
            return self.display_text(row, column)
        is_error = self.kind[row] == KIND_ERROR
        if role == _FOREGROUND:
            if column == COL_ACTION:
                return self._action_brush(row, is_error)
            if column == COL_DECISION:
                code = self.decision[row]
                if is_error:
                    return self._brush_down
                return self._brush_up if code == APPROVED else self._brush_amber if code == REJECTED else None
            if column == COL_TIME:
                return self._brush_muted
            if column == COL_REASON and is_error:
                return self._brush_down
            return None
        if role == _BACKGROUND:
            return self._brush_error_row if is_error else None
        if role == _ALIGNMENT:
            return self._right if column in NUMERIC_COLUMNS else self._left
        if role == _FONT:
            if column == COL_TIME or column in NUMERIC_COLUMNS:
                return self._mono
            if column == COL_ACTION or (column == COL_DECISION and is_error):
                return self._bold
            return None
        if role == _DECORATION:
            return self._error_icon if is_error and column == COL_ACTION else None
        if role == _TOOLTIP:
            reason = self.reasons.names[self.reason_codes[row]]
            if is_error:
                return f"Strategy error in {self.strategies.names[self.strategy_codes[row]]}: {reason}"
            return reason if column == COL_REASON and reason else None
        if role == SORT_ROLE:
            return self.sort_value(row, column)
        if role == KIND_ROLE:
            return "error" if is_error else "signal"
        return None

    # ----- content ------------------------------------------------------------------------------

    def row_count(self) -> int:
        """Number of stored rows (same as rowCount())."""
        return self._n

    def display_text(self, row: int, column: int, thousands: bool = True) -> str:
        """The text shown in one cell; `thousands=False` gives the plain form used for copy/CSV."""
        if column == COL_TIME:
            return self.format_time(int(self.time_ns[row]))
        if column == COL_SYMBOL:
            return self.symbols.names[self.symbol_codes[row]]
        if column == COL_STRATEGY:
            return self.strategies.names[self.strategy_codes[row]]
        if column == COL_ACTION:
            return self.actions.names[self.action_codes[row]]
        if column == COL_QTY:
            return _format_quantity(float(self.quantity[row]), thousands)
        if column == COL_PRICE:
            price = float(self.price[row])
            if math.isnan(price):
                return ""
            decimals = int(self.symbol_decimals[self.symbol_codes[row]])
            return f"{price:,.{decimals}f}" if thousands else f"{price:.{decimals}f}"
        if column == COL_CONFIDENCE:
            confidence = float(self.confidence[row])
            return "" if math.isnan(confidence) else f"{confidence:.2f}"
        if column == COL_DECISION:
            if self.kind[row] == KIND_ERROR:
                return "Error"
            code = self.decision[row]
            return "Approved" if code == APPROVED else "Rejected" if code == REJECTED else ""
        if column == COL_REASON:
            return self.reasons.names[self.reason_codes[row]]
        return ""

    def _see_prices(self, symbols: np.ndarray, prices: np.ndarray) -> None:
        """Each symbol's prices are shown with the finest decimals its prices carry (2 for cents, 5 for
        EURUSD's 1.07963, at most 6); a price on no decimal grid (computed) does not count."""
        known = len(self.symbols.names)
        if len(self.symbol_decimals) < known:
            grown = np.full(known, MIN_PRICE_DECIMALS, dtype=np.int64)
            grown[: len(self.symbol_decimals)] = self.symbol_decimals
            self.symbol_decimals = grown
        finite = np.isfinite(prices)
        if not finite.any():
            return
        decimals = shown_decimals(prices[finite])
        on_grid = decimals >= 0
        np.maximum.at(self.symbol_decimals, symbols[finite][on_grid], decimals[on_grid])

    def format_time(self, time_ns: int) -> str:
        """int ns UTC -> "YYYY-MM-DD HH:MM:SS" in the exchange zone (cached per second)."""
        second = time_ns // 1_000_000_000
        text = self._time_text.get(second)
        if text is None:
            if len(self._time_text) > 50_000:
                self._time_text.clear()
            text = datetime.fromtimestamp(second, self._zone).strftime("%Y-%m-%d %H:%M:%S")
            self._time_text[second] = text
        return text

    def plain_columns(self, rows: np.ndarray) -> list[list[str]]:
        """Texts of storage rows `rows`, one list per column, without thousands separators (CSV/TSV)."""
        rows = np.asarray(rows, dtype=np.int64)
        symbols, strategies = self.symbols.names, self.strategies.names
        actions, reasons = self.actions.names, self.reasons.names
        kinds, decisions = self.kind[rows].tolist(), self.decision[rows].tolist()
        decision_text = {APPROVED: "Approved", REJECTED: "Rejected", NO_DECISION: ""}
        return [
            [self.format_time(t) for t in self.time_ns[rows].tolist()],
            [symbols[c] for c in self.symbol_codes[rows].tolist()],
            [strategies[c] for c in self.strategy_codes[rows].tolist()],
            [actions[c] for c in self.action_codes[rows].tolist()],
            [_format_quantity(q, thousands=False) for q in self.quantity[rows].tolist()],
            ["" if p != p else f"{p:.{d}f}" for p, d in zip(self.price[rows].tolist(),
                                                           self.symbol_decimals[self.symbol_codes[rows]].tolist(),
                                                           strict=True)],
            ["" if c != c else f"{c:.2f}" for c in self.confidence[rows].tolist()],
            [
                "Error" if kind == KIND_ERROR else decision_text[code]
                for kind, code in zip(kinds, decisions, strict=True)
            ],
            [reasons[c] for c in self.reason_codes[rows].tolist()],
        ]

    def sort_value(self, row: int, column: int) -> Any:
        """The raw value a column sorts by: numbers for numeric columns and time, text otherwise."""
        if column == COL_TIME:
            return int(self.time_ns[row])
        if column == COL_QTY:
            return float(self.quantity[row])
        if column == COL_PRICE:
            return float(self.price[row])
        if column == COL_CONFIDENCE:
            return float(self.confidence[row])
        return self.display_text(row, column)

    def row_dict(self, row: int) -> dict[str, Any]:
        """One stored row as the dict shape `append_rows` takes (times in int ns UTC)."""
        if not 0 <= row < self._n:
            raise IndexError(f"signal log row {row} out of range 0..{self._n - 1}")
        is_error = self.kind[row] == KIND_ERROR
        code = int(self.decision[row])
        return {
            "time_ns": int(self.time_ns[row]),
            "symbol": self.symbols.names[self.symbol_codes[row]],
            "strategy": self.strategies.names[self.strategy_codes[row]],
            "action": self.actions.names[self.action_codes[row]],
            "quantity": float(self.quantity[row]),
            "price": float(self.price[row]),
            "confidence": float(self.confidence[row]),
            "approved": None if code == NO_DECISION else bool(code),
            "reason": self.reasons.names[self.reason_codes[row]],
            "kind": "error" if is_error else "signal",
        }

    def sort_keys(self, column: int, rows: np.ndarray) -> np.ndarray:
        """Vectorised sort keys of `column` for storage rows `rows` (NaN sorts last)."""
        if column == COL_TIME:
            return self.time_ns[rows]
        if column == COL_SYMBOL:
            return self.symbols.rank()[self.symbol_codes[rows]]
        if column == COL_STRATEGY:
            return self.strategies.rank()[self.strategy_codes[rows]]
        if column == COL_ACTION:
            return self.actions.rank()[self.action_codes[rows]]
        if column == COL_QTY:
            return self.quantity[rows]
        if column == COL_PRICE:
            return self.price[rows]
        if column == COL_CONFIDENCE:
            return self.confidence[rows]
        if column == COL_DECISION:
            # Alphabetical by the shown text: Approved < Error < Rejected.
            keys = np.where(self.decision[rows] == APPROVED, 0, 2).astype(np.int64)
            keys[self.kind[rows] == KIND_ERROR] = 1
            keys[(self.decision[rows] == NO_DECISION) & (self.kind[rows] != KIND_ERROR)] = -1
            return keys
        if column == COL_REASON:
            return self.reasons.rank()[self.reason_codes[rows]]
        raise IndexError(f"signal log has no column {column}")

    def key_version(self, column: int) -> int:
        """Changes whenever the sort keys of existing rows in `column` may have changed."""
        table = {
            COL_SYMBOL: self.symbols,
            COL_STRATEGY: self.strategies,
            COL_ACTION: self.actions,
            COL_REASON: self.reasons,
        }.get(column)
        return table.version if table is not None else 0

    # ----- writing ------------------------------------------------------------------------------

    def append_rows(self, rows: Sequence[Any]) -> int:
        """Append a batch of signal/error dicts with one beginInsertRows; returns rows added.

        Keys: time_ns, symbol, strategy, action, quantity, price, confidence, approved (bool, or
        None for errors), reason, kind ("signal" or "error"). A row may also be an engine Decision
        (read as `decision_row` would turn it into a dict) or a DecisionBatch (the payload of the engine's
        "decisions" event: its rows in order, a batch of signal verdicts read a column at a time; the
        bridge passes them as they come, which saves a Decision and a dict per signal at MAX speed).
        Oldest rows are dropped beyond max_rows.
        """
        count = sum(len(row) if type(row) is DecisionBatch else 1 for row in rows)
        if count == 0:
            return 0
        if count > self.max_rows:
            rows = [item for row in rows
                    for item in (row.decisions() if type(row) is DecisionBatch else (row,))][count - self.max_rows:]
            count = len(rows)
        overflow = self._n + count - self.max_rows
        if overflow > 0:
            chunk = max(1, self.max_rows // 20)
            self._drop_oldest(min(self._n, overflow + chunk))
        # one pass over the rows into Python lists, then one array per column (numpy item assignment
        # per row costs more than the whole pass: thousands of rows a frame at MAX speed)
        t_l: list[int] = []
        sym_l: list[int] = []
        strat_l: list[int] = []
        act_l: list[int] = []
        rea_l: list[int] = []
        qty_l: list[float] = []
        px_l: list[float] = []
        conf_l: list[float] = []
        dec_l: list[int] = []
        kind_l: list[int] = []
        action_codes: dict[Any, int] = {}
        columns = self._signal_columns(rows)
        if columns is not None:     # every row an engine signal Decision (at MAX: thousands a frame)
            t_l, sym_l, strat_l, act_l, rea_l, qty_l, px_l, conf_l, dec_l = columns
            kind_l = [KIND_SIGNAL] * count
            rows = ()
        lists = (t_l, sym_l, strat_l, act_l, rea_l, qty_l, px_l, conf_l, dec_l, kind_l, action_codes)
        items: Any = rows
        if any(type(row) is DecisionBatch for row in rows):
            # rows in order: a run of rounds of signal verdicts is read a column at a time (no Decision per
            # row), the rows (dicts, Decisions) between them row by row
            items, run = [], []
            for row in rows:
                if type(row) is DecisionBatch and row.signals is not None:
                    if items:
                        self._read_rows(items, *lists)
                        items = []
                    run.append(row)
                    continue
                if run:
                    self._read_signal_batches(run, *lists)
                    run = []
                if type(row) is DecisionBatch:
                    items.extend(row.objects)
                else:
                    items.append(row)
            if run:
                self._read_signal_batches(run, *lists)
        self._read_rows(items, *lists)
        times = np.array(t_l, dtype=np.int64)
        symbols = np.array(sym_l, dtype=np.int32)
        strategies = np.array(strat_l, dtype=np.int32)
        actions = np.array(act_l, dtype=np.int32)
        reasons = np.array(rea_l, dtype=np.int32)
        quantities = np.array(qty_l, dtype=np.float64)
        prices = np.array(px_l, dtype=np.float64)
        confidences = np.array(conf_l, dtype=np.float64)
        decisions = np.array(dec_l, dtype=np.int8)
        kinds = np.array(kind_l, dtype=np.int8)
        first = self._n
        self._reserve(first + count)
        self.beginInsertRows(QModelIndex(), first, first + count - 1)
        end = first + count
        self.time_ns[first:end] = times
        self.symbol_codes[first:end] = symbols
        self.strategy_codes[first:end] = strategies
        self.action_codes[first:end] = actions
        self.reason_codes[first:end] = reasons
        self.quantity[first:end] = quantities
        self.price[first:end] = prices
        self._see_prices(symbols, prices)
        self.confidence[first:end] = confidences
        self.decision[first:end] = decisions
        self.kind[first:end] = kinds
        self._n = end
        errors = int(np.count_nonzero(kinds == KIND_ERROR))
        self.error_count += errors
        self.signal_count += count - errors
        self.rejected_count += int(np.count_nonzero(decisions == REJECTED))
        self.endInsertRows()
        return count

    def _read_rows(self, rows: Sequence[Any], t_l: list, sym_l: list, strat_l: list, act_l: list, rea_l: list,
                   qty_l: list, px_l: list, conf_l: list, dec_l: list, kind_l: list,
                   action_codes: dict[Any, int]) -> None:
        """Append the columns of rows (engine Decisions or row dicts) to the lists, row by row."""
        symbol_code, strategy_code = self.symbols.code, self.strategies.code
        action_code, reason_code = self.actions.code, self.reasons.code
        nan = math.nan
        for row in rows:
            if type(row) is not dict:
                # an engine Decision as the bridge delivers it: read without building a dict
                sig = row.signal
                t_l.append(sig.time)
                sym_l.append(symbol_code(sig.symbol))
                strat_l.append(strategy_code(sig.strategy))
                if row.kind == "signal":
                    code = action_codes.get(sig.action)
                    if code is None:
                        code = action_codes[sig.action] = action_code(row.action_text.upper())
                else:
                    code = action_code(row.action_text.upper())
                act_l.append(code)
                rea_l.append(reason_code(row.reason or ""))
                qty_l.append(sig.quantity)
                px_l.append(sig.price)
                conf_l.append(sig.confidence)
                dec_l.append(APPROVED if row.approved else REJECTED)
                kind_l.append(KIND_SIGNAL)
                continue
            get = row.get
            is_error = get("kind") == "error"
            t_l.append(get("time_ns", 0))
            sym_l.append(symbol_code(str(get("symbol") or "")))
            strat_l.append(strategy_code(str(get("strategy") or "")))
            action = "ERROR" if is_error else get("action") or ""
            code = action_codes.get(action)
            if code is None:
                code = action_codes[action] = action_code(str(getattr(action, "value", action)).upper())
            act_l.append(code)
            rea_l.append(reason_code(str(get("reason") or "")))
            if is_error:
                qty_l.append(nan)
                px_l.append(nan)
                conf_l.append(nan)
                dec_l.append(NO_DECISION)
                kind_l.append(KIND_ERROR)
                continue
            quantity, price, confidence = get("quantity"), get("price"), get("confidence")
            qty_l.append(nan if quantity is None else quantity)
            px_l.append(nan if price is None else price)
            conf_l.append(nan if confidence is None else confidence)
            approved = get("approved")
            dec_l.append(NO_DECISION if approved is None else (APPROVED if approved else REJECTED))
            kind_l.append(KIND_SIGNAL)

    def _read_signal_batches(self, batches: list[DecisionBatch], t_l: list, sym_l: list, strat_l: list,
                             act_l: list, rea_l: list, qty_l: list, px_l: list, conf_l: list, dec_l: list,
                             kind_l: list, action_codes: dict[Any, int]) -> None:
        """Append the columns of consecutive DecisionBatches of signal verdicts to the lists, a column at a
        time over all of them (at MAX a frame holds one per bar time, a few rows each): the values
        `decision_row` gives for each of their `decisions()`, each new name interned in row order."""
        signal_batches = [batch.signals for batch in batches]
        sizes = [len(batch.approved) for batch in batches]
        symbol_code = self.symbols.code
        first_symbols = signal_batches[0].symbols
        if all(b.symbols is first_symbols for b in signal_batches):
            # one symbol list (the run's) for all: one lookup per distinct symbol index
            indices = list(chain.from_iterable(as_list(b.symbol_indices) for b in signal_batches))
            code_of = {i: symbol_code(first_symbols[i]) for i in dict.fromkeys(indices)}
            sym_l.extend([code_of[i] for i in indices])
        else:
            names = [b.symbols[i] for b in signal_batches for i in as_list(b.symbol_indices)]
            name_code = {name: symbol_code(name) for name in dict.fromkeys(names)}
            sym_l.extend([name_code[name] for name in names])
        strategy_code = self.strategies.code
        for b, n in zip(signal_batches, sizes, strict=True):
            t_l.extend(repeat(b.time, n))
            strat_l.extend(repeat(strategy_code(b.strategy), n))
        actions = list(chain.from_iterable(b.actions for b in signal_batches))
        for action in dict.fromkeys(actions):
            if action not in action_codes:
                action_codes[action] = self.actions.code(action._value_.upper())
        act_l.extend([action_codes[action] for action in actions])
        reasons = list(chain.from_iterable(batch.reasons for batch in batches))
        reason_code = self.reasons.code
        reason_of = {reason: reason_code(reason or "") for reason in dict.fromkeys(reasons)}
        rea_l.extend([reason_of[reason] for reason in reasons])
        for b in signal_batches:
            qty_l.extend(as_list(b.quantities))
            px_l.extend(as_list(b.prices))
            conf_l.extend(as_list(b.confidences))
        dec_l.extend([APPROVED if ok else REJECTED for ok in chain.from_iterable(batch.approved for batch in batches)])
        kind_l.extend(repeat(KIND_SIGNAL, sum(sizes)))

    def _signal_columns(self, rows: Sequence[Any]) -> tuple[list, ...] | None:
        """The columns of rows that are all engine Decisions on signals (kind "signal"), read a column at
        a time (a comprehension per field, each distinct name interned once); None when some row is a
        dict or another kind of decision (the row-by-row loop reads those)."""
        if any(type(row) is dict or getattr(row, "kind", None) != "signal" for row in rows):
            return None
        signals = [row.signal for row in rows]

        def codes(table: _CodeTable, names: list) -> list[int]:
            mapping = {name: table.code(name) for name in dict.fromkeys(names)}
            return [mapping[name] for name in names]

        action_of = {action: self.actions.code(row.action_text.upper())
                     for action, row in {sig.action: row for sig, row in zip(signals, rows, strict=True)}.items()}
        return ([sig.time for sig in signals],
                codes(self.symbols, [sig.symbol for sig in signals]),
                codes(self.strategies, [sig.strategy for sig in signals]),
                [action_of[sig.action] for sig in signals],
                codes(self.reasons, [row.reason or "" for row in rows]),
                [sig.quantity for sig in signals],
                [sig.price for sig in signals],
                [sig.confidence for sig in signals],
                [APPROVED if row.approved else REJECTED for row in rows])

    def clear(self) -> None:
        """Remove every row and forget the seen symbols and strategies."""
        self.beginResetModel()
        self._n = 0
        self._capacity = 0
        for name in self._array_names():
            setattr(self, name, np.empty(0, dtype=getattr(self, name).dtype))
        for table in (self.symbols, self.strategies, self.actions, self.reasons):
            table.clear()
        self.symbol_decimals = np.empty(0, dtype=np.int64)
        self.signal_count = self.rejected_count = self.error_count = 0
        self._time_text.clear()
        self.endResetModel()

    def drop_after(self, time_ns: int) -> int:
        """Remove the newest rows later than `time_ns` (a step back: that future is gone); how many."""
        n = self._n
        keep = n
        while keep > 0 and self.time_ns[keep - 1] > time_ns:
            keep -= 1
        if keep == n:
            return 0
        self.beginRemoveRows(QModelIndex(), keep, n - 1)
        kinds = self.kind[keep:n]
        errors = int(np.count_nonzero(kinds == KIND_ERROR))
        self.error_count -= errors
        self.signal_count -= (n - keep) - errors
        self.rejected_count -= int(np.count_nonzero(self.decision[keep:n] == REJECTED))
        self._n = keep
        self.endRemoveRows()
        return n - keep

    @staticmethod
    def _array_names() -> tuple[str, ...]:
        return (
            "time_ns",
            "symbol_codes",
            "strategy_codes",
            "action_codes",
            "reason_codes",
            "quantity",
            "price",
            "confidence",
            "decision",
            "kind",
        )

    def _reserve(self, needed: int) -> None:
        if needed <= self._capacity:
            return
        capacity = max(1024, self._capacity * 2, needed)
        capacity = min(capacity, max(needed, self.max_rows))
        for name in self._array_names():
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)
        self._capacity = capacity

    def _drop_oldest(self, count: int) -> None:
        if count <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, count - 1)
        kinds = self.kind[:count]
        errors = int(np.count_nonzero(kinds == KIND_ERROR))
        self.error_count -= errors
        self.signal_count -= count - errors
        self.rejected_count -= int(np.count_nonzero(self.decision[:count] == REJECTED))
        keep = self._n - count
        for name in self._array_names():
            array = getattr(self, name)
            array[:keep] = array[count : self._n]
        self._n = keep
        self.endRemoveRows()

    def _action_brush(self, row: int, is_error: bool) -> QBrush | None:
        if is_error:
            return self._brush_down
        action = self.actions.names[self.action_codes[row]]
        if action == "BUY":
            return self._brush_up
        if action == "SELL":
            return self._brush_down
        if action == "CLOSE":
            return self._brush_close
        return self._brush_text


class SignalFilterProxyModel(RowMapProxy):
    """Filters (symbol, strategy, decision, free text) and sorts a SignalLogModel with numpy.

    `_rows` holds the accepted storage rows in display order (storage order when unsorted) and
    `_keys` their ascending sort keys (negated for a descending sort, so blanks stay last). Appends
    at either end become row insertions, anything else a layout change that keeps the selection
    (persistent indexes) on the same signals.
    """

    def __init__(self, parent: QWidget | None = None, refresh_ms: int = 0) -> None:
        """`refresh_ms` > 0 coalesces source appends: they reach views at most that often."""
        super().__init__(parent)
        if refresh_ms < 0:
            raise ValueError(f"refresh_ms must be >= 0, got {refresh_ms!r}")
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(refresh_ms)
        self._refresh.timeout.connect(self.flush)
        self._model: SignalLogModel | None = None
        self._keys: np.ndarray | None = None
        self._key_version = 0
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._known = 0
        self._symbol: str | None = None
        self._strategy: str | None = None
        self._decision = "all"
        self._text = ""
        self._text_matches: dict[str, np.ndarray] = {}
        self._connections: list[tuple[Any, Any]] = []

    # ----- wiring -------------------------------------------------------------------------------

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        if not isinstance(model, SignalLogModel):
            raise TypeError(f"SignalFilterProxyModel needs a SignalLogModel, got {type(model).__name__}")
        self.beginResetModel()
        for signal, slot in self._connections:
            signal.disconnect(slot)
        self._connections = []
        super().setSourceModel(model)
        self._model = model
        for signal, slot in (
            (model.rowsInserted, self._on_source_rows_inserted),
            (model.rowsAboutToBeRemoved, self._on_source_rows_about_to_be_removed),
            (model.rowsRemoved, self._on_source_rows_removed),
            (model.modelAboutToBeReset, self._on_source_about_to_reset),
            (model.modelReset, self._on_source_reset),
        ):
            signal.connect(slot)
            self._connections.append((signal, slot))
        self._rebuild()
        self.endResetModel()

    def source_model(self) -> SignalLogModel:
        """The SignalLogModel behind this proxy."""
        if self._model is None:
            raise RuntimeError("SignalFilterProxyModel has no source model yet")
        return self._model

    # ----- Qt proxy interface -------------------------------------------------------------------

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def _source_row_count(self) -> int:
        return self._known

    # ----- mapping helpers ----------------------------------------------------------------------

    def source_rows(self) -> np.ndarray:
        """Storage rows in display order (filtered and sorted), e.g. for export; takes in pending rows."""
        self.flush()
        return self._rows.copy()

    # ----- filtering ----------------------------------------------------------------------------

    def set_filters(
        self,
        symbol: str | None = None,
        strategy: str | None = None,
        decision: str = "all",
        text: str = "",
    ) -> None:
        """Set every filter at once (None / "all" / "" mean no restriction) and refilter."""
        decision = decision.lower()
        if decision not in DECISION_FILTERS:
            raise ValueError(f"decision filter must be one of {DECISION_FILTERS}, got {decision!r}")
        text = text.strip().lower()
        if (symbol, strategy, decision, text) == (self._symbol, self._strategy, self._decision, self._text):
            return
        if text != self._text:
            self._text_matches = {}
        self._symbol, self._strategy, self._decision, self._text = symbol, strategy, decision, text
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def filters(self) -> dict[str, Any]:
        """The current filter values (as set_filters takes them)."""
        return {
            "symbol": self._symbol,
            "strategy": self._strategy,
            "decision": self._decision,
            "text": self._text,
        }

    def is_filtered(self) -> bool:
        """True when any filter restricts the rows."""
        return bool(self._symbol or self._strategy or self._decision != "all" or self._text)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | None = None) -> bool:
        """Whether storage row `source_row` passes the filters (the vectorised test for one row)."""
        return bool(self._accept_mask(source_row, source_row + 1)[0])

    def _accept_mask(self, start: int, stop: int) -> np.ndarray:
        model = self.source_model()
        mask = np.ones(stop - start, dtype=bool)
        if self._symbol:
            mask &= model.symbol_codes[start:stop] == model.symbols.lookup(self._symbol)
        if self._strategy:
            mask &= model.strategy_codes[start:stop] == model.strategies.lookup(self._strategy)
        if self._decision == "approved":
            mask &= (model.decision[start:stop] == APPROVED) & (model.kind[start:stop] == KIND_SIGNAL)
        elif self._decision == "rejected":
            mask &= (model.decision[start:stop] == REJECTED) & (model.kind[start:stop] == KIND_SIGNAL)
        elif self._decision == "errors":
            mask &= model.kind[start:stop] == KIND_ERROR
        if self._text and mask.any():
            needle = self._text
            hits = self._table_matches("symbol", model.symbols)[model.symbol_codes[start:stop]]
            hits |= self._table_matches("strategy", model.strategies)[model.strategy_codes[start:stop]]
            hits |= self._table_matches("action", model.actions)[model.action_codes[start:stop]]
            hits |= self._table_matches("reason", model.reasons)[model.reason_codes[start:stop]]
            kinds, decisions = model.kind[start:stop], model.decision[start:stop]
            for word, selected in (
                ("approved", (decisions == APPROVED) & (kinds == KIND_SIGNAL)),
                ("rejected", (decisions == REJECTED) & (kinds == KIND_SIGNAL)),
                ("error", kinds == KIND_ERROR),
            ):
                if needle in word:
                    hits |= selected
            mask &= hits
        return mask

    def _table_matches(self, name: str, table: _CodeTable) -> np.ndarray:
        """match[code] = whether the text filter occurs in the code's string (extended as tables grow)."""
        cached = self._text_matches.get(name)
        names = table.names
        if cached is not None and len(cached) == len(names):
            return cached
        done = 0 if cached is None or len(cached) > len(names) else len(cached)
        needle = self._text
        fresh = np.fromiter((needle in s.lower() for s in names[done:]), dtype=bool, count=len(names) - done)
        matches = fresh if done == 0 else np.concatenate([cached, fresh])
        self._text_matches[name] = matches
        return matches

    # ----- sorting ------------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by `column` (-1 restores arrival order); keeps the selection on the same signals."""
        if column >= len(COLUMNS):
            raise IndexError(f"signal log has no column {column}")
        column = max(-1, column)
        self.flush()
        if column == self._sort_column and (column < 0 or order == self._sort_order):
            return
        rows = np.sort(self._rows)
        self._relayout(column, order, *self._sorted(rows, column, order))

    def sort_column(self) -> int:
        """The column sorted by, or -1 for arrival order."""
        return self._sort_column

    def sort_order(self) -> Qt.SortOrder:
        """The current sort order (meaningful when sort_column() >= 0)."""
        return self._sort_order

    def _sorted(
        self, rows: np.ndarray, column: int, order: Qt.SortOrder
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """`rows` in display order with their keys; descending sorts negated keys so blanks stay last."""
        if column < 0:
            return rows, None
        keys = self.source_model().sort_keys(column, rows)
        if order == Qt.SortOrder.DescendingOrder:
            keys = -keys
        order = np.argsort(keys, kind="stable")
        return rows[order], keys[order]

    def _rebuild(self) -> None:
        """Recompute the accepted rows from scratch (callers wrap it in a model reset)."""
        model = self._model
        if model is None:
            self._rows = np.empty(0, dtype=np.int64)
            self._keys = None
            self._known = 0
        else:
            self._known = model.row_count()
            self._refresh.stop()
            accepted = np.flatnonzero(self._accept_mask(0, model.row_count())).astype(np.int64)
            self._rows, self._keys = self._sorted(accepted, self._sort_column, self._sort_order)
            self._key_version = model.key_version(self._sort_column)
        self._inverse = None

    def _relayout(
        self,
        column: int,
        order: Qt.SortOrder,
        rows: np.ndarray,
        keys: np.ndarray | None,
        shift: int = 0,
    ) -> None:
        """Switch to a new mapping with a layout change, moving persistent indexes along.

        `shift` is subtracted from old storage rows (after the source dropped its oldest rows).
        """
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old_sources = [self.source_row(index.row()) - shift for index in persistent]
        self._sort_column, self._sort_order = column, order
        self._rows, self._keys = rows, keys
        self._key_version = self._model.key_version(column) if self._model is not None else 0
        self._finish_relayout(persistent, old_sources)

    # ----- source changes -----------------------------------------------------------------------

    def _on_source_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if first < self._known:
            self.beginResetModel()
            self._rebuild()
            self.endResetModel()
            return
        if self._refresh.interval() == 0:
            self._take_in(first, last)
        elif not self._refresh.isActive():
            self._refresh.start()

    def flush(self) -> None:
        """Take in the source rows appended since the last refresh now (one insertion or layout change)."""
        self._refresh.stop()
        if self._model is not None and self._model.row_count() > self._known:
            self._take_in(self._known, self._model.row_count() - 1)

    def pending_count(self) -> int:
        """Source rows appended but not yet taken in (shown within refresh_ms)."""
        return 0 if self._model is None else self._model.row_count() - self._known

    def _take_in(self, first: int, last: int) -> None:
        """Filter and place source rows first..last (appended at the end of the source)."""
        model = self.source_model()
        accepted = (np.flatnonzero(self._accept_mask(first, last + 1)) + first).astype(np.int64)
        self._known = last + 1
        if self._inverse is not None:
            grown = np.full(last + 1, -1, dtype=np.int64)
            grown[:first] = self._inverse
            self._inverse = grown
        if len(accepted) == 0:
            return
        count = len(self._rows)
        if self._sort_column < 0:
            self._insert_block(accepted, None, count)
            return
        if model.key_version(self._sort_column) != self._key_version:
            merged = np.concatenate([self._rows, accepted])
            order = self._sort_order
            self._relayout(self._sort_column, order, *self._sorted(merged, self._sort_column, order))
            return
        new_rows, new_keys = self._sorted(accepted, self._sort_column, self._sort_order)
        assert new_keys is not None and self._keys is not None
        positions = np.searchsorted(self._keys, new_keys, side="right")
        if count == 0 or positions[0] == count:
            self._insert_block(new_rows, new_keys, count)
            return
        if positions[-1] == 0:
            self._insert_block(new_rows, new_keys, 0)
            return
        rows = np.insert(self._rows, positions, new_rows)
        keys = np.insert(self._keys, positions, new_keys)
        self._relayout(self._sort_column, self._sort_order, rows, keys)

    def _insert_block(self, rows: np.ndarray, keys: np.ndarray | None, at: int) -> None:
        """Insert new rows as one contiguous block at display row `at` (the end or the top)."""
        added = len(rows)
        at_end = at == len(self._rows)
        self.beginInsertRows(QModelIndex(), at, at + added - 1)
        if at_end:
            self._rows = _extend(self._rows, rows)
        else:
            self._rows = np.concatenate([rows, self._rows])
        if keys is not None and self._keys is not None:
            self._keys = _extend(self._keys, keys) if at_end else np.concatenate([keys, self._keys])
        if self._inverse is not None:
            if at == len(self._rows) - added:
                self._inverse[rows] = np.arange(at, at + added, dtype=np.int64)
            else:
                self._inverse = None
        self.endInsertRows()

    def _on_source_rows_about_to_be_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        self.flush()  # pending rows are addressed by their pre-removal positions

    def _on_source_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        removed = last - first + 1
        if first != 0:
            self.beginResetModel()
            self._rebuild()
            self.endResetModel()
            return
        self._known -= removed
        keep = self._rows >= removed
        dropped = int(len(self._rows) - np.count_nonzero(keep))
        if self._sort_column < 0:
            # Arrival order: the dropped (oldest) rows are the first shown rows.
            if dropped:
                self.beginRemoveRows(QModelIndex(), 0, dropped - 1)
            self._rows = self._rows[dropped:] - removed
            self._inverse = None
            if dropped:
                self.endRemoveRows()
            return
        keys = self._keys[keep] if self._keys is not None else None
        self._relayout(self._sort_column, self._sort_order, self._rows[keep] - removed, keys, shift=removed)

    def _on_source_about_to_reset(self) -> None:
        self.beginResetModel()

    def _on_source_reset(self) -> None:
        self._text_matches = {}
        self._rebuild()
        self.endResetModel()


class _SignalTable(QTableView):
    """QTableView that turns the platform Copy shortcut into a TSV copy of the selected rows and
    reports keyboard navigation (which may scroll the view) to the follow logic."""

    def __init__(self, on_copy: Callable[[], object], on_navigate: Callable[[], None]) -> None:
        super().__init__()
        self._on_copy = on_copy
        self._on_navigate = on_navigate

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if event.matches(QKeySequence.StandardKey.Copy):
            self._on_copy()
            event.accept()
            return
        super().keyPressEvent(event)
        self._on_navigate()


class SignalLogView(QWidget):
    """The dockable signal log: filter bar, sortable table, follow toggle, counts, copy and CSV export.

    `append_rows` stores rows in the model at once (counts and `model` are always current), but the
    table takes them in at most every `refresh_ms` (default 100 ms): every insertion repaints the
    visible rows (~10 ms for a 1000x300 table), and ten refreshes a second read as live while
    leaving the UI thread free at maximum replay speed. Export, copy, sorting and filters first take
    in the pending rows; `flush()` does it on demand.
    """

    follow_changed = Signal(bool)

    def __init__(
        self,
        model: SignalLogModel | None = None,
        exchange_tz: str = "America/New_York",
        parent: QWidget | None = None,
        refresh_ms: int = 100,
    ) -> None:
        super().__init__(parent)
        if refresh_ms < 0:
            raise ValueError(f"refresh_ms must be >= 0, got {refresh_ms!r}")
        self.model = model if model is not None else SignalLogModel(exchange_tz, parent=self)
        self.proxy = SignalFilterProxyModel(self, refresh_ms=refresh_ms)
        self.proxy.setSourceModel(self.model)
        self._scroll_pending = False

        self.symbol_combo = QComboBox()
        self.symbol_combo.setToolTip("Show one symbol")
        self.symbol_combo.setMinimumContentsLength(9)
        self.strategy_combo = QComboBox()
        self.strategy_combo.setToolTip("Show one strategy")
        self.strategy_combo.setMinimumContentsLength(12)
        for combo in (self.symbol_combo, self.strategy_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.decision_combo = QComboBox()
        self.decision_combo.setToolTip("Show approved signals, rejected signals or strategy errors")
        for label, value in (
            ("All decisions", "all"),
            ("Approved", "approved"),
            ("Rejected", "rejected"),
            ("Errors", "errors"),
        ):
            self.decision_combo.addItem(label, value)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Filter: symbol, strategy, reason…")
        self.text_edit.setClearButtonEnabled(True)
        self.text_edit.setMinimumWidth(140)
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(200)

        self.follow_button = QToolButton()
        self.follow_button.setText("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Keep the newest signals in view (turns off when you scroll back)")
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the selected rows as tab-separated text (Ctrl+C)")
        self.export_button = QToolButton()
        self.export_button.setText("Export CSV…")
        self.export_button.setToolTip("Save the rows shown (after filters) to a CSV file")
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"color: {theme.MUTED};")
        # the current row's reason whole (the Reason column cuts a long one at its width: a session close's
        # or a daily loss limit's), selectable to copy
        self.reason_label = QLabel()
        self.reason_label.setObjectName("SignalReason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason_label.setStyleSheet(f"color: {theme.TEXT};")

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.setSpacing(6)
        bar.addWidget(self.symbol_combo)
        bar.addWidget(self.strategy_combo)
        bar.addWidget(self.decision_combo)
        bar.addWidget(self.text_edit, 1)
        bar.addSpacing(4)
        bar.addWidget(self.follow_button)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.export_button)

        self.table = _SignalTable(self.copy_selection, self._on_user_key_scroll)
        self.table.setModel(self.proxy)
        self._setup_table()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        footer = QHBoxLayout()
        footer.setContentsMargins(8, 2, 8, 2)
        footer.setSpacing(16)
        footer.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignTop)
        footer.addWidget(self.reason_label, 1)
        layout.addLayout(footer)

        copy_action = QAction("Copy rows", self.table)
        copy_action.triggered.connect(self.copy_selection)
        export_action = QAction("Export shown rows to CSV…", self.table)
        export_action.triggered.connect(self._export_with_dialog)
        self.table.addActions([copy_action, export_action])
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.symbol_combo.currentIndexChanged.connect(self._apply_filters)
        self.strategy_combo.currentIndexChanged.connect(self._apply_filters)
        self.decision_combo.currentIndexChanged.connect(self._apply_filters)
        self.text_edit.textChanged.connect(self._text_timer.start)
        self._text_timer.timeout.connect(self._apply_filters)
        self.follow_button.toggled.connect(self._on_follow_toggled)
        self.copy_button.clicked.connect(self.copy_selection)
        self.export_button.clicked.connect(self._export_with_dialog)
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            signal.connect(self._on_model_changed)
        self._action_version = -1            # the model's action names the Action column was fitted to
        self._action_sized_by_hand = False   # the trader resized the Action column: it keeps that width
        self._sizing_action = False
        self.table.horizontalHeader().sectionResized.connect(self._on_section_resized)
        self.proxy.rowsInserted.connect(self._schedule_follow_scroll)
        self.proxy.layoutChanged.connect(self._schedule_follow_scroll)
        self.proxy.modelReset.connect(self._schedule_follow_scroll)
        self.proxy.modelReset.connect(self._update_count_label)
        self.table.selectionModel().currentRowChanged.connect(self._show_reason)
        self.proxy.modelReset.connect(self._show_reason)
        scroll_bar = self.table.verticalScrollBar()
        scroll_bar.actionTriggered.connect(self._on_user_scroll_action)
        scroll_bar.rangeChanged.connect(self._on_scroll_range_changed)

        self._combo_sizes = (-1, -1)
        self._on_model_changed()

    def _setup_table(self) -> None:
        table = self.table
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setCornerButtonEnabled(False)
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        vertical = table.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(max(20, table.fontMetrics().height() + 6))
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setSortIndicatorShown(True)
        mono = theme.mono_font(theme.TABLE_POINT_SIZE)
        digits = QFontMetrics(mono).horizontalAdvance("0")
        ui_metrics = table.fontMetrics()
        widths = {
            COL_TIME: digits * 19 + 24,
            COL_SYMBOL: ui_metrics.horizontalAdvance("WWWWW") + 16,
            COL_STRATEGY: ui_metrics.horizontalAdvance("mean_reversion_x") + 12,
            COL_ACTION: QFontMetrics(theme.ui_font(theme.TABLE_POINT_SIZE, bold=True)).horizontalAdvance(
                "ERROR"
            )
            + ACTION_PAD,
            COL_QTY: digits * 7 + 16,
            COL_PRICE: digits * 10 + 16,
            COL_CONFIDENCE: ui_metrics.horizontalAdvance("Confidence") + 24,
            COL_DECISION: ui_metrics.horizontalAdvance("Approved") + 24,
        }
        for column, width in widths.items():
            header.resizeSection(column, width)
        table.setSortingEnabled(True)

    # ----- public API ---------------------------------------------------------------------------

    def append_rows(self, rows: Sequence[Any]) -> int:
        """Append a batch of signal/error dicts (or engine Decisions) to the model now (see SignalLogModel.append_rows);
        the table shows them within refresh_ms."""
        return self.model.append_rows(rows)

    def pending_count(self) -> int:
        """Rows in the model that the table does not show yet."""
        return self.proxy.pending_count()

    def flush(self) -> None:
        """Show the rows appended since the last refresh now."""
        self.proxy.flush()

    def clear(self) -> None:
        """Remove every row (the filters stay as set)."""
        self.model.clear()

    def drop_after(self, time_ns: int) -> int:
        """Remove the rows later than `time_ns` (a step back); how many were removed."""
        self.proxy.flush()
        return self.model.drop_after(time_ns)

    def is_following(self) -> bool:
        """Whether the view keeps the newest rows in sight."""
        return self.follow_button.isChecked()

    def set_following(self, on: bool) -> None:
        """Turn follow mode on (scrolls to the newest rows) or off."""
        self.follow_button.setChecked(on)

    def set_symbol_filter(self, symbol: str | None) -> None:
        """Show only `symbol` (None for all symbols)."""
        self._select_combo_data(self.symbol_combo, symbol)

    def set_strategy_filter(self, strategy: str | None) -> None:
        """Show only `strategy` (None for all strategies)."""
        self._select_combo_data(self.strategy_combo, strategy)

    def set_decision_filter(self, decision: str) -> None:
        """Show "all", "approved", "rejected" or "errors"."""
        decision = decision.lower()
        if decision not in DECISION_FILTERS:
            raise ValueError(f"decision filter must be one of {DECISION_FILTERS}, got {decision!r}")
        self.decision_combo.setCurrentIndex(self.decision_combo.findData(decision))

    def set_text_filter(self, text: str) -> None:
        """Show rows whose symbol, strategy, action, decision or reason contains `text` (any case)."""
        with QSignalBlocker(self.text_edit):
            self.text_edit.setText(text)
        self._text_timer.stop()
        self._apply_filters()

    def shown_rows(self) -> list[dict[str, Any]]:
        """The rows passing the filters, in display order, as dicts (see SignalLogModel.row_dict)."""
        self.flush()
        return [self.model.row_dict(int(row)) for row in self.proxy.source_rows()]

    def copy_selection(self) -> str:
        """Copy the selected rows (display order, with a header line) to the clipboard as TSV."""
        self.flush()
        selection = self.table.selectionModel()
        proxy_rows = sorted({index.row() for index in selection.selectedIndexes()}) if selection else []
        if not proxy_rows:
            return ""
        source_rows = np.asarray([self.proxy.source_row(row) for row in proxy_rows], dtype=np.int64)
        lines = ["\t".join(COLUMNS)]
        lines.extend(
            "\t".join(text.replace("\t", " ") for text in record)
            for record in zip(*self.model.plain_columns(source_rows), strict=True)
        )
        text = "\n".join(lines) + "\n"
        QGuiApplication.clipboard().setText(text)
        return text

    def export_csv(self, path: str | Path) -> int:
        """Write the rows passing the filters, in display order, to a CSV file; returns rows written."""
        self.flush()
        rows = self.proxy.source_rows()
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for start in range(0, len(rows), 50_000):
                chunk = self.model.plain_columns(rows[start : start + 50_000])
                writer.writerows(zip(*chunk, strict=True))
        logger.info("exported %d signal log rows to %s", len(rows), target)
        return len(rows)

    # ----- filters ------------------------------------------------------------------------------

    @staticmethod
    def _select_combo_data(combo: QComboBox, value: str | None) -> None:
        index = combo.findData(value) if value else 0
        if index < 0:
            combo.addItem(value, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def _apply_filters(self) -> None:
        self.flush()
        self.proxy.set_filters(
            symbol=self.symbol_combo.currentData() or None,
            strategy=self.strategy_combo.currentData() or None,
            decision=self.decision_combo.currentData() or "all",
            text=self.text_edit.text(),
        )
        self._update_count_label()

    def _on_model_changed(self, *args: Any) -> None:
        """Rows arrived or went: refresh the counts, and the combos when new names appeared."""
        symbols, strategies = self.model.symbols.names, self.model.strategies.names
        if (len(symbols), len(strategies)) != self._combo_sizes:
            self._refill_combo(self.symbol_combo, "All symbols", symbols)
            self._refill_combo(self.strategy_combo, "All strategies", strategies)
            self._combo_sizes = (len(symbols), len(strategies))
        self._update_count_label()
        self._fit_action_column()

    def _fit_action_column(self) -> None:
        """Widen the Action column to its longest action when a new one arrives ("BUY STOP BRACKET" of
        a bracketed stop entry was cut to "BUY STO…"), unless the trader sized the column."""
        actions = self.model.actions
        if actions.version == self._action_version:
            return
        self._action_version = actions.version
        if self._action_sized_by_hand or not actions.names:
            return
        bold = QFontMetrics(theme.ui_font(theme.TABLE_POINT_SIZE, bold=True))
        need = max(bold.horizontalAdvance(name) for name in actions.names) + ACTION_PAD
        header = self.table.horizontalHeader()
        if need > header.sectionSize(COL_ACTION):
            self._sizing_action = True
            try:
                header.resizeSection(COL_ACTION, need)
            finally:
                self._sizing_action = False

    def _on_section_resized(self, logical: int, _old: int, _new: int) -> None:
        if logical == COL_ACTION and not self._sizing_action:
            self._action_sized_by_hand = True

    @staticmethod
    def _refill_combo(combo: QComboBox, all_label: str, names: list[str]) -> None:
        current = combo.currentData()
        with QSignalBlocker(combo):
            combo.clear()
            combo.addItem(all_label, None)
            for name in sorted((n for n in names if n), key=str.lower):
                combo.addItem(name, name)
            if current:
                index = combo.findData(current)
                if index < 0:
                    combo.addItem(current, current)
                    index = combo.count() - 1
                combo.setCurrentIndex(index)

    def _show_reason(self, current: QModelIndex | None = None, _previous: QModelIndex | None = None) -> None:
        """The footer's reason: the current row's whole, else nothing."""
        if current is None or not current.isValid():
            current = self.table.currentIndex()
        text = ""
        if current.isValid():
            row = self.model.row_dict(self.proxy.source_row(current.row()))
            if row["reason"]:
                text = f"{'Error' if row['kind'] == 'error' else 'Reason'}: {row['reason']}"
        self.reason_label.setText(text)
        self.reason_label.setToolTip(text)

    def _update_count_label(self) -> None:
        model = self.model
        text = (
            f"{model.signal_count:,} signals · {model.rejected_count:,} rejected · "
            f"{model.error_count:,} error{'s' if model.error_count != 1 else ''}"
        )
        if self.proxy.is_filtered():
            text += f" · {self.proxy.rowCount():,} shown"
        self.count_label.setText(text)

    # ----- follow -------------------------------------------------------------------------------

    def _newest_at_top(self) -> bool:
        return (
            self.proxy.sort_column() == COL_TIME and self.proxy.sort_order() == Qt.SortOrder.DescendingOrder
        )

    def _on_follow_toggled(self, on: bool) -> None:
        if on:
            self.scroll_to_newest()
        self.follow_changed.emit(on)

    def _schedule_follow_scroll(self, *args: Any) -> None:
        if self.follow_button.isChecked() and not self._scroll_pending:
            self._scroll_pending = True
            QTimer.singleShot(0, self, self._follow_scroll)  # cancelled if the view is deleted first

    def _follow_scroll(self) -> None:
        self._scroll_pending = False
        if self.follow_button.isChecked():
            self.scroll_to_newest()

    def scroll_to_newest(self) -> None:
        """Scroll to where new signals appear (bottom, or top when sorted newest first)."""
        if self._newest_at_top():
            self.table.scrollToTop()
        else:
            self.table.scrollToBottom()

    def _on_scroll_range_changed(self, minimum: int, maximum: int) -> None:
        self._schedule_follow_scroll()

    def _on_user_scroll_action(self, action: int) -> None:
        """The user moved the scroll bar (drag, wheel, arrows, page): follow only at the newest end."""
        self._update_follow_from(self.table.verticalScrollBar().sliderPosition())

    def _on_user_key_scroll(self) -> None:
        self._update_follow_from(self.table.verticalScrollBar().value())

    def _update_follow_from(self, position: int) -> None:
        bar = self.table.verticalScrollBar()
        at_newest = position <= bar.minimum() if self._newest_at_top() else position >= bar.maximum()
        if at_newest != self.follow_button.isChecked():
            with QSignalBlocker(self.follow_button):
                self.follow_button.setChecked(at_newest)
            self.follow_changed.emit(at_newest)

    # ----- dialogs ------------------------------------------------------------------------------

    def _export_with_dialog(self) -> None:
        path = save_file_name(self, "Export signal log", "signals.csv", "CSV files (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            logger.warning("signal log export to %s failed: %s", path, exc)
            QMessageBox.warning(self, "Export failed", f"Could not write {path}:\n{exc}")


def decision_row(decision) -> dict:
    """A signal-log row from an engine Decision (the payload of a "decision" event)."""
    s = decision.signal
    return {
        "time_ns": int(s.time),
        "symbol": s.symbol,
        "strategy": s.strategy,
        "action": decision.action_text,
        "quantity": float(s.quantity),
        "price": float(s.price),
        "confidence": float(s.confidence),
        "approved": bool(decision.approved),
        "reason": decision.reason,
        "kind": "signal",
    }


def row_time_ns(row: Any) -> int:
    """The time (int ns UTC) of a signal-log row: a row dict or an engine Decision."""
    if type(row) is dict:
        return int(row.get("time_ns") or 0)
    return int(row.signal.time)


def rows_until(rows: Sequence[Any], time_ns: int) -> list:
    """The signal-log rows (row dicts, engine Decisions, DecisionBatches) at or before `time_ns` (int ns
    UTC), in order; a DecisionBatch of ready Decisions keeps those at or before it."""
    kept: list = []
    for row in rows:
        if type(row) is not DecisionBatch:
            if row_time_ns(row) <= time_ns:
                kept.append(row)
        elif row.signals is not None:
            if row.signals.time <= time_ns:
                kept.append(row)
        else:
            objects = tuple(d for d in row.objects if row_time_ns(d) <= time_ns)
            if objects:
                kept.append(DecisionBatch.of(*objects))
    return kept


def error_row(payload: dict) -> dict:
    """A signal-log row (marked as an error) from the payload of an engine "error" event."""
    return {
        "time_ns": int(payload.get("time_ns") or 0),
        "symbol": str(payload.get("symbol") or ""),
        "strategy": payload.get("strategy") or "engine",
        "action": "ERROR",
        "quantity": 0.0,
        "price": float("nan"),
        "confidence": 0.0,
        "approved": None,
        "reason": payload.get("message", ""),
        "kind": "error",
    }
