"""The fill rules on bars, vectorised over orders: which orders fill on a bar and at what price.

Pure functions of aligned numpy arrays (one element per order being tested, with the OHLC of the
bar of that order's symbol). Prices are before slippage. The rules are backtrader's (bbroker.py):

- market: the bar's open.
- buy limit L: open <= L -> open; else low <= L -> L. Sell mirrored (open >= L; high >= L).
- buy stop S: open >= S -> open; else high >= S -> S. Sell mirrored. A trailing stop is a stop at
  its current level.
- stop-limit (stop S, limit L), not yet triggered:
  * the open reaches the stop (buy: open >= S) -> triggered, then the limit rule on this bar;
  * the bar reaches the stop inside (buy: high >= S) -> triggered, and it fills on this bar only
    where the path of the bar makes it certain: if the limit is at or beyond the stop (buy: L >= S)
    at the stop price S; else, for a buy, only on a bar that closed down (open > close) and closed
    at or below the limit (close <= L), at L. A sell mirrors it with one asymmetry kept from
    backtrader: its "retrace" case is a bar that did NOT close down (open <= close) with close >= L.
  * once triggered it is a plain limit order from the next bar on.
"""

from __future__ import annotations

import numpy as np

from workstation.execution.ticks import snap_levels

MARKET, LIMIT, STOP, STOP_LIMIT, TRAILING_STOP = 0, 1, 2, 3, 4


def limit_rule(buy: np.ndarray, limit: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(fills, price) of limit orders: at the open when it is at or better than the limit, else at the
    limit when the bar reaches it."""
    at_open = np.where(buy, o <= limit, o >= limit)
    inside = np.where(buy, lo <= limit, h >= limit)
    return at_open | inside, np.where(at_open, o, limit)


def stop_rule(buy: np.ndarray, stop: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(fills, price) of stop orders: at the open when it gapped through the stop, else at the stop."""
    at_open = np.where(buy, o >= stop, o <= stop)
    inside = np.where(buy, h >= stop, lo <= stop)
    return at_open | inside, np.where(at_open, o, stop)


def bar_fills(code: np.ndarray, buy: np.ndarray, limit: np.ndarray, stop: np.ndarray, triggered: np.ndarray,
              o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For orders of type codes `code` on their symbol's bar (o, h, lo, c): (fills, price, triggered).

    `triggered` in: stop-limit orders already triggered on an earlier bar; out: every stop-limit
    order triggered by now (on this bar or before). NaN prices where an order does not fill.
    """
    if not code.any():                       # only market orders: the common case of signal-driven runs
        return np.ones(code.shape[0], dtype=bool), o.astype(np.float64, copy=True), triggered
    fills = np.zeros(code.shape[0], dtype=bool)
    price = np.full(code.shape[0], np.nan)

    m = code == MARKET
    fills[m] = True
    price[m] = o[m]

    lim = (code == LIMIT) | ((code == STOP_LIMIT) & triggered)
    if lim.any():
        f, p = limit_rule(buy[lim], limit[lim], o[lim], h[lim], lo[lim])
        fills[lim], price[lim] = f, p

    stp = (code == STOP) | (code == TRAILING_STOP)
    if stp.any():
        f, p = stop_rule(buy[stp], stop[stp], o[stp], h[stp], lo[stp])
        fills[stp], price[stp] = f, p

    now_triggered = triggered.copy()
    sl = (code == STOP_LIMIT) & ~triggered
    if sl.any():
        b, s, lmt = buy[sl], stop[sl], limit[sl]
        so, sh, slo, sc = o[sl], h[sl], lo[sl], c[sl]
        gap = np.where(b, so >= s, so <= s)
        inside = ~gap & np.where(b, sh >= s, slo <= s)
        f_gap, p_gap = limit_rule(b, lmt, so, sh, slo)
        beyond = np.where(b, lmt >= s, lmt <= s)
        retrace_bar = np.where(b, so > sc, so <= sc)
        retrace = np.where(b, lmt >= sc, lmt <= sc)
        f_in = inside & (beyond | (retrace_bar & retrace))
        p_in = np.where(beyond, s, lmt)
        fills[sl] = (gap & f_gap) | f_in
        price[sl] = np.where(gap, p_gap, np.where(f_in, p_in, np.nan))
        now_triggered[sl] = gap | inside
    price[~fills] = np.nan
    return fills, price, now_triggered


def trail_levels(buy: np.ndarray, level: np.ndarray, close: np.ndarray, trail_amount: np.ndarray,
                 trail_fraction: np.ndarray, ticks: np.ndarray | None = None) -> np.ndarray:
    """Trailing stop levels after a completed bar: a sell stop rises to close - trail (never falls), a
    buy stop falls to close + trail (never rises). trail = amount, else close x fraction. `ticks` (each
    order's symbol's tick, NaN for none): the new level on the nearest tick first."""
    dist = np.where(trail_amount > 0, trail_amount, close * trail_fraction)
    if ticks is None:
        return np.where(buy, np.minimum(level, close + dist), np.maximum(level, close - dist))
    moved = snap_levels(np.where(buy, close + dist, close - dist), ticks)
    return np.where(buy, np.minimum(level, moved), np.maximum(level, moved))
