"""Time and number formatting of the chart's axes and read-outs (exchange wall-clock times in ns)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from workstation.report.formatting import MIN_PRICE_DECIMALS, grid_decimals

NS_PER_MINUTE = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LOCAL_EPOCH = datetime(1970, 1, 1)


def fmt_volume(v: float) -> str:
    """Compact volume: 950, 12.3K, 1.25M, 3.1B."""
    if not math.isfinite(v):
        return "-"
    a = abs(v)
    if a < 1_000:
        return f"{v:.0f}"
    if a < 1_000_000:
        return f"{v / 1_000:.1f}K"
    if a < 1_000_000_000:
        return f"{v / 1_000_000:.2f}M"
    return f"{v / 1_000_000_000:.2f}B"


def local_parts(local_ns: int) -> datetime:
    """Naive datetime of an exchange wall-clock time in ns."""
    return _LOCAL_EPOCH + timedelta(microseconds=local_ns // 1000)


def fmt_time_hm(local_ns: int) -> str:
    """'09:45'."""
    minutes = (local_ns // NS_PER_MINUTE) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def fmt_date_md(local_ns: int) -> str:
    """'Nov 29'."""
    d = local_parts(local_ns)
    return f"{MONTHS[d.month - 1]} {d.day}"


def fmt_full(local_ns: int) -> str:
    """'Fri Nov 29 2024 09:45' for read-outs."""
    d = local_parts(local_ns)
    return f"{WEEKDAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day} {d.year} {d.hour:02d}:{d.minute:02d}"


def fmt_badge_time(local_ns: int) -> str:
    """"Fri 29 Nov '24  09:45" for the time axis crosshair badge."""
    d = local_parts(local_ns)
    return f"{WEEKDAYS[d.weekday()]} {d.day:02d} {MONTHS[d.month - 1]} '{d.year % 100:02d}  {d.hour:02d}:{d.minute:02d}"


def nice_step(raw: float) -> float:
    """Smallest 1/2/2.5/5 x 10^k step at least ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    base = 10.0**exp
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * base >= raw * (1 - 1e-9):
            return m * base
    return 10.0 * base


def step_decimals(step: float) -> int:
    """Fewest decimals (up to 8) that show multiples of ``step`` exactly."""
    for d in range(9):
        scaled = step * 10**d
        if abs(scaled - round(scaled)) < 1e-6 * max(1.0, scaled):
            return d
    return 8


class SymbolPriceDecimals:
    """The decimals each symbol's prices are shown with: the finest unit its prices seen so far carry
    (`grid_decimals`: 2 for cents, 5 for EURUSD's 1.08002), and at least `floor(symbol)` (the
    decimals its chart shows), so a column of one symbol's prices lines up. Fill prices (slippage
    makes them fractions of the unit) and averages are shown with them but do not widen them.
    `version` counts the widenings (rows formatted before one are formatted again)."""

    def __init__(self, floor: Callable[[str], int] | None = None) -> None:
        self._decimals: dict[str, int] = {}
        self.floor = floor
        self.version = 0

    def see(self, symbol: str, value: float | None) -> None:
        """Take a traded or quoted price of `symbol` (a bar's close, an order's limit) into account."""
        if value is None or not math.isfinite(value):
            return
        decimals = grid_decimals(np.array([value]))
        if decimals is not None and decimals > self._decimals.get(symbol, MIN_PRICE_DECIMALS):
            self._decimals[symbol] = decimals
            self.version += 1

    def decimals(self, symbol: str) -> int:
        floor = self.floor(symbol) if self.floor is not None else MIN_PRICE_DECIMALS
        return max(self._decimals.get(symbol, MIN_PRICE_DECIMALS), floor)

    def text(self, symbol: str, value: float | None, seen: bool = True) -> str:
        """`value` with `symbol`'s decimals and thousands separators ('' for None or NaN); `seen`: a
        price of the data (not a fill's or an average), taken into account first."""
        if value is None or not math.isfinite(value):
            return ""
        if seen:
            self.see(symbol, value)
        return f"{value:,.{self.decimals(symbol)}f}"
