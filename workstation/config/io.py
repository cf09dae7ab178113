"""Load, save and validate session configs; every problem is reported with its field path.

A config file is UTF-8 JSON (a UTF-8 byte-order mark is allowed) of at most MAX_CONFIG_BYTES,
nested at most MAX_CONFIG_DEPTH levels, without NaN or Infinity. Reading is bounded: a FIFO, a
device such as /dev/zero or a huge file is refused before or while reading, never read whole or
waited on. Error messages quote at most a short excerpt of any value. Saved configs honour the
user's umask.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.atomic_files import write_text_atomic
from workstation.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from workstation.config.models import SessionConfig

MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_CONFIG_DEPTH = 32
_ECHO_CHARS = 80
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _excerpt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO_CHARS else f"{text[:_ECHO_CHARS]}... ({len(text):,} characters)"


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
            msg = f"{msg} (got {_excerpt(err['input'])})"
        out.append((path, msg))
    return out


def validate_config_dict(data: Any, source: str = "<config>") -> SessionConfig:
    """Build a SessionConfig from parsed JSON; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("(config)", f"the top level must be a JSON object, got {type(data).__name__}")])
    path = _too_deep(data)
    if path is not None:
        raise ConfigError(source, [(path, f"nested deeper than {MAX_CONFIG_DEPTH} levels; a config is nested "
                                          f"at most {MAX_CONFIG_DEPTH} levels")])
    from pydantic import ValidationError

    from workstation.config.models import SessionConfig

    try:
        return SessionConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_of(exc)) from None


def _file_problem(problem: str, source: str) -> ConfigError:
    return ConfigError(source, [("(file)", problem)])


def _size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def read_config_text(path: str | os.PathLike) -> str:
    """The text of a config file, read with bounds; ConfigError when it is not a small UTF-8 file.

    Refuses folders, FIFOs, devices and sockets without opening them for a blocking read, files over
    MAX_CONFIG_BYTES (reading stops there even when the size on disk is unknown), UTF-16/UTF-32 and
    any text that is not UTF-8.
    """
    p = Path(path)
    source = str(p)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise _file_problem("file not found; give the path of a session config JSON", source) from None
    except OSError as exc:
        raise _file_problem(f"cannot be read: {exc.strerror}", source) from None
    if stat.S_ISDIR(info.st_mode):
        raise _file_problem("is a folder, not a config JSON file", source)
    if not stat.S_ISREG(info.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else
                "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise _file_problem(f"is {kind}, not a config file; give the path of a session config JSON file", source)
    limit = f"a session config is at most {_size_text(MAX_CONFIG_BYTES)}"
    if info.st_size > MAX_CONFIG_BYTES:
        raise _file_problem(f"is {_size_text(info.st_size)}; {limit}, so this is not a config", source)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise _file_problem("is not a regular file; give the path of a session config JSON file", source)
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise _file_problem(f"cannot be read: {exc.strerror}", source) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise _file_problem(f"is larger than {_size_text(MAX_CONFIG_BYTES)}; {limit}", source)
    return decode_config_bytes(raw, source)


def decode_config_bytes(raw: bytes, source: str = "<config>") -> str:
    """UTF-8 text of a config (a UTF-8 byte-order mark is dropped); ConfigError naming the encoding
    problem and where it is."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise _file_problem(f"is {name} text; save it as UTF-8 (in most editors: Save as, encoding UTF-8)",
                                source)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if b"\x00" in raw[:4096]:
        raise _file_problem("holds NUL bytes: it is UTF-16/UTF-32 text without a byte-order mark or a binary "
                            "file; a config is UTF-8 JSON text", source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _file_problem(
            f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column} cannot be read; "
            "save it as UTF-8", source) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a finite number")


def parse_config_json(text: str, source: str = "<config>") -> Any:
    """Parse config JSON; ConfigError for invalid JSON, NaN/Infinity, or nesting deeper than MAX_CONFIG_DEPTH."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, [(f"(line {exc.lineno}, column {exc.colno})", f"invalid JSON: {exc.msg}")]
                          ) from None
    except ValueError as exc:
        raise ConfigError(source, [("(file)", f"invalid JSON: {exc}")]) from None
    except RecursionError:
        raise ConfigError(source, [("(file)", f"the JSON is nested too deeply (a config is nested at most "
                                              f"{MAX_CONFIG_DEPTH} levels)")]) from None
    return data


def _too_deep(data: Any) -> str | None:
    """The field path where `data` goes deeper than MAX_CONFIG_DEPTH (iterative, no recursion)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_CONFIG_DEPTH:
            return _excerpt_path(path or "(config)")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            stack.append((child, depth + 1, f"{path}.{key}" if path else str(key)))
    return None


def _excerpt_path(path: str) -> str:
    return path if len(path) <= _ECHO_CHARS else f"{path[:_ECHO_CHARS]}..."


def load_config(path: str | os.PathLike) -> SessionConfig:
    """Read and validate a config JSON file (bounded read; see read_config_text)."""
    source = str(Path(path))
    text = read_config_text(path)
    return validate_config_dict(parse_config_json(text, source), source)


def config_for_bars(template: dict, symbols: Sequence[str], start: str, end: str,
                    store_path: str | None = None, exchange: str | None = None) -> dict:
    """A new config's JSON from `template` (e.g. the example) for bars just imported: its symbols,
    its backtest dates (`start`, `end`: ISO dates, inclusive) and, when given, its store and the
    store's exchange (another exchange than the template's also takes that calendar's time zone). A
    strategy's (or the history's) own symbol list keeps the symbols still configured, else becomes
    "all", so the config validates with the new symbols. `template` is not changed."""
    data = copy.deepcopy(template)
    if exchange is not None and exchange != data.get("exchange", "XNYS"):
        from workstation.calendar import TimeManager

        data["exchange"], data["timezone"] = exchange, TimeManager(exchange).tz
    wanted = [str(s).strip().upper() for s in symbols]
    data["symbols"] = wanted
    data["name"] = f"{', '.join(wanted[:3])}{' …' if len(wanted) > 3 else ''} {start} to {end}"
    backtest = data.setdefault("backtest", {})
    backtest["start_date"], backtest["end_date"] = start, end
    if store_path is not None:
        data.setdefault("data_source", {})["store_path"] = str(store_path)
    lists = [st for st in data.get("strategies") or [] if isinstance(st, dict)]
    if isinstance(data.get("historical"), dict):
        lists.append(data["historical"])
    for owner in lists:
        if isinstance(owner.get("symbols"), list):
            kept = [s for s in owner["symbols"] if str(s).upper() in wanted]
            owner["symbols"] = kept or "all"
    return data


def dump_config(cfg: SessionConfig) -> str:
    """The config as pretty JSON (round-trips through load_config)."""
    return json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n"


def save_config(cfg: SessionConfig, path: str | os.PathLike) -> Path:
    """Write atomically (temp file + rename) so a failed save never truncates an existing config."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(p, dump_config(cfg))
    return p


def save_config_edits(cfg: SessionConfig, edited: dict, file_data: dict, shown: dict,
                      path: str | os.PathLike) -> dict:
    """Write what an editor saves: `cfg` (the validated `edited` dict, so values are normalised, e.g.
    symbols upper-cased) with only the entries the file already had or the user changed. An entry
    the file (`file_data`) lacked and `edited` still holds as the editor first showed it (`shown`:
    the default it filled in) is left out, so opening and saving a short config keeps it short and
    it keeps following the defaults. Should the short form not validate to the same config (a
    default the form showed differs from the model's), the whole config is written instead.
    Atomic, like save_config. Returns the JSON written."""
    full = cfg.model_dump(mode="json")
    data = _shaped_like(full, _without_shown_defaults(edited, file_data, shown))
    if data != full:
        try:
            same = validate_config_dict(data).model_dump(mode="json") == full
        except ConfigError:
            same = False
        if not same:
            data = full
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(p, pretty_json(data) + "\n")      # as the editor's raw JSON page shows it
    return data


def _without_shown_defaults(edited: Any, file_data: Any, shown: Any) -> Any:
    """`edited` without the object entries absent from `file_data` whose value is still `shown`'s
    (inside an object the file lacked, only the entries that changed stay; lists of objects are
    compared item by item, by position)."""
    if isinstance(edited, dict) and isinstance(file_data, dict):
        shown = shown if isinstance(shown, dict) else {}
        out = {}
        for key, value in edited.items():
            if key in file_data:
                out[key] = _without_shown_defaults(value, file_data[key], shown.get(key))
            elif key not in shown:
                out[key] = value
            elif isinstance(value, dict) and isinstance(shown[key], dict):
                inner = _without_shown_defaults(value, {}, shown[key])   # only what changed inside
                if inner:
                    out[key] = inner
            elif shown[key] != value:
                out[key] = value
        return out
    if isinstance(edited, list) and isinstance(file_data, list):
        shown = shown if isinstance(shown, list) else []
        return [_without_shown_defaults(item, file_data[i], shown[i] if i < len(shown) else None)
                if i < len(file_data) else item for i, item in enumerate(edited)]
    if type(edited) in (int, float) and type(file_data) in (int, float) and edited == file_data:
        return file_data        # the same number as the file wrote it (1000, not 1000.0)
    return edited


def _shaped_like(full: Any, shape: Any) -> Any:
    """`full`'s values (in its order) for the entries `shape` has; a number keeps `shape`'s form when
    it is the same number (1000 stays 1000 in a float field)."""
    if isinstance(full, dict) and isinstance(shape, dict):
        return {key: _shaped_like(value, shape[key]) for key, value in full.items() if key in shape}
    if isinstance(full, list) and isinstance(shape, list) and len(full) == len(shape):
        return [_shaped_like(f, s) for f, s in zip(full, shape, strict=True)]
    if type(full) in (int, float) and type(shape) in (int, float) and full == shape:
        return shape
    return full


def pretty_json(value: Any, indent: int = 0) -> str:
    """Indented JSON with short scalar lists (and small nested scalar objects) kept on one line."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        scalars = all(not isinstance(v, dict | list) for v in value.values())
        if scalars and indent >= 1:
            inline = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()) + "}"
            if len(inline) + len(pad) <= 120:
                return inline
        items = [f"{pad}  {json.dumps(k)}: {pretty_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(v, dict | list) for v in value):
            inline = "[" + ", ".join(json.dumps(v) for v in value) + "]"
            if len(inline) + len(pad) <= 100:
                return inline
        items = [f"{pad}  {pretty_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def config_json_schema() -> dict:
    """The JSON Schema of SessionConfig (the config editor builds its form from it)."""
    from workstation.config.models import SessionConfig

    return SessionConfig.model_json_schema()
