"""Bar intervals ("1s", "1m", "5m", "15m", "1h", "1d") as value objects with their length."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^(\d+)([smhd])$")


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A bar length. `seconds` orders intervals; `name` is the canonical text ("5m", "1d")."""

    seconds: int
    name: str

    @property
    def ns(self) -> int:
        """Length in nanoseconds (engine timestamps are int64 ns UTC)."""
        return self.seconds * 1_000_000_000

    @property
    def is_intraday(self) -> bool:
        return self.seconds < 86400

    def is_multiple_of(self, other: Interval) -> bool:
        return self.seconds % other.seconds == 0

    def __str__(self) -> str:
        return self.name


def parse_interval(text: str | Interval) -> Interval:
    """Parse "1m", "5m", "60m", "1h", "1d"... ; raise ValueError naming the text otherwise."""
    if isinstance(text, Interval):
        return text
    m = _PATTERN.match(str(text).strip().lower())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(
            f"unknown interval {text!r}: use a positive count and a unit s/m/h/d, e.g. '1m', '5m', '1d'"
        )
    count, unit = int(m.group(1)), m.group(2)
    seconds = count * _UNITS[unit]
    if unit == "d" and count != 1:
        raise ValueError(f"unsupported interval {text!r}: only '1d' is a daily interval")
    return Interval(seconds, f"{count}{unit}")
