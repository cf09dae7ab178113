"""Session config: models, JSON load/save, validation messages and the exported JSON Schema.

The names below are loaded when first used (PEP 562): the models need pydantic, which a
`workstation run` of a config validated before does without (workstation.config.validated).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workstation.config.io import (
        MAX_CONFIG_BYTES,
        config_json_schema,
        dump_config,
        load_config,
        parse_config_json,
        problems_of,
        read_config_text,
        save_config,
        validate_config_dict,
    )
    from workstation.config.models import (
        BUILTIN_STRATEGIES,
        BacktestConfig,
        ExecutionConfig,
        GapFillerConfig,
        HistoricalConfig,
        HistoricalIndicator,
        LiveConfig,
        RiskConfig,
        SessionConfig,
        StrategyConfig,
        StreamsConfig,
    )

_HOME = {
    **dict.fromkeys(("MAX_CONFIG_BYTES", "config_json_schema", "dump_config", "load_config", "parse_config_json",
                     "problems_of", "read_config_text", "save_config", "validate_config_dict"),
                    "workstation.config.io"),
    **dict.fromkeys(("BUILTIN_STRATEGIES", "BacktestConfig", "ExecutionConfig", "GapFillerConfig",
                     "HistoricalConfig", "HistoricalIndicator", "LiveConfig", "RiskConfig", "SessionConfig",
                     "StrategyConfig", "StreamsConfig"), "workstation.config.models"),
}

__all__ = [
    "MAX_CONFIG_BYTES",
    "BUILTIN_STRATEGIES",
    "BacktestConfig",
    "ExecutionConfig",
    "GapFillerConfig",
    "HistoricalConfig",
    "HistoricalIndicator",
    "LiveConfig",
    "RiskConfig",
    "SessionConfig",
    "StrategyConfig",
    "StreamsConfig",
    "config_json_schema",
    "dump_config",
    "load_config",
    "parse_config_json",
    "problems_of",
    "read_config_text",
    "save_config",
    "validate_config_dict",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
