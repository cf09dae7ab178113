"""Exceptions the engine raises; each names the file, field or value at fault.

The CLI and the GUI turn them into one-paragraph messages for the user.
"""

from __future__ import annotations


def counted(n: int, stem: str, one: str = "", many: str = "s") -> str:
    """"1 problem", "3 problems", "1 strategy", "2 strategies" (stem "strateg", one "y", many "ies")."""
    return f"{n:,} {stem}{one if n == 1 else many}"


def named(noun: str, names: list[str] | tuple[str, ...], count: int | None = None, sep: str = ", ") -> str:
    """"column close", "columns open, close": the noun agrees with `count` (default: how many names)."""
    n = len(names) if count is None else count
    return f"{noun}{'' if n == 1 else 's'} {sep.join(str(x) for x in names)}"


class WorkstationError(Exception):
    """Base of every error the engine reports to a user (never a bare traceback)."""


class ConfigError(WorkstationError):
    """A session config is invalid; `problems` lists (field path, message) pairs.

    The message lists at most 50 problems, each cut to 300 characters, so a hostile or huge
    config never floods the terminal (`problems` keeps them all).
    """

    MAX_LISTED = 50
    MAX_CHARS = 300

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        cut = self.MAX_CHARS

        def short(text: str) -> str:
            return text if len(text) <= cut else f"{text[:cut]}... ({len(text):,} characters)"

        lines = [f"  - {short(str(path))}: {short(str(msg))}" for path, msg in problems[: self.MAX_LISTED]]
        if len(problems) > self.MAX_LISTED:
            lines.append(f"  ... and {len(problems) - self.MAX_LISTED} more")
        super().__init__(f"{_what(short(str(source)))} has {counted(len(problems), 'problem')}:\n" + "\n".join(lines))


def _what(source: str) -> str:
    """What a ConfigError is about, as its message opens: "Option --workers" for a command-line option,
    "The sweep" for a source in parentheses ("(sweep)"), else "Config <file>"."""
    if source.startswith("-"):
        return f"Option {source}"
    if source.startswith("(") and source.endswith(")"):
        return f"The {source[1:-1]}"
    return f"Config {source}"


class DataError(WorkstationError):
    """A data file or the bar store cannot be read or written as asked."""


class StoreError(DataError):
    """The bar store path or its contents are unusable."""


class CalendarError(WorkstationError):
    """A calendar question has no answer (unknown exchange, date outside the calendar)."""


class StrategyError(WorkstationError):
    """A strategy cannot be loaded or constructed."""


class ProviderError(WorkstationError):
    """A live data provider failed (connection, authentication, protocol)."""
