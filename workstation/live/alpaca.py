"""Alpaca market-data v2 provider: minute bars over the websocket stream, history over REST.

Stream protocol (wss://stream.data.alpaca.markets/v2/{iex|sip}): every frame is a JSON array of
objects tagged by "T". The server greets with success "connected"; the client sends
{"action": "auth", "key", "secret"} and gets success "authenticated" or an error (402 auth failed,
...); then {"action": "subscribe", "bars": [...], "updatedBars": [...], "dailyBars": [...],
"quotes": [...]} answered by a "subscription" message. Data: "b" minute bars, "u" updated
(corrected) minute bars, "d" daily bars, "q" quotes. A bar's `t` (RFC-3339) is the bar START.

History: GET {rest_url}/v2/stocks/bars?symbols=..&timeframe=1Min&start=..&end=..&limit=..&feed=..
with headers APCA-API-KEY-ID / APCA-API-SECRET-KEY, paged by `next_page_token`.

Why not the `alpaca-py` SDK: it pulls many dependencies and runs its own threading/asyncio model
(its stream owns the event loop and calls handlers on it), which would fight our back-pressure,
reconnect and shutdown rules. The protocol is small; `websockets` and stdlib `urllib` cover it.

Threads: one thread runs an asyncio loop (socket reading, reconnects, QUIET watchdog); one
dispatcher thread calls the sinks. They are joined by `close()`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import queue
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import websockets
from websockets.exceptions import WebSocketException

from workstation.errors import ProviderError
from workstation.live.provider import (
    MarketDataProvider,
    NsClock,
    ProviderHealth,
    Quote,
    is_finite_number,
)
from workstation.model import Bar, parse_interval

logger = logging.getLogger(__name__)

DEFAULT_WS_URL = "wss://stream.data.alpaca.markets/v2/iex"
DEFAULT_REST_URL = "https://data.alpaca.markets"
FEEDS = ("iex", "sip")
STREAMED_INTERVALS = ("1m", "1d")
HISTORY_PAGE_LIMIT = 10_000
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_BACKPRESSURE_POLL_S = 0.002
_DISPATCH_POLL_S = 0.05

# Error codes of the stream (T == "error").
_AUTH_REJECTED = {401: "not authenticated", 402: "auth failed"}
_AUTH_TIMEOUT = 404
_SUBSCRIPTION_REFUSED = {
    405: "symbol limit exceeded",
    409: "insufficient subscription",
    410: "invalid subscribe action",
}
_RECONNECT_CODES = {406: "connection limit exceeded", 407: "slow client", 500: "internal error"}

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


class _StreamError(Exception):
    """The server sent an error message that ends this connection."""

    def __init__(self, code: int, msg: str, fatal: bool, detail: str):
        super().__init__(detail)
        self.code, self.msg, self.fatal, self.detail = code, msg, fatal, detail


class _MalformedMessage(ValueError):
    """A message item lacks a field or has a field of the wrong type."""


def parse_rfc3339_ns(text: Any) -> int:
    """RFC-3339 text (Z or ±hh:mm, up to 9 fraction digits) -> int ns UTC; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"timestamp {text!r} is not a string")
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"timestamp {text!r} is not RFC-3339")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7) or "", m.group(8)
    days = dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"timestamp {text!r} has an invalid time of day")
    offset_s = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset_s = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


def format_rfc3339_ns(ns: int) -> str:
    """int ns UTC -> RFC-3339 text in UTC ("2024-01-02T14:30:00Z", fraction only when needed)."""
    seconds, fraction = divmod(int(ns), 1_000_000_000)
    text = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction:09d}Z" if fraction else f"{text}Z"


def parse_alpaca_bar(item: Any, symbol: str | None, interval: str) -> Bar:
    """An Alpaca bar object ({S?, t, o, h, l, c, v, ...}) -> Bar; _MalformedMessage names the fault."""
    if not isinstance(item, dict):
        raise _MalformedMessage(f"bar is not an object: {item!r:.120}")
    sym = item.get("S", symbol)
    if not isinstance(sym, str) or not sym:
        raise _MalformedMessage(f"bar has no symbol 'S': {item!r:.120}")
    values = []
    for field in ("o", "h", "l", "c", "v"):
        value = item.get(field)
        if not is_finite_number(value):
            raise _MalformedMessage(f"bar field {field!r} is {value!r}, not a finite number: {item!r:.120}")
        values.append(float(value))
    if values[4] < 0:
        raise _MalformedMessage(f"bar volume is negative ({values[4]}): {item!r:.120}")
    try:
        start_ns = parse_rfc3339_ns(item.get("t"))
    except ValueError as exc:
        raise _MalformedMessage(f"bar field 't': {exc}") from None
    return Bar(sym, interval, start_ns, values[0], values[1], values[2], values[3], values[4])


def parse_alpaca_quote(item: dict) -> Quote:
    """An Alpaca quote object ({S, bp, ap, bs, as, t}) -> Quote; _MalformedMessage names the fault."""
    sym = item.get("S")
    if not isinstance(sym, str) or not sym:
        raise _MalformedMessage(f"quote has no symbol 'S': {item!r:.120}")
    values = []
    for field in ("bp", "ap", "bs", "as"):
        value = item.get(field)
        if not is_finite_number(value):
            raise _MalformedMessage(f"quote field {field!r} is {value!r}, not a finite number")
        values.append(float(value))
    try:
        time_ns = parse_rfc3339_ns(item.get("t"))
    except ValueError as exc:
        raise _MalformedMessage(f"quote field 't': {exc}") from None
    return Quote(sym, values[0], values[1], values[2], values[3], time_ns)


def alpaca_timeframe(interval: str) -> str:
    """Engine interval -> Alpaca timeframe ("1m" -> "1Min", "1h" -> "1Hour", "1d" -> "1Day")."""
    iv = parse_interval(interval)
    if iv.seconds == 86400:
        return "1Day"
    if iv.seconds % 3600 == 0 and iv.seconds // 3600 <= 23:
        return f"{iv.seconds // 3600}Hour"
    if iv.seconds % 60 == 0 and iv.seconds // 60 <= 59:
        return f"{iv.seconds // 60}Min"
    raise ProviderError(f"Alpaca has no bars of interval {interval!r}: use minutes (1m-59m), hours or 1d")


class AlpacaProvider(MarketDataProvider):
    """Alpaca market-data v2: streamed 1m/1d bars (and quotes) plus the REST bars API for history.

    Keys come only from the environment variables named by `key_env` / `secret_env`.
    Reconnects with exponential back-off (initial_backoff_s * backoff_factor**n, capped at
    max_backoff_s, +- `jitter` fraction), re-authenticating and resubscribing everything.
    A rejected key (401/402), a refused subscription (405/409/410) or a second auth timeout (404)
    sets FAILED and stops retrying; 406/407/500 and dropped connections are retried.

    Slow consumers: the socket reader hands messages to the dispatcher thread through a bounded
    queue (`queue_size`). When it is full the reader stops reading (back-pressure, nothing is
    dropped) and counts `slow_consumer_waits` / `slow_consumer_wait_s`; if the server then drops
    us as a slow client (407) we reconnect. Bars still queued when `close()` is called are
    discarded (`undelivered_at_close`).
    """

    def __init__(
        self,
        *,
        ws_url: str | None = None,
        rest_url: str = DEFAULT_REST_URL,
        feed: str = "iex",
        key_env: str = "APCA_API_KEY_ID",
        secret_env: str = "APCA_API_SECRET_KEY",
        clock: NsClock | None = None,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        backoff_factor: float = 2.0,
        jitter: float = 0.1,
        quiet_after_s: float | None = 120.0,
        queue_size: int = 10_000,
        auth_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        name: str = "alpaca",
    ):
        super().__init__(name, clock)
        if feed not in FEEDS:
            raise ProviderError(f"Alpaca feed {feed!r} is unknown: use one of {', '.join(FEEDS)}")
        problems = []
        if initial_backoff_s <= 0:
            problems.append(f"initial_backoff_s={initial_backoff_s!r} must be > 0")
        if max_backoff_s < initial_backoff_s:
            problems.append(f"max_backoff_s={max_backoff_s!r} must be >= initial_backoff_s")
        if backoff_factor < 1:
            problems.append(f"backoff_factor={backoff_factor!r} must be >= 1")
        if not 0 <= jitter < 1:
            problems.append(f"jitter={jitter!r} must be in [0, 1)")
        if quiet_after_s is not None and quiet_after_s <= 0:
            problems.append(f"quiet_after_s={quiet_after_s!r} must be > 0 or None")
        if queue_size < 1:
            problems.append(f"queue_size={queue_size!r} must be >= 1")
        if auth_timeout_s <= 0 or connect_timeout_s <= 0:
            problems.append("auth_timeout_s and connect_timeout_s must be > 0")
        if problems:
            raise ProviderError("AlpacaProvider settings invalid: " + "; ".join(problems))
        key, secret = os.environ.get(key_env, ""), os.environ.get(secret_env, "")
        missing = [n for n, v in ((key_env, key), (secret_env, secret)) if not v.strip()]
        if missing:
            raise ProviderError(
                f"Alpaca API keys missing: set the environment variable(s) {' and '.join(missing)} "
                f"(key id in {key_env}, secret in {secret_env}); keys are never read from config files"
            )
        self._key, self._secret = key.strip(), secret.strip()
        self._key_env, self._secret_env = key_env, secret_env
        self.feed = feed
        self.ws_url = ws_url or f"wss://stream.data.alpaca.markets/v2/{feed}"
        self.rest_url = rest_url.rstrip("/")
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._backoff_factor = backoff_factor
        self._jitter = jitter
        self._quiet_after_s = quiet_after_s
        self._auth_timeout_s = auth_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._random = random.Random()
        self._queue: queue.Queue[tuple[str, Any, int]] = queue.Queue(maxsize=queue_size)
        self._bar_symbols: set[str] = set()
        self._daily_symbols: set[str] = set()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task | None = None
        self._ws_thread: threading.Thread | None = None
        self._dispatch_thread: threading.Thread | None = None
        self._authed_ws: Any = None
        self._session_healthy = False
        self._started = False
        for counter in (
            "connection_attempts",
            "server_errors",
            "ignored_messages",
            "slow_consumer_waits",
            "slow_consumer_wait_s",
            "queue_high_water",
            "undelivered_at_close",
        ):
            self._counts[counter] = 0
        self._counts["server_subscription"] = None

    # ------------------------------------------------------------------------------ lifecycle

    def connect(self) -> None:
        """Start the socket thread and the dispatcher thread; returns at once (watch `health`)."""
        with self._lock:
            if self._started:
                if self._stopping.is_set():
                    raise ProviderError(f"{self.name}: provider was closed; create a new one to reconnect")
                return
            self._started = True
        self._loop = asyncio.new_event_loop()
        self._dispatch_thread = threading.Thread(
            target=self._dispatch, name=f"{self.name}-dispatch", daemon=True
        )
        self._ws_thread = threading.Thread(target=self._run_loop, name=f"{self.name}-stream", daemon=True)
        self._dispatch_thread.start()
        self._ws_thread.start()

    def subscribe(self, symbols: list[str], intervals: list[str]) -> None:
        """Stream `intervals` ("1m" and/or "1d") of `symbols`; quotes too when a quote sink is set.

        Other intervals are derived downstream from 1m bars and raise ProviderError here.
        """
        if isinstance(symbols, str) or not symbols:
            raise ProviderError(f"subscribe needs a non-empty list of symbols, got {symbols!r}")
        clean = []
        for sym in symbols:
            if not isinstance(sym, str) or not sym.strip():
                raise ProviderError(f"subscribe: symbol {sym!r} is not a non-empty string")
            clean.append(sym.strip().upper())
        names = []
        for text in intervals:
            try:
                names.append(parse_interval(text).name)
            except ValueError as exc:
                raise ProviderError(f"subscribe: {exc}") from None
        unsupported = [n for n in names if n not in STREAMED_INTERVALS]
        if not names or unsupported:
            raise ProviderError(
                f"Alpaca streams only {' and '.join(STREAMED_INTERVALS)} bars, got {intervals!r}: "
                "subscribe to 1m and derive longer intervals from it"
            )
        with self._lock:
            if "1m" in names:
                self._bar_symbols.update(clean)
            if "1d" in names:
                self._daily_symbols.update(clean)
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._send_subscription_if_live)
            except RuntimeError:
                pass  # loop already closed: the provider is stopping or failed

    def close(self) -> None:
        """Stop both threads (joined within 1 s overall); queued undelivered messages are discarded."""
        self._stopping.set()
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._cancel_main)
            except RuntimeError:
                pass
        deadline = time.monotonic() + 1.0
        for thread in (self._ws_thread, self._dispatch_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    logger.warning("%s: thread %s did not stop within 1 s", self.name, thread.name)
        left = self._queue.qsize()
        if left:
            self._bump("undelivered_at_close", left)
        if self.health is not ProviderHealth.FAILED:
            self._set_health(ProviderHealth.DISCONNECTED, "closed")

    def stats(self) -> dict[str, Any]:
        """Base counters plus connection_attempts, server_errors, ignored_messages,
        slow_consumer_waits, slow_consumer_wait_s, queue_high_water, queue_size,
        undelivered_at_close and server_subscription (the last "subscription" message)."""
        out = super().stats()
        out["queue_size"] = self._queue.qsize()
        return out

    # -------------------------------------------------------------------------------- history

    def request_history(
        self, symbol: str, interval: str, start_ns: int, end_ns: int, timeout: float = 10.0
    ) -> list[Bar]:
        """Bars with start in [start_ns, end_ns) from the REST bars API, all pages, oldest first."""
        if not isinstance(symbol, str) or not symbol.strip():
            raise ProviderError(f"request_history: symbol {symbol!r} is not a non-empty string")
        symbol = symbol.strip().upper()
        timeframe = alpaca_timeframe(interval)
        interval_name = parse_interval(interval).name
        if end_ns <= start_ns:
            raise ProviderError(f"request_history: end {end_ns} must be after start {start_ns}")
        if timeout <= 0:
            raise ProviderError(f"request_history: timeout {timeout!r} must be > 0")
        what = f"Alpaca history {symbol} {interval_name} [{format_rfc3339_ns(start_ns)}, {format_rfc3339_ns(end_ns)})"
        deadline = time.monotonic() + timeout
        params = {
            "symbols": symbol,
            "timeframe": timeframe,
            "start": format_rfc3339_ns(start_ns),
            "end": format_rfc3339_ns(end_ns),  # Alpaca's end is inclusive; bars at end_ns are cut below
            "limit": str(HISTORY_PAGE_LIMIT),
            "feed": self.feed,
            "adjustment": "raw",
            "sort": "asc",
        }
        by_start: dict[int, Bar] = {}
        seen_tokens: set[str] = set()
        while True:
            page = self._get_json("/v2/stocks/bars", params, deadline, what)
            rows = page.get("bars")
            if isinstance(rows, dict):
                rows = rows.get(symbol) or []
            elif rows is None:
                rows = []
            if not isinstance(rows, list):
                raise ProviderError(
                    f"{what}: response field 'bars' is {type(rows).__name__}, not a list/object"
                )
            for row in rows:
                try:
                    bar = parse_alpaca_bar(row, symbol, interval_name)
                except _MalformedMessage as exc:
                    self._record_malformed(f"{what}: {exc}")
                    continue
                if bar.symbol == symbol and start_ns <= bar.timestamp < end_ns:
                    by_start[bar.timestamp] = bar
            token = page.get("next_page_token")
            if not token:
                break
            if not isinstance(token, str) or token in seen_tokens:
                raise ProviderError(f"{what}: server repeated page token {token!r}; stopping to avoid a loop")
            seen_tokens.add(token)
            params["page_token"] = token
        return [by_start[t] for t in sorted(by_start)]

    def _get_json(self, path: str, params: dict[str, str], deadline: float, what: str) -> dict:
        """GET rest_url+path with the key headers before `deadline`; ProviderError on any failure."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProviderError(f"{what}: timed out before the request finished")
        url = f"{self.rest_url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(
            url,
            headers={
                "APCA-API-KEY-ID": self._key,
                "APCA-API-SECRET-KEY": self._secret,
                "Accept": "application/json",
            },
        )
        handlers = []
        if urllib.parse.urlsplit(url).hostname in _LOOPBACK_HOSTS:
            handlers.append(urllib.request.ProxyHandler({}))
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(request, timeout=remaining) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            excerpt = exc.read(300).decode("utf-8", "replace").strip()
            hint = f" (check {self._key_env} / {self._secret_env})" if exc.code in (401, 403) else ""
            raise ProviderError(f"{what}: HTTP {exc.code} {exc.reason}{hint}: {excerpt}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ProviderError(f"{what}: request to {self.rest_url} failed: {reason}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise ProviderError(f"{what}: response is not JSON: {body[:200]!r}") from None
        if not isinstance(data, dict):
            raise ProviderError(f"{what}: response is {type(data).__name__}, not a JSON object")
        return data

    # ------------------------------------------------------------------------ dispatcher thread

    def _dispatch(self) -> None:
        """Dispatcher thread: call the sinks in arrival order, outside the socket read path."""
        while not self._stopping.is_set():
            try:
                kind, item, receive_ns = self._queue.get(timeout=_DISPATCH_POLL_S)
            except queue.Empty:
                continue
            if kind == "bar":
                self._deliver_bar(item, receive_ns)
            elif kind == "update":
                self._deliver_bar_update(item, receive_ns)
            else:
                self._deliver_quote(item, receive_ns)

    # --------------------------------------------------------------------------- socket thread

    def _run_loop(self) -> None:
        """Socket thread: run the asyncio loop until close() or FAILED."""
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._main_task = loop.create_task(self._run())
            loop.run_until_complete(self._main_task)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            logger.exception("%s stream loop crashed", self.name)
            self._set_health(ProviderHealth.FAILED, f"internal error in the stream loop: {exc!r}")
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def _cancel_main(self) -> None:
        if self._main_task is not None and not self._main_task.done():
            self._main_task.cancel()

    async def _run(self) -> None:
        """Connect, stream, and on a drop reconnect with back-off until stopped or FAILED."""
        watchdog = asyncio.create_task(self._quiet_watchdog()) if self._quiet_after_s else None
        delay = self._initial_backoff_s
        auth_timeouts = 0
        first = True
        try:
            while not self._stopping.is_set():
                if first:
                    self._set_health(ProviderHealth.CONNECTING, f"connecting to {self.ws_url}")
                else:
                    self._record_reconnect()
                    self._set_health(ProviderHealth.RECONNECTING, f"reconnecting to {self.ws_url}")
                first = False
                self._session_healthy = False
                try:
                    detail = await self._session()
                except _StreamError as exc:
                    if exc.fatal:
                        self._set_health(ProviderHealth.FAILED, exc.detail)
                        return
                    if exc.code == _AUTH_TIMEOUT:
                        auth_timeouts += 1
                        if auth_timeouts >= 2:
                            self._set_health(ProviderHealth.FAILED, f"{exc.detail} (twice); giving up")
                            return
                    detail = exc.detail
                except (OSError, TimeoutError, WebSocketException) as exc:
                    detail = f"connection lost: {type(exc).__name__}: {exc}"
                if self._stopping.is_set():
                    break
                if self._session_healthy:
                    delay = self._initial_backoff_s
                self._set_health(ProviderHealth.DISCONNECTED, detail)
                await self._sleep_unless_stopping(self._jittered(delay))
                delay = min(delay * self._backoff_factor, self._max_backoff_s)
        finally:
            if watchdog is not None:
                watchdog.cancel()

    def _jittered(self, delay: float) -> float:
        return delay * (1 + self._random.uniform(-self._jitter, self._jitter)) if self._jitter else delay

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.05))

    async def _quiet_watchdog(self) -> None:
        assert self._quiet_after_s is not None
        period = min(self._quiet_after_s / 4, 1.0)
        while True:
            await asyncio.sleep(period)
            self.check_quiet(self._now_ns(), self._quiet_after_s)

    async def _session(self) -> str:
        """One connection: handshake, auth, subscribe, read until it closes; returns why it closed."""
        self._bump("connection_attempts")
        proxy: Any = None if urllib.parse.urlsplit(self.ws_url).hostname in _LOOPBACK_HOSTS else True
        async with websockets.connect(
            self.ws_url,
            open_timeout=self._connect_timeout_s,
            close_timeout=0.5,
            ping_interval=20,
            ping_timeout=20,
            max_size=2**23,
            proxy=proxy,
        ) as ws:
            await self._expect_success(ws, "connected")
            await ws.send(json.dumps({"action": "auth", "key": self._key, "secret": self._secret}))
            await self._expect_success(ws, "authenticated")
            message = self._subscription_message()
            self._authed_ws = ws
            try:
                if message is None:
                    self._session_healthy = True
                else:
                    await ws.send(json.dumps(message))
                self._set_health(ProviderHealth.STREAMING, f"authenticated on {self.ws_url}")
                async for frame in ws:
                    await self._handle_frame(frame, self._now_ns())
            finally:
                self._authed_ws = None
            return f"server closed the connection (code {ws.close_code}, {ws.close_reason or 'no reason'})"

    async def _expect_success(self, ws: Any, expected: str) -> None:
        """Read frames until success `expected` arrives; errors raise _StreamError, timeout TimeoutError."""
        deadline = time.monotonic() + self._auth_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no '{expected}' message within {self._auth_timeout_s:g} s")
            frame = await asyncio.wait_for(ws.recv(), remaining)
            receive_ns = self._now_ns()
            for item in self._decode(frame):
                self._record_message(receive_ns)
                kind = item.get("T")
                if kind == "success" and item.get("msg") == expected:
                    return
                if kind == "error":
                    self._raise_or_log_error(item)
                elif kind != "success":
                    self._bump("ignored_messages")

    def _decode(self, frame: Any) -> list[dict]:
        """A frame -> its message objects; undecodable frames and non-object items are counted malformed."""
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8", "replace")
        try:
            data = json.loads(frame)
        except ValueError:
            self._record_malformed(f"invalid JSON: {frame[:120]!r}")
            return []
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            self._record_malformed(f"frame is {type(data).__name__}, not a JSON array: {frame[:120]!r}")
            return []
        items = []
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("T"), str):
                items.append(item)
            else:
                self._record_malformed(f"message without a string 'T': {item!r:.120}")
        return items

    async def _handle_frame(self, frame: Any, receive_ns: int) -> None:
        """Parse one frame and queue its bars/quotes for the dispatcher; errors may end the session."""
        for item in self._decode(frame):
            self._record_message(receive_ns)
            kind = item["T"]
            try:
                if kind == "b":
                    await self._enqueue(("bar", parse_alpaca_bar(item, None, "1m"), receive_ns))
                    self._session_healthy = True
                elif kind == "u":
                    await self._enqueue(("update", parse_alpaca_bar(item, None, "1m"), receive_ns))
                elif kind == "d":
                    await self._enqueue(("bar", parse_alpaca_bar(item, None, "1d"), receive_ns))
                elif kind == "q":
                    await self._enqueue(("quote", parse_alpaca_quote(item), receive_ns))
                elif kind == "subscription":
                    self._session_healthy = True
                    with self._lock:
                        self._counts["server_subscription"] = {
                            k: v for k, v in item.items() if k != "T" and isinstance(v, list)
                        }
                elif kind == "error":
                    self._raise_or_log_error(item)
                elif kind != "success":
                    self._bump("ignored_messages")
            except _MalformedMessage as exc:
                self._record_malformed(str(exc))

    def _raise_or_log_error(self, item: dict) -> None:
        """Turn a server error message into _StreamError (ends the session) or log it."""
        code, msg = item.get("code"), str(item.get("msg", ""))
        self._bump("server_errors")
        if not isinstance(code, int) or isinstance(code, bool):
            self._record_malformed(f"error message without an integer code: {item!r:.120}")
            return
        if code in _AUTH_REJECTED:
            detail = (
                f"Alpaca rejected the API key ({code} {msg or _AUTH_REJECTED[code]}): "
                f"check {self._key_env} / {self._secret_env}"
            )
            raise _StreamError(code, msg, True, detail)
        if code in _SUBSCRIPTION_REFUSED:
            detail = (
                f"Alpaca refused the subscription ({code} {msg or _SUBSCRIPTION_REFUSED[code]}) on feed "
                f"{self.feed!r}: check the plan allows this feed and the number of symbols"
            )
            raise _StreamError(code, msg, True, detail)
        if code == _AUTH_TIMEOUT:
            raise _StreamError(code, msg, False, f"Alpaca auth timeout ({code} {msg})")
        if code in _RECONNECT_CODES:
            hint = {
                406: "another connection uses this key; backing off",
                407: "we read too slowly; reconnecting",
            }.get(code, "reconnecting")
            raise _StreamError(
                code, msg, False, f"Alpaca error {code} {msg or _RECONNECT_CODES[code]}: {hint}"
            )
        logger.warning("%s: server error %s %s (ignored)", self.name, code, msg)

    async def _enqueue(self, entry: tuple[str, Any, int]) -> None:
        """Queue for the dispatcher; when full, stop reading the socket until there is room."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            started = time.monotonic()
            self._bump("slow_consumer_waits")
            while True:
                await asyncio.sleep(_BACKPRESSURE_POLL_S)
                if self._stopping.is_set():
                    return
                try:
                    self._queue.put_nowait(entry)
                    break
                except queue.Full:
                    continue
            self._bump("slow_consumer_wait_s", time.monotonic() - started)
        depth = self._queue.qsize()
        with self._lock:
            if depth > self._counts["queue_high_water"]:
                self._counts["queue_high_water"] = depth

    def _subscription_message(self) -> dict | None:
        """The full subscribe action for everything asked so far, or None when nothing is."""
        with self._lock:
            bars, daily = sorted(self._bar_symbols), sorted(self._daily_symbols)
            quotes = sorted(self._bar_symbols | self._daily_symbols) if self._quote_sink is not None else []
        if not (bars or daily):
            return None
        message: dict[str, Any] = {"action": "subscribe", "bars": bars, "updatedBars": bars}
        if daily:
            message["dailyBars"] = daily
        if quotes:
            message["quotes"] = quotes
        return message

    def _send_subscription_if_live(self) -> None:
        """Loop thread: after a subscribe() call, send the (additive) subscription on a live socket."""
        ws = self._authed_ws
        message = self._subscription_message()
        if ws is None or message is None:
            return
        task = asyncio.get_running_loop().create_task(ws.send(json.dumps(message)))
        task.add_done_callback(self._log_send_failure)

    def _log_send_failure(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.warning(
                "%s: sending the subscription failed: %r (resent on reconnect)", self.name, task.exception()
            )
