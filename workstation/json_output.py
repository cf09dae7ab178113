"""`--json` for CLI commands: one flag, one way to print, one shape for errors.

A command adds the flag with `add_json_flag(parser)` and ends with `emit(args, data, render_text)`:
with --json, `data` goes to stdout as JSON (numpy numbers, dates, times, paths and pandas values
converted; NaN and infinities become null, so any JSON parser reads it); without it,
`render_text(data)` is printed. Progress and warnings stay on stderr either way, so stdout holds
exactly one JSON document. When a command fails, workstation.cli prints `error_document(exc)` on
stdout (and the usual message on stderr) for commands run with --json.

numpy and pandas are not imported here: a value can only be one of their objects when its module
is already loaded, so `jsonable` looks them up in `sys.modules` (the CLI's parser stays light).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from workstation.errors import ConfigError


def add_json_flag(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """Add `--json` to a subcommand's parser."""
    parser.add_argument("--json", action="store_true",
                        help=f"print {what} as one JSON document on stdout (progress stays on stderr)")


def jsonable(value: Any) -> Any:
    """`value` with every part turned into plain JSON types (dict keys become strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if pd is not None:
        if isinstance(value, pd.DataFrame):
            return [jsonable(r) for r in value.to_dict(orient="records")]
        if isinstance(value, pd.Series):
            return [jsonable(v) for v in value.tolist()]
        if value is pd.NaT or value is pd.NA:
            return None
    if np is not None:
        if isinstance(value, np.ndarray):
            return [jsonable(v) for v in value.tolist()]
        if isinstance(value, np.generic):
            value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if pd is not None and isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def dumps(data: Any) -> str:
    """`data` as indented JSON text (see `jsonable`)."""
    return json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False)


def print_json(data: Any, stream: TextIO | None = None) -> None:
    print(dumps(data), file=stream if stream is not None else sys.stdout, flush=True)


def emit(args: argparse.Namespace, data: Any, render_text: Callable[[Any], str]) -> None:
    """Print `data` as JSON when the command ran with --json, else as `render_text(data)`."""
    if getattr(args, "json", False):
        print_json(data)
    else:
        print(render_text(data))


def error_document(exc: BaseException) -> dict[str, Any]:
    """What a command run with --json prints on stdout when it fails."""
    doc: dict[str, Any] = {"ok": False, "error": str(exc), "kind": type(exc).__name__}
    if isinstance(exc, ConfigError):
        doc["source"] = exc.source
        doc["problems"] = [{"field": str(field), "message": str(message)} for field, message in exc.problems]
    return doc
