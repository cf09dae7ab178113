"""TimeManager (trading calendar answers from pandas-market-calendars) and the engine clocks.

Every session rule (open, close, early close, lunch break, holidays, DST) comes from the exchange
calendar, never from hand-written rules. The schedule is loaded a calendar year at a time and kept in
memory; queries are binary searches on int64 ns arrays. A year comes from the on-disk calendar cache
(workstation.calendar_cache) when it holds a valid copy, else from pandas-market-calendars (imported
only then), which is then written to the cache: the same sessions either way. pandas is imported
only by the methods that return pandas objects, so the config model and the CLI stay light.

Session hours: `regular` (market_open to market_close) or `extended` (the calendar's own `pre` to
`post` times, e.g. NYSE 04:00 to 20:00 New York time, 17:00 after an early close), chosen per
TimeManager. An extended session keeps its regular open and close (`open_ns`, `close_ns`); its
replayed span is `start_ns` to `end_ns`, and its bar slots stay anchored at the regular open:
pre-market slots are counted back from the open (never spanning it), post-market slots forward from
the close. Clocks: `SimulatedClock` (advanced only by the
backtest coordinator, never backwards) and `WallClock` (live); components ask a clock, never
`datetime.now()`.
"""

from __future__ import annotations

import bisect
import calendar as calendar_module
import datetime as dt
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from workstation.calendar_cache import (
    CalendarCache,
    CalendarFacts,
    YearSchedule,
    default_cache_root,
    read_calendar_names,
    write_calendar_names,
)
from workstation.errors import CalendarError

if TYPE_CHECKING:
    import pandas as pd

NS_PER_MINUTE = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
_PERIOD_UNITS = ("d", "w", "m", "y")
SESSION_HOURS = ("regular", "extended")


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One trading day: open/close (and a lunch break, where the exchange has one) as int ns UTC.

    The regular session is [open, close) minus the break [break_start, break_end) (XTKS, XHKG);
    `break_start_ns == break_end_ns == -1` when there is none. Bar slots (`slot_starts`) are
    anchored at the open and at the break's end and cut at the break's start and at the close, so a
    60m bar never spans the lunch break.

    Extended hours (`pre_market_start_ns` / `post_market_end_ns` >= 0, set only when the session
    hours are `extended`): the session also trades [pre_market_start, open) and [close,
    post_market_end). Pre-market slots are counted back from the open (the first one cut at the
    pre-market start), post-market slots forward from the close, so no bar spans the open or close.
    """

    date: dt.date
    open_ns: int
    close_ns: int
    tz: str
    early_close: bool
    break_start_ns: int = -1
    break_end_ns: int = -1
    pre_market_start_ns: int = -1
    post_market_end_ns: int = -1

    @property
    def extended(self) -> bool:
        """True when this session includes pre- or post-market hours."""
        return self.pre_market_start_ns >= 0 or self.post_market_end_ns >= 0

    @property
    def start_ns(self) -> int:
        """First instant replayed: the pre-market start in extended hours, else the open."""
        return self.pre_market_start_ns if self.pre_market_start_ns >= 0 else self.open_ns

    @property
    def end_ns(self) -> int:
        """Last instant replayed: the post-market end in extended hours, else the close."""
        return self.post_market_end_ns if self.post_market_end_ns >= 0 else self.close_ns

    @property
    def open_utc(self) -> pd.Timestamp:
        import pandas as pd

        return pd.Timestamp(self.open_ns, unit="ns", tz="UTC")

    @property
    def close_utc(self) -> pd.Timestamp:
        import pandas as pd

        return pd.Timestamp(self.close_ns, unit="ns", tz="UTC")

    @property
    def open_local(self) -> pd.Timestamp:
        return self.open_utc.tz_convert(self.tz)

    @property
    def close_local(self) -> pd.Timestamp:
        return self.close_utc.tz_convert(self.tz)

    @property
    def has_break(self) -> bool:
        return len(session_segments(self.open_ns, self.close_ns, self.break_start_ns, self.break_end_ns)) > 1

    @property
    def segments(self) -> tuple[tuple[int, int], ...]:
        """The trading parts of the session as (start, end) int ns: one, or two around a break;
        in extended hours also the pre-market part first and the post-market part last."""
        return session_segments(self.open_ns, self.close_ns, self.break_start_ns, self.break_end_ns,
                                self.pre_market_start_ns, self.post_market_end_ns)

    @property
    def minutes(self) -> int:
        """Trading minutes of the session's hours (regular: 390 normally, 210 on an early close; a
        lunch break does not count: 330 on XHKG; extended NYSE: 960, 780 on an early close)."""
        return sum(end - start for start, end in self.segments) // NS_PER_MINUTE

    def contains(self, ts_ns: int) -> bool:
        """True if a bar starting at `ts_ns` lies in the session's hours (not in the lunch break)."""
        return any(start <= ts_ns < end for start, end in self.segments)

    def regular_mask(self, ts_ns: np.ndarray) -> np.ndarray:
        """True where an int ns UTC bar start lies in the regular session (open to close, less a
        lunch break), whatever the session's hours (for values that stay regular, e.g. daily bars)."""
        ts_ns = np.asarray(ts_ns, dtype=np.int64)
        mask = np.zeros(ts_ns.shape, dtype=bool)
        for start, end in session_segments(self.open_ns, self.close_ns, self.break_start_ns, self.break_end_ns):
            mask |= (ts_ns >= start) & (ts_ns < end)
        return mask

    def trading_mask(self, ts_ns: np.ndarray) -> np.ndarray:
        """Vectorised `contains` for int ns UTC bar starts."""
        ts_ns = np.asarray(ts_ns, dtype=np.int64)
        mask = np.zeros(ts_ns.shape, dtype=bool)
        for start, end in self.segments:
            mask |= (ts_ns >= start) & (ts_ns < end)
        return mask

    def slot_starts(self, length_ns: int) -> np.ndarray:
        """Starts (int ns UTC) of the session's bar slots of one length, in time order: anchored at
        the start of each trading part and cut at its end (a short last slot at an early close);
        pre-market slots counted back from the open (see `session_slot_bounds`)."""
        return self.slot_bounds(length_ns)[0]

    def slot_ends(self, length_ns: int) -> np.ndarray:
        """Ends of the slots of `slot_starts` (each capped at the end of its trading part)."""
        return self.slot_bounds(length_ns)[1]

    def slot_bounds(self, length_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Starts and ends of the session's bar slots of one length (see `session_slot_bounds`)."""
        return session_slot_bounds(self.open_ns, self.close_ns, length_ns, self.break_start_ns, self.break_end_ns,
                                   self.pre_market_start_ns, self.post_market_end_ns)

    def trading_minute_index(self, ts_ns: np.ndarray) -> np.ndarray:
        """Minute of the session (0 = its first minute: the open, or the pre-market start in
        extended hours) of each bar start, not counting the lunch break; -1 outside its hours."""
        ts_ns = np.asarray(ts_ns, dtype=np.int64)
        out = np.full(ts_ns.shape, -1, dtype=np.int64)
        offset = 0
        for start, end in self.segments:
            inside = (ts_ns >= start) & (ts_ns < end)
            out[inside] = offset + (ts_ns[inside] - start) // NS_PER_MINUTE
            offset += (end - start) // NS_PER_MINUTE
        return out


def session_segments(open_ns: int, close_ns: int, break_start_ns: int = -1, break_end_ns: int = -1,
                     pre_market_start_ns: int = -1, post_market_end_ns: int = -1) -> tuple[tuple[int, int], ...]:
    """Trading parts (start, end) of a session: [open, close), or [open, break_start) and
    [break_end, close) when a lunch break lies inside it; with [pre_market_start, open) first and
    [close, post_market_end) last in extended hours (when they are not empty)."""
    if open_ns < break_start_ns < break_end_ns < close_ns:
        parts: tuple[tuple[int, int], ...] = ((open_ns, break_start_ns), (break_end_ns, close_ns))
    else:
        parts = ((open_ns, close_ns),)
    if 0 <= pre_market_start_ns < open_ns:
        parts = ((pre_market_start_ns, open_ns), *parts)
    if post_market_end_ns > close_ns:
        parts = (*parts, (close_ns, post_market_end_ns))
    return parts


def session_slot_bounds(open_ns: int, close_ns: int, length_ns: int, break_start_ns: int = -1,
                        break_end_ns: int = -1, pre_market_start_ns: int = -1,
                        post_market_end_ns: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (int ns UTC) of a session's bar slots of one length, in time order.

    Regular parts: anchored at the open and at the break's end, cut at the break's start and at the
    close. Pre-market (extended hours): counted back from the regular open, so the slots end exactly
    at the open and the earliest one is cut at the pre-market start (a 60m slot [04:00, 04:30) when
    the open is 09:30). Post-market: anchored at the close, cut at the post-market end."""
    length_ns = int(length_ns)
    regular = session_segments(open_ns, close_ns, break_start_ns, break_end_ns)
    starts, ends = slot_bounds(regular, length_ns)
    if 0 <= pre_market_start_ns < open_ns:
        count = -(-(open_ns - pre_market_start_ns) // length_ns)
        grid = np.arange(open_ns - count * length_ns, open_ns, length_ns, dtype=np.int64)
        starts = np.concatenate([np.maximum(grid, pre_market_start_ns), starts])
        ends = np.concatenate([grid + length_ns, ends])
    if post_market_end_ns > close_ns:
        post_starts, post_ends = slot_bounds(((close_ns, post_market_end_ns),), length_ns)
        starts, ends = np.concatenate([starts, post_starts]), np.concatenate([ends, post_ends])
    return starts, ends


def slot_bounds(segments: tuple[tuple[int, int], ...], length_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the bar slots of one length over the trading parts: anchored at the start
    of each part and cut at its end."""
    length_ns = int(length_ns)
    starts = [np.arange(start, end, length_ns, dtype=np.int64) for start, end in segments]
    ends = [np.minimum(st + length_ns, end) for st, (_, end) in zip(starts, segments, strict=True)]
    if len(starts) == 1:
        return starts[0], ends[0]
    return np.concatenate(starts), np.concatenate(ends)


@dataclass
class CacheStats:
    """Hit/miss counters of the TimeManager's answer cache."""

    hits: int = 0
    misses: int = 0
    years_loaded: int = 0
    years_from_disk: int = 0        # years read from the calendar cache
    years_computed: int = 0         # years computed by pandas-market-calendars

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict:
        return {"hits": self.hits, "misses": self.misses, "hit_rate": round(self.hit_rate, 4),
                "years_loaded": self.years_loaded, "years_from_disk": self.years_from_disk,
                "years_computed": self.years_computed}


def months_before(day: dt.date, months: int) -> dt.date:
    """`day` minus whole calendar months, the day clipped to the month's last (31 March - 1 month =
    the end of February), as pandas' DateOffset subtracts months and years."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar_module.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


_OFFSET_BUCKET_NS = 15 * NS_PER_MINUTE
_ZONEINFO_MAX_ROWS = 2_000_000          # beyond: pandas converts faster than np.unique sorts
_ZONEINFO_MAX_BUCKETS = 20_000          # two zoneinfo readings each (~1 us): ~40 ms at most


def utc_offsets_ns(zone: ZoneInfo, ts_ns: np.ndarray, max_buckets: int = _ZONEINFO_MAX_BUCKETS) -> np.ndarray | None:
    """The UTC offset (int ns, local = UTC + offset) of `zone` at each int ns UTC timestamp, without
    pandas: read from zoneinfo once per 15-minute bucket holding timestamps (the same offset at the
    bucket's first and last nanosecond), else once per distinct timestamp of a bucket a clock change
    falls in. None when the timestamps fill more than `max_buckets` buckets (too many readings)."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    buckets, inverse = np.unique(np.floor_divide(ts, _OFFSET_BUCKET_NS), return_inverse=True)
    if len(buckets) > max_buckets:
        return None
    inverse = inverse.reshape(ts.shape)
    starts = [_offset_ns(zone, int(b) * _OFFSET_BUCKET_NS) for b in buckets]
    ends = [_offset_ns(zone, (int(b) + 1) * _OFFSET_BUCKET_NS - 1) for b in buckets]
    per_bucket = np.asarray(starts, dtype=np.int64)
    out = per_bucket[inverse]
    for k in np.flatnonzero(per_bucket != np.asarray(ends, dtype=np.int64)):
        rows = np.flatnonzero(inverse == k)
        out[rows] = [_offset_ns(zone, int(t)) for t in ts[rows]]
    return out


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def local_days(tz: str, ts_ns: np.ndarray) -> np.ndarray:
    """The calendar date (datetime64[D]) in zone `tz` of each int ns UTC timestamp."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    if not ts.size:
        return np.empty(ts.shape, dtype="datetime64[D]")
    offsets = utc_offsets_ns(ZoneInfo(tz), ts) if ts.size <= _ZONEINFO_MAX_ROWS else None
    if offsets is None:             # millions of bars, or times spread over many years: pandas
        import pandas as pd

        idx = pd.DatetimeIndex(ts.reshape(-1).view("datetime64[ns]"), tz="UTC")
        days = idx.tz_convert(tz).tz_localize(None).normalize().to_numpy().astype("datetime64[D]")
        return days.reshape(ts.shape)
    return np.floor_divide(ts + offsets, NS_PER_DAY).astype("datetime64[D]")


def _offset_ns(zone: ZoneInfo, ns: int) -> int:
    seconds, _ = divmod(ns, 1_000_000_000)
    offset = (_EPOCH + dt.timedelta(seconds=seconds)).astimezone(zone).utcoffset()
    return 0 if offset is None else offset // dt.timedelta(microseconds=1) * 1000


def parse_period(text: str) -> tuple[int, str]:
    """Parse a trailing period "10d", "52w", "3m", "1y" into (count, unit); ValueError otherwise."""
    s = str(text).strip().lower()
    if len(s) < 2 or s[-1] not in _PERIOD_UNITS or not s[:-1].isdigit() or int(s[:-1]) <= 0:
        raise ValueError(
            f"unknown period {text!r}: use a positive count with d (trading days), w (weeks), "
            "m (months) or y (years), e.g. '10d', '52w', '3m', '1y'"
        )
    return int(s[:-1]), s[-1]


_DEFAULT_CACHE = object()   # "the user's cache folder" (see workstation.calendar_cache)


class TimeManager:
    """Answers calendar questions for one exchange; thread safe; caches per calendar year.

    `cache_dir`: the calendar cache's root folder; by default the user's cache folder
    (`WORKSTATION_CACHE_DIR`, see workstation.calendar_cache); None: no disk cache (every year is
    computed by pandas-market-calendars). `session_hours`: "regular" or "extended" (the sessions
    `session`/`sessions` return; `session_bounds` and `break_mask` always answer regular hours).
    CalendarError when extended hours are asked of a calendar without pre/post-market times.
    """

    def __init__(self, exchange: str = "XNYS", tz: str | None = None,
                 cache_dir: str | Path | None | object = _DEFAULT_CACHE, session_hours: str = "regular"):
        if session_hours not in SESSION_HOURS:
            raise ValueError(f"unknown session hours {session_hours!r}: use one of {list(SESSION_HOURS)}")
        self.exchange = exchange
        self.session_hours = session_hours
        self._calendar = None           # the pandas-market-calendars object, built only when needed
        root = default_cache_root() if cache_dir is _DEFAULT_CACHE else cache_dir
        self._cache_root = Path(root) if root is not None else None  # type: ignore[arg-type]
        self._disk = CalendarCache(self._cache_root, exchange) if self._cache_root is not None else None
        self.stats = CacheStats()
        facts = self._disk.read_facts() if self._disk is not None else None
        if facts is None:
            calendar = self._library_calendar()     # CalendarError for an unknown name
            times = getattr(calendar, "regular_market_times", {})
            facts = CalendarFacts(str(calendar.tz), getattr(calendar, "break_start", None) is not None,
                                  "pre" in times and "post" in times)
            if self._disk is not None:
                self._disk.write_facts(facts)
        self.tz = tz or facts.tz
        self.exchange_tz = facts.tz     # the exchange's own zone (`tz` may be another one to show times in)
        self.has_breaks = facts.has_breaks
        self.has_extended_hours = facts.has_extended_hours
        if session_hours == "extended" and not self.has_extended_hours:
            raise CalendarError(
                f"exchange calendar {exchange!r} has no pre-/post-market times in pandas-market-calendars, so "
                "session_hours 'extended' cannot be used with it; for US equities use exchange 'NYSE' or "
                "'NASDAQ' (pre-market from 04:00, post-market to 20:00 New York time; the same regular "
                "sessions as 'XNYS' since 2007)")
        self._lock = threading.Lock()
        self._years: set[int] = set()
        self._dates: list[dt.date] = []
        self._ordinals: list[int] = []
        self._opens = np.empty(0, dtype=np.int64)
        self._closes = np.empty(0, dtype=np.int64)
        self._early: np.ndarray = np.empty(0, dtype=bool)
        self._break_starts = np.empty(0, dtype=np.int64)
        self._break_ends = np.empty(0, dtype=np.int64)
        self._pres = np.empty(0, dtype=np.int64)
        self._posts = np.empty(0, dtype=np.int64)
        self._session_cache: dict[dt.date, TradingSession | None] = {}

    def _library_calendar(self):
        """The pandas-market-calendars calendar (imported and built on first use: ~0.3 s)."""
        if self._calendar is None:
            import pandas_market_calendars as mcal

            try:
                self._calendar = mcal.get_calendar(self.exchange)
            except (RuntimeError, KeyError) as exc:
                raise CalendarError(
                    f"unknown exchange calendar {self.exchange!r}: use a pandas-market-calendars name such as "
                    "'XNYS' or 'NASDAQ'"
                ) from exc
            write_calendar_names(self._cache_root, list(mcal.get_calendar_names()))  # the editor's suggestions
        return self._calendar

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        """Picklable without its lock, so a calendar with its years loaded can be shipped once to
        sweep workers instead of each cell computing the schedule again."""
        state = self.__dict__.copy()
        del state["_lock"]
        state["_calendar"] = None       # rebuilt by name when needed: it carries 200 KB of its own caches
        state["_session_cache"] = {}    # answers are rebuilt from the loaded years at first use
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self.stats = CacheStats(years_loaded=len(self._years))  # a copy counts its own hits and misses

    def with_session_hours(self, session_hours: str) -> TimeManager:
        """This calendar answering sessions of other hours (itself when they are the same); the copy
        shares nothing mutable and keeps the years already loaded."""
        if session_hours == self.session_hours:
            return self
        if session_hours not in SESSION_HOURS:
            raise ValueError(f"unknown session hours {session_hours!r}: use one of {list(SESSION_HOURS)}")
        if session_hours == "extended" and not self.has_extended_hours:
            raise CalendarError(f"exchange calendar {self.exchange!r} has no pre-/post-market times: use "
                                "exchange 'NYSE' or 'NASDAQ' for session_hours 'extended'")
        copy = TimeManager.__new__(TimeManager)
        copy.__setstate__(self.__getstate__())
        copy.session_hours = session_hours
        return copy

    # ----------------------------------------------------------------- loading
    def _ensure_years(self, first: int, last: int) -> None:
        missing = [y for y in range(first, last + 1) if y not in self._years]
        if not missing:
            self.stats.hits += 1
            return
        self.stats.misses += 1
        with self._lock:
            missing = [y for y in missing if y not in self._years]
            if not missing:
                return
            if min(missing) < 1990 or max(missing) > 2100:
                raise CalendarError(f"dates in years {missing} are outside the supported calendar 1990-2100")
            tables = self._read_years(missing)
            to_compute = [y for y in missing if y not in tables]
            if to_compute:
                for table in self._compute_years(to_compute):
                    tables[table.year] = table
                    if self._disk is not None:
                        self._disk.write_year(table)
            loaded = [tables[y] for y in missing]
            ordinals = np.concatenate([np.asarray(self._ordinals, dtype=np.int64)] + [t.ordinals for t in loaded])
            order = np.argsort(ordinals, kind="stable")
            self._ordinals = ordinals[order].tolist()
            self._dates = [dt.date.fromordinal(o) for o in self._ordinals]
            self._opens = np.concatenate([self._opens] + [t.opens for t in loaded])[order]
            self._closes = np.concatenate([self._closes] + [t.closes for t in loaded])[order]
            self._break_starts = np.concatenate([self._break_starts] + [t.break_starts for t in loaded])[order]
            self._break_ends = np.concatenate([self._break_ends] + [t.break_ends for t in loaded])[order]
            self._pres = np.concatenate([self._pres] + [t.pres for t in loaded])[order]
            self._posts = np.concatenate([self._posts] + [t.posts for t in loaded])[order]
            # trading length: a lunch break does not count
            lengths = self._closes - self._opens - np.where(self._break_starts >= 0,
                                                            self._break_ends - self._break_starts, 0)
            # an early close is a session shorter than the exchange's usual (modal) length
            usual = np.bincount((lengths // NS_PER_MINUTE).astype(np.int64)).argmax() if len(lengths) else 0
            self._early = (lengths // NS_PER_MINUTE) < usual
            self._years.update(missing)
            self.stats.years_loaded = len(self._years)

    def _read_years(self, years: list[int]) -> dict[int, YearSchedule]:
        """The years the disk cache holds valid copies of."""
        if self._disk is None:
            return {}
        found = {}
        for year in years:
            table = self._disk.read_year(year)
            if table is not None:
                found[year] = table
        self.stats.years_from_disk += len(found)
        return found

    def _compute_years(self, years: list[int]) -> list[YearSchedule]:
        """The years' sessions from pandas-market-calendars (one schedule over their span), with the
        calendar's own pre/post-market times where it has them (`start="pre", end="post"`: the
        regular open and close are the same as without them)."""
        calendar = self._library_calendar()
        extended = {"start": "pre", "end": "post"} if self.has_extended_hours else {}
        sched = calendar.schedule(start_date=f"{min(years)}-01-01", end_date=f"{max(years)}-12-31", **extended)
        ordinals = np.array([d.toordinal() for d in sched.index.date], dtype=np.int64)
        year_of = np.array([d.year for d in sched.index.date], dtype=np.int64)
        opens = sched["market_open"].dt.as_unit("ns").astype("int64").to_numpy()
        closes = sched["market_close"].dt.as_unit("ns").astype("int64").to_numpy()
        break_starts, break_ends = _break_columns(sched)
        pres, posts = (_time_column(sched, "pre"), _time_column(sched, "post"))
        self.stats.years_computed += len(years)
        tables = []
        for year in years:
            keep = year_of == year
            tables.append(YearSchedule(year, ordinals[keep], opens[keep], closes[keep], break_starts[keep],
                                       break_ends[keep], pres[keep], posts[keep]))
        return tables

    def _index_on_or_after(self, day: dt.date) -> int:
        self._ensure_years(day.year, day.year + 1)
        return bisect.bisect_left(self._ordinals, day.toordinal())

    # ----------------------------------------------------------------- queries
    def session(self, day: dt.date | str) -> TradingSession | None:
        """The trading session of `day` (exchange-local date), or None when the exchange is shut."""
        day = as_date(day)
        cached: TradingSession | None | Literal[False] = self._session_cache.get(day, False)
        if cached is not False:
            self.stats.hits += 1
            return cached
        self._ensure_years(day.year, day.year)
        i = bisect.bisect_left(self._ordinals, day.toordinal())
        result = None
        if i < len(self._dates) and self._dates[i] == day:
            extended = self.session_hours == "extended"
            result = TradingSession(day, int(self._opens[i]), int(self._closes[i]), self.tz,
                                    bool(self._early[i]), int(self._break_starts[i]),
                                    int(self._break_ends[i]),
                                    int(self._pres[i]) if extended else -1,
                                    int(self._posts[i]) if extended else -1)
        self._session_cache[day] = result
        return result

    def is_trading_day(self, day: dt.date | str) -> bool:
        return self.session(day) is not None

    def first_trading_date_on_or_after(self, day: dt.date | str) -> dt.date:
        day = as_date(day)
        i = self._index_on_or_after(day)
        if i >= len(self._dates):
            self._ensure_years(day.year + 2, day.year + 2)
            i = bisect.bisect_left(self._ordinals, day.toordinal())
        return self._dates[i]

    def next_trading_date(self, day: dt.date | str) -> dt.date:
        """The first trading date strictly after `day`."""
        return self.first_trading_date_on_or_after(as_date(day) + dt.timedelta(days=1))

    def previous_trading_date(self, day: dt.date | str) -> dt.date:
        """The last trading date strictly before `day`."""
        return self.trading_days_back(day, 1)

    def trading_days_back(self, day: dt.date | str, n: int) -> dt.date:
        """The trading date `n` trading days before `day` (`day` itself need not trade)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        day = as_date(day)
        approx_years = n // 240 + 1
        self._ensure_years(day.year - approx_years - 1, day.year)
        i = bisect.bisect_left(self._ordinals, day.toordinal())
        if n == 0:
            return day
        j = i - n
        if j < 0:
            raise CalendarError(f"{n} trading days before {day} is outside the supported calendar")
        return self._dates[j]

    def trading_dates(self, start: dt.date | str, end: dt.date | str) -> list[dt.date]:
        """Trading dates in [start, end], both inclusive."""
        start, end = as_date(start), as_date(end)
        if end < start:
            return []
        self._ensure_years(start.year, end.year)
        i = bisect.bisect_left(self._ordinals, start.toordinal())
        j = bisect.bisect_right(self._ordinals, end.toordinal())
        return self._dates[i:j]

    def sessions(self, start: dt.date | str, end: dt.date | str) -> list[TradingSession]:
        return [s for s in (self.session(d) for d in self.trading_dates(start, end)) if s is not None]

    def overnight_session(self, start: dt.date | str, end: dt.date | str) -> TradingSession | None:
        """The first session from `start` to `end` (dates, inclusive) whose hours run across midnight
        in the exchange's own zone (it opens the evening before its date, as CME's Globex futures and
        currencies do, or closes after midnight), else None. The store files bars, and the engine
        replays sessions, by the exchange's local date, so such sessions cannot be run. (A display
        zone in which a session crosses midnight, XNYS shown in Asia/Tokyo, is no problem.)"""
        return self.first_overnight(self.sessions(start, end))

    def first_overnight(self, sessions: list[TradingSession]) -> TradingSession | None:
        """The first of `sessions` (this calendar's) that runs across midnight in the exchange's own
        zone, else None (`overnight_session`, for sessions the caller has already)."""
        if not sessions:
            return None
        bounds = np.array([(s.start_ns, s.end_ns - 1) for s in sessions], dtype=np.int64)
        days = local_days(self.exchange_tz, bounds)
        own = np.array([s.date for s in sessions], dtype="datetime64[D]")
        crossing = np.flatnonzero((days != own[:, None]).any(axis=1))
        return sessions[int(crossing[0])] if crossing.size else None

    def trailing_dates(self, day: dt.date | str, period: str) -> list[dt.date]:
        """Trading dates of the trailing `period` before `day` (exclusive): "10d" = the 10 trading
        days before; "52w" / "3m" / "1y" = every trading date in that calendar span before `day`."""
        count, unit = parse_period(period)
        day = as_date(day)
        if unit == "d":
            first = self.trading_days_back(day, count)
        elif unit == "w":
            first = day - dt.timedelta(weeks=count)
        else:
            first = months_before(day, count if unit == "m" else 12 * count)
        return self.trading_dates(first, day - dt.timedelta(days=1))

    def session_of_time(self, ts_ns: int) -> TradingSession | None:
        """The session whose exchange-local date is that of `ts_ns` (whether or not it is open)."""
        import pandas as pd

        local = pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").tz_convert(self.tz)
        return self.session(local.date())

    def local_dates(self, ts_ns: np.ndarray) -> np.ndarray:
        """Exchange-local calendar date (datetime64[D]) of each int ns UTC timestamp."""
        return local_days(self.tz, ts_ns)

    def local_midnight_ns(self, day: dt.date) -> int:
        """The start of exchange-local date `day` as int ns UTC (a midnight that a clock change skips
        or repeats: zoneinfo's first reading, fold 0)."""
        aware = dt.datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return (aware - _EPOCH) // dt.timedelta(microseconds=1) * 1000

    @property
    def zone(self) -> ZoneInfo:
        """The exchange's time zone (zoneinfo: no pandas)."""
        return ZoneInfo(self.tz)        # ZoneInfo caches its instances by key

    def session_bounds(self, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised open/close (int ns UTC) for datetime64[D] dates; -1 where no session."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        if len(dates) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        years = dates.astype("datetime64[Y]").astype(int) + 1970
        self._ensure_years(int(years.min()), int(years.max()))
        ordinals = dates.astype(np.int64) + dt.date(1970, 1, 1).toordinal()
        table = np.asarray(self._ordinals, dtype=np.int64)
        pos = np.searchsorted(table, ordinals)
        pos_c = np.minimum(pos, len(table) - 1)
        found = table[pos_c] == ordinals
        opens = np.where(found, self._opens[pos_c], -1)
        closes = np.where(found, self._closes[pos_c], -1)
        return opens, closes


    def break_mask(self, ts_ns: np.ndarray, dates: np.ndarray | None = None) -> np.ndarray:
        """True where an int ns UTC bar start falls in its date's lunch break (XTKS, XHKG);
        `dates` = the exchange-local dates of `ts_ns` when already known."""
        ts_ns = np.asarray(ts_ns, dtype=np.int64)
        if len(ts_ns) == 0 or not self.has_breaks:
            return np.zeros(ts_ns.shape, dtype=bool)
        dates = self.local_dates(ts_ns) if dates is None else np.asarray(dates, dtype="datetime64[D]")
        self.session_bounds(dates)                      # loads the years
        ordinals = dates.astype(np.int64) + dt.date(1970, 1, 1).toordinal()
        table = np.asarray(self._ordinals, dtype=np.int64)
        pos = np.minimum(np.searchsorted(table, ordinals), len(table) - 1)
        found = table[pos] == ordinals
        starts, ends = self._break_starts[pos], self._break_ends[pos]
        return found & (starts >= 0) & (ts_ns >= starts) & (ts_ns < ends)


def _break_columns(sched: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """break_start / break_end of a pandas-market-calendars schedule as int ns (-1: no break, e.g.
    an exchange without one, or a half day that closes at the break)."""
    n = len(sched)
    if "break_start" not in sched.columns or "break_end" not in sched.columns:
        return np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    starts = sched["break_start"]
    ends = sched["break_end"]
    valid = (starts.notna() & ends.notna()).to_numpy()
    s_ns = np.full(n, -1, dtype=np.int64)
    e_ns = np.full(n, -1, dtype=np.int64)
    s_ns[valid] = starts[valid].dt.as_unit("ns").astype("int64").to_numpy()
    e_ns[valid] = ends[valid].dt.as_unit("ns").astype("int64").to_numpy()
    opens = sched["market_open"].dt.as_unit("ns").astype("int64").to_numpy()
    closes = sched["market_close"].dt.as_unit("ns").astype("int64").to_numpy()
    inside = valid & (opens < s_ns) & (s_ns < e_ns) & (e_ns < closes)
    s_ns[~inside] = -1
    e_ns[~inside] = -1
    return s_ns, e_ns


def _time_column(sched: pd.DataFrame, name: str) -> np.ndarray:
    """A market-time column of a schedule as int ns (-1 where the calendar has none, or NaT)."""
    if name not in sched.columns:
        return np.full(len(sched), -1, dtype=np.int64)
    column = sched[name]
    out = np.full(len(sched), -1, dtype=np.int64)
    valid = column.notna().to_numpy()
    out[valid] = column[valid].dt.as_unit("ns").astype("int64").to_numpy()
    return out


def overnight_problem(exchange: str, session: TradingSession, tz: str) -> str:
    """Why a calendar whose `session` runs across midnight in its zone `tz` cannot be used
    (TimeManager.overnight_session)."""
    def local(ns: int) -> str:
        return dt.datetime.fromtimestamp(ns / 1e9, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")

    return (f"exchange {exchange!r} has sessions across midnight ({session.date}: {local(session.start_ns)} to "
            f"{local(session.end_ns)[11:]} {tz}), not supported yet: bars are stored and sessions replayed by "
            "the exchange's date; for currencies use exchange '24/5' (whole UTC days)")


def cached_calendar_names() -> list[str] | None:
    """Every pandas-market-calendars calendar name, from the calendar cache (the library is not
    imported); None until a process has built a calendar with the library."""
    return read_calendar_names(default_cache_root())


def as_date(day) -> dt.date:
    """A date from a date, a datetime or an ISO 'YYYY-MM-DD' string; ValueError naming the text."""
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    try:
        return dt.date.fromisoformat(str(day))
    except ValueError as exc:
        raise ValueError(f"invalid date {day!r}: use YYYY-MM-DD") from exc


# --------------------------------------------------------------------- clocks
class Clock(Protocol):
    """What every component asks for the time (int ns UTC)."""

    def now_ns(self) -> int: ...


class SimulatedClock:
    """Backtest clock: set explicitly by the coordinator, never moved backwards."""

    def __init__(self, start_ns: int = 0):
        self._now = int(start_ns)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        return self._now

    def now(self) -> pd.Timestamp:
        import pandas as pd

        return pd.Timestamp(self._now, unit="ns", tz="UTC")

    def advance_to(self, ts_ns: int) -> None:
        """Move the clock forward to `ts_ns`; raise ValueError on an attempt to go backwards."""
        ts_ns = int(ts_ns)
        with self._lock:
            if ts_ns < self._now:
                raise ValueError(
                    f"simulated clock cannot go backwards: now {self._now}, asked {ts_ns}"
                )
            self._now = ts_ns

    def reset(self, ts_ns: int) -> None:
        """Reset for a new run (jump to a date); only the coordinator calls this between runs."""
        with self._lock:
            self._now = int(ts_ns)


class WallClock:
    """Live clock: wall time, optionally offset (a replay 'as if live' at another date)."""

    def __init__(self, offset_ns: int = 0):
        self.offset_ns = int(offset_ns)

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns

    def now(self) -> pd.Timestamp:
        import pandas as pd

        return pd.Timestamp(self.now_ns(), unit="ns", tz="UTC")
