"""Orders & Positions panel: the account, open positions with unrealized P&L, working orders, recent fills.

Fed only by what the bridge delivers (UpdateBatch.account, .orders, .fills: engine events), never by
reading the engine: `apply(batch)` folds a frame's events into the panel's state (cheap, every
frame), `refresh()` redraws the tables (the main window calls it at its view pace: every frame when
paced, a few times a second at MAX). UI thread only. Prices in the symbol's currency; times in the
exchange zone. The layout follows the trading platforms' account panes (MetaTrader's Trade tab,
NinjaTrader's Control Center): an account strip, then positions, working orders and fills side by side.

Narrow panels (1280 x 800 leaves the three tables ~900 px): each table first tightens its columns to
their text, then hides its least needed columns (positions: Avg, then Last; working orders: Id, then
Status, then Type; fills: Time) rather than cutting a number or needing a horizontal scroll bar; a
hidden column's value stays in the row's tooltip (`ColumnFit`).

Hand trading from the panel: *Cancel* (button, Delete key or right-click) on the selected working orders
and *Flatten* (button or right-click) on the selected positions emit `cancel_requested(order id)` and
`flatten_requested(symbol)`; the main window sends them to the engine.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSplitter,
    QStyle,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.bridge import as_order
from ui.widgets.chart.formatting import SymbolPriceDecimals

MAX_FILLS = 500
STRIP_GAP = 10  # px between two figures of the account strip
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_COLOUR = Qt.ItemDataRole.ForegroundRole
_TIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

POSITION_COLUMNS = ("Symbol", "Qty", "Avg", "Last", "P&L")
ORDER_COLUMNS = ("Id", "Symbol", "Side", "Qty", "Type", "Price", "Status")
FILL_COLUMNS = ("Time", "Symbol", "Side", "Qty", "Price")
_STATUS_TEXT = {"held": "held", "working": "working", "partially_filled": "partial"}
_TYPE_TEXT = {"market": "MKT", "limit": "LMT", "stop": "STP", "stop_limit": "STP LMT", "trailing_stop": "TRAIL",
              "market_on_close": "MOC"}
_ROLE_TEXT = {"single": "", "entry": "", "stop_loss": "SL", "take_profit": "TP"}
_ROLE_TIP = {"single": "", "entry": "bracket entry", "stop_loss": "stop loss", "take_profit": "take profit"}
# a table too narrow for all its columns hides these first (column indexes, least needed first)
POSITION_DROP = (2, 3)          # Avg, Last
ORDER_DROP = (0, 6, 4)          # Id, Status, Type
FILL_DROP = (0,)                # Time
# when the panes share a narrow panel, the hidden columns that get room first, most needed first (each
# table's in the reverse of its drop order)
RETURN_ORDER = (("positions", 3), ("orders", 4), ("fills", 0), ("orders", 6), ("positions", 2), ("orders", 0))
ROOMY_PAD = 10                  # extra room per column when the table has it


def _qty(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _signed_money(value: float) -> str:
    return f"{value:+,.2f}"


class RowsModel(QAbstractTableModel):
    """A read-only table of display rows; each row keeps a colour per column (None = default)."""

    def __init__(self, columns: Sequence[str], right_aligned: Sequence[int], parent=None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._right = set(right_aligned)
        self._rows: list[tuple[tuple[str, ...], tuple[str | None, ...], str]] = []
        self.longest: tuple[str, ...] = ("",) * len(self.columns)   # the longest text of each column
        self.on_longest_changed: Callable[[], None] | None = None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY:
            return self.columns[section]
        if orientation == Qt.Orientation.Horizontal and role == _ALIGN:
            return _RIGHT if section in self._right else _LEFT
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        texts, colours, tip = self._rows[index.row()]
        column = index.column()
        if role == _DISPLAY:
            return texts[column]
        if role == _ALIGN:
            return _RIGHT if column in self._right else _LEFT
        if role == _COLOUR and colours[column] is not None:
            return QColor(colours[column])
        if role == _TIP and tip:
            return tip
        return None

    def set_rows(self, rows: list[tuple[tuple[str, ...], tuple[str | None, ...], str]]) -> None:
        """Replace the rows (a reset when the count changes, else one dataChanged)."""
        longest = tuple(max((row[0][c] for row in rows), key=len, default="") for c in range(len(self.columns)))
        if longest != self.longest:
            self.longest = longest
            if self.on_longest_changed is not None:
                self.on_longest_changed()
        if len(rows) == len(self._rows):
            if rows != self._rows:
                self._rows = rows
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.columns) - 1))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def texts(self) -> list[tuple[str, ...]]:
        """The displayed text of every row (for tests and copy)."""
        return [row[0] for row in self._rows]


def _table(model: RowsModel, name: str) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setFont(theme.ui_font(theme.TABLE_POINT_SIZE))   # tabular digits: numbers still align
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(20)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return view


class ColumnFit(QObject):
    """Fits a table's columns to its width, so no text is cut and no horizontal scroll bar is needed while
    that can be had: every column as wide as its header, a typical value (`samples`) and its longest
    text, with room to spare when the table has it, tight when not; still too narrow, the columns of
    `drop` are hidden in that order (their values are in the rows' tooltips). Refits when the table's
    viewport changes width and when a column's longest text changes."""

    def __init__(self, view: QTableView, samples: Sequence[str], drop: Sequence[int]) -> None:
        super().__init__(view)
        self.view = view
        self.samples = tuple(samples)
        self.drop = tuple(drop)
        view.viewport().installEventFilter(self)
        self.on_needs_changed: Callable[[], None] | None = None   # the panel shares its width out again
        model = view.model()
        if isinstance(model, RowsModel):
            model.on_longest_changed = self._longest_changed

    def _longest_changed(self) -> None:
        if self.on_needs_changed is not None:
            self.on_needs_changed()
        self.fit()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and event.size().width() != event.oldSize().width():
            self.fit()
            if self.on_needs_changed is not None:   # e.g. its vertical scroll bar came: the panes share again
                self.on_needs_changed()
        return False

    def needed(self) -> list[int]:
        """Pixels each column needs to show its header and its texts whole, as the style sizes them (the
        theme's item and section padding included), with no room to spare."""
        view = self.view
        model = view.model()
        style = view.style()
        cell = QStyleOptionViewItem()
        cell.initFrom(view)
        cell.font = view.font()
        cell.fontMetrics = view.fontMetrics()
        cell.features = QStyleOptionViewItem.ViewItemFeature.HasDisplay
        header = view.horizontalHeader()
        section = QStyleOptionHeader()
        section.initFrom(header)
        section.fontMetrics = header.fontMetrics()
        longest = getattr(model, "longest", ("",) * model.columnCount())
        out = []
        for column in range(model.columnCount()):
            widths = []
            for text in (self.samples[column], longest[column]):
                cell.text = text
                widths.append(style.sizeFromContents(QStyle.ContentsType.CT_ItemViewItem, cell, QSize(), view).width())
            section.text = str(model.headerData(column, Qt.Orientation.Horizontal, _DISPLAY))
            section.section = column
            widths.append(style.sizeFromContents(QStyle.ContentsType.CT_HeaderSection, section, QSize(), header).width())
            out.append(max(widths))
        return out

    def fit(self) -> None:
        view = self.view
        room = view.viewport().width()
        needed = self.needed()
        columns = range(len(needed))
        hidden: set[int] = set()
        widths = [w + ROOMY_PAD for w in needed]
        if sum(widths) > room:
            widths = needed
            for column in self.drop:
                if sum(w for c, w in enumerate(widths) if c not in hidden) <= room:
                    break
                hidden.add(column)
        for column in columns:
            view.setColumnHidden(column, column in hidden)
            view.setColumnWidth(column, widths[column])   # the last visible one stretches to the edge

    def hidden_columns(self) -> list[int]:
        return [c for c in range(self.view.model().columnCount()) if self.view.isColumnHidden(c)]


class OrdersPanel(QWidget):
    """See the module docstring. `apply(batch)` every frame, `refresh()` when the views are due."""

    cancel_requested = Signal(int)      # an order id the trader cancels
    flatten_requested = Signal(str)     # a symbol the trader flattens

    def __init__(self, exchange_tz: str = "America/New_York", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OrdersPanel")
        self._zone = ZoneInfo(exchange_tz)
        self._account = None                     # the latest AccountSnapshot
        self._orders: dict[int, Any] = {}        # working and held orders by id (Orders or OrderChange records)
        self._fills: deque = deque(maxlen=MAX_FILLS)
        self._fills_total = 0  # fills received this run (the deque keeps the newest MAX_FILLS)
        # the fills' table rows, oldest first, formatted once each (a refresh formats only new fills;
        # all again when the bar day changes, which turns "today's" times into "older" ones)
        self._fill_rows: deque = deque(maxlen=MAX_FILLS)
        self._fill_rows_total = 0
        self._fill_rows_day: dt.date | None = None
        self._order_of: dict[int, Any] = {}   # id -> the order's newest snapshot or change (type, role, tag of fills)
        self.prices = SymbolPriceDecimals()   # each symbol's prices with the decimals its data carries
        self._fill_rows_version = 0
        self._dirty = False
        self.on_symbol_activated: Callable[[str], None] | None = None

        self.account_labels: dict[str, QLabel] = {}
        strip = QHBoxLayout()
        strip.setContentsMargins(8, 3, 8, 3)
        strip.setSpacing(6)
        figures = (
            ("equity", "Equity", "Equity", "Cash plus positions at the last closes"),
            ("cash", "Cash", "Cash", "Cash after fills and commissions"),
            ("buying_power", "Buying power", "BP", "Buying power: exposure that can still be added (margin "
             "multiplier x equity - gross exposure - what working orders hold back)"),
            ("margin_used", "Margin used", "Margin", "Margin used: gross exposure / margin multiplier"),
            ("unrealized", "Open P&L", "P&L", "Unrealized P&L of the open positions"),
            ("open_orders", "Open orders", "Orders", "Open orders: working, or held until their bracket entry fills"),
        )
        # the figures are never clipped: a narrow panel first shortens the captions, then drops the bar
        # time, then the margin used (`_fit_strip`, on resize and when the figures change)
        self._captions: dict[str, tuple[QLabel, str, str]] = {}
        self._strip_spacers: dict[str, QWidget] = {}
        for k, (key, caption, short, tip) in enumerate(figures):
            caption_label = QLabel(caption)
            caption_label.setStyleSheet(f"color: {theme.MUTED};")
            value = QLabel("--")
            value.setFont(theme.mono_font(theme.TABLE_POINT_SIZE, bold=True))
            value.setStyleSheet(f"color: {theme.TEXT_BRIGHT};")
            value.setToolTip(tip)
            caption_label.setToolTip(tip)
            caption_label.setMinimumWidth(1)      # the strip decides what fits, not the window's minimum
            value.setMinimumWidth(1)
            self.account_labels[key] = value
            self._captions[key] = (caption_label, caption, short)
            strip.addWidget(caption_label, 0)
            strip.addWidget(value, 0)
            if k < len(figures) - 1:
                spacer = QWidget()
                spacer.setFixedWidth(STRIP_GAP)
                self._strip_spacers[key] = spacer
                strip.addWidget(spacer, 0)
        self.time_label = QLabel("")
        self.time_label.setStyleSheet(f"color: {theme.MUTED};")
        self.time_label.setMinimumWidth(1)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        strip.addWidget(self.time_label, 1)
        self._strip = strip
        self.strip_level = 0

        self.positions_model = RowsModel(POSITION_COLUMNS, (1, 2, 3, 4), self)
        self.orders_model = RowsModel(ORDER_COLUMNS, (0, 3, 5), self)
        self.fills_model = RowsModel(FILL_COLUMNS, (3, 4), self)
        self.positions_view = _table(self.positions_model, "PositionsTable")
        self.orders_view = _table(self.orders_model, "WorkingOrdersTable")
        self.fills_view = _table(self.fills_model, "FillsTable")
        self.positions_view.doubleClicked.connect(lambda index: self._activate(self.positions_model, index))
        self.orders_view.doubleClicked.connect(lambda index: self._activate(self.orders_model, index, column=1))
        self.orders_view.setToolTip("")
        self.fills_view.doubleClicked.connect(lambda index: self._activate(self.fills_model, index, column=1))

        self.positions_caption = QLabel()
        self.orders_caption = QLabel()
        self.fills_caption = QLabel()
        self._order_ids: list[int] = []          # order id of each working-orders row
        self.flatten_button = self._action_button("FlattenSelected", "Flatten",
                                                  "Cancel the selected positions' orders and close them at market",
                                                  self.flatten_selected)
        self.cancel_button = self._action_button("CancelSelected", "Cancel",
                                                 "Cancel the selected working orders (Delete)", self.cancel_selected)
        self.positions_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.positions_view.customContextMenuRequested.connect(self._positions_menu)
        self.orders_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.orders_view.customContextMenuRequested.connect(self._orders_menu)
        self.orders_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for key in ("Delete", "Backspace"):
            shortcut = QShortcut(QKeySequence(key), self.orders_view)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.cancel_selected)
        # the selection models are kept referenced: PySide drops a connection made on a temporary wrapper
        self._selections = (self.positions_view.selectionModel(), self.orders_view.selectionModel())
        for selection in self._selections:
            selection.selectionChanged.connect(self._sync_buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("OrdersSplitter")
        splitter.setChildrenCollapsible(False)
        for caption, view, button in ((self.positions_caption, self.positions_view, self.flatten_button),
                                      (self.orders_caption, self.orders_view, self.cancel_button),
                                      (self.fills_caption, self.fills_view, None)):
            caption.setStyleSheet(f"color: {theme.TEXT}; font-weight: bold; padding: 2px 4px;")
            pane = QWidget()
            pane_layout = QVBoxLayout(pane)
            pane_layout.setContentsMargins(2, 0, 2, 0)
            pane_layout.setSpacing(2)
            header = QHBoxLayout()
            header.setContentsMargins(0, 0, 0, 0)
            header.addWidget(caption)
            header.addStretch(1)
            if button is not None:
                header.addWidget(button)
            pane_layout.addLayout(header)
            pane_layout.addWidget(view)
            pane.setMinimumWidth(150)
            splitter.addWidget(pane)
        splitter.setSizes([340, 470, 300])
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 4)
        splitter.setStretchFactor(2, 3)
        self.splitter = splitter
        self.user_split = False      # the trader dragged a handle: the panes keep their widths from then on
        self._balance_pending = False
        splitter.splitterMoved.connect(self._split_by_hand)
        self._set_column_widths()

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet(f"color: {theme.BORDER};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(strip)
        layout.addWidget(line)
        layout.addWidget(splitter, 1)
        self.clear()

    def _action_button(self, name: str, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setEnabled(False)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------------ hand trading
    def selected_order_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.orders_view.selectionModel().selectedRows()})
        return [self._order_ids[r] for r in rows if r < len(self._order_ids)]

    def selected_symbols(self) -> list[str]:
        texts = self.positions_model.texts()
        rows = sorted({i.row() for i in self.positions_view.selectionModel().selectedRows()})
        return [texts[r][0] for r in rows if r < len(texts)]

    def cancel_selected(self) -> None:
        for oid in self.selected_order_ids():
            self.cancel_requested.emit(oid)

    def flatten_selected(self) -> None:
        for symbol in self.selected_symbols():
            self.flatten_requested.emit(symbol)

    def _orders_menu(self, pos: QPoint) -> None:
        index = self.orders_view.indexAt(pos)
        if not index.isValid():
            return
        if not self.orders_view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.orders_view.selectRow(index.row())
        menu = QMenu(self)
        ids = self.selected_order_ids()
        act = menu.addAction(f"Cancel order {ids[0]}" if len(ids) == 1 else f"Cancel {len(ids)} orders")
        act.triggered.connect(self.cancel_selected)
        menu.popup(self.orders_view.viewport().mapToGlobal(pos))
        self._menu = menu

    def _positions_menu(self, pos: QPoint) -> None:
        index = self.positions_view.indexAt(pos)
        if not index.isValid():
            return
        if not self.positions_view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            self.positions_view.selectRow(index.row())
        menu = QMenu(self)
        symbols = self.selected_symbols()
        act = menu.addAction(f"Flatten {', '.join(symbols)}")
        act.triggered.connect(self.flatten_selected)
        menu.popup(self.positions_view.viewport().mapToGlobal(pos))
        self._menu = menu

    # ------------------------------------------------------------------ feeding
    def clear(self) -> None:
        """A new run: nothing held, nothing working, no fills."""
        self._account = None
        self._orders.clear()
        self._fills.clear()
        self._fills_total = 0
        self._fill_rows.clear()
        self._fill_rows_total = 0
        self._fill_rows_day = None
        self._order_of.clear()
        self._dirty = True
        self.refresh()

    def show_state(self, account, open_orders, fills) -> None:
        """After a step back or seek: exactly this account, these working orders and fills (the engine's
        state at the bar time gone to), replacing what was folded from events."""
        self._account = account
        self._orders.clear()
        for order in open_orders:
            self._order_of[order.id] = order
            self._orders[order.id] = order
        self._fills.clear()
        self._fills.extend(fills)
        self._fills_total = len(fills)
        self._format_fills_again()   # the rows formatted so far may hold fills the step back undid
        self.refresh()

    def set_exchange_zone(self, tz: str) -> None:
        self._zone = ZoneInfo(tz)
        self._format_fills_again()   # in the new zone

    def _format_fills_again(self) -> None:
        """Drop the formatted fill rows: the next refresh formats every fill kept."""
        self._fill_rows.clear()
        self._fill_rows_total = self._fills_total - len(self._fills)
        self._dirty = True

    def apply(self, batch) -> None:
        """Fold one frame's engine events (account snapshot, order events, fills) into the panel."""
        events = getattr(batch, "orders", ())
        if events:
            order_of, working = self._order_of, self._orders
            # thousands a frame at MAX: the newest change of each order (folded once by the bridge for every
            # view), a reference each (Orders and texts when drawn)
            latest = getattr(batch, "orders_latest", None)
            if latest is None:
                latest = {change.order_id: change for change in events}
                opened = {order_id: change for order_id, change in latest.items() if change.is_open}
                closed = [order_id for order_id, change in latest.items() if not change.is_open]
            else:
                opened, closed = batch.orders_opened, batch.orders_closed
            order_of.update(latest)
            working.update(opened)
            for order_id in closed:
                working.pop(order_id, None)
            self._dirty = True
        if batch.fills:
            self._fills.extend(batch.fills)
            self._fills_total += len(batch.fills)
            self._dirty = True
        account = getattr(batch, "account", None)
        if account is not None:
            self._account = account
            self._dirty = True
        if len(self._order_of) > 4 * MAX_FILLS:
            # only the orders of the fills kept and the working ones are ever looked up: the panel holds
            # no run-long history (at MAX with 100 symbols, 12,000 orders a replay)
            keep = {f.order_id for f in self._fills}.union(self._orders)
            self._order_of = {k: v for k, v in self._order_of.items() if k in keep}

    def refresh(self) -> None:
        """Redraw what changed since the last refresh."""
        if not self._dirty:
            return
        self._dirty = False
        self._draw_account()
        self._draw_positions()
        self._draw_orders()
        self._draw_fills()
        self._sync_buttons()
        QTimer.singleShot(0, self, self._sync_buttons)     # after the views have settled their selection

    def _sync_buttons(self, *_args) -> None:
        self.cancel_button.setEnabled(self.orders_view.selectionModel().hasSelection())
        self.flatten_button.setEnabled(self.positions_view.selectionModel().hasSelection())

    # ------------------------------------------------------------------ reads (tests, screenshots)
    def positions_rows(self) -> list[tuple[str, ...]]:
        return self.positions_model.texts()

    def orders_rows(self) -> list[tuple[str, ...]]:
        return self.orders_model.texts()

    def fills_rows(self) -> list[tuple[str, ...]]:
        return self.fills_model.texts()

    def working_order_ids(self) -> list[int]:
        return sorted(self._orders)

    # ------------------------------------------------------------------ drawing
    def _draw_account(self) -> None:
        a = self._account
        labels = self.account_labels
        if a is None:
            for label in labels.values():
                label.setText("--")
            labels["open_orders"].setText(str(len(self._orders)) if self._orders else "--")
            self.time_label.setText("")
            return
        unrealized = sum(row[4] for row in a.open_positions())
        labels["equity"].setText(f"{a.equity:,.2f}")
        labels["cash"].setText(f"{a.cash:,.2f}")
        labels["buying_power"].setText(f"{a.buying_power:,.2f}")
        labels["margin_used"].setText(f"{a.margin_used:,.2f}")
        labels["unrealized"].setText(_signed_money(unrealized))
        colour = theme.UP if unrealized > 0 else theme.DOWN if unrealized < 0 else theme.TEXT_BRIGHT
        labels["unrealized"].setStyleSheet(f"color: {colour};")
        labels["open_orders"].setText(f"{a.open_orders:,}")
        moment = dt.datetime.fromtimestamp(a.time_ns / 1e9, self._zone)
        self.time_label.setText(f"{moment:%Y-%m-%d %H:%M} bar")
        self._fit_strip()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_strip()
        self.balance_panes()

    def _balance_soon(self) -> None:
        """Share the width out again once the layout in progress has settled (once for many requests)."""
        if not self._balance_pending:
            self._balance_pending = True
            QTimer.singleShot(0, self, self._balance_now)

    def _balance_now(self) -> None:
        self._balance_pending = False
        self.balance_panes()

    def _split_by_hand(self, *_args) -> None:
        self.user_split = True

    def balance_panes(self) -> None:
        """Share the width between the three tables in proportion to what their columns need (so at 1280 x
        800 each hides as little as the others), until the trader drags a handle."""
        if self.user_split or not hasattr(self, "column_fits"):
            return
        panes = [self.splitter.widget(k) for k in range(self.splitter.count())]
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        # each pane's width with its droppable columns hidden; then the hidden columns, most needed first
        # (RETURN_ORDER), each that the width left allows; what is left is shared in proportion
        shares, needs, waiting = [], {}, {}
        for pane, (name, fit) in zip(panes, self.column_fits.items(), strict=True):
            chrome = max(0, pane.width() - fit.view.viewport().width())   # margins, frame, scroll bar
            needs[name] = fit.needed()
            shares.append(float(sum(w for c, w in enumerate(needs[name]) if c not in fit.drop) + chrome))
            waiting[name] = list(reversed(fit.drop))       # the next one to come back first
        spare = total - sum(shares)
        names = list(self.column_fits)
        for name, column in RETURN_ORDER:
            cost = needs[name][column]
            if waiting[name] and waiting[name][0] == column and cost <= spare:
                waiting[name].pop(0)
                shares[names.index(name)] += cost
                spare -= cost
        shares = [share * total / sum(shares) for share in shares]
        sizes = [max(pane.minimumWidth(), int(share)) for pane, share in zip(panes, shares, strict=True)]
        sizes[-1] = max(panes[-1].minimumWidth(), total - sum(sizes[:-1]))
        if sizes != self.splitter.sizes():
            self.splitter.setSizes(sizes)

    def _strip_width(self, level: int) -> int:
        """Pixels the account strip needs at `level` (0 full captions and the bar time, 1 short captions,
        2 without the bar time, 3 without the margin used)."""
        margins = self._strip.contentsMargins()
        spacing = self._strip.spacing()
        total = margins.left() + margins.right()
        items = 0
        for key, (label, caption, short) in self._captions.items():
            if level >= 3 and key == "margin_used":
                continue
            value = self.account_labels[key]
            total += label.fontMetrics().horizontalAdvance(caption if level == 0 else short)
            total += value.fontMetrics().horizontalAdvance(value.text()) + 2
            items += 2
            if key in self._strip_spacers:
                total += STRIP_GAP
                items += 1
        if level < 2:
            total += self.time_label.fontMetrics().horizontalAdvance(self.time_label.text()) + 8
            items += 1
        return total + spacing * max(0, items - 1)

    def _fit_strip(self) -> None:
        """Show as much of the account strip as fits the panel's width without clipping a figure."""
        width = self.width()
        level = next((lv for lv in range(4) if self._strip_width(lv) <= width), 3)
        if level == self.strip_level and self._captions["equity"][0].text() == (
                self._captions["equity"][1] if level == 0 else self._captions["equity"][2]):
            return
        self.strip_level = level
        for key, (label, caption, short) in self._captions.items():
            label.setText(caption if level == 0 else short)
            hide = level >= 3 and key == "margin_used"
            label.setVisible(not hide)
            self.account_labels[key].setVisible(not hide)
            if key in self._strip_spacers:
                self._strip_spacers[key].setVisible(not hide)
        self.time_label.setVisible(level < 2)

    def _draw_positions(self) -> None:
        rows, prices = [], self.prices
        positions = self._account.open_positions() if self._account is not None else []
        for symbol, qty, avg, last, pnl in sorted(positions):
            pct = (last / avg - 1.0) * 100.0 * (1 if qty > 0 else -1) if avg else 0.0
            side = theme.UP if qty > 0 else theme.DOWN
            pnl_colour = theme.UP if pnl > 0 else theme.DOWN if pnl < 0 else None
            last_text = prices.text(symbol, last)        # first: the average is shown with its decimals
            rows.append(((symbol, _qty(qty), prices.text(symbol, avg, seen=False), last_text, _signed_money(pnl)),
                         (None, side, None, None, pnl_colour),
                         f"{'long' if qty > 0 else 'short'} {abs(qty):g} {symbol} at {avg:,.6g}, last {last_text}: "
                         f"{pnl:+,.2f} ({pct:+.2f} %)"))
        self.positions_model.set_rows(rows)
        self.positions_caption.setText(f"Positions ({len(rows)})")

    def _draw_orders(self) -> None:
        rows, prices = [], self.prices
        for oid in sorted(self._orders):
            o = as_order(self._orders[oid])
            buy = o.quantity > 0
            remaining = abs(o.quantity - o.filled_quantity)
            held = o.status.value == "held"
            status = _STATUS_TEXT.get(o.status.value, o.status.value)
            if o.order_type.value == "stop_limit":
                price = f"{prices.text(o.symbol, o.stop_price)} / {prices.text(o.symbol, o.limit_price)}"
            elif o.order_type.value == "market_on_close":
                price = "close"                 # the session's closing price
            else:
                price = prices.text(o.symbol, o.limit_price if o.limit_price is not None else o.stop_price)
            # the whole order, also what a narrow table hides (Id, Status, Type: ColumnFit)
            details = [f"order {o.id}",
                       f"{o.side} {remaining:g} {o.symbol} {o.order_type.value.replace('_', ' ')} "
                       f"{o.tif.value.upper()}" + (f" at {price}" if price else ""),
                       _ROLE_TIP[o.role.value], status, f"tag {o.tag}" if o.tag else "", f"strategy {o.strategy}",
                       f"waits for entry {o.parent_id} to fill" if held else ""]
            kind = " ".join(x for x in (_TYPE_TEXT[o.order_type.value], _ROLE_TEXT[o.role.value]) if x)
            rows.append(((str(o.id), o.symbol, "BUY" if buy else "SELL", _qty(remaining), kind, price, status),
                         (theme.MUTED, None, theme.UP if buy else theme.DOWN, None, None, None,
                          theme.MUTED if held else theme.AMBER),
                         " · ".join(d for d in details if d)))
        self._order_ids = sorted(self._orders)
        self.orders_model.set_rows(rows)
        self.orders_caption.setText(f"Working orders ({len(rows)})")

    def _draw_fills(self) -> None:
        """Newest fill first. Only fills not formatted yet are formatted (at MAX speed with 100 symbols
        the panel holds 500 fills and formatting all of them each refresh took ~25 ms of the UI thread)."""
        today = (dt.datetime.fromtimestamp(self._account.time_ns / 1e9, self._zone).date()
                 if self._account is not None else None)
        new = min(self._fills_total - self._fill_rows_total, len(self._fills))
        fills = self._fills
        # a symbol's prices shown with more decimals since the rows were formatted: all again
        if today != self._fill_rows_day or new < 0 or self.prices.version != self._fill_rows_version:
            self._fill_rows.clear()
            new = len(self._fills)
            self._fill_rows_day = today
            self._fill_rows_version = self.prices.version
        if new:
            self._fill_rows.extend(self._fill_row(fills[i], today) for i in range(len(fills) - new, len(fills)))
        self._fill_rows_total = self._fills_total
        self.fills_model.set_rows(list(reversed(self._fill_rows)))
        self.fills_caption.setText(f"Recent fills ({len(self._fills)}{'+' if len(self._fills) == MAX_FILLS else ''})")

    def _fill_row(self, f, today: dt.date | None) -> tuple[tuple[str, ...], tuple[str | None, ...], str]:
        moment = dt.datetime.fromtimestamp(f.time / 1e9, self._zone)
        older = today is not None and moment.date() != today
        buy = f.quantity > 0
        record = self._order_of.get(f.order_id)
        order = as_order(record) if record is not None else None
        kind, role, tag = ((order.order_type.value, order.role.value, order.tag or "") if order is not None
                           else ("", "", ""))
        tip = " · ".join(x for x in (f"{moment:%Y-%m-%d %H:%M}", f"order {f.order_id}" if f.order_id else "",
                                     kind.replace("_", " "), _ROLE_TIP.get(role, role), f"tag {tag}" if tag else "",
                                     f"commission {f.commission:,.2f}", f"strategy {f.strategy}") if x)
        when = f"{moment:%a %H:%M}" if older else f"{moment:%H:%M}"
        return ((when, f.symbol, "BUY" if buy else "SELL", _qty(abs(f.quantity)), self.prices.text(f.symbol, f.price, seen=False)),
                (theme.MUTED, theme.MUTED if older else None, theme.UP if buy else theme.DOWN,
                 theme.MUTED if older else None, theme.MUTED if older else None), tip)

    def _set_column_widths(self) -> None:
        """Each table's columns as wide as their header, a typical value and their longest text, fitted
        to the table's width (ColumnFit)."""
        self.column_fits = {
            "positions": ColumnFit(self.positions_view, ("SYMBOL", "-1,470", "1,234.56", "1,234.56", "+1,234.56"),
                                   POSITION_DROP),
            "orders": ColumnFit(self.orders_view, ("9999", "SYMBOL", "SELL", "1,470", "STP LMT", "1,234.56",
                                                   "working"), ORDER_DROP),
            "fills": ColumnFit(self.fills_view, ("Wed 09:30", "SYMBOL", "SELL", "1,470", "1,234.56"), FILL_DROP),
        }
        for fit in self.column_fits.values():
            fit.on_needs_changed = self._balance_soon
            fit.fit()

    def _activate(self, model: RowsModel, index: QModelIndex, column: int = 0) -> None:
        if self.on_symbol_activated is not None and index.isValid():
            self.on_symbol_activated(model.texts()[index.row()][column])
