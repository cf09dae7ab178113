"""What a session config needs that its bar store does not have, as a fetch request (no Qt, no network).

The config editor offers "Fetch from Alpaca…" when `missing_store_data` finds, for a backtest or a
replay config, trading days of its date range on which one of its symbols has no bar in the store
(or no store at all). The request it builds covers those symbols over the first to last such day;
the fetch itself skips every day already complete, so asking for a little more costs nothing.
Keys, feed and the data URL follow the config's `live.alpaca` section, as live mode reads them.
Dates are exchange-local; only days that have begun (by `today`) count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workstation.errors import CalendarError, ProviderError, StoreError, counted
from workstation.fetch.alpaca import FetchRequest
from workstation.live.alpaca.wire import alpaca_timeframe
from workstation.live.endpoints import ALPACA_REST_URL
from workstation.preflight import PreflightCache

if TYPE_CHECKING:
    from workstation.config import SessionConfig


@dataclass(frozen=True)
class MissingData:
    """Symbols of a config without bars on some of its trading days, and the span of those days."""

    store_root: Path
    interval: str
    symbols: tuple[str, ...]
    start: dt.date
    end: dt.date
    missing_symbol_days: int
    store_exists: bool

    def describe(self) -> str:
        names = ", ".join(self.symbols[:8]) + (f" and {len(self.symbols) - 8} more" if len(self.symbols) > 8 else "")
        where = f"the store {self.store_root}" if self.store_exists else f"{self.store_root} (no bar store yet)"
        n = self.missing_symbol_days
        return (f"{names}: {counted(n, 'symbol-day')} of {self.interval} bars between {self.start} "
                f"and {self.end} {'is' if n == 1 else 'are'} not in {where}")


def missing_store_data(cfg: SessionConfig, store_path: str | Path | None = None,
                       cache: PreflightCache | None = None, today: dt.date | None = None) -> MissingData | None:
    """The symbols and days `cfg` would replay that the store lacks (None: nothing to fetch, or the
    config does not read the store, or its interval is not one Alpaca serves)."""
    if not (cfg.mode == "backtest" or cfg.live.provider == "replay"):
        return None
    interval = cfg.streams.interval
    try:
        alpaca_timeframe(interval)
    except (ProviderError, ValueError):
        return None
    cache = cache if cache is not None else PreflightCache()
    try:
        tm = cache.calendar(cfg.exchange, cfg.timezone)
    except CalendarError:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    days = [s.date for s in tm.sessions(cfg.backtest.start_date, min(cfg.backtest.end_date, today))]
    if not days or not cfg.symbols:
        return None
    root = Path(store_path if store_path is not None else cfg.data_source.store_path)
    store = None
    if root.is_dir() and (root / "store.json").is_file():
        try:
            store = cache.store(root)
        except StoreError:
            return None      # a broken store: the preflight says why; fetching would not help
    missing: dict[str, list[dt.date]] = {}
    for day in days:
        present: frozenset[str] = frozenset()
        if store is not None:
            path = store.day_file(interval, day)
            if path.is_file():
                try:
                    present = cache.symbols_in(store, path)
                except StoreError:
                    return None
        for sym in cfg.symbols:
            if sym not in present:
                missing.setdefault(sym, []).append(day)
    if not missing:
        return None
    first = min(d for ds in missing.values() for d in ds)
    last = max(d for ds in missing.values() for d in ds)
    symbols = tuple(s for s in cfg.symbols if s in missing)
    return MissingData(root, interval, symbols, first, last, sum(len(v) for v in missing.values()),
                       store is not None)


def fetch_request_for(cfg: SessionConfig, missing: MissingData) -> FetchRequest:
    """The fetch of `missing` with the config's Alpaca settings (feed, key variables, data URL)."""
    alpaca = cfg.live.alpaca
    data_url = None if alpaca.rest_url.rstrip("/") == ALPACA_REST_URL else alpaca.rest_url
    return FetchRequest(missing.symbols, missing.start, missing.end, missing.interval, alpaca.feed, data_url,
                        alpaca.key_env, alpaca.secret_env)
