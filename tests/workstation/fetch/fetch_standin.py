"""A loopback stand-in for Alpaca's historical bars API (GET /v2/stocks/bars), for the fetch tests.

It speaks the documented API: `symbols` (comma separated), `timeframe` (1Min or 1Day), `start` and
`end` (RFC-3339, both inclusive), `limit` (bars per page over all symbols, at most 10000), `feed`,
`adjustment`, `sort=asc`, `page_token`; the answer is {"bars": {symbol: [{t, o, h, l, c, v, n, vw}]},
"next_page_token": token or null}, sorted by symbol then time, and a page may end in the middle of
a symbol. A token is opaque (base64 of "SYMBOL|t") and only valid with the same other parameters.
Keys in APCA-API-KEY-ID / APCA-API-SECRET-KEY; wrong keys get 401 (or `reject_status`). A symbol
the stand-in does not know simply has no bars, as on the real service; a syntactically invalid one
gets 400. Daily bars are aggregated from the minute bars (t at exchange-local midnight, in UTC).

Scripting: `script` is a list of canned answers (status, headers, body text) used for the next
requests in order (e.g. a 429 with Retry-After, a 503, a page that is not JSON); `block_after`
makes the n-th and later minute requests wait on `release` (for kill tests); `requests` records
every request's parameters and the status answered. Runs on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd

_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,14}$")


def ns_of(text: str) -> int:
    return int(pd.Timestamp(text).tz_convert("UTC").value)


def rfc3339(ns: int) -> str:
    return pd.Timestamp(ns, unit="ns", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


class FetchStandIn:
    def __init__(self, key: str = "fetch-key-id-123", secret: str = "fetch-secret-value-456",
                 page_size: int = 10_000, tz: str = "America/New_York"):
        self.key, self.secret = key, secret
        self.page_size = page_size
        self.tz = tz
        self.minute_bars: dict[str, list[dict[str, Any]]] = {}
        self.script: list[tuple[int, dict[str, str], str]] = []
        self.reject_status = 401
        self.requests: list[dict[str, str]] = []
        self.block_after: int | None = None
        self.blocked = threading.Event()
        self.release = threading.Event()
        self._minute_requests = 0
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> FetchStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def add_bars(self, symbol: str, rows: list[dict[str, Any]]) -> None:
        self.minute_bars.setdefault(symbol, []).extend(rows)
        self.minute_bars[symbol].sort(key=lambda r: ns_of(r["t"]))

    # ----------------------------------------------------------------------------------- answers
    def _daily(self, symbol: str) -> list[dict[str, Any]]:
        rows = self.minute_bars.get(symbol, [])
        if not rows:
            return []
        frame = pd.DataFrame(rows)
        local = pd.to_datetime(frame["t"], utc=True).dt.tz_convert(self.tz)
        frame["day"] = local.dt.normalize()
        out = []
        for day, g in frame.groupby("day", sort=True):
            out.append({"t": rfc3339(int(day.tz_convert("UTC").value)), "o": g["o"].iloc[0], "h": g["h"].max(),
                        "l": g["l"].min(), "c": g["c"].iloc[-1], "v": g["v"].sum(), "n": int(g["n"].sum()),
                        "vw": float((g["vw"] * g["v"]).sum() / max(g["v"].sum(), 1))})
        return out

    def answer(self, params: dict[str, str], headers: Any) -> tuple[int, dict[str, str], str]:
        if self.script:
            return self.script.pop(0)
        if headers.get("APCA-API-KEY-ID") != self.key or headers.get("APCA-API-SECRET-KEY") != self.secret:
            return self.reject_status, {}, json.dumps({"message": "unauthorized."})
        for required in ("symbols", "timeframe", "start", "end"):
            if required not in params:
                return 400, {}, json.dumps({"message": f"missing {required}"})
        symbols = params["symbols"].split(",")
        bad = [s for s in symbols if not _SYMBOL.match(s)]
        if bad:
            return 400, {}, json.dumps({"message": f"invalid symbol: {bad[0]}"})
        if params.get("feed", "sip") not in ("iex", "sip"):
            return 400, {}, json.dumps({"message": "invalid feed"})
        if params.get("adjustment") != "raw" or params.get("sort", "asc") != "asc":
            return 400, {}, json.dumps({"message": "this stand-in serves raw bars in ascending order only"})
        start, end = ns_of(params["start"]), ns_of(params["end"])
        limit = min(int(params.get("limit", "1000")), 10_000, self.page_size)
        timeframe = params["timeframe"]
        if timeframe not in ("1Min", "1Day"):
            return 400, {}, json.dumps({"message": f"stand-in has no timeframe {timeframe}"})
        rows: list[tuple[str, dict[str, Any]]] = []
        for sym in sorted(set(symbols)):
            source = self.minute_bars.get(sym, []) if timeframe == "1Min" else self._daily(sym)
            rows += [(sym, r) for r in source if start <= ns_of(r["t"]) <= end]
        offset = 0
        if "page_token" in params:
            try:
                sym, t = base64.b64decode(params["page_token"]).decode().split("|")
                offset = next(i for i, (s, r) in enumerate(rows) if s == sym and r["t"] == t)
            except Exception:  # noqa: BLE001 - any bad token is a 400, as on the real service
                return 400, {}, json.dumps({"message": "invalid page token"})
        page = rows[offset: offset + limit]
        bars: dict[str, list[dict[str, Any]]] = {}
        for sym, r in page:
            bars.setdefault(sym, []).append(r)
        token = None
        if offset + limit < len(rows):
            nsym, nrow = rows[offset + limit]
            token = base64.b64encode(f"{nsym}|{nrow['t']}".encode()).decode()
        return 200, {}, json.dumps({"bars": bars, "next_page_token": token})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query))
                record = {"path": url.path, **params}
                with standin._lock:
                    standin.requests.append(record)
                    if params.get("timeframe") == "1Min" and not standin.script:
                        standin._minute_requests += 1
                        block = standin.block_after is not None and standin._minute_requests >= standin.block_after
                    else:
                        block = False
                if block:
                    standin.blocked.set()
                    standin.release.wait(30)
                if url.path != "/v2/stocks/bars":
                    status, headers, body = 404, {}, json.dumps({"message": "not found"})
                else:
                    status, headers, body = standin.answer(params, self.headers)
                record["status"] = str(status)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def session_bars(symbol: str, day: str, base: float, minutes: list[int], tz: str = "America/New_York"
                 ) -> list[dict[str, Any]]:
    """Minute bars of `symbol` on `day` at the given minutes after local midnight (e.g. 570 = 09:30),
    with prices that differ per bar (so any mix-up shows)."""
    midnight = pd.Timestamp(day).tz_localize(tz).tz_convert("UTC")
    rows = []
    for k, minute in enumerate(minutes):
        t = midnight + pd.Timedelta(minutes=minute)
        o = round(base + 0.01 * k + 0.003 * (minute % 7), 4)
        c = round(o + 0.02 * ((minute % 5) - 2), 4)
        h = round(max(o, c) + 0.05, 4)
        low = round(min(o, c) - 0.04, 4)
        rows.append({"t": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "o": o, "h": h, "l": low, "c": c,
                     "v": float(100 + minute), "n": 1 + minute % 13, "vw": round((o + c) / 2, 4)})
    return rows
