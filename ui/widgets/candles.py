"""Candle chart widget: price, volume and oscillator panes over a bar-index x axis (a pure view).

The x coordinate of bar ``i`` is ``i`` (no overnight or weekend gaps); axis labels show the bar START
time in the exchange zone. Completed candles and volume columns are drawn from cached QPicture
chunks, so appending a bar rebuilds only the last open chunk; when more bars are visible than can be
drawn one per pixel, the view is decimated to one high/low column per pixel.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from workstation.indicators import compute_series

log = logging.getLogger(__name__)

_NS_PER_MINUTE = 60_000_000_000
_NS_PER_DAY = 86_400_000_000_000
_OFFSET_BUCKET_NS = 15 * _NS_PER_MINUTE  # every real zone changes offset on a 15-minute boundary
_MINUTE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ChartTheme:
    """Colours and fonts of the chart (dark, TradingView-like defaults)."""

    background: str = "#131722"
    grid: str = "#1e222d"
    separator: str = "#2a2e39"
    axis_line: str = "#2a2e39"
    text: str = "#b2b5be"
    text_bright: str = "#d1d4dc"
    text_dim: str = "#787b86"
    up: str = "#26a69a"
    down: str = "#ef5350"
    volume_alpha: int = 120
    wick_alpha_decimated: int = 150
    crosshair: str = "#758696"
    badge: str = "#363a45"
    buy_marker: str = "#00e676"
    sell_marker: str = "#ff1744"
    overlay_colors: tuple[str, ...] = (
        "#2962ff",
        "#ff9800",
        "#e040fb",
        "#00bcd4",
        "#ffeb3b",
        "#8d6e63",
        "#f06292",
    )
    font_px: int = 11
    title_font_px: int = 13


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


class _UtcOffsets:
    """UTC offsets (ns) of an exchange zone, looked up per 15-minute bucket and cached."""

    def __init__(self, zone: ZoneInfo):
        self._zone = zone
        self._cache: dict[int, int] = {}

    def offset_ns(self, ts_ns: int) -> int:
        """Offset of the zone at UTC instant ``ts_ns``."""
        bucket = ts_ns // _OFFSET_BUCKET_NS
        off = self._cache.get(bucket)
        if off is None:
            when = datetime.fromtimestamp(bucket * (_OFFSET_BUCKET_NS // 1_000_000_000), tz=UTC)
            delta = when.astimezone(self._zone).utcoffset()
            off = int(delta.total_seconds()) * 1_000_000_000 if delta is not None else 0
            self._cache[bucket] = off
        return off

    def local_ns(self, ts: np.ndarray) -> np.ndarray:
        """Exchange wall-clock time (ns since the local epoch) of UTC instants ``ts``."""
        if len(ts) == 0:
            return np.zeros(0, dtype=np.int64)
        buckets, inverse = np.unique(ts // _OFFSET_BUCKET_NS, return_inverse=True)
        offsets = np.array([self.offset_ns(int(b) * _OFFSET_BUCKET_NS) for b in buckets], dtype=np.int64)
        return ts + offsets[inverse]


class _BarStore:
    """Growable columnar bar arrays; append is amortised O(1) by capacity doubling."""

    def __init__(self, offsets: _UtcOffsets, capacity: int = 1024):
        self._offsets = offsets
        self.n = 0
        self.reallocations = 0
        self._allocate(capacity)
        self._reset_extremes()

    def _allocate(self, capacity: int) -> None:
        self.ts = np.zeros(capacity, dtype=np.int64)
        self.local_ns = np.zeros(capacity, dtype=np.int64)
        self.open = np.zeros(capacity, dtype=np.float64)
        self.high = np.zeros(capacity, dtype=np.float64)
        self.low = np.zeros(capacity, dtype=np.float64)
        self.close = np.zeros(capacity, dtype=np.float64)
        self.volume = np.zeros(capacity, dtype=np.float64)

    def _reset_extremes(self) -> None:
        self.low_min = math.inf
        self.high_max = -math.inf
        self.volume_max = 0.0

    @property
    def capacity(self) -> int:
        """Number of bars the arrays can hold before the next reallocation."""
        return len(self.ts)

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * self.capacity)
        old = (self.ts, self.local_ns, self.open, self.high, self.low, self.close, self.volume)
        self._allocate(capacity)
        for new_arr, old_arr in zip(
            (self.ts, self.local_ns, self.open, self.high, self.low, self.close, self.volume),
            old,
            strict=True,
        ):
            new_arr[: self.n] = old_arr[: self.n]
        self.reallocations += 1

    def replace(
        self,
        ts: np.ndarray,
        o: np.ndarray,
        h: np.ndarray,
        low: np.ndarray,
        c: np.ndarray,
        v: np.ndarray,
    ) -> None:
        """Replace every bar with the given arrays (already validated)."""
        n = len(ts)
        self._allocate(max(1024, 1 << max(0, (n - 1).bit_length()) if n else 1024))
        self.n = n
        self.ts[:n] = ts
        self.local_ns[:n] = self._offsets.local_ns(ts)
        self.open[:n] = o
        self.high[:n] = h
        self.low[:n] = low
        self.close[:n] = c
        self.volume[:n] = v
        self._reset_extremes()
        if n:
            self.low_min = float(np.min(low))
            self.high_max = float(np.max(h))
            self.volume_max = float(np.max(v))

    def append(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Append one completed bar."""
        if self.n == self.capacity:
            self._grow(self.n + 1)
        i = self.n
        self.ts[i] = ts
        self.local_ns[i] = ts + self._offsets.offset_ns(ts)
        self.open[i] = o
        self.high[i] = h
        self.low[i] = low
        self.close[i] = c
        self.volume[i] = v
        self.n = i + 1
        self.low_min = min(self.low_min, low)
        self.high_max = max(self.high_max, h)
        self.volume_max = max(self.volume_max, v)

    def clear(self) -> None:
        """Drop every bar (keeps the allocation)."""
        self.n = 0
        self._reset_extremes()


@dataclass
class _FormingBar:
    """The partial bar of a derived interval, drawn after the last completed bar."""

    ts: int
    local_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


# ----------------------------------------------------------------------------------------------
# overlays
# ----------------------------------------------------------------------------------------------

_SPEC_RE = re.compile(r"^(sma|ema|rsi|bb|macd|vwap)(?:\(([^()]*)\))?$")


@dataclass
class _Overlay:
    """One indicator overlay: its parsed spec, stored series and the items drawing it."""

    spec: str
    kind: str
    params: tuple[float, ...]
    label: str
    keys: tuple[str, ...]
    warmup: int
    colors: dict[str, QtGui.QColor]
    series: dict[str, np.ndarray] = field(default_factory=dict)
    items: list[QtWidgets.QGraphicsItem] = field(default_factory=list)
    pane: _Pane | None = None

    @property
    def on_price(self) -> bool:
        """True when the overlay is drawn over the candles (not in a sub-pane)."""
        return self.kind in ("sma", "ema", "bb", "vwap")


def _parse_overlay(spec: str) -> tuple[str, str, tuple[float, ...]]:
    """Normalise an overlay spec; returns (normalised spec, kind, params) or raises ValueError."""
    norm = spec.strip().lower().replace(" ", "")
    m = _SPEC_RE.match(norm)
    if m is None:
        raise ValueError(
            f"overlay spec {spec!r} is not one of sma(N), ema(N), bb(N,k), vwap, rsi(N), macd(a,b,c)"
        )
    kind, arg_text = m.group(1), m.group(2)
    try:
        args = tuple(float(a) for a in arg_text.split(",")) if arg_text else ()
    except ValueError:
        raise ValueError(f"overlay spec {spec!r} has a non-numeric parameter") from None
    expected = {"sma": 1, "ema": 1, "rsi": 1, "bb": 2, "macd": 3, "vwap": 0}[kind]
    if len(args) != expected:
        raise ValueError(f"overlay spec {spec!r} needs {expected} parameter(s), got {len(args)}")
    int_args = args if kind != "bb" else args[:1]
    if any(a < 1 or a != int(a) for a in int_args) or (kind == "bb" and args[1] <= 0):
        raise ValueError(f"overlay spec {spec!r} needs positive whole periods (and k > 0 for bb)")
    return norm, kind, args


def _overlay_label(kind: str, params: tuple[float, ...]) -> str:
    """Display label, e.g. 'SMA(20)' or 'BB(20,2)'."""
    if not params:
        return kind.upper()
    return f"{kind.upper()}({','.join(f'{p:g}' for p in params)})"


def _overlay_warmup(kind: str, params: tuple[float, ...]) -> int:
    """Bars of history a tail recompute needs to reproduce the full-history value (to ~1e-10)."""
    if kind in ("sma", "bb"):
        return int(params[0])
    if kind == "ema":
        return 12 * (int(params[0]) + 1)
    if kind == "rsi":
        return 24 * int(params[0]) + 1
    if kind == "macd":
        return 12 * (int(params[1]) + 1) + 12 * (int(params[2]) + 1)
    return 0  # vwap: anchored at the exchange-day start instead


_OVERLAY_KEYS = {
    "sma": ("value",),
    "ema": ("value",),
    "rsi": ("value",),
    "vwap": ("value",),
    "bb": ("middle", "upper", "lower"),
    "macd": ("macd", "signal", "histogram"),
}


# ----------------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------------


def _fmt_volume(v: float) -> str:
    """Compact volume: 950, 12.3K, 1.25M, 3.1B."""
    if not math.isfinite(v):
        return "-"
    a = abs(v)
    if a < 1_000:
        return f"{v:.0f}"
    if a < 1_000_000:
        return f"{v / 1_000:.1f}K"
    if a < 1_000_000_000:
        return f"{v / 1_000_000:.2f}M"
    return f"{v / 1_000_000_000:.2f}B"


_LOCAL_EPOCH = datetime(1970, 1, 1)


def _local_parts(local_ns: int) -> datetime:
    """Naive datetime of an exchange wall-clock time in ns."""
    return _LOCAL_EPOCH + timedelta(microseconds=local_ns // 1000)


def _fmt_time_hm(local_ns: int) -> str:
    """'09:45'."""
    minutes = (local_ns // _NS_PER_MINUTE) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fmt_date_md(local_ns: int) -> str:
    """'Nov 29'."""
    d = _local_parts(local_ns)
    return f"{_MONTHS[d.month - 1]} {d.day}"


def _fmt_full(local_ns: int) -> str:
    """'Fri Nov 29 2024 09:45' for read-outs."""
    d = _local_parts(local_ns)
    return f"{_WEEKDAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day} {d.year} {d.hour:02d}:{d.minute:02d}"


def _nice_step(raw: float) -> float:
    """Smallest 1/2/2.5/5 x 10^k step at least ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    base = 10.0**exp
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * base >= raw * (1 - 1e-9):
            return m * base
    return 10.0 * base


def _step_decimals(step: float) -> int:
    """Fewest decimals (up to 8) that show multiples of ``step`` exactly."""
    for d in range(9):
        scaled = step * 10**d
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, scaled):
            return d
    return 8


def _color(hex_color: str, alpha: int | None = None) -> QtGui.QColor:
    c = QtGui.QColor(hex_color)
    if alpha is not None:
        c.setAlpha(alpha)
    return c


def _cosmetic_pen(
    color: QtGui.QColor, style: QtCore.Qt.PenStyle = QtCore.Qt.PenStyle.SolidLine
) -> QtGui.QPen:
    pen = QtGui.QPen(color)
    pen.setCosmetic(True)
    pen.setWidth(1)
    pen.setStyle(style)
    return pen


# ----------------------------------------------------------------------------------------------
# graphics items drawing bars (in view coordinates: x = bar index, y = price or value)
# ----------------------------------------------------------------------------------------------


def _draw_lines(p: QtGui.QPainter, segments: np.ndarray) -> None:
    """Draw (k, 4) float64 rows x1, y1, x2, y2 as lines without per-line Python objects."""
    if len(segments):
        p.drawLines(shiboken6.wrapInstance(segments.ctypes.data, QtCore.QLineF), len(segments))


def _draw_rects(p: QtGui.QPainter, rects: np.ndarray) -> None:
    """Draw (k, 4) float64 rows x, y, w, h as rectangles without per-rect Python objects."""
    if len(rects):
        p.drawRects(shiboken6.wrapInstance(rects.ctypes.data, QtCore.QRectF), len(rects))


class _Chunk:
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


class _ChunkedBarsItem(pg.GraphicsObject):
    """Per-bar glyphs cached in chunks of ``chunk_size`` bars; paints only the visible rows.

    Completed chunks never change. Appending bars drops only the open (last) chunk, which is
    rebuilt (vectorised) at the next paint; ``chunk_builds`` counts builds and ``build_log`` keeps
    the indices of the last chunks built. When more bars are visible than pixels (or more than
    ``decimate_above``), bars are reduced to one column per pixel instead.
    """

    def __init__(self, chunk_size: int, decimate_above: int):
        super().__init__()
        self.chunk_size = chunk_size
        self.decimate_above = decimate_above
        self.chunk_builds = 0
        self.build_log: deque[int] = deque(maxlen=256)
        self.decimated_paints = 0
        self._chunks: dict[int, _Chunk] = {}
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

    def _build_glyphs(self, chunk: _Chunk) -> None:
        """Fill ``chunk.idx`` and ``chunk.glyphs`` for bars [chunk.start, chunk.stop)."""
        raise NotImplementedError

    def _draw_glyphs(
        self, p: QtGui.QPainter, side: int, glyphs: tuple[np.ndarray, ...], a: int, b: int
    ) -> None:
        raise NotImplementedError

    def _extent(self) -> tuple[float, float]:
        raise NotImplementedError

    def _group_reduce(self, k: int, n: int) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def _decimated(self, groups: tuple[np.ndarray, ...], g0: int, g1: int, k: int) -> list:
        raise NotImplementedError

    # cache control ----------------------------------------------------------------------------
    def invalidate_all(self) -> None:
        """Forget every cached chunk (bars replaced)."""
        self._chunks.clear()
        self._decimation_key = None
        self._groups_key = None
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

    def _chunk(self, c: int, n: int) -> _Chunk:
        """Chunk ``c`` covering every existing bar in it (built when missing or stale)."""
        cs = self.chunk_size
        stop = min(n, (c + 1) * cs)
        chunk = self._chunks.get(c)
        if chunk is None or chunk.stop != stop:
            chunk = _Chunk(c * cs, stop)
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
            _draw_lines(p, segments)


def _vertical_segments(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """(k, 4) rows x, y0, x, y1."""
    out = np.empty((len(x), 4), dtype=np.float64)
    out[:, 0] = x
    out[:, 1] = y0
    out[:, 2] = x
    out[:, 3] = y1
    return out


def _group_starts(k: int, n: int) -> np.ndarray:
    return np.arange(0, n, k, dtype=np.int64)


class _CandlesItem(_ChunkedBarsItem):
    """Completed candles of a bar store: wick lines, filled bodies, doji bodies as lines."""

    BODY_HALF_WIDTH = 0.36

    def __init__(self, store: _BarStore, theme: ChartTheme, chunk_size: int, decimate_above: int):
        super().__init__(chunk_size, decimate_above)
        self._store = store
        up, down = _color(theme.up), _color(theme.down)
        self._pens = (_cosmetic_pen(up), _cosmetic_pen(down))
        self._brushes = (QtGui.QBrush(up), QtGui.QBrush(down))
        self._wick_pens = (
            _cosmetic_pen(_color(theme.up, theme.wick_alpha_decimated)),
            _cosmetic_pen(_color(theme.down, theme.wick_alpha_decimated)),
        )

    def _count(self) -> int:
        return self._store.n

    def _extent(self) -> tuple[float, float]:
        return self._store.low_min, self._store.high_max

    def _build_glyphs(self, chunk: _Chunk) -> None:
        s, a, b = self._store, chunk.start, chunk.stop
        o, h, low, c = s.open[a:b], s.high[a:b], s.low[a:b], s.close[a:b]
        up = c >= o
        hw = self.BODY_HALF_WIDTH
        for side, mask in ((0, up), (1, ~up)):
            sel = np.flatnonzero(mask)
            x = (sel + a).astype(np.float64)
            body_lo = np.minimum(o[sel], c[sel])
            body_h = np.abs(c[sel] - o[sel])
            wicks = _vertical_segments(x, low[sel], h[sel])
            bodies = np.column_stack([x - hw, body_lo, np.full(len(x), 2 * hw), body_h])
            dojis = np.column_stack([x - hw, body_lo, x + hw, body_lo])
            chunk.idx[side] = sel + a
            chunk.glyphs[side] = (wicks, np.ascontiguousarray(bodies), np.ascontiguousarray(dojis))

    def _draw_glyphs(
        self, p: QtGui.QPainter, side: int, glyphs: tuple[np.ndarray, ...], a: int, b: int
    ) -> None:
        wicks, bodies, dojis = glyphs
        p.setPen(self._pens[side])
        _draw_lines(p, wicks[a:b])
        _draw_lines(p, dojis[a:b])
        p.setPen(self._no_pen)
        p.setBrush(self._brushes[side])
        _draw_rects(p, bodies[a:b])

    def _group_reduce(self, k: int, n: int) -> tuple[np.ndarray, ...]:
        s = self._store
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
        body_lo, body_hi = np.minimum(op, cl), np.maximum(op, cl)
        out = []
        for side, mask in ((0, up), (1, ~up)):
            if mask.any():
                out.append((self._wick_pens[side], _vertical_segments(x[mask], lo[mask], hi[mask])))
                out.append((self._pens[side], _vertical_segments(x[mask], body_lo[mask], body_hi[mask])))
        return out


class _ColumnsItem(_ChunkedBarsItem):
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
        self._pens = (_cosmetic_pen(colors[0]), _cosmetic_pen(colors[1]))
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

    def _build_glyphs(self, chunk: _Chunk) -> None:
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

    def _draw_glyphs(
        self, p: QtGui.QPainter, side: int, glyphs: tuple[np.ndarray, ...], a: int, b: int
    ) -> None:
        p.setPen(self._no_pen)
        p.setBrush(self._brushes[side])
        _draw_rects(p, glyphs[0][a:b])

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
                out.append((self._pens[side], _vertical_segments(x[mask], zeros[mask], big[mask])))
        return out


class _SeriesLineItem(pg.GraphicsObject):
    """An indicator line drawn clipped to the view and peak-decimated to the pixel width.

    Same idea as PlotDataItem(clipToView=True, autoDownsample=True, skipFiniteCheck) but it reads
    the chart's growing array directly, so an append costs nothing until the next paint.
    """

    def __init__(self, values: Callable[[], np.ndarray], count: Callable[[], int], pen: QtGui.QPen):
        super().__init__()
        self._values = values
        self._count = count
        self._pen = pen
        self._thin_pen = QtGui.QPen(pen)
        self._thin_pen.setWidth(1)
        self._rect = QtCore.QRectF()
        self._key: tuple | None = None
        self._segments = np.zeros((0, 4))

    def data_changed(self) -> None:
        """The series grew or changed: drop the cached segments and grow the bounds if needed."""
        self._key = None
        n = self._count()
        v = self._values()[:n]
        if n == 0:
            return
        last = v[-1]
        r = self._rect
        if r.isNull() or (math.isfinite(last) and (last < r.top() or last > r.bottom())) or n + 2 > r.right():
            finite = v[np.isfinite(v)]
            lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            span = max(hi - lo, 1e-9)
            self.prepareGeometryChange()
            self._rect = QtCore.QRectF(-2.0, lo - 0.05 * span, max(2.0 * n, 1024.0), span * 1.1)
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        n = self._count()
        vb = self.getViewBox()
        if n == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        i0 = max(0, int(math.floor(x0)) - 1)
        i1 = min(n, int(math.ceil(x1)) + 2)
        if i1 - i0 < 2:
            return
        width_px = max(1.0, vb.width())
        k = max(1, math.ceil((i1 - i0) / width_px / 2))
        key = (i0 // k, i1, k, n)
        if key != self._key:
            self._segments = self._build_segments(i0, i1, k)
            self._key = key
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, k == 1)
        p.setPen(self._pen if k == 1 else self._thin_pen)
        _draw_lines(p, self._segments)

    def _build_segments(self, i0: int, i1: int, k: int) -> np.ndarray:
        v = self._values()
        if k == 1:
            x = np.arange(i0, i1, dtype=np.float64)
            y = v[i0:i1]
        else:
            g0 = (i0 // k) * k
            seg = v[g0:i1]
            pad = (-len(seg)) % k
            if pad:
                seg = np.concatenate([seg, np.full(pad, np.nan)])
            seg = seg.reshape(-1, k)
            finite = np.isfinite(seg)
            ok = finite.any(axis=1)
            lo = np.where(ok, np.where(finite, seg, np.inf).min(axis=1), np.nan)
            hi = np.where(ok, np.where(finite, seg, -np.inf).max(axis=1), np.nan)
            xc = g0 + np.arange(len(lo), dtype=np.float64) * k + (k - 1) / 2.0
            x = np.repeat(xc, 2)
            y = np.empty(2 * len(lo))
            y[0::2] = lo
            y[1::2] = hi
        good = np.isfinite(y[:-1]) & np.isfinite(y[1:])
        out = np.empty((int(good.sum()), 4), dtype=np.float64)
        out[:, 0] = x[:-1][good]
        out[:, 1] = y[:-1][good]
        out[:, 2] = x[1:][good]
        out[:, 3] = y[1:][good]
        return out


class _FormingItem(pg.GraphicsObject):
    """The forming (partial) bar: hollow, semi-transparent body with a dashed outline."""

    def __init__(self, theme: ChartTheme, volume: bool):
        super().__init__()
        self._theme = theme
        self._volume = volume
        self._bar: _FormingBar | None = None
        self._x = 0.0
        self._rect = QtCore.QRectF()

    def set_bar(self, x: float, bar: _FormingBar | None) -> None:
        """Show ``bar`` at index ``x`` (or hide it with None)."""
        if bar is None and self._bar is None:
            return
        self._bar, self._x = bar, x
        self.prepareGeometryChange()
        if bar is None:
            self._rect = QtCore.QRectF()
        elif self._volume:
            self._rect = QtCore.QRectF(x - 0.5, 0.0, 1.0, max(bar.volume, 1e-9))
        else:
            self._rect = QtCore.QRectF(x - 0.5, bar.low, 1.0, max(bar.high - bar.low, 1e-9))
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect.adjusted(
            -0.1, -abs(self._rect.height()) * 0.05, 0.1, abs(self._rect.height()) * 0.05
        )

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        bar = self._bar
        if bar is None:
            return
        up = bar.close >= bar.open
        base = self._theme.up if up else self._theme.down
        t = p.transform()
        hw = _CandlesItem.BODY_HALF_WIDTH
        if self._volume:
            body = t.mapRect(QtCore.QRectF(self._x - hw, 0.0, 2 * hw, bar.volume))
            wick = None
        else:
            lo, hi = min(bar.open, bar.close), max(bar.open, bar.close)
            body = t.mapRect(QtCore.QRectF(self._x - hw, lo, 2 * hw, hi - lo))
            wick = (t.map(QtCore.QPointF(self._x, bar.low)), t.map(QtCore.QPointF(self._x, bar.high)))
        p.save()
        p.resetTransform()
        body = QtCore.QRectF(
            round(body.left()),
            round(body.top()),
            max(3.0, round(body.width())),
            max(1.0, round(body.height())),
        )
        if wick is not None:
            xw = body.center().x()
            p.setPen(_cosmetic_pen(_color(base, 200)))
            p.drawLine(QtCore.QLineF(xw, wick[0].y(), xw, body.bottom()))
            p.drawLine(QtCore.QLineF(xw, body.top(), xw, wick[1].y()))
        p.setBrush(QtGui.QBrush(_color(base, 55)))
        p.setPen(_cosmetic_pen(_color(base), QtCore.Qt.PenStyle.DashLine))
        p.drawRect(body)
        p.restore()


class _MarkersItem(pg.GraphicsObject):
    """Buy (up, green, tip at the price) and sell (down, red) triangles of fixed pixel size."""

    SIZE = 11.0

    def __init__(self, theme: ChartTheme):
        super().__init__()
        self._fill = (_color(theme.buy_marker), _color(theme.sell_marker))
        self._outline = QtGui.QPen(_color(theme.background))
        self._outline.setCosmetic(True)
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._buy = np.zeros(0, dtype=bool)
        self._rect = QtCore.QRectF()

    def set_markers(self, x: np.ndarray, y: np.ndarray, buy: np.ndarray) -> None:
        """Replace the markers (x sorted ascending)."""
        self._x, self._y, self._buy = x, y, buy
        self._update_rect()

    def _update_rect(self) -> None:
        self.prepareGeometryChange()
        if len(self._x) == 0:
            self._rect = QtCore.QRectF()
        else:
            vb = self.getViewBox()
            ph = 1.0
            if vb is not None and vb.height() > 0:
                (_, _), (y0, y1) = vb.viewRange()
                ph = abs(y1 - y0) / vb.height()
            pad = (self.SIZE + 4) * ph
            lo, hi = float(self._y.min()) - pad, float(self._y.max()) + pad
            self._rect = QtCore.QRectF(
                float(self._x.min()) - 2, lo, float(self._x.max() - self._x.min()) + 4, hi - lo
            )
        self.update()

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        if len(self._x):
            self._update_rect()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        vb = self.getViewBox()
        if len(self._x) == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        a = (
            bisect.bisect_left(self._x.tolist(), x0 - 1)
            if len(self._x) < 64
            else int(np.searchsorted(self._x, x0 - 1))
        )
        b = int(np.searchsorted(self._x, x1 + 1, side="right"))
        if b <= a:
            return
        t = p.transform()
        s = self.SIZE
        p.save()
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._outline)
        for i in range(a, b):
            pt = t.map(QtCore.QPointF(float(self._x[i]), float(self._y[i])))
            cx, cy = pt.x(), pt.y()
            if self._buy[i]:
                tri = QtGui.QPolygonF(
                    [
                        QtCore.QPointF(cx, cy + 1),
                        QtCore.QPointF(cx - s / 2, cy + s),
                        QtCore.QPointF(cx + s / 2, cy + s),
                    ]
                )
                p.setBrush(self._fill[0])
            else:
                tri = QtGui.QPolygonF(
                    [
                        QtCore.QPointF(cx, cy - 1),
                        QtCore.QPointF(cx - s / 2, cy - s),
                        QtCore.QPointF(cx + s / 2, cy - s),
                    ]
                )
                p.setBrush(self._fill[1])
            p.drawPolygon(tri)
        p.restore()


# ----------------------------------------------------------------------------------------------
# items in pane pixel coordinates (children of a ViewBox, not of its view group)
# ----------------------------------------------------------------------------------------------


class _GridItem(QtWidgets.QGraphicsItem):
    """Subtle grid at the axes' tick positions, horizontal levels and a pane separator line."""

    def __init__(
        self,
        vb: pg.ViewBox,
        theme: ChartTheme,
        x_ticks: Callable[[], list[float]],
        y_ticks: Callable[[], list[float]],
    ):
        super().__init__(vb)
        self._vb = vb
        self._x_ticks = x_ticks
        self._y_ticks = y_ticks
        self._pen = _cosmetic_pen(_color(theme.grid))
        self._sep_pen = _cosmetic_pen(_color(theme.separator))
        self._level_pen = _cosmetic_pen(_color(theme.text_dim, 140), QtCore.Qt.PenStyle.DashLine)
        self._band_brush = QtGui.QBrush(_color("#7e57c2", 22))
        self.levels: tuple[float, ...] = ()
        self.band: tuple[float, float] | None = None
        self.separator = False
        self._last_price: float | None = None
        self._last_pen = _cosmetic_pen(_color(theme.up), QtCore.Qt.PenStyle.DotLine)
        self.setZValue(-1e5)
        self._rect = QtCore.QRectF(vb.rect())
        vb.sigResized.connect(self._resized)

    def _resized(self, *_args) -> None:
        self.prepareGeometryChange()
        self._rect = QtCore.QRectF(self._vb.rect())

    def set_last_price(self, value: float | None, color: QtGui.QColor | None = None) -> None:
        """Dotted horizontal line at the last price (None hides it)."""
        if color is not None and color != self._last_pen.color():
            self._last_pen.setColor(color)
        elif value == self._last_price:
            return
        self._last_price = value
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        r = self._rect
        (x0, x1), (y0, y1) = self._vb.viewRange()
        if x1 <= x0 or y1 <= y0:
            return
        sx = r.width() / (x1 - x0)
        sy = r.height() / (y1 - y0)
        if self.band is not None:
            top = r.bottom() - (self.band[1] - y0) * sy
            bot = r.bottom() - (self.band[0] - y0) * sy
            p.fillRect(QtCore.QRectF(r.left(), top, r.width(), bot - top), self._band_brush)
        p.setPen(self._pen)
        lines = [
            QtCore.QLineF(xp, r.top(), xp, r.bottom())
            for xp in ((x - x0) * sx + r.left() for x in self._x_ticks())
        ]
        lines += [
            QtCore.QLineF(r.left(), yp, r.right(), yp)
            for yp in (r.bottom() - (y - y0) * sy for y in self._y_ticks())
        ]
        if lines:
            p.drawLines(lines)
        if self.levels:
            p.setPen(self._level_pen)
            p.drawLines(
                [
                    QtCore.QLineF(r.left(), yp, r.right(), yp)
                    for yp in (r.bottom() - (y - y0) * sy for y in self.levels)
                ]
            )
        if self._last_price is not None:
            yp = round(r.bottom() - (self._last_price - y0) * sy) + 0.5
            p.setPen(self._last_pen)
            p.drawLine(QtCore.QLineF(r.left(), yp, r.right(), yp))
        if self.separator:
            p.setPen(self._sep_pen)
            p.drawLine(QtCore.QLineF(r.left(), r.top(), r.right(), r.top()))


class _CrossLine(QtWidgets.QGraphicsItem):
    """One dashed crosshair line (vertical or horizontal) across a pane, with a thin bounding rect."""

    def __init__(self, vb: pg.ViewBox, pen: QtGui.QPen, vertical: bool):
        super().__init__(vb)
        self._vb = vb
        self._pen = pen
        self._vertical = vertical
        self.setZValue(1e5)
        self.hide()

    def boundingRect(self) -> QtCore.QRectF:
        r = self._vb.rect()
        if self._vertical:
            return QtCore.QRectF(-1.0, 0.0, 2.0, r.height())
        return QtCore.QRectF(0.0, -1.0, r.width(), 2.0)

    def place(self, pixel: float) -> None:
        """Move the line to a pane pixel coordinate."""
        if self._vertical:
            self.setPos(round(pixel) + 0.5, 0.0)
        else:
            self.setPos(0.0, round(pixel) + 0.5)
        if not self.isVisible():
            self.show()

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        r = self._vb.rect()
        p.setPen(self._pen)
        if self._vertical:
            p.drawLine(QtCore.QLineF(0.0, 0.0, 0.0, r.height()))
        else:
            p.drawLine(QtCore.QLineF(0.0, 0.0, r.width(), 0.0))


class _StaticTexts:
    """Bounded cache of prepared QStaticText per string (text layout is the costly part of drawText)."""

    def __init__(self, font: QtGui.QFont, limit: int = 2048):
        self._font = font
        self._limit = limit
        self._texts: dict[str, QtGui.QStaticText] = {}

    def get(self, s: str) -> QtGui.QStaticText:
        st = self._texts.get(s)
        if st is None:
            if len(self._texts) >= self._limit:
                self._texts.clear()
            st = QtGui.QStaticText(s)
            st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            st.prepare(QtGui.QTransform(), self._font)
            self._texts[s] = st
        return st


class _TextBlock(QtWidgets.QGraphicsItem):
    """Lines of coloured text runs at a pane's top-left (title, OHLCV read-out, overlay values)."""

    def __init__(self, vb: pg.ViewBox, theme: ChartTheme):
        super().__init__(vb)
        font = QtGui.QFont()
        font.setPixelSize(theme.font_px + 1)
        title_font = QtGui.QFont(font)
        title_font.setPixelSize(theme.title_font_px)
        title_font.setBold(True)
        self._fonts = (font, title_font)
        self._metrics = (QtGui.QFontMetricsF(font), QtGui.QFontMetricsF(title_font))
        self._texts = (_StaticTexts(font), _StaticTexts(title_font))
        self._widths: tuple[dict[str, float], dict[str, float]] = ({}, {})
        self._bg = QtGui.QBrush(_color(theme.background, 170))
        self._lines: list[tuple[bool, list[tuple[str, QtGui.QColor]]]] = []
        self._layout: list[tuple[int, float, float, list[tuple[float, str, QtGui.QColor]]]] = []
        self._rect = QtCore.QRectF()
        self.setPos(8.0, 6.0)
        self.setZValue(2e5)

    def _width(self, kind: int, s: str) -> float:
        cache = self._widths[kind]
        w = cache.get(s)
        if w is None:
            if len(cache) > 4096:
                cache.clear()
            w = cache[s] = self._metrics[kind].horizontalAdvance(s)
        return w

    def set_lines(self, lines: list[tuple[bool, list[tuple[str, QtGui.QColor]]]]) -> None:
        """Replace the text: each line is (is_title, [(text, colour), ...])."""
        if lines == self._lines:
            return
        self._lines = lines
        layout = []
        width = 0.0
        y = 0.0
        for is_title, runs in lines:
            kind = 1 if is_title else 0
            x = 0.0
            placed = []
            for text, color in runs:
                placed.append((x, text, color))
                x += self._width(kind, text)
            layout.append((kind, y, x, placed))
            width = max(width, x)
            y += self._metrics[kind].height() + 2
        self._layout = layout
        rect = QtCore.QRectF(-3.0, -2.0, width + 6, y + 4)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def plain_text(self) -> str:
        """The text as plain lines (for tests and accessibility)."""
        return "\n".join("".join(t for t, _ in runs) for _, runs in self._lines)

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        for kind, y, line_w, placed in self._layout:
            h = self._metrics[kind].height()
            p.fillRect(QtCore.QRectF(-3.0, y - 1, line_w + 6, h + 2), self._bg)
            p.setFont(self._fonts[kind])
            texts = self._texts[kind]
            for x, text, color in placed:
                p.setPen(color)
                p.drawStaticText(QtCore.QPointF(x, y), texts.get(text))


# ----------------------------------------------------------------------------------------------
# axes
# ----------------------------------------------------------------------------------------------


class _LeanAxis(pg.AxisItem):
    """AxisItem painting one tick level directly, with cached text layouts and value badges.

    pyqtgraph's default axis re-measures every label with QPainter.boundingRect, rebuilds a QPicture
    and updates its label HTML on every range change, which costs milliseconds per frame.
    """

    TICK = 4
    GAP = 4

    def __init__(self, orientation: str, theme: ChartTheme):
        super().__init__(orientation, pen=_cosmetic_pen(_color(theme.axis_line)), textPen=_color(theme.text))
        self._theme = theme
        font = QtGui.QFont()
        font.setPixelSize(theme.font_px)
        self._font = font
        self._fm = QtGui.QFontMetricsF(font)
        self._widths: dict[str, float] = {}
        self._texts = _StaticTexts(font)
        self.enableAutoSIPrefix(False)
        self.setStyle(
            tickFont=font, tickLength=self.TICK, autoExpandTextSpace=False, hideOverlappingLabels=True
        )
        self._line_pen = _cosmetic_pen(_color(theme.axis_line))
        self._text_color = _color(theme.text)
        self._badges: dict[str, tuple[float, str, QtGui.QColor, QtGui.QColor]] = {}
        self.separator = False
        self._sep_pen = _cosmetic_pen(_color(theme.separator))
        self._bounds = QtCore.QRectF()
        self.geometryChanged.connect(self._geometry_changed)

    def _geometry_changed(self) -> None:
        self._bounds = self.mapRectFromParent(self.geometry())

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def linkedViewChanged(self, view, newRange=None) -> None:
        if newRange is None:
            newRange = view.viewRange()[1 if self.orientation in ("left", "right") else 0]
        if list(newRange) != self.range:
            self.range = [float(newRange[0]), float(newRange[1])]
            self.update()

    def setRange(self, mn: float, mx: float) -> None:
        self.range = [float(mn), float(mx)]
        self.update()

    def text_width(self, s: str) -> float:
        """Pixel width of a label (cached)."""
        w = self._widths.get(s)
        if w is None:
            if len(self._widths) > 4096:
                self._widths.clear()
            w = self._widths[s] = self._fm.horizontalAdvance(s)
        return w

    def invalidate(self) -> None:
        """Repaint ticks and labels."""
        self.update()

    def set_badge(
        self,
        name: str,
        value: float | None,
        text: str = "",
        bg: QtGui.QColor | None = None,
        fg: QtGui.QColor | None = None,
    ) -> None:
        """Show (or remove with None) a filled label at ``value`` on the axis."""
        if value is None:
            if self._badges.pop(name, None) is not None:
                self.update()
            return
        badge = (value, text, bg or _color(self._theme.badge), fg or QtGui.QColor("#ffffff"))
        if self._badges.get(name) != badge:
            self._badges[name] = badge
            self.update()

    def badge_text(self, name: str) -> str | None:
        """Text of a badge, or None."""
        b = self._badges.get(name)
        return None if b is None else b[1]

    def ticks_and_labels(self, length_px: float) -> tuple[list[float], list[str]]:
        raise NotImplementedError

    def _to_pixel(self, bounds: QtCore.QRectF, v: float) -> float:
        lo, hi = self.range
        span = hi - lo if hi != lo else 1.0
        if self.orientation in ("left", "right"):
            return bounds.bottom() - (v - lo) / span * bounds.height()
        return bounds.left() + (v - lo) / span * bounds.width()

    def paint(self, p: QtGui.QPainter, opt, widget=None) -> None:
        bounds = self._bounds
        vertical = self.orientation in ("left", "right")
        length = bounds.height() if vertical else bounds.width()
        if length <= 0:
            return
        values, labels = self.ticks_and_labels(length)
        h = self._fm.height()
        hb = h + 4
        covered = [self._to_pixel(bounds, b[0]) for b in self._badges.values()]
        ticks: list[QtCore.QLineF] = []
        p.setFont(self._font)
        p.setPen(self._text_color)
        if vertical:
            ticks.append(
                QtCore.QLineF(bounds.left() + 0.5, bounds.top(), bounds.left() + 0.5, bounds.bottom())
            )
            x_text = bounds.left() + self.TICK + self.GAP
            for v, s in zip(values, labels, strict=True):
                y = self._to_pixel(bounds, v)
                if y < bounds.top() - 0.5 or y > bounds.bottom() + 0.5:
                    continue
                ticks.append(QtCore.QLineF(bounds.left(), y, bounds.left() + self.TICK, y))
                if any(abs(y - c) < (h + hb) / 2 for c in covered):
                    continue
                if y - h / 2 >= bounds.top() and y + h / 2 <= bounds.bottom():
                    p.drawStaticText(QtCore.QPointF(x_text, y - h / 2), self._texts.get(s))
        else:
            ticks.append(QtCore.QLineF(bounds.left(), bounds.top() + 0.5, bounds.right(), bounds.top() + 0.5))
            last_end = -math.inf
            y_text = bounds.top() + self.TICK + self.GAP - 1
            for v, s in zip(values, labels, strict=True):
                x = self._to_pixel(bounds, v)
                if x < bounds.left() - 0.5 or x > bounds.right() + 0.5:
                    continue
                ticks.append(QtCore.QLineF(x, bounds.top(), x, bounds.top() + self.TICK))
                w = self.text_width(s)
                left = x - w / 2
                if left < bounds.left() + 1 or left + w > bounds.right() - 1 or left < last_end + 8:
                    continue
                last_end = left + w
                p.drawStaticText(QtCore.QPointF(left, y_text), self._texts.get(s))
        p.setPen(self._line_pen)
        p.drawLines(ticks)
        if self.separator:
            p.setPen(self._sep_pen)
            p.drawLine(QtCore.QLineF(bounds.left(), bounds.top() + 0.5, bounds.right(), bounds.top() + 0.5))
        if not self._badges:
            return
        for value, text, bg, fg in self._badges.values():
            pos = self._to_pixel(bounds, value)
            w = self.text_width(text) + 10
            if vertical:
                if pos < bounds.top() - hb / 2 or pos > bounds.bottom() + hb / 2:
                    continue
                top = min(max(pos - hb / 2, bounds.top()), bounds.bottom() - hb)
                rect = QtCore.QRectF(bounds.left() + 1, top, bounds.width() - 1, hb)
            else:
                if pos < bounds.left() or pos > bounds.right():
                    continue
                left = min(max(pos - w / 2, bounds.left()), bounds.right() - w)
                rect = QtCore.QRectF(left, bounds.top() + 1, w, hb)
            p.fillRect(rect, bg)
            p.setPen(fg)
            tw = self.text_width(text)
            p.drawStaticText(
                QtCore.QPointF(rect.center().x() - tw / 2, rect.center().y() - h / 2), self._texts.get(text)
            )


class ValueAxisItem(_LeanAxis):
    """Right-hand value axis with 'nice' steps; prices in fixed decimals or volumes as K/M."""

    def __init__(self, theme: ChartTheme, kind: str = "price", min_spacing_px: float = 46.0):
        super().__init__("right", theme)
        self.kind = kind
        self.decimals = 2
        self.fixed_ticks: tuple[float, ...] | None = None
        self._min_spacing_px = min_spacing_px
        self._memo_key: tuple | None = None
        self._memo: tuple[list[float], list[str]] = ([], [])

    def tick_values_now(self) -> list[float]:
        """Tick values for the current range and height (used by the grid)."""
        return self.ticks_and_labels(self.mapRectFromParent(self.geometry()).height())[0]

    def ticks_and_labels(self, length_px: float) -> tuple[list[float], list[str]]:
        lo, hi = self.range
        key = (lo, hi, length_px, self.decimals, self.kind, self.fixed_ticks)
        if key == self._memo_key:
            return self._memo
        values: list[float] = []
        step = 1.0
        if self.fixed_ticks is not None:
            values = [v for v in self.fixed_ticks if lo <= v <= hi]
        elif hi > lo and length_px > 0:
            step = _nice_step((hi - lo) * self._min_spacing_px / length_px)
            first = math.ceil(lo / step - 1e-9)
            last = math.floor(hi / step + 1e-9)
            values = [i * step for i in range(first, last + 1)][:200]
            if self.kind == "volume":
                values = [v for v in values if v > 0]
        self._memo = (values, [self.format_value(v, step) for v in values])
        self._memo_key = key
        return self._memo

    def format_value(self, v: float, step: float | None = None) -> str:
        """Label text of a value on this axis."""
        if self.kind == "volume":
            return _fmt_volume(v)
        if self.kind == "price":
            return f"{v:.{self.decimals}f}"
        return f"{v:.{2 if step is None else _step_decimals(step)}f}"

    def tickStrings(self, values, scale, spacing):
        return [self.format_value(v, spacing) for v in values]

    def tickValues(self, minVal, maxVal, size):
        values, _ = self.ticks_and_labels(size)
        return [(0.0, values)]


class TimeAxisItem(_LeanAxis):
    """Bottom axis over bar indices labelled with exchange-zone times ('09:45') and dates ('Nov 29').

    Label density adapts to the zoom: minute steps of 1..720 are chosen so that labels stay at least
    ``min_label_px`` apart; day, month and year changes take priority over times of day.
    """

    def __init__(
        self, theme: ChartTheme, times: Callable[[], tuple[np.ndarray, int]], min_label_px: float = 78.0
    ):
        super().__init__("bottom", theme)
        self._times = times
        self.min_label_px = min_label_px
        self.bar_minutes = 1.0
        self._memo_key: tuple | None = None
        self._memo: tuple[list[float], list[str]] = ([], [])
        self._labels: dict[int, str] = {}
        self.setHeight(int(self._fm.height() + self.TICK + 2 * self.GAP + 2))

    def reset_cache(self) -> None:
        """Forget memoised ticks (bars replaced or appended)."""
        self._memo_key = None
        self.invalidate()

    def tick_values_now(self) -> list[float]:
        """Tick positions (bar indices) for the current range and width."""
        return self.ticks_and_labels(self.mapRectFromParent(self.geometry()).width())[0]

    def label_for_index(self, index: int) -> str:
        """Time-of-day label of a bar index ('' when out of range)."""
        local, n = self._times()
        if 0 <= index < n:
            return _fmt_time_hm(int(local[index]))
        return ""

    def tickValues(self, minVal, maxVal, size):
        values, _ = self._compute(minVal, maxVal, size)
        return [(1.0, values)]

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            i = int(round(v))
            s = self._labels.get(i)
            out.append(s if s is not None else self.label_for_index(i))
        return out

    def ticks_and_labels(self, length_px: float) -> tuple[list[float], list[str]]:
        lo, hi = self.range
        return self._compute(lo, hi, length_px)

    @staticmethod
    def _tick_label(local_ns: int, kind: int, daily: bool) -> str:
        """'09:45' inside a day; 'Nov 29' at a day change; 'Dec' / '2025' at month / year changes when zoomed out."""
        if kind == 0:
            return _fmt_time_hm(local_ns)
        if daily and kind == 3:
            return str(_local_parts(local_ns).year)
        if daily and kind == 2:
            return _MONTHS[_local_parts(local_ns).month - 1]
        return _fmt_date_md(local_ns)

    def _compute(self, lo: float, hi: float, length_px: float) -> tuple[list[float], list[str]]:
        local, n = self._times()
        key = (lo, hi, length_px, n, int(local[n - 1]) if n else 0)
        if key == self._memo_key:
            return self._memo
        self._memo_key = key
        self._memo = ([], [])
        self._labels: dict[int, str] = {}
        if n == 0 or hi <= lo or length_px <= 0:
            return self._memo
        i0 = max(0, int(math.ceil(lo)))
        i1 = min(n - 1, int(math.floor(hi)))
        if i1 < i0:
            return self._memo
        px_per_bar = length_px / (hi - lo)
        min_gap = self.min_label_px / px_per_bar
        seg = local[max(0, i0 - 1) : i1 + 1]
        offset = max(0, i0 - 1)
        minutes = seg // _NS_PER_MINUTE
        days = seg // _NS_PER_DAY
        first_is_new = i0 == 0
        day_change = np.flatnonzero(days[1:] != days[:-1]) + 1 + offset
        if first_is_new:
            day_change = np.concatenate([[0], day_change])
        target = min_gap * self.bar_minutes
        step = next((s for s in _MINUTE_STEPS if s >= target), None)
        # priority of each day change: 3 new year, 2 new month, 1 new day
        months = local[day_change].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        prev_idx = np.maximum(day_change - 1, 0)
        prev_months = local[prev_idx].astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
        new_year = (months // 12 != prev_months // 12) | (day_change == 0)
        new_month = months != prev_months
        priority = np.where(new_year, 3, np.where(new_month, 2, 1))
        candidates: list[tuple[int, int]] = list(zip((-priority).tolist(), day_change.tolist(), strict=True))
        kinds = dict(zip(day_change.tolist(), priority.tolist(), strict=True))
        if step is not None:
            buckets = minutes // step
            changes = np.flatnonzero(buckets[1:] != buckets[:-1]) + 1 + offset
            if len(changes) > 4 * length_px:
                changes = changes[:: max(1, len(changes) // int(4 * length_px))]
            candidates += [(0, i) for i in changes.tolist() if i not in kinds]
        candidates.sort()
        kept: list[int] = []
        for _, i in candidates:
            j = bisect.bisect_left(kept, i)
            if j > 0 and i - kept[j - 1] < min_gap:
                continue
            if j < len(kept) and kept[j] - i < min_gap:
                continue
            kept.insert(j, i)
            if len(kept) > 400:
                break
        labels = [self._tick_label(int(local[i]), kinds.get(i, 0), step is None) for i in kept]
        self._labels = dict(zip(kept, labels, strict=True))
        self._memo = ([float(i) for i in kept], labels)
        return self._memo


# ----------------------------------------------------------------------------------------------
# the widget
# ----------------------------------------------------------------------------------------------


class _Pane:
    """One stacked plot area: a ViewBox with its right axis, grid and crosshair lines."""

    def __init__(self, name: str, theme: ChartTheme, axis_kind: str, x_ticks: Callable[[], list[float]]):
        self.name = name
        self.vb = pg.ViewBox(enableMenu=False, defaultPadding=0.0)
        self.vb.enableAutoRange(False)
        self.vb.setMouseEnabled(x=True, y=False)
        self.vb.setMinimumHeight(24)
        self.axis = ValueAxisItem(theme, axis_kind, min_spacing_px=46.0 if axis_kind == "price" else 26.0)
        self.axis.linkToView(self.vb)
        self.grid = _GridItem(self.vb, theme, x_ticks, self.axis.tick_values_now)
        pen = _cosmetic_pen(_color(theme.crosshair), QtCore.Qt.PenStyle.DashLine)
        self.cross_v = _CrossLine(self.vb, pen, vertical=True)
        self.cross_h = _CrossLine(self.vb, pen, vertical=False)
        self.text: _TextBlock | None = None


class CandleChart(QtWidgets.QWidget):
    """Candles, volume and optional oscillator panes with linked x axes; fed by the main window.

    Timestamps are int64 ns UTC bar STARTS. The x coordinate of completed bar ``i`` is ``i``; the
    forming bar, when set, sits at ``bar_count``.
    """

    following_changed = QtCore.Signal(bool)

    CHUNK_SIZE = 512
    DECIMATE_ABOVE = 3000
    DEFAULT_VISIBLE_BARS = 120
    RIGHT_MARGIN_BARS = 4
    Y_FIT_INTERVAL_MS = 30

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        tz: str = "America/New_York",
        theme: ChartTheme | None = None,
    ):
        super().__init__(parent)
        self.theme = theme or ChartTheme()
        self.tz = tz
        self._offsets = _UtcOffsets(ZoneInfo(tz))
        self._store = _BarStore(self._offsets)
        self._forming: _FormingBar | None = None
        self._symbol = ""
        self._interval = ""
        self._following = True
        self._follow_width = float(self.DEFAULT_VISIBLE_BARS)
        self._overlays: dict[str, _Overlay] = {}
        self._overlay_pending_from: int | None = None
        self._marker_ts: list[int] = []
        self._marker_price: list[float] = []
        self._marker_buy: list[bool] = []
        self._hover: tuple[float, float, str] | None = None
        self._day_start = 0
        self._prev_day_close = math.nan
        self._tick_local = np.zeros(0, dtype=np.int64)
        self._in_refresh = False
        self._yfit_pending = False
        self._appended_from: int | None = None

        self._build_view()

        self._refresh_timer = QtCore.QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self._yfit_timer = QtCore.QTimer(self)
        self._yfit_timer.setSingleShot(True)
        self._yfit_timer.setInterval(self.Y_FIT_INTERVAL_MS)
        self._yfit_timer.timeout.connect(self._yfit_timeout)
        self._update_texts()
        self._apply_follow()

    # construction -----------------------------------------------------------------------------
    def _build_view(self) -> None:
        t = self.theme
        self._view = pg.GraphicsLayoutWidget()
        self._view.setBackground(t.background)
        self._view.scene().setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        self._view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self._layout = self._view.ci
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.layout.setSpacing(0)

        self.time_axis = TimeAxisItem(t, self._times_for_axis)
        x_ticks = self.time_axis.tick_values_now
        self.price = _Pane("price", t, "price", x_ticks)
        self.volume = _Pane("volume", t, "volume", x_ticks)
        self.volume.grid.separator = True
        self._sub_panes: list[_Pane] = []
        self.time_axis.linkToView(self.price.vb)
        self.volume.vb.setXLink(self.price.vb)
        fm = QtGui.QFontMetricsF(self.price.axis._font)
        self._axis_width = int(fm.horizontalAdvance("000000.00") + _LeanAxis.TICK + 2 * _LeanAxis.GAP + 6)

        st = self._store
        self.candles = _CandlesItem(st, t, self.CHUNK_SIZE, self.DECIMATE_ABOVE)
        self.price.vb.addItem(self.candles)
        self.volume_bars = _ColumnsItem(
            values=lambda: self._store.volume,
            ups=lambda a, b: self._store.close[a:b] >= self._store.open[a:b],
            count=lambda: self._store.n,
            colors=(_color(t.up, t.volume_alpha), _color(t.down, t.volume_alpha)),
            chunk_size=self.CHUNK_SIZE,
            decimate_above=self.DECIMATE_ABOVE,
        )
        self.volume.vb.addItem(self.volume_bars)
        self._forming_item = _FormingItem(t, volume=False)
        self._forming_volume_item = _FormingItem(t, volume=True)
        self.price.vb.addItem(self._forming_item)
        self.volume.vb.addItem(self._forming_volume_item)
        self._markers_item = _MarkersItem(t)
        self._markers_item.setZValue(50)
        self.price.vb.addItem(self._markers_item)
        self.price.text = _TextBlock(self.price.vb, t)
        self._relayout()

        self.price.vb.sigXRangeChanged.connect(self._on_x_range_changed)
        self._view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.price.vb.sigResized.connect(self._place_live_button)
        for pane in (self.price, self.volume):
            pane.vb.sigRangeChangedManually.connect(self._on_user_range_change)

        self._live_button = QtWidgets.QToolButton(self)
        self._live_button.setText("Jump to live \u25b6")
        self._live_button.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self._live_button.setStyleSheet(
            f"QToolButton {{ background: {t.badge}; color: {t.text_bright}; border: 1px solid {t.separator};"
            f" border-radius: 4px; padding: 3px 9px; font-size: {t.font_px + 1}px; }}"
            f" QToolButton:hover {{ background: #434651; }}"
        )
        self._live_button.clicked.connect(self.jump_to_live)
        self._live_button.hide()

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._view)
        self._view.viewport().installEventFilter(self)

    def _relayout(self) -> None:
        """Place the panes top to bottom with the time axis under the last one."""
        lay = self._layout
        for item in list(lay.items):
            lay.removeItem(item)
        panes = [self.price, self.volume, *self._sub_panes]
        grid = lay.layout
        for row in range(grid.rowCount()):
            grid.setRowStretchFactor(row, 0)
        stretch = {"price": 60, "volume": 15}
        for row, pane in enumerate(panes):
            lay.addItem(pane.vb, row=row, col=0)
            lay.addItem(pane.axis, row=row, col=1)
            pane.axis.setWidth(self._axis_width)
            grid.setRowStretchFactor(row, stretch.get(pane.name, 22))
            pane.grid.separator = row > 0
            pane.axis.separator = row > 0
        lay.addItem(self.time_axis, row=len(panes), col=0)
        grid.setRowStretchFactor(len(panes), 0)
        self._place_live_button()

    # data API ---------------------------------------------------------------------------------
    @property
    def bar_count(self) -> int:
        """Number of completed bars."""
        return self._store.n

    @property
    def capacity(self) -> int:
        """Allocated bar slots (doubles when full)."""
        return self._store.capacity

    def bar_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Views (ts, open, high, low, close, volume) of the completed bars; do not modify."""
        s, n = self._store, self._store.n
        return s.ts[:n], s.open[:n], s.high[:n], s.low[:n], s.close[:n], s.volume[:n]

    def set_bars(self, ts, o, h, low, c, v) -> None:
        """Replace every bar with the given arrays (ts int64 ns UTC bar starts, ascending)."""
        arrays = {"ts": ts, "open": o, "high": h, "low": low, "close": c, "volume": v}
        n = len(ts)
        for name, arr in arrays.items():
            if len(arr) != n:
                raise ValueError(f"set_bars: {name} has {len(arr)} values but ts has {n}")
        ts_arr = np.asarray(ts, dtype=np.int64)
        if n > 1 and np.any(np.diff(ts_arr) <= 0):
            bad = int(np.flatnonzero(np.diff(ts_arr) <= 0)[0]) + 1
            raise ValueError(
                f"set_bars: ts must be strictly ascending; ts[{bad}]={ts_arr[bad]} <= ts[{bad - 1}]"
            )
        self._store.replace(
            ts_arr,
            np.asarray(o, dtype=np.float64),
            np.asarray(h, dtype=np.float64),
            np.asarray(low, dtype=np.float64),
            np.asarray(c, dtype=np.float64),
            np.asarray(v, dtype=np.float64),
        )
        if self._forming is not None and n and self._forming.ts <= int(ts_arr[-1]):
            self._forming = None
        self._after_replace()

    def append_bar(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Append one completed bar (ts int64 ns UTC bar start, after the last bar)."""
        st = self._store
        ts = int(ts)
        if st.n and ts <= int(st.ts[st.n - 1]):
            raise ValueError(f"append_bar: ts {ts} is not after the last bar ts {int(st.ts[st.n - 1])}")
        st.append(ts, float(o), float(h), float(low), float(c), float(v))
        i = st.n - 1
        if i > 0 and st.local_ns[i] // _NS_PER_DAY != st.local_ns[i - 1] // _NS_PER_DAY:
            self._prev_day_close = float(st.close[i - 1])
            self._day_start = i
        if self._forming is not None and self._forming.ts <= ts:
            self._forming = None
        if self._overlays:
            for ov in self._overlays.values():
                self._ensure_capacity(ov)
                for key in ov.keys:
                    ov.series[key][i] = np.nan
            self._overlay_pending_from = (
                i if self._overlay_pending_from is None else self._overlay_pending_from
            )
        if self._appended_from is None:
            self._appended_from = i
        if i == 0 or i % 64 == 0:
            self._update_bar_minutes()
        self._request_refresh()

    def set_forming(self, ts: int, o: float, h: float, low: float, c: float, v: float) -> None:
        """Show the partial bar of a derived interval right after the last completed bar."""
        ts = int(ts)
        self._forming = _FormingBar(
            ts, ts + self._offsets.offset_ns(ts), float(o), float(h), float(low), float(c), float(v)
        )
        self._request_refresh()

    def clear_forming(self) -> None:
        """Remove the forming bar."""
        if self._forming is not None:
            self._forming = None
            self._request_refresh()

    @property
    def forming(self) -> tuple[int, float, float, float, float, float] | None:
        """The forming bar as (ts, open, high, low, close, volume), or None."""
        f = self._forming
        return None if f is None else (f.ts, f.open, f.high, f.low, f.close, f.volume)

    def clear(self) -> None:
        """Drop bars, forming bar and markers; keep overlays and title; resume following."""
        self._store.clear()
        self._forming = None
        self._marker_ts.clear()
        self._marker_price.clear()
        self._marker_buy.clear()
        self._after_replace()
        self.jump_to_live()

    def index_at(self, ts: int) -> int:
        """Index of the bar whose start is the greatest <= ts (-1 before the first bar; the forming
        bar's index ``bar_count`` when ts is at or after its start)."""
        st = self._store
        ts = int(ts)
        if self._forming is not None and ts >= self._forming.ts:
            return st.n
        return int(np.searchsorted(st.ts[: st.n], ts, side="right")) - 1

    # markers ----------------------------------------------------------------------------------
    def add_marker(self, ts: int, price: float, side: str) -> None:
        """Mark a fill: side 'buy' (green triangle up, tip at price) or 'sell' (red, down)."""
        if side not in ("buy", "sell"):
            raise ValueError(f"add_marker: side must be 'buy' or 'sell', got {side!r}")
        self._marker_ts.append(int(ts))
        self._marker_price.append(float(price))
        self._marker_buy.append(side == "buy")
        self._update_markers()

    def clear_markers(self) -> None:
        """Remove every marker."""
        self._marker_ts.clear()
        self._marker_price.clear()
        self._marker_buy.clear()
        self._update_markers()

    def marker_positions(self) -> list[tuple[int, float, str]]:
        """(bar index, price, side) of each drawable marker, in x order."""
        x, y, buy = self._markers_item._x, self._markers_item._y, self._markers_item._buy
        return [(int(a), float(b), "buy" if c else "sell") for a, b, c in zip(x, y, buy, strict=True)]

    def _update_markers(self) -> None:
        if not self._marker_ts:
            self._markers_item.set_markers(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
            return
        ts = np.asarray(self._marker_ts, dtype=np.int64)
        st = self._store
        idx = np.searchsorted(st.ts[: st.n], ts, side="right") - 1
        if self._forming is not None:
            idx = np.where(ts >= self._forming.ts, st.n, idx)
        keep = idx >= 0
        order = np.argsort(idx[keep], kind="stable")
        self._markers_item.set_markers(
            idx[keep][order].astype(np.float64),
            np.asarray(self._marker_price, dtype=np.float64)[keep][order],
            np.asarray(self._marker_buy, dtype=bool)[keep][order],
        )

    # overlays ---------------------------------------------------------------------------------
    def overlays(self) -> list[str]:
        """The active overlay specs (normalised), in the order given."""
        return list(self._overlays)

    def set_overlays(self, specs: Sequence[str]) -> None:
        """Choose the indicator overlays: sma(N), ema(N), bb(N,k), vwap on price; rsi(N), macd(a,b,c) below."""
        parsed = [_parse_overlay(s) for s in specs]
        wanted = {norm: (kind, params) for norm, kind, params in parsed}
        for norm in [k for k in self._overlays if k not in wanted]:
            self._remove_overlay(self._overlays.pop(norm))
        color_idx = 0
        new: dict[str, _Overlay] = {}
        for norm, (kind, params) in wanted.items():
            ov = self._overlays.get(norm)
            if ov is None:
                ov = self._create_overlay(norm, kind, params, color_idx)
            new[norm] = ov
            color_idx += 1
        self._overlays = new
        self._sync_sub_panes()
        self._request_refresh()

    def overlay_series(self, spec: str) -> dict[str, np.ndarray]:
        """The stored series of an active overlay (views of length ``bar_count``; NaN before ready)."""
        self._flush_overlays()
        norm = _parse_overlay(spec)[0]
        ov = self._overlays.get(norm)
        if ov is None:
            raise KeyError(f"overlay {spec!r} is not active; active: {list(self._overlays)}")
        n = self._store.n
        return {k: a[:n] for k, a in ov.series.items()}

    @property
    def sub_pane_count(self) -> int:
        """Number of oscillator panes below the volume pane."""
        return len(self._sub_panes)

    def _create_overlay(self, norm: str, kind: str, params: tuple[float, ...], color_idx: int) -> _Overlay:
        t = self.theme
        palette = t.overlay_colors
        base = palette[color_idx % len(palette)]
        if kind == "bb":
            colors = {"middle": _color("#ff9800"), "upper": _color(base), "lower": _color(base)}
            if base == "#ff9800":
                colors["middle"] = _color("#2962ff")
        elif kind == "macd":
            colors = {"macd": _color("#2962ff"), "signal": _color("#ff6d00"), "histogram": _color(t.up)}
        elif kind == "rsi":
            colors = {"value": _color("#7e57c2") if color_idx == 0 else _color(base)}
        else:
            colors = {"value": _color(base)}
        ov = _Overlay(
            spec=norm,
            kind=kind,
            params=params,
            label=_overlay_label(kind, params),
            keys=_OVERLAY_KEYS[kind],
            warmup=_overlay_warmup(kind, params),
            colors=colors,
        )
        cap = self._store.capacity
        ov.series = {k: np.full(cap, np.nan) for k in ov.keys}
        self._compute_full(ov)
        if ov.on_price:
            pane = self.price
        else:
            pane = _Pane(norm, t, "value", self.time_axis.tick_values_now)
            pane.vb.setXLink(self.price.vb)
            pane.vb.sigRangeChangedManually.connect(self._on_user_range_change)
            pane.text = _TextBlock(pane.vb, t)
            if kind == "rsi":
                pane.axis.fixed_ticks = (30.0, 50.0, 70.0)
                pane.grid.levels = (30.0, 70.0)
                pane.grid.band = (30.0, 70.0)
                pane.vb.setYRange(0.0, 100.0, padding=0.0)
            else:
                pane.grid.levels = (0.0,)
        ov.pane = pane
        for key in ov.keys:
            if kind == "macd" and key == "histogram":
                item = _ColumnsItem(
                    values=lambda ov=ov: ov.series["histogram"],
                    ups=lambda a, b, ov=ov: ~(ov.series["histogram"][a:b] < 0),
                    count=lambda: self._store.n,
                    colors=(_color(t.up, 150), _color(t.down, 150)),
                    chunk_size=self.CHUNK_SIZE,
                    decimate_above=self.DECIMATE_ABOVE,
                )
                item.setZValue(-1)
            else:
                pen = _cosmetic_pen(colors[key])
                item = _SeriesLineItem(lambda ov=ov, key=key: ov.series[key], lambda: self._store.n, pen)
                item.setZValue(10)
            pane.vb.addItem(item, ignoreBounds=True)
            ov.items.append(item)
            self._refresh_overlay_item(item)
        return ov

    def _remove_overlay(self, ov: _Overlay) -> None:
        if ov.pane is None:
            return
        for item in ov.items:
            ov.pane.vb.removeItem(item)
        ov.items.clear()

    def _sync_sub_panes(self) -> None:
        panes = [ov.pane for ov in self._overlays.values() if not ov.on_price and ov.pane is not None]
        if panes != self._sub_panes:
            for old in self._sub_panes:
                if old not in panes:
                    self._layout.removeItem(old.vb)
                    self._layout.removeItem(old.axis)
                    old.vb.setXLink(None)
            self._sub_panes = panes
            self._relayout()
            self._fit_y_now()

    def _ensure_capacity(self, ov: _Overlay) -> None:
        cap = self._store.capacity
        for key, arr in ov.series.items():
            if len(arr) < cap:
                grown = np.full(cap, np.nan)
                grown[: len(arr)] = arr
                ov.series[key] = grown

    def _compute_range(self, ov: _Overlay, start: int, stop: int, write_from: int) -> None:
        """Compute ``ov`` on bars [start, stop) and store the values of [write_from, stop).

        VWAP restarts at each exchange day (``session_start``), so ``start`` must be a day start.
        """
        if stop <= start or write_from >= stop:
            return
        s = self._store
        session_start = None
        if ov.kind == "vwap":
            days = s.local_ns[start:stop] // _NS_PER_DAY
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

    def _compute_full(self, ov: _Overlay) -> None:
        self._ensure_capacity(ov)
        for arr in ov.series.values():
            arr[:] = np.nan
        self._compute_range(ov, 0, self._store.n, 0)

    def _flush_overlays(self) -> None:
        """Bring overlay series up to date with appended bars (tail recompute only)."""
        first = self._overlay_pending_from
        if first is None:
            return
        self._overlay_pending_from = None
        n = self._store.n
        for ov in self._overlays.values():
            start = self._day_start_of(first) if ov.kind == "vwap" else max(0, first - ov.warmup)
            self._compute_range(ov, start, n, first)
            for item in ov.items:
                if isinstance(item, _ColumnsItem):
                    item.invalidate_from(first)
                else:
                    self._refresh_overlay_item(item)

    def _day_start_of(self, i: int) -> int:
        """First index of the exchange day of bar i."""
        local = self._store.local_ns
        day = local[i] // _NS_PER_DAY
        lo = max(0, i - 4096)
        while lo > 0 and local[lo] // _NS_PER_DAY == day:
            lo = max(0, lo - 4096)
        seg = local[lo : i + 1] // _NS_PER_DAY
        return lo + int(np.searchsorted(seg, day, side="left"))

    @staticmethod
    def _refresh_overlay_item(item: QtWidgets.QGraphicsItem) -> None:
        if isinstance(item, _SeriesLineItem):
            item.data_changed()
        elif isinstance(item, _ColumnsItem):
            item.invalidate_all()

    # title and read-out -----------------------------------------------------------------------
    def set_title(self, symbol: str, interval: str) -> None:
        """Set the symbol and interval shown at the top-left."""
        self._symbol, self._interval = symbol, interval
        self._update_texts()

    def title_text(self) -> str:
        """The title line as plain text."""
        return self.price.text.plain_text().split("\n")[0] if self.price.text else ""

    def readout_text(self) -> str:
        """Every line of the price pane's read-out (title, OHLCV, overlays) plus the sub-panes'."""
        parts = [self.price.text.plain_text()] if self.price.text else []
        parts += [p.text.plain_text() for p in self._sub_panes if p.text]
        return "\n".join(parts)

    def _price_fmt(self, v: float) -> str:
        if not math.isfinite(v):
            return "-"
        return f"{v:.{self.price.axis.decimals}f}"

    def _update_texts(self) -> None:
        t = self.theme
        st = self._store
        bright, dim, normal = _color(t.text_bright), _color(t.text_dim), _color(t.text)
        up_c, down_c = _color(t.up), _color(t.down)
        title: list[tuple[str, QtGui.QColor]] = []
        name = " \u00b7 ".join(x for x in (self._symbol, self._interval) if x) or "\u2014"
        title.append((name, bright))
        last = (
            self._forming.close
            if self._forming is not None
            else (float(st.close[st.n - 1]) if st.n else math.nan)
        )
        if math.isfinite(last):
            ref = (
                self._prev_day_close
                if math.isfinite(self._prev_day_close)
                else (float(st.open[self._day_start]) if st.n else math.nan)
            )
            title.append(("   " + self._price_fmt(last), bright))
            if math.isfinite(ref) and ref != 0:
                ch = last - ref
                col = up_c if ch >= 0 else down_c
                title.append((f"   {ch:+.{self.price.axis.decimals}f} ({ch / ref * 100:+.2f}%)", col))
            bar_up = (st.close[st.n - 1] >= st.open[st.n - 1]) if st.n else True
            if self._forming is not None:
                bar_up = self._forming.close >= self._forming.open
            col = up_c if bar_up else down_c
            self.price.grid.set_last_price(last, _color(t.up if bar_up else t.down, 170))
            self.price.axis.set_badge("last", last, self._price_fmt(last), col)
        else:
            self.price.grid.set_last_price(None)
            self.price.axis.set_badge("last", None)
        lines: list[tuple[bool, list[tuple[str, QtGui.QColor]]]] = [(True, title)]
        idx = self._readout_index()
        bar = self._bar_values(idx)
        if bar is not None:
            local, o, h, low, c, v = bar
            col = up_c if c >= o else down_c
            runs = [(_fmt_full(local) + ("  (forming)" if idx == st.n else "") + "   ", dim)]
            for label, val in (("O ", o), (" H ", h), (" L ", low), (" C ", c)):
                runs += [(label, normal), (self._price_fmt(val), col)]
            runs += [("  V ", normal), (_fmt_volume(v), col)]
            lines.append((False, runs))
        sub_lines: dict[int, list] = {}
        for ov in self._overlays.values():
            j = None if idx is None else min(idx, st.n - 1)
            if j is None or j < 0:
                vals = [math.nan] * len(ov.keys)
            else:
                vals = [float(ov.series[k][j]) for k in ov.keys]
            fmt = self._price_fmt if ov.on_price else (lambda x: "-" if not math.isfinite(x) else f"{x:.2f}")
            runs = [(ov.label + " ", normal)]
            for j, (key, val) in enumerate(zip(ov.keys, vals, strict=True)):
                runs.append(((" " if j else "") + fmt(val), ov.colors[key]))
            if ov.on_price:
                lines.append((False, runs))
            else:
                sub_lines[id(ov.pane)] = [(False, runs)]
        self.price.text.set_lines(lines)
        for pane in self._sub_panes:
            if pane.text is not None:
                pane.text.set_lines(sub_lines.get(id(pane), []))

    def _readout_index(self) -> int | None:
        st = self._store
        last = st.n if self._forming is not None else st.n - 1
        if last < 0:
            return None
        if self._hover is None:
            return last
        i = int(round(self._hover[0]))
        return min(max(i, 0), last)

    def _bar_values(self, idx: int | None) -> tuple[int, float, float, float, float, float] | None:
        st = self._store
        if idx is None:
            return None
        if idx == st.n and self._forming is not None:
            f = self._forming
            return f.local_ns, f.open, f.high, f.low, f.close, f.volume
        if 0 <= idx < st.n:
            return (
                int(st.local_ns[idx]),
                float(st.open[idx]),
                float(st.high[idx]),
                float(st.low[idx]),
                float(st.close[idx]),
                float(st.volume[idx]),
            )
        return None

    # crosshair ----------------------------------------------------------------------------------
    def set_crosshair(self, x: float, y: float | None = None, pane: str = "price") -> None:
        """Put the crosshair at bar coordinate x (and value y in ``pane``); updates the read-out."""
        self._hover = (float(x), math.nan if y is None else float(y), pane)
        panes = [self.price, self.volume, *self._sub_panes]
        idx = self._readout_index()
        xs = float(idx) if idx is not None else float(x)
        (x0, x1), _ = self.price.vb.viewRange()
        width = self.price.vb.width()
        px = (xs - x0) / (x1 - x0) * width if x1 > x0 else 0.0
        for p in panes:
            p.cross_v.place(px)
            if p.name == pane and y is not None:
                (_, _), (y0, y1) = p.vb.viewRange()
                p.cross_h.place(p.vb.height() - (y - y0) / (y1 - y0) * p.vb.height() if y1 > y0 else 0.0)
                p.axis.set_badge(
                    "cross", y, p.axis.format_value(y) if p.axis.kind != "price" else self._price_fmt(y)
                )
            else:
                p.cross_h.hide()
                p.axis.set_badge("cross", None)
        bar = self._bar_values(idx)
        if bar is not None:
            d = _local_parts(bar[0])
            self.time_axis.set_badge(
                "cross",
                xs,
                f"{_WEEKDAYS[d.weekday()]} {d.day:02d} {_MONTHS[d.month - 1]} '{d.year % 100:02d}  {d.hour:02d}:{d.minute:02d}",
            )
        else:
            self.time_axis.set_badge("cross", None)
        self._update_texts()

    def clear_crosshair(self) -> None:
        """Hide the crosshair; the read-out shows the newest bar again."""
        if self._hover is None:
            return
        self._hover = None
        for p in (self.price, self.volume, *self._sub_panes):
            p.cross_v.hide()
            p.cross_h.hide()
            p.axis.set_badge("cross", None)
        self.time_axis.set_badge("cross", None)
        self._update_texts()

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        for p in (self.price, self.volume, *self._sub_panes):
            if p.vb.sceneBoundingRect().contains(scene_pos):
                pt = p.vb.mapSceneToView(scene_pos)
                self.set_crosshair(pt.x(), pt.y(), p.name)
                return
        self.clear_crosshair()

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.Leave:
            self.clear_crosshair()
        return super().eventFilter(obj, ev)

    # follow mode ------------------------------------------------------------------------------
    @property
    def following(self) -> bool:
        """True while the view tracks the newest bar."""
        return self._following

    def _set_following(self, on: bool) -> None:
        if on != self._following:
            self._following = on
            self._live_button.setVisible(not on)
            self._place_live_button()
            self.following_changed.emit(on)

    def jump_to_live(self) -> None:
        """Resume following the newest bar."""
        self._set_following(True)
        self._apply_follow()

    def show_bar_at(self, ts: int) -> None:
        """Centre the view on the bar at time ts (e.g. a trade) and stop following."""
        idx = self.index_at(ts)
        last = self._last_x()
        idx = min(max(idx, 0), max(last, 0))
        (x0, x1), _ = self.price.vb.viewRange()
        width = max(x1 - x0, 10.0)
        self._set_following(False)
        self._set_x_range(idx - width / 2, idx + width / 2)
        self._fit_y_now()

    def visible_range(self) -> tuple[float, float]:
        """The x range (bar coordinates) shown."""
        (x0, x1), _ = self.price.vb.viewRange()
        return float(x0), float(x1)

    def set_visible_range(self, x0: float, x1: float) -> None:
        """Show bar coordinates [x0, x1]; following continues only if the newest bar is at the right edge."""
        self._set_x_range(x0, x1)
        follow = x1 >= self._last_x() + 0.5 + self.RIGHT_MARGIN_BARS - 0.5
        if follow:
            self._follow_width = max(10.0, x1 - x0)
        self._set_following(follow)
        self._fit_y_now()

    def _last_x(self) -> int:
        return self._store.n if self._forming is not None else self._store.n - 1

    def _apply_follow(self) -> None:
        right = self._last_x() + 0.5 + self.RIGHT_MARGIN_BARS
        self._set_x_range(right - self._follow_width, right)

    def _set_x_range(self, x0: float, x1: float) -> None:
        cur = self.price.vb.viewRange()[0]
        if abs(cur[0] - x0) > 1e-9 or abs(cur[1] - x1) > 1e-9:
            self.price.vb.setXRange(x0, x1, padding=0.0)

    def _on_user_range_change(self, _mask) -> None:
        """A mouse pan or zoom: stop following when the newest bar left the right edge."""
        (x0, x1), _ = self.price.vb.viewRange()
        width = x1 - x0
        live_right = self._last_x() + 0.5 + self.RIGHT_MARGIN_BARS
        if self._following:
            if abs(width - self._follow_width) > 1e-6 * max(1.0, width):
                self._follow_width = max(10.0, width)
                self._request_refresh()
            elif x1 < live_right - 1.0:
                self._set_following(False)
        elif x1 >= live_right - 0.5:
            self._follow_width = max(10.0, width)
            self._set_following(True)
            self._request_refresh()

    # refresh ----------------------------------------------------------------------------------
    def _request_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Apply pending appends to the view now (normally run by a zero-delay timer)."""
        self._refresh_timer.stop()
        self._in_refresh = True
        try:
            if self._appended_from is not None:
                self.candles.bars_appended()
                self.volume_bars.bars_appended()
                self._appended_from = None
            self._flush_overlays()
            st = self._store
            self._forming_item.set_bar(float(st.n), self._forming)
            self._forming_volume_item.set_bar(float(st.n), self._forming)
            if self._marker_ts:
                self._update_markers()
            self.time_axis.reset_cache()
            if self._following:
                self._apply_follow()
            self._fit_y_now()
            self._update_texts()
        finally:
            self._in_refresh = False

    def _after_replace(self) -> None:
        st = self._store
        n = st.n
        self._day_start = 0
        self._prev_day_close = math.nan
        if n:
            days = st.local_ns[:n] // _NS_PER_DAY
            starts = np.flatnonzero(days[1:] != days[:-1]) + 1
            if len(starts):
                self._day_start = int(starts[-1])
                self._prev_day_close = float(st.close[self._day_start - 1])
        self._update_bar_minutes()
        self.price.axis.decimals = 2 if n == 0 or float(np.median(st.close[max(0, n - 256) : n])) >= 1 else 4
        for ov in self._overlays.values():
            self._compute_full(ov)
            for item in ov.items:
                self._refresh_overlay_item(item)
        self._overlay_pending_from = None
        self._appended_from = None
        self.candles.invalidate_all()
        self.volume_bars.invalidate_all()
        self._update_markers()
        self.refresh()

    def _update_bar_minutes(self) -> None:
        st = self._store
        n = st.n
        if n > 1:
            d = np.diff(st.ts[max(0, n - 65) : n])
            self.time_axis.bar_minutes = max(1.0 / 60, float(np.median(d)) / _NS_PER_MINUTE)
        elif self._forming is not None and n == 1:
            self.time_axis.bar_minutes = max(1.0 / 60, (self._forming.ts - int(st.ts[0])) / _NS_PER_MINUTE)

    def _times_for_axis(self) -> tuple[np.ndarray, int]:
        st = self._store
        if self._forming is None:
            return st.local_ns, st.n
        n = st.n
        if (
            len(self._tick_local) < n + 1
            or self._tick_local[n] != self._forming.local_ns
            or (n and self._tick_local[n - 1] != st.local_ns[n - 1])
        ):
            if len(self._tick_local) < n + 1:
                self._tick_local = np.zeros(max(1024, 2 * (n + 1)), dtype=np.int64)
            self._tick_local[:n] = st.local_ns[:n]
            self._tick_local[n] = self._forming.local_ns
        return self._tick_local, n + 1

    # y auto-fit ---------------------------------------------------------------------------------
    def _on_x_range_changed(self, *_args) -> None:
        for p in (self.price, self.volume, *self._sub_panes):
            p.grid.update()
        if self._hover is not None:
            self.set_crosshair(
                self._hover[0], None if math.isnan(self._hover[1]) else self._hover[1], self._hover[2]
            )
        if self._in_refresh:
            return
        if self._yfit_timer.isActive():
            self._yfit_pending = True
            return
        self._fit_y_now()
        self._yfit_timer.start()

    def _yfit_timeout(self) -> None:
        if self._yfit_pending:
            self._yfit_pending = False
            self._fit_y_now()
            self._yfit_timer.start()

    def _fit_y_now(self) -> None:
        """Fit each pane's y range to the bars (and overlays) in the visible x range."""
        st = self._store
        (x0, x1), _ = self.price.vb.viewRange()
        n = st.n
        i0 = max(0, int(math.floor(x0)))
        i1 = min(n, int(math.ceil(x1)) + 1)
        f = self._forming
        f_visible = f is not None and x0 <= n <= x1
        lo, hi = math.inf, -math.inf
        vmax = 0.0
        if i1 > i0:
            lo = float(st.low[i0:i1].min())
            hi = float(st.high[i0:i1].max())
            vmax = float(st.volume[i0:i1].max())
        if f_visible:
            lo, hi, vmax = min(lo, f.low), max(hi, f.high), max(vmax, f.volume)
        if not math.isfinite(lo):
            if n == 0 and f is None:
                return
            j = min(max(i0, 0), n - 1) if n else -1
            if j >= 0:
                lo, hi = float(st.low[j]), float(st.high[j])
            else:
                lo, hi = f.low, f.high
        if i1 > i0:
            for ov in self._overlays.values():
                if not ov.on_price:
                    continue
                for key in ov.keys:
                    seg = ov.series[key][i0:i1]
                    fin = seg[np.isfinite(seg)]
                    if len(fin):
                        lo, hi = min(lo, float(fin.min())), max(hi, float(fin.max()))
        span = hi - lo
        if span <= 0:
            span = max(abs(hi) * 0.002, 0.01)
            lo -= span / 2
            hi += span / 2
        self._set_y(self.price.vb, lo - 0.08 * span, hi + 0.14 * span)
        self._set_y(self.volume.vb, 0.0, (vmax if vmax > 0 else 1.0) * 1.12)
        for pane in self._sub_panes:
            ov = next((o for o in self._overlays.values() if o.pane is pane), None)
            if ov is None or ov.kind == "rsi":
                if ov is not None:
                    self._set_y(pane.vb, -4.0, 104.0)
                continue
            slo, shi = math.inf, -math.inf
            if i1 > i0:
                for key in ov.keys:
                    seg = ov.series[key][i0:i1]
                    fin = seg[np.isfinite(seg)]
                    if len(fin):
                        slo, shi = min(slo, float(fin.min())), max(shi, float(fin.max()))
            if not math.isfinite(slo):
                slo, shi = -1.0, 1.0
            sspan = max(shi - slo, 1e-9)
            self._set_y(pane.vb, slo - 0.1 * sspan, shi + 0.1 * sspan)

    @staticmethod
    def _set_y(vb: pg.ViewBox, lo: float, hi: float) -> None:
        cur = vb.viewRange()[1]
        tol = (hi - lo) * 1e-9
        if abs(cur[0] - lo) > tol or abs(cur[1] - hi) > tol:
            vb.setYRange(lo, hi, padding=0.0)

    # geometry ---------------------------------------------------------------------------------
    def _place_live_button(self, *_args) -> None:
        if not hasattr(self, "_live_button"):
            return
        b = self._live_button
        b.adjustSize()
        r = self.price.vb.sceneBoundingRect()
        bottom_right = self._view.mapFromScene(r.bottomRight())
        pt = self._view.mapTo(self, bottom_right)
        b.move(max(0, pt.x() - b.width() - 10), max(0, pt.y() - b.height() - 10))
        b.raise_()

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        QtCore.QTimer.singleShot(0, self, self._place_live_button)

    @property
    def live_button(self) -> QtWidgets.QToolButton:
        """The floating 'Jump to live' button (visible only while not following)."""
        return self._live_button

    @property
    def graphics_view(self) -> pg.GraphicsLayoutWidget:
        """The pyqtgraph view holding the panes."""
        return self._view
