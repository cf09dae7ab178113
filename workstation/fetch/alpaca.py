"""History download from Alpaca's market-data v2 bars API into the bar store (`workstation fetch alpaca`).

GET {data_url}/v2/stocks/bars?symbols=A,B&timeframe=1Min&start=..&end=..&limit=10000&feed=iex
&adjustment=raw&sort=asc, every page (`next_page_token` -> `page_token`), through the live mode's
REST client (workstation.live.alpaca.history: key headers, rate limits, retries). Keys come from the
environment variables live mode reads (APCA_API_KEY_ID / APCA_API_SECRET_KEY by default) and go
only over TLS, or plain HTTP to a loopback stand-in (workstation.live.endpoints); every log record
is redacted (workstation.live.redaction); no message of this module holds a key.

Order of work, so that bad input writes nothing: the arguments and the calendar (no trading day in
the range is an error), the keys, then one daily-bars request over the whole range for every symbol
still to fetch: a symbol with no bar at all is unknown to Alpaca (or never traded then), and the
fetch stops before anything is written. Then the days still missing are fetched in batches of whole
exchange-local days (midnight to midnight, so pre- and post-market bars come too), a few days of
all symbols per batch (about `batch_bars` bars), and each batch goes through the importer
(workstation.store.importer: every row validated, refused rows to the quarantine file) under the
store's write lock, then into the resume ledger (workstation.fetch.ledger). A batch is written only
once all its pages arrived, and each day is one file replaced atomically, so an interrupted fetch
leaves whole days; running it again skips the days already complete.

Rate limits: HTTP 429 waits for Retry-After (else X-RateLimit-Reset, else 1, 2, 4 .. s); 500, 502,
503 and 504 are retried up to `TRANSIENT_RETRIES` times with exponential back-off capped at 60 s;
a page that is not JSON, or whose "bars" is not an object of lists of objects, stops the fetch
with an error naming the request. `sleep` replaces the waiting (tests).

Times: request bounds are RFC-3339 UTC; bar `t` is the bar START; dates are exchange-local.
Threads: runs in the caller's thread; `stop` (a threading.Event) ends waits and the fetch between
pages (the GUI's Cancel).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workstation.calendar import TimeManager
from workstation.errors import DataError, ProviderError, counted
from workstation.fetch.ledger import FetchLedger, stored_complete_days
from workstation.live.alpaca.history import HISTORY_PAGE_LIMIT, AlpacaHistoryClient, alpaca_keys
from workstation.live.alpaca.wire import alpaca_timeframe, format_rfc3339_ns
from workstation.live.endpoints import ALPACA_REST_URL, ALPACA_STOCK_FEEDS, check_rest_url, key_destination
from workstation.live.redaction import RedactingLogger
from workstation.model import parse_interval, symbol_problem
from workstation.store import BarStore
from workstation.store.importer import FrameSource, ImportSummary, import_files
from workstation.store.schema import DAILY_INTERVAL

logger = logging.getLogger(__name__)

PROVIDER = "alpaca"
DATA_URL_ENV = "APCA_API_DATA_URL"          # the variable Alpaca's own clients read for the data host
TRANSIENT_STATUSES = (500, 502, 503, 504)
TRANSIENT_RETRIES = 5
BATCH_BARS = 100_000
MAX_BATCH_DAYS = 20
REQUEST_BUDGET_S = 1800.0                   # per batch: rate-limit waits beyond this end the fetch
_FIELDS = ("t", "o", "h", "l", "c", "v", "n", "vw")
_EXTENDED_MINUTES = 16 * 60                 # 04:00-20:00 New York: bars a full extended day can hold


class FetchError(DataError):
    """A fetch that cannot go on: bad arguments, keys, the server's answer. Says what was stored."""


class _Cancelled(Exception):
    """The caller set `stop`."""


@dataclass(frozen=True)
class FetchRequest:
    """What to download: symbols, exchange-local dates [start, end] (both inclusive), interval, feed."""

    symbols: tuple[str, ...]
    start: dt.date
    end: dt.date
    interval: str = "1m"
    feed: str = "iex"
    data_url: str | None = None             # None: $APCA_API_DATA_URL, else https://data.alpaca.markets
    key_env: str = "APCA_API_KEY_ID"
    secret_env: str = "APCA_API_SECRET_KEY"


@dataclass(frozen=True)
class FetchProgress:
    """Where a fetch is: symbol-days done (stored or skipped) of the total, and what was received."""

    symbol_days_done: int
    symbol_days_total: int
    bars_received: int
    pages: int
    requests: int
    rate_limited: int
    current: str                            # the batch being fetched ("2024-01-02 .. 2024-01-05")


@dataclass
class FetchSummary:
    """What a fetch did; `to_dict()` is what `--json` prints."""

    store_root: str
    provider: str
    feed: str
    interval: str
    data_host: str
    symbols: list[str]
    start: dt.date
    end: dt.date
    trading_days: int
    symbol_days_total: int = 0
    symbol_days_skipped: int = 0
    symbol_days_fetched: int = 0
    requests: int = 0
    pages: int = 0
    rate_limited: int = 0
    wait_s: float = 0.0
    bars_received: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    duplicates_skipped: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantine_files: list[str] = field(default_factory=list)
    per_symbol: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True, "store": self.store_root, "provider": self.provider, "feed": self.feed,
            "interval": self.interval, "data_host": self.data_host, "symbols": list(self.symbols),
            "start": self.start, "end": self.end, "trading_days": self.trading_days,
            "symbol_days_total": self.symbol_days_total, "symbol_days_skipped": self.symbol_days_skipped,
            "symbol_days_fetched": self.symbol_days_fetched, "requests": self.requests, "pages": self.pages,
            "rate_limited": self.rate_limited, "wait_s": round(self.wait_s, 3),
            "bars_received": self.bars_received, "rows_stored": self.rows_stored,
            "rows_quarantined": self.rows_quarantined, "duplicates_skipped": self.duplicates_skipped,
            "quarantined_by_reason": dict(self.quarantined_by_reason),
            "quarantine_files": list(self.quarantine_files),
            "per_symbol": {s: dict(v) for s, v in self.per_symbol.items()},
            "warnings": list(self.warnings), "elapsed_s": round(self.elapsed_s, 3),
        }

    def render(self) -> str:
        lines = [
            f"Fetched {self.interval} bars of {counted(len(self.symbols), 'symbol')} from Alpaca ({self.feed} feed, "
            f"{self.data_host}), {self.start} to {self.end} ({self.trading_days} trading days)",
            f"into the store {self.store_root}",
            f"symbol-days: {self.symbol_days_total:,} | already complete, skipped {self.symbol_days_skipped:,} | "
            f"fetched {self.symbol_days_fetched:,}",
            f"requests {self.requests:,} ({self.pages:,} pages, {self.rate_limited:,} rate-limited, waited "
            f"{self.wait_s:.1f} s)",
            f"bars received {self.bars_received:,} | stored {self.rows_stored:,} | quarantined "
            f"{self.rows_quarantined:,} | duplicates skipped {self.duplicates_skipped:,}",
        ]
        if self.quarantined_by_reason:
            lines.append("quarantined by reason: " + ", ".join(
                f"{r}: {c:,}" for r, c in sorted(self.quarantined_by_reason.items())))
        if self.per_symbol:
            lines.append(f"  {'symbol':<8}{'days':>6}{'skipped':>9}{'stored':>10}{'quarant.':>10}")
            for sym, s in sorted(self.per_symbol.items()):
                lines.append(f"  {sym:<8}{s['days_fetched']:>6}{s['days_skipped']:>9}{s['rows_stored']:>10,}"
                             f"{s['rows_quarantined']:>10,}")
        lines += [f"quarantine file: {q}" for q in self.quarantine_files]
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


def resolve_data_url(url: str | None, environ: Mapping[str, str]) -> str:
    """The data API base URL: `url`, else $APCA_API_DATA_URL, else Alpaca's; https (http: loopback only)."""
    chosen = url or environ.get(DATA_URL_ENV) or ALPACA_REST_URL
    try:
        return check_rest_url(chosen)
    except ValueError as exc:
        raise FetchError(str(exc).replace("live.alpaca.rest_url", f"--data-url (or ${DATA_URL_ENV})")
                         + "; nothing was fetched") from None


def clean_symbols(symbols: Any) -> list[str]:
    """Upper-case, de-duplicated symbols in the given order; FetchError naming any invalid one."""
    out: list[str] = []
    for raw in symbols:
        for part in str(raw).split(","):
            name = part.strip().upper()
            if not name:
                continue
            problem = symbol_problem(name)
            if problem:
                raise FetchError(f"symbol {problem}; nothing was fetched")
            if name not in out:
                out.append(name)
    if not out:
        raise FetchError("no symbols given: name one or more, e.g. `workstation fetch alpaca AAPL MSFT ...`")
    return out


def fetch_alpaca(
    store: BarStore,
    request: FetchRequest,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[FetchProgress], None] | None = None,
    sleep: Callable[[float], bool] | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], dt.datetime] | None = None,
    batch_bars: int = BATCH_BARS,
) -> FetchSummary:
    """Download the missing days of `request` into `store`; see the module docstring for the order
    of work and what is written when. Raises FetchError (nothing written, or saying what was)."""
    env = os.environ if environ is None else environ
    t0 = time.perf_counter()
    symbols = clean_symbols(request.symbols)
    try:
        interval = parse_interval(request.interval).name
        timeframe = alpaca_timeframe(interval)
    except (ValueError, ProviderError) as exc:
        raise FetchError(f"--interval: {exc}; nothing was fetched") from None
    if request.feed not in ALPACA_STOCK_FEEDS:
        raise FetchError(f"--feed {request.feed!r} is not an Alpaca stock feed: use one of "
                         f"{', '.join(ALPACA_STOCK_FEEDS)}; nothing was fetched")
    if request.end < request.start:
        raise FetchError(f"--end {request.end} is before --start {request.start}; nothing was fetched")
    tm = store.time_manager
    current = (now or (lambda: dt.datetime.now(dt.UTC)))()
    now_ns = int(current.timestamp() * 1e9)
    sessions = list(tm.sessions(request.start, request.end))
    if not sessions:
        raise FetchError(f"no trading days between {request.start} and {request.end} on {store.exchange} "
                         "(weekends and exchange holidays only); nothing was fetched")

    def midnight_ns(day: dt.date) -> int:
        return int(pd.Timestamp(day).tz_localize(tm.tz).tz_convert("UTC").value)

    begun = [s for s in sessions if midnight_ns(s.date) <= now_ns]
    if not begun:
        raise FetchError(f"the trading days between {request.start} and {request.end} are all in the future "
                         f"(the first, {sessions[0].date}, has not begun); nothing was fetched")
    data_url = resolve_data_url(request.data_url, env)
    try:
        key, secret = alpaca_keys(request.key_env, request.secret_env, env)
    except ProviderError as exc:
        raise FetchError(f"{exc}; nothing was fetched") from None

    summary = FetchSummary(str(store.root), PROVIDER, request.feed, interval, key_destination(data_url),
                           symbols, request.start, request.end, len(sessions))
    if len(begun) < len(sessions):
        late = len(sessions) - len(begun)
        summary.warnings.append(f"{counted(late, 'trading day')} from {sessions[len(begun)].date} "
                                f"{'has' if late == 1 else 'have'} not begun yet and {'was' if late == 1 else 'were'} "
                                "not fetched")
    days = [s.date for s in begun]
    settled = {s.date for s in begun if midnight_ns(s.date + dt.timedelta(days=1)) <= now_ns}  # day over
    source = FetchLedger.source(PROVIDER, request.feed, interval)
    ledger = FetchLedger(store.root)
    complete = stored_complete_days(store, interval, days, symbols)
    todo: dict[dt.date, list[str]] = {}
    for sym in symbols:
        done = (complete[sym] | ledger.days(source, sym)) & set(days)
        summary.per_symbol[sym] = {"days_fetched": 0, "days_skipped": len(done), "rows_stored": 0,
                                   "rows_quarantined": 0, "bars_received": 0, "days_without_bars": []}
        for day in days:
            if day not in done:
                todo.setdefault(day, []).append(sym)
    summary.symbol_days_total = len(days) * len(symbols)
    summary.symbol_days_skipped = summary.symbol_days_total - sum(len(v) for v in todo.values())

    counters = {"rest_requests": 0.0, "rest_rate_limited": 0.0, "rest_wait_s": 0.0}

    def bump(name: str, amount: float) -> None:
        counters[name] = counters.get(name, 0.0) + amount

    def malformed(text: str) -> None:
        raise ProviderError(text)

    stopping = stop if stop is not None else threading.Event()
    client = AlpacaHistoryClient(
        data_url, request.feed, key, secret, request.key_env, request.secret_env, stopping,
        RedactingLogger(logger, (key, secret)), bump, malformed,
        transient_statuses=TRANSIENT_STATUSES, transient_retries=TRANSIENT_RETRIES, sleep=sleep,
    )
    done_days = summary.symbol_days_skipped

    def report(label: str) -> None:
        summary.requests = int(counters["rest_requests"])
        summary.rate_limited = int(counters["rest_rate_limited"])
        summary.wait_s = counters["rest_wait_s"]
        if progress is not None:
            progress(FetchProgress(done_days, summary.symbol_days_total, summary.bars_received, summary.pages,
                                   summary.requests, summary.rate_limited, label))

    report("checking symbols" if todo else "nothing to fetch")
    if not todo:
        summary.elapsed_s = time.perf_counter() - t0
        return summary

    received = [0]          # bars of the interval received in finished batches

    def download(syms: list[str], frame_name: str, first: dt.date, last: dt.date, label: str,
                 what_timeframe: str) -> list[dict[str, Any]]:
        start_ns, end_ns = midnight_ns(first), midnight_ns(last + dt.timedelta(days=1))
        params = {"symbols": ",".join(syms), "timeframe": what_timeframe, "start": format_rfc3339_ns(start_ns),
                  "end": format_rfc3339_ns(end_ns - 1_000_000_000), "limit": str(HISTORY_PAGE_LIMIT),
                  "feed": request.feed, "adjustment": "raw", "sort": "asc"}
        what = (f"Alpaca bars {frame_name} {what_timeframe} {first}..{last} "
                f"({syms[0] if len(syms) == 1 else f'{len(syms)} symbols'})")
        wanted = set(syms)
        rows: list[dict[str, Any]] = []
        deadline = time.monotonic() + REQUEST_BUDGET_S
        report(label)
        for page, _sent in client.pages(params, deadline, what):
            summary.pages += 1
            for sym, items in page.items():
                if sym not in wanted:
                    raise ProviderError(f"{what}: page {summary.pages} has bars of {sym!r}, a symbol not asked for")
                if not isinstance(items, list):
                    raise ProviderError(f"{what}: page {summary.pages}: bars of {sym} are "
                                        f"{type(items).__name__}, not a list")
                for item in items:
                    if not isinstance(item, dict):
                        raise ProviderError(f"{what}: page {summary.pages}: a bar of {sym} is "
                                            f"{type(item).__name__}, not an object: {str(item)[:80]}")
                    row = {k: item.get(k) for k in _FIELDS}
                    row["symbol"] = sym
                    rows.append(row)
            if what_timeframe == timeframe:
                summary.bars_received = received[0] + len(rows)
            report(label)
            if stopping.is_set():
                raise _Cancelled()
        return rows

    todo_days = sorted(todo)
    writing = [False]           # True while a batch is being written (the importer then says what was)

    def failed(exc: BaseException | str) -> FetchError:
        stored = done_days - summary.symbol_days_skipped
        if stored:
            tail = (f"; the {counted(stored, 'symbol-day')} stored before it {'is' if stored == 1 else 'are'} kept "
                    "(run the same fetch again to continue)")
        elif writing[0]:
            tail = "; run the same fetch again to complete it"
        else:
            tail = "; nothing was written to the store"
        return FetchError(f"{exc}{tail}")

    try:
        # 1. every symbol known: one daily-bars request over the range, before anything is written
        if interval != DAILY_INTERVAL:
            needed = sorted({s for syms in todo.values() for s in syms}, key=symbols.index)
            daily = download(needed, "check", todo_days[0], todo_days[-1], "checking symbols", "1Day")
            unknown = [s for s in needed if s not in {r["symbol"] for r in daily}]
            if unknown:
                raise FetchError(_unknown_text(unknown, todo_days[0], todo_days[-1], request.feed))
        # 2. whole days, a batch at a time
        batches = _batches(todo_days, todo, interval, batch_bars)
        for batch in batches:
            syms = sorted({s for d in batch for s in todo[d]}, key=symbols.index)
            label = f"{batch[0]}" if len(batch) == 1 else f"{batch[0]} .. {batch[-1]}"
            name = f"alpaca-{request.feed}-{interval}-{batch[0]}" + ("" if len(batch) == 1 else f"-to-{batch[-1]}")
            rows = download(syms, name, batch[0], batch[-1], label, timeframe)
            received[0] = summary.bars_received
            wanted = {(s, d) for d in batch for s in todo[d]}
            frame, present = _batch_frame(rows, wanted, tm)
            for sym, day in sorted(wanted - present):
                summary.per_symbol[sym]["days_without_bars"].append(day)
            if interval == DAILY_INTERVAL:
                unknown = [s for s in syms if s not in set(frame["symbol"])]
                if unknown:
                    raise FetchError(_unknown_text(unknown, batch[0], batch[-1], request.feed))
            with store.writing():
                writing[0] = True
                if len(frame):
                    result = import_files([FrameSource(name, frame)], store, interval=interval, time_manager=tm)
                    _add(summary, result)
                for sym in syms:
                    got = [d for d in batch if sym in todo[d] and d in settled]
                    ledger.record(source, sym, got)
                    summary.per_symbol[sym]["days_fetched"] += sum(1 for d in batch if sym in todo[d])
                ledger.save()
                writing[0] = False
            done_days += len(wanted)
            summary.symbol_days_fetched += len(wanted)
            report(label)
    except FetchError:
        raise
    except (ProviderError, DataError) as exc:      # the server, or the store (locked, full disk)
        raise failed(exc) from None
    except _Cancelled:
        raise failed("the fetch was cancelled") from None
    unsettled = [d for d in days if d not in settled and d in todo]
    if unsettled:
        summary.warnings.append(f"{', '.join(map(str, unsettled))}: the session is not over yet; its bars were "
                                "stored but the day will be fetched again next time")
    for sym, entry in summary.per_symbol.items():
        empty = entry["days_without_bars"]
        if empty:
            shown = ", ".join(d.isoformat() for d in empty[:6]) + (f" and {len(empty) - 6} more" if len(empty) > 6
                                                                   else "")
            summary.warnings.append(f"{sym}: Alpaca ({request.feed} feed) has no {interval} bars on {shown} "
                                    "(no trades, a halt, or not yet in its data)")
    summary.elapsed_s = time.perf_counter() - t0
    report("done")
    return summary


def _unknown_text(unknown: list[str], first: dt.date, last: dt.date, feed: str) -> str:
    verb = "has" if len(unknown) == 1 else "have"
    return (f"{', '.join(unknown)} {verb} no bars at Alpaca ({feed} feed) between {first} and {last}: "
            "unknown symbol, or not traded then; check the spelling and the dates; nothing was written to the store")


def _batches(days: list[dt.date], todo: dict[dt.date, list[str]], interval: str, batch_bars: int
             ) -> list[list[dt.date]]:
    """Consecutive days grouped so that a batch holds about `batch_bars` bars at most (one day at least)."""
    if interval == DAILY_INTERVAL:
        return [days]
    per_symbol_day = max(1, _EXTENDED_MINUTES * 60 // parse_interval(interval).seconds)
    out: list[list[dt.date]] = []
    current: list[dt.date] = []
    size = 0
    for day in days:
        cost = per_symbol_day * len(todo[day])
        if current and (size + cost > batch_bars or len(current) >= MAX_BATCH_DAYS):
            out.append(current)
            current, size = [], 0
        current.append(day)
        size += cost
    if current:
        out.append(current)
    return out


def _batch_frame(rows: list[dict[str, Any]], wanted: set[tuple[str, dt.date]], tm: TimeManager
                 ) -> tuple[pd.DataFrame, set[tuple[str, dt.date]]]:
    """The rows as the importer reads them (Alpaca's field names), without (symbol, day) pairs already
    complete (rows whose time cannot be read are kept: the importer quarantines them), and the wanted
    (symbol, day) pairs that got at least one bar."""
    frame = pd.DataFrame(rows, columns=["symbol", *_FIELDS])
    present: set[tuple[str, dt.date]] = set()
    if not len(frame):
        return frame, present
    times = pd.to_datetime(frame["t"].where(frame["t"].map(lambda v: isinstance(v, str)), None), utc=True,
                           errors="coerce", format="ISO8601")
    ok = times.notna().to_numpy()
    keep = ~ok
    if ok.any():
        local = tm.local_dates(pd.DatetimeIndex(times[ok]).as_unit("ns").asi8).astype(object)
        syms = frame["symbol"].to_numpy()[ok]
        pairs = list(zip(syms, local, strict=True))
        keep[ok] = [pair in wanted for pair in pairs]
        present = set(pairs) & wanted
    return frame.loc[keep].reset_index(drop=True), present


def _add(summary: FetchSummary, result: ImportSummary) -> None:
    summary.rows_stored += result.rows_stored
    summary.rows_quarantined += result.rows_quarantined
    summary.duplicates_skipped += result.duplicates_skipped
    for reason, count in result.quarantined_by_reason.items():
        summary.quarantined_by_reason[reason] = summary.quarantined_by_reason.get(reason, 0) + count
    if result.quarantine_file:
        summary.quarantine_files.append(result.quarantine_file)
    for sym, s in result.per_symbol.items():
        entry = summary.per_symbol.get(sym)
        if entry is not None:
            entry["rows_stored"] += s["rows_stored"]
            entry["rows_quarantined"] += s["rows_quarantined"]
            entry["bars_received"] += s["rows_read"]
