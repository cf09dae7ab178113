"""Data-quality gauges: one compact painted tile per symbol, and the gap list dialog behind each tile.

A tile shows the quality (% of expected bars present) of the streamed interval, coloured red under
50 %, amber under the risk minimum and green above it, with the gap count; the tooltip lists every
interval. All tiles are painted by one widget (no child widget per symbol) and an update repaints
only the tiles whose values changed, so 100 symbols refresh cheaply at 60 Hz.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from workstation.model import parse_interval

logger = logging.getLogger(__name__)

GapProvider = Callable[[str], Sequence[dict[str, Any]]]

BAD_BELOW = 50.0
WARN_LOW_COLOUR = "#f57c00"
GOOD_LOW_COLOUR = "#4caf50"

TILE_WIDTH = 104
TILE_HEIGHT = 56
COMPACT_TILE_HEIGHT = 24   # one line (symbol, gaps, value) over a thin bar: when full tiles would not all show
TILE_SPACING = 6
GRID_MARGIN = 6


def quality_level(pct: float | None, minimum: float) -> str:
    """Quality level: "bad" under 50 %, "warn" under the risk minimum, else "good" ("unknown" if no value)."""
    if pct is None or math.isnan(pct):
        return "unknown"
    if pct < BAD_BELOW:
        return "bad"
    if pct < minimum:
        return "warn"
    return "good"


def quality_color(pct: float | None, minimum: float) -> QColor:
    """The gauge colour: red under 50 %, orange to amber up to the minimum, green to teal above it."""
    level = quality_level(pct, minimum)
    if level == "unknown":
        return QColor(theme.MUTED)
    assert pct is not None
    if level == "bad":
        return QColor(theme.DOWN)
    if level == "warn":
        span = max(minimum - BAD_BELOW, 1e-9)
        return theme.blend(WARN_LOW_COLOUR, theme.AMBER, (pct - BAD_BELOW) / span)
    span = max(100.0 - minimum, 1e-9)
    return theme.blend(GOOD_LOW_COLOUR, theme.UP, (pct - minimum) / span)


def format_pct(pct: float | None) -> str:
    """98.7 -> "98.7", 100 -> "100", None -> "—" (no unit)."""
    if pct is None or math.isnan(pct):
        return "—"
    if pct >= 99.95:
        return "100"
    return f"{pct:.1f}"


def _interval_seconds(name: str) -> int:
    try:
        return parse_interval(name).seconds
    except ValueError:
        return 10**9


@dataclass
class _Gauge:
    """Per-symbol quality by interval: {interval: (pct, gap_count)}."""

    symbol: str
    values: dict[str, tuple[float, int]] = field(default_factory=dict)


class _GaugeGrid(QWidget):
    """Paints every tile in a flow grid; emits the clicked symbol."""

    tile_clicked = Signal(str)

    def __init__(self, panel: QualityGaugePanel) -> None:
        super().__init__(panel)
        self._panel = panel
        self._order: list[str] = []
        self._rects: dict[str, QRect] = {}
        self._columns = 1
        self.compact = False
        self._hover: str | None = None
        self._pressed: str | None = None
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self._symbol_font = theme.ui_font(theme.UI_POINT_SIZE, bold=True)
        self._small_font = theme.ui_font(theme.UI_POINT_SIZE)
        self._value_font = theme.ui_font(15, bold=True)
        self._unit_font = theme.ui_font(theme.UI_POINT_SIZE, bold=True)
        self._small_metrics = QFontMetrics(self._small_font)
        self._symbol_metrics = QFontMetrics(self._symbol_font)
        self._value_metrics = QFontMetrics(self._value_font)

    def set_order(self, order: list[str]) -> None:
        self._order = order
        self._relayout()
        self.update()

    def order(self) -> list[str]:
        return list(self._order)

    def tile_rect(self, symbol: str) -> QRect | None:
        return self._rects.get(symbol)

    def symbol_at(self, pos: QPoint) -> str | None:
        for symbol, rect in self._rects.items():
            if rect.contains(pos):
                return symbol
        return None

    def refresh_tile(self, symbol: str) -> None:
        rect = self._rects.get(symbol)
        if rect is not None:
            self.update(rect.adjusted(-1, -1, 1, 1))

    def sizeHint(self) -> QSize:
        return QSize(3 * TILE_WIDTH + 2 * TILE_SPACING + 2 * GRID_MARGIN, self._height_for(self.width()))

    def minimumSizeHint(self) -> QSize:
        return QSize(TILE_WIDTH + 2 * GRID_MARGIN, TILE_HEIGHT + 2 * GRID_MARGIN)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._height_for(width)

    def _columns_for(self, width: int) -> int:
        return max(1, (width - 2 * GRID_MARGIN + TILE_SPACING) // (TILE_WIDTH + TILE_SPACING))

    def set_compact(self, compact: bool) -> None:
        """One-line tiles (COMPACT_TILE_HEIGHT) or full ones."""
        if compact != self.compact:
            self.compact = compact
            self._relayout()
            self.update()

    def height_for(self, width: int, compact: bool) -> int:
        """Height every tile needs at this width, in either tile size."""
        rows = math.ceil(len(self._order) / self._columns_for(width)) if self._order else 0
        tile_height = COMPACT_TILE_HEIGHT if compact else TILE_HEIGHT
        return 2 * GRID_MARGIN + rows * tile_height + max(0, rows - 1) * TILE_SPACING

    def _height_for(self, width: int) -> int:
        return self.height_for(width, self.compact)

    def _relayout(self) -> None:
        width = self.width()
        columns = self._columns_for(width)
        self._columns = columns
        tile_width = (width - 2 * GRID_MARGIN - (columns - 1) * TILE_SPACING) // columns
        tile_width = max(TILE_WIDTH, min(tile_width, int(TILE_WIDTH * 1.6)))
        tile_height = COMPACT_TILE_HEIGHT if self.compact else TILE_HEIGHT
        self._rects = {}
        for i, symbol in enumerate(self._order):
            row, column = divmod(i, columns)
            x = GRID_MARGIN + column * (tile_width + TILE_SPACING)
            y = GRID_MARGIN + row * (tile_height + TILE_SPACING)
            self._rects[symbol] = QRect(x, y, tile_width, tile_height)
        height = self._height_for(width)
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)

    def resizeEvent(self, event: Any) -> None:
        self._relayout()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        dirty = event.rect()
        painter.fillRect(dirty, QColor(theme.BACKGROUND))
        for symbol, rect in self._rects.items():
            if rect.intersects(dirty.adjusted(-2, -2, 2, 2)):
                self._paint_tile(painter, symbol, rect)
        painter.end()

    def _paint_tile(self, painter: QPainter, symbol: str, rect: QRect) -> None:
        panel = self._panel
        pct, gaps = panel.primary_value(symbol)
        level = quality_level(pct, panel.risk_minimum())
        colour = quality_color(pct, panel.risk_minimum())
        hovered = symbol == self._hover
        frame = QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5)
        background = QColor(theme.PANEL)
        if level == "bad":
            background = theme.blend(theme.PANEL, theme.DOWN, 0.14)
        elif hovered:
            background = QColor(theme.HOVER)
        painter.setPen(QPen(QColor(theme.ACCENT if hovered else theme.BORDER), 1))
        painter.setBrush(background)
        painter.drawRoundedRect(frame, 4, 4)
        # Level stripe on the left edge.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        inset = 4 if self.compact else 6
        painter.drawRoundedRect(QRectF(rect.left() + 1.5, rect.top() + inset, 3, rect.height() - 2 * inset), 1.5, 1.5)

        left = rect.left() + 10
        right = rect.right() - 7
        if self.compact:
            self._paint_compact(painter, symbol, rect, left, right, pct, gaps, level, colour)
            return
        painter.setFont(self._symbol_font)
        painter.setPen(QColor(theme.TEXT_BRIGHT))
        top_line = QRect(left, rect.top() + 4, right - left, 16)
        painter.drawText(top_line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, symbol)
        if gaps > 0:
            self._paint_gap_badge(
                painter, top_line, gaps, QColor(theme.DOWN if level == "bad" else theme.AMBER)
            )

        value_text = format_pct(pct)
        painter.setFont(self._value_font)
        painter.setPen(colour)
        value_metrics = self._value_metrics
        value_rect = QRect(left, rect.top() + 19, right - left, 24)
        painter.drawText(value_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, value_text)
        if pct is not None:
            painter.setFont(self._unit_font)
            unit_x = left + value_metrics.horizontalAdvance(value_text) + 2
            unit_rect = QRect(unit_x, rect.top() + 23, 20, 20)
            painter.drawText(unit_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "%")

        bar = QRectF(left, rect.bottom() - 8, right - left, 3)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.BORDER))
        painter.drawRoundedRect(bar, 1.5, 1.5)
        if pct is not None:
            filled = QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(pct, 100.0)) / 100.0, 3)
            painter.setBrush(colour)
            painter.drawRoundedRect(filled, 1.5, 1.5)

    def _paint_compact(self, painter: QPainter, symbol: str, rect: QRect, left: int, right: int,
                       pct: float | None, gaps: int, level: str, colour: QColor) -> None:
        """One line: the symbol, its gap count and its value (right), over a thin fill bar."""
        line = QRect(left, rect.top() + 2, right - left, rect.height() - 7)
        painter.setFont(self._symbol_font)
        painter.setPen(QColor(theme.TEXT_BRIGHT))
        painter.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, symbol)
        value_text = format_pct(pct) + ("%" if pct is not None else "")
        painter.setPen(colour)
        painter.drawText(line, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, value_text)
        if gaps > 0:
            gap_colour = QColor(theme.DOWN if level == "bad" else theme.AMBER)
            metrics = self._symbol_metrics
            value_width, symbol_width = metrics.horizontalAdvance(value_text), metrics.horizontalAdvance(symbol)
            badge_width = self._small_metrics.horizontalAdvance(f"{gaps:,}") + 14     # the count and its glyph
            if symbol_width + 6 + badge_width + 8 + value_width <= line.width():
                badge_line = QRect(line.left(), line.top(), line.width() - value_width - 8, line.height())
                self._paint_gap_badge(painter, badge_line, gaps, gap_colour)
            else:                       # no room for the count (the tooltip has it): a dot says there are gaps
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(gap_colour)
                painter.drawEllipse(QRectF(line.left() + symbol_width + 4, line.center().y() - 2, 5, 5))
        bar = QRectF(left, rect.bottom() - 4, right - left, 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.BORDER))
        painter.drawRect(bar)
        if pct is not None:
            painter.setBrush(colour)
            painter.drawRect(QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(pct, 100.0)) / 100.0, 2))

    def _paint_gap_badge(self, painter: QPainter, line: QRect, gaps: int, colour: QColor) -> None:
        """Right-aligned gap count after a small "broken bar" glyph (bars with one missing)."""
        text = f"{gaps:,}"
        painter.setFont(self._small_font)
        painter.setPen(colour)
        painter.drawText(line, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        text_width = self._small_metrics.horizontalAdvance(text)
        glyph_right = line.right() - text_width - 3
        base = line.center().y() + 5
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        for offset, height in ((-10, 7), (-7, 9), (-1, 8)):
            painter.drawRect(QRectF(glyph_right + offset, base - height, 2, height))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            symbol = self.symbol_at(event.pos())
            if symbol is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(
                    event.globalPos(), self._panel.tooltip_text(symbol), self, self._rects[symbol]
                )
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        symbol = self.symbol_at(event.position().toPoint())
        if symbol != self._hover:
            previous, self._hover = self._hover, symbol
            if previous is not None:
                self.refresh_tile(previous)
            if symbol is not None:
                self.refresh_tile(symbol)
            self.setCursor(Qt.CursorShape.PointingHandCursor if symbol else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._hover is not None:
            previous, self._hover = self._hover, None
            self.refresh_tile(previous)
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = self.symbol_at(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            symbol = self.symbol_at(event.position().toPoint())
            if symbol is not None and symbol == self._pressed:
                self.tile_clicked.emit(symbol)
            self._pressed = None
        super().mouseReleaseEvent(event)


class QualityGaugePanel(QWidget):
    """Per-symbol data-quality tiles in a scrollable flow grid; clicking one opens its gap list."""

    gauge_clicked = Signal(str)

    def __init__(self, exchange_tz: str = "America/New_York", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        try:
            ZoneInfo(exchange_tz)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"unknown exchange time zone {exchange_tz!r}") from exc
        self.exchange_tz = exchange_tz
        self._gauges: dict[str, _Gauge] = {}
        self._symbols: list[str] = []
        self._primary = "1m"
        self._minimum = 95.0
        self._sort = "symbol"
        self._gap_provider: GapProvider | None = None
        self._dialogs: dict[str, GapListDialog] = {}

        self.summary_label = QLabel()
        self.summary_label.setStyleSheet(f"color: {theme.MUTED};")
        self.sort_combo = QComboBox()
        self.sort_combo.addItem("As configured", "symbol")
        self.sort_combo.addItem("Worst first", "worst")
        self.sort_combo.setToolTip("Order of the tiles")
        header = QHBoxLayout()
        header.setContentsMargins(8, 4, 6, 2)
        header.addWidget(self.summary_label, 1)
        header.addWidget(self.sort_combo)

        self.grid = _GaugeGrid(self)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setWidget(self.grid)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.scroll_area, 1)

        self.grid.tile_clicked.connect(self._on_tile_clicked)
        self.sort_combo.currentIndexChanged.connect(self._on_sort_changed)
        self.scroll_area.installEventFilter(self)
        self._update_summary()

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if watched is self.scroll_area and event.type() == QEvent.Type.Resize:
            self._fit_tiles()
        return super().eventFilter(watched, event)

    def tiles_height(self, compact: bool) -> int:
        """Height every tile needs at the panel's width, full or one-line."""
        return self.grid.height_for(self.scroll_area.width(), compact)

    def chrome_height(self) -> int:
        """The panel's height beyond its tiles' area (the summary line)."""
        return self.height() - self.scroll_area.height()

    def _fit_tiles(self) -> None:
        """One-line tiles when the full ones do not all show in the room the panel has and the one-line
        ones do (a short dock: the window's height shared with the results); full tiles otherwise
        (a long symbol list scrolls either way)."""
        room, width = self.scroll_area.height(), self.scroll_area.width()
        grid = self.grid
        grid.set_compact(grid.height_for(width, compact=False) > room >= grid.height_for(width, compact=True))

    # ----- configuration ------------------------------------------------------------------------

    def set_symbols(self, symbols: Iterable[str]) -> None:
        """Show one tile per symbol, in this order; values of symbols kept are preserved."""
        ordered = list(dict.fromkeys(str(s) for s in symbols))
        self._gauges = {s: self._gauges.get(s) or _Gauge(s) for s in ordered}
        self._symbols = ordered
        self._reorder(force=True)
        self._update_summary()

    def symbols(self) -> list[str]:
        """The symbols shown, in configured order."""
        return list(self._symbols)

    def set_primary_interval(self, interval: str) -> None:
        """The streamed interval whose quality the tiles show (e.g. "1m")."""
        self._primary = parse_interval(interval).name
        self._reorder(force=True)
        self._update_summary()

    def primary_interval(self) -> str:
        return self._primary

    def set_risk_minimum(self, pct: float) -> None:
        """Quality (%) below which a tile turns amber: the risk checks' minimum, default 95."""
        pct = float(pct)
        if not BAD_BELOW <= pct <= 100.0:
            raise ValueError(f"risk minimum quality must be between {BAD_BELOW:g} and 100 %, got {pct!r}")
        self._minimum = pct
        self.grid.update()
        self._update_summary()

    def risk_minimum(self) -> float:
        return self._minimum

    def set_sort(self, mode: str) -> None:
        """Tile order: "symbol" (as configured) or "worst" (lowest quality first)."""
        index = self.sort_combo.findData(mode)
        if index < 0:
            raise ValueError(f"gauge sort must be 'symbol' or 'worst', got {mode!r}")
        self.sort_combo.setCurrentIndex(index)

    def set_gap_provider(self, provider: GapProvider | None) -> None:
        """Callable(symbol) -> list of gap dicts (interval, start_ns, end_ns, missing, status, retries)."""
        self._gap_provider = provider

    # ----- values -------------------------------------------------------------------------------

    def clear_values(self) -> None:
        """Forget every measured value (a new run): the tiles read "—" until its first quality arrives;
        an open gap list shows the new run's gaps (none yet)."""
        for gauge in self._gauges.values():
            gauge.values.clear()
        self._reorder(force=True)
        self.grid.update()
        for dialog in self._dialogs.values():
            if dialog.isVisible():
                dialog.refresh()
        self._update_summary()

    def update_quality(self, symbol: str, interval: str, pct: float, gap_count: int) -> None:
        """Record one symbol/interval quality (%) and gap count; repaints that tile only."""
        self.update_many([(symbol, interval, pct, gap_count)])

    def update_many(self, updates: Iterable[tuple[str, str, float, int]]) -> None:
        """Apply a batch of (symbol, interval, pct, gap_count); repaints only the tiles that changed."""
        changed: set[str] = set()
        added = False
        for symbol, interval, pct, gap_count in updates:
            gauge = self._gauges.get(symbol)
            if gauge is None:
                gauge = self._gauges[symbol] = _Gauge(symbol)
                self._symbols.append(symbol)
                added = True
            value = (float(pct), int(gap_count))
            if gauge.values.get(interval) != value:
                gauge.values[interval] = value
                changed.add(symbol)
        if not changed and not added:
            return
        if added or (self._sort == "worst" and changed):
            self._reorder(force=added)
        for symbol in changed:
            self.grid.refresh_tile(symbol)
            dialog = self._dialogs.get(symbol)
            if dialog is not None and dialog.isVisible():
                dialog.refresh()
        self._update_summary()

    def primary_value(self, symbol: str) -> tuple[float | None, int]:
        """(pct, gap_count) of the primary interval, or (None, 0) before any value arrived."""
        gauge = self._gauges.get(symbol)
        if gauge is None or self._primary not in gauge.values:
            return None, 0
        return gauge.values[self._primary]

    def quality(self, symbol: str, interval: str | None = None) -> float | None:
        """Quality % of `symbol` for `interval` (default: the primary interval), None if unknown."""
        gauge = self._gauges.get(symbol)
        value = gauge.values.get(interval or self._primary) if gauge else None
        return value[0] if value else None

    def gauge_color(self, symbol: str) -> QColor:
        """The colour the tile of `symbol` is painted with."""
        return quality_color(self.primary_value(symbol)[0], self._minimum)

    def gauge_level(self, symbol: str) -> str:
        """Level of the tile of `symbol`: "bad", "warn", "good" or "unknown"."""
        return quality_level(self.primary_value(symbol)[0], self._minimum)

    def tooltip_text(self, symbol: str) -> str:
        """Hover text: every interval's quality, e.g. "1m 99.2 % · 5m 98.7 % · 15m 100 %", and gaps."""
        gauge = self._gauges.get(symbol)
        if gauge is None or not gauge.values:
            return f"{symbol}\nNo quality measured yet"
        parts = [
            f"{interval} {format_pct(pct)} %"
            for interval, (pct, _) in sorted(gauge.values.items(), key=lambda kv: _interval_seconds(kv[0]))
        ]
        lines = [symbol, " · ".join(parts)]
        _, gaps = self.primary_value(symbol)
        if gaps:
            lines.append(f"{gaps} gap{'s' if gaps != 1 else ''} in {self._primary} — click for the gap list")
        else:
            lines.append("Click for the gap list")
        return "\n".join(lines)

    # ----- gap dialog ---------------------------------------------------------------------------

    def open_gap_dialog(self, symbol: str) -> GapListDialog:
        """Show (or raise and refresh) the non-modal gap list of `symbol`."""
        dialog = self._dialogs.get(symbol)
        if dialog is None:
            dialog = GapListDialog(symbol, self._fetch_gaps, self.exchange_tz, self)
            dialog.finished.connect(lambda _result, s=symbol: self._dialogs.pop(s, None))
            self._dialogs[symbol] = dialog
        else:
            dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def _fetch_gaps(self, symbol: str) -> list[dict[str, Any]] | None:
        if self._gap_provider is None:
            return None
        return list(self._gap_provider(symbol))

    def _on_tile_clicked(self, symbol: str) -> None:
        self.gauge_clicked.emit(symbol)
        self.open_gap_dialog(symbol)

    # ----- ordering and summary -----------------------------------------------------------------

    def _on_sort_changed(self) -> None:
        self._sort = self.sort_combo.currentData()
        self._reorder(force=True)

    def _reorder(self, force: bool = False) -> None:
        if self._sort == "worst":

            def worst_key(symbol: str) -> tuple[float, int]:
                pct, gaps = self.primary_value(symbol)
                return (math.inf if pct is None else pct, -gaps)

            order = sorted(self._symbols, key=worst_key)
        else:
            order = list(self._symbols)
        if force or order != self.grid.order():
            self.grid.set_order(order)
            self._fit_tiles()

    def _update_summary(self) -> None:
        levels = [self.gauge_level(s) for s in self._symbols]
        below = sum(1 for level in levels if level in ("bad", "warn"))
        text = f"{len(self._symbols)} symbol{'s' if len(self._symbols) != 1 else ''} · {self._primary}"
        if any(level != "unknown" for level in levels):
            text += f" · {below} below {self._minimum:g} %"
        self.summary_label.setText(text)


class GapListDialog(QDialog):
    """The gaps of one symbol: interval, start, end (exchange time), missing bars and fill status."""

    HEADERS = ("Interval", "Start", "End", "Missing", "Fill status")

    def __init__(
        self,
        symbol: str,
        fetch: Callable[[str], list[dict[str, Any]] | None],
        exchange_tz: str = "America/New_York",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.symbol = symbol
        self._fetch = fetch
        self._zone = ZoneInfo(exchange_tz)
        self.setWindowTitle(f"Gaps — {symbol}")
        self.setModal(False)
        self.resize(560, 340)

        self.summary_label = QLabel()
        font = QFont(theme.ui_font(10, bold=True))
        self.summary_label.setFont(font)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setHorizontalHeaderLabels(list(self.HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(f"color: {theme.MUTED}; padding: 16px;")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        close = QPushButton("Close")
        close.setDefault(True)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)
        self.refresh()

    def gaps(self) -> list[dict[str, Any]]:
        """The gaps currently listed (as the provider gave them, sorted by start)."""
        return list(self._gaps)

    def refresh(self) -> None:
        """Ask the provider again and refill the table."""
        fetched = self._fetch(self.symbol)
        self._gaps = sorted(
            fetched or [], key=lambda g: (int(g.get("start_ns", 0)), str(g.get("interval", "")))
        )
        table = self.table
        table.setSortingEnabled(False)
        table.setRowCount(len(self._gaps))
        mono = theme.mono_font(theme.TABLE_POINT_SIZE)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, gap in enumerate(self._gaps):
            start_ns, end_ns = int(gap.get("start_ns", 0)), int(gap.get("end_ns", 0))
            start_text = self._format_time(start_ns)
            end_text = self._format_time(end_ns)
            if end_text[:10] == start_text[:10]:
                end_text = end_text[11:]
            status_text, status_colour = self.status_text(gap)
            cells = [
                (str(gap.get("interval", "")), None),
                (start_text, None),
                (end_text, None),
                (f"{int(gap.get('missing', 0)):,}", None),
                (status_text, status_colour),
            ]
            for column, (text, colour) in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (1, 2, 3):
                    item.setFont(mono)
                if column == 3:
                    item.setTextAlignment(right)
                if colour:
                    item.setForeground(QColor(colour))
                table.setItem(row, column, item)
        missing = sum(int(g.get("missing", 0)) for g in self._gaps)
        pending = sum(1 for g in self._gaps if str(g.get("status", "")).lower() == "pending")
        count = len(self._gaps)
        summary = f"{self.symbol} · {count} gap{'s' if count != 1 else ''} · {missing:,} missing bars"
        if pending:
            summary += f" · {pending} pending"
        self.summary_label.setText(summary)
        if fetched is None:
            self.empty_label.setText("No gap information is available for this run.")
        else:
            self.empty_label.setText("No gaps: every expected bar is present.")
        self.empty_label.setVisible(count == 0)
        self.table.setVisible(count > 0)

    @staticmethod
    def status_text(gap: dict[str, Any]) -> tuple[str, str]:
        """("filled", colour) etc.: measured / filled / failed after N retries / pending (retry N)."""
        status = str(gap.get("status", "measured")).lower()
        retries = int(gap.get("retries", 0) or 0)
        if status == "filled":
            return (
                "filled" if retries == 0 else f"filled (after {retries} retr{'y' if retries == 1 else 'ies'})"
            ), theme.UP
        if status == "failed":
            return f"failed after {retries} retr{'y' if retries == 1 else 'ies'}", theme.DOWN
        if status == "pending":
            return (f"pending (retry {retries})" if retries else "pending"), theme.AMBER
        if status == "no_trades":
            return "no trades", theme.MUTED     # live: history confirmed the symbol did not trade
        return status, theme.MUTED

    def _format_time(self, time_ns: int) -> str:
        return datetime.fromtimestamp(time_ns / 1e9, self._zone).strftime("%Y-%m-%d %H:%M")
