"""Load, save and validate session configs; every problem is reported with its field path."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workstation.config.models import SessionConfig
from workstation.errors import ConfigError


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) for each error of a pydantic ValidationError."""
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err.get("loc", ())) or "(config)"
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (check the spelling; see the config reference in README.md)"
        elif "input" in err and err.get("type") not in ("missing",) and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        out.append((path, msg))
    return out


def validate_config_dict(data: Any, source: str = "<config>") -> SessionConfig:
    """Build a SessionConfig from parsed JSON; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("(config)", f"the top level must be a JSON object, got {type(data).__name__}")])
    try:
        return SessionConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_of(exc)) from None


def load_config(path: str | os.PathLike) -> SessionConfig:
    """Read and validate a config JSON file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(p), [("(file)", "file not found; give the path of a session config JSON")])
    if p.is_dir():
        raise ConfigError(str(p), [("(file)", "is a folder, not a config JSON file")])
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [("(file)", f"cannot be read: {exc.strerror}")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(p), [(f"(line {exc.lineno}, column {exc.colno})", f"invalid JSON: {exc.msg}")]) from None
    return validate_config_dict(data, str(p))


def dump_config(cfg: SessionConfig) -> str:
    """The config as pretty JSON (round-trips through load_config)."""
    return json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n"


def save_config(cfg: SessionConfig, path: str | os.PathLike) -> Path:
    """Write atomically (temp file + rename) so a failed save never truncates an existing config."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=p.name, suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dump_config(cfg))
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def config_json_schema() -> dict:
    """The JSON Schema of SessionConfig (the config editor builds its form from it)."""
    return SessionConfig.model_json_schema()
