"""`workstation fetch alpaca SYMBOLS --start --end [--interval 1m] --store DIR [--json]`.

The progress bar goes to stderr (redrawn on a terminal, a line every few seconds otherwise, as the
sweep's); the summary (or, with --json, one JSON document) to stdout. Keys are read from the
environment only and never printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import TYPE_CHECKING, TextIO

from workstation.json_output import add_json_flag, emit

if TYPE_CHECKING:
    from workstation.fetch.alpaca import FetchProgress


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fetch", help="download bar history from a market-data provider into the bar store (resumable)")
    providers = p.add_subparsers(dest="provider", required=True, metavar="PROVIDER")
    a = providers.add_parser(
        "alpaca",
        help="Alpaca market-data v2 historical bars (keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY)",
        description="Download bars of SYMBOLS for the exchange-local dates START..END (both included, "
                    "pre- and post-market bars too) into the bar store. Days the store already holds "
                    "whole are skipped, so an interrupted fetch continues where it stopped. Every row goes "
                    "through the importer's checks; refused rows go to the store's quarantine folder.")
    a.add_argument("symbols", nargs="+", metavar="SYMBOL", help="tickers (space or comma separated)")
    a.add_argument("--start", required=True, type=_date, help="first date, YYYY-MM-DD (exchange-local)")
    a.add_argument("--end", required=True, type=_date, help="last date, YYYY-MM-DD (included)")
    a.add_argument("--interval", default="1m", help="bar interval: 1m (default), other minutes (5m, 15m ...) or 1d")
    a.add_argument("--store", required=True, help="bar store folder (created if missing)")
    a.add_argument("--feed", default="iex", help="Alpaca feed: iex (default, free plan) or sip (paid)")
    a.add_argument("--data-url", default=None,
                   help="data API base URL (default $APCA_API_DATA_URL, else https://data.alpaca.markets)")
    a.add_argument("--key-env", default="APCA_API_KEY_ID", help="environment variable holding the key id")
    a.add_argument("--secret-env", default="APCA_API_SECRET_KEY",
                   help="environment variable holding the secret key")
    a.add_argument("--batch-bars", type=int, default=None, metavar="N",
                   help="about how many bars one batch of days holds before it is written (default 100000; "
                        "smaller batches are stored sooner, larger ones need fewer requests)")
    a.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_flag(a, "the fetch summary")
    a.set_defaults(func=_cmd_fetch_alpaca)


class ProgressBar:
    """One progress line on `stream`: redrawn in place on a terminal (at most 4 times a second),
    a new line every 5 s otherwise; `finish()` ends it."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._line_at = 0.0
        self._last: FetchProgress | None = None
        self._printed = ""
        self._first_done: int | None = None

    def line(self, p: FetchProgress) -> str:
        width = 24
        total = p.symbol_days_total
        fill = int(width * p.symbol_days_done / total) if total else width
        elapsed = time.perf_counter() - self.t0
        if self._first_done is None:
            self._first_done = p.symbol_days_done
        fetched = p.symbol_days_done - self._first_done
        eta = "--:--"
        if fetched > 0 and elapsed > 0:
            eta = _clock((total - p.symbol_days_done) * elapsed / fetched)
        waits = f"  rate-limited {p.rate_limited}" if p.rate_limited else ""
        return (f"[{'#' * fill}{'.' * (width - fill)}] symbol-days {p.symbol_days_done}/{total}  "
                f"bars {p.bars_received:,}  pages {p.pages}{waits}  ETA {eta}  {p.current}")

    def update(self, p: FetchProgress) -> None:
        self._last = p
        now = time.perf_counter()
        if self.tty and now - self._line_at >= 0.25:
            self._line_at = now
            self._printed = self.line(p)
            print("\r" + self._printed + "\x1b[K", end="", file=self.stream, flush=True)
        elif not self.tty and now - self._line_at >= 5.0:
            self._line_at = now
            self._printed = self.line(p)
            print(self._printed, file=self.stream, flush=True)

    def finish(self) -> None:
        """The last state on its own line (not repeated when it is the line already shown)."""
        if self._last is None:
            return
        text = self.line(self._last)
        if self.tty:
            print("\r" + text + "\x1b[K", file=self.stream, flush=True)
        elif text != self._printed:
            print(text, file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _cmd_fetch_alpaca(args: argparse.Namespace) -> int:
    from workstation.fetch.alpaca import BATCH_BARS, FetchError, FetchRequest, fetch_alpaca
    from workstation.store import BarStore
    store = BarStore(args.store, create=True, on_lock_wait=lambda text: print(text, file=sys.stderr, flush=True))
    request = FetchRequest(tuple(args.symbols), args.start, args.end, args.interval, args.feed, args.data_url,
                           args.key_env, args.secret_env)
    if args.batch_bars is not None and args.batch_bars < 1:
        raise FetchError(f"--batch-bars {args.batch_bars} must be at least 1")
    bar = None if args.no_progress else ProgressBar(sys.stderr)
    try:
        summary = fetch_alpaca(store, request, progress=bar.update if bar is not None else None,
                               batch_bars=args.batch_bars or BATCH_BARS)
    finally:
        if bar is not None:
            bar.finish()
    emit(args, summary.to_dict(), lambda _d: summary.render())
    return 0
