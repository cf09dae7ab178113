"""Configs validated before, remembered on disk, so a `workstation run` of one needs no pydantic.

Importing pydantic and building the config models is ~15 % of a 10-symbol, 5-day `workstation run`
(2.53 G instructions with them, 2.15 G without; ~0.1 s before the first bar). Command-line runs
usually start a config an earlier run started, so `validated_config` asks this cache first:

- **hit**: the config was validated before by the same code. The answer is a `ConfigRecord` tree
  built from what that validation produced: the same field values (dates as dates), the same
  `model_fields_set`, `model_dump()` (python and JSON mode) equal to the model's, `model_copy`, and
  the same methods (workstation.config.methods, shared with the models). No pydantic is imported.
- **miss**: the config is validated by the pydantic models (workstation.config.models), exactly as
  `validate_config_dict` does; a valid one is written here for the next process. An invalid config
  is never remembered: every run reports its problems again.

The key of an entry is the config itself (its JSON, keys sorted) and everything that could change
its validation: this file format, the Python version, pydantic's and pydantic-core's versions, and
each module of the `workstation` package (path, size and modification time: editing any of them
makes every entry stale). The config's digest names the file; the file also holds the key and a
SHA-256 of its content (workstation.signed_json, as the calendar cache's files). A file that does not parse, fails its digest, or has another key is
ignored, validated again and rewritten. Writes are atomic (workstation.atomic_files), so two
processes writing one entry both leave one whole file.

    <cache root>/configs/<config digest>.json

The cache root is the calendar cache's (workstation.calendar_cache.default_cache_root:
`$WORKSTATION_CACHE_DIR`, else `$XDG_CACHE_HOME/backtest-workstation`, else
`~/.cache/backtest-workstation`); an empty `WORKSTATION_CACHE_DIR` turns it off. At most
MAX_ENTRIES files are kept: writing a new one removes the least recently used past that.

Records are what the engine reads: the pipeline, the run writer and the live system read fields and
call these methods, and never validate. Assigning a field of a record (the live system turns stage
threads off on its copy) sets it without validation, as engine code sets only values it knows
are valid. The config editor, `workstation validate`, sweeps and the API keep the pydantic models.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from workstation.config.methods import (
    AlpacaMethods,
    ExecutionMethods,
    LiveMethods,
    SessionMethods,
    StrategyMethods,
)
from workstation.signed_json import read_signed, signed_text

if TYPE_CHECKING:
    from workstation.config.models import SessionConfig

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_ENTRIES = 200
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]      # the workstation package
_USE_DEFAULT_ROOT: Any = object()


# ---------------------------------------------------------------------------------------- records
class ConfigRecord:
    """One validated config model's values: its fields are plain attributes (native attribute speed
    on the engine's paths), plus what the engine uses of a pydantic model. Assigning a field sets it
    without validation (only engine code assigns, with values it knows are valid); an unknown name
    is an AttributeError."""

    _record_kind: str                        # the model's class name
    _record_names: tuple[str, ...]           # its fields, in the model's order
    _record_set: set[str]                    # model_fields_set
    _record_json: dict[str, Any]             # each field's JSON value, as the model dumped it

    def __init__(self, kind: str, fields: dict[str, Any], fields_set: set[str], json_fields: dict[str, Any]):
        d = self.__dict__
        d["_record_kind"] = kind
        d["_record_names"] = tuple(fields)
        d["_record_set"] = set(fields_set)
        d["_record_json"] = json_fields
        d.update(fields)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._record_names:
            raise AttributeError(f"{self._record_kind} has no field {name!r}")
        self.__dict__[name] = value
        self._record_set.add(name)
        self._record_json[name] = _to_json(value)

    @property
    def model_fields_set(self) -> set[str]:
        return set(self._record_set)

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        if mode == "json":
            return {name: _json_of(getattr(self, name), self._record_json[name]) for name in self._record_names}
        return {name: _python_dump(getattr(self, name)) for name in self._record_names}

    def model_copy(self, *, deep: bool = False) -> ConfigRecord:
        return copy.deepcopy(self) if deep else copy.copy(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigRecord):
            return NotImplemented
        return self._record_kind == other._record_kind and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_names)
        return f"{self._record_kind}({fields})"

    def __copy__(self) -> ConfigRecord:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__["_record_set"] = set(self._record_set)
        new.__dict__["_record_json"] = dict(self._record_json)
        return new


class StrategyRecord(StrategyMethods, ConfigRecord):
    pass


class AlpacaRecord(AlpacaMethods, ConfigRecord):
    pass


class ExecutionRecord(ExecutionMethods, ConfigRecord):
    pass


class LiveRecord(LiveMethods, ConfigRecord):
    pass


class SessionRecord(SessionMethods, ConfigRecord):
    pass


_RECORD_CLASSES: dict[str, type[ConfigRecord]] = {
    "SessionConfig": SessionRecord, "StrategyConfig": StrategyRecord, "LiveConfig": LiveRecord,
    "AlpacaProviderConfig": AlpacaRecord, "ExecutionConfig": ExecutionRecord,
}


def _to_json(value: Any) -> Any:
    """JSON of a python value: records dumped, dates and date-times as ISO text."""
    if isinstance(value, ConfigRecord):
        return value.model_dump(mode="json")
    if isinstance(value, dt.date):                       # dt.datetime too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _json_of(value: Any, json_value: Any) -> Any:
    """A field's JSON value: a nested record dumps itself (it may have been assigned to since)."""
    if isinstance(value, ConfigRecord):
        return value.model_dump(mode="json")
    if isinstance(value, list) and any(isinstance(v, ConfigRecord) for v in value):
        return [v.model_dump(mode="json") if isinstance(v, ConfigRecord) else copy.deepcopy(j)
                for v, j in zip(value, json_value, strict=True)]
    return copy.deepcopy(json_value)


def _python_dump(value: Any) -> Any:
    if isinstance(value, ConfigRecord):
        return value.model_dump()
    if isinstance(value, list):
        return [_python_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _python_dump(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------- the cache
def code_key() -> dict[str, Any]:
    """Everything besides the config that decides what validating it gives."""
    from workstation.calendar_cache import distribution_version

    modules = []
    stack = [_PACKAGE_ROOT]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(Path(entry.path))
                elif entry.name.endswith(".py"):
                    info = entry.stat()
                    modules.append(f"{Path(entry.path).relative_to(_PACKAGE_ROOT)}:{info.st_size}:{info.st_mtime_ns}")
    modules.sort()
    return {
        "format": FORMAT_VERSION,
        "python": sys.version,
        "pydantic": distribution_version("pydantic", "pydantic"),
        "pydantic_core": distribution_version("pydantic_core", "pydantic_core"),
        "modules": hashlib.sha256("\n".join(modules).encode("utf-8")).hexdigest(),
    }


def _shape(model: Any, path: list, shapes: list, temporals: list) -> None:
    """Where `model`'s tree holds models (their class and fields set) and dates or date-times."""
    shapes.append([path, type(model).__name__, sorted(model.model_fields_set)])
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            at = path + [name] if index is None else path + [name, index]
            if hasattr(type(item), "model_fields"):
                _shape(item, at, shapes, temporals)
            elif isinstance(item, dt.datetime):
                temporals.append([at, "datetime", item.isoformat()])
            elif isinstance(item, dt.date):
                temporals.append([at, "date", item.isoformat()])


def _build(value: Any, json_value: Any, path: tuple, shapes: dict, temporals: dict) -> Any:
    """The record tree of the model's python-mode dump (`value`, dates as text) beside its JSON-mode
    dump (`json_value`): the python values keep the model's own types (an int default of a float
    field stays an int, as in the model), the JSON values are what the model dumps as JSON."""
    shape = shapes.get(path)
    if shape is not None:
        kind, fields_set = shape
        fields = {name: _build(v, json_value[name], (*path, name), shapes, temporals) for name, v in value.items()}
        return _RECORD_CLASSES.get(kind, ConfigRecord)(kind, fields, set(fields_set), json_value)
    temporal = temporals.get(path)
    if temporal is not None:
        kind, text = temporal
        return dt.datetime.fromisoformat(text) if kind == "datetime" else dt.date.fromisoformat(text)
    if isinstance(value, list) and value and (*path, 0) in shapes:
        return [_build(v, j, (*path, i), shapes, temporals) for i, (v, j) in enumerate(zip(value, json_value, strict=True))]
    return value


def record_of(entry: dict[str, Any]) -> ConfigRecord:
    """The record tree of a cache entry's body (its dumps, shapes and temporals)."""
    shapes = {tuple(path): (kind, fields_set) for path, kind, fields_set in entry["shapes"]}
    temporals = {tuple(path): (kind, text) for path, kind, text in entry["temporals"]}
    if shapes.get((), ("",))[0] != "SessionConfig":
        raise ValueError("the entry's root is not a SessionConfig")
    return cast(ConfigRecord, _build(entry["python"], entry["config"], (), shapes, temporals))


def entry_of(cfg: Any) -> dict[str, Any]:
    """What an entry keeps of a validated SessionConfig model."""
    shapes: list = []
    temporals: list = []
    _shape(cfg, [], shapes, temporals)
    return {"python": _to_json(cfg.model_dump()), "config": cfg.model_dump(mode="json"),
            "shapes": shapes, "temporals": temporals}


class ValidatedConfigCache:
    """The folder of remembered configs under a cache root; any thread may use one."""

    def __init__(self, root: Path, key: dict[str, Any] | None = None):
        self.folder = Path(root) / "configs"
        self.key = key if key is not None else code_key()
        self.write_failed = False

    def path_for(self, input_digest: str) -> Path:
        return self.folder / f"{input_digest}.json"

    def read(self, input_digest: str) -> dict[str, Any] | None:
        path = self.path_for(input_digest)
        document = read_signed(path, "config cache")
        if document is None:
            return None
        if document.get("key") != self.key or document.get("input") != input_digest:
            log.debug("config cache: ignoring %s (made by other code or for another config)", path)
            return None
        try:
            os.utime(path)                      # recently used: kept when the folder is pruned
        except OSError:
            pass
        return document

    def write(self, input_digest: str, cfg: Any) -> None:
        from workstation.atomic_files import write_text_atomic

        path = self.path_for(input_digest)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, signed_text({**entry_of(cfg), "key": self.key, "input": input_digest}))
            self._prune()
        except OSError as exc:
            if not self.write_failed:
                log.warning("config cache: cannot write %s (%s); configs are validated each time", path, exc)
            self.write_failed = True

    def _prune(self) -> None:
        try:
            entries = [(e.stat().st_mtime_ns, e.path) for e in os.scandir(self.folder)
                       if e.name.endswith(".json") and not e.name.startswith(".")]
        except OSError:
            return
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort()
        for _, path in entries[:len(entries) - MAX_ENTRIES]:
            try:
                os.unlink(path)
            except OSError:
                pass


def input_digest(data: Any) -> str | None:
    """The digest naming a config's entry (None: not JSON this cache can key)."""
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError too: a lone surrogate ("\ud800")
        return None


def config_cache(root: Path | None = _USE_DEFAULT_ROOT) -> ValidatedConfigCache | None:
    """The cache under `root` (default: the user's cache root); None when caching is turned off."""
    if root is _USE_DEFAULT_ROOT:
        from workstation.calendar_cache import default_cache_root

        root = default_cache_root()
    return ValidatedConfigCache(root) if root is not None else None


def validated_config(data: Any, source: str = "<config>", cache: ValidatedConfigCache | None = None) -> SessionConfig:
    """`validate_config_dict(data, source)`, answered from `cache` when this config was validated
    before by the same code (a ConfigRecord tree: see the module's docstring); the models validate
    it otherwise (and always without a cache), and a valid config is then written to the cache.
    ConfigError lists the problems of an invalid config, as validate_config_dict does."""
    digest = input_digest(data) if cache is not None and isinstance(data, dict) else None
    if cache is not None and digest is not None:
        entry = cache.read(digest)
        if entry is not None:
            try:
                return cast("SessionConfig", record_of(entry))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.debug("config cache: ignoring the entry of %s (%s)", source, exc)
    from workstation.config.io import validate_config_dict

    cfg = validate_config_dict(data, source)
    if cache is not None and digest is not None:
        cache.write(digest, cfg)
    return cfg


def load_run_config(path: str | os.PathLike, cache: ValidatedConfigCache | None = None) -> SessionConfig:
    """`load_config(path)` answered through `cache` (the same bounded read, the same errors)."""
    from workstation.config.io import parse_config_json, read_config_text

    source = str(Path(path))
    return validated_config(parse_config_json(read_config_text(path), source), source, cache)
