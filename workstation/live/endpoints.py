"""Where a live provider's API keys are sent: URL checks shared by the config model and the providers.

Keys travel only over TLS (wss:// for the stream, https:// for history), except to a loopback
host (127.0.0.0/8, ::1, localhost), where a local stand-in or tunnel may speak plain ws:// or
http://. A URL must name a host, must not carry credentials (user:password@) and, for a REST base,
no query or fragment. The Alpaca stream URL ends in its feed (/v2/iex, /v2/sip); one that names a
feed other than the configured one is refused, since the live bars would come from one feed while
history and gap fills come from the other.

No heavy imports here: the config model uses this module.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

ALPACA_STREAM_BASE = "wss://stream.data.alpaca.markets/v2"
ALPACA_REST_URL = "https://data.alpaca.markets"
# Alpaca's stock stream feeds (the last path segment of the stream URL)
ALPACA_STOCK_FEEDS = ("iex", "sip", "delayed_sip", "boats", "overnight", "otc")


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url: object, secure_scheme: str, plain_scheme: str, what: str) -> str:
    """`url` if it is a usable endpoint for keys, else ValueError naming `what` and the problem.

    `secure_scheme` (wss/https) is always accepted, `plain_scheme` (ws/http) only for loopback hosts.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{what} must be a non-empty URL, got {url!r}")
    text = url.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError(f"{what} {text!r} contains white space or control characters")
    parts = urllib.parse.urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in (secure_scheme, plain_scheme):
        raise ValueError(f"{what} {text!r} must start with {secure_scheme}:// (got {scheme or 'no'} scheme)")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"{what} {text!r} has an invalid port: {exc}") from None
    if not host:
        raise ValueError(f"{what} {text!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"{what} {text!r} carries credentials (user:password@); API keys come only from the "
            "environment variables named in the config"
        )
    if scheme == plain_scheme and not is_loopback_host(host):
        raise ValueError(
            f"{what} {text!r} uses unencrypted {plain_scheme}:// to {host}: the API keys would travel in "
            f"clear text; use {secure_scheme}:// ({plain_scheme}:// is only accepted for a loopback host "
            "such as 127.0.0.1)"
        )
    if port == 0:
        raise ValueError(f"{what} {text!r} has port 0")
    if parts.fragment or parts.query:
        raise ValueError(f"{what} {text!r} must not have a query (?...) or fragment (#...)")
    return text


def check_stream_url(url: object) -> str:
    """A websocket stream URL: wss:// (ws:// for loopback only)."""
    return check_endpoint_url(url, "wss", "ws", "live.alpaca.ws_url")


def check_rest_url(url: object) -> str:
    """A REST base URL: https:// (http:// for loopback only); trailing slashes removed."""
    return check_endpoint_url(url, "https", "http", "live.alpaca.rest_url").rstrip("/")


def alpaca_stream_url(feed: str) -> str:
    """Alpaca's stock stream URL for `feed` ("iex" -> wss://stream.data.alpaca.markets/v2/iex)."""
    return f"{ALPACA_STREAM_BASE}/{feed}"


def stream_url_feed(url: str) -> str | None:
    """The Alpaca feed a stream URL names in its last path segment (None when it names none)."""
    segment = urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].lower()
    return segment if segment in ALPACA_STOCK_FEEDS else None


def check_stream_feed(url: str, feed: str) -> None:
    """ValueError when `url` streams another Alpaca feed than `feed`."""
    named = stream_url_feed(url)
    if named is not None and named != feed:
        raise ValueError(
            f"live.alpaca.ws_url {url!r} streams the {named!r} feed but live.alpaca.feed is {feed!r}: "
            f"live bars would come from {named!r} while history and gap fills come from {feed!r}. "
            f"Remove ws_url (it then follows the feed: {alpaca_stream_url(feed)}) or make them agree"
        )


def key_destination(url: str) -> str:
    """The host (and port when given) a URL sends requests to, as shown to the user."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host
