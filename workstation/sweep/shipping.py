"""Which bars each sweep cell needs, read once from the bar store and shipped through Ray.

`cell_needs` answers, from the config and the calendar alone, which exchange-local dates a run of
that config reads (the same rules as the engine's coordinator and historical service):
- the streamed interval: every session of [start_date, end_date] and the days the warm-up may read
  before it (pipeline.warmup: as many trading days as `warmup_max_days` of the config's warm-up
  counts, the bound the engine's WarmupLoader never reads past);
- 1m bars for the historical phase: the trailing days (`historical.trailing_days`) and the days of
  `avg_intraday` indicators before the first session, up to the last session;
- daily bars for `avg_daily`/`max`/`min` indicators: from the longest period before the first
  session to the last session (and the 1m bars of that span too when the store has no daily bars
  there: the engine reads the daily bars, finds none and aggregates the minutes).
Nothing after a cell's end_date is ever shipped to it: a walk-forward train cell cannot see its
test window.

`DataShipper` (driver side) reads each needed date of the store once, as a `BarBlock`, and puts it
in Ray's object store; cells receive the references of their dates as task arguments, so Ray moves
each block to a node once, and every worker of that node maps the same shared-memory copy
(zero-copy numpy): no worker reads the store or parses Parquet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from workstation.calendar import TimeManager
from workstation.config import SessionConfig
from workstation.errors import CalendarError, ConfigError, StoreError, named
from workstation.pipeline.warmup import config_warmup_counts, warmup_max_days
from workstation.store import BarStore
from workstation.store.memory_store import BarBlock
from workstation.store.schema import DAILY_INTERVAL

HISTORICAL_INTERVAL = "1m"


@dataclass(frozen=True)
class CellNeeds:
    """The bars one cell reads: intraday dates per interval, and the daily date range (or None)."""

    intraday: dict[str, tuple[dt.date, ...]]
    daily: tuple[dt.date, dt.date] | None
    symbols: tuple[str, ...]


def cell_needs(cfg: SessionConfig, time_manager: TimeManager, has_daily_bars: Callable[[tuple[str, ...], dt.date,
               dt.date], bool]) -> CellNeeds:
    """The dates a run of `cfg` reads from the store (module docstring). `has_daily_bars(symbols,
    first, last)` tells whether the store has daily bars there (else 1m bars are aggregated)."""
    tm = time_manager
    sessions = [s.date for s in tm.sessions(cfg.backtest.start_date, cfg.backtest.end_date)]
    if not sessions:
        raise ConfigError("(config)", [("backtest", f"no trading days between {cfg.backtest.start_date} and "
                                                    f"{cfg.backtest.end_date} on {cfg.exchange}")])
    first, last = sessions[0], sessions[-1]
    base = cfg.streams.interval
    intraday: dict[str, set[dt.date]] = {base: set(sessions)}
    counts = config_warmup_counts(cfg)
    if any(counts.values()):
        try:
            first_hist = tm.trading_days_back(first, warmup_max_days(counts))
        except CalendarError:
            first_hist = first
        intraday[base] |= set(tm.trading_dates(first_hist, first - dt.timedelta(days=1)))
    hist = cfg.historical
    starts: list[dt.date] = []
    if hist.trailing_days > 0:
        starts += tm.trailing_dates(first, f"{hist.trailing_days}d")[:1]
    starts += [d for i in hist.indicators if i.kind == "avg_intraday" for d in tm.trailing_dates(first, i.period)[:1]]
    daily = None
    daily_periods = [i.period for i in hist.indicators if i.kind in ("avg_daily", "max", "min")]
    symbols = tuple(cfg.symbols)
    if daily_periods:
        earliest = min((tm.trailing_dates(first, p) or [first])[0] for p in daily_periods)
        # the engine reads the daily bars of the span first (HistoricalService.prepare): shipped even
        # when the store has none there, so the cell gets the store's empty answer, not a refusal ...
        daily = (earliest, last)
        if not has_daily_bars(tuple(cfg.historical_symbols()), earliest, last):
            starts.append(earliest)     # ... and then aggregates the 1m bars of the span, shipped too
    if starts:
        intraday.setdefault(HISTORICAL_INTERVAL, set()).update(tm.trading_dates(min(starts), last))
    return CellNeeds({k: tuple(sorted(v)) for k, v in intraday.items()}, daily, symbols)


class DataShipper:
    """Reads bars from the store at most once per (interval, date) and puts each block in Ray's object
    store (`put` is `ray.put`; tests pass a plain function). Driver side only."""

    def __init__(self, store: BarStore, time_manager: TimeManager, symbols: Iterable[str],
                 put: Callable[[Any], Any], should_stop: Callable[[], bool] = lambda: False):
        self.store = store
        self.tm = time_manager
        self.symbols = sorted(set(symbols))
        self.put = put
        self.should_stop = should_stop
        self._days: dict[tuple[str, dt.date], Any] = {}
        self._daily_frame: BarBlock | None = None
        self._daily_span: tuple[dt.date, dt.date] | None = None
        self._planned: tuple[dt.date, dt.date] | None = None
        self._daily: dict[tuple[dt.date, dt.date], Any] = {}
        self._has_daily: dict[tuple[tuple[str, ...], dt.date, dt.date], bool] = {}
        self.catalog: dict[str, list[str]] = {}
        self.bytes_shipped = 0
        self.blocks_shipped = 0
        self.store_reads = 0

    def has_daily_bars(self, symbols: tuple[str, ...], first: dt.date, last: dt.date) -> bool:
        key = (symbols, first, last)
        if key not in self._has_daily:
            self._has_daily[key] = len(self.store.read_daily(list(symbols), first, last)) > 0
        return self._has_daily[key]

    def symbols_of(self, interval: str) -> list[str]:
        """Every symbol the store has bars of `interval` (what SystemManager checks the config against)."""
        if interval not in self.catalog:
            self.catalog[interval] = self.store.symbols(interval)
        return self.catalog[interval]

    def check_symbols(self, cfg: SessionConfig, label: str) -> None:
        known = set(self.symbols_of(cfg.streams.interval))
        missing = [s for s in cfg.symbols if s not in known]
        if missing:
            raise StoreError(f"{label}: {named('symbol', missing)} {'has' if len(missing) == 1 else 'have'} no "
                             f"{cfg.streams.interval} bars in the store "
                             f"{self.store.root}; remove them from the config or the swept values")

    def expect(self, needs: Iterable[CellNeeds]) -> None:
        """Announce the cells to come, so the daily bars are read once for all of them."""
        spans = [n.daily for n in needs if n.daily is not None]
        if spans:
            lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
            if self._planned is not None:
                lo, hi = min(lo, self._planned[0]), max(hi, self._planned[1])
            self._planned = (lo, hi)

    def refs(self, needs: CellNeeds) -> list[Any]:
        """The object references of every block `needs` names, reading and putting the missing ones."""
        out = []
        for interval, dates in needs.intraday.items():
            for day in dates:
                key = (interval, day)
                if key not in self._days:
                    if self.should_stop():
                        raise KeyboardInterrupt
                    self._days[key] = self._ship(self._read_day(interval, day))
                out.append(self._days[key])
        if needs.daily is not None:
            if needs.daily not in self._daily:
                self._daily[needs.daily] = self._ship(self._daily_block(*needs.daily))
            out.append(self._daily[needs.daily])
        return out

    def _ship(self, block: BarBlock) -> Any:
        self.bytes_shipped += block.nbytes
        self.blocks_shipped += 1
        return self.put(block)

    def _read_day(self, interval: str, day: dt.date) -> BarBlock:
        start = self._local_midnight_ns(day)
        end = self._local_midnight_ns(day + dt.timedelta(days=1))
        self.store_reads += 1
        frame = self.store.read_bars(self.symbols, interval, start, end)
        return BarBlock.from_frame(frame, interval, day, day)

    def _daily_block(self, first: dt.date, last: dt.date) -> BarBlock:
        """Daily bars of [first, last], cut from one read of the widest span asked so far."""
        span, block = self._daily_span, self._daily_frame
        if block is None or span is None or first < span[0] or last > span[1]:
            lo, hi = (first, last) if span is None else (min(first, span[0]), max(last, span[1]))
            if self._planned is not None:
                lo, hi = min(lo, self._planned[0]), max(hi, self._planned[1])
            self.store_reads += 1
            frame = self.store.read_daily(self.symbols, lo, hi).drop(columns=["date"])
            block = self._daily_frame = BarBlock.from_frame(frame, DAILY_INTERVAL, lo, hi)
            self._daily_span = (lo, hi)
        return block.select(first, last, self.tm)

    def _local_midnight_ns(self, day: dt.date) -> int:
        import pandas as pd

        return int(pd.Timestamp(day).tz_localize(self.tm.tz).tz_convert("UTC").value)
