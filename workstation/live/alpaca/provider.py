"""AlpacaProvider: minute bars over Alpaca's v2 websocket stream, history over its REST bars API.

Stream protocol (wss://stream.data.alpaca.markets/v2/{feed}): every frame is a JSON array of
objects tagged by "T". The server greets with success "connected"; the client sends
{"action": "auth", "key", "secret"} and gets success "authenticated" or an error; then
{"action": "subscribe", "bars": [...], "updatedBars": [...], "dailyBars": [...], "quotes": [...]}
answered by a "subscription" message. Data: "b" minute bars, "u" updated (corrected) minute bars,
"d" daily bars, "q" quotes. A bar's `t` (RFC-3339) is the bar START. The real service never
resends what was published while a client was disconnected: minutes lost in a drop are filled
from history by the gap filler.

The stream URL follows the configured feed unless overridden (and an override naming another feed
is refused); keys go only over TLS except to a loopback host (workstation.live.endpoints). Nothing
logged by this module or by the websocket library on its behalf can hold the key or the secret
(workstation.live.redaction). Server error codes are handled per the table in
workstation.live.alpaca.errors; frames are decoded with bounds (workstation.live.alpaca.wire).

Why not the `alpaca-py` SDK: it pulls many dependencies and runs its own threading/asyncio model
(its stream owns the event loop and calls handlers on it), which would fight our back-pressure,
reconnect and shutdown rules. The protocol is small; `websockets` and stdlib `urllib` cover it.
(A test checks that alpaca-py, pointed at our stand-in, receives the same bars.)

Threads: one thread runs an asyncio loop (socket reading, reconnects, QUIET watchdog); one
dispatcher thread calls the sinks. They are joined by `close()`. REST history requests run in the
caller's thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import random
import socket
import ssl
import threading
import time
import urllib.parse
from collections import deque
from typing import Any

import websockets
from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException

from workstation.errors import ProviderError
from workstation.live.alpaca.errors import (
    AUTH_TIMEOUT_CODE,
    STREAM_ERRORS,
    ErrorAction,
    handshake_action,
    handshake_hint,
    stream_error_rule,
)
from workstation.live.alpaca.history import AlpacaHistoryClient, alpaca_keys, retry_after_seconds
from workstation.live.alpaca.wire import (
    MAX_SOCKET_FRAME_BYTES,
    FrameRejected,
    MalformedMessage,
    decode_frame,
    excerpt,
    parse_alpaca_bar,
    parse_alpaca_quote,
)
from workstation.live.endpoints import (
    ALPACA_REST_URL,
    alpaca_stream_url,
    check_rest_url,
    check_stream_feed,
    check_stream_url,
    is_loopback_host,
    key_destination,
)
from workstation.live.provider import HistoryAnswer, MarketDataProvider, NsClock, ProviderHealth
from workstation.live.redaction import RedactingLogger
from workstation.model import Bar, parse_interval

logger = logging.getLogger(__name__)

DEFAULT_REST_URL = ALPACA_REST_URL
FEEDS = ("iex", "sip")
STREAMED_INTERVALS = ("1m", "1d")
SERVER_ERRORS_KEPT = 200
DNS_FAILURES_BEFORE_FAILED = 3      # a host never reached that does not resolve is a wrong URL
_BACKPRESSURE_POLL_S = 0.002
_DISPATCH_POLL_S = 0.05


class _StreamError(Exception):
    """The server sent an error message that ends this connection (or the stream)."""

    def __init__(self, code: int, action: ErrorAction, detail: str):
        super().__init__(detail)
        self.code, self.action, self.detail = code, action, detail


class AlpacaProvider(MarketDataProvider):
    """Alpaca market-data v2: streamed 1m/1d bars (and quotes) plus the REST bars API for history.

    Keys come only from the environment variables named by `key_env` / `secret_env`.
    Reconnects with exponential back-off (initial_backoff_s * backoff_factor**n, capped at
    max_backoff_s, +- `jitter` fraction, and never sooner than a handshake's Retry-After),
    re-authenticating and resubscribing everything. Errors that retrying cannot cure (a rejected
    key, a refused subscription, a second auth timeout, a handshake refused with 4xx other than
    429, a host that never resolved) set FAILED and stop; see workstation.live.alpaca.errors.

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
        try:
            stream_url = check_stream_url(ws_url or alpaca_stream_url(feed))
            check_stream_feed(stream_url, feed)
            history_url = check_rest_url(rest_url)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ProviderError("AlpacaProvider settings invalid: " + "; ".join(problems))
        self._key, self._secret = alpaca_keys(key_env, secret_env)
        self._key_env, self._secret_env = key_env, secret_env
        self._log = RedactingLogger(logger, (self._key, self._secret))
        self._wire_log = RedactingLogger(logging.getLogger(f"{__name__}.wire"), (self._key, self._secret))
        self.feed = feed
        self.ws_url = stream_url
        self.rest_url = history_url
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
        self._ever_connected = False
        self._started = False
        self._server_errors: deque[dict[str, Any]] = deque(maxlen=SERVER_ERRORS_KEPT)
        for counter in (
            "connection_attempts",
            "server_errors",
            "unknown_server_errors",
            "handshake_refusals",
            "frames_dropped",
            "ignored_messages",
            "slow_consumer_waits",
            "slow_consumer_wait_s",
            "queue_high_water",
            "undelivered_at_close",
            "rest_requests",
            "rest_rate_limited",
            "rest_wait_s",
        ):
            self._counts[counter] = 0
        self._counts["server_subscription"] = None
        self._counts["server_error_codes"] = {}
        self._history = AlpacaHistoryClient(
            self.rest_url, feed, self._key, self._secret, key_env, secret_env, self._stopping, self._log,
            self._bump, self._record_malformed, self._now_ns,
        )

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
                    self._log.warning("%s: thread %s did not stop within 1 s", self.name, thread.name)
        left = self._queue.qsize()
        if left:
            self._bump("undelivered_at_close", left)
        if self.health is not ProviderHealth.FAILED:
            self._set_health(ProviderHealth.DISCONNECTED, "closed", asked=True)

    def stats(self) -> dict[str, Any]:
        """Base counters plus connection_attempts, server_errors, unknown_server_errors,
        server_error_codes ({code: count}), server_errors_recent (the last SERVER_ERRORS_KEPT, each
        {time_ns, code, msg, known, action}), handshake_refusals, frames_dropped, ignored_messages,
        slow_consumer_waits, slow_consumer_wait_s, queue_high_water, queue_size,
        undelivered_at_close, rest_requests, rest_rate_limited, rest_wait_s and server_subscription
        (the last "subscription" message)."""
        out = super().stats()
        out["queue_size"] = self._queue.qsize()
        with self._lock:
            out["server_errors_recent"] = list(self._server_errors)
            out["server_error_codes"] = dict(out.get("server_error_codes") or {})
        return out

    def key_destinations(self) -> dict[str, str]:
        """Hosts the API keys are sent to: {"stream": host, "history": host}."""
        return {"stream": key_destination(self.ws_url), "history": key_destination(self.rest_url)}

    # -------------------------------------------------------------------------------- history

    def request_history(
        self, symbol: str, interval: str, start_ns: int, end_ns: int, timeout: float = 10.0
    ) -> list[Bar]:
        """Bars with start in [start_ns, end_ns) from the REST bars API, all pages, oldest first."""
        if not isinstance(symbol, str) or not symbol.strip():
            raise ProviderError(f"request_history: symbol {symbol!r} is not a non-empty string")
        name = symbol.strip().upper()
        return self._history.bars([name], interval, start_ns, end_ns, timeout)[name]

    def request_history_many(
        self, symbols: list[str], interval: str, start_ns: int, end_ns: int, timeout: float = 30.0
    ) -> HistoryAnswer:
        """Bars of many symbols in few requests (up to 100 symbols each); 429 honoured (see history)."""
        return self._history.bars(symbols, interval, start_ns, end_ns, timeout)

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
            self._log.exception("%s stream loop crashed", self.name)
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
        dns_failures = 0
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
                at_least = 0.0
                try:
                    detail = await self._session()
                except _StreamError as exc:
                    if exc.action is ErrorAction.FAIL:
                        self._set_health(ProviderHealth.FAILED, exc.detail)
                        return
                    if exc.code == AUTH_TIMEOUT_CODE:
                        auth_timeouts += 1
                        if auth_timeouts >= 2:
                            self._set_health(ProviderHealth.FAILED, f"{exc.detail} (twice); giving up")
                            return
                    detail = exc.detail
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    self._bump("handshake_refusals")
                    reason = f"HTTP {status} {exc.response.reason_phrase}".strip()
                    if handshake_action(status) is ErrorAction.FAIL:
                        self._set_health(
                            ProviderHealth.FAILED,
                            f"{key_destination(self.ws_url)} refused the websocket handshake ({reason}): "
                            f"{handshake_hint(status)}",
                        )
                        return
                    at_least = retry_after_seconds(exc.response.headers, time.time()) or 0.0
                    detail = f"handshake refused ({reason}); retrying" + (
                        f" after {at_least:g} s (Retry-After)" if at_least else ""
                    )
                except InvalidURI as exc:
                    self._set_health(ProviderHealth.FAILED, f"invalid stream URL {self.ws_url!r}: {exc}")
                    return
                except ssl.SSLCertVerificationError as exc:
                    self._set_health(
                        ProviderHealth.FAILED,
                        f"the TLS certificate of {key_destination(self.ws_url)} is not valid "
                        f"({exc.verify_message}); keys are not sent to it",
                    )
                    return
                except socket.gaierror as exc:
                    dns_failures += 1
                    host = key_destination(self.ws_url)
                    if not self._ever_connected and dns_failures >= DNS_FAILURES_BEFORE_FAILED:
                        self._set_health(
                            ProviderHealth.FAILED,
                            f"the stream host {host} was not found {dns_failures} times ({exc}): "
                            "check live.alpaca.ws_url and the network",
                        )
                        return
                    detail = f"host {host} not found ({exc}); retrying"
                except (OSError, TimeoutError, WebSocketException) as exc:
                    detail = f"connection lost: {type(exc).__name__}: {exc}"
                if self._stopping.is_set():
                    break
                if self._session_healthy:
                    delay = self._initial_backoff_s
                    auth_timeouts = 0
                self._set_health(ProviderHealth.DISCONNECTED, detail)
                await self._sleep_unless_stopping(max(self._jittered(delay), at_least))
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
        proxy: Any = None if is_loopback_host(urllib.parse.urlsplit(self.ws_url).hostname) else True
        async with websockets.connect(
            self.ws_url,
            open_timeout=self._connect_timeout_s,
            close_timeout=0.5,
            ping_interval=20,
            ping_timeout=20,
            max_size=MAX_SOCKET_FRAME_BYTES,
            proxy=proxy,
            logger=self._wire_log,
        ) as ws:
            self._ever_connected = True
            await self._expect_success(ws, "connected")
            await ws.send(_auth_frame(self._key, self._secret))
            await self._expect_success(ws, "authenticated")
            message = self._subscription_message()
            self._authed_ws = ws
            try:
                if message is None:
                    self._session_healthy = True
                else:
                    await ws.send(_json(message))
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
                    self._on_server_error(item)
                elif kind != "success":
                    self._bump("ignored_messages")

    def _decode(self, frame: Any) -> list[dict]:
        """A frame -> its message objects. A frame that cannot be decoded (too large, nested too
        deeply, not JSON) is dropped and counted (frames_dropped and malformed_messages); items
        that are not objects with a string "T" are counted malformed."""
        try:
            data = decode_frame(frame)
        except FrameRejected as exc:
            self._bump("frames_dropped")
            self._record_malformed(f"frame dropped: {exc}")
            return []
        items = []
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("T"), str):
                items.append(item)
            else:
                self._record_malformed(f"message without a string 'T': {excerpt(item)}")
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
                    self._on_server_error(item)
                elif kind != "success":
                    self._bump("ignored_messages")
            except MalformedMessage as exc:
                self._record_malformed(str(exc))

    def _on_server_error(self, item: dict) -> None:
        """Record a server error message and act on it per the error table: raise _StreamError
        (end this connection, or the stream for FAIL codes) or keep going."""
        code, msg = item.get("code"), item.get("msg", "")
        msg = msg if isinstance(msg, str) and len(msg) <= 200 else excerpt(msg)
        self._bump("server_errors")
        if not isinstance(code, int) or isinstance(code, bool):
            self._record_malformed(f"error message without an integer code: {excerpt(item)}")
            return
        rule = stream_error_rule(code)
        known = code in STREAM_ERRORS
        with self._lock:
            codes = self._counts.setdefault("server_error_codes", {})
            codes[str(code)] = codes.get(str(code), 0) + 1
            if not known:
                self._counts["unknown_server_errors"] += 1
            self._server_errors.append({"time_ns": self._now_ns(), "code": code, "msg": msg, "known": known,
                                        "action": rule.action.value})
        text = f"{code} {msg or rule.meaning}"
        if rule.action is ErrorAction.FAIL:
            if code == 402:
                detail = f"Alpaca rejected the API key ({text}): check {self._key_env} / {self._secret_env}"
            elif code in (405, 409, 410, 411):
                detail = (
                    f"Alpaca refused the subscription ({text}) on feed {self.feed!r}: check the plan allows "
                    "this feed and the number of symbols"
                )
            else:
                detail = f"Alpaca error {text}: {rule.why}"
            raise _StreamError(code, rule.action, detail)
        if rule.action is ErrorAction.RECONNECT:
            raise _StreamError(code, rule.action, f"Alpaca error {text}: {rule.why}")
        if rule.action is ErrorAction.IGNORE:
            self._log.info("%s: server error %s (%s)", self.name, text, rule.why)
            return
        self._log.warning("%s: server error %s%s; connection kept", self.name, text,
                          "" if known else " (unknown code)")

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
        task = asyncio.get_running_loop().create_task(ws.send(_json(message)))
        task.add_done_callback(self._log_send_failure)

    def _log_send_failure(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.warning(
                "%s: sending the subscription failed: %r (resent on reconnect)", self.name, task.exception()
            )


def _json(message: dict) -> str:
    """A client message as the JSON text frame the stream expects."""
    return json.dumps(message, separators=(",", ":"))


def _auth_frame(key: str, secret: str) -> str:
    """The auth action; only ever sent, never logged (the wire logger redacts it)."""
    return _json({"action": "auth", "key": key, "secret": secret})
