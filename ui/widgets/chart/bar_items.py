"""Graphics items drawing one glyph per bar (candles, volume and histogram columns), cached in chunks.

In view coordinates: x = bar index, y = the pane's value (prices go through the chart's PriceScale).
Completed chunks never change; appending bars drops only the open (last) chunk, rebuilt (vectorised)
at the next paint. When more bars are visible than pixels (or more than ``decimate_above``), bars
are reduced to one high/low column per pixel instead. UI thread only.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from ui.widgets.chart.painting import draw_lines, draw_rects, vertical_segments
from ui.widgets.chart.price_scale import PriceScale
from ui.widgets.chart.theme import ChartTheme, cosmetic_pen, qcolor


class OhlcSource(Protocol):
    """What a candle item reads: ChartBars, or HeikinAshi over them."""

    n: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    low_min: float
    high_max: float


class Chunk:
    """Geometry of up to ``chunk_size`` consecutive bars, split by colour (0 up, 1 down).

    Per colour: the bar indices (ascending) and, per glyph kind, a C-contiguous (k, 4) float64
    array of lines or rects in bar order, so the visible part of a chunk is a row slice.
    """

    __slots__ = ("start", "stop", "idx", "glyphs")

    def __init__(self, start: int, stop: int):
        self.start = start
        self.stop = stop
        self.idx: list[np.ndarray] = [np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)]
        self.glyphs: list[tuple[np.ndarray, ...]] = [(), ()]


def _group_starts(k: int, n: int) -> np.ndarray:
    return np.arange(0, n, k, dtype=np.int64)


class ChunkedBarsItem(pg.GraphicsObject):
    """Per-bar glyphs cached in chunks; paints only the visible rows (see the module docstring).

    ``chunk_builds`` counts builds and ``build_log`` keeps the indices of the last chunks built.
    """

    def __init__(self, chunk_size: int, decimate_above: int):
        super().__init__()
        self.chunk_size = chunk_size
        self.decimate_above = decimate_above
        self.chunk_builds = 0
        self.build_log: deque[int] = deque(maxlen=256)
        self.decimated_paints = 0
        self._chunks: dict[int, Chunk] = {}
        self._rect = QtCore.QRectF()
        self._decimation_key: tuple | None = None
        self._decimation: list[tuple[QtGui.QPen, np.ndarray]] = []
        self._groups_key: tuple | None = None
        self._groups: tuple[np.ndarray, ...] = ()
        self._pens: tuple[QtGui.QPen, QtGui.QPen] = (QtGui.QPen(), QtGui.QPen())
        self._brushes: tuple[QtGui.QBrush, QtGui.QBrush] = (QtGui.QBrush(), QtGui.QBrush())
        self._no_pen = QtGui.QPen(QtCore.Qt.PenStyle.NoPen)

    # subclasses -------------------------------------------------------------------------------
    def _count(self) -> int:
        raise NotImplementedError

    def _build_glyphs(self, chunk: Chunk) -> None:
        """Fill ``chunk.idx`` and ``chunk.glyphs`` for bars [chunk.start, chunk.stop)."""
        raise NotImplementedError

    def _draw_glyphs(self, p: QtGui.QPainter, side: int, glyphs: tuple[np.ndarray, ...], a: int, b: int) -> None:
        raise NotImplementedError

    def _extent(self) -> tuple[float, float]:
        raise NotImplementedError

    def _group_reduce(self, k: int, n: int) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def _decimated(self, groups: tuple[np.ndarray, ...], g0: int, g1: int, k: int) -> list:
        raise NotImplementedError

    # cache control ----------------------------------------------------------------------------
    def invalidate_all(self) -> None:
        """Forget every cached chunk (bars replaced, scale or chart type changed)."""
        self._chunks.clear()
        self._decimation_key = None
        self._groups_key = None
        self._rect = QtCore.QRectF()
        self.refresh_bounds()
        self.update()

    def bars_appended(self) -> None:
        """Bars were appended: the open chunk is rebuilt when next painted (its ``stop`` is stale)."""
        self._decimation_key = None
        self._groups_key = None
        self.refresh_bounds()
        self.update()

    def invalidate_from(self, index: int) -> None:
        """Values of bars ``index`` and later were rewritten: drop cached chunks holding any of them."""
        cs = self.chunk_size
        n = self._count()
        for c in range(index // cs, max(index, n - 1) // cs + 1):
            chunk = self._chunks.get(c)
            if chunk is not None and chunk.stop > index:
                del self._chunks[c]
        self._decimation_key = None
        self._groups_key = None
        self.refresh_bounds()
        self.update()

    def cached_chunks(self) -> list[int]:
        """Indices of the chunks currently cached."""
        return sorted(self._chunks)

    def refresh_bounds(self) -> None:
        """Update the bounding rect when the data extent outgrew it."""
        lo, hi = self._extent()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = 0.0, 1.0
        width = float(max(self._count(), 1) + self.chunk_size)
        r = self._rect
        if r.isNull() or lo < r.top() or hi > r.bottom() or width > r.width() - 2:
            span = max(hi - lo, 1e-9)
            self.prepareGeometryChange()
            self._rect = QtCore.QRectF(-2.0, lo - 0.05 * span, max(width * 2, 1024.0), span * 1.1)

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def _chunk(self, c: int, n: int) -> Chunk:
        """Chunk ``c`` covering every existing bar in it (built when missing or stale)."""
        cs = self.chunk_size
        stop = min(n, (c + 1) * cs)
        chunk = self._chunks.get(c)
        if chunk is None or chunk.stop != stop:
            chunk = Chunk(c * cs, stop)
            self._build_glyphs(chunk)
            self._chunks[c] = chunk
            self.chunk_builds += 1
            self.build_log.append(c)
        return chunk

    # painting ---------------------------------------------------------------------------------
    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        n = self._count()
        vb = self.getViewBox()
        if n == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        i0 = max(0, int(math.floor(x0)))
        i1 = min(n, int(math.ceil(x1)) + 1)
        if i1 <= i0:
            return
        width_px = max(1.0, vb.width())
        visible = i1 - i0
        if visible > self.decimate_above or visible > width_px:
            self._paint_decimated(p, i0, i1, width_px, n)
            return
        cs = self.chunk_size
        for c in range(i0 // cs, (i1 - 1) // cs + 1):
            chunk = self._chunk(c, n)
            for side in (0, 1):
                idx = chunk.idx[side]
                if len(idx) == 0:
                    continue
                a = int(np.searchsorted(idx, i0)) if i0 > chunk.start else 0
                b = int(np.searchsorted(idx, i1)) if i1 < chunk.stop else len(idx)
                if b > a:
                    self._draw_glyphs(p, side, chunk.glyphs[side], a, b)

    def _paint_decimated(self, p: QtGui.QPainter, i0: int, i1: int, width_px: float, n: int) -> None:
        k = max(1, math.ceil((i1 - i0) / width_px))
        g0, g1 = i0 // k, (i1 - 1) // k + 1
        key = (k, g0, g1, n)
        if key != self._decimation_key:
            if self._groups_key != (k, n):
                self._groups = self._group_reduce(k, n)
                self._groups_key = (k, n)
            self._decimation = self._decimated(self._groups, g0, g1, k)
            self._decimation_key = key
        self.decimated_paints += 1
        for pen, segments in self._decimation:
            p.setPen(pen)
            draw_lines(p, segments)


class CandlesItem(ChunkedBarsItem):
    """Completed candles: wick lines, filled bodies, doji bodies as lines.

    ``source()`` gives the OHLC arrays to draw (the bars, or their Heikin-Ashi form); prices go
    through ``scale``.
    """

    BODY_HALF_WIDTH = 0.36

    def __init__(
        self,
        source: Callable[[], OhlcSource],
        scale: PriceScale,
        theme: ChartTheme,
        chunk_size: int,
        decimate_above: int,
    ):
        super().__init__(chunk_size, decimate_above)
        self._source = source
        self._scale = scale
        up, down = qcolor(theme.up), qcolor(theme.down)
        self._pens = (cosmetic_pen(up), cosmetic_pen(down))
        self._brushes = (QtGui.QBrush(up), QtGui.QBrush(down))
        self._wick_pens = (
            cosmetic_pen(qcolor(theme.up, theme.wick_alpha_decimated)),
            cosmetic_pen(qcolor(theme.down, theme.wick_alpha_decimated)),
        )

    def _count(self) -> int:
        return self._source().n

    def _extent(self) -> tuple[float, float]:
        s = self._source()
        return self._scale.y(s.low_min), self._scale.y(s.high_max)

    def _build_glyphs(self, chunk: Chunk) -> None:
        s, a, b = self._source(), chunk.start, chunk.stop
        up = s.close[a:b] >= s.open[a:b]
        to_view = self._scale.to_view
        o, h, low, c = to_view(s.open[a:b]), to_view(s.high[a:b]), to_view(s.low[a:b]), to_view(s.close[a:b])
        hw = self.BODY_HALF_WIDTH
        for side, mask in ((0, up), (1, ~up)):
            sel = np.flatnonzero(mask)
            x = (sel + a).astype(np.float64)
            body_lo = np.minimum(o[sel], c[sel])
            body_h = np.abs(c[sel] - o[sel])
            wicks = vertical_segments(x, low[sel], h[sel])
            bodies = np.column_stack([x - hw, body_lo, np.full(len(x), 2 * hw), body_h])
            dojis = np.column_stack([x - hw, body_lo, x + hw, body_lo])
            chunk.idx[side] = sel + a
            chunk.glyphs[side] = (wicks, np.ascontiguousarray(bodies), np.ascontiguousarray(dojis))

    def _draw_glyphs(self, p: QtGui.QPainter, side: int, glyphs: tuple[np.ndarray, ...], a: int, b: int) -> None:
        wicks, bodies, dojis = glyphs
        p.setPen(self._pens[side])
        draw_lines(p, wicks[a:b])
        draw_lines(p, dojis[a:b])
        p.setPen(self._no_pen)
        p.setBrush(self._brushes[side])
        draw_rects(p, bodies[a:b])

    def _group_reduce(self, k: int, n: int) -> tuple[np.ndarray, ...]:
        s = self._source()
        starts = _group_starts(k, n)
        lo = np.minimum.reduceat(s.low[:n], starts)
        hi = np.maximum.reduceat(s.high[:n], starts)
        first_open = s.open[starts]
        last_close = s.close[np.minimum(starts + k, n) - 1]
        return lo, hi, first_open, last_close

    def _decimated(self, groups: tuple[np.ndarray, ...], g0: int, g1: int, k: int) -> list:
        lo, hi, op, cl = (a[g0:g1] for a in groups)
        x = np.arange(g0, g1, dtype=np.float64) * k + (k - 1) / 2.0
        up = cl >= op
        to_view = self._scale.to_view
        lo, hi = to_view(lo), to_view(hi)
        body_lo, body_hi = to_view(np.minimum(op, cl)), to_view(np.maximum(op, cl))
        out = []
        for side, mask in ((0, up), (1, ~up)):
            if mask.any():
                out.append((self._wick_pens[side], vertical_segments(x[mask], lo[mask], hi[mask])))
                out.append((self._pens[side], vertical_segments(x[mask], body_lo[mask], body_hi[mask])))
        return out


class ColumnsItem(ChunkedBarsItem):
    """Columns from 0 to a value per bar (volume, MACD histogram), coloured by an up/down rule."""

    HALF_WIDTH = 0.36

    def __init__(
        self,
        values: Callable[[], np.ndarray],
        ups: Callable[[int, int], np.ndarray],
        count: Callable[[], int],
        colors: tuple[QtGui.QColor, QtGui.QColor],
        chunk_size: int,
        decimate_above: int,
    ):
        super().__init__(chunk_size, decimate_above)
        self._values = values
        self._ups = ups
        self._count_fn = count
        self._pens = (cosmetic_pen(colors[0]), cosmetic_pen(colors[1]))
        self._brushes = (QtGui.QBrush(colors[0]), QtGui.QBrush(colors[1]))

    def _count(self) -> int:
        return self._count_fn()

    def _extent(self) -> tuple[float, float]:
        n = self._count()
        if n == 0:
            return 0.0, 1.0
        v = self._values()[:n]
        finite = v[np.isfinite(v)]
        if len(finite) == 0:
            return 0.0, 1.0
        return min(0.0, float(finite.min())), max(0.0, float(finite.max()))

    def refresh_bounds(self) -> None:
        """Columns grow from zero: cheap bound update from the newest value only."""
        n = self._count()
        if self._rect.isNull() or n == 0:
            super().refresh_bounds()
            return
        last = float(self._values()[n - 1])
        r = self._rect
        if (math.isfinite(last) and (last < r.top() or last > r.bottom())) or n + 2 > r.right():
            super().refresh_bounds()

    def _build_glyphs(self, chunk: Chunk) -> None:
        a, b = chunk.start, chunk.stop
        v = self._values()[a:b]
        up = self._ups(a, b)
        finite = np.isfinite(v)
        hw = self.HALF_WIDTH
        for side, mask in ((0, up & finite), (1, ~up & finite)):
            sel = np.flatnonzero(mask)
            x = (sel + a).astype(np.float64)
            rects = np.column_stack([x - hw, np.zeros(len(x)), np.full(len(x), 2 * hw), v[sel]])
            chunk.idx[side] = sel + a
            chunk.glyphs[side] = (np.ascontiguousarray(rects),)

    def _draw_glyphs(self, p: QtGui.QPainter, side: int, glyphs: tuple[np.ndarray, ...], a: int, b: int) -> None:
        p.setPen(self._no_pen)
        p.setBrush(self._brushes[side])
        draw_rects(p, glyphs[0][a:b])

    def _group_reduce(self, k: int, n: int) -> tuple[np.ndarray, ...]:
        v = np.nan_to_num(self._values()[:n], nan=0.0)
        starts = _group_starts(k, n)
        hi = np.maximum.reduceat(v, starts)
        lo = np.minimum.reduceat(v, starts)
        big = np.where(np.abs(lo) > np.abs(hi), lo, hi)
        up = self._ups(0, n)
        up_share = np.add.reduceat(up.astype(np.int64), starts) * 2 >= np.minimum(k, n - starts)
        return big, up_share

    def _decimated(self, groups: tuple[np.ndarray, ...], g0: int, g1: int, k: int) -> list:
        big, up = (a[g0:g1] for a in groups)
        x = np.arange(g0, g1, dtype=np.float64) * k + (k - 1) / 2.0
        zeros = np.zeros(len(x))
        out = []
        for side, mask in ((0, up), (1, ~up)):
            if mask.any():
                out.append((self._pens[side], vertical_segments(x[mask], zeros[mask], big[mask])))
        return out
