"""Indicator specs: parse strings like ``sma(20)``, ``macd(12,26,9)``, ``bb(20,2)``, ``vwap``."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import NamedTuple

from workstation.indicators.base import Indicator, IndicatorError
from workstation.indicators.momentum import MACD, RSI
from workstation.indicators.moving_average import EMA, SMA
from workstation.indicators.volatility import ATR, BollingerBands
from workstation.indicators.volume import VWAP

__all__ = ["INDICATOR_KINDS", "IndicatorSpec", "input_fields", "make_indicator", "parse_spec"]

INDICATOR_KINDS: tuple[str, ...] = ("sma", "ema", "rsi", "macd", "bb", "bollinger", "atr", "vwap")
"""Kind names a spec may start with (``bollinger`` is another name for ``bb``)."""

class _Required(enum.Enum):
    """Marks an argument without a default (an enum member, so type checkers narrow `is _REQUIRED`)."""

    REQUIRED = enum.auto()


_REQUIRED = _Required.REQUIRED

# kind -> (class, ((argument, type, default or _REQUIRED), ...))
_KINDS: dict[str, tuple[type[Indicator], tuple[tuple[str, type, int | float | _Required], ...]]] = {
    "sma": (SMA, (("period", int, _REQUIRED),)),
    "ema": (EMA, (("period", int, _REQUIRED),)),
    "rsi": (RSI, (("period", int, 14),)),
    "macd": (MACD, (("fast", int, 12), ("slow", int, 26), ("signal", int, 9))),
    "bb": (BollingerBands, (("period", int, 20), ("k", float, 2.0))),
    "atr": (ATR, (("period", int, 14),)),
    "vwap": (VWAP, ()),
}
_ALIASES = {"bollinger": "bb"}
_SPEC_RE = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$")


class IndicatorSpec(NamedTuple):
    """A parsed spec: canonical kind and its keyword arguments."""

    kind: str
    params: dict[str, int | float]


def _known() -> str:
    return ", ".join(INDICATOR_KINDS)


def parse_spec(spec: str) -> IndicatorSpec:
    """Parse an indicator spec (case-insensitive, spaces tolerated); IndicatorError when invalid."""
    if not isinstance(spec, str):
        raise IndicatorError(f"indicator spec must be a string, got {spec!r}")
    match = _SPEC_RE.match(spec.lower())
    if match is None:
        raise IndicatorError(
            f"cannot parse indicator spec {spec!r}; expected e.g. 'sma(20)'; known kinds: {_known()}"
        )
    kind = _ALIASES.get(match.group(1), match.group(1))
    if kind not in _KINDS:
        raise IndicatorError(
            f"unknown indicator {match.group(1)!r} in spec {spec!r}; known kinds: {_known()}"
        )
    _, arguments = _KINDS[kind]
    body = match.group(2)
    texts = [t.strip() for t in body.split(",")] if body is not None and body.strip() else []
    if len(texts) > len(arguments):
        names = ", ".join(a for a, _, _ in arguments) or "no arguments"
        raise IndicatorError(f"indicator spec {spec!r} has {len(texts)} argument(s); {kind} takes {names}")
    params: dict[str, int | float] = {}
    for position, (argument, kind_type, default) in enumerate(arguments):
        if position < len(texts):
            text = texts[position]
            try:
                params[argument] = kind_type(text)
            except ValueError:
                expected = "an integer" if kind_type is int else "a number"
                raise IndicatorError(
                    f"indicator spec {spec!r}: {argument} must be {expected}, got {text!r}"
                ) from None
        elif default is _REQUIRED:
            raise IndicatorError(f"indicator spec {spec!r}: {kind} needs a {argument}, e.g. '{kind}(20)'")
        else:
            params[argument] = default
    return IndicatorSpec(kind, params)


def make_indicator(spec: str, lanes: int = 1) -> Indicator:
    """Build the indicator a spec names, with `lanes` lanes; IndicatorError (a ValueError) if invalid."""
    kind, params = parse_spec(spec)
    cls, _ = _KINDS[kind]
    build: Callable[..., Indicator] = cls  # each kind's own constructor (period, k, ...), not Indicator's
    try:
        return build(**params, lanes=lanes)
    except IndicatorError as exc:
        raise IndicatorError(f"indicator spec {spec!r}: {exc}") from None


def input_fields(spec: str) -> tuple[str, ...]:
    """Bar fields the indicator of `spec` takes, in update order, e.g. ('high', 'low', 'close')."""
    kind, _ = parse_spec(spec)
    return _KINDS[kind][0].fields
