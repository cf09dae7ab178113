"""Moving averages of the close: SMA (ring buffer, drift-free) and EMA (SMA-seeded)."""

from __future__ import annotations

import numpy as np

from workstation.indicators.base import Indicator, Smoothing, check_period, constant
from workstation.indicators.block import WarmupBlock

__all__ = ["EMA", "SMA"]

RESUM_BLOCKS = 64
"""SMA recomputes a lane's running sum from its buffer every ``period * RESUM_BLOCKS`` inputs."""


class SMA(Indicator):
    """Simple moving average of the last `period` closes.

    Each lane keeps a ring buffer of `period` values and a running sum; every ``period * 64``
    inputs of a lane the sum is recomputed exactly from the buffer, so float drift cannot
    accumulate over arbitrarily long runs. Ready after `period` inputs.
    """

    kind = "sma"
    _buf: np.ndarray
    _sum: np.ndarray
    _out_value: np.ndarray

    def __init__(self, period: int, lanes: int = 1):
        self.period = check_period("period", period)
        self._period = constant(self.period)
        self._resum_every = constant(self.period * RESUM_BLOCKS)
        self._resum_countdown = self.period * RESUM_BLOCKS
        super().__init__(spec=f"sma({self.period})", warmup=self.period, lanes=lanes)
        self._row_base = self._all_lanes * self.period      # each lane's first slot in the flat buffer

    def grow(self, n_lanes: int) -> None:
        super().grow(n_lanes)
        self._row_base = self._all_lanes * self.period

    def _lanes_changed(self) -> None:
        """A lane's count was set (`load_lane`): the updates left before any lane's next resum."""
        if self._n_lanes:
            self._resum_countdown = int((self._resum_every - self._count % self._resum_every).min())

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_buf": np.zeros((n, self.period)),
            "_sum": np.zeros(n),
            "_out_value": np.full(n, np.nan),
        }

    def _update(self, idx: np.ndarray, close: np.ndarray) -> None:
        if idx.shape[0] <= self.scalar_lanes and self._resum_countdown > 1:
            self._update_scalar(idx.tolist(), close.tolist())
            return
        if idx is self._all_lanes:
            self._update_all(close)
            return
        period = self._period
        count = self._count[idx]
        slot = idx * period
        slot += count % period
        buf = self._buf.reshape(-1)
        total = close - buf[slot]
        buf[slot] = close
        total += self._sum[idx]
        count += 1
        self._count[idx] = count
        self._resum_countdown -= 1
        if self._resum_countdown <= 0:
            self._resum(idx, count, total)
        self._sum[idx] = total
        value = total / period
        if self._warming:
            value[count < period] = np.nan
            self._note_warmup()
        self._out_value[idx] = value

    def _update_scalar(self, lanes: list[int], closes: list[float]) -> None:
        """`_update` of a few lanes in Python floats (`scalar_lanes`), when no resum is due: the same
        sums ((close - replaced) + sum), buffers and values, bit for bit."""
        period = self.period
        counts, buf, sums, out = self._count, self._buf, self._sum, self._out_value
        warming = self._warming
        for lane, close in zip(lanes, closes, strict=True):
            count = int(counts[lane])
            slot = count % period
            total = (close - float(buf[lane, slot])) + float(sums[lane])
            buf[lane, slot] = close
            count += 1
            counts[lane] = count
            sums[lane] = total
            out[lane] = np.nan if warming and count < period else total / period
        self._resum_countdown -= 1
        if warming:
            self._note_warmup()

    def _update_all(self, close: np.ndarray) -> None:
        """`_update` of every lane, in place (no gathering by lane index): the same sums, values and
        buffers, bit for bit ((close - replaced) + sum, as `_update` adds them)."""
        period = self._period
        count = self._count
        slot = count % period
        slot += self._row_base
        buf = self._buf.reshape(-1)
        delta = buf[slot]
        buf[slot] = close
        np.subtract(close, delta, out=delta)
        total = self._sum
        total += delta
        count += 1
        self._resum_countdown -= 1
        if self._resum_countdown <= 0:
            self._resum(self._all_lanes, count, total)
        value = np.divide(total, period, out=self._out_value)
        if self._warming:
            value[count < period] = np.nan
            self._note_warmup()

    def _resum(self, idx: np.ndarray, count: np.ndarray, total: np.ndarray) -> None:
        """Replace the running sums of lanes at a multiple of the resum interval by exact buffer sums.

        Called only when some lane may have reached such a multiple: `_resum_countdown` is a lower
        bound of the updates left before any lane does (each update advances a lane by one).
        """
        due = count % self._resum_every == 0
        if np.count_nonzero(due):
            total[due] = self._buf[idx[due]].sum(axis=1)
        if self._n_lanes:
            self._resum_countdown = int((self._resum_every - self._count % self._resum_every).min())

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray,
                    close: np.ndarray) -> None:
        """`_update` input after input, per lane at once: the running sums as a sequential cumulative
        sum of (close - the close it replaces), recomputed exactly from the window every
        `period * RESUM_BLOCKS` inputs; the ring buffer's last `period` closes."""
        period = self.period
        rows, width = close.shape
        columns = np.arange(width)
        replaced = np.zeros_like(close)
        replaced[period:] = close[:-period]
        delta = close - replaced
        sums = np.empty_like(close)
        carry = self._sum[lanes]
        block_rows = period * RESUM_BLOCKS
        for start in range(0, rows, block_rows):
            stop = min(start + block_rows, rows)
            sums[start:stop] = np.cumsum(np.concatenate((carry[None, :], delta[start:stop])), axis=0)[1:]
            if stop - start == block_rows:   # lanes with `stop` inputs: the sum of their window, in slot order
                sums[stop - 1] = np.ascontiguousarray(close[stop - period : stop].T).sum(axis=1)
            carry = sums[stop - 1]
        last = counts - 1
        total = sums[last, columns]
        newest = last[:, None] - ((last[:, None] - np.arange(period)[None, :]) % period)  # input in each slot
        window = np.where(newest >= 0, close[np.maximum(newest, 0), columns[:, None]], self._buf[lanes])
        self._buf[lanes] = window
        self._count[lanes] = counts
        self._sum[lanes] = total
        value = total / self._period
        value[counts < period] = np.nan
        self._out_value[lanes] = value
        self._note_warmup()
        if block is not None:
            self._advance_resum_countdown(block)

    def _advance_resum_countdown(self, block: WarmupBlock) -> None:
        """`_resum_countdown` after the block's calls, as `_update` counts it down call after call and
        resets it (from every lane's count) when it reaches 0."""
        countdown, call = self._resum_countdown, -1
        if call + countdown < block.calls:
            counts = block.counts_after_calls()
            while call + countdown < block.calls:
                call += countdown
                countdown = int((self._resum_every - counts[call] % self._resum_every).min())
        self._resum_countdown = countdown - (block.calls - 1 - call)


class EMA(Indicator):
    """Exponential moving average, alpha = 2 / (period + 1).

    Seeded with the SMA of a lane's first `period` closes (its value, ready after `period`
    inputs); afterwards ``ema = (1 - alpha) * ema + alpha * close``, i.e. pandas
    ``ewm(span=period, adjust=False)`` applied to ``[seed, close_period, close_period+1, ...]``.
    """

    kind = "ema"
    output_attrs = {"value": "_ema"}
    _seed_sum: np.ndarray
    _ema: np.ndarray

    def __init__(self, period: int, lanes: int = 1):
        self.period = check_period("period", period)
        self.com = (self.period - 1) / 2.0
        self._smoothing = Smoothing(self.com)
        super().__init__(spec=f"ema({self.period})", warmup=self.period, lanes=lanes)

    @property
    def alpha(self) -> float:
        """Smoothing factor 2 / (period + 1)."""
        return self._smoothing.alpha

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_seed_sum": np.zeros(n),
            "_ema": np.full(n, np.nan),
        }

    def _update(self, idx: np.ndarray, close: np.ndarray) -> None:
        if idx.shape[0] <= self.scalar_lanes:
            self._update_scalar(idx.tolist(), close.tolist())
            return
        count = self._count[idx]
        smoothed = self._smoothing.step(self._ema[idx], close)
        if self._warming:
            seeding = count < self.period
            if np.count_nonzero(seeding):
                seed_lanes = idx[seeding]
                seed_sum = self._seed_sum[seed_lanes] + close[seeding]
                self._seed_sum[seed_lanes] = seed_sum
                smoothed[seeding] = np.where(
                    count[seeding] + 1 == self.period, seed_sum / self.period, np.nan
                )
        count += 1
        self._count[idx] = count
        self._ema[idx] = smoothed
        if self._warming:
            self._note_warmup()

    def _update_scalar(self, lanes: list[int], closes: list[float]) -> None:
        """`_update` of a few lanes in Python floats (`scalar_lanes`): the same values, bit for bit."""
        period = self.period
        counts, ema, seed_sums = self._count, self._ema, self._seed_sum
        step = self._smoothing.step_scalar
        warming = self._warming
        for lane, close in zip(lanes, closes, strict=True):
            count = int(counts[lane])
            smoothed = step(float(ema[lane]), close)
            if warming and count < period:
                seed_sum = float(seed_sums[lane]) + close
                seed_sums[lane] = seed_sum
                smoothed = seed_sum / period if count + 1 == period else np.nan
            counts[lane] = count + 1
            ema[lane] = smoothed
        if warming:
            self._note_warmup()

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray,
                    close: np.ndarray) -> np.ndarray:
        """`_update` input after input, per lane at once; returns each lane's EMA after each input
        ([rows, lanes], NaN before it is seeded; rows past a lane's count not defined)."""
        period = self.period
        rows, width = close.shape
        columns = np.arange(width)
        seed_sums = np.cumsum(np.concatenate((self._seed_sum[lanes][None, :], close[:period])), axis=0)
        self._seed_sum[lanes] = seed_sums[np.minimum(counts, period), columns]
        series = np.full((rows, width), np.nan)
        if rows >= period:
            seed = seed_sums[period] / self.period
            series[period - 1 :] = self._smoothing.series(seed, close[period:], np.maximum(counts - period, 0))
        self._ema[lanes] = series[counts - 1, columns]
        self._count[lanes] = counts
        self._note_warmup()
        return series
