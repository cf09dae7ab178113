"""The price pane's vertical scale: linear, or logarithmic (the pane's y is log10 of the price).

Every item drawn on the price pane maps prices through the one `PriceScale` of its chart, so
switching the scale only needs the items to be invalidated. Non-positive prices have no logarithm
and map to NaN (not drawn) in log mode.
"""

from __future__ import annotations

import math

import numpy as np


class PriceScale:
    """Linear or log10 mapping between prices and the price pane's y coordinate."""

    def __init__(self) -> None:
        self.log = False

    def to_view(self, prices: np.ndarray) -> np.ndarray:
        """y of an array of prices (a new array in log mode, the same one when linear)."""
        if not self.log:
            return prices
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(prices > 0, np.log10(np.where(prices > 0, prices, 1.0)), np.nan)

    def y(self, price: float) -> float:
        """y of one price."""
        if not self.log:
            return price
        return math.log10(price) if price > 0 else math.nan

    def price(self, y: float) -> float:
        """Price at pane coordinate y."""
        return 10.0**y if self.log else y
