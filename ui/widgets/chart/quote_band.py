"""QuoteBand: the bid and ask at each bar's close as two thin lines around the candles (UI thread).

Given by the chart feed, aligned with the chart's bars (one bid and one ask close per bar; NaN where
the store has no quote bar for that bar), so the gap between the lines is the spread. Drawn on the
price pane under the candles, faint enough not to hide them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.series_items import SeriesLineItem
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor


class QuoteBand:
    """Bid (down colour) and ask (up colour) close lines aligned with the chart's bars."""

    def __init__(self, view_box: pg.ViewBox, count: Callable[[], int], scale: PriceScale, theme: ChartTheme):
        self._count = count
        self.bid = np.empty(0)
        self.ask = np.empty(0)
        self.items: list[SeriesLineItem] = []
        for values, color in ((lambda: self._padded("bid"), theme.down), (lambda: self._padded("ask"), theme.up)):
            item = SeriesLineItem(values, self._shown_count, cosmetic_pen(qcolor(color, 210),
                                                                          QtCore.Qt.PenStyle.DashLine), scale=scale)
            item.setZValue(-2)
            view_box.addItem(item, ignoreBounds=True)
            self.items.append(item)

    def __bool__(self) -> bool:
        return bool(np.isfinite(self.bid).any())

    def _shown_count(self) -> int:
        return self._count() if len(self.bid) else 0

    def _padded(self, side: str) -> np.ndarray:
        values = self.bid if side == "bid" else self.ask
        n = self._count()
        if len(values) >= n:
            return values
        return np.concatenate((values, np.full(n - len(values), np.nan)))

    def set_values(self, bid: np.ndarray, ask: np.ndarray) -> None:
        """Bid and ask closes of the chart's first len(bid) bars."""
        self.bid = np.asarray(bid, dtype=np.float64)
        self.ask = np.asarray(ask, dtype=np.float64)
        for item in self.items:
            item.data_changed()

    def clear(self) -> None:
        self.set_values(np.empty(0), np.empty(0))

    def scale_changed(self) -> None:
        for item in self.items:
            item.scale_changed()

    def spread_at(self, i: int) -> float | None:
        """ask - bid at bar i's close, or None without a quote bar there."""
        if not 0 <= i < len(self.bid) or not np.isfinite(self.bid[i]):
            return None
        return float(self.ask[i] - self.bid[i])
