"""Backtest Workstation engine: replay, backtest and live-monitor intraday 1-minute bar sessions.

The engine never imports Qt; the `ui` package adapts it to PySide6. For notebooks and scripts:

    import workstation
    result = workstation.run("session_configs/example_session.json", start="2024-11-25")
    result.stats, result.trades, result.equity, result.report_html("report.html")

`run`, `load_run` and `RunResults` are imported on first use, so `import workstation` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "run": ("workstation.api", "run"),
    "override_config": ("workstation.api", "override_config"),
    "load_run": ("workstation.runs", "load_run"),
    "RunResults": ("workstation.runs", "RunResults"),
}

__all__ = ["RunResults", "__version__", "load_run", "override_config", "run"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workstation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
