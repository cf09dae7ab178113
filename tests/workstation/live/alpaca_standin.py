"""A loopback stand-in for Alpaca's market-data v2 stream and REST bars API, for tests.

It behaves like the real service where live sessions break, not kinder:

- Stream paths /v2/iex, /v2/sip and /v2/test (the feed is the last segment; data can be pushed to
  one feed only); any other path is refused at the handshake with HTTP 404.
- Data published while no subscribed connection exists is LOST, as on the real service (nothing
  is resent after the next subscribe). `replay_overlap` (resend the last N messages after a
  resubscribe) is a test knob for duplicate suppression, not something the service does.
- After `drop()` the server keeps the dead session for `refuse_after_drop_s` seconds and refuses
  new ones meanwhile: with error 406 "connection limit exceeded" after auth (`refusal="406"`) or
  HTTP 429 at the handshake (`refusal="429"`, with `Retry-After` when `handshake_retry_after`).
- A client that sends `Content-Type: application/msgpack` at the handshake gets msgpack binary
  frames (timestamps as msgpack Timestamps) and may send msgpack, as alpaca-py does.
- REST GET /v2/stocks/bars: symbols sorted, then time; `limit` counts bars over all symbols of a
  page; `next_page_token` continues; with `clock` set, only bars that have ended are served.
  `rest_rate_limit = (requests, window_s)` answers 429 with
  Retry-After / X-RateLimit-* headers beyond the limit; `rest_fail` answers given statuses.
- `StandInMarket` plays a session of bars on a clock: each minute's bars are pushed when the clock
  passes their end, only for symbols that traded (thin symbols simply have fewer bars), and the
  REST side serves all of them; scheduled drops lose the minutes published during them.

Both servers run on 127.0.0.1 with free ports, each in its own thread; `stop()` joins them.
The server's websocket logger is its own ("alpaca_standin"), so tests of the client's logs can
tell the two apart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

FEED_PATHS = {"/v2/iex": "iex", "/v2/sip": "sip", "/v2/test": "test"}
STANDIN_LOGGER = logging.getLogger("alpaca_standin")


def rfc3339(ns: int) -> str:
    """int ns UTC -> "YYYY-MM-DDTHH:MM:SSZ" (whole seconds, as Alpaca stamps bars)."""
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> int:
    """RFC-3339 text -> int ns UTC (the stand-in's own parser; naive text is UTC, as Alpaca reads it)."""
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return int(stamp.timestamp()) * 1_000_000_000


def bar_message(kind: str, symbol: str, start_ns: int, price: float, volume: float = 100.0) -> dict:
    """An Alpaca bar object of type `kind` ("b", "u", "d") starting at `start_ns`."""
    return {
        "T": kind,
        "S": symbol,
        "o": price,
        "h": price + 0.5,
        "l": price - 0.5,
        "c": price + 0.25,
        "v": volume,
        "t": rfc3339(start_ns),
        "n": 10,
        "vw": price + 0.1,
    }


def rest_row(message: dict) -> dict:
    """The REST form of a stream bar object (no "T"/"S")."""
    return {k: v for k, v in message.items() if k not in ("T", "S")}


class _Conn:
    """Server-side state of one client connection."""

    def __init__(self, ws: ServerConnection, feed: str, packed: bool):
        self.ws = ws
        self.feed = feed
        self.packed = packed
        self.authenticated = False
        self.channels: dict[str, set[str]] = {
            "bars": set(),
            "updatedBars": set(),
            "dailyBars": set(),
            "quotes": set(),
        }

    def wants(self, message: dict) -> bool:
        channel = {"b": "bars", "u": "updatedBars", "d": "dailyBars", "q": "quotes"}.get(message.get("T"))
        if channel is None:
            return self.authenticated
        subs = self.channels[channel]
        return "*" in subs or message.get("S") in subs

    def encode(self, messages: list[dict]) -> str | bytes:
        if not self.packed:
            return json.dumps(messages)
        out = []
        for message in messages:
            item = dict(message)
            if isinstance(item.get("t"), str):
                item["t"] = msgpack.Timestamp.from_unix_nano(parse_rfc3339(item["t"]))
            out.append(item)
        return msgpack.packb(out)

    async def send(self, messages: list[dict]) -> None:
        await self.ws.send(self.encode(messages))


class AlpacaStandIn:
    """Loopback Alpaca market-data server (websocket + REST) scripted by a test."""

    def __init__(self, key: str = "test-key", secret: str = "test-secret", refuse_after_drop_s: float = 0.0,
                 refusal: str = "406", handshake_retry_after: int | None = None):
        if refusal not in ("406", "429"):
            raise ValueError(f"refusal must be '406' or '429', got {refusal!r}")
        self.key, self.secret = key, secret
        # What the server saw (read from the test thread; appended on the server threads).
        self.connections = 0
        self.connection_paths: list[str] = []
        self.handshakes: list[tuple[float, int]] = []   # (time.monotonic(), HTTP status answered)
        self.connection_formats: list[str] = []
        self.auth_messages: list[dict] = []
        self.subscribe_messages: list[dict] = []
        self.rest_requests: list[dict[str, str]] = []
        self.refusals: dict[str, int] = {"406": 0, "429": 0}
        self.lost_messages = 0          # data published while no subscribed connection existed
        # Scripting knobs.
        self.replay_overlap = 0  # on every subscribe after the first, resend the last N data messages
        self.reject_with_406 = 0  # answer this many next auths with error 406 and close
        self.handshake_fail: list[int] = []  # HTTP statuses to answer the next handshakes with
        self.refuse_after_drop_s = refuse_after_drop_s
        self.refusal = refusal
        self.handshake_retry_after = handshake_retry_after
        self.rest_bars: dict[str, list[dict]] = {}
        self.rest_page_size = 100
        self.rest_fail: list[int] = []  # statuses to answer the next REST requests with
        self.rest_rate_limit: tuple[int, float] | None = None  # (requests, window seconds)
        self.rest_rate_limited = 0
        self.clock: Any = None   # when set, history holds only bars that have ended on this clock
        self._rest_window: list[float] = []
        self._refuse_until = 0.0
        self._sent: list[dict] = []
        self._conns: set[_Conn] = set()
        self._changed = threading.Condition()
        self._rest_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ws_thread = threading.Thread(target=self._run_ws, name="standin-ws", daemon=True)
        self._ws_server: Any = None
        self._ready = threading.Event()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._http_handler_class())
        self._http.daemon_threads = True
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="standin-http", daemon=True
        )

    # --------------------------------------------------------------------------- lifecycle

    def start(self) -> AlpacaStandIn:
        self._ws_thread.start()
        self._http_thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("stand-in websocket server did not start")
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._http_thread.join(2)
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(2)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._ws_thread.join(2)

    @property
    def port(self) -> int:
        return self._ws_server.sockets[0].getsockname()[1]

    def ws_url_for(self, feed: str) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/{feed}"

    @property
    def ws_url(self) -> str:
        return self.ws_url_for("iex")

    @property
    def open_connections(self) -> int:
        """Connections the server still serves."""
        return len(self._conns)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def refusing(self) -> bool:
        """Whether the server still holds a dropped session (and refuses new ones)."""
        return time.monotonic() < self._refuse_until

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until predicate() is true (re-checked on each server event); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
            return True

    # --------------------------------------------------------------------------- scripting

    def push(self, messages: list[dict], feed: str | None = None) -> None:
        """Publish data messages to the subscribed connections (of `feed` only, when given); with
        none subscribed they are lost, as on the real service."""
        self._call(self._push(messages, feed))

    def send_raw(self, text: str | bytes) -> None:
        """Send a raw frame (e.g. malformed JSON) to every authenticated connection."""
        self._call(self._broadcast_raw(text))

    def send_error(self, code: int, msg: str, close: bool = True) -> None:
        """Send [{"T": "error", ...}] to every connection, then close them if asked."""
        self._call(self._send_error(code, msg, close))

    def drop(self) -> None:
        """Abort every connection's TCP transport (no close frame), as a network drop would; the
        server then refuses new sessions for `refuse_after_drop_s`."""
        self._refuse_until = time.monotonic() + self.refuse_after_drop_s
        self._call(self._drop())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    # ------------------------------------------------------------------------ websocket side

    def _run_ws(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start_ws())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start_ws(self) -> None:
        self._ws_server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_request,
                                      logger=STANDIN_LOGGER)

    def _check_request(self, connection: ServerConnection, request: Any) -> Any:
        """Handshake: 404 for an unknown path, 429 while a dropped session is held (refusal 429)."""
        path = urllib.parse.urlsplit(request.path).path
        self.connection_paths.append(path)
        now = time.monotonic()
        if path not in FEED_PATHS:
            self.handshakes.append((now, 404))
            return connection.respond(HTTPStatus.NOT_FOUND, f"no stream at {path}\n")
        if self.handshake_fail:
            status = self.handshake_fail.pop(0)
            self.handshakes.append((now, status))
            self._notify()
            return connection.respond(HTTPStatus(status), f"refused with {status}\n")
        if self.refusal == "429" and self.refusing():
            self.refusals["429"] += 1
            self.handshakes.append((now, 429))
            self._notify()
            response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too many requests\n")
            if self.handshake_retry_after is not None:
                response.headers["Retry-After"] = str(self.handshake_retry_after)
            return response
        self.handshakes.append((now, 101))
        return None

    async def _shutdown(self) -> None:
        for conn in list(self._conns):
            conn.ws.transport.abort()
        self._ws_server.close()
        await self._ws_server.wait_closed()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    async def _handle(self, ws: ServerConnection) -> None:
        path = urllib.parse.urlsplit(ws.request.path).path
        packed = ws.request.headers.get("Content-Type", "").lower().startswith("application/msgpack")
        conn = _Conn(ws, FEED_PATHS[path], packed)
        self.connection_formats.append("msgpack" if packed else "json")
        self._conns.add(conn)
        self.connections += 1
        self._notify()
        try:
            await conn.send([{"T": "success", "msg": "connected"}])
            async for raw in ws:
                try:
                    msg = msgpack.unpackb(raw) if isinstance(raw, bytes) else json.loads(raw)
                except (ValueError, msgpack.UnpackException):
                    await conn.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
                    continue
                action = msg.get("action") if isinstance(msg, dict) else None
                if action == "auth":
                    if not await self._auth(conn, msg):
                        return
                elif action == "subscribe":
                    if not conn.authenticated:
                        await conn.send([{"T": "error", "code": 401, "msg": "not authenticated"}])
                        continue
                    await self._subscribe(conn, msg)
                else:
                    await conn.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
            self._notify()

    async def _auth(self, conn: _Conn, msg: dict) -> bool:
        self.auth_messages.append(msg)
        self._notify()
        if msg.get("key") != self.key or msg.get("secret") != self.secret:
            await conn.send([{"T": "error", "code": 402, "msg": "auth failed"}])
            await conn.ws.close()
            return False
        held = self.refusal == "406" and self.refusing()
        if self.reject_with_406 > 0 or held:
            if not held:
                self.reject_with_406 -= 1
            self.refusals["406"] += 1
            await conn.send([{"T": "error", "code": 406, "msg": "connection limit exceeded"}])
            await conn.ws.close()
            return False
        conn.authenticated = True
        await conn.send([{"T": "success", "msg": "authenticated"}])
        return True

    async def _subscribe(self, conn: _Conn, msg: dict) -> None:
        self.subscribe_messages.append(msg)
        for channel, subs in conn.channels.items():
            subs.update(s for s in msg.get(channel, []) if isinstance(s, str))
        reply = {"T": "subscription", "trades": []}
        reply.update({channel: sorted(subs) for channel, subs in conn.channels.items()})
        await conn.send([reply])
        if self.replay_overlap and len(self.subscribe_messages) > 1:
            overlap = [m for m in self._sent[-self.replay_overlap :] if conn.wants(m)]
            if overlap:
                await conn.send(overlap)
        self._notify()

    async def _push(self, messages: list[dict], feed: str | None) -> None:
        for message in messages:
            delivered = False
            for conn in list(self._conns):
                if conn.authenticated and conn.wants(message) and (feed is None or conn.feed == feed):
                    try:
                        await conn.send([message])
                        delivered = True
                    except ConnectionClosed:
                        self._conns.discard(conn)
            if delivered:
                self._sent.append(message)
            else:
                self.lost_messages += 1
        self._notify()

    async def _broadcast_raw(self, text: str | bytes) -> None:
        for conn in list(self._conns):
            if conn.authenticated:
                await conn.ws.send(text)

    async def _send_error(self, code: int, msg: str, close: bool) -> None:
        for conn in list(self._conns):
            await conn.send([{"T": "error", "code": code, "msg": msg}])
            if close:
                self._conns.discard(conn)
                await conn.ws.close()

    async def _drop(self) -> None:
        for conn in list(self._conns):
            self._conns.discard(conn)
            conn.ws.transport.abort()
        self._notify()

    # ----------------------------------------------------------------------------- REST side

    def _http_handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query))
                clock = standin.clock
                stamp = {"clock_ns": str(clock.now_ns())} if clock is not None else {}
                self.record = {"path": url.path, **params, **stamp}
                standin.rest_requests.append(self.record)
                limited = standin._rate_limited()
                if limited is not None:
                    self._reply(429, {"message": "too many requests."}, limited)
                elif standin.rest_fail:
                    status = standin.rest_fail.pop(0)
                    self._reply(status, {"message": "internal server error"})
                elif (
                    self.headers.get("APCA-API-KEY-ID") != standin.key
                    or self.headers.get("APCA-API-SECRET-KEY") != standin.secret
                ):
                    self._reply(403, {"message": "forbidden"})
                elif url.path != "/v2/stocks/bars" or "symbols" not in params or "timeframe" not in params:
                    self._reply(400, {"message": f"bad request {self.path}"})
                else:
                    self._reply(200, standin._bars_page(params), standin._rate_headers())
                standin._notify()

            def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                self.record["status"] = str(status)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _rate_limited(self) -> dict[str, str] | None:
        """Headers of a 429 when this request is over `rest_rate_limit`, else None."""
        if self.rest_rate_limit is None:
            return None
        limit, window = self.rest_rate_limit
        now = time.time()
        with self._rest_lock:
            self._rest_window = [t for t in self._rest_window if t > now - window]
            if len(self._rest_window) < limit:
                self._rest_window.append(now)
                return None
            self.rest_rate_limited += 1
            reset = (self._rest_window[0] if self._rest_window else now) + window
        wait = max(1, math.ceil(reset - now))
        return {"Retry-After": str(wait), "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(reset))}

    def _rate_headers(self) -> dict[str, str]:
        """X-RateLimit-* headers of a successful answer under `rest_rate_limit` (none without one)."""
        if self.rest_rate_limit is None:
            return {}
        limit, window = self.rest_rate_limit
        with self._rest_lock:
            left = max(0, limit - len(self._rest_window))
            reset = (self._rest_window[0] + window) if self._rest_window else time.time()
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(left),
                "X-RateLimit-Reset": str(math.ceil(reset))}

    def _bars_page(self, params: dict[str, str]) -> dict:
        """One page of stored bars in [start, end] (inclusive, as Alpaca), sorted by symbol then time."""
        start = parse_rfc3339(params["start"]) if "start" in params else None
        end = parse_rfc3339(params["end"]) if "end" in params else None
        ended_by = self.clock.now_ns() - 60_000_000_000 if self.clock is not None else None
        rows: list[tuple[str, dict]] = []
        for symbol in sorted(params["symbols"].split(",")):
            for row in sorted(self.rest_bars.get(symbol, []), key=lambda r: r["t"]):
                t = parse_rfc3339(row["t"])
                if (start is None or t >= start) and (end is None or t <= end) and (ended_by is None or t <= ended_by):
                    rows.append((symbol, row))
        offset = int(params.get("page_token", "0"))
        size = min(self.rest_page_size, int(params.get("limit", "1000")))
        page = rows[offset : offset + size]
        bars: dict[str, list[dict]] = {}
        for symbol, row in page:
            bars.setdefault(symbol, []).append(row)
        token = str(offset + size) if offset + size < len(rows) else None
        return {"bars": bars, "next_page_token": token}


class StandInMarket:
    """Plays a session's bars through the stand-in on a clock, as the live service would.

    `bars` are stream bar objects ("T": "b"); all of them are served by REST at once (history has
    everything), and each is pushed when `clock.now_ns()` passes its END. Bars ending at or before
    `start_ns` are history only (a run started later catches up on them). `drop_at` lists clock
    times at which every connection is dropped (the stand-in then refuses reconnects for a while;
    bars published meanwhile are lost). Runs in its own thread until `stop()` or the last bar.
    """

    def __init__(self, standin: AlpacaStandIn, bars: list[dict], clock: Any, start_ns: int,
                 step_ns: int = 60_000_000_000, drop_at: list[int] | None = None, feed: str | None = None):
        self.standin = standin
        self.clock = clock
        self.step_ns = step_ns
        self.feed = feed
        self.drop_at = sorted(drop_at or [])
        self.pushed: list[dict] = []
        self.drops_done: list[int] = []
        by_time: dict[int, list[dict]] = {}
        for message in bars:
            standin.rest_bars.setdefault(message["S"], []).append(rest_row(message))
            t = parse_rfc3339(message["t"])
            if t + step_ns > start_ns:
                by_time.setdefault(t, []).append(message)
        self._schedule = sorted(by_time.items())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="standin-market", daemon=True)

    def start(self) -> StandInMarket:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        k = 0
        drops = list(self.drop_at)
        while k < len(self._schedule) and not self._stop.is_set():
            now = self.clock.now_ns()
            while drops and drops[0] <= now:
                self.standin.drop()
                self.drops_done.append(drops.pop(0))
            ts, messages = self._schedule[k]
            if ts + self.step_ns <= now:
                self.standin.push(messages, self.feed)
                self.pushed.extend(messages)
                k += 1
                continue
            self._stop.wait(0.002)
