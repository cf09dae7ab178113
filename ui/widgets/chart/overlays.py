"""Indicator overlays of the chart, parsed and computed by the engine's indicator code.

Specs are the engine's (`workstation.indicators`): whatever `make_indicator` accepts (`rsi`, `bb`,
`atr(14)`, `macd(12,26,9)` ...) is drawn, under its canonical spec. SMA, EMA, Bollinger and VWAP
are drawn over the price; RSI, MACD and ATR each get a pane below the volume. Series are whole-array
`compute_series` results kept in arrays of the bars' capacity; appended bars recompute only a tail
long enough to reproduce the full-history values (VWAP restarts at each exchange day). UI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6 import QtGui, QtWidgets

from ui.widgets.chart.bar_items import ColumnsItem
from ui.widgets.chart.bar_store import ChartBars
from ui.widgets.chart.formatting import NS_PER_DAY
from ui.widgets.chart.panes import Pane
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.series_items import SeriesLineItem
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor
from workstation.indicators import IndicatorError, compute_series, make_indicator, parse_spec

ON_PRICE = frozenset({"sma", "ema", "bb", "vwap"})


@dataclass
class Overlay:
    """One indicator overlay: its canonical spec, stored series and the items drawing it."""

    spec: str
    kind: str
    params: dict[str, float]
    label: str
    keys: tuple[str, ...]
    warmup: int
    colors: dict[str, QtGui.QColor]
    series: dict[str, np.ndarray] = field(default_factory=dict)
    items: list[QtWidgets.QGraphicsItem] = field(default_factory=list)
    pane: Pane | None = None

    @property
    def on_price(self) -> bool:
        """True when the overlay is drawn over the candles (not in a pane of its own)."""
        return self.kind in ON_PRICE


def canonical_spec(spec: str) -> str:
    """The engine's canonical form of an overlay spec ('RSI' -> 'rsi(14)'); ValueError when invalid,
    with the engine's reason (it names the spec: an unknown kind, or a known one's bad parameters)."""
    try:
        return make_indicator(spec).spec
    except IndicatorError as exc:
        raise ValueError(str(exc)) from None


def convergence_bars(kind: str, params: dict[str, float]) -> int:
    """Bars of history a tail recompute needs to reproduce the full-history value (to ~1e-10)."""
    if kind in ("sma", "bb"):
        return int(params["period"])
    if kind == "ema":
        return 12 * (int(params["period"]) + 1)
    if kind in ("rsi", "atr"):
        return 24 * int(params["period"]) + 1
    if kind == "macd":
        return 12 * (int(params["slow"]) + 1) + 12 * (int(params["signal"]) + 1)
    return 0  # vwap: anchored at the exchange-day start instead


class OverlaySet:
    """The active overlays of one chart: their series, items and panes."""

    def __init__(
        self,
        bars: ChartBars,
        price: Pane,
        scale: PriceScale,
        theme: ChartTheme,
        make_pane: Callable[[Overlay], Pane],
        chunk_size: int,
        decimate_above: int,
    ):
        self._bars = bars
        self._price = price
        self._scale = scale
        self._theme = theme
        self._make_pane = make_pane
        self._chunk_size = chunk_size
        self._decimate_above = decimate_above
        self._overlays: dict[str, Overlay] = {}
        self._pending_from: int | None = None

    def __iter__(self):
        return iter(self._overlays.values())

    def __bool__(self) -> bool:
        return bool(self._overlays)

    def specs(self) -> list[str]:
        """Canonical specs of the active overlays, in the order given."""
        return list(self._overlays)

    def sub_panes(self) -> list[Pane]:
        """Panes of the overlays drawn below the volume, in overlay order."""
        return [ov.pane for ov in self._overlays.values() if not ov.on_price and ov.pane is not None]

    def set_specs(self, specs: Sequence[str]) -> None:
        """Show exactly these overlays (kept ones keep their series and items)."""
        wanted = list(dict.fromkeys(canonical_spec(s) for s in specs))
        for spec in [k for k in self._overlays if k not in wanted]:
            self._remove(self._overlays.pop(spec))
        new: dict[str, Overlay] = {}
        for color_idx, spec in enumerate(wanted):
            new[spec] = self._overlays.get(spec) or self._create(spec, color_idx)
        self._overlays = new

    def get(self, spec: str) -> Overlay:
        """The active overlay of a spec (any form the engine accepts); KeyError when not active."""
        ov = self._overlays.get(canonical_spec(spec))
        if ov is None:
            raise KeyError(f"overlay {spec!r} is not active; active: {list(self._overlays)}")
        return ov

    # data ---------------------------------------------------------------------------------------
    def bar_appended(self, i: int) -> None:
        """Bar ``i`` was appended: its values are NaN until the next flush."""
        self.bars_appended(i, i + 1)

    def bars_appended(self, first: int, end: int) -> None:
        """Bars ``first`` .. ``end - 1`` were appended: their values are NaN until the next flush."""
        if not self._overlays:
            return
        for ov in self._overlays.values():
            self._ensure_capacity(ov)
            for key in ov.keys:
                ov.series[key][first:end] = np.nan
        if self._pending_from is None:
            self._pending_from = first

    def recompute_all(self) -> None:
        """The bars were replaced: compute every series over the whole history."""
        for ov in self._overlays.values():
            self._compute_full(ov)
            for item in ov.items:
                _refresh_item(item)
        self._pending_from = None

    def flush(self) -> None:
        """Bring the series up to date with appended bars (tail recompute only)."""
        first = self._pending_from
        if first is None:
            return
        self._pending_from = None
        n = self._bars.n
        for ov in self._overlays.values():
            start = self._bars.day_start_of(first) if ov.kind == "vwap" else max(0, first - ov.warmup)
            self._compute_range(ov, start, n, first)
            for item in ov.items:
                if isinstance(item, ColumnsItem):
                    item.invalidate_from(first)
                else:
                    _refresh_item(item)

    def scale_changed(self) -> None:
        """The price scale changed: price overlays rebuild their geometry."""
        for ov in self._overlays.values():
            if ov.on_price:
                for item in ov.items:
                    if isinstance(item, SeriesLineItem):
                        item.scale_changed()

    # y extents ----------------------------------------------------------------------------------
    def price_extent(self, i0: int, i1: int) -> tuple[float, float]:
        """Lowest and highest price-overlay value over bars [i0, i1) (inf, -inf when none)."""
        lo, hi = math.inf, -math.inf
        for ov in self._overlays.values():
            if not ov.on_price:
                continue
            for key in ov.keys:
                seg = ov.series[key][i0:i1]
                fin = seg[np.isfinite(seg)]
                if len(fin):
                    lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
        return lo, hi

    def fit_sub_panes(self, i0: int, i1: int, set_y: Callable[[Pane, float, float], None]) -> None:
        """Fit each oscillator pane's y range to its values over bars [i0, i1) (RSI: 0-100)."""
        for ov in self._overlays.values():
            if ov.on_price or ov.pane is None:
                continue
            if ov.kind == "rsi":
                set_y(ov.pane, -4.0, 104.0)
                continue
            lo, hi = math.inf, -math.inf
            if i1 > i0:
                for key in ov.keys:
                    seg = ov.series[key][i0:i1]
                    fin = seg[np.isfinite(seg)]
                    if len(fin):
                        lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
            if not math.isfinite(lo):
                lo, hi = -1.0, 1.0
            span = max(hi - lo, 1e-9)
            set_y(ov.pane, 0.0 if ov.kind == "atr" else lo - 0.1 * span, hi + 0.1 * span)

    # internals ----------------------------------------------------------------------------------
    def _create(self, spec: str, color_idx: int) -> Overlay:
        t = self._theme
        kind, params = parse_spec(spec)
        base = t.overlay_colors[color_idx % len(t.overlay_colors)]
        if kind == "bb":
            colors = {"middle": qcolor("#ff9800"), "upper": qcolor(base), "lower": qcolor(base)}
            if base == "#ff9800":
                colors["middle"] = qcolor("#2962ff")
        elif kind == "macd":
            colors = {"macd": qcolor("#2962ff"), "signal": qcolor("#ff6d00"), "histogram": qcolor(t.up)}
        elif kind == "rsi":
            colors = {"value": qcolor("#7e57c2") if color_idx == 0 else qcolor(base)}
        else:
            colors = {"value": qcolor(base)}
        ov = Overlay(
            spec=spec,
            kind=kind,
            params=dict(params),
            label=spec.upper(),
            keys=make_indicator(spec).output_names,
            warmup=convergence_bars(kind, params),
            colors=colors,
        )
        ov.series = {k: np.full(self._bars.capacity, np.nan) for k in ov.keys}
        self._compute_full(ov)
        pane = self._price if ov.on_price else self._make_pane(ov)
        ov.pane = pane
        for key in ov.keys:
            if kind == "macd" and key == "histogram":
                item = ColumnsItem(
                    values=lambda ov=ov: ov.series["histogram"],
                    ups=lambda a, b, ov=ov: ~(ov.series["histogram"][a:b] < 0),
                    count=lambda: self._bars.n,
                    colors=(qcolor(t.up, 150), qcolor(t.down, 150)),
                    chunk_size=self._chunk_size,
                    decimate_above=self._decimate_above,
                )
                item.setZValue(-1)
            else:
                item = SeriesLineItem(
                    lambda ov=ov, key=key: ov.series[key],
                    lambda: self._bars.n,
                    cosmetic_pen(colors[key]),
                    scale=self._scale if ov.on_price else None,
                )
                item.setZValue(10)
            pane.vb.addItem(item, ignoreBounds=True)
            ov.items.append(item)
            _refresh_item(item)
        return ov

    def _remove(self, ov: Overlay) -> None:
        if ov.pane is None:
            return
        for item in ov.items:
            ov.pane.vb.removeItem(item)
        ov.items.clear()

    def _ensure_capacity(self, ov: Overlay) -> None:
        cap = self._bars.capacity
        for key, arr in ov.series.items():
            if len(arr) < cap:
                grown = np.full(cap, np.nan)
                grown[: len(arr)] = arr
                ov.series[key] = grown

    def _compute_range(self, ov: Overlay, start: int, stop: int, write_from: int) -> None:
        """Compute ``ov`` on bars [start, stop) and store the values of [write_from, stop).

        VWAP restarts at each exchange day (``session_start``), so ``start`` must be a day start.
        """
        if stop <= start or write_from >= stop:
            return
        s = self._bars
        session_start = None
        if ov.kind == "vwap":
            days = s.local_ns[start:stop] // NS_PER_DAY
            session_start = np.empty(stop - start, dtype=bool)
            session_start[0] = True
            np.not_equal(days[1:], days[:-1], out=session_start[1:])
        out = compute_series(
            ov.spec,
            s.open[start:stop],
            s.high[start:stop],
            s.low[start:stop],
            s.close[start:stop],
            s.volume[start:stop],
            session_start=session_start,
        )
        for key in ov.keys:
            vals = np.asarray(out[key], dtype=np.float64)
            ov.series[key][write_from:stop] = vals[write_from - start :]

    def _compute_full(self, ov: Overlay) -> None:
        self._ensure_capacity(ov)
        for arr in ov.series.values():
            arr[:] = np.nan
        self._compute_range(ov, 0, self._bars.n, 0)


def _refresh_item(item: QtWidgets.QGraphicsItem) -> None:
    if isinstance(item, SeriesLineItem):
        item.data_changed()
    elif isinstance(item, ColumnsItem):
        item.invalidate_all()
