"""Momentum indicators of the close: RSI (Wilder) and MACD."""

from __future__ import annotations

import numpy as np

from workstation.indicators.base import (
    Indicator,
    IndicatorError,
    Smoothing,
    check_period,
    gain_of,
)
from workstation.indicators.block import WarmupBlock, previous_closes, seeded_wilder_block
from workstation.indicators.moving_average import EMA

__all__ = ["MACD", "RSI", "rsi_from_averages"]


def rsi_from_averages(avg_gain: np.ndarray, avg_loss: np.ndarray) -> np.ndarray:
    """RSI = 100 - 100 / (1 + avg_gain / avg_loss); 100 where avg_loss is 0 and avg_gain is not;
    50 where both are 0 (a flat series: neither gains nor losses); NaN stays NaN."""
    no_loss = avg_loss == 0.0
    ratio = avg_gain / np.where(no_loss, 1.0, avg_loss)
    value = np.where(no_loss, 100.0, 100.0 - 100.0 / (1.0 + ratio))
    return np.where(no_loss & (avg_gain == 0.0), 50.0, value)


def rsi_of(avg_gain: float, avg_loss: float) -> float:
    """`rsi_from_averages` of one lane's floats: the same operations, the same value."""
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


class RSI(Indicator):
    """Relative Strength Index with Wilder smoothing.

    Close-to-close changes split into gains and losses; the first averages are the simple means of
    the first `period` gains / losses, then ``avg = (avg * (period - 1) + x) / period``. Ready
    after ``period + 1`` closes. RSI is 100 when the average loss is 0 and the average gain is not,
    and 50 when both are 0 (a flat series, common on thin 1m data): neither overbought nor oversold.
    TA-Lib gives 0 there; everywhere else the values are TA-Lib's.
    """

    kind = "rsi"
    _prev_close: np.ndarray
    _gain_sum: np.ndarray
    _loss_sum: np.ndarray
    _avg_gain: np.ndarray
    _avg_loss: np.ndarray
    _out_value: np.ndarray

    def __init__(self, period: int = 14, lanes: int = 1):
        self.period = check_period("period", period)
        self._smoothing = Smoothing(float(self.period - 1))
        super().__init__(spec=f"rsi({self.period})", warmup=self.period + 1, lanes=lanes)

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_prev_close": np.full(n, np.nan),
            "_gain_sum": np.zeros(n),
            "_loss_sum": np.zeros(n),
            "_avg_gain": np.full(n, np.nan),
            "_avg_loss": np.full(n, np.nan),
            "_out_value": np.full(n, np.nan),
        }

    def averages_of(self, lane: int = 0) -> tuple[float, float]:
        """(average gain, average loss) of one lane, NaN before it is seeded: what a strategy
        compares to decide RSI-level ties without the rounding of the RSI formula."""
        return float(self._avg_gain[lane]), float(self._avg_loss[lane])

    def _update(self, idx: np.ndarray, close: np.ndarray) -> None:
        if idx.shape[0] <= self.scalar_lanes:
            self._update_scalar(idx.tolist(), close.tolist())
            return
        period = self.period
        count = self._count[idx]
        change = close - self._prev_close[idx]
        gain = np.fmax(change, 0.0)  # fmax turns the first (NaN) change into 0
        loss = np.fmax(-change, 0.0)
        avg_gain = self._smoothing.step(self._avg_gain[idx], gain)
        avg_loss = self._smoothing.step(self._avg_loss[idx], loss)
        seeding = count <= period if self._warming else None
        if seeding is not None and np.count_nonzero(seeding):
            seed_lanes = idx[seeding]
            gain_sum = self._gain_sum[seed_lanes] + gain[seeding]
            loss_sum = self._loss_sum[seed_lanes] + loss[seeding]
            self._gain_sum[seed_lanes] = gain_sum
            self._loss_sum[seed_lanes] = loss_sum
            seeded = count[seeding] == period
            avg_gain[seeding] = np.where(seeded, gain_sum / period, np.nan)
            avg_loss[seeding] = np.where(seeded, loss_sum / period, np.nan)
        self._count[idx] = count + 1
        self._prev_close[idx] = close
        self._avg_gain[idx] = avg_gain
        self._avg_loss[idx] = avg_loss
        self._out_value[idx] = rsi_from_averages(avg_gain, avg_loss)
        if self._warming:
            self._note_warmup()

    def _update_scalar(self, lanes: list[int], closes: list[float]) -> None:
        """`_update` of a few lanes in Python floats (`scalar_lanes`): the same values, bit for bit."""
        period = self.period
        counts, prev_close, out = self._count, self._prev_close, self._out_value
        avg_gains, avg_losses, gain_sums, loss_sums = self._avg_gain, self._avg_loss, self._gain_sum, self._loss_sum
        step = self._smoothing.step_scalar
        warming = self._warming
        for lane, close in zip(lanes, closes, strict=True):
            count = int(counts[lane])
            change = close - float(prev_close[lane])
            gain = gain_of(change)          # np.fmax: the first (NaN) change gives 0
            loss = gain_of(-change)
            avg_gain = step(float(avg_gains[lane]), gain)
            avg_loss = step(float(avg_losses[lane]), loss)
            if warming and count <= period:
                gain_sum = float(gain_sums[lane]) + gain
                loss_sum = float(loss_sums[lane]) + loss
                gain_sums[lane] = gain_sum
                loss_sums[lane] = loss_sum
                if count == period:
                    avg_gain, avg_loss = gain_sum / period, loss_sum / period
                else:
                    avg_gain = avg_loss = np.nan
            counts[lane] = count + 1
            prev_close[lane] = close
            avg_gains[lane] = avg_gain
            avg_losses[lane] = avg_loss
            out[lane] = rsi_of(avg_gain, avg_loss)
        if warming:
            self._note_warmup()

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray,
                    close: np.ndarray) -> None:
        """`_update` input after input, per lane at once: the changes, gains and losses of every
        input; the seed sums of the first `period + 1` (the first change is NaN: 0 gain, 0 loss);
        then Wilder smoothing of each lane's later gains and losses."""
        previous = previous_closes(self._prev_close[lanes], close)
        change = close - previous
        averages = []
        for values, sums in ((np.fmax(change, 0.0), self._gain_sum), (np.fmax(-change, 0.0), self._loss_sum)):
            sums[lanes], average = seeded_wilder_block(sums[lanes], values, counts, self.period + 1, self.period,
                                                       self._smoothing)
            averages.append(average)
        avg_gain, avg_loss = averages
        self._count[lanes] = counts
        self._prev_close[lanes] = close[counts - 1, np.arange(close.shape[1])]
        self._avg_gain[lanes] = avg_gain
        self._avg_loss[lanes] = avg_loss
        self._out_value[lanes] = rsi_from_averages(avg_gain, avg_loss)
        self._note_warmup()


class MACD(Indicator):
    """MACD: line = EMA(fast) - EMA(slow), signal = EMA(signal) of the line, histogram = line - signal.

    EMAs are SMA-seeded as in `EMA`; the signal EMA starts once the slow EMA is ready. All three
    outputs appear together, after ``slow + signal - 1`` inputs (the primary `value` is the line).
    """

    kind = "macd"
    output_attrs = {"macd": "_out_macd", "signal": "_out_signal", "histogram": "_out_histogram"}
    _out_macd: np.ndarray
    _out_signal: np.ndarray
    _out_histogram: np.ndarray

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9, lanes: int = 1):
        self.fast = check_period("fast", fast)
        self.slow = check_period("slow", slow)
        self.signal_period = check_period("signal", signal)
        if self.fast >= self.slow:
            raise IndicatorError(f"fast must be < slow, got fast={self.fast}, slow={self.slow}")
        self._fast_ema = EMA(self.fast, lanes=lanes)
        self._slow_ema = EMA(self.slow, lanes=lanes)
        self._signal_ema = EMA(self.signal_period, lanes=lanes)
        super().__init__(
            spec=f"macd({self.fast},{self.slow},{self.signal_period})",
            warmup=self.slow + self.signal_period - 1,
            lanes=lanes,
            children=(self._fast_ema, self._slow_ema, self._signal_ema),
        )

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_out_macd": np.full(n, np.nan),
            "_out_signal": np.full(n, np.nan),
            "_out_histogram": np.full(n, np.nan),
        }

    @property
    def macd(self) -> np.ndarray:
        """MACD line per lane (copy), NaN where not ready."""
        return self._out_macd.copy()

    @property
    def signal(self) -> np.ndarray:
        """Signal line per lane (copy), NaN where not ready."""
        return self._out_signal.copy()

    @property
    def histogram(self) -> np.ndarray:
        """MACD line minus signal per lane (copy), NaN where not ready."""
        return self._out_histogram.copy()

    def _update(self, idx: np.ndarray, close: np.ndarray) -> None:
        self._fast_ema._update(idx, close)
        self._slow_ema._update(idx, close)
        line = self._fast_ema._ema[idx] - self._slow_ema._ema[idx]
        count = self._count[idx]
        count += 1
        self._count[idx] = count
        if self._warming:
            has_line = count >= self.slow
            lines = np.count_nonzero(has_line)
            if lines == idx.shape[0]:
                self._signal_ema._update(idx, line)
            elif lines:
                self._signal_ema._update(idx[has_line], line[has_line])
        else:
            self._signal_ema._update(idx, line)
        signal = self._signal_ema._ema[idx]
        if self._warming:
            line[count < self._warmup] = np.nan
            self._note_warmup()
        self._out_macd[idx] = line
        self._out_signal[idx] = signal
        self._out_histogram[idx] = line - signal

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray,
                    close: np.ndarray) -> None:
        """`_update` input after input, per lane at once: both EMAs' series, the line from the slow
        EMA's first value on fed to the signal EMA, then the outputs of each lane's last input."""
        fast = self._fast_ema._feed_block(None, lanes, counts, close)
        slow = self._slow_ema._feed_block(None, lanes, counts, close)
        first_line = self.slow - 1
        has_line = counts > first_line
        if np.count_nonzero(has_line):
            line_series = fast[first_line:, has_line] - slow[first_line:, has_line]
            self._signal_ema._feed_block(None, lanes[has_line], counts[has_line] - first_line, line_series)
        self._count[lanes] = counts
        line = self._fast_ema._ema[lanes] - self._slow_ema._ema[lanes]
        line[counts < self._warmup] = np.nan
        signal = self._signal_ema._ema[lanes]
        self._out_macd[lanes] = line
        self._out_signal[lanes] = signal
        self._out_histogram[lanes] = line - signal
        self._note_warmup()
