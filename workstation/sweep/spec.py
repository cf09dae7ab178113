"""Sweep definitions: what is swept, under which constraints, judged by which objective.

A sweep file (JSON) is a `SweepSpec`; the command line builds the same model (`--param` etc.).
`build_plan` checks everything against the session config before any task starts and expands the
parameters into cells: every swept value goes through the config model (a rejected value names its
parameter), constraints are evaluated by a small interpreter (no `eval`), and an unknown path, a range
without values or constraints that remove every cell are errors.

Parameter paths are dotted paths into the session config's JSON: `strategies.<name>.params.fast`,
`risk.min_quality_pct`, `backtest.start_date`, `symbols`. A list of objects is indexed by the
element's `name` (or its position). A strategy parameter that the config does not set yet may be
swept when the strategy's `__init__` takes it. Values (command line or sweep file):
`3,5,8` (a list; each item read as JSON when it can be, else as text), `15:40:5` (a range, both ends
included), `0.1:0.9` (a continuous range, random sampling only), `[["ACME"],["BOLT","CYRX"]]` (a JSON
list, for list values or text with commas). Sweeping `symbols` narrows the strategies' and the
historical symbol lists the same way `workstation run --symbols` does.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import hashlib
import inspect
import itertools
import json
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workstation.calendar import TimeManager
from workstation.config import BUILTIN_STRATEGIES, SessionConfig, problems_of, validate_config_dict
from workstation.errors import ConfigError
from workstation.strategies.loader import ENGINE_ARGS, import_strategy_module, settable_parameters
from workstation.sweep.walk_forward import WalkForwardWindow, walk_forward_windows

#: objective names accepted by --objective, and the results column each reads
OBJECTIVES: dict[str, str] = {
    "sharpe": "sharpe",
    "total_return": "total_return_pct",
    "net_pnl": "net_pnl",
    "final_equity": "final_equity",
    "profit_factor": "profit_factor",
    "max_drawdown": "max_drawdown_pct",
    "win_rate": "win_rate_pct",
    "avg_trade_pnl": "avg_trade_pnl",
    "exposure": "exposure_pct",
    "trades": "trades",
}
#: every numeric statistic of a cell (results columns); any of them may also be the objective
NUMERIC_STATISTICS = (
    "final_equity", "net_pnl", "total_return_pct", "sharpe", "sessions", "max_drawdown_pct", "max_drawdown",
    "exposure_pct", "trades", "winning_trades", "losing_trades", "long_trades", "short_trades", "win_rate_pct",
    "gross_profit", "gross_loss", "profit_factor", "avg_trade_pnl", "best_trade", "worst_trade",
    "total_commission", "coverage_pct",
)
MAX_GRID_CELLS = 1_000_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class RangeSpec(_Model):
    """A numeric range: `start` to `stop` (both included when on the step) by `step`; without a step
    the range is continuous and only random sampling can draw from it."""

    start: float | int = Field(..., description="First value.")
    stop: float | int = Field(..., description="Last value (included when start + k*step lands on it).")
    step: float | int | None = Field(None, gt=0, description="Distance between values; none = continuous.")


class WalkForwardSpec(_Model):
    """Walk-forward windows in trading days."""

    train: int = Field(..., ge=1, le=5000, description="Trading days each optimisation (train) window spans.")
    test: int = Field(..., ge=1, le=5000, description="Trading days of the out-of-sample (test) window after it.")
    step: int | None = Field(None, ge=1, le=5000, description="Trading days between window starts (default: test).")


class SweepSpec(_Model):
    """A parameter sweep (the sweep file, JSON). Command-line options override its fields."""

    config: str | None = Field(None, description="Session config JSON (relative to the sweep file); the "
                                                 "CONFIG argument of `workstation sweep` wins.")
    params: dict[str, list[Any] | RangeSpec | str] = Field(
        default_factory=dict,
        description="Swept parameters: dotted config path -> a list of values, a range object, or the "
                    "command-line text ('3,5,8', '15:40:5', '0.1:0.9').")
    constraints: list[str] = Field(
        default_factory=list, description="Conditions every cell must meet, e.g. 'fast < slow' (parameter "
                                          "names: any unique ending of their path).")
    objective: str = Field("sharpe", description=f"Statistic to optimise: {', '.join(OBJECTIVES)} or any "
                                                 "numeric results column.")
    direction: Literal["max", "min"] | None = Field(None, description="Maximise or minimise the objective "
                                                                      "(default: max).")
    method: Literal["grid", "random"] = Field("grid", description="Every combination, or a random sample.")
    samples: int | None = Field(None, ge=1, le=MAX_GRID_CELLS, description="Cells drawn by random sampling.")
    seed: int = Field(0, description="Seed of random sampling (the same seed draws the same cells).")
    walk_forward: WalkForwardSpec | None = Field(None, description="Walk-forward windows (none = one sweep "
                                                                   "over the config's dates).")
    keep_runs: bool = Field(False, description="Keep every cell's run folder (without bars) under runs/.")
    keep_top: int | None = Field(None, ge=1, description="Keep the run folders of the best K cells only.")

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        v = v.strip()
        if v not in OBJECTIVES and v not in NUMERIC_STATISTICS:
            raise ValueError(f"unknown objective {v!r}: use one of {', '.join(OBJECTIVES)} or a numeric "
                             f"results column ({', '.join(NUMERIC_STATISTICS)})")
        return v

    def objective_column(self) -> str:
        return OBJECTIVES.get(self.objective, self.objective)

    def direction_or_default(self) -> str:
        return self.direction or "max"


def sweep_json_schema() -> dict:
    """The JSON Schema of sweep files."""
    return SweepSpec.model_json_schema()


def load_sweep_file(path) -> SweepSpec:
    """Read and validate a sweep file; ConfigError lists every problem by field."""
    from pathlib import Path

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(p), [("(file)", "sweep file not found")]) from None
    except OSError as exc:
        raise ConfigError(str(p), [("(file)", f"cannot be read: {exc.strerror or exc}")]) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(str(p), [(f"(line {exc.lineno}, column {exc.colno})", f"invalid JSON: {exc.msg}")]) from None
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(p), problems_of(exc)) from None


# ---------------------------------------------------------------------- parameter values
def _scalar(text: str) -> Any:
    """A command-line item as JSON when it parses (3, 0.5, true, null, "x"), else as text."""
    t = text.strip()
    try:
        return json.loads(t)
    except json.JSONDecodeError:
        return t


def parse_values(text: str, where: str) -> list[Any] | RangeSpec:
    """The value part of `--param PATH=VALUES`: a list, a range or a JSON list (module docstring)."""
    t = text.strip()
    if not t:
        raise ConfigError(where, [(where, "no values after '=' (e.g. 3,5,8 or 15:40:5)")])
    if t.startswith("["):
        try:
            values = json.loads(t)
        except json.JSONDecodeError as exc:
            raise ConfigError(where, [(where, f"{t!r} is not a JSON list: {exc.msg}")]) from None
        if not isinstance(values, list):
            raise ConfigError(where, [(where, f"{t!r} is not a JSON list")])
        return values
    if ":" in t and "," not in t:
        parts = t.split(":")
        numbers = [_scalar(p) for p in parts]
        if len(parts) not in (2, 3) or not all(isinstance(n, int | float) and not isinstance(n, bool)
                                               for n in numbers):
            raise ConfigError(where, [(where, f"{t!r} is not a range START:STOP[:STEP] of numbers "
                                              "(use a JSON list like [\"09:30\"] for text with ':')")])
        return RangeSpec(start=numbers[0], stop=numbers[1], step=numbers[2] if len(numbers) == 3 else None)
    return [_scalar(p) for p in t.split(",")]


def parse_param_option(option: str) -> tuple[str, list[Any] | RangeSpec]:
    """`PATH=VALUES` from the command line."""
    path, sep, values = option.partition("=")
    where = f"--param {option}"
    if not sep or not path.strip():
        raise ConfigError(where, [(where, "expected PATH=VALUES, e.g. strategies.sma.params.fast=3,5,8")])
    return path.strip(), parse_values(values, where)


def _decimals(x: float | int) -> int:
    d = Decimal(repr(x)).as_tuple().exponent
    return max(0, -int(d)) if isinstance(d, int) else 0


def range_values(r: RangeSpec, where: str) -> list[float | int]:
    """The values of a stepped range, both ends included when on the step; exact decimals."""
    if r.step is None:
        raise ConfigError(where, [(where, f"the range {r.start}:{r.stop} has no step: a grid needs "
                                          f"START:STOP:STEP (a continuous range needs --method random)")])
    if r.stop < r.start:
        raise ConfigError(where, [(where, f"the range {r.start}:{r.stop}:{r.step} has no values "
                                          f"(stop is below start)")])
    count = math.floor((r.stop - r.start) / r.step + 1e-9) + 1
    if count > MAX_GRID_CELLS:
        raise ConfigError(where, [(where, f"the range {r.start}:{r.stop}:{r.step} has {count:,} values")])
    if all(isinstance(x, int) for x in (r.start, r.stop, r.step)):
        return [int(r.start + k * r.step) for k in range(count)]
    places = max(_decimals(r.start), _decimals(r.step))
    return [round(r.start + k * r.step, places) for k in range(count)]


# ---------------------------------------------------------------------- paths
@dataclass(frozen=True)
class ParamAxis:
    """One swept parameter: its canonical path, short alias, location in the config and its values."""

    path: str                       # canonical: list elements by name, e.g. strategies.sma_5_20.params.fast
    location: tuple[str | int, ...]  # keys and list positions into the config's JSON
    values: tuple[Any, ...] | None  # discrete values; None = continuous (low..high)
    low: float | None = None
    high: float | None = None
    integer: bool = False
    alias: str = ""

    @property
    def continuous(self) -> bool:
        return self.values is None

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) of a continuous axis."""
        if self.low is None or self.high is None:
            raise ValueError(f"parameter {self.path} has no low..high range")
        return self.low, self.high


def _strategy_signature(strategy: dict) -> dict[str, inspect.Parameter] | None:
    """The parameters of a strategy entry's class constructor (None when it cannot be imported here)."""
    path = BUILTIN_STRATEGIES.get(strategy.get("class_path", ""), strategy.get("class_path", ""))
    module_name, _, class_name = path.partition(":")
    try:
        cls = getattr(import_strategy_module(module_name), class_name)
        return dict(inspect.signature(cls.__init__).parameters)
    except Exception:  # noqa: BLE001 - not importable on this machine: the workers will tell
        return None


def _strategy_accepts(strategy: dict, key: str) -> bool | None:
    """Whether the strategy class takes keyword `key` (None when it cannot be imported here)."""
    params = _strategy_signature(strategy)
    if params is None:
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return key in params and key not in ENGINE_ARGS


def strategy_parameters(strategy: dict) -> dict[str, Any]:
    """A strategy entry's parameters in its class's order: the config's value of each, else the
    class's default (None for one without a default); then any the config gives that the class takes
    through **kwargs. Only the config's params when the class cannot be imported here."""
    given = dict(strategy.get("params") or {})
    known = class_parameters(strategy)
    if known is None:
        return given
    from_class = {name: given.pop(name, default) for name, default, _required in known}
    return {**from_class, **given}


def class_parameters(strategy: dict) -> list[tuple[str, Any, bool]] | None:
    """What a strategy entry's class constructor lets `params` set, in its order: (name, default,
    required), the default None for a required one; None when the class cannot be imported here."""
    params = _strategy_signature(strategy)
    if params is None:
        return None
    return [(name, None if p.default is inspect.Parameter.empty else p.default, p.default is inspect.Parameter.empty)
            for name, p in settable_parameters(params).items()]


def resolve_path(config: dict, path: str, where: str) -> tuple[str, tuple[str | int, ...]]:
    """(canonical path, location) of a dotted path into the config's JSON; ConfigError when absent."""
    node: Any = config
    location: list[str | int] = []
    canonical: list[str] = []
    parts = path.split(".")
    for i, part in enumerate(parts):
        here = ".".join(canonical) or "the config"
        if isinstance(node, dict):
            if part in node:
                location.append(part)
                canonical.append(part)
                node = node[part]
                continue
            is_params = len(location) >= 3 and location[-3] == "strategies" and location[-1] == "params"
            if is_params and i == len(parts) - 1:
                strategy = config["strategies"][location[-2]]
                accepts = _strategy_accepts(strategy, part)
                if accepts is not False:
                    location.append(part)
                    canonical.append(part)
                    node = None
                    continue
                from workstation.strategies.loader import parameters_hint

                takes = list(strategy_parameters({"class_path": strategy["class_path"]}))
                raise ConfigError(where, [(path, f"strategy {strategy['name']!r} ({strategy['class_path']}) has no "
                                                 f"parameter {part!r} ({parameters_hint('it', takes, [part])})")])
            raise ConfigError(where, [(path, f"{part!r} is not a field of {here} "
                                             f"(fields: {', '.join(map(str, node)) or 'none'})")])
        if isinstance(node, list):
            names = [e.get("name") if isinstance(e, dict) else None for e in node]
            if part in names:
                index = names.index(part)
            elif part.isdigit() and int(part) < len(node):
                index = int(part)
            else:
                known = ", ".join(repr(n) for n in names if n) or f"positions 0..{len(node) - 1}"
                raise ConfigError(where, [(path, f"{here} has no element {part!r} (known: {known})")])
            location.append(index)
            canonical.append(str(names[index]) if names[index] else str(index))
            node = node[index]
            continue
        raise ConfigError(where, [(path, f"{here} is a value ({node!r}), it has no field {part!r}")])
    return ".".join(canonical), tuple(location)


def _set(config: dict, location: Sequence[str | int], value: Any) -> None:
    node = config
    for key in location[:-1]:
        node = node[key]
    node[location[-1]] = copy.deepcopy(value)


def _aliases(paths: Sequence[str]) -> list[str]:
    """The shortest dotted ending of each path that no other path ends with."""
    split = [p.split(".") for p in paths]
    out = []
    for i, parts in enumerate(split):
        for k in range(1, len(parts) + 1):
            tail = parts[-k:]
            if not any(len(o) >= k and o[-k:] == tail for j, o in enumerate(split) if j != i):
                out.append(".".join(tail))
                break
        else:
            out.append(paths[i])
    return out


# ---------------------------------------------------------------------- constraints
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
    ast.NotEq: operator.ne, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "len": len}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class Constraint:
    """A condition on parameter values, e.g. 'fast < slow' or 'slow - fast >= 5 and fast in (3, 5)'.

    Names are parameter paths or any unique ending of them; allowed: numbers, text, lists/tuples,
    + - * / // % **, comparisons, and/or/not, abs/min/max/len. Anything else is refused when parsed."""

    def __init__(self, text: str, axes: Sequence[ParamAxis]):
        self.text = text
        where = f"--constraint {text!r}"
        try:
            self._tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(where, [(where, f"not a valid condition: {exc.msg}")]) from None
        self._names: dict[str, str] = {}
        for node in ast.walk(self._tree):
            self._check_node(node, where)
        self._resolve_names(axes, where)

    def _check_node(self, node: ast.AST, where: str) -> None:
        allowed = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp, ast.Compare,
                   ast.Name, ast.Attribute, ast.Constant, ast.Load, ast.List, ast.Tuple, ast.Call,
                   *_BINARY, *_COMPARE)
        if not isinstance(node, allowed):
            raise ConfigError(where, [(where, f"{type(node).__name__} is not allowed in a constraint")])
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
                raise ConfigError(where, [(where, f"only {', '.join(_FUNCTIONS)} can be called in a constraint")])
        if isinstance(node, ast.Attribute) and _dotted(node) is None:
            raise ConfigError(where, [(where, "attributes are only allowed in parameter paths")])

    def _resolve_names(self, axes: Sequence[ParamAxis], where: str) -> None:
        used: list[str] = []

        def collect(node: ast.AST) -> None:
            name = _dotted(node)
            if name is not None:
                used.append(name)
            elif isinstance(node, ast.Call):
                for arg in node.args:
                    collect(arg)
            else:
                for child in ast.iter_child_nodes(node):
                    collect(child)

        collect(self._tree)
        for name in used:
            matches = [a.path for a in axes if a.path == name or a.path.endswith("." + name)]
            if len(matches) != 1:
                known = ", ".join(a.alias for a in axes)
                why = "matches several parameters" if matches else "is not a swept parameter"
                raise ConfigError(where, [(where, f"{name!r} {why} (parameters: {known})")])
            self._names[name] = matches[0]

    def __call__(self, values: dict[str, Any]) -> bool:
        try:
            return bool(self._eval(self._tree, values))
        except Exception as exc:  # noqa: BLE001 - any failure is the condition's
            shown = ", ".join(f"{k}={values.get(v)!r}" for k, v in self._names.items())
            raise ConfigError(f"--constraint {self.text!r}", [(f"--constraint {self.text!r}",
                              f"cannot be evaluated for {shown}: {type(exc).__name__}: {exc}")]) from None

    def _eval(self, node: ast.AST, values: dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name | ast.Attribute):
            name = _dotted(node)
            if name is None:
                raise TypeError(f"{ast.unparse(node)} is not a parameter name")
            return values[self._names[name]]
        if isinstance(node, ast.List | ast.Tuple):
            return [self._eval(e, values) for e in node.elts]
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, values)
            return (not v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else +v)
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, values) for v in node.values)
            return any(self._eval(v, values) for v in node.values)
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, values)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self._eval(right_node, values)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):  # the parser allows no other call
            return _FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))
        raise TypeError(type(node).__name__)


# ---------------------------------------------------------------------- cells
@dataclass(frozen=True)
class Cell:
    """One backtest of the sweep: its parameters and the full config it runs."""

    index: int
    phase: str                 # "sweep", or walk-forward "train" / "test"
    window: int | None         # walk-forward window, else None
    params: dict[str, Any]     # canonical path -> value
    config: dict = field(repr=False)  # the resolved session config (JSON-ready)
    cell_id: str = ""

    def label(self, aliases: dict[str, str]) -> str:
        return " ".join(f"{aliases.get(k, k)}={_show(v)}" for k, v in self.params.items())


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def cell_id_of(phase: str, window: int | None, config: dict) -> str:
    text = json.dumps({"phase": phase, "window": window, "config": config}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class SweepPlan:
    """A checked sweep: the base config, the axes, the parameter combinations and the cells."""

    spec: SweepSpec
    base_config: dict
    axes: list[ParamAxis]
    combos: list[dict[str, Any]]
    windows: list[WalkForwardWindow]
    cells: list[Cell]
    source: str = "(config)"

    @property
    def objective(self) -> str:
        return self.spec.objective_column()

    @property
    def direction(self) -> str:
        return self.spec.direction_or_default()

    @property
    def aliases(self) -> dict[str, str]:
        return {a.path: a.alias for a in self.axes}

    @property
    def total_cells(self) -> int:
        """Every cell the sweep runs, test cells of walk-forward windows included."""
        return len(self.cells) + len(self.windows)

    def make_cell(self, index: int, phase: str, window: int | None, params: dict[str, Any],
                  dates: tuple[dt.date, dt.date] | None = None) -> Cell:
        """The cell running `params` (and, for walk-forward, the window's dates); ConfigError names the
        parameters when the config model rejects the combination."""
        config = apply_params(self.base_config, self.axes, params, dates, self.source)
        return Cell(index, phase, window, dict(params), config, cell_id_of(phase, window, config))


def apply_params(base: dict, axes: Sequence[ParamAxis], params: dict[str, Any],
                 dates: tuple[dt.date, dt.date] | None, source: str, single_thread: bool = True) -> dict:
    """The base config with `params` set (and the backtest dates, when given), validated. A sweep cell
    runs `single_thread` (backtest.stage_threads false: identical results, one CPU per cell, no
    cross-thread handoffs); a replay of it in the window keeps the base config's setting."""
    from workstation.run_commands import apply_overrides

    data = copy.deepcopy(base)
    by_path = {a.path: a for a in axes}
    if "symbols" in params:
        symbols = params["symbols"]
        if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
            raise ConfigError(source, [("symbols", f"a swept symbols value must be a list of tickers, got "
                                                   f"{symbols!r}")])
        try:
            data = apply_overrides(validate_config_dict(data, source), symbols=",".join(symbols),
                                   source=source).model_dump(mode="json")
        except ConfigError as exc:
            raise _named(exc, params, by_path) from None
    for path, value in params.items():
        if path != "symbols":
            _set(data, by_path[path].location, value)
    if dates is not None:
        data["backtest"]["start_date"], data["backtest"]["end_date"] = dates[0].isoformat(), dates[1].isoformat()
    if single_thread:
        data["backtest"]["stage_threads"] = False
    try:
        return validate_config_dict(data, source).model_dump(mode="json")
    except ConfigError as exc:
        raise _named(exc, params, by_path) from None


def _named(exc: ConfigError, params: dict[str, Any], by_path: dict[str, ParamAxis]) -> ConfigError:
    """A config rejection restated per parameter: which value of which parameter the model refused."""
    problems = []
    for field_path, message in exc.problems:
        culprits = [p for p in params if _covers(by_path[p].location, field_path)]
        if not culprits and len(params) == 1:
            culprits = list(params)
        if culprits:
            for p in culprits:
                problems.append((f"--param {p}", f"value {_show(params[p])} is rejected by the config: "
                                                  f"{field_path}: {message}"))
        else:
            shown = ", ".join(f"{by_path[p].alias}={_show(v)}" for p, v in params.items())
            problems.append((f"cell {shown}", f"the config rejects this combination: {field_path}: {message}"))
    return ConfigError(exc.source, problems)


def _covers(location: tuple[str | int, ...], field_path: str) -> bool:
    loc = ".".join(str(x) for x in location)
    return field_path == loc or field_path.startswith(loc + ".") or loc.startswith(field_path + ".")


def _axis(base: dict, path: str, values: list[Any] | RangeSpec | str, method: str) -> ParamAxis:
    where = f"--param {path}"
    if isinstance(values, str):
        values = parse_values(values, where)
    canonical, location = resolve_path(base, path, where)
    if isinstance(values, RangeSpec) and values.step is None:
        if method != "random":
            range_values(values, where)  # raises: a grid needs a step
        if values.stop <= values.start:
            raise ConfigError(where, [(where, f"the range {values.start}:{values.stop} is empty")])
        integer = isinstance(values.start, int) and isinstance(values.stop, int)
        return ParamAxis(canonical, location, None, float(values.start), float(values.stop), integer)
    listed = range_values(values, where) if isinstance(values, RangeSpec) else list(values)
    if not listed:
        raise ConfigError(where, [(where, "no values to sweep")])
    unique = []
    for v in listed:
        if v not in unique:
            unique.append(v)
    return ParamAxis(canonical, location, tuple(unique))


def build_plan(spec: SweepSpec, base: SessionConfig, time_manager: TimeManager, source: str = "(config)",
               max_cells: int = MAX_GRID_CELLS) -> SweepPlan:
    """Check the sweep against `base` and expand it into cells; ConfigError before anything runs."""
    if base.mode != "backtest":
        raise ConfigError(source, [("mode", "a sweep runs backtests; this config is a live config")])
    if not spec.params:
        raise ConfigError("--param", [("--param", "nothing to sweep: give at least one --param PATH=VALUES")])
    in_main = [(f"strategies.{i}.class_path", st.class_path) for i, st in enumerate(base.strategies)
               if st.enabled and st.import_path().partition(":")[0] == "__main__"]
    if in_main:
        raise ConfigError(source, [(where, f"{path!r} is a class of the running script or notebook (__main__), "
                                           "which the sweep's worker processes cannot load: put it in a module file "
                                           "(e.g. my_strategies.py in the working directory) and name it "
                                           f"'my_strategies:{path.partition(':')[2]}'") for where, path in in_main])
    base_data = base.model_dump(mode="json")
    axes = [_axis(base_data, path, values, spec.method) for path, values in spec.params.items()]
    seen: dict[str, str] = {}
    for (given, _), axis in zip(spec.params.items(), axes, strict=True):
        if axis.path in seen:
            raise ConfigError("--param", [(f"--param {given}", f"the same parameter as --param {seen[axis.path]}")])
        seen[axis.path] = given
    aliases = _aliases([a.path for a in axes])
    axes = [ParamAxis(a.path, a.location, a.values, a.low, a.high, a.integer, alias)
            for a, alias in zip(axes, aliases, strict=True)]
    windows: list[WalkForwardWindow] = []
    if spec.walk_forward is not None:
        dated = [a.path for a in axes if a.path in ("backtest.start_date", "backtest.end_date", "backtest")]
        if dated:
            raise ConfigError("--walk-forward", [(f"--param {dated[0]}", "walk-forward sets the backtest dates of "
                                                                         "every window; do not sweep them")])
        sessions = [s.date for s in time_manager.sessions(base.backtest.start_date, base.backtest.end_date)]
        wf = spec.walk_forward
        windows = walk_forward_windows(sessions, wf.train, wf.test, wf.step)
    constraints = [Constraint(text, axes) for text in spec.constraints]
    plan = SweepPlan(spec, base_data, axes, [], windows, [], source)
    _check_each_value(plan)
    plan.combos = _combinations(axes, constraints, spec, max_cells)
    if windows:
        cells: list[Cell] = []
        for w in windows:
            for params in plan.combos:
                cells.append(plan.make_cell(len(cells), "train", w.index, params, (w.train_start, w.train_end)))
        plan.cells = cells
    else:
        plan.cells = [plan.make_cell(i, "sweep", None, params) for i, params in enumerate(plan.combos)]
    return plan


def _check_each_value(plan: SweepPlan) -> None:
    """Every listed value alone in the base config, so a rejected value names exactly its parameter."""
    problems: list[tuple[str, str]] = []
    for axis in plan.axes:
        for value in axis.values or ():
            try:
                apply_params(plan.base_config, plan.axes, {axis.path: value}, None, plan.source)
            except ConfigError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
    if problems:
        raise ConfigError(plan.source, problems)


def _combinations(axes: Sequence[ParamAxis], constraints: Sequence[Constraint], spec: SweepSpec,
                  max_cells: int) -> list[dict[str, Any]]:
    paths = [a.path for a in axes]

    def allowed(combo: dict[str, Any]) -> bool:
        return all(c(combo) for c in constraints)

    if any(a.continuous for a in axes) or spec.method == "random":
        if spec.method != "random":
            raise ConfigError("--param", [("--param", "a continuous range needs --method random")])
        if spec.samples is None:
            raise ConfigError("--samples", [("--samples", "random sampling needs --samples N")])
    if not any(a.continuous for a in axes):
        size = math.prod(len(a.values or ()) for a in axes)
        if size > max_cells:
            raise ConfigError("--param", [("--param", f"the grid has {size:,} cells (at most {max_cells:,}): "
                                                      "use fewer values or --method random --samples N")])
        grid = [dict(zip(paths, values, strict=True)) for values in itertools.product(*(a.values or () for a in axes))]
        kept = [c for c in grid if allowed(c)]
        if not kept:
            raise ConfigError("--constraint", [("--constraint", f"the constraints {list(spec.constraints)} remove "
                                                                f"every one of the {len(grid):,} cells")])
        if spec.method == "random" and spec.samples is not None and spec.samples < len(kept):
            rng = np.random.default_rng(spec.seed)
            picked = sorted(rng.choice(len(kept), size=spec.samples, replace=False).tolist())
            kept = [kept[i] for i in picked]
        return kept
    return _random_continuous(axes, allowed, spec)


def _random_continuous(axes: Sequence[ParamAxis], allowed: Callable[[dict[str, Any]], bool],
                       spec: SweepSpec) -> list[dict[str, Any]]:
    rng = np.random.default_rng(spec.seed)
    wanted = int(spec.samples or 0)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(max(1000, 200 * wanted)):
        combo = {}
        for a in axes:
            if a.values is not None:
                combo[a.path] = a.values[int(rng.integers(len(a.values)))]
            elif a.integer:
                low, high = a.bounds
                combo[a.path] = int(rng.integers(int(low), int(high) + 1))
            else:
                combo[a.path] = float(rng.uniform(*a.bounds))
        key = json.dumps(combo, sort_keys=True, default=str)
        if key in seen or not allowed(combo):
            continue
        seen.add(key)
        out.append(combo)
        if len(out) == wanted:
            return out
    if not out:
        raise ConfigError("--constraint", [("--constraint", f"no random draw met the constraints "
                                                            f"{list(spec.constraints)}")])
    return out


def replay_config(definition: dict, params: dict[str, Any], phase: str = "sweep", window: int | None = None) -> dict:
    """The session config of one cell of a recorded sweep (sweep.json), for a replay in the window:
    the base config with the cell's parameters and, in walk-forward, its window's dates. The recorded
    base config spells every default out, `backtest.stage_threads: true` too: left out here, so the
    window replays the cell as it plays a config that leaves it unset (one engine thread, held for each
    frame: 1.5-2x faster at MAX; the same results either way)."""
    base = definition["identity"]["config"]
    source = str(definition.get("source") or "sweep.json")
    axes, values = [], {}
    for entry in definition["params"]:
        path = entry["path"]
        _, location = resolve_path(base, path, f"--param {path}")
        axes.append(ParamAxis(path, location, None))
        value = params.get(path)
        listed = entry.get("values") or []
        if isinstance(value, str) and any(isinstance(v, list | dict) for v in listed):
            value = json.loads(value)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and math.isnan(value) and None in listed:
            value = None         # a cell swept over null: its results column holds NaN
        if isinstance(value, float) and value.is_integer() and all(isinstance(v, int) for v in listed if v is not None):
            value = int(value)
        values[path] = value
    dates: tuple[dt.date, dt.date] | None = None
    if window is not None and phase in ("train", "test"):
        w = definition["windows"][int(window)]
        dates = (dt.date.fromisoformat(w[f"{phase}_start"]), dt.date.fromisoformat(w[f"{phase}_end"]))
    config = apply_params(base, axes, values, dates, source, single_thread=False)
    if config.get("backtest", {}).get("stage_threads") is True:
        del config["backtest"]["stage_threads"]
    return config


def suggested_paths(config: dict) -> list[str]:
    """Parameter paths worth offering in a sweep form: every strategy parameter (those the config
    leaves at their class's default too), the numeric fields of risk, execution and the historical
    warm-up, the backtest dates and the symbols."""
    out = [f"strategies.{st['name']}.params.{key}" for st in config.get("strategies", [])
           for key in strategy_parameters(st)]
    for section in ("risk", "execution"):
        out += [f"{section}.{k}" for k, v in config.get(section, {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool)]
    out += ["historical.warmup_bars", "historical.trailing_days", "backtest.start_date", "backtest.end_date",
            "symbols"]
    return out
