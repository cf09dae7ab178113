"""The rule every symbol follows, in configs, in the bar store and at import.

A symbol is 1 to 15 characters: an upper-case letter, then upper-case letters, digits, '.' or '-'
("AAPL", "BRK.B", "BF-B"). Nothing else can name a bar series: no path separators ("A/B",
"../../etc/x"), no spaces, control characters or NUL, no empty names.
"""

from __future__ import annotations

import re

SYMBOL_PATTERN = re.compile(r"[A-Z][A-Z0-9.\-]{0,14}")
SYMBOL_RULE = "1 to 15 characters: an upper-case letter, then upper-case letters, digits, '.' or '-'"
_ECHO_CHARS = 40


def is_valid_symbol(symbol: object) -> bool:
    """True when `symbol` is a str that follows the symbol rule exactly."""
    return isinstance(symbol, str) and SYMBOL_PATTERN.fullmatch(symbol) is not None


def shown_symbol(symbol: object) -> str:
    """A symbol as an error message may echo it: repr, cut to 40 characters with the full length."""
    text = repr(symbol)
    if len(text) <= _ECHO_CHARS:
        return text
    length = len(symbol) if isinstance(symbol, str) else len(text)
    return f"{text[:_ECHO_CHARS]}... ({length:,} characters)"


def symbol_problem(symbol: object) -> str | None:
    """Why `symbol` is not a valid symbol (None when it is)."""
    if is_valid_symbol(symbol):
        return None
    if not isinstance(symbol, str):
        return f"{shown_symbol(symbol)} is not text"
    if symbol == "":
        return "the symbol is empty"
    if len(symbol) > 15:
        return f"{shown_symbol(symbol)} is longer than 15 characters"
    return f"{shown_symbol(symbol)} is not a symbol ({SYMBOL_RULE})"
