"""RSI levels decided as exact decimals decide them: RSI is 50 without gains or losses, and an RSI
exactly at a level (in exact decimal arithmetic) is a tie, not float noise."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from workstation.indicators import RSI, compute_series
from workstation.strategies.rsi_reversion import compare_rsi


def _exact_rsi(closes: list[str], period: int) -> Fraction:
    c = [Fraction(x) for x in closes]
    ch = [b - a for a, b in zip(c, c[1:], strict=False)]
    gain = sum(max(x, Fraction(0)) for x in ch[:period]) / period
    loss = sum(max(-x, Fraction(0)) for x in ch[:period]) / period
    for x in ch[period:]:
        gain = (gain * (period - 1) + max(x, Fraction(0))) / period
        loss = (loss * (period - 1) + max(-x, Fraction(0))) / period
    return Fraction(50) if gain == loss == 0 else 100 * gain / (gain + loss)


def _feed(closes: list[str], period: int) -> RSI:
    rsi = RSI(period)
    for x in closes:
        rsi.update(float(x))
    return rsi


def test_flat_series_is_50_and_the_batch_series_agrees():
    rsi = _feed(["17.92"] * 15, 14)
    assert rsi.value_of() == 50.0 and rsi.averages_of() == (0.0, 0.0)
    assert compare_rsi(0.0, 0.0, 30) > 0 and compare_rsi(0.0, 0.0, 70) < 0 and compare_rsi(0.0, 0.0, 50) == 0
    series = compute_series("rsi(14)", None, None, None, np.array([17.92] * 20), None)["value"]
    assert np.isnan(series[:14]).all() and (series[14:] == 50.0).all()
    rsi.update(17.93)                                  # one gain: no loss at all -> 100
    assert rsi.value_of() == 100.0


def _tie_series(rng, period: int, gains_to_losses: tuple[int, int], decimals: int) -> list[str] | None:
    units = rng.integers(-9, 10, period)
    g, lo = units[units > 0].sum(), -units[units < 0].sum()
    if g == 0 or g * gains_to_losses[1] != lo * gains_to_losses[0]:
        return None
    price = int(rng.integers(10, 100)) * 10**decimals + int(rng.integers(0, 10**decimals))
    out = [price]
    for u in units:
        out.append(out[-1] + int(u))
    return [f"{p / 10**decimals:.{decimals}f}" for p in out]


@pytest.mark.parametrize(("level", "ratio"), [(30, (3, 7)), (70, (7, 3)), (50, (1, 1)), (20, (1, 4))])
def test_exact_level_ties_compare_equal_where_the_float_rsi_is_noise(level, ratio):
    rng = np.random.default_rng(level)
    ties = noisy = 0
    while ties < 200:
        closes = _tie_series(rng, 6, ratio, decimals=4)
        if closes is None:
            continue
        ties += 1
        assert _exact_rsi(closes, 6) == level
        rsi = _feed(closes, 6)
        noisy += rsi.value_of() != level
        assert compare_rsi(*rsi.averages_of(), level) == 0, closes
    if level != 50:
        assert noisy > 50          # the rounded RSI value misses the level: that is what is avoided


def test_level_comparisons_agree_with_exact_rationals_on_sub_penny_walks():
    """Long random walks with flat stretches, 4-6 decimals: the sign of RSI - level from the float
    averages equals the exact one at every bar, for several levels."""
    rng = np.random.default_rng(8)
    checked = 0
    for decimals in (4, 5, 6):
        unit = 10**decimals
        for _ in range(4):
            units = np.where(rng.random(300) < 0.4, 0, rng.integers(-5, 6, 300))
            prices = int(rng.integers(20, 90)) * unit + np.cumsum(units)
            closes = [f"{p / unit:.{decimals}f}" for p in prices]
            rsi = RSI(14)
            c = [Fraction(x) for x in closes]
            gain = loss = None
            for k, x in enumerate(closes):
                rsi.update(float(x))
                if k < 14:
                    continue
                if k == 14:
                    ch = [b - a for a, b in zip(c[:15], c[1:15], strict=False)]
                    gain = sum(max(d, Fraction(0)) for d in ch) / 14
                    loss = sum(max(-d, Fraction(0)) for d in ch) / 14
                else:
                    d = c[k] - c[k - 1]
                    gain = (gain * 13 + max(d, Fraction(0))) / 14
                    loss = (loss * 13 + max(-d, Fraction(0))) / 14
                exact = Fraction(50) if gain == loss == 0 else 100 * gain / (gain + loss)
                for level in (20, 30, 50, 70):
                    want = (exact > level) - (exact < level)
                    assert compare_rsi(*rsi.averages_of(), level) == want, (decimals, k, level)
                    checked += 1
    assert checked > 10_000
