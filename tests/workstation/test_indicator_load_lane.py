"""Rebuilding one lane in one go (`Indicator.load_lane` of a fresh one-lane indicator warmed up with the
lane's bars) leaves exactly the state of the per-bar path: the lane reset and fed its bars update after
update, every other lane untouched. The live processor rebuilds a symbol's indicators this way when a
late bar or a gap fill is inserted (`DataProcessor._recompute_indicators`)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workstation.test_indicator_warm_up import FIELDS, KINDS, assert_same_state
from workstation.indicators import input_fields, make_indicator
from workstation.indicators.base import IndicatorError
from workstation.indicators.block import WarmupBlock

LANES = 4
BARS = 700           # past SMA's exact re-sum of its running sums (every period * 64 inputs) for sma(3), sma(1)


def bars(seed: int, n: int) -> dict[str, np.ndarray]:
    """[n, LANES] random OHLCV per field (high >= open, close >= low)."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.3, (n, LANES)), axis=0)
    open_ = close + rng.normal(0, 0.1, (n, LANES))
    return {"open": open_, "close": close, "high": np.maximum(open_, close) + rng.uniform(0, 0.2, (n, LANES)),
            "low": np.minimum(open_, close) - rng.uniform(0, 0.2, (n, LANES)),
            "volume": rng.integers(100, 5000, (n, LANES)).astype(float)}


def feed(ind, data: dict[str, np.ndarray], rows: range, lanes: np.ndarray | None = None) -> None:
    fields = input_fields(ind.spec)
    for k in rows:
        pick = slice(None) if lanes is None else lanes
        ind.update(*(data[f][k, pick] for f in fields), lanes=lanes)


def one_go(spec: str, series: dict[str, np.ndarray]):
    """A fresh one-lane indicator fed `series` (one value per bar per field) in one go."""
    n = len(series["close"])
    fresh = make_indicator(spec, lanes=1)
    fresh.warm_up(WarmupBlock(1, np.zeros(n, dtype=np.int64), np.arange(n + 1), series))
    return fresh


@pytest.mark.parametrize("spec", KINDS)
def test_a_lane_loaded_from_a_one_go_rebuild_equals_the_lane_reset_and_fed_bar_after_bar(spec):
    data = bars(7, BARS + 300)
    reference = make_indicator(spec, lanes=LANES)
    feed(reference, data, range(BARS))
    rebuilt = make_indicator(spec, lanes=LANES)
    feed(rebuilt, data, range(BARS))
    lane = 2
    noise = bars(99, 37)                                   # the lane's state goes wrong (bars it should not have)
    feed(rebuilt, noise, range(37), lanes=np.array([lane]))
    rebuilt.load_lane(lane, one_go(spec, {f: data[f][:BARS, lane] for f in FIELDS}))
    for attr in rebuilt._fresh_state(0):                   # every per-lane array, byte for byte, at once
        a, b = getattr(rebuilt, attr), getattr(reference, attr)
        assert a.tobytes() == b.tobytes(), attr
    np.testing.assert_array_equal(rebuilt.value, reference.value)
    feed(rebuilt, data, range(BARS, BARS + 300))           # and on from there: every attribute, flags included
    feed(reference, data, range(BARS, BARS + 300))
    assert_same_state(rebuilt, reference, spec)


def test_an_empty_rebuild_leaves_the_lane_as_a_reset_does_and_a_lane_of_another_indicator_is_refused():
    data = bars(3, 50)
    reset = make_indicator("macd(3,5,2)", lanes=LANES)
    feed(reset, data, range(50))
    loaded = make_indicator("macd(3,5,2)", lanes=LANES)
    feed(loaded, data, range(50))
    reset.reset(np.array([1]))
    loaded.load_lane(1, one_go("macd(3,5,2)", {f: data[f][:0, 1] for f in FIELDS}))
    assert_same_state(loaded, reset, "macd")
    with pytest.raises(IndicatorError, match="cannot load a lane of sma"):
        loaded.load_lane(0, make_indicator("sma(3)"))
    with pytest.raises(IndicatorError, match="cannot load a lane of macd"):
        make_indicator("macd(3,5,3)", lanes=2).load_lane(0, make_indicator("macd(3,5,2)"))
