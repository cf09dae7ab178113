"""Buy and sell markers at fills: kept by time and price, drawn at the bar holding each time."""

from __future__ import annotations

import numpy as np

from ui.widgets.chart.bar_store import ChartBars
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.series_items import MarkersItem
from ui.widgets.chart.theme import ChartTheme


class MarkerLayer:
    """Fill markers of one chart (placed again whenever the bars change)."""

    def __init__(self, bars: ChartBars, price: Pane, scale: PriceScale, theme: ChartTheme):
        self._bars = bars
        self._ts: list[int] = []
        self._price: list[float] = []
        self._buy: list[bool] = []
        self.item = MarkersItem(theme, scale)
        self.item.setZValue(50)
        price.vb.addItem(self.item)

    def __bool__(self) -> bool:
        return bool(self._ts)

    def add(self, ts: int, price: float, side: str) -> None:
        """Mark a fill: side 'buy' (green triangle up, tip at price) or 'sell' (red, down)."""
        self.add_many([(ts, price, side)])

    def add_many(self, markers: list[tuple[int, float, str]]) -> None:
        """Mark several fills, (time, price, side) each, placing the markers once (not once per fill)."""
        for _ts, _price, side in markers:
            if side not in ("buy", "sell"):
                raise ValueError(f"add_marker: side must be 'buy' or 'sell', got {side!r}")
        for ts, price, side in markers:
            self._ts.append(int(ts))
            self._price.append(float(price))
            self._buy.append(side == "buy")
        if markers:
            self.place()

    def clear(self) -> None:
        self._ts.clear()
        self._price.clear()
        self._buy.clear()
        self.place()

    def positions(self) -> list[tuple[int, float, str]]:
        """(bar index, price, side) of each drawable marker, in x order."""
        return self.item.markers()

    def place(self) -> None:
        """Put each marker at the bar holding its time (markers before the first bar are not drawn)."""
        if not self._ts:
            self.item.set_markers(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
            return
        ts = np.asarray(self._ts, dtype=np.int64)
        bars = self._bars
        idx = np.searchsorted(bars.ts[: bars.n], ts, side="right") - 1
        if bars.forming is not None:
            idx = np.where(ts >= bars.forming.ts, bars.n, idx)
        keep = idx >= 0
        order = np.argsort(idx[keep], kind="stable")
        self.item.set_markers(
            idx[keep][order].astype(np.float64),
            np.asarray(self._price, dtype=np.float64)[keep][order],
            np.asarray(self._buy, dtype=bool)[keep][order],
        )
