"""Volatility indicators: Bollinger Bands (close) and ATR (high, low, close)."""

from __future__ import annotations

import math

import numpy as np

from workstation.indicators.base import (
    Indicator,
    IndicatorError,
    Smoothing,
    check_period,
    format_number,
)
from workstation.indicators.block import WarmupBlock, previous_closes, seeded_wilder_block
from workstation.indicators.moving_average import SMA

__all__ = ["ATR", "BollingerBands", "true_range"]


def true_range(high: np.ndarray, low: np.ndarray, prev_close: np.ndarray) -> np.ndarray:
    """max(high - low, |high - prev_close|, |low - prev_close|); high - low where prev_close is NaN."""
    return np.fmax(high - low, np.fmax(np.abs(high - prev_close), np.abs(low - prev_close)))


class BollingerBands(Indicator):
    """Bollinger Bands: middle = SMA(period), upper/lower = middle +/- k * std of the same window.

    The standard deviation is the population one (ddof=0), computed from the lane's window each
    bar (no running sum of squares, so no cancellation). Ready after `period` inputs; the primary
    `value` is the middle band.
    """

    kind = "bb"
    output_attrs = {"middle": "_out_middle", "upper": "_out_upper", "lower": "_out_lower"}
    _out_middle: np.ndarray
    _out_upper: np.ndarray
    _out_lower: np.ndarray

    def __init__(self, period: int = 20, k: float = 2.0, lanes: int = 1):
        self.period = check_period("period", period)
        if (
            isinstance(k, bool)
            or not isinstance(k, int | float | np.number)
            or not math.isfinite(k)
            or k <= 0
        ):
            raise IndicatorError(f"k must be a finite number > 0, got {k!r}")
        self.k = float(k)
        self._sma = SMA(self.period, lanes=lanes)
        super().__init__(
            spec=f"bb({self.period},{format_number(self.k)})",
            warmup=self.period,
            lanes=lanes,
            children=(self._sma,),
        )

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_out_middle": np.full(n, np.nan),
            "_out_upper": np.full(n, np.nan),
            "_out_lower": np.full(n, np.nan),
        }

    @property
    def middle(self) -> np.ndarray:
        """Middle band (SMA) per lane (copy), NaN where not ready."""
        return self._out_middle.copy()

    @property
    def upper(self) -> np.ndarray:
        """Upper band per lane (copy), NaN where not ready."""
        return self._out_upper.copy()

    @property
    def lower(self) -> np.ndarray:
        """Lower band per lane (copy), NaN where not ready."""
        return self._out_lower.copy()

    def _update(self, idx: np.ndarray, close: np.ndarray) -> None:
        self._sma._update(idx, close)
        self._count[idx] += 1
        middle = self._sma._out_value[idx]
        window = self._sma._buf if idx is self._all_lanes else self._sma._buf[idx]
        deviation = window - middle[:, None]
        width = self.k * np.sqrt((deviation * deviation).sum(axis=1) / self.period)
        self._out_middle[idx] = middle
        self._out_upper[idx] = middle + width
        self._out_lower[idx] = middle - width

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray,
                    close: np.ndarray) -> None:
        """`_update` input after input, per lane at once: the SMA's, then the bands of each lane's
        last window (the only ones kept)."""
        self._sma._feed_block(block, lanes, counts, close)
        self._count[lanes] = counts
        middle = self._sma._out_value[lanes]
        deviation = self._sma._buf[lanes] - middle[:, None]
        width = self.k * np.sqrt((deviation * deviation).sum(axis=1) / self.period)
        self._out_middle[lanes] = middle
        self._out_upper[lanes] = middle + width
        self._out_lower[lanes] = middle - width


class ATR(Indicator):
    """Average True Range with Wilder smoothing.

    True range uses the previous close (the first bar's true range is high - low); the first ATR
    is the mean of the first `period` true ranges (ready after `period` inputs), then
    ``atr = (atr * (period - 1) + tr) / period``.
    """

    kind = "atr"
    fields = ("high", "low", "close")
    _prev_close: np.ndarray
    _tr_sum: np.ndarray
    _out_value: np.ndarray

    def __init__(self, period: int = 14, lanes: int = 1):
        self.period = check_period("period", period)
        self._smoothing = Smoothing(float(self.period - 1))
        super().__init__(spec=f"atr({self.period})", warmup=self.period, lanes=lanes)

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_prev_close": np.full(n, np.nan),
            "_tr_sum": np.zeros(n),
            "_out_value": np.full(n, np.nan),
        }

    def _update(self, idx: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> None:
        count = self._count[idx]
        tr = true_range(high, low, self._prev_close[idx])
        atr = self._smoothing.step(self._out_value[idx], tr)
        seeding = count < self.period if self._warming else None
        if seeding is not None and np.count_nonzero(seeding):
            seed_lanes = idx[seeding]
            tr_sum = self._tr_sum[seed_lanes] + tr[seeding]
            self._tr_sum[seed_lanes] = tr_sum
            atr[seeding] = np.where(count[seeding] + 1 == self.period, tr_sum / self.period, np.nan)
        self._count[idx] = count + 1
        self._prev_close[idx] = close
        self._out_value[idx] = atr
        if self._warming:
            self._note_warmup()

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray, high: np.ndarray,
                    low: np.ndarray, close: np.ndarray) -> None:
        """`_update` input after input, per lane at once: every true range, the seed sum of the
        first `period`, then Wilder smoothing of each lane's later ones."""
        ranges = true_range(high, low, previous_closes(self._prev_close[lanes], close))
        self._tr_sum[lanes], atr = seeded_wilder_block(self._tr_sum[lanes], ranges, counts, self.period, self.period,
                                                       self._smoothing)
        self._count[lanes] = counts
        self._prev_close[lanes] = close[counts - 1, np.arange(close.shape[1])]
        self._out_value[lanes] = atr
        self._note_warmup()
