"""What the price and volume panes draw for the bars: candles, a close line or Heikin-Ashi candles,
volume columns, the forming bar, on a linear or log price scale; and the extent of it all for the y fit.
UI thread only."""

from __future__ import annotations

import math

from ui.widgets.chart.bar_items import CandlesItem, ColumnsItem, OhlcSource
from ui.widgets.chart.bar_store import ChartBars
from ui.widgets.chart.chart_types import ChartType, HeikinAshi
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.series_items import FormingItem, SeriesLineItem
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor


class PriceDisplay:
    """Owns the bar items of the price and volume panes and switches chart type and scale."""

    def __init__(
        self,
        bars: ChartBars,
        price: Pane,
        volume: Pane,
        scale: PriceScale,
        theme: ChartTheme,
        chunk_size: int,
        decimate_above: int,
    ):
        self._bars = bars
        self.scale = scale
        self.heikin_ashi = HeikinAshi(bars)
        self.chart_type = ChartType.CANDLES
        t = theme
        self.candles = CandlesItem(self.ohlc_source, scale, t, chunk_size, decimate_above)
        price.vb.addItem(self.candles)
        self.close_line = SeriesLineItem(lambda: bars.close, lambda: bars.n, cosmetic_pen(qcolor(t.line), width=2), scale)
        self.close_line.setZValue(5)
        self.close_line.hide()
        price.vb.addItem(self.close_line, ignoreBounds=True)
        self.volume_bars = ColumnsItem(
            values=lambda: bars.volume,
            ups=lambda a, b: bars.close[a:b] >= bars.open[a:b],
            count=lambda: bars.n,
            colors=(qcolor(t.up, t.volume_alpha), qcolor(t.down, t.volume_alpha)),
            chunk_size=chunk_size,
            decimate_above=decimate_above,
        )
        volume.vb.addItem(self.volume_bars)
        self.forming_item = FormingItem(t, volume=False, scale=scale)
        self.forming_volume_item = FormingItem(t, volume=True)
        price.vb.addItem(self.forming_item)
        volume.vb.addItem(self.forming_volume_item)

    def ohlc_source(self) -> OhlcSource:
        """The OHLC the candles draw: the bars, or their Heikin-Ashi form."""
        return self.heikin_ashi if self.chart_type is ChartType.HEIKIN_ASHI else self._bars

    def set_chart_type(self, chart_type: ChartType) -> None:
        self.chart_type = chart_type
        if chart_type is ChartType.HEIKIN_ASHI:
            self.heikin_ashi.recompute()
        line = chart_type is ChartType.LINE
        self.candles.setVisible(not line)
        self.close_line.setVisible(line)
        self.forming_item.line_mode = line
        self.candles.invalidate_all()
        self.close_line.data_changed()

    def scale_changed(self) -> None:
        self.candles.invalidate_all()
        self.close_line.scale_changed()

    def bars_replaced(self) -> None:
        self.heikin_ashi.recompute()
        self.candles.invalidate_all()
        self.volume_bars.invalidate_all()
        self.close_line.data_changed()

    def bars_appended(self) -> None:
        if self.chart_type is ChartType.HEIKIN_ASHI:
            self.heikin_ashi.sync()
        self.candles.bars_appended()
        self.volume_bars.bars_appended()
        self.close_line.data_changed()

    def sync_forming(self) -> None:
        """Show the forming bar (in the chart type's form) after the last completed bar."""
        bars = self._bars
        forming = bars.forming
        if self.chart_type is ChartType.HEIKIN_ASHI:
            forming = self.heikin_ashi.forming(forming)
        prev = float(bars.close[bars.n - 1]) if bars.n else None
        self.forming_item.set_bar(float(bars.n), forming, prev)
        self.forming_volume_item.set_bar(float(bars.n), bars.forming)

    def extent(self, i0: int, i1: int, with_forming: bool) -> tuple[float, float, float]:
        """(price low, price high, volume max) of what is drawn over bars [i0, i1) (and the forming bar)."""
        bars = self._bars
        line = self.chart_type is ChartType.LINE
        lo, hi, vmax = math.inf, -math.inf, 0.0
        if i1 > i0:
            if line:
                seg = bars.close[i0:i1]
                lo, hi = float(seg.min()), float(seg.max())
            else:
                src = self.ohlc_source()
                lo, hi = float(src.low[i0:i1].min()), float(src.high[i0:i1].max())
            vmax = float(bars.volume[i0:i1].max())
        f = bars.forming
        if with_forming and f is not None:
            shown = self.heikin_ashi.forming(f) if self.chart_type is ChartType.HEIKIN_ASHI else f
            lo = min(lo, shown.close if line else shown.low)
            hi = max(hi, shown.close if line else shown.high)
            vmax = max(vmax, f.volume)
        return lo, hi, vmax
