"""The exchange calendar's sessions on disk, so a process does not rebuild them from holiday rules.

pandas-market-calendars answers a year's schedule in ~0.3 s (the import, then thousands of holiday
rule evaluations). `TimeManager` asks this cache first and computes a year with the library only
when the cache has no valid copy of it; it then writes the year here for the next process.

Layout (one folder per calendar and key, one small JSON file per calendar year):

    <cache root>/calendars/<EXCHANGE>-<key digest>/calendar.json   time zone, lunch breaks or not
    <cache root>/calendars/<EXCHANGE>-<key digest>/<year>.json     that year's sessions
    <cache root>/calendars/names-<key digest>.json                 the library's calendar names

The key is everything that changes the answer: the calendar name, the versions of
pandas-market-calendars, exchange_calendars (which supplies many of its calendars) and pandas (its
holiday rules), the session hours stored (the regular session, with the lunch break where the
exchange has one, plus the calendar's own pre- and post-market times where it has them) and this
file format. Another version of a library gives another folder, so two
environments sharing a cache never overwrite each other's years. Each file also holds its key and a
SHA-256 of its content: a file that does not parse, fails its digest, has another key or holds
impossible sessions (a date outside its year, dates out of order, an open after its close) is
ignored, computed again and rewritten.

Writes are atomic (workstation.atomic_files: a temporary dot-file beside the target, then
os.replace), so two processes filling the same year at once both leave one complete file, and a
reader never sees half of one. A cache that cannot be written (read-only, disk full) only costs the
next process the computation: the answer is the same.

The cache root is `$WORKSTATION_CACHE_DIR`, else `$XDG_CACHE_HOME/backtest-workstation`, else
`~/.cache/backtest-workstation`; `WORKSTATION_CACHE_DIR=""` (empty) turns the cache off.
Times are int64 ns UTC; dates are proleptic Gregorian ordinals (`datetime.date.toordinal`).
Any thread may use a CalendarCache; it holds no state beyond its folder and key.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workstation.signed_json import digest, read_signed, signed_text

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
SESSION_HOURS = ("regular (market_open to market_close, lunch break where the exchange has one) and "
                 "extended (pre to post, where the calendar has them)")
CACHE_DIR_ENV = "WORKSTATION_CACHE_DIR"
COLUMNS = ("ordinal", "open_ns", "close_ns", "break_start_ns", "break_end_ns", "pre_ns", "post_ns")


@dataclass(frozen=True)
class YearSchedule:
    """One calendar year of sessions: parallel int64 arrays in date order (-1 breaks: none; -1
    pre/post: the calendar has no pre- or post-market times)."""

    year: int
    ordinals: np.ndarray
    opens: np.ndarray
    closes: np.ndarray
    break_starts: np.ndarray
    break_ends: np.ndarray
    pres: np.ndarray
    posts: np.ndarray

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.ordinals, self.opens, self.closes, self.break_starts, self.break_ends, self.pres, self.posts)


@dataclass(frozen=True)
class CalendarFacts:
    """What a TimeManager needs of the calendar itself: its time zone, whether it has lunch breaks and
    whether it has pre- and post-market times (extended hours)."""

    tz: str
    has_breaks: bool
    has_extended_hours: bool = False


def default_cache_root() -> Path | None:
    """The user's cache folder for this program (None: caching turned off with an empty
    WORKSTATION_CACHE_DIR)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "backtest-workstation"


def distribution_version(distribution: str, package: str) -> str | None:
    """The installed version of a distribution, read without importing its package (a dist-info
    folder beside it, else importlib.metadata); None when it is not installed."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
    prefix = distribution.replace("-", "_").lower() + "-"
    for location in locations:
        site = Path(location).parent
        try:
            names = os.listdir(site)
        except OSError:
            continue
        for name in names:
            if name.lower().startswith(prefix) and name.endswith(".dist-info"):
                return name[len(prefix):-len(".dist-info")]
    try:
        import importlib.metadata

        return importlib.metadata.version(distribution)
    except Exception:  # noqa: BLE001 - no metadata at all: the key says so
        return "unknown"


def calendar_key(exchange: str) -> dict[str, Any]:
    """Everything that changes the sessions the library would compute for `exchange`."""
    return {
        "format": FORMAT_VERSION,
        "calendar": exchange,
        "session_hours": SESSION_HOURS,
        "pandas_market_calendars": distribution_version("pandas_market_calendars", "pandas_market_calendars"),
        "exchange_calendars": distribution_version("exchange_calendars", "exchange_calendars"),
        "pandas": distribution_version("pandas", "pandas"),
    }


class CalendarCache:
    """One calendar's folder in the cache: read and write its facts and its years."""

    def __init__(self, root: Path, exchange: str, key: dict[str, Any] | None = None, folder: Path | None = None):
        self.exchange = exchange
        self.key = key if key is not None else calendar_key(exchange)
        safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in exchange) or "_"
        self.folder = folder if folder is not None else Path(root) / "calendars" / f"{safe_name}-{digest(self.key)[:16]}"
        self.write_failed = False

    # ------------------------------------------------------------------ files
    def _read(self, path: Path) -> dict[str, Any] | None:
        """A file's body when it is whole, signed and of this key; None (and a debug line) otherwise."""
        document = read_signed(path, "calendar cache")
        if document is None:
            return None
        if document.get("key") != self.key:
            log.debug("calendar cache: ignoring %s (made for %s)", path, document.get("key"))
            return None
        return document

    def _write(self, path: Path, body: dict[str, Any]) -> None:
        from workstation.atomic_files import write_text_atomic

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, signed_text({**body, "key": self.key}))
        except OSError as exc:
            if not self.write_failed:
                log.warning("calendar cache: cannot write %s (%s); sessions are computed each time", path, exc)
            self.write_failed = True

    # ------------------------------------------------------------------ facts
    def read_facts(self) -> CalendarFacts | None:
        body = self._read(self.folder / "calendar.json")
        if body is None:
            return None
        tz, has_breaks, extended = body.get("tz"), body.get("has_breaks"), body.get("has_extended_hours")
        if not isinstance(tz, str) or not tz or not isinstance(has_breaks, bool) or not isinstance(extended, bool):
            log.debug("calendar cache: ignoring %s (fields missing)", self.folder / "calendar.json")
            return None
        return CalendarFacts(tz, has_breaks, extended)

    def write_facts(self, facts: CalendarFacts) -> None:
        self._write(self.folder / "calendar.json", {"tz": facts.tz, "has_breaks": facts.has_breaks,
                                                    "has_extended_hours": facts.has_extended_hours})

    # ------------------------------------------------------------------ years
    def year_path(self, year: int) -> Path:
        return self.folder / f"{int(year)}.json"

    def read_year(self, year: int) -> YearSchedule | None:
        path = self.year_path(year)
        body = self._read(path)
        if body is None:
            return None
        try:
            table = _year_from_body(year, body)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            log.debug("calendar cache: ignoring %s (%s)", path, exc)
            return None
        return table

    def write_year(self, table: YearSchedule) -> None:
        body: dict[str, Any] = {"year": table.year}
        body.update({name: col.astype(np.int64).tolist() for name, col in zip(COLUMNS, table.columns(),
                                                                              strict=True)})
        self._write(self.year_path(table.year), body)


def _names_cache(root: Path) -> CalendarCache:
    return CalendarCache(root, "names", calendar_key(""), folder=Path(root) / "calendars")


def _names_path(cache: CalendarCache) -> Path:
    return cache.folder / f"names-{digest(cache.key)[:16]}.json"


def read_calendar_names(root: Path | None) -> list[str] | None:
    """The library's calendar names as the last process that imported it wrote them (for suggestions
    in the config editor without importing the library); None when not cached."""
    if root is None:
        return None
    cache = _names_cache(root)
    body = cache._read(_names_path(cache))
    names = (body or {}).get("names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def write_calendar_names(root: Path | None, names: list[str]) -> None:
    if root is None:
        return
    cache = _names_cache(root)
    if read_calendar_names(root) != sorted(names):
        cache._write(_names_path(cache), {"names": sorted(names)})


def _year_from_body(year: int, body: dict[str, Any]) -> YearSchedule:
    """The arrays of a year file, refusing anything a real schedule cannot be."""
    if body.get("year") != year:
        raise ValueError(f"holds year {body.get('year')!r}")
    columns = [np.asarray(body[name], dtype=np.int64) for name in COLUMNS]
    n = len(columns[0])
    if any(col.ndim != 1 or len(col) != n for col in columns):
        raise ValueError("columns of different lengths")
    ordinals, opens, closes, break_starts, break_ends, pres, posts = columns
    first, last = dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
    if n and (ordinals[0] < first or ordinals[-1] > last or np.any(np.diff(ordinals) <= 0)):
        raise ValueError("dates outside the year or out of order")
    if np.any(opens >= closes):
        raise ValueError("a session that closes before it opens")
    has_break = break_starts >= 0
    if np.any(has_break != (break_ends >= 0)) or np.any(
            has_break & ~((opens < break_starts) & (break_starts < break_ends) & (break_ends < closes))):
        raise ValueError("a lunch break outside its session")
    if np.any((pres >= 0) & (pres > opens)) or np.any((posts >= 0) & (posts < closes)):
        raise ValueError("a pre-market after its open or a post-market before its close")
    return YearSchedule(year, ordinals, opens, closes, break_starts, break_ends, pres, posts)
