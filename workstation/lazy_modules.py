"""A heavy library imported at its first use rather than when the module naming it is imported.

`pd = LazyModule("pandas")` in a module whose functions use pandas only now and then (frames of
results, written after the run's first bar) keeps `import pandas` (about 0.2 s of CPU) off the path
of everything that imports that module but never calls those functions, such as the start of a run
up to its first bar. Each attribute read imports the library if it is not imported yet (Python's
import lock makes that safe from any thread) and returns the library's attribute; the proxy holds no
state of its own. Type checkers see the real module: use it as

    if TYPE_CHECKING:
        import pandas as pd
    else:
        pd = LazyModule("pandas")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class LazyModule:
    """Stands for module `name`: reading an attribute imports the module (once) and reads it there."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported at first use>"


def lazy_exports(package: str, homes: dict[str, str], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 `__getattr__` and `__dir__` of a package whose public names (`homes`: name -> the
    submodule defining it) are imported at their first use, then kept in the package's `namespace`
    (its globals()). Use as `__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())`."""
    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__
