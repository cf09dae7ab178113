"""Whole-array indicator series for display (chart overlays), vectorised with numpy/pandas.

Each function reproduces, bit for bit, the values the incremental indicator produces when fed the
same bars one at a time (same summation order, same smoothing arithmetic), without a Python loop
over bars.
"""

from __future__ import annotations

import numpy as np

from workstation.indicators.base import Indicator, IndicatorError
from workstation.indicators.factory import make_indicator
from workstation.indicators.momentum import MACD, RSI, rsi_from_averages
from workstation.indicators.moving_average import EMA, RESUM_BLOCKS, SMA
from workstation.indicators.volatility import ATR, BollingerBands, true_range
from workstation.indicators.volume import VWAP, vwap_from_sums

__all__ = ["compute_series"]

_WINDOW_CHUNK_ELEMENTS = 1 << 21


def _seeded_smoothing(values: np.ndarray, period: int, com: float) -> np.ndarray:
    """Series of an average seeded with the mean of the first `period` values, then smoothed with `com`."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n < period:
        return out
    seed = np.cumsum(values[:period])[-1] / period
    tail = np.concatenate(([seed], values[period:]))
    import pandas as pd  # here, not at the top: the config model imports this package to check indicator names

    out[period - 1 :] = pd.Series(tail).ewm(com=com, adjust=False).mean().to_numpy()
    return out


def _sma_sums(close: np.ndarray, period: int) -> np.ndarray:
    """Running window sums exactly as `SMA` keeps them (sequential adds, exact resum every block)."""
    n = close.shape[0]
    oldest = np.zeros(n)
    if n > period:
        oldest[period:] = close[:-period]
    delta = close - oldest
    sums = np.empty(n)
    block = period * RESUM_BLOCKS
    carry = 0.0
    for start in range(0, n, block):
        stop = min(start + block, n)
        sums[start:stop] = np.cumsum(np.concatenate(([carry], delta[start:stop])))[1:]
        if stop - start == block:
            sums[stop - 1] = close[stop - period : stop].reshape(1, period).sum(axis=1)[0]
        carry = sums[stop - 1]
    return sums


def _sma_series(close: np.ndarray, period: int) -> np.ndarray:
    out = _sma_sums(close, period) / period
    out[: period - 1] = np.nan
    return out


def _ema_series(close: np.ndarray, period: int) -> np.ndarray:
    return _seeded_smoothing(close, period, (period - 1) / 2.0)


def _ring_windows(close: np.ndarray, period: int, rows: np.ndarray) -> np.ndarray:
    """Windows ending at `rows` laid out as `SMA`'s ring buffer (slot j holds the value at t = j mod period)."""
    slots = np.arange(period)
    source = rows[:, None] - ((rows[:, None] - slots[None, :]) % period)
    return close[source]


def _bollinger_series(close: np.ndarray, period: int, k: float) -> dict[str, np.ndarray]:
    middle = _sma_series(close, period)
    upper = np.full(close.shape[0], np.nan)
    lower = np.full(close.shape[0], np.nan)
    step = max(1, _WINDOW_CHUNK_ELEMENTS // period)
    for start in range(period - 1, close.shape[0], step):
        rows = np.arange(start, min(start + step, close.shape[0]))
        mid = middle[rows]
        deviation = _ring_windows(close, period, rows) - mid[:, None]
        width = k * np.sqrt((deviation * deviation).sum(axis=1) / period)
        upper[rows] = mid + width
        lower[rows] = mid - width
    return {"middle": middle, "upper": upper, "lower": lower}


def _macd_series(close: np.ndarray, fast: int, slow: int, signal: int) -> dict[str, np.ndarray]:
    line = _ema_series(close, fast) - _ema_series(close, slow)
    signal_line = np.full(close.shape[0], np.nan)
    signal_line[slow - 1 :] = _ema_series(line[slow - 1 :], signal)
    line[: slow + signal - 2] = np.nan
    return {"macd": line, "signal": signal_line, "histogram": line - signal_line}


def _rsi_series(close: np.ndarray, period: int) -> np.ndarray:
    n = close.shape[0]
    if n <= period:
        return np.full(n, np.nan)
    change = np.empty(n)
    change[0] = np.nan
    np.subtract(close[1:], close[:-1], out=change[1:])
    gain = np.fmax(change, 0.0)
    loss = np.fmax(-change, 0.0)
    avg_gain = np.full(n, np.nan)
    avg_loss = np.full(n, np.nan)
    avg_gain[1:] = _seeded_smoothing(gain[1:], period, float(period - 1))
    avg_loss[1:] = _seeded_smoothing(loss[1:], period, float(period - 1))
    return rsi_from_averages(avg_gain, avg_loss)


def _atr_series(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    prev_close = np.empty(close.shape[0])
    prev_close[:1] = np.nan
    prev_close[1:] = close[:-1]
    return _seeded_smoothing(true_range(high, low, prev_close), period, float(period - 1))


def _vwap_series(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session_start: np.ndarray | None
) -> np.ndarray:
    price_volume = (high + low + close) / 3.0 * volume
    n = close.shape[0]
    starts = [0] if session_start is None else sorted({0, *np.flatnonzero(session_start).tolist()})
    cum_pv = np.empty(n)
    cum_v = np.empty(n)
    for start, stop in zip(starts, [*starts[1:], n], strict=True):
        cum_pv[start:stop] = np.cumsum(price_volume[start:stop])
        cum_v[start:stop] = np.cumsum(volume[start:stop])
    return vwap_from_sums(cum_pv, cum_v)


def _as_series(name: str, values: np.ndarray | None, n: int | None) -> np.ndarray:
    if values is None:
        raise IndicatorError(f"compute_series needs the {name!r} array for this indicator, got None")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise IndicatorError(f"compute_series: {name!r} must be 1-D of length {n}, got shape {arr.shape}")
    return arr


def compute_series(
    spec: str,
    open: np.ndarray | None,
    high: np.ndarray | None,
    low: np.ndarray | None,
    close: np.ndarray | None,
    volume: np.ndarray | None,
    *,
    session_start: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Outputs of the indicator `spec` over whole bar arrays, aligned with them (NaN before ready).

    Equal to feeding the bars one by one to ``make_indicator(spec)`` and reading `outputs()` after
    each. Only the fields the indicator takes are needed (others may be None). For VWAP,
    `session_start` (bool per bar) marks the bars where it resets, as the pipeline does at each
    session open; without it VWAP is cumulative over the whole array.
    """
    indicator: Indicator = make_indicator(spec)
    given = {"open": open, "high": high, "low": low, "close": close, "volume": volume}
    n = None
    data: dict[str, np.ndarray] = {}
    for field in indicator.fields:
        data[field] = _as_series(field, given[field], n)
        n = data[field].shape[0]
    if session_start is not None:
        session_start = np.asarray(session_start, dtype=bool)
        if session_start.shape != (n,):
            raise IndicatorError(
                f"compute_series: session_start must have shape ({n},), got {session_start.shape}"
            )
    if isinstance(indicator, SMA):
        return {"value": _sma_series(data["close"], indicator.period)}
    if isinstance(indicator, EMA):
        return {"value": _ema_series(data["close"], indicator.period)}
    if isinstance(indicator, RSI):
        return {"value": _rsi_series(data["close"], indicator.period)}
    if isinstance(indicator, MACD):
        return _macd_series(data["close"], indicator.fast, indicator.slow, indicator.signal_period)
    if isinstance(indicator, BollingerBands):
        return _bollinger_series(data["close"], indicator.period, indicator.k)
    if isinstance(indicator, ATR):
        return {"value": _atr_series(data["high"], data["low"], data["close"], indicator.period)}
    if isinstance(indicator, VWAP):
        return {
            "value": _vwap_series(data["high"], data["low"], data["close"], data["volume"], session_start)
        }
    raise IndicatorError(f"compute_series does not support {indicator.spec!r}")
