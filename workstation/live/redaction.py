"""Keep API keys out of every log record, at every level, at the source.

The websocket library logs each frame it sends at DEBUG, the auth frame included (elided in the
middle when long, so a log line can hold the beginning and the end of a secret). A provider
therefore hands the library a `RedactingLogger` and logs through one itself: each record is
formatted and cleaned before it reaches any handler:

- a frame (or any argument) whose payload contains a key or secret is replaced as a whole;
- every occurrence of a key or secret, and every piece of one at least `MIN_FRAGMENT` characters
  long (what survives an elision), becomes "***";
- the value of a JSON "key" / "secret" field (up to its closing quote, or the end of the text when
  elided) becomes "***".

Thread-safe (no shared mutable state after construction).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable, MutableMapping
from typing import Any

MIN_FRAGMENT = 6
MASK = "***"
_JSON_SECRET_FIELD = re.compile(r'("(?:key|secret|key_id|secret_key|api_key)"\s*:\s*")[^"]*', re.IGNORECASE)


class Redactor:
    """Removes the given secrets (and long enough pieces of them) from text."""

    def __init__(self, secrets: Iterable[str]):
        self._secrets = sorted({s for s in secrets if isinstance(s, str) and s}, key=len, reverse=True)
        self._secret_bytes = [s.encode("utf-8") for s in self._secrets]
        self._fragments: set[str] = set()
        for secret in self._secrets:
            width = min(MIN_FRAGMENT, len(secret))
            self._fragments.update(secret[i : i + width] for i in range(len(secret) - width + 1))
        self._width = min((min(MIN_FRAGMENT, len(s)) for s in self._secrets), default=MIN_FRAGMENT)

    def contains_secret(self, value: Any) -> bool:
        """True when `value` (text, bytes, or an object with a `data` payload such as a frame) holds a secret."""
        data = getattr(value, "data", value)
        if isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
            return any(s in raw for s in self._secret_bytes)
        if isinstance(data, str):
            return any(s in data for s in self._secrets)
        return False

    def redact(self, text: str) -> str:
        """`text` with secrets, their pieces and JSON key/secret field values masked."""
        if not self._secrets:
            return _JSON_SECRET_FIELD.sub(rf"\1{MASK}", text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        width = self._width
        if len(text) >= width and self._fragments:
            covered = bytearray(len(text))
            found = False
            for i in range(len(text) - width + 1):
                if text[i : i + width] in self._fragments:
                    covered[i : i + width] = b"\x01" * width
                    found = True
            if found:
                out, k = [], 0
                while k < len(text):
                    if covered[k]:
                        while k < len(text) and covered[k]:
                            k += 1
                        out.append(MASK)
                    else:
                        out.append(text[k])
                        k += 1
                text = "".join(out)
        return _JSON_SECRET_FIELD.sub(rf"\1{MASK}", text)


class RedactingLogger(logging.LoggerAdapter):
    """A logger adapter that formats each record itself and masks secrets before passing it on.

    Give it to libraries that accept a logger (websockets' `logger=`) and log through it.
    """

    def __init__(self, logger: logging.Logger, secrets: Iterable[str]):
        super().__init__(logger, {})
        self.redactor = Redactor(secrets)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        redactor = self.redactor
        # an object (a frame, bytes) holding a secret is not formatted at all; text is masked below
        safe_args = tuple(
            f"<{type(a).__name__} with credentials, not logged>"
            if not isinstance(a, str) and redactor.contains_secret(a) else a
            for a in args
        )
        try:
            text = str(msg) % safe_args if safe_args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *safe_args))
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            # the traceback text could quote a secret: fold it into the (redacted) message
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            if exc_info[0] is not None:
                text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
        kwargs.setdefault("stacklevel", 2)
        self.logger.log(level, "%s", redactor.redact(text), **kwargs)
