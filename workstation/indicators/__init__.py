"""Incremental technical indicators vectorised over lanes (one lane = one symbol of one interval).

`make_indicator("sma(20)", lanes=n)` builds one; `update(close, lanes=idx)` feeds the lanes that
have a new bar; `value` / `outputs()` / `ready` read them. `compute_series` gives the same values
over whole arrays for chart overlays.
"""

from workstation.indicators.base import Indicator, IndicatorError
from workstation.indicators.batch import compute_series
from workstation.indicators.factory import (
    INDICATOR_KINDS,
    IndicatorSpec,
    input_fields,
    make_indicator,
    parse_spec,
)
from workstation.indicators.momentum import MACD, RSI
from workstation.indicators.moving_average import EMA, SMA
from workstation.indicators.volatility import ATR, BollingerBands
from workstation.indicators.volume import VWAP

__all__ = [
    "ATR",
    "EMA",
    "INDICATOR_KINDS",
    "MACD",
    "RSI",
    "SMA",
    "VWAP",
    "BollingerBands",
    "Indicator",
    "IndicatorError",
    "IndicatorSpec",
    "compute_series",
    "input_fields",
    "make_indicator",
    "parse_spec",
]
