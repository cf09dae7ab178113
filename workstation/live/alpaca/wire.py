"""Alpaca's wire format: RFC-3339 times, bar and quote objects, and bounded decoding of stream frames.

Every stream frame is a JSON array of objects tagged by "T". A bar's `t` is its START. Decoding is
bounded: a frame over `MAX_FRAME_CHARS`, one nested deeper than Python's parser can take, or one
that is not a JSON array/object is dropped and counted by the caller; nothing here raises anything
but `MalformedMessage` / `FrameRejected` (both ValueError) for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import reprlib
from typing import Any

from workstation.errors import ProviderError
from workstation.live.provider import Quote, is_finite_number
from workstation.model import Bar, parse_interval

MAX_FRAME_CHARS = 4 * 1024 * 1024           # a frame of 100 symbols' bars is ~15 KB
MAX_SOCKET_FRAME_BYTES = 16 * 1024 * 1024   # larger frames close the connection (websockets max_size)

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_EXCERPT = reprlib.Repr()
_EXCERPT.maxlevel = 3
_EXCERPT.maxstring = 60
_EXCERPT.maxother = 60
_EXCERPT.maxlist = _EXCERPT.maxdict = 8


class MalformedMessage(ValueError):
    """A message item lacks a field or has a field of the wrong type."""


class FrameRejected(ValueError):
    """A whole frame was dropped (too large, too deeply nested, not JSON)."""


def excerpt(value: Any) -> str:
    """A short, bounded repr of any decoded value (safe on huge or deeply nested input)."""
    try:
        return _EXCERPT.repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deeply>"


def parse_rfc3339_ns(text: Any) -> int:
    """RFC-3339 text (Z or ±hh:mm, up to 9 fraction digits) -> int ns UTC; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"timestamp {excerpt(text)} is not a string")
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"timestamp {excerpt(text)} is not RFC-3339")
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
    """An Alpaca bar object ({S?, t, o, h, l, c, v, ...}) -> Bar; MalformedMessage names the fault.

    Only the message's shape is checked here (fields present, numbers finite); whether the bar
    makes sense (prices, session, grid) is the live bar checks' job (workstation.live.bar_checks).
    """
    if not isinstance(item, dict):
        raise MalformedMessage(f"bar is not an object: {excerpt(item)}")
    sym = item.get("S", symbol)
    if not isinstance(sym, str) or not sym:
        raise MalformedMessage(f"bar has no symbol 'S': {excerpt(item)}")
    values = []
    for field in ("o", "h", "l", "c", "v"):
        value = item.get(field)
        if not is_finite_number(value):
            raise MalformedMessage(f"bar field {field!r} is {excerpt(value)}, not a finite number: {excerpt(item)}")
        values.append(float(value))
    try:
        start_ns = parse_rfc3339_ns(item.get("t"))
    except ValueError as exc:
        raise MalformedMessage(f"bar field 't': {exc}") from None
    return Bar(sym, interval, start_ns, values[0], values[1], values[2], values[3], values[4])


def parse_alpaca_quote(item: dict) -> Quote:
    """An Alpaca quote object ({S, bp, ap, bs, as, t}) -> Quote; MalformedMessage names the fault."""
    sym = item.get("S")
    if not isinstance(sym, str) or not sym:
        raise MalformedMessage(f"quote has no symbol 'S': {excerpt(item)}")
    values = []
    for field in ("bp", "ap", "bs", "as"):
        value = item.get(field)
        if not is_finite_number(value):
            raise MalformedMessage(f"quote field {field!r} is {excerpt(value)}, not a finite number")
        values.append(float(value))
    try:
        time_ns = parse_rfc3339_ns(item.get("t"))
    except ValueError as exc:
        raise MalformedMessage(f"quote field 't': {exc}") from None
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


def decode_frame(frame: str | bytes) -> list[Any]:
    """A stream frame -> its items (a JSON object becomes a one-item list); FrameRejected when the
    frame is too large, not UTF-8 JSON, nested beyond the parser's depth, or not an array/object."""
    if len(frame) > MAX_FRAME_CHARS:
        raise FrameRejected(f"frame of {len(frame):,} characters is over the {MAX_FRAME_CHARS:,} limit")
    if isinstance(frame, bytes | bytearray):
        try:
            frame = bytes(frame).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FrameRejected(f"binary frame is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(frame)
    except RecursionError:
        raise FrameRejected("frame is nested too deeply to decode") from None
    except ValueError as exc:
        raise FrameRejected(f"invalid JSON ({exc}): {excerpt(frame[:120])}") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise FrameRejected(f"frame is {type(data).__name__}, not a JSON array: {excerpt(frame[:120])}")
    return data
