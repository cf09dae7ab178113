"""Checks every live bar (streamed, corrected or from history) before it can reach SessionData.

A feed can send nonsense: a bar stamped 9999-12-31, a 15:59 bar at 10:00, a high below the low, a
NaN or infinite price. Such a bar must not crash the run, move the live clock or make later bars
late. Live bars get the importer's checks (same reasons, see workstation.store.importer) plus the
live ones; the first failing check is the reason:

    symbol not subscribed, interval not streamed, missing value (NaN/inf price or volume),
    non-positive price, high < low, open outside [low, high], close outside [low, high],
    negative volume, off-grid timestamp, not ended on the live clock (bar END later than the
    clock + FUTURE_TOLERANCE_NS), timestamp far from the live clock (START more than
    STALE_AFTER_NS before it, e.g. year 1)

A bad bar is quarantined: counted by reason, the last QUARANTINE_KEPT kept for the monitor and
live_status.json, never stored. A good bar outside the current session (pre- or post-market
minutes, a bar of yesterday) is not an error: it is counted as outside the session and ignored.

Timestamps are bar STARTS in int ns UTC; Python ints, so an absurd stamp never overflows here.
Called from the live coordinator's thread only (not thread-safe).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from math import isfinite
from numbers import Integral
from typing import Any

from workstation.model import Bar
from workstation.store.importer import R_CLOSE, R_GRID, R_HL, R_MISSING, R_NEGVOL, R_NONPOS, R_OPEN

R_SYMBOL = "symbol not subscribed"
R_INTERVAL = "interval not streamed"
R_FUTURE = "not ended on the live clock"
R_STALE = "timestamp far from the live clock"
OUTSIDE_SESSION = "outside the session"

FUTURE_TOLERANCE_NS = 5_000_000_000           # clock skew allowed between the feed and this machine
STALE_AFTER_NS = 7 * 86_400 * 1_000_000_000
QUARANTINE_KEPT = 500


@dataclass(frozen=True, slots=True)
class QuarantinedBar:
    """A live bar refused by the checks, with why and where it came from."""

    symbol: str
    interval: str
    timestamp: int          # bar start as sent (int ns UTC; may be absurd)
    open: float
    high: float
    low: float
    close: float
    volume: float
    reason: str
    source: str             # "stream", "update" (correction) or "history" (gap fill / catch-up)
    receive_ns: int         # live clock time it was checked

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("open", "high", "low", "close", "volume"):
            if not math.isfinite(out[key]):
                out[key] = str(out[key])      # JSON has no NaN/inf
        return out


class LiveBarChecks:
    """Validates live bars of one run; `admit()` says whether a bar may be used."""

    def __init__(self, symbols: list[str], interval: str, interval_ns: int,
                 future_tolerance_ns: int = FUTURE_TOLERANCE_NS, kept: int = QUARANTINE_KEPT):
        if interval_ns <= 0:
            raise ValueError(f"interval_ns must be positive, got {interval_ns}")
        self.symbols = frozenset(symbols)
        self.interval = interval
        self.interval_ns = int(interval_ns)
        self.future_tolerance_ns = int(future_tolerance_ns)
        self.quarantined = 0
        self.by_reason: dict[str, int] = {}
        self.recent: deque[QuarantinedBar] = deque(maxlen=kept)
        self.outside_session = 0

    def reason(self, bar: Bar, now_ns: int) -> str | None:
        """Why `bar` is bad at live clock `now_ns` (None when it is good). Session-independent.
        (Per live bar: kept to plain comparisons.)"""
        symbol, interval, ts, o, h, lo, c, v = bar
        if symbol not in self.symbols:
            return R_SYMBOL
        if interval != self.interval:
            return R_INTERVAL
        try:
            if not (isfinite(o) and isfinite(h) and isfinite(lo) and isfinite(c) and isfinite(v)):
                return R_MISSING
        except TypeError:
            return R_MISSING
        if o <= 0 or h <= 0 or lo <= 0 or c <= 0:
            return R_NONPOS
        if h < lo:
            return R_HL
        if o < lo or o > h:
            return R_OPEN
        if c < lo or c > h:
            return R_CLOSE
        if v < 0:
            return R_NEGVOL
        if type(ts) is not int and (not isinstance(ts, Integral) or isinstance(ts, bool)):
            return R_GRID                          # not a whole number of ns (numpy ints are fine)
        if ts % self.interval_ns:
            return R_GRID
        if ts + self.interval_ns > now_ns + self.future_tolerance_ns:
            return R_FUTURE
        if ts < now_ns - STALE_AFTER_NS:
            return R_STALE
        return None

    def admit(self, bar: Bar, now_ns: int, session: Any, source: str = "stream") -> bool:
        """True when `bar` is good and inside `session` (open_ns <= start < close_ns; None: no session).

        A bad bar is quarantined; a good one outside the session is counted in `outside_session`.
        """
        why = self.reason(bar, now_ns)
        if why is not None:
            self.quarantine(bar, why, now_ns, source)
            return False
        if session is None or not session.open_ns <= bar.timestamp < session.close_ns:
            self.outside_session += 1
            return False
        return True

    def quarantine(self, bar: Bar, reason: str, now_ns: int, source: str) -> None:
        self.quarantined += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        self.recent.append(QuarantinedBar(
            str(bar.symbol), str(bar.interval), int(bar.timestamp), _number(bar.open), _number(bar.high),
            _number(bar.low), _number(bar.close), _number(bar.volume), reason, source, int(now_ns)))

    def summary(self) -> dict[str, Any]:
        """{quarantined, by_reason, outside_session, recent: [QuarantinedBar dicts, newest last]}."""
        return {"quarantined": self.quarantined, "by_reason": dict(self.by_reason),
                "outside_session": self.outside_session, "recent": [q.as_dict() for q in self.recent]}


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
