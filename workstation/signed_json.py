"""Small JSON documents on disk that carry a SHA-256 of their own content (the caches: the calendar's
sessions, the configs validated before), so a reader can tell a whole file it may trust from a
damaged or hand-edited one.

A document is a JSON object; `signed_text` adds its "sha256" (of the object without it, keys sorted,
compact separators); `read_signed` gives the object back, "sha256" removed, only when the file parses
as such an object and its digest matches; otherwise None, with a debug line naming the file and why.
What the content must also say (a cache key, the input it answers) is the caller's check.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def digest(body: Any) -> str:
    """SHA-256 (hex) of `body` as JSON, keys sorted, compact."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signed_text(body: dict[str, Any]) -> str:
    """`body` with its "sha256" as one compact JSON line."""
    return json.dumps({**body, "sha256": digest(body)}, separators=(",", ":")) + "\n"


def read_signed(path: Path, what: str) -> dict[str, Any] | None:
    """The document at `path` without its "sha256" when it is whole and signed; None otherwise (absent,
    unreadable, not a JSON object, or content not matching its digest). `what` names the cache in the
    debug line."""
    try:
        document = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.debug("%s: ignoring %s (%s)", what, path, exc)
        return None
    if not isinstance(document, dict):
        log.debug("%s: ignoring %s (not a JSON object)", what, path)
        return None
    signature = document.pop("sha256", None)
    if signature != digest(document):
        log.debug("%s: ignoring %s (content does not match its digest)", what, path)
        return None
    return document
