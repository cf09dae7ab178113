"""The Python API for notebooks and scripts: `workstation.run(config_or_path, **overrides)`.

    import workstation
    result = workstation.run("session_configs/example_session.json", start="2024-11-25",
                             end="2024-11-29", execution__slippage_bps=2)
    result.stats["sharpe"], result.trades, result.equity, result.report_html("report.html")

A run is the same as `workstation run CONFIG` on the command line: the same engine, the same run
folder (by default runs/<config>-<time>, kept so nothing is lost), read back by the one run-folder
reader into a RunResults: `trades`, `equity`, `orders`, `fills`, `bars`, `quality`, `signals`, `gaps`
(pandas frames, times UTC), `stats` (a dict), `summary`, `config`, `report_html()`.

Overrides (the config is validated again as a whole; a bad value raises ConfigError naming the path):
  start, end         first and last session date ("YYYY-MM-DD" or datetime.date)
  symbols            a list (or "A,B"); strategies' and historical symbol lists are cut to it
  speed              backtest.speed_multiplier (0 = as fast as possible)
  store              bar store folder (default: the config's data_source.store_path)
  out                run folder (default runs/<config>-<time>, made unique)
  write_bars         False leaves bars.parquet out (smaller run folders)
  manual_orders      a manual_orders.json (a GUI run folder's hand orders), applied at its times
  SECTION__FIELD     any config field by its path with "__" between the parts, e.g.
                     execution__starting_cash=50_000, backtest__stage_threads=False; list items
                     by name or position: strategies__sma_5_20__params__fast=10
  SECTION={...}      a dict is merged into that section: execution={"slippage_bps": 2}

Runs in the calling thread's process; the engine's stages use their own threads as configured. No
Qt is imported. A sweep builds each cell's config with `override_config`, so it accepts the same
override paths as parameters.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workstation.config import SessionConfig, load_config, validate_config_dict
from workstation.errors import ConfigError, WorkstationError
from workstation.runs import RunResults, load_run

__all__ = ["override_config", "run"]

PATH_SEPARATOR = "__"


def _config_from(config_or_path: str | os.PathLike | dict | SessionConfig) -> tuple[SessionConfig, str, str]:
    """(config, source for messages, stem for the default run folder name)."""
    if isinstance(config_or_path, SessionConfig):
        return config_or_path, "<config>", _slug(config_or_path.name)
    if isinstance(config_or_path, dict):
        cfg = validate_config_dict(config_or_path, "<config dict>")
        return cfg, "<config dict>", _slug(cfg.name)
    if isinstance(config_or_path, str | os.PathLike):
        path = Path(config_or_path)
        return load_config(path), str(path), path.stem
    raise TypeError(f"workstation.run needs a config path, a dict or a SessionConfig, got {type(config_or_path).__name__}")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-").lower()[:60] or "run"


def _child(node: Any, key: str, path: str, source: str) -> Any:
    if isinstance(node, dict):
        if key not in node:
            known = ", ".join(sorted(node)) or "none"
            raise ConfigError(source, [(path, f"no field {key!r} here (fields: {known})")])
        return node[key]
    if isinstance(node, list):
        return node[_list_index(node, key, path, source)]
    raise ConfigError(source, [(path, f"{key!r} goes below a value that has no fields")])


def _list_index(items: list, key: str, path: str, source: str) -> int:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return i
    if key.isdigit() and int(key) < len(items):
        return int(key)
    names = [str(item.get("name")) for item in items if isinstance(item, dict) and "name" in item]
    raise ConfigError(source, [(path, f"no item named {key!r} (names: {', '.join(names) or 'none'}; "
                                      f"or a position 0..{len(items) - 1})")])


def _merge(target: dict, update: dict) -> dict:
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = v
    return target


def override_config(cfg: SessionConfig, source: str = "<config>", **overrides: Any) -> SessionConfig:
    """A copy of `cfg` with SECTION__FIELD=value / SECTION={...} overrides, validated again as a whole."""
    if not overrides:
        return cfg
    data = cfg.model_dump(mode="json")
    for name, value in overrides.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        parts = name.split(PATH_SEPARATOR)
        dotted = ".".join(parts)
        node: Any = data
        for i, key in enumerate(parts[:-1]):
            node = _child(node, key, ".".join(parts[: i + 1]), source)
        last = parts[-1]
        if isinstance(node, list):
            index = _list_index(node, last, dotted, source)
            if isinstance(value, dict) and isinstance(node[index], dict):
                _merge(node[index], value)
            else:
                node[index] = value
        elif isinstance(node, dict):
            if isinstance(value, dict) and isinstance(node.get(last), dict):
                _merge(node[last], value)
            else:
                node[last] = value
        else:
            raise ConfigError(source, [(dotted, "goes below a value that has no fields")])
    return validate_config_dict(data, source)


def _unique_folder(base: Path) -> Path:
    folder, n = base, 2
    while folder.exists():
        folder = base.with_name(f"{base.name}-{n}")
        n += 1
    return folder


def run(config_or_path: str | os.PathLike | dict | SessionConfig, *, start: str | dt.date | None = None,
        end: str | dt.date | None = None, symbols: Sequence[str] | str | None = None, speed: float | None = None,
        store: str | os.PathLike | None = None, out: str | os.PathLike | None = None, write_bars: bool = True,
        manual_orders: str | os.PathLike[str] | None = None, **overrides: Any) -> RunResults:
    """Run a backtest to the end and return its results (see the module docstring for the overrides).

    Raises ConfigError for a bad config or override, WorkstationError when the store cannot serve the
    run or the run fails (the run folder keeps what was produced), KeyboardInterrupt after stopping
    the engine cleanly when interrupted.
    """
    from workstation.run_commands import _wait_writer, apply_overrides
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager, resolve_store_path

    cfg, source, stem = _config_from(config_or_path)
    cfg = override_config(cfg, source, **overrides)
    symbols_text: str | None
    if isinstance(symbols, str):
        symbols_text = symbols
    else:
        symbols_text = ",".join(symbols) if symbols is not None else None
    cfg = apply_overrides(cfg, str(start) if start else None, str(end) if end else None, symbols_text, speed,
                          source=source)
    if cfg.mode != "backtest":
        raise WorkstationError(f"{source} is a {cfg.mode} config: workstation.run runs backtests "
                               "(run live configs with `workstation run CONFIG --duration 10m`)")
    store_path = resolve_store_path(cfg, str(store) if store is not None else None)
    folder = Path(out) if out is not None else _unique_folder(
        Path("runs") / f"{stem}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    hand_orders = None
    if manual_orders is not None:
        from workstation.execution.manual import load_manual_orders

        hand_orders = load_manual_orders(manual_orders)
    system = SystemManager(cfg, store_path=store_path)
    if hand_orders:
        system.manual_orders.schedule(hand_orders)
    writer = RunWriter(system, folder, write_bars=write_bars)
    system.start()
    try:
        while not system.wait(0.2):
            pass
    except KeyboardInterrupt:
        system.stop()
        system.wait(5.0)
        raise
    _wait_writer(writer)
    if system.error is not None:
        raise WorkstationError(f"the run failed: {system.error}; the run folder {folder} keeps what was produced "
                               "so far") from system.error
    return load_run(folder)

