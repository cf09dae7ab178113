"""How figures are written for people: money, percentages, numbers, quantities and prices.

Shared by the results view (ui/) and the HTML and text reports, so a figure reads the same in the
window, in a report file and on the terminal. Negative numbers use the real minus sign (U+2212);
undefined values (None, NaN) are an em dash.
"""

from __future__ import annotations

import math

import numpy as np

MINUS = "\u2212"
DASH = "\u2014"


def _sign(x: float) -> str:
    return "+" if x > 0 else (MINUS if x < 0 else "")


def fmt_money(x: float | None, signed: bool = True, decimals: int = 2) -> str:
    """'+$1,234.56' / '−$12.00' (signed) or '$1,234.56'; '—' for None/NaN."""
    if x is None or not math.isfinite(x):
        return DASH
    body = f"${abs(x):,.{decimals}f}"
    if signed:
        return _sign(round(x, decimals)) + body
    return (MINUS + body) if x < 0 else body


def fmt_pct(x: float | None, signed: bool = True, decimals: int = 2) -> str:
    """'+3.42%' / '−4.10%' (signed) or '55.0%'; '—' for None/NaN."""
    if x is None or not math.isfinite(x):
        return DASH
    body = f"{abs(x):,.{decimals}f}%"
    if signed:
        return _sign(round(x, decimals)) + body
    return (MINUS + body) if x < 0 else body


def fmt_money_short(x: float | None) -> str:
    """Compact signed money for captions: '+$950', '−$12.3k', '+$1.25M'."""
    if x is None or not math.isfinite(x):
        return DASH
    a = abs(x)
    if a >= 1e6:
        body = f"${a / 1e6:.2f}M"
    elif a >= 1e4:
        body = f"${a / 1e3:.1f}k"
    elif a >= 1e3:
        body = f"${a / 1e3:.2f}k"
    else:
        body = f"${a:.0f}"
    return _sign(round(x, 2)) + body


def fmt_number(x: float | None, decimals: int = 2) -> str:
    """'1,234.57' / '−0.42'; '—' for None/NaN; a value that rounds to 0 has no sign."""
    if x is None or not math.isfinite(x):
        return DASH
    if round(x, decimals) == 0:
        x = 0.0
    return (MINUS if x < 0 else "") + f"{abs(x):,.{decimals}f}"


def fmt_qty(x: float) -> str:
    """Share quantities: whole numbers with separators, fractional ones to 4 significant digits."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


MIN_PRICE_DECIMALS = 2
MAX_PRICE_DECIMALS = 6


def shown_decimals(prices: np.ndarray) -> np.ndarray:
    """The decimals each (finite) price is shown with: those of its price unit (2 for cents, 3 for a thin
    stock's 8.525, 5 for EURUSD's 1.08002), at least 2 and at most 6; -1 for a price on no decimal grid
    (slippage, averages, adjusted prices), which tells nothing of the data's unit."""
    from workstation.indicators.price_grid import MAX_DECIMALS, decimals_of

    decimals = decimals_of(prices)
    return np.where(decimals >= MAX_DECIMALS, -1, np.clip(decimals, MIN_PRICE_DECIMALS, MAX_PRICE_DECIMALS))


def grid_decimals(*prices: np.ndarray) -> int | None:
    """Decimals that show every given price exactly (`shown_decimals`, the finest of them); None when
    there is no finite price or some price is on no decimal grid."""
    values = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in prices]) if prices else np.empty(0)
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    decimals = shown_decimals(values)
    return None if (decimals < 0).any() else int(decimals.max())


def price_decimals(prices: np.ndarray) -> int:
    """Decimals of a column of trade prices: those of their grid (`grid_decimals`: 2 for cents, 5 for
    EURUSD); prices on none (slippage, averages) with about six significant digits, at least 4
    decimals (431.8232, 29.1529, 1.07974)."""
    decimals = grid_decimals(prices)
    if decimals is not None:
        return decimals
    values = np.abs(np.asarray(prices, dtype=np.float64))
    values = values[np.isfinite(values)]
    if not values.size:
        return MIN_PRICE_DECIMALS
    middle = float(np.median(values))
    integer_digits = int(np.floor(np.log10(middle))) + 1 if middle >= 1 else 0
    return min(MAX_PRICE_DECIMALS, max(4, MAX_PRICE_DECIMALS - integer_digits))


def fmt_duration(minutes: float | None) -> str:
    """'45 min', '3 h 05 min', '2 d 4 h', '1 d' (calendar time); '—' for None/NaN."""
    if minutes is None or not math.isfinite(minutes):
        return DASH
    m = int(round(minutes))
    if m < 60:
        return f"{m} min"
    if m < 24 * 60:
        return f"{m // 60} h {m % 60:02d} min"
    days, hours = m // (24 * 60), (m % (24 * 60)) // 60
    return f"{days} d {hours} h" if hours else f"{days} d"


def fmt_money_level(x: float | None) -> str:
    """Compact unsigned money for axis levels: '$99.5k', '$1.25M', '−$3.0k' below zero."""
    text = fmt_money_short(x)
    return text[1:] if text.startswith("+") else text


def open_at_end_text(stats: dict) -> str | None:
    """The sentence that splits a run's net P&L when positions were still open at its end (the
    statistics' open_exposure > 0): what the open positions carry, marked at the last closes, and
    what the closed trades (all the trade statistics count) made. None when nothing was open."""
    exposure = stats.get("open_exposure")
    if not exposure or exposure <= 0:
        return None
    opened = f"Positions were still open at the end ({fmt_money(exposure, signed=False)} gross exposure, marked at the last closes)"
    if not stats.get("trades"):
        return f"{opened}: the whole {fmt_money(stats.get('net_pnl'))} net P&L is theirs; no trade was closed."
    return (f"{opened}: {fmt_money(stats.get('open_pnl'))} of the {fmt_money(stats.get('net_pnl'))} net P&L is "
            f"theirs; the trade statistics count the closed trades' {fmt_money(stats.get('closed_pnl'))} only.")


def run_time_text(summary: dict, decimals: int = 2, rate: bool = True) -> str:
    """A run's time and rate from its summary (SystemManager.summary): '4.10 s (2,587 bars/s)', and for
    a run that stood paused '422.10 s, 418.00 s of it paused (2,587 bars/s playing)': its bars/s leave
    the pauses out (`rate` False: the times alone). A summary without `paused_s` (an older run
    folder's) was not paused."""
    elapsed = float(summary.get("elapsed_s") or 0.0)
    paused = float(summary.get("paused_s") or 0.0)
    text = f"{elapsed:.{decimals}f} s"
    was_paused = paused >= 0.5 * 10.0 ** -decimals
    if was_paused:
        text += f", {paused:.{decimals}f} s of it paused"
    if rate:
        text += f" ({float(summary.get('bars_per_s') or 0.0):,.0f} bars/s{' playing' if was_paused else ''})"
    return text


def sharpe_note(stats: dict, short: bool = False) -> str:
    """The line under a run's Sharpe ratio: what it stands on, 'annualised, 231 daily returns' (one a
    session: an annualised figure from a few is a rough one, the count says how rough; `short`: '231
    daily returns', for a results card at 1366 pixels, whose tooltip says it is annualised), or why there
    is none."""
    sessions = int(stats.get("sessions") or 0)
    if stats.get("sharpe") is not None:
        returns = f"{sessions:,} daily return{'s' if sessions != 1 else ''}"
        return returns if short else f"annualised, {returns}"
    return "needs \u2265 2 sessions" if sessions < 2 else "no volatility"
