"""Alpaca's historical bars REST API: many symbols per request, all pages, rate limits honoured.

GET {rest_url}/v2/stocks/bars?symbols=A,B,..&timeframe=1Min&start=..&end=..&limit=..&feed=..
with the key headers. Results are sorted by symbol, then time; `limit` counts bars over all
symbols of a page; `next_page_token` continues where a page stopped. A request asks at most
`MAX_SYMBOLS_PER_REQUEST` symbols (longer lists are split), so a catch-up of 100 symbols is a
handful of requests instead of 100.

Rate limits (HTTP 429): the request waits for `Retry-After` (seconds or an HTTP date), else for
`X-RateLimit-Reset` (epoch seconds), else for an exponential back-off (1, 2, 4, ... s), and tries
again, as long as the caller's time budget allows; a response announcing `X-RateLimit-Remaining: 0`
makes the next request wait for the reset first. 502/503/504 are retried the same way, twice (the
history download, workstation.fetch, also retries 500 and more often: `transient_statuses`,
`transient_retries`). Waits end early when the provider closes; `sleep` replaces the waiting itself
(tests inject one that does not sleep). Wall time (`time.time`) is compared with the server's
clock; the provider's (possibly simulated) clock is not used here.

Thread-safe: the catch-up (coordinator thread) and the gap filler may call it at once.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from workstation.errors import ProviderError, named
from workstation.live.alpaca.wire import (
    MalformedMessage,
    alpaca_timeframe,
    format_rfc3339_ns,
    parse_alpaca_bar,
)
from workstation.live.endpoints import is_loopback_host
from workstation.live.provider import HistoryAnswer
from workstation.model import Bar, parse_interval

HISTORY_PAGE_LIMIT = 10_000
MAX_SYMBOLS_PER_REQUEST = 100
MAX_TRANSIENT_RETRIES = 2
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
_TRANSIENT = (502, 503, 504)


def alpaca_keys(key_env: str = "APCA_API_KEY_ID", secret_env: str = "APCA_API_SECRET_KEY",
                environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The key id and secret from the environment variables `key_env` / `secret_env` (stripped);
    ProviderError naming the missing variable(s) otherwise. Never from a file."""
    env = os.environ if environ is None else environ
    key, secret = env.get(key_env, ""), env.get(secret_env, "")
    missing = [n for n, v in ((key_env, key), (secret_env, secret)) if not v.strip()]
    if missing:
        raise ProviderError(
            f"Alpaca API keys missing: set the environment {named('variable', missing, sep=' and ')} "
            f"(key id in {key_env}, secret in {secret_env}); keys are never read from config files"
        )
    return key.strip(), secret.strip()


def retry_after_seconds(headers: Any, now_s: float) -> float | None:
    """Seconds to wait from a 429/503 response's headers: Retry-After (delta or HTTP date), else
    X-RateLimit-Reset (epoch seconds); None when neither is usable."""
    if headers is None:
        return None
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, when.timestamp() - now_s)
    reset = headers.get("X-RateLimit-Reset") or headers.get("X-Ratelimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - now_s)
        except ValueError:
            return None
    return None


class AlpacaHistoryClient:
    """REST bars for the Alpaca provider; counters go to `bump(counter, amount)`."""

    def __init__(self, rest_url: str, feed: str, key: str, secret: str, key_env: str, secret_env: str,
                 stopping: threading.Event, log: logging.Logger | logging.LoggerAdapter,
                 bump: Callable[[str, float], None], record_malformed: Callable[[str], None],
                 now_ns: Callable[[], int] = time.time_ns,
                 transient_statuses: tuple[int, ...] = _TRANSIENT,
                 transient_retries: int = MAX_TRANSIENT_RETRIES,
                 sleep: Callable[[float], bool] | None = None):
        self.rest_url = rest_url.rstrip("/")
        self.feed = feed
        self._key, self._secret = key, secret
        self._key_env, self._secret_env = key_env, secret_env
        self._stopping = stopping
        self._log = log
        self._bump = bump
        self._record_malformed = record_malformed
        self._now_ns = now_ns
        self._transient_statuses = tuple(transient_statuses)
        self._transient_retries = int(transient_retries)
        self._sleep = sleep if sleep is not None else stopping.wait   # True: stop waiting (closed)
        self._lock = threading.Lock()
        self._not_before = 0.0          # wall time before which no request goes out (rate limit)
        handlers: list[urllib.request.BaseHandler] = []
        if is_loopback_host(urllib.parse.urlsplit(self.rest_url).hostname):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    # ------------------------------------------------------------------------------------ bars

    def bars(self, symbols: list[str], interval: str, start_ns: int, end_ns: int,
             timeout: float) -> HistoryAnswer:
        """Bars whose START is in [start_ns, end_ns) for each symbol, oldest first (every page).

        Symbols without bars map to []. `served_at_ns` is the clock time the earliest first page
        was sent (after any rate-limit wait). Raises ProviderError on any failure (HTTP status,
        network, timeout, rate limit longer than the budget), naming the request.
        """
        if isinstance(symbols, str) or not symbols:
            raise ProviderError(f"history: symbols must be a non-empty list, got {symbols!r}")
        clean: list[str] = []
        for sym in symbols:
            if not isinstance(sym, str) or not sym.strip():
                raise ProviderError(f"history: symbol {sym!r} is not a non-empty string")
            name = sym.strip().upper()
            if name not in clean:
                clean.append(name)
        timeframe = alpaca_timeframe(interval)
        interval_name = parse_interval(interval).name
        if end_ns <= start_ns:
            raise ProviderError(f"history: end {end_ns} must be after start {start_ns}")
        if timeout <= 0:
            raise ProviderError(f"history: timeout {timeout!r} must be > 0")
        deadline = time.monotonic() + timeout
        out = HistoryAnswer()
        for k in range(0, len(clean), MAX_SYMBOLS_PER_REQUEST):
            chunk = clean[k : k + MAX_SYMBOLS_PER_REQUEST]
            bars, served_at = self._chunk(chunk, timeframe, interval_name, start_ns, end_ns, deadline)
            out.update(bars)
            if out.served_at_ns is None or served_at < out.served_at_ns:
                out.served_at_ns = served_at
        return out

    def _chunk(self, symbols: list[str], timeframe: str, interval: str, start_ns: int, end_ns: int,
               deadline: float) -> tuple[dict[str, list[Bar]], int]:
        label = symbols[0] if len(symbols) == 1 else f"{len(symbols)} symbols ({symbols[0]}..{symbols[-1]})"
        what = f"Alpaca history {label} {interval} [{format_rfc3339_ns(start_ns)}, {format_rfc3339_ns(end_ns)})"
        wanted = set(symbols)
        params = {
            "symbols": ",".join(symbols),
            "timeframe": timeframe,
            "start": format_rfc3339_ns(start_ns),
            # Alpaca's end is inclusive: end a second before end_ns, so the bar time at end_ns (maybe
            # one known to be empty) is not asked for
            "end": format_rfc3339_ns(end_ns - 1_000_000_000),
            "limit": str(HISTORY_PAGE_LIMIT),
            "feed": self.feed,
            "adjustment": "raw",
            "sort": "asc",
        }
        by_symbol: dict[str, dict[int, Bar]] = {s: {} for s in symbols}
        served_at: int | None = None
        for rows, sent_at in self.pages(params, deadline, what):
            if served_at is None:
                served_at = sent_at
            for symbol, items in rows.items():
                if symbol not in wanted:
                    self._record_malformed(f"{what}: bars of {symbol!r}, a symbol not asked for")
                    continue
                if not isinstance(items, list):
                    self._record_malformed(f"{what}: bars of {symbol} are {type(items).__name__}, not a list")
                    continue
                target = by_symbol[symbol]
                for row in items:
                    try:
                        bar = parse_alpaca_bar(row, symbol, interval)
                    except MalformedMessage as exc:
                        self._record_malformed(f"{what}: {exc}")
                        continue
                    if bar.symbol == symbol and start_ns <= bar.timestamp < end_ns:
                        target[bar.timestamp] = bar
        assert served_at is not None
        return {s: [bars[t] for t in sorted(bars)] for s, bars in by_symbol.items()}, served_at

    def pages(self, params: dict[str, str], deadline: float, what: str) -> Iterator[tuple[dict[str, Any], int]]:
        """GET /v2/stocks/bars with `params` page after page (following `next_page_token`): yields
        each page's "bars" object (symbol -> list of raw bar objects, unchecked) and the clock time
        its request was sent. ProviderError when a page is not a JSON object, its "bars" is not an
        object, or the server repeats a page token."""
        params = dict(params)
        seen_tokens: set[str] = set()
        while True:
            page, sent_at = self._get_json("/v2/stocks/bars", params, deadline, what)
            rows = page.get("bars")
            if rows is None:
                rows = {}
            if not isinstance(rows, dict):
                raise ProviderError(f"{what}: response field 'bars' is {type(rows).__name__}, not an object")
            yield rows, sent_at
            token = page.get("next_page_token")
            if not token:
                return
            if not isinstance(token, str) or token in seen_tokens:
                raise ProviderError(f"{what}: server repeated page token {token!r}; stopping to avoid a loop")
            seen_tokens.add(token)
            params["page_token"] = token

    # ------------------------------------------------------------------------------------ HTTP

    def _wait(self, seconds: float, deadline: float, what: str, why: str) -> None:
        """Sleep `seconds` unless it would pass the deadline or the provider closes."""
        remaining = deadline - time.monotonic()
        if seconds > remaining:
            raise ProviderError(
                f"{what}: {why}; waiting {seconds:.1f} s more would pass the request's time budget "
                f"({max(0.0, remaining):.1f} s left)"
            )
        self._bump("rest_wait_s", seconds)
        if self._sleep(seconds) or self._stopping.is_set():
            raise ProviderError(f"{what}: the provider was closed")

    def _get_json(self, path: str, params: dict[str, str], deadline: float, what: str) -> tuple[dict, int]:
        """GET rest_url+path with the key headers before `deadline`; retries 429 and 502-504.
        Returns the JSON object and the clock time the successful attempt was sent."""
        url = f"{self.rest_url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(
            url,
            headers={
                "APCA-API-KEY-ID": self._key,
                "APCA-API-SECRET-KEY": self._secret,
                "Accept": "application/json",
            },
        )
        backoff = FIRST_BACKOFF_S
        transient = 0
        while True:
            with self._lock:
                hold = self._not_before - time.time()
            if hold > 0:
                self._wait(hold, deadline, what, "rate limit reached (X-RateLimit-Remaining 0)")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(f"{what}: timed out before the request finished")
            self._bump("rest_requests", 1)
            sent_at = self._now_ns()
            try:
                with self._opener.open(request, timeout=remaining) as response:
                    body = response.read()
                    self._note_rate_headers(response.headers)
                break
            except urllib.error.HTTPError as exc:
                excerpt = exc.read(300).decode("utf-8", "replace").strip()
                status = exc.code
                if status == 429 or status in self._transient_statuses:
                    wait = retry_after_seconds(exc.headers, time.time())
                    if status == 429:
                        self._bump("rest_rate_limited", 1)
                        why = "rate limited (HTTP 429)"
                    else:
                        transient += 1
                        why = f"HTTP {status} {exc.reason}"
                        if transient > self._transient_retries:
                            raise ProviderError(f"{what}: {why} {self._transient_retries + 1} times: {excerpt}"
                                                ) from None
                    if wait is None:
                        wait, backoff = backoff, min(backoff * 2, MAX_BACKOFF_S)
                    wait = min(wait, MAX_BACKOFF_S)
                    self._log.info("%s: %s; retrying in %.1f s", what, why, wait)
                    self._wait(wait, deadline, what, why)
                    continue
                hint = f" (check {self._key_env} / {self._secret_env})" if status in (401, 403) else ""
                raise ProviderError(f"{what}: HTTP {status} {exc.reason}{hint}: {excerpt}") from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise ProviderError(f"{what}: request to {self.rest_url} failed: {reason}") from None
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise ProviderError(f"{what}: response is not JSON: {body[:200]!r}") from None
        if not isinstance(data, dict):
            raise ProviderError(f"{what}: response is {type(data).__name__}, not a JSON object")
        return data, sent_at

    def _note_rate_headers(self, headers: Any) -> None:
        """A response saying no request is left in this window holds the next one until the reset."""
        remaining = headers.get("X-RateLimit-Remaining") if headers is not None else None
        if remaining is None:
            return
        try:
            left = int(remaining)
        except ValueError:
            return
        if left <= 0:
            wait = retry_after_seconds({"X-RateLimit-Reset": headers.get("X-RateLimit-Reset")}, time.time())
            if wait:
                with self._lock:
                    self._not_before = max(self._not_before, time.time() + min(wait, MAX_BACKOFF_S))
