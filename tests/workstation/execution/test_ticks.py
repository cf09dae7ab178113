"""Price ticks (workstation.execution.ticks): a price snapped to its tick equals decimal arithmetic's
quantize with halves up, for the ticks traders meet (cents, sub-dollar stocks, futures, pips, whole
points); the tick is never finer than the data's decimals; the config refuses a tick that is not a
positive number, naming the field."""

from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from workstation.config import validate_config_dict
from workstation.errors import ConfigError
from workstation.execution.ticks import price_step, snap_price, tick_decimals

TICKS = (0.01, 0.0001, 0.25, 0.05, 0.5, 5.0, 0.00001, 0.125)


def decimal_snap(price: float, step: float) -> float:
    """The independent expectation: the price as written (its shortest repr) in whole steps, halves up."""
    steps = (Decimal(repr(price)) / Decimal(repr(step))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(steps * Decimal(repr(step)))


@pytest.mark.parametrize("tick", TICKS)
def test_a_snapped_price_is_the_decimal_quantize_of_the_price_as_written(tick):
    rng = random.Random(int(tick * 1e6))
    decimals = 6
    prices = [round(rng.uniform(0.01, 5000.0), rng.choice((2, 3, 4, 5, 6))) for _ in range(3000)]
    # halfway as written: 426.075 at a cent, 4500.125 at a quarter
    prices += [round((k + 0.5) * tick, 8) for k in rng.sample(range(1, 100_000), 300)]
    for price in prices:
        got = snap_price(price, tick, decimals)
        assert got == decimal_snap(price, tick), (price, tick, got)
        assert repr(got) == repr(round(got, tick_decimals(tick)))      # no binary remainder left
        assert abs(got - price) <= tick / 2 + 1e-9


def test_sub_penny_prints_go_to_whole_cents_and_halves_go_up():
    assert snap_price(426.072, 0.01, 3) == 426.07
    assert snap_price(426.075, 0.01, 3) == 426.08
    assert snap_price(426.0749, 0.01, 4) == 426.07
    assert snap_price(4500.125, 0.25, 2) == 4500.25
    assert snap_price(4500.12, 0.25, 2) == 4500.0
    assert snap_price(1.079634, 0.00001, 6) == 1.07963


def test_the_tick_is_never_finer_than_the_datas_decimals_and_none_means_those_decimals():
    assert price_step(None, 3) == 0.001 and price_step(None, 5) == 0.00001
    assert price_step(0.0001, 2) == 0.01                 # a cent chart cannot show a 0.0001 tick
    assert price_step(0.25, 2) == 0.25
    assert snap_price(28.1749, None, 2) == 28.17 and snap_price(28.175, None, 2) == 28.18
    assert snap_price(0.51237, 0.0001, 5) == 0.5124
    assert math.isnan(snap_price(math.nan, 0.01, 2)) and math.isnan(snap_price(math.inf, None, 2))


@pytest.mark.parametrize(("tick", "decimals"), [(0.01, 2), (0.0001, 4), (0.25, 2), (5.0, 0), (0.125, 3),
                                                (0.00001, 5), (1e-10, 10)])
def test_tick_decimals(tick, decimals):
    assert tick_decimals(tick) == decimals


@pytest.mark.parametrize("bad", [0, -0.01, "cent"])
def test_the_config_refuses_a_tick_that_is_not_a_positive_number(bad):
    cfg = {"name": "t", "symbols": ["A"], "backtest": {"start_date": "2024-01-02", "end_date": "2024-01-02"},
           "execution": {"tick_size": bad}}
    with pytest.raises(ConfigError, match=r"execution\.tick_size"):
        validate_config_dict(cfg)
    cfg["execution"]["tick_size"] = 0.01
    assert validate_config_dict(cfg).execution.tick_size == 0.01
    del cfg["execution"]["tick_size"]
    assert validate_config_dict(cfg).execution.tick_size is None
