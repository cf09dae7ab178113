"""The text at the top-left of each pane: symbol, interval, last price and change, the OHLCV of the
bar under the crosshair (else the newest), and each overlay's values; plus the last-price line and
badge on the price axis. UI thread only."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6 import QtGui

from ui.widgets.chart.bar_store import ChartBars
from ui.widgets.chart.chart_types import ChartType, HeikinAshi
from ui.widgets.chart.formatting import fmt_full, fmt_volume
from ui.widgets.chart.overlays import OverlaySet
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.quote_band import QuoteBand
from ui.widgets.chart.theme import ChartTheme, qcolor

Runs = list[tuple[str, QtGui.QColor]]


class Legend:
    """Writes the panes' text blocks and the last-price marks from the chart's state."""

    def __init__(
        self,
        theme: ChartTheme,
        bars: ChartBars,
        heikin_ashi: HeikinAshi,
        overlays: OverlaySet,
        price: Pane,
        sub_panes: Callable[[], list[Pane]],
        scale: PriceScale,
    ):
        self._t = theme
        self._bars = bars
        self._ha = heikin_ashi
        self._overlays = overlays
        self._price = price
        self._sub_panes = sub_panes
        self._scale = scale
        self.symbol = ""
        self.interval = ""
        self.chart_type = ChartType.CANDLES
        self.quote_band: QuoteBand | None = None   # the bid/ask of each bar, when the run streams quote bars

    def price_text(self, v: float) -> str:
        """A price in the chart's decimals ('-' when not finite)."""
        if not math.isfinite(v):
            return "-"
        return f"{v:.{self._price.axis.decimals}f}"

    def update(self, idx: int | None) -> None:
        """Rewrite every line; ``idx`` is the bar the read-out describes (None: no bar)."""
        t = self._t
        bars = self._bars
        bright, dim, normal = qcolor(t.text_bright), qcolor(t.text_dim), qcolor(t.text)
        up_c, down_c = qcolor(t.up), qcolor(t.down)
        lines: list[tuple[bool, Runs]] = [(True, self._title(bright, up_c, down_c))]
        bar = self._bar_values(idx)
        if bar is not None:
            local, o, h, low, c, v = bar
            col = up_c if c >= o else down_c
            forming = "  (forming)" if idx == bars.n else ""
            ha = "  Heikin-Ashi" if self.chart_type is ChartType.HEIKIN_ASHI else ""
            runs: Runs = [(fmt_full(local) + forming + ha + "   ", dim)]
            for label, val in (("O ", o), (" H ", h), (" L ", low), (" C ", c)):
                runs += [(label, normal), (self.price_text(val), col)]
            runs += [("  V ", normal), (fmt_volume(v), col)]
            spread = self.quote_band.spread_at(idx) if self.quote_band is not None and idx is not None else None
            if spread is not None and idx is not None:
                band = self.quote_band
                assert band is not None
                runs += [("  Bid ", normal), (self.price_text(float(band.bid[idx])), down_c),
                         (" Ask ", normal), (self.price_text(float(band.ask[idx])), up_c),
                         (" Spread ", normal), (self.price_text(spread), bright)]
            lines.append((False, runs))
        sub_lines: dict[int, list[tuple[bool, Runs]]] = {}
        j = None if idx is None else min(idx, bars.n - 1)
        for ov in self._overlays:
            vals = [math.nan] * len(ov.keys) if j is None or j < 0 else [float(ov.series[k][j]) for k in ov.keys]
            runs = [(ov.label + " ", normal)]
            for k, (key, val) in enumerate(zip(ov.keys, vals, strict=True)):
                text = self.price_text(val) if ov.on_price else ("-" if not math.isfinite(val) else f"{val:.2f}")
                runs.append(((" " if k else "") + text, ov.colors[key]))
            if ov.on_price:
                lines.append((False, runs))
            else:
                sub_lines[id(ov.pane)] = [(False, runs)]
        if self._price.text is not None:
            self._price.text.set_lines(lines)
        for pane in self._sub_panes():
            if pane.text is not None:
                pane.text.set_lines(sub_lines.get(id(pane), []))

    def _title(self, bright: QtGui.QColor, up_c: QtGui.QColor, down_c: QtGui.QColor) -> Runs:
        bars = self._bars
        name = " \u00b7 ".join(x for x in (self.symbol, self.interval) if x) or "\u2014"
        title: Runs = [(name, bright)]
        f = bars.forming
        last = f.close if f is not None else (float(bars.close[bars.n - 1]) if bars.n else math.nan)
        if not math.isfinite(last):
            self._price.grid.set_last_price(None)
            self._price.axis.set_badge("last", None)
            return title
        ref = bars.prev_day_close if math.isfinite(bars.prev_day_close) else (
            float(bars.open[bars.day_start]) if bars.n else math.nan
        )
        title.append(("   " + self.price_text(last), bright))
        if math.isfinite(ref) and ref != 0:
            ch = last - ref
            title.append(
                (f"   {ch:+.{self._price.axis.decimals}f} ({ch / ref * 100:+.2f}%)", up_c if ch >= 0 else down_c)
            )
        if f is not None:
            bar_up = f.close >= f.open
        else:
            bar_up = bool(bars.close[bars.n - 1] >= bars.open[bars.n - 1]) if bars.n else True
        col = up_c if bar_up else down_c
        y = self._scale.y(last)
        self._price.grid.set_last_price(y, qcolor(self._t.up if bar_up else self._t.down, 170))
        self._price.axis.set_badge("last", y, self.price_text(last), col)
        return title

    def _bar_values(self, idx: int | None) -> tuple[int, float, float, float, float, float] | None:
        """(local time, open, high, low, close, volume) of bar idx as drawn (Heikin-Ashi when shown)."""
        b = self._bars
        if idx is None:
            return None
        ha = self.chart_type is ChartType.HEIKIN_ASHI
        if idx == b.n and b.forming is not None:
            f = self._ha.forming(b.forming) if ha else b.forming
            return f.local_ns, f.open, f.high, f.low, f.close, f.volume
        if 0 <= idx < b.n:
            src = self._ha if ha else b
            return (
                int(b.local_ns[idx]),
                float(src.open[idx]),
                float(src.high[idx]),
                float(src.low[idx]),
                float(src.close[idx]),
                float(b.volume[idx]),
            )
        return None
