"""A loopback stand-in for Alpaca's market-data v2 stream and REST bars API, for tests.

The websocket side speaks the stream protocol (connected -> auth -> subscribe -> data) and lets a
test script it: push bars/updated bars/raw frames, drop connections abruptly, send server errors,
replay an overlap of already sent bars after a resubscribe, refuse connections with 406. Data
pushed while no subscribed connection exists is held and sent after the next subscribe, so a
client that reconnects and resubscribes loses nothing.

The HTTP side answers GET /v2/stocks/bars with pages of bars ({"bars": {SYM: [...]},
"next_page_token": ...}) and can fail on demand.

Both servers run on 127.0.0.1 with free ports, each in its own thread; `stop()` joins them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def rfc3339(ns: int) -> str:
    """int ns UTC -> "YYYY-MM-DDTHH:MM:SSZ" (whole seconds, as Alpaca stamps bars)."""
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> int:
    """RFC-3339 text -> int ns UTC (the stand-in's own parser, independent of the provider's)."""
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
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


class _Conn:
    """Server-side state of one client connection."""

    def __init__(self, ws: ServerConnection):
        self.ws = ws
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


class AlpacaStandIn:
    """Loopback Alpaca market-data server (websocket + REST) scripted by a test."""

    def __init__(self, key: str = "test-key", secret: str = "test-secret"):
        self.key, self.secret = key, secret
        # What the server saw (read from the test thread; appended on the server threads).
        self.connections = 0
        self.auth_messages: list[dict] = []
        self.subscribe_messages: list[dict] = []
        self.rest_requests: list[dict[str, str]] = []
        # Scripting knobs.
        self.replay_overlap = 0  # on every subscribe after the first, resend the last N data messages
        self.reject_with_406 = 0  # answer this many next auths with error 406 and close
        self.rest_bars: dict[str, list[dict]] = {}
        self.rest_page_size = 100
        self.rest_fail: list[int] = []  # statuses to answer the next REST requests with
        self._sent: list[dict] = []
        self._pending: list[dict] = []
        self._conns: set[_Conn] = set()
        self._changed = threading.Condition()
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
    def ws_url(self) -> str:
        port = self._ws_server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/v2/iex"

    @property
    def open_connections(self) -> int:
        """Connections the server still serves."""
        return len(self._conns)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

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

    def push(self, messages: list[dict]) -> None:
        """Send data messages to the subscribed connections (held until a subscribe if none)."""
        self._call(self._push(messages))

    def send_raw(self, text: str) -> None:
        """Send a raw text frame (e.g. malformed JSON) to every authenticated connection."""
        self._call(self._broadcast_raw(text))

    def send_error(self, code: int, msg: str, close: bool = True) -> None:
        """Send [{"T": "error", ...}] to every connection, then close them if asked."""
        self._call(self._send_error(code, msg, close))

    def drop(self) -> None:
        """Abort every connection's TCP transport (no close frame), as a network drop would."""
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
        self._ws_server = await serve(self._handle, "127.0.0.1", 0)

    async def _shutdown(self) -> None:
        for conn in list(self._conns):
            conn.ws.transport.abort()
        self._ws_server.close()
        await self._ws_server.wait_closed()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    async def _handle(self, ws: ServerConnection) -> None:
        conn = _Conn(ws)
        self._conns.add(conn)
        self.connections += 1
        self._notify()
        try:
            await ws.send(json.dumps([{"T": "success", "msg": "connected"}]))
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    await ws.send(json.dumps([{"T": "error", "code": 400, "msg": "invalid syntax"}]))
                    continue
                action = msg.get("action") if isinstance(msg, dict) else None
                if action == "auth":
                    if not await self._auth(conn, msg):
                        return
                elif action == "subscribe":
                    if not conn.authenticated:
                        await ws.send(json.dumps([{"T": "error", "code": 401, "msg": "not authenticated"}]))
                        continue
                    await self._subscribe(conn, msg)
                else:
                    await ws.send(json.dumps([{"T": "error", "code": 400, "msg": "invalid syntax"}]))
        except ConnectionClosed:
            pass
        finally:
            self._conns.discard(conn)
            self._notify()

    async def _auth(self, conn: _Conn, msg: dict) -> bool:
        self.auth_messages.append(msg)
        self._notify()
        if msg.get("key") != self.key or msg.get("secret") != self.secret:
            await conn.ws.send(json.dumps([{"T": "error", "code": 402, "msg": "auth failed"}]))
            await conn.ws.close()
            return False
        if self.reject_with_406 > 0:
            self.reject_with_406 -= 1
            await conn.ws.send(json.dumps([{"T": "error", "code": 406, "msg": "connection limit exceeded"}]))
            await conn.ws.close()
            return False
        conn.authenticated = True
        await conn.ws.send(json.dumps([{"T": "success", "msg": "authenticated"}]))
        return True

    async def _subscribe(self, conn: _Conn, msg: dict) -> None:
        self.subscribe_messages.append(msg)
        for channel, subs in conn.channels.items():
            subs.update(s for s in msg.get(channel, []) if isinstance(s, str))
        reply = {"T": "subscription", "trades": []}
        reply.update({channel: sorted(subs) for channel, subs in conn.channels.items()})
        await conn.ws.send(json.dumps([reply]))
        if self.replay_overlap and len(self.subscribe_messages) > 1:
            overlap = [m for m in self._sent[-self.replay_overlap :] if conn.wants(m)]
            if overlap:
                await conn.ws.send(json.dumps(overlap))
        ready = [m for m in self._pending if conn.wants(m)]
        self._pending = [m for m in self._pending if not conn.wants(m)]
        if ready:
            await conn.ws.send(json.dumps(ready))
            self._sent.extend(ready)
        self._notify()

    async def _push(self, messages: list[dict]) -> None:
        for message in messages:
            delivered = False
            for conn in list(self._conns):
                if conn.authenticated and conn.wants(message):
                    try:
                        await conn.ws.send(json.dumps([message]))
                        delivered = True
                    except ConnectionClosed:
                        self._conns.discard(conn)
            if delivered:
                self._sent.append(message)
            else:
                self._pending.append(message)
        self._notify()

    async def _broadcast_raw(self, text: str) -> None:
        for conn in list(self._conns):
            if conn.authenticated:
                await conn.ws.send(text)

    async def _send_error(self, code: int, msg: str, close: bool) -> None:
        for conn in list(self._conns):
            await conn.ws.send(json.dumps([{"T": "error", "code": code, "msg": msg}]))
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
                standin.rest_requests.append({"path": url.path, **params})
                if standin.rest_fail:
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
                    self._reply(200, standin._bars_page(params))

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _bars_page(self, params: dict[str, str]) -> dict:
        """One page of stored bars in [start, end] (inclusive, as Alpaca), sorted by symbol then time."""
        start = parse_rfc3339(params["start"]) if "start" in params else None
        end = parse_rfc3339(params["end"]) if "end" in params else None
        rows: list[tuple[str, dict]] = []
        for symbol in sorted(params["symbols"].split(",")):
            for row in sorted(self.rest_bars.get(symbol, []), key=lambda r: r["t"]):
                t = parse_rfc3339(row["t"])
                if (start is None or t >= start) and (end is None or t <= end):
                    rows.append((symbol, row))
        offset = int(params.get("page_token", "0"))
        size = min(self.rest_page_size, int(params.get("limit", "1000")))
        page = rows[offset : offset + size]
        bars: dict[str, list[dict]] = {}
        for symbol, row in page:
            bars.setdefault(symbol, []).append(row)
        token = str(offset + size) if offset + size < len(rows) else None
        return {"bars": bars, "next_page_token": token}
