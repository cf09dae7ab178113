"""PriceGrid: the smallest decimal price unit each symbol's data carries, so that decisions on
averages and levels can be made exactly, in integer multiples of that unit.

A price such as 17.921 is not exact in binary floating point; comparing float averages decides
exact ties (and values within float noise of a tie) at random. On data whose prices are all
multiples of 10**-d, a sum of prices times 10**d is an integer, and so is lcm(n, m)·10**d·(SMA_n −
SMA_m): it is recovered exactly from the float averages by rounding (the float error stays far below
0.5 for any real price and d <= MAX_DECIMALS). `decimals` holds, per symbol (lane), the number of
decimals d of every price observed so far (it only grows); a scale finer than needed multiplies an
exact integer by a power of ten, so the sign and the ties of a decision never depend on when a finer
price first appeared. Prices with more than MAX_DECIMALS decimals (not on a decimal grid) are
treated at MAX_DECIMALS, where ties are decided by float noise again.

Not thread safe: updated by the DataProcessor thread, read by strategies in the analysis thread
only between two bar times (the pipeline hands a bar time from one stage to the next).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_DECIMALS", "POWERS_OF_TEN", "PriceGrid", "decimals_of"]

MAX_DECIMALS = 8
"""Finest price unit tracked: 10**-8 (crypto quotes); beyond it prices are not on a decimal grid."""

POWERS_OF_TEN = 10.0 ** np.arange(MAX_DECIMALS + 1)
"""10**d as float64 for d = 0..MAX_DECIMALS (exact)."""

_RELATIVE_TOLERANCE = 1e-14
"""A scaled price within this relative distance of an integer is on the grid (a float price carries
a relative error of at most 2**-53 ~ 1.1e-16, its product with 10**d another)."""


def _off_grid(prices: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    scaled = prices * POWERS_OF_TEN[decimals]
    return np.abs(scaled - np.rint(scaled)) > _RELATIVE_TOLERANCE * np.maximum(np.abs(scaled), 1.0)


def decimals_of(prices: np.ndarray) -> np.ndarray:
    """Decimals of each price (0..MAX_DECIMALS): 17.921 -> 3, 100.0 -> 0, 0.1 + 0.2 -> MAX_DECIMALS."""
    prices = np.asarray(prices, dtype=np.float64)
    out = np.zeros(prices.shape, dtype=np.int64)
    todo = np.flatnonzero(_off_grid(prices, out))
    while len(todo):
        out[todo] += 1
        todo = todo[(out[todo] < MAX_DECIMALS) & _off_grid(prices[todo], out[todo])]
    return out


class PriceGrid:
    """Per-lane decimals of the prices observed so far (see the module docstring)."""

    def __init__(self, lanes: int):
        self.decimals = np.zeros(lanes, dtype=np.int64)

    def observe(self, lanes: np.ndarray, prices: np.ndarray) -> None:
        """Take prices of the listed lanes into account (a lane may repeat; vectorised).

        The same as `raise_to(lanes, decimals_of(prices))`: a price off the grid of a lane's current
        decimals D has more decimals than D (decimals_of gives the fewest on whose grid it lies, each
        fewer being off it), one on that grid has at most D, or MAX_DECIMALS when off every grid."""
        current = self.decimals[lanes]
        off = _off_grid(prices, current)
        if np.count_nonzero(off):
            np.maximum.at(self.decimals, lanes[off], decimals_of(prices[off]))

    def raise_to(self, lanes: np.ndarray, decimals: np.ndarray) -> None:
        """Each listed lane's decimals become at least `decimals` (prices' decimals_of, worked out
        beforehand: BarTimes.decimal_raises)."""
        np.maximum.at(self.decimals, lanes, decimals)
