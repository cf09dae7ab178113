"""Prices are written with the decimals their data carries: cents with 2, a thin stock's 8.525 with 3,
EURUSD's 1.07963 with 5 (written 1.0796 and 1.08 before); prices on no decimal grid (slippage, averages)
with about six significant digits, 4 decimals at least, as before for stock prices."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from workstation.report.formatting import grid_decimals, price_decimals


def _written_decimals(texts: list[str]) -> int:
    """The most decimals among prices written as text (the expectation: counted in the strings)."""
    return max(-Decimal(t).normalize().as_tuple().exponent for t in texts)


@pytest.mark.parametrize("texts", [["431.78", "431.8", "432"], ["8.525", "8.53"], ["1.07963", "1.0797"],
                                   ["0.000125", "0.0001"], ["17.921", "17.92"]])
def test_prices_of_a_decimal_grid_take_its_decimals(texts):
    prices = np.array([float(t) for t in texts])
    assert grid_decimals(prices) == price_decimals(prices) == max(2, _written_decimals(texts))


def test_prices_on_no_grid_show_six_significant_digits_and_four_decimals_at_least():
    rng = np.random.default_rng(4)
    for base, decimals in ((431.78, 4), (29.15, 4), (1.07963, 5), (0.6421, 6)):
        prices = np.round(base + rng.normal(0, base / 100, 50), 5) * (1 + 1e-4)       # 1 bp of slippage
        assert grid_decimals(prices) is None
        assert price_decimals(prices) == decimals
    assert grid_decimals(np.array([np.nan])) is None and price_decimals(np.array([])) == 2
    assert grid_decimals(np.array([1.2345678])) == 6                 # finer than 6 decimals: shown with 6
