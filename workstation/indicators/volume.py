"""Volume-weighted indicators: session VWAP."""

from __future__ import annotations

import numpy as np

from workstation.indicators.base import Indicator
from workstation.indicators.block import WarmupBlock

__all__ = ["VWAP", "vwap_from_sums"]


def vwap_from_sums(price_volume: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Cumulative price*volume / cumulative volume; NaN where the volume so far is 0."""
    has_volume = volume > 0.0
    return np.where(has_volume, price_volume / np.where(has_volume, volume, 1.0), np.nan)


class VWAP(Indicator):
    """Volume-weighted average price: sum(typical * volume) / sum(volume), typical = (h + l + c) / 3.

    Cumulative since the lane's last reset; the caller resets a lane at each session open.
    NaN (not ready) while the lane's volume so far is 0.
    """

    kind = "vwap"
    fields = ("high", "low", "close", "volume")
    _price_volume: np.ndarray
    _volume: np.ndarray
    _out_value: np.ndarray

    def __init__(self, lanes: int = 1):
        super().__init__(spec="vwap", warmup=1, lanes=lanes)

    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        return {
            "_count": np.zeros(n, dtype=np.int64),
            "_price_volume": np.zeros(n),
            "_volume": np.zeros(n),
            "_out_value": np.full(n, np.nan),
        }

    @property
    def ready(self) -> np.ndarray:
        """Per-lane bool: some volume traded since the lane's last reset."""
        return self._volume > 0.0

    def _update(
        self, idx: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray
    ) -> None:
        if idx.shape[0] <= self.scalar_lanes:
            self._update_scalar(idx.tolist(), high.tolist(), low.tolist(), close.tolist(), volume.tolist())
            return
        typical = (high + low + close) / 3.0
        price_volume = self._price_volume[idx] + typical * volume
        total_volume = self._volume[idx] + volume
        self._price_volume[idx] = price_volume
        self._volume[idx] = total_volume
        self._count[idx] += 1
        self._out_value[idx] = vwap_from_sums(price_volume, total_volume)

    def _update_scalar(self, lanes: list[int], highs: list[float], lows: list[float], closes: list[float],
                       volumes: list[float]) -> None:
        """`_update` of a few lanes in Python floats (`scalar_lanes`): the same sums and values, bit for bit."""
        counts, price_volumes, total_volumes, out = self._count, self._price_volume, self._volume, self._out_value
        for lane, high, low, close, volume in zip(lanes, highs, lows, closes, volumes, strict=True):
            price_volume = float(price_volumes[lane]) + (high + low + close) / 3.0 * volume
            total_volume = float(total_volumes[lane]) + volume
            price_volumes[lane] = price_volume
            total_volumes[lane] = total_volume
            counts[lane] += 1
            out[lane] = price_volume / total_volume if total_volume > 0.0 else np.nan

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray, high: np.ndarray,
                    low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> None:
        """`_update` input after input, per lane at once: sequential sums of price * volume and volume."""
        columns = np.arange(close.shape[1])
        typical = (high + low + close) / 3.0
        price_volume = np.cumsum(np.concatenate((self._price_volume[lanes][None, :], typical * volume)), axis=0)
        total_volume = np.cumsum(np.concatenate((self._volume[lanes][None, :], volume)), axis=0)
        price_volume, total_volume = price_volume[counts, columns], total_volume[counts, columns]
        self._price_volume[lanes] = price_volume
        self._volume[lanes] = total_volume
        self._count[lanes] = counts
        self._out_value[lanes] = vwap_from_sums(price_volume, total_volume)
