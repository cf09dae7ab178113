"""Load strategy classes from the config: built-in names or 'package.module:ClassName' paths."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from workstation.errors import StrategyError
from workstation.strategies.base import BaseStrategy

if TYPE_CHECKING:
    from workstation.config import SessionConfig, StrategyConfig


class StrategyClassError(StrategyError):
    """The class a strategy's `class_path` names cannot be imported or is not a strategy."""


class StrategyParamsError(StrategyError):
    """The strategy class refused its parameters (its constructor raised)."""


def strategy_class(st: StrategyConfig, index: int) -> type[BaseStrategy]:
    """Import the class of one strategy entry; StrategyClassError names the entry on any failure."""
    where = f"strategies[{index}] ({st.name!r})"
    path = st.import_path()
    module_name, _, class_name = path.partition(":")
    try:
        module = import_strategy_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix
        raise StrategyClassError(
            f"{where}: cannot import module {module_name!r} of class_path {st.class_path!r}: "
            f"{type(exc).__name__}: {exc}. Check the path: the module is looked for on PYTHONPATH, "
            f"then in the working directory ({os.getcwd()})."
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise StrategyClassError(f"{where}: module {module_name!r} has no class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, BaseStrategy)):
        raise StrategyClassError(f"{where}: {path} is not a subclass of workstation.strategies.BaseStrategy")
    return cls


def import_strategy_module(module_name: str) -> ModuleType:
    """The module of a class_path: imported as usual, or, when its top-level package or module is
    nowhere on sys.path, from the working directory, as `python -m` or a script
    beside it would find it: `mystrat.py` next to where `workstation run` is started. Only that one
    package is taken from the folder (sys.path is left as it is), so the folder never shadows an
    installed module; once imported it stays in sys.modules like any import."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        if exc.name != top:
            raise                               # the module itself lacks one of its imports
        spec = importlib.machinery.PathFinder.find_spec(top, [os.getcwd()])
        if spec is None or spec.loader is None:
            raise
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(top, None)
        raise
    return importlib.import_module(module_name)


def load_strategy(cfg: SessionConfig, st: StrategyConfig, index: int) -> BaseStrategy:
    """Import and construct one strategy; StrategyError names the config entry on any failure."""
    cls = strategy_class(st, index)
    try:
        return cls(name=st.name, symbols=cfg.strategy_symbols(st), interval=st.interval, **st.params)
    except Exception as exc:  # noqa: BLE001
        raise StrategyParamsError(
            f"strategies[{index}] ({st.name!r}): {cls.__name__}.__init__ failed with params {st.params}: "
            f"{type(exc).__name__}: {exc}{_unknown_params_hint(cls, st.params)}"
        ) from exc


ENGINE_ARGS = ("self", "name", "symbols", "interval")     # given to a strategy by the engine, not by `params`


def settable_parameters(parameters: Mapping[str, inspect.Parameter]) -> dict[str, inspect.Parameter]:
    """Of a strategy constructor's parameters, those a config's `params` can set: passed by keyword and
    not given by the engine (ENGINE_ARGS); in the constructor's order."""
    return {name: p for name, p in parameters.items() if name not in ENGINE_ARGS
            and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}


def _unknown_params_hint(cls: type, params: dict) -> str:
    """For params the class does not take: what it takes and the closest name to each typo ("" when the
    class takes any keyword, or every param given is one it takes)."""
    try:
        signature = inspect.signature(cls).parameters     # the constructor's, without self
    except (TypeError, ValueError):
        return ""
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
        return ""
    takes = list(settable_parameters(signature))
    unknown = [key for key in params if key not in takes]
    return f" ({parameters_hint(cls.__name__, takes, unknown)})" if unknown else ""


def parameters_hint(owner: str, takes: Sequence[str], unknown: Sequence[str]) -> str:
    """"OWNER takes a, b, c; did you mean 'b' for 'bb'?": the parameters a strategy class takes and, for
    each unknown name close to one of them, that one."""
    import difflib

    guesses = [f"{close[0]!r} for {key!r}" for key in unknown
               if (close := difflib.get_close_matches(key, list(takes), n=1, cutoff=0.6))]
    return (f"{owner} takes {', '.join(takes) or 'no parameters'}"
            + (f"; did you mean {', '.join(guesses)}?" if guesses else ""))
