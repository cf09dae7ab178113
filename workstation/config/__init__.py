"""Session config: models, JSON load/save, validation messages and the exported JSON Schema."""

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
