"""Backtest Workstation engine: replay, backtest and live-monitor intraday 1-minute bar sessions.

The engine never imports Qt; the `ui` package adapts it to PySide6. For notebooks and scripts:

    import workstation
    result = workstation.run("session_configs/example_session.json", start="2024-11-25")
    result.stats, result.trades, result.equity, result.report_html("report.html")
    grid = workstation.sweep("session_configs/example_session.json",
                             {"strategies.sma_5_20.params.fast": [3, 5, 8]}, workers=2)
    grid.results, grid.best, grid.run()          # the frame of results.parquet, the best row, its run

`run`, `sweep`, `load_run` and their result classes are imported on first use, so `import workstation`
stays light (no Qt, no Ray: Ray is imported when a sweep starts).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "run": ("workstation.api", "run"),
    "sweep": ("workstation", "sweep"),  # the callable package workstation/sweep (runs workstation.api.sweep)
    "SweepResults": ("workstation.api", "SweepResults"),
    "override_config": ("workstation.api", "override_config"),
    "load_run": ("workstation.runs", "load_run"),
    "RunResults": ("workstation.runs", "RunResults"),
}

__all__ = ["RunResults", "SweepResults", "__version__", "load_run", "override_config", "run", "sweep"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        if name == "sweep":  # the subpackage of that name is callable (its import sets the attribute)
            return importlib.import_module("workstation.sweep")
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workstation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
