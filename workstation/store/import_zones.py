"""The time zone of a vendor file's naive times (`workstation import --tz`): an IANA zone, or one
shifted by whole hours (or hours and minutes).

A shifted zone reads a wall time as the zone's own wall time plus the shift: MetaTrader brokers
keep their server clock at New York time + 7 hours (UTC+2 in winter, UTC+3 in summer, changing on
the US daylight-saving dates, so that a day's last bar ends at 17:00 New York time), which no IANA
zone is: Europe/Athens has the same offsets but changes on the EU dates, weeks apart from the US
ones in March and October/November, and reads those weeks' bars an hour off. Such a file is read
with `America/New_York+7` (METATRADER_SERVER_TIME). A name that is an IANA zone itself
(`Etc/GMT+5`) is always that zone.

Pure functions; times are pandas DatetimeIndex or int ns.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

METATRADER_SERVER_TIME = "America/New_York+7"
_SHIFTED = re.compile(r"^(?P<zone>.+?)(?P<sign>[+-])(?P<hours>\d{1,2})(?::(?P<minutes>[0-5]\d))?$")
_NS_PER_MINUTE = 60 * 10**9


def _is_zone(name: str) -> bool:
    try:
        pd.Timestamp("2020-01-01").tz_localize(name)
    except Exception:  # noqa: BLE001 - zoneinfo and pytz raise several unrelated types
        return False
    return True


@lru_cache(maxsize=64)
def parse_zone(spec: str) -> tuple[str, int]:
    """(IANA zone, shift in ns) of `spec`; ValueError naming the forms when it is neither an IANA
    zone nor one shifted by at most 14 hours."""
    text = str(spec).strip()
    if _is_zone(text):
        return text, 0
    m = _SHIFTED.match(text)
    if m is not None and _is_zone(m["zone"]):
        minutes = int(m["hours"]) * 60 + int(m["minutes"] or 0)
        if minutes <= 14 * 60:
            return m["zone"], (1 if m["sign"] == "+" else -1) * minutes * _NS_PER_MINUTE
    raise ValueError(f"unknown time zone {text!r}: use an IANA name such as America/New_York or UTC, or one "
                     f"shifted by hours such as {METATRADER_SERVER_TIME} (MetaTrader server time)")


def localize(wall: pd.DatetimeIndex, spec: str) -> pd.DatetimeIndex:
    """Naive wall times read in `spec`: time-zone aware (NaT where the wall time does not exist or
    is ambiguous in the zone)."""
    zone, shift = parse_zone(spec)
    if shift:
        wall = wall - pd.Timedelta(shift, unit="ns")
    return wall.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")


def wall_times(timestamps_ns: np.ndarray, spec: str) -> pd.DatetimeIndex:
    """The naive wall times in `spec` of UTC instants (int ns)."""
    zone, shift = parse_zone(spec)
    wall = pd.DatetimeIndex(np.asarray(timestamps_ns, dtype=np.int64).view("datetime64[ns]"), tz="UTC")
    wall = wall.tz_convert(zone).tz_localize(None)
    return wall + pd.Timedelta(shift, unit="ns") if shift else wall
