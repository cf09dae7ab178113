"""What a session config answers beyond its fields, shared by the pydantic models
(workstation.config.models) and the read-only records a `workstation run` builds from a config
validated before (workstation.config.validated), so both answer alike. No pydantic here.

Each mixin reads only its own class's fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

BUILTIN_STRATEGIES = {
    "sma_crossover": "workstation.strategies.sma_crossover:SmaCrossover",
    "rsi_reversion": "workstation.strategies.rsi_reversion:RsiReversion",
    "opening_range_breakout": "workstation.strategies.opening_range_breakout:OpeningRangeBreakout",
}

DEFAULT_BATCH_QUIET_MS = {"replay": 2.0, "alpaca": 500.0}


class StrategyMethods:
    if TYPE_CHECKING:       # the fields this reads (declared by the model or the record)
        class_path: str

    def import_path(self) -> str:
        return BUILTIN_STRATEGIES.get(self.class_path, self.class_path)


class AlpacaMethods:
    if TYPE_CHECKING:       # the fields this reads (declared by the model or the record)
        ws_url: str | None
        feed: str

    def stream_url(self) -> str:
        """The websocket URL the stream connects to: `ws_url`, or the feed's Alpaca URL."""
        from workstation.live.endpoints import alpaca_stream_url

        return self.ws_url or alpaca_stream_url(self.feed)


class ExecutionMethods:
    if TYPE_CHECKING:       # the fields this reads (declared by the model or the record)
        tick_size: float | None
        tick_sizes: dict[str, float]

    def tick_for(self, symbol: str) -> float | None:
        """`symbol`'s tick size: its `tick_sizes` entry, else `tick_size` (None: the data's decimals)."""
        return self.tick_sizes.get(symbol, self.tick_size)


class LiveMethods:
    if TYPE_CHECKING:       # the fields this reads (declared by the model or the record)
        batch_quiet_ms: float | None
        provider: str

    def quiet_ms(self) -> float:
        """`batch_quiet_ms`, or the provider's default when it is not set."""
        if self.batch_quiet_ms is not None:
            return self.batch_quiet_ms
        return DEFAULT_BATCH_QUIET_MS[self.provider]


class SessionMethods:
    if TYPE_CHECKING:       # the fields this reads (declared by the model or the record)
        symbols: list[str]
        historical: Any

    def strategy_symbols(self, st: Any) -> list[str]:
        return list(self.symbols) if st.symbols == "all" else [s.upper() for s in st.symbols]

    def historical_symbols(self) -> list[str]:
        h = self.historical.symbols
        return list(self.symbols) if h == "all" else [s.upper() for s in h]
