"""Does a file's declared time zone (--tz) fit its bars? A check of imported intraday bars.

Naive timestamps are read in the zone `--tz` names; a wrong zone shifts every bar by hours and the
import still succeeds (a naive-UTC file read as New York time puts most regular-session bars into
post-market). Two signs of the zone the file was really written in, both measured on the file's
bars read in the declared zone and in other common zones (the wall-clock times kept, the zone
changed):

- the regular-hours share: the part of the bars inside the exchange's regular session (open to
  close, lunch break excluded). A zone under which far more bars fall in regular hours is a better
  reading of the file;
- the opening bar: the bar at the open carries the opening auction, so its volume stands well above
  the session's median bar volume. A declared zone whose opening bar is ordinary while another
  zone's opening bar has that spike is a wrong reading.

A zone that reads most bars as the declared one but changes its clocks on other dates (Europe/Athens
against MetaTrader's New York + 7 hours) is compared on the bars the two read differently only.

`declared_zone_warning` returns a sentence saying which sign fired and which zone fits better, or
None. Pure function of the bars and the calendar; the importer calls it per file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager
from workstation.store.import_zones import METATRADER_SERVER_TIME, localize, wall_times

CANDIDATE_ZONES = ("UTC", "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
                   "Europe/Berlin", METATRADER_SERVER_TIME, "Asia/Tokyo", "Asia/Hong_Kong", "Asia/Shanghai",
                   "Australia/Sydney")
"""Zones a vendor file is commonly written in (the exchange's own zone is always tried too; see
import_zones for the shifted MetaTrader server time)."""

MIN_BARS = 200
MIN_SESSIONS = 2
SHARE_GAIN = 0.25          # another zone puts at least 25 points more of the bars in regular hours
SPIKE_RATIO = 2.0          # an opening bar's volume over the session's median bar volume
SPIKE_GAIN = 2.5           # ... and at least this many times the declared zone's opening bar ratio
MAX_ROWS = 200_000         # bars looked at (evenly spaced) in a very large file


def declared_zone_warning(timestamps_ns: np.ndarray, volume: np.ndarray, declared_tz: str,
                          time_manager: TimeManager) -> str | None:
    """A warning when the bars (int ns UTC, as read in `declared_tz`) fit another zone clearly
    better; None when the declared zone fits, or when there are too few bars to tell."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    vol = np.asarray(volume, dtype=np.float64)
    if len(ts) < MIN_BARS:
        return None
    if len(ts) > MAX_ROWS:
        keep = np.linspace(0, len(ts) - 1, MAX_ROWS).astype(np.int64)
        ts, vol = ts[keep], vol[keep]
    wall = wall_times(ts, declared_tz)
    zones = [declared_tz] + [z for z in dict.fromkeys((time_manager.tz, *CANDIDATE_ZONES)) if z != declared_tz]
    readings = {zone: _instants(wall, zone) for zone in zones}
    fits = {}
    for zone, instants in readings.items():
        fit = _fit(instants, vol, time_manager) if instants is not None else None
        if fit is not None:
            fits[zone] = fit
    declared = fits.get(declared_tz)
    if declared is None or declared["sessions"] < MIN_SESSIONS:
        return None
    others = {z: f for z, f in fits.items() if z != declared_tz}
    if not others:
        return None
    best_share = max(others, key=lambda z: others[z]["share"])
    if others[best_share]["share"] - declared["share"] >= SHARE_GAIN:
        best = others[best_share]
        return (f"--tz {declared_tz} may be wrong: read as {declared_tz}, {declared['share']:.0%} of the bars fall in "
                f"the regular session ({declared['outside']:,} outside it); read as {best_share}, "
                f"{best['share']:.0%} do{_spike_note(best)}. The timestamps look like {best_share} time; "
                f"if so, remove these bars and re-import with --tz {best_share}.")
    spiky = {z: f for z, f in others.items()
             if f["spike"] >= max(SPIKE_RATIO, SPIKE_GAIN * declared["spike"]) and f["share"] >= declared["share"] - 0.05}
    if spiky:
        zone = max(spiky, key=lambda z: spiky[z]["spike"])
        return (f"--tz {declared_tz} may be wrong: read as {declared_tz}, the bar at the open has "
                f"{declared['spike']:.1f}x the median bar volume (little or no opening-auction spike); read as "
                f"{zone}, {spiky[zone]['spike']:.1f}x. The timestamps look like {zone} time; if so, remove "
                f"these bars and re-import with --tz {zone}.")
    return _daylight_saving_warning(readings, vol, declared_tz, time_manager)


def _daylight_saving_warning(readings: dict[str, np.ndarray | None], vol: np.ndarray, declared_tz: str,
                             time_manager: TimeManager) -> str | None:
    """A zone that reads most bars as the declared zone does but changes its clocks on other dates
    (Europe/Athens and MetaTrader's New York + 7 hours: the EU and the US dates, weeks apart) shifts
    the bars of those weeks by an hour, too few for the whole file's figures to tell. Compared on
    the bars the two readings put at different instants only: a warning when the other zone fits
    those clearly better (the regular-hours share or the opening-auction spike, as above)."""
    declared = readings[declared_tz]
    if declared is None:
        return None
    for zone, instants in readings.items():
        if zone == declared_tz or instants is None:
            continue
        differ = (declared != instants) & (declared != _NAT) & (instants != _NAT)
        if differ.sum() < MIN_BARS or differ.mean() > 0.5:
            continue                    # the same reading, or a different zone altogether (above)
        mine = _fit(declared[differ], vol[differ], time_manager)
        theirs = _fit(instants[differ], vol[differ], time_manager)
        if mine is None or theirs is None:
            continue
        better_share = theirs["share"] - mine["share"] >= SHARE_GAIN
        better_spike = (theirs["spike"] >= max(SPIKE_RATIO, SPIKE_GAIN * mine["spike"])
                        and theirs["share"] >= mine["share"] - 0.05)
        if not (better_share or better_spike):
            continue
        days = time_manager.local_dates(declared[differ])
        first, last, count = days.min(), days.max(), len(np.unique(days))
        sign = (f"{mine['share']:.0%} of their bars fall in the regular session, {theirs['share']:.0%} read as {zone}"
                if better_share else f"the bar at the open has {mine['spike']:.1f}x the median bar volume, "
                f"{theirs['spike']:.1f}x read as {zone}")
        server = (" (MetaTrader servers keep New York time + 7 hours)" if zone == METATRADER_SERVER_TIME else "")
        return (f"--tz {declared_tz} may be wrong on its daylight-saving dates: {declared_tz} and {zone} read "
                f"{count} sessions ({first} .. {last}) an hour apart and agree on the others; in those sessions "
                f"{sign}. The timestamps look like {zone} time{server}; if so, remove these bars and re-import "
                f"with --tz {zone}.")
    return None


def _spike_note(fit: dict) -> str:
    return f" and the bar at the open has {fit['spike']:.1f}x the median bar volume" if fit["spike"] >= SPIKE_RATIO else ""


_NAT = np.iinfo(np.int64).min


def _instants(wall: pd.DatetimeIndex, zone: str) -> np.ndarray | None:
    """The wall times read in `zone` as int ns UTC (_NAT where the time does not exist or is ambiguous
    there); None for a zone that cannot be read."""
    try:
        local = localize(wall, zone)
    except Exception:  # noqa: BLE001 - an unknown zone is simply not a candidate
        return None
    return local.tz_convert("UTC").as_unit("ns").asi8.copy()


def _sessions(ts: np.ndarray, tm: TimeManager) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(exchange-local date, session open, session close) of each instant (int ns UTC); None when the
    dates lie outside the calendar (then the checks have no opinion)."""
    try:
        dates = tm.local_dates(ts)
        opens, closes = tm.session_bounds(dates)
    except Exception:  # noqa: BLE001 - dates outside the calendar: no opinion
        return None
    return dates, opens, closes


def _fit(instants: np.ndarray, vol: np.ndarray, tm: TimeManager) -> dict | None:
    """Regular-hours share and opening-bar volume ratio of the bars at these instants (int ns UTC,
    _NAT skipped)."""
    ok = instants != _NAT
    if not ok.any():
        return None
    ts = instants[ok]
    v = vol[ok]
    sessions_of = _sessions(ts, tm)
    if sessions_of is None:
        return None
    dates, opens, closes = sessions_of
    regular = (opens >= 0) & (ts >= opens) & (ts < closes) & ~tm.break_mask(ts, dates)
    share = float(regular.mean())
    at_open = regular & (ts == opens)
    sessions = int(len(np.unique(dates[regular]))) if regular.any() else 0
    spike = 0.0
    if at_open.sum() >= MIN_SESSIONS and regular.sum() > at_open.sum():
        median = float(np.median(v[regular & ~at_open]))
        if median > 0:
            spike = float(np.median(v[at_open])) / median
    return {"share": share, "outside": int((~regular).sum()), "spike": spike, "sessions": sessions}


END_STAMP_SHARE = 0.8      # sessions with a bar at the close and none at the open, of those with bars after the open


def bar_end_warning(timestamps_ns: np.ndarray, volume: np.ndarray, interval_ns: int,
                    time_manager: TimeManager) -> str | None:
    """A warning when intraday bars read as bar starts look stamped with their ends (NinjaTrader and
    TradeStation stamp a bar with its end), so that each sits one interval late. Two signs, either
    fires it:

    - the opening auction's volume spike sits on the bar one interval after the open, not on the bar
      at the open (an hour off, as a wrong --tz gives, it sits on an ordinary bar);
    - in most sessions with a bar one interval after the open there is a bar at the close (a start
      there lies after the session), none at the open and none one interval after the close (bars of
      extended hours have a bar at the open; bars read an hour off have bars past the close).

    None when the bars fit, or when there are too few to tell."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    vol = np.asarray(volume, dtype=np.float64)
    if len(ts) < MIN_BARS:
        return None
    ts, first = np.unique(ts, return_index=True)
    vol = vol[first]
    sessions_of = _sessions(ts, time_manager)
    if sessions_of is None:
        return None
    dates, opens, closes = sessions_of
    trading = opens >= 0
    if not trading.any():
        return None
    ts, vol, dates, opens, closes = ts[trading], vol[trading], dates[trading], opens[trading], closes[trading]
    bars = pd.DataFrame({"date": dates, "at_open": ts == opens, "after_open": ts == opens + interval_ns,
                         "at_close": ts == closes, "after_close": ts == closes + interval_ns,
                         "regular": (ts >= opens) & (ts <= closes), "volume": vol})
    days = bars.groupby("date")[["at_open", "after_open", "at_close", "after_close"]].any()
    seen = days[days["after_open"]]
    if len(seen) < MIN_SESSIONS:
        return None
    late = seen[seen["at_close"] & ~seen["at_open"] & ~seen["after_close"]]
    spike = _late_spike(bars)
    if len(late) < END_STAMP_SHARE * len(seen) and spike is None:
        return None
    first_open = pd.Timestamp(int(opens[0]), tz="UTC").tz_convert(time_manager.tz).strftime("%H:%M")
    last = pd.Timestamp(int(closes[0]), tz="UTC").tz_convert(time_manager.tz).strftime("%H:%M")
    sign = (f"the opening auction's volume ({spike[1]:.1f}x the median bar) is on the bar after the open, the bar "
            f"at the open has {spike[0]:.1f}x" if spike is not None else
            f"{len(late)} of {len(seen)} sessions have a bar at the close ({last}) and none at the open "
            f"({first_open})")
    return (f"the times look like bar ends, not starts: {sign}, so each bar sits one interval late (NinjaTrader "
            f"and TradeStation stamp a bar with its end). If so, remove these bars from the store and re-import "
            f"with --bar-time end.")


def _late_spike(bars: pd.DataFrame) -> tuple[float, float] | None:
    """(volume ratio of the bar at the open, of the bar one interval after it) to the median bar of the
    regular session, medians over the sessions, when the spike sits on the later bar; else None."""
    regular = bars[bars["regular"]]
    median = regular.groupby("date")["volume"].median()
    median = median[median > 0]
    if len(median) < MIN_SESSIONS:
        return None
    at_open = regular[regular["at_open"]].set_index("date")["volume"].reindex(median.index).fillna(0.0) / median
    after = regular[regular["after_open"]].set_index("date")["volume"].reindex(median.index) / median
    after = after.dropna()
    if len(after) < MIN_SESSIONS:
        return None
    open_ratio, after_ratio = float(at_open[after.index].median()), float(after.median())
    if after_ratio >= max(SPIKE_RATIO, SPIKE_GAIN * open_ratio):
        return open_ratio, after_ratio
    return None
