"""The fill rules on one bar, case by case, against hand-worked expectations (backtrader's rules)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workstation.execution import fill_model as fm

# bar: open 10, high 12, low 9, close 11 (up bar); DOWN: open 11, high 12, low 9, close 10
UP = (10.0, 12.0, 9.0, 11.0)
DOWN = (11.0, 12.0, 9.0, 10.0)
FLAT = (10.0, 12.0, 9.0, 10.0)


def one(code, buy, limit=math.nan, stop=math.nan, bar=UP, triggered=False):
    o, h, lo, c = (np.array([x]) for x in bar)
    fills, price, trig = fm.bar_fills(np.array([code], dtype=np.int8), np.array([buy]), np.array([limit]),
                                      np.array([stop]), np.array([triggered]), o, h, lo, c)
    return bool(fills[0]), (float(price[0]) if fills[0] else None), bool(trig[0])


@pytest.mark.parametrize(("buy", "limit", "expected"), [
    (True, 10.5, 10.0),     # open below the limit: at the open
    (True, 9.5, 9.5),       # low reaches it: at the limit
    (True, 8.9, None),      # never reached
    (True, 10.0, 10.0),     # open exactly at the limit
    (False, 9.5, 10.0),     # sell: open above the limit: at the open
    (False, 11.5, 11.5),    # high reaches it
    (False, 12.01, None),
])
def test_limit(buy, limit, expected):
    filled, price, _ = one(fm.LIMIT, buy, limit=limit)
    assert (price if filled else None) == expected


@pytest.mark.parametrize(("buy", "stop", "expected"), [
    (True, 9.5, 10.0),      # gap through the stop at the open: at the open
    (True, 11.0, 11.0),     # reached inside the bar: at the stop
    (True, 12.5, None),
    (False, 10.5, 10.0),    # sell stop above the open: at the open
    (False, 9.5, 9.5),
    (False, 8.0, None),
])
def test_stop_and_trailing_stop(buy, stop, expected):
    for code in (fm.STOP, fm.TRAILING_STOP):
        filled, price, _ = one(code, buy, stop=stop)
        assert (price if filled else None) == expected


def test_market_fills_at_the_open():
    assert one(fm.MARKET, True) == (True, 10.0, False)
    assert one(fm.MARKET, False, bar=DOWN) == (True, 11.0, False)


@pytest.mark.parametrize(("buy", "stop", "limit", "bar", "expected", "triggered"), [
    # the open is through the stop: triggered, then the limit rule on this bar
    (True, 9.5, 10.5, UP, 10.0, True),       # open 10 <= limit: at the open
    (True, 9.5, 9.2, UP, 9.2, True),         # low 9 reaches the limit
    (True, 9.5, 8.5, UP, None, True),        # limit never reached: triggered, no fill
    # reached inside the bar, limit at or beyond the stop: at the stop
    (True, 11.5, 11.8, UP, 11.5, True),
    (True, 11.5, 11.5, DOWN, 11.5, True),
    # inside, limit below the stop: down bar closing at or below the limit: at the limit
    (True, 11.5, 10.2, DOWN, 10.2, True),
    (True, 11.5, 9.8, DOWN, None, True),     # close 10 above the limit 9.8: no fill
    (True, 11.5, 11.2, UP, None, True),      # up bar: backtrader assumes no retrace
    (True, 12.5, 13.0, UP, None, False),     # never triggered
    # sell mirrored; its retrace case is a bar that did NOT close down (open <= close)
    (False, 9.5, 9.2, UP, 9.5, True),        # limit at/beyond the stop (below): at the stop
    (False, 9.5, 10.8, UP, 10.8, True),      # up bar, close 11 >= limit 10.8: at the limit
    (False, 9.5, 11.5, UP, None, True),      # close below the limit
    (False, 9.5, 10.5, DOWN, None, True),    # down bar: no retrace assumed
    (False, 9.5, 9.8, FLAT, 9.8, True),      # a flat bar counts as "did not close down" for a sell...
    (True, 11.0, 10.5, FLAT, None, True),    # ...but not as "closed down" for a buy
    (False, 10.5, 10.6, UP, 10.6, True),     # open 10 <= stop 10.5: triggered at the open; then the
                                             # limit rule: 10.6 above the open, high 12 reaches it
])
def test_stop_limit_follows_backtrader(buy, stop, limit, bar, expected, triggered):
    filled, price, trig = one(fm.STOP_LIMIT, buy, limit=limit, stop=stop, bar=bar)
    assert (price if filled else None) == expected
    assert trig is triggered


def test_triggered_stop_limit_is_a_limit_order():
    assert one(fm.STOP_LIMIT, True, limit=9.5, stop=20.0, triggered=True)[:2] == (True, 9.5)
    assert one(fm.STOP_LIMIT, True, limit=8.0, stop=20.0, triggered=True)[:2] == (False, None)


def test_trail_levels_move_one_way():
    buy = np.array([False, False, True, True])
    level = np.array([95.0, 95.0, 105.0, 105.0])
    close = np.array([101.0, 97.0, 99.0, 103.0])
    amount = np.array([3.0, 3.0, 0.0, 0.0])
    fraction = np.array([0.0, 0.0, 0.02, 0.02])
    out = fm.trail_levels(buy, level, close, amount, fraction)
    # sell stop rises to close - 3 (98) but never falls (97 - 3 = 94 < 95); buy stop falls to close x 1.02
    assert out.tolist() == pytest.approx([98.0, 95.0, 99.0 * 1.02, 105.0])
