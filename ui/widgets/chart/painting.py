"""Low-level drawing of many lines or rectangles from numpy rows without per-glyph Python objects."""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6 import QtCore, QtGui


def draw_lines(p: QtGui.QPainter, segments: np.ndarray) -> None:
    """Draw (k, 4) C-contiguous float64 rows x1, y1, x2, y2 as lines."""
    if len(segments):
        p.drawLines(shiboken6.wrapInstance(segments.ctypes.data, QtCore.QLineF), len(segments))


def draw_rects(p: QtGui.QPainter, rects: np.ndarray) -> None:
    """Draw (k, 4) C-contiguous float64 rows x, y, w, h as rectangles."""
    if len(rects):
        p.drawRects(shiboken6.wrapInstance(rects.ctypes.data, QtCore.QRectF), len(rects))


def vertical_segments(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """(k, 4) rows x, y0, x, y1."""
    out = np.empty((len(x), 4), dtype=np.float64)
    out[:, 0] = x
    out[:, 1] = y0
    out[:, 2] = x
    out[:, 3] = y1
    return out


def polyline_segments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(k, 4) segments joining consecutive points, skipping any with a non-finite end."""
    if len(x) < 2:
        return np.zeros((0, 4))
    good = np.isfinite(y[:-1]) & np.isfinite(y[1:])
    out = np.empty((int(good.sum()), 4), dtype=np.float64)
    out[:, 0] = x[:-1][good]
    out[:, 1] = y[:-1][good]
    out[:, 2] = x[1:][good]
    out[:, 3] = y[1:][good]
    return out


def peak_decimate(values: np.ndarray, i0: int, i1: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y of a series over [i0, i1) reduced to a min and a max per group of ``k`` values, so
    a line drawn through them keeps every peak at one group per pixel (k = 1: the values as they are)."""
    if k == 1:
        return np.arange(i0, i1, dtype=np.float64), values[i0:i1]
    g0 = (i0 // k) * k
    seg = values[g0:i1]
    pad = (-len(seg)) % k
    if pad:
        seg = np.concatenate([seg, np.full(pad, np.nan)])
    seg = seg.reshape(-1, k)
    finite = np.isfinite(seg)
    ok = finite.any(axis=1)
    lo = np.where(ok, np.where(finite, seg, np.inf).min(axis=1), np.nan)
    hi = np.where(ok, np.where(finite, seg, -np.inf).max(axis=1), np.nan)
    xc = g0 + np.arange(len(lo), dtype=np.float64) * k + (k - 1) / 2.0
    y = np.empty(2 * len(lo))
    y[0::2] = lo
    y[1::2] = hi
    return np.repeat(xc, 2), y
