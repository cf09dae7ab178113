"""Alpaca market data: the stream provider, its REST history client, wire format and error table.

    provider.py  AlpacaProvider: websocket stream, reconnects, error handling, sinks
    history.py   AlpacaHistoryClient: multi-symbol REST bars, pagination, rate limits (429)
    wire.py      RFC-3339 times, bar/quote objects, bounded frame decoding
    errors.py    what each stream error code and handshake status leads to (README table)
"""

from workstation.live.alpaca.errors import STREAM_ERRORS, ErrorAction, stream_error_rule
from workstation.live.alpaca.history import AlpacaHistoryClient, retry_after_seconds
from workstation.live.alpaca.provider import DEFAULT_REST_URL, FEEDS, STREAMED_INTERVALS, AlpacaProvider
from workstation.live.alpaca.wire import (
    alpaca_timeframe,
    format_rfc3339_ns,
    parse_alpaca_bar,
    parse_alpaca_quote,
    parse_rfc3339_ns,
)

__all__ = [
    "DEFAULT_REST_URL",
    "FEEDS",
    "STREAMED_INTERVALS",
    "STREAM_ERRORS",
    "AlpacaHistoryClient",
    "AlpacaProvider",
    "ErrorAction",
    "alpaca_timeframe",
    "format_rfc3339_ns",
    "parse_alpaca_bar",
    "parse_alpaca_quote",
    "parse_rfc3339_ns",
    "retry_after_seconds",
    "stream_error_rule",
]
