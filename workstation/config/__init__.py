"""Session config: models, JSON load/save, validation messages and the exported JSON Schema.

The names below are loaded when first used (PEP 562): the models need pydantic, which a
`workstation run` of a config validated before does without (workstation.config.validated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workstation.lazy_modules import lazy_exports

if TYPE_CHECKING:
    from workstation.config.io import (
        MAX_CONFIG_BYTES,
        config_for_bars,
        config_json_schema,
        dump_config,
        load_config,
        parse_config_json,
        pretty_json,
        problems_of,
        read_config_text,
        save_config,
        save_config_edits,
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
    **dict.fromkeys(("MAX_CONFIG_BYTES", "config_for_bars", "config_json_schema", "dump_config", "load_config", "parse_config_json",
                     "pretty_json", "problems_of", "read_config_text", "save_config", "save_config_edits",
                     "validate_config_dict"),
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
    "config_for_bars",
    "config_json_schema",
    "dump_config",
    "load_config",
    "parse_config_json",
    "pretty_json",
    "problems_of",
    "read_config_text",
    "save_config",
    "save_config_edits",
    "validate_config_dict",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())
