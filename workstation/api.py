"""The Python API for notebooks and scripts: `workstation.run(config_or_path, **overrides)` and
`workstation.sweep(config_or_path, params, ...)` (at the end of this module; see `sweep`).

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

__all__ = ["SweepResults", "override_config", "run", "sweep"]

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


def run(config_or_path: str | os.PathLike | dict | SessionConfig, *, start: str | dt.date | None = None,
        end: str | dt.date | None = None, symbols: Sequence[str] | str | None = None, speed: float | None = None,
        store: str | os.PathLike | None = None, out: str | os.PathLike | None = None, write_bars: bool = True,
        manual_orders: str | os.PathLike[str] | None = None, **overrides: Any) -> RunResults:
    """Run a backtest to the end and return its results (see the module docstring for the overrides).

    Raises ConfigError for a bad config or override, WorkstationError when the store cannot serve the
    run or the run fails (the run folder keeps what was produced), KeyboardInterrupt after stopping
    the engine cleanly when interrupted.
    """
    from workstation.run_commands import _wait_writer, apply_overrides, runs_in_one_thread
    from workstation.run_writer import RunWriter, dated_folder
    from workstation.system import SystemManager, resolve_store_path

    cfg, source, stem = _config_from(config_or_path)
    # as `workstation run`: one thread unless the config or an override sets stage_threads (an override
    # config is validated again whole, so it no longer tells which fields were set: asked before)
    single_thread = runs_in_one_thread(cfg) and not any(
        name.split(PATH_SEPARATOR)[-1] == "stage_threads"
        or (name == "backtest" and isinstance(value, dict) and "stage_threads" in value)
        for name, value in overrides.items())
    cfg = override_config(cfg, source, **overrides)
    symbols_text: str | None
    if isinstance(symbols, str):
        symbols_text = symbols
    else:
        symbols_text = ",".join(symbols) if symbols is not None else None
    cfg = apply_overrides(cfg, str(start) if start else None, str(end) if end else None, symbols_text, speed,
                          source=source, single_thread=single_thread)
    if cfg.mode != "backtest":
        raise WorkstationError(f"{source} is a {cfg.mode} config: workstation.run runs backtests "
                               "(run live configs with `workstation run CONFIG --duration 10m`)")
    store_path = resolve_store_path(cfg, str(store) if store is not None else None)
    folder = Path(out) if out is not None else dated_folder("runs", stem)
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



# ---------------------------------------------------------------------- sweeps
class SweepResults:
    """A finished (or interrupted) sweep: `results` (the results.parquet frame, one row per cell), `best`
    (the best cell's row, a dict, or None), `best_params`, `state`, `folder`, `walk_forward` (the
    per-window frame, walk-forward only), `cell_config(cell)` and `run(cell)` (the RunResults of a
    cell: its kept run folder, else the cell run again into SWEEP_DIR/runs/<cell_id>, identical by
    construction). A cell is named by its `cell_id`, its `cell` number or its results row.
    """

    def __init__(self, plan: Any, outcome: Any, store_path: Path):
        from workstation.sweep.results import SweepFolder

        self.plan = plan
        self.outcome = outcome
        self.folder = Path(outcome.folder)
        self.store_path = store_path
        self.state: str = outcome.state
        self.objective: str = plan.objective
        self.direction: str = plan.direction
        self.best: dict | None = outcome.best
        self._sweep_folder = SweepFolder(self.folder)
        frame = self._sweep_folder.read_results()
        import pandas as pd

        self.results: pd.DataFrame = frame if frame is not None else pd.DataFrame()

    @property
    def best_params(self) -> dict[str, Any]:
        """The best cell's parameter values by their full path ({} when no cell succeeded)."""
        if self.best is None:
            return {}
        return {a.path: self.best.get(a.path) for a in self.plan.axes}

    @property
    def walk_forward(self):
        """The walk-forward report per window (walk_forward.parquet), or None for a plain sweep."""
        import pandas as pd

        path = self.folder / "walk_forward.parquet"
        return pd.read_parquet(path) if path.is_file() else None

    def _row(self, cell: str | int | dict | Any) -> dict:
        if isinstance(cell, dict):
            return cell
        if hasattr(cell, "to_dict") and not isinstance(cell, str | int):
            return dict(cell.to_dict())
        rows = self.results.to_dict("records")
        key = "cell" if isinstance(cell, int) else "cell_id"
        for row in rows:
            if row.get(key) == cell:
                return row
        known = ", ".join(str(r.get(key)) for r in rows[:8])
        raise KeyError(f"no cell {cell!r} in {self.folder} (some {key}s: {known})")

    def cell_config(self, cell: str | int | dict | Any | None = None) -> dict:
        """The session config (JSON-ready dict) a cell ran; default the best cell."""
        row = self._row(self.best if cell is None else cell)
        if row is None:
            raise WorkstationError(f"no cell of {self.folder} succeeded, so there is no best cell")
        for c in self.plan.cells:
            if c.cell_id == row.get("cell_id"):
                return c.config
        if row.get("phase") == "test":  # a walk-forward test cell: the chosen parameters on the test window
            window = next(w for w in self.plan.windows if w.index == int(row["window"]))
            params = {a.path: _param_value(row.get(a.path)) for a in self.plan.axes}
            return self.plan.make_cell(int(row["cell"]), "test", window.index, params,
                                       (window.test_start, window.test_end)).config
        raise KeyError(f"cell {row.get('cell_id')!r} is not a cell of this sweep")

    def run(self, cell: str | int | dict | Any | None = None) -> RunResults:
        """The run of a cell (default the best): its kept run folder, else the cell run again (same config,
        same store) into SWEEP_DIR/runs/<cell_id>."""
        row = self._row(self.best if cell is None else cell)
        if row is None:
            raise WorkstationError(f"no cell of {self.folder} succeeded, so there is no best cell to run")
        kept = self._sweep_folder.run_dir(str(row["cell_id"]))
        if (kept / "config.json").is_file():
            try:
                return load_run(kept)
            except WorkstationError:
                pass  # incomplete or damaged: run it again below
            import shutil

            shutil.rmtree(kept, ignore_errors=True)
        return run(self.cell_config(row), store=self.store_path, out=kept)

    def __repr__(self) -> str:
        best = "none" if self.best is None else \
            f"{self.objective} {self.best.get(self.objective)!r} at {self.best_params}"
        return (f"SweepResults({self.state}, {len(self.results)} cells in {self.folder}, best {best})")


def _param_value(value: Any) -> Any:
    """A results-frame parameter value back to the config value (lists are stored as JSON text)."""
    import json

    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "item"):
        return value.item()
    return value


def _sweep_values(values: Any) -> Any:
    """A params value as the sweep file takes it: a list, a {'start','stop','step'} dict or text."""
    if isinstance(values, str | dict):
        return values
    if isinstance(values, range):
        return list(values)
    if hasattr(values, "tolist"):
        return values.tolist()
    if isinstance(values, Sequence):
        return [v.item() if hasattr(v, "item") else v for v in values]
    return [values]


def sweep(config_or_path: str | os.PathLike | dict | SessionConfig, params: dict[str, Any], *,
          constraint: str | Sequence[str] | None = None, objective: str = "sharpe", direction: str | None = None,
          method: str = "grid", samples: int | None = None, seed: int = 0,
          walk_forward: dict | str | None = None, workers: int | None = None, address: str | None = None,
          out: str | os.PathLike | None = None, keep_runs: bool = False, keep_top: int | None = None,
          retry_failed: bool = False, progress: bool = True, start: str | dt.date | None = None,
          end: str | dt.date | None = None, symbols: Sequence[str] | str | None = None,
          store: str | os.PathLike | None = None, **overrides: Any) -> SweepResults:
    """Run a parameter sweep (or walk-forward) like `workstation sweep` and return its SweepResults.

    `params` maps a config path (dotted, or with `__` as in the overrides) to its values: a list, a
    range, a {"start", "stop", "step"} dict or the CLI's text ("3,5,8", "15:40:5"). `constraint`,
    `objective`, `direction`, `method`, `samples`, `seed`, `walk_forward` ({"train", "test", "step"} or
    "train=20,test=5"), `workers`, `address`, `keep_runs`, `keep_top`, `retry_failed` are the CLI's
    options; `out` the sweep folder (default sweeps/<config>-<time>; an existing folder of the same
    sweep resumes); `progress` False silences the progress line (stderr). `start`, `end`, `symbols`,
    `store` and SECTION__FIELD overrides change the base config as in `run`. Ray is imported here,
    not by `import workstation`. Raises ConfigError for a bad sweep (nothing started),
    WorkstationError when Ray cannot be reached; KeyboardInterrupt stops the sweep keeping its
    finished cells (the same call resumes them).
    """
    import io

    from pydantic import ValidationError

    from workstation.calendar import TimeManager
    from workstation.config import problems_of
    from workstation.run_commands import apply_overrides
    from workstation.run_writer import dated_folder
    from workstation.store import BarStore
    from workstation.sweep.results import SweepFolder
    from workstation.sweep.runner import SweepOptions, run_sweep
    from workstation.sweep.spec import SweepSpec, WalkForwardSpec, build_plan
    from workstation.sweep.walk_forward import parse_walk_forward
    from workstation.system import resolve_store_path

    cfg, source, stem = _config_from(config_or_path)
    cfg = override_config(cfg, source, **overrides)
    symbols_text = symbols if isinstance(symbols, str) or symbols is None else ",".join(symbols)
    cfg = apply_overrides(cfg, str(start) if start else None, str(end) if end else None, symbols_text,
                          source=source)
    if not isinstance(params, dict) or not params:
        raise ConfigError("(sweep)", [("params", "give the swept parameters as {path: values}, e.g. "
                                                 "{'strategies.sma.params.fast': [3, 5, 8]}")])
    if isinstance(walk_forward, str):
        walk_forward = WalkForwardSpec(**parse_walk_forward(walk_forward)).model_dump()
    constraints = [constraint] if isinstance(constraint, str) else list(constraint or ())
    data = {"params": {path.replace(PATH_SEPARATOR, "."): _sweep_values(v) for path, v in params.items()},
            "constraints": constraints, "objective": objective, "direction": direction, "method": method,
            "samples": samples, "seed": seed, "walk_forward": walk_forward, "keep_runs": keep_runs,
            "keep_top": keep_top}
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("(sweep)", problems_of(exc)) from None
    store_path = resolve_store_path(cfg, str(store) if store is not None else None).resolve()
    bar_store = BarStore(store_path)
    cfg.data_source.store_path = str(store_path)  # kept runs and replays find the store from anywhere
    time_manager = TimeManager(cfg.exchange, cfg.timezone)
    plan = build_plan(spec, cfg, time_manager, source=source)
    folder = Path(out) if out is not None else dated_folder("sweeps", stem)
    if workers is not None and workers < 1:
        raise ConfigError("(sweep)", [("workers", f"must be at least 1, got {workers}")])
    options = SweepOptions(workers=workers, address=address, keep_runs=spec.keep_runs, keep_top=spec.keep_top,
                           retry_failed=retry_failed, progress=None if progress else io.StringIO(),
                           command=["(python) workstation.sweep", source])
    outcome = run_sweep(plan, bar_store, time_manager, SweepFolder(folder), options)
    return SweepResults(plan, outcome, store_path)
