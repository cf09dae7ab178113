"""What the Alpaca provider does with each stream error code and each refused websocket handshake.

Stream errors arrive as {"T": "error", "code": N, "msg": "..."}; the codes are those of Alpaca's
stream documentation and its official clients. The same table is in README.md ("Live mode").
An unknown code never ends the run by itself: it is counted, logged, kept in the provider's
server-error list and shown in the live monitor, and the connection is kept (if the server then
closes it, that is a dropped connection like any other).

A refused handshake (HTTP status instead of a websocket): 429 and 5xx are retried with back-off
(honouring Retry-After), 401/403 mean the key was refused and 404/other 4xx a wrong URL: those end
in FAILED, since retrying cannot help.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorAction(StrEnum):
    """What the provider does after a server error."""

    FAIL = "fail"              # health FAILED, no retry: needs a user action
    RECONNECT = "reconnect"    # close, back off, reconnect, re-authenticate, resubscribe
    IGNORE = "ignore"          # harmless: counted only
    REPORT = "report"          # unknown or unexpected: counted, listed and shown; connection kept


@dataclass(frozen=True, slots=True)
class StreamErrorRule:
    """One row of the table: the documented meaning and what we do."""

    code: int
    meaning: str
    action: ErrorAction
    why: str


STREAM_ERRORS: dict[int, StreamErrorRule] = {
    rule.code: rule
    for rule in (
        StreamErrorRule(400, "invalid syntax", ErrorAction.REPORT,
                        "a message we sent was not understood; the stream already set up goes on"),
        StreamErrorRule(401, "not authenticated", ErrorAction.RECONNECT,
                        "the server lost the session's authentication: reconnect and authenticate again"),
        StreamErrorRule(402, "auth failed", ErrorAction.FAIL, "the API key or secret was rejected"),
        StreamErrorRule(403, "already authenticated", ErrorAction.IGNORE, "harmless"),
        StreamErrorRule(404, "auth timeout", ErrorAction.RECONNECT,
                        "no auth within 10 s of connecting; a second one in a row is FAILED"),
        StreamErrorRule(405, "symbol limit exceeded", ErrorAction.FAIL,
                        "the plan allows fewer symbols than configured"),
        StreamErrorRule(406, "connection limit exceeded", ErrorAction.RECONNECT,
                        "another connection uses this key, or the server still holds the dropped one "
                        "(about 90 s): back off and retry"),
        StreamErrorRule(407, "slow client", ErrorAction.RECONNECT,
                        "we read too slowly and the server dropped messages: reconnect (lost minutes are "
                        "filled from history)"),
        StreamErrorRule(409, "insufficient subscription", ErrorAction.FAIL,
                        "the plan does not include this feed (e.g. sip)"),
        StreamErrorRule(410, "invalid subscribe action for this feed", ErrorAction.FAIL,
                        "the feed does not stream what was asked"),
        StreamErrorRule(411, "insufficient scope", ErrorAction.FAIL,
                        "the key's scopes do not allow market-data streaming"),
        StreamErrorRule(500, "internal error", ErrorAction.RECONNECT, "server fault: reconnect with back-off"),
    )
}
AUTH_TIMEOUT_CODE = 404


def stream_error_rule(code: int) -> StreamErrorRule:
    """The rule of a code; unknown codes get REPORT."""
    rule = STREAM_ERRORS.get(code)
    if rule is not None:
        return rule
    return StreamErrorRule(code, "unknown error code", ErrorAction.REPORT,
                           "not in Alpaca's documented codes: counted and shown, connection kept")


def handshake_action(status: int) -> ErrorAction:
    """What to do when the server answers the websocket handshake with HTTP `status`."""
    if status == 429 or status == 408 or status >= 500:
        return ErrorAction.RECONNECT
    return ErrorAction.FAIL


def handshake_hint(status: int) -> str:
    """Why a handshake status ends the stream, for the FAILED detail."""
    if status in (401, 403):
        return "the server refused the API key at the handshake: check the key and that the plan includes this feed"
    if status == 404:
        return "no stream at this URL: check live.alpaca.ws_url (or remove it to follow live.alpaca.feed)"
    return "the server refuses websocket connections at this URL"


def readme_table() -> str:
    """The Markdown table of STREAM_ERRORS (README.md quotes it; a test keeps them equal)."""
    rows = ["| code | meaning | what the workstation does |", "|---|---|---|"]
    for rule in STREAM_ERRORS.values():
        rows.append(f"| {rule.code} | {rule.meaning} | {rule.action.value}: {rule.why} |")
    rows.append("| any other | unknown | report: counted, logged, listed in the live monitor; connection kept |")
    return "\n".join(rows)
