"""PriceGrid: the decimals of the prices seen per lane, which make SMA differences exact integers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from workstation.indicators.price_grid import MAX_DECIMALS, POWERS_OF_TEN, PriceGrid, decimals_of


def test_decimals_of_typical_prices():
    prices = np.array([17.921, 100.0, 0.1 + 0.2, 43.655, 62.8499, 1234.567891, 0.00012345, 99999.99, 17.92, 1e-9])
    assert decimals_of(prices).tolist() == [3, 0, 1, 3, 4, 6, 8, 2, 2, MAX_DECIMALS]


def test_grid_only_grows_and_is_per_lane():
    grid = PriceGrid(3)
    grid.observe(np.array([0, 1]), np.array([17.92, 17.9]))
    assert grid.decimals.tolist() == [2, 1, 0]
    grid.observe(np.array([1, 2]), np.array([17.9215, 18.0]))
    grid.observe(np.array([0]), np.array([18.0]))
    assert grid.decimals.tolist() == [2, 4, 0]


def test_scaled_sma_difference_is_the_exact_integer():
    """lcm·10**d·(SMA5 − SMA20) from float sums rounds to the exact decimal value, 6 decimals."""
    rng = np.random.default_rng(2)
    for _ in range(2000):
        units = 50_000_000 + rng.integers(-30, 31, 20)
        closes = units / 10**6
        d = decimals_of(closes).max()
        got = np.rint(20 * POWERS_OF_TEN[d] * (closes[-5:].sum() / 5 - closes.sum() / 20))
        exact = 20 * 10**int(d) * (sum(Fraction(repr(float(c))) for c in closes[-5:]) / 5
                                   - sum(Fraction(repr(float(c))) for c in closes) / 20)
        assert exact.denominator == 1 and got == exact.numerator


def test_a_lane_may_repeat_in_one_observation():
    grid = PriceGrid(2)
    grid.observe(np.array([1, 1, 1, 0]), np.array([17.9215, 17.9, 17.92, 3.0]))
    assert grid.decimals.tolist() == [0, 4]


def test_raising_to_a_blocks_decimal_raises_equals_observing_every_close():
    """BarTimes.decimal_raises, applied bar time after bar time (PriceGrid.raise_to), leaves the grid as
    observing every close does, whatever the grid held before: thin bar times (some symbols missing),
    prices with 0 to 8 decimals and prices on no decimal grid."""
    from workstation.pipeline.feed import BarTimes

    rng = np.random.default_rng(7)
    raised_some = 0
    for _trial in range(300):
        n_symbols = int(rng.integers(1, 6))
        rows = [(k, s) for k in range(int(rng.integers(1, 30)))
                for s in np.sort(rng.choice(n_symbols, int(rng.integers(1, n_symbols + 1)), replace=False))]
        ts = np.array([k for k, _ in rows], dtype=np.int64) * 60_000_000_000
        symbols = np.array([s for _, s in rows], dtype=np.int64)
        decimals = rng.integers(0, MAX_DECIMALS + 2, len(rows))
        closes = np.round(rng.random(len(rows)) * 1000 + 1) / 10.0 ** np.minimum(decimals, MAX_DECIMALS)
        off_every_grid = rng.random(len(rows)) < 0.1
        closes[off_every_grid] = 0.2 + rng.random(int(off_every_grid.sum())) / 7
        block = BarTimes.from_arrays(ts, symbols, closes, closes, closes, closes, closes)
        raises = block.decimal_raises()
        observed, raised = PriceGrid(n_symbols), PriceGrid(n_symbols)
        observed.decimals[:] = raised.decimals[:] = rng.integers(0, 4, n_symbols)
        for k, (a, b) in enumerate(zip(block.starts, block.ends, strict=True)):
            observed.observe(symbols[a:b], closes[a:b])
            if k in raises:
                lanes, most = raises[k]
                assert set(lanes.tolist()) <= set(symbols[a:b].tolist())
                raised.raise_to(lanes, most)
                raised_some += 1
            assert observed.decimals.tolist() == raised.decimals.tolist(), (k, raises.get(k))
    assert raised_some > 300
