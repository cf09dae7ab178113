"""Sizing helpers: fixed, percent of equity, risk per trade, rounded down to the lot size."""

from __future__ import annotations

import math

import pytest

from workstation.execution import sizing


def test_fixed_and_lot_rounding():
    assert sizing.fixed_quantity(250, lot_size=100) == 200
    assert sizing.fixed_quantity(99, lot_size=100) == 0
    assert sizing.round_to_lot(300 / 3.0, 1) == 100          # no float shortfall
    assert sizing.round_to_lot(0.75, 0.25) == 0.75            # fractional lots


def test_percent_of_equity():
    # 10 % of 100,000 at 33 = 303.03 shares -> 300 in lots of 10
    assert sizing.percent_of_equity(100_000, 10, 33.0, lot_size=10) == 300
    assert sizing.percent_of_equity(-5_000, 10, 33.0) == 0   # no equity, no position


def test_risk_based():
    # risk 500 over a 1.30 stop distance = 384.6 -> 384 shares; lots of 100 -> 300
    assert sizing.risk_based(500, 50.0, 48.70) == 384
    assert sizing.risk_based(500, 48.70, 50.0, lot_size=100) == 300    # a short's stop is above
    with pytest.raises(ValueError, match="risk per share is zero"):
        sizing.risk_based(500, 50.0, 50.0)


@pytest.mark.parametrize("call", [
    lambda: sizing.fixed_quantity(0),
    lambda: sizing.fixed_quantity(10, lot_size=0),
    lambda: sizing.percent_of_equity(1000, math.nan, 10.0),
    lambda: sizing.percent_of_equity(1000, 5, 0.0),
    lambda: sizing.risk_based(-1, 10.0, 9.0),
    lambda: sizing.risk_based(100, math.inf, 9.0),
])
def test_bad_arguments_name_the_argument(call):
    with pytest.raises(ValueError, match="must be"):
        call()
