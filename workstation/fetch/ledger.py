"""Which (symbol, exchange-local date) a history download already got whole: the resume ledger.

A day counts as complete, and a later fetch skips it, when either
- the store holds every regular-session bar the calendar expects that day (for 1m: every minute
  from the open to the close, 390 on a normal day, 210 on an early close), whatever wrote them; or
- an earlier fetch from the same provider, feed and interval got the day whole (every page of a
  request covering the whole day, after its session had closed) and stored it. Alpaca sends no bar
  for a minute without a trade, so a thinly traded day is complete with fewer bars than expected;
  only the ledger can tell.

The ledger is `<store>/fetched.json` (JSON, outside `bars/`, so Parquet readers never see it),
written atomically under the store's write lock right after the day's bars: a crash between the
two only means the day is fetched again (its bars are then skipped as duplicates).
No threads; dates are exchange-local.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from workstation.atomic_files import os_error_text, write_bytes_atomic
from workstation.calendar import TimeManager
from workstation.errors import StoreError
from workstation.model import parse_interval
from workstation.store import BarStore
from workstation.store.schema import DAILY_INTERVAL

LEDGER_FILE = "fetched.json"
LEDGER_FORMAT = 1


class FetchLedger:
    """Complete days per source ("alpaca/iex/1m") and symbol, as loaded from and saved to the store."""

    def __init__(self, root: str | Path):
        self.path = Path(root) / LEDGER_FILE
        self._days: dict[str, dict[str, set[str]]] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                sources = data["sources"]
                if not isinstance(sources, dict):
                    raise TypeError("'sources' is not an object")
                self._days = {
                    str(src): {str(sym): {str(d) for d in days} for sym, days in by_symbol.items()}
                    for src, by_symbol in sources.items()
                }
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise StoreError(
                    f"cannot read the fetch ledger {self.path}: {exc}. Delete it to fetch every day again "
                    "(bars already stored are kept and skipped as duplicates)"
                ) from None

    @staticmethod
    def source(provider: str, feed: str, interval: str) -> str:
        return f"{provider}/{feed}/{interval}"

    def days(self, source: str, symbol: str) -> set[dt.date]:
        return {dt.date.fromisoformat(d) for d in self._days.get(source, {}).get(symbol, ())}

    def record(self, source: str, symbol: str, days: Iterable[dt.date]) -> None:
        self._days.setdefault(source, {}).setdefault(symbol, set()).update(d.isoformat() for d in days)

    def save(self) -> None:
        """Write the ledger atomically (call with the store's write lock held)."""
        data = {
            "format": LEDGER_FORMAT,
            "about": "days a history download got whole, per source and symbol; a later fetch skips them",
            "sources": {src: {sym: sorted(days) for sym, days in sorted(by.items())}
                        for src, by in sorted(self._days.items())},
        }
        try:
            write_bytes_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode(), durable=True)
        except OSError as exc:
            raise StoreError(f"cannot write the fetch ledger {self.path}: {os_error_text(exc)}") from None


def expected_regular_bars(tm: TimeManager, day: dt.date, interval: str) -> int:
    """Bars the calendar expects in the regular session of `day` (0 when the exchange is closed)."""
    session = tm.session(day)
    if session is None:
        return 0
    if interval == DAILY_INTERVAL:
        return 1
    return len(session.slot_starts(parse_interval(interval).ns))


def stored_complete_days(store: BarStore, interval: str, days: list[dt.date],
                         symbols: Iterable[str]) -> dict[str, set[dt.date]]:
    """Per symbol, the days of `days` whose regular session the store already holds whole."""
    wanted = set(symbols)
    out: dict[str, set[dt.date]] = {s: set() for s in wanted}
    if not store.exists or not days:
        return out
    tm = store.time_manager
    if interval == DAILY_INTERVAL:
        frame = store.read_daily(sorted(wanted), days[0], days[-1])
        for sym, day in zip(frame["symbol"], frame["date"], strict=True):
            out[sym].add(day)
        return out
    for day in days:
        session = tm.session(day)
        if session is None or not store.day_file(interval, day).is_file():
            continue
        frame = store.read_bars(sorted(wanted), interval, session.open_ns, session.close_ns, rth_only=True)
        expected = expected_regular_bars(tm, day, interval)
        for sym, count in frame["symbol"].value_counts().items():
            if expected and count >= expected:
                out[str(sym)].add(day)
    return out
