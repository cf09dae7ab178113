"""BaseStrategy and StrategyContext: what a user strategy implements and what it may read.

A strategy receives bars of one interval (`config.interval`) for its symbols AFTER they are
complete (the clock reads the bar's end), reads SessionData, indicators and historical indicators
through the context, and returns `Signal`s. It never sees the broker: the risk checks decide
which signals become orders. Implement `on_bar` (one symbol) or, for speed, `on_bars` (every
symbol with a new bar at this bar time, as an index array).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.model import Action, Bar, Signal

if TYPE_CHECKING:
    from workstation.indicators import Indicator
    from workstation.session import SessionData


class StrategyContext:
    """Read access for strategies: clock, bars, indicators, quality, positions. Built per run."""

    def __init__(self, session_data: SessionData, clock, indicators, positions, symbols: Sequence[str],
                 last_close: dict | None = None, last_start: dict | None = None):
        self.session_data = session_data
        self._last_close = last_close or {}
        self._last_start = last_start or {}
        self._clock = clock
        self._indicators = indicators          # IndicatorSet of the processor
        self._positions = positions            # callable -> np.ndarray of positions per symbol index
        self.symbols = list(symbols)
        self.symbol_index = {s: i for i, s in enumerate(self.symbols)}

    @property
    def now_ns(self) -> int:
        """Current clock time (int ns UTC): the end of the newest bar delivered."""
        return self._clock.now_ns()

    def indicator_bank(self, interval: str, spec: str) -> Indicator:
        """The vectorised indicator (one lane per symbol index) for (interval, spec)."""
        return self._indicators.get(interval, spec)

    def indicator(self, symbol: str, interval: str, spec: str) -> float:
        """Current value of an indicator for one symbol (NaN until ready)."""
        return float(self._indicators.get(interval, spec).value[self.symbol_index[symbol]])

    def indicator_outputs(self, symbol: str, interval: str, spec: str) -> dict[str, float]:
        i = self.symbol_index[symbol]
        return {k: float(v[i]) for k, v in self._indicators.get(interval, spec).outputs().items()}

    def closes(self, interval: str) -> np.ndarray:
        """Close of each symbol's newest completed bar of `interval` (NaN before the first), by
        symbol index; read-only use."""
        return self._last_close[interval]

    def bar_starts(self, interval: str) -> np.ndarray:
        """Start (int ns UTC) of each symbol's newest completed bar of `interval` (-1 before the first)."""
        return self._last_start[interval]

    def price_decimals(self) -> np.ndarray:
        """Decimals of every price seen so far per symbol index (3 for 17.921): prices times
        10**decimals are integers, so sums of them compare exactly (see indicators.price_grid)."""
        return self._indicators.price_grid.decimals

    def positions(self) -> np.ndarray:
        """Net position per symbol index (shares; + long, - short)."""
        return self._positions()

    def position(self, symbol: str) -> float:
        return float(self._positions()[self.symbol_index[symbol]])

    def latest_bar(self, symbol: str, interval: str) -> Bar | None:
        return self.session_data.latest_bar(symbol, interval)

    def last_bars(self, symbol: str, interval: str, n: int):
        return self.session_data.last_bars(symbol, interval, n)

    def quality(self, symbol: str, interval: str) -> float:
        return self.session_data.quality(symbol, interval)

    def historical_indicator(self, symbol: str, name: str):
        return self.session_data.historical_indicator(symbol, name)


class BaseStrategy:
    """Subclass and implement `on_bar` (or `on_bars`). Parameters arrive as keyword arguments."""

    def __init__(self, name: str, symbols: Sequence[str], interval: str, **params: Any):
        self.name = name
        self.symbols = list(symbols)
        self.interval = interval
        self.params = params

    def required_indicators(self) -> Iterable[str]:
        """Indicator specs (e.g. "sma(5)") the processor must keep on `self.interval`."""
        return ()

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first session (after indicator warm-up)."""

    def on_session_start(self, ctx: StrategyContext, session_date) -> None:
        """Called at each session's open."""

    def on_session_end(self, ctx: StrategyContext, session_date) -> None:
        """Called after each session's close."""

    def on_bar(self, ctx: StrategyContext, symbol: str, bar: Bar) -> Sequence[Signal] | None:
        """One completed bar of one symbol. Return signals (or None)."""
        return None

    def on_bars(self, ctx: StrategyContext, sym_idx: np.ndarray) -> Sequence[Signal] | None:
        """Every completed bar of this bar time for this strategy's symbols (`sym_idx` indexes
        `ctx.symbols`). The default calls `on_bar` per symbol; override for speed."""
        out: list[Signal] = []
        sd = ctx.session_data
        for i in sym_idx.tolist():
            sym = ctx.symbols[i]
            bar = sd.latest_bar(sym, self.interval)
            if bar is None:
                continue
            res = self.on_bar(ctx, sym, bar)
            if res:
                out.extend(res)
        return out

    def on_bars_revised(self, ctx: StrategyContext, sym_idx: np.ndarray) -> None:
        """Live mode: late or gap-filled bars changed the history of these symbols (indicators were
        recomputed); refresh any state derived from it. No signal is made for past bars."""

    def on_quality_update(self, ctx: StrategyContext, symbol: str, interval: str, quality_pct: float) -> None:
        """Called when a symbol's bar quality changes (optional)."""

    def signal(self, ctx: StrategyContext, symbol: str, action: Action, quantity: float, price: float,
               confidence: float = 1.0, **metadata: Any) -> Signal:
        """Build a Signal stamped with the clock and this strategy's name; metadata["bar_start"] is
        the start of the newest bar of `symbol` on the strategy's interval (what it decided on)."""
        if "bar_start" not in metadata:
            bar = ctx.latest_bar(symbol, self.interval)
            if bar is not None:
                metadata["bar_start"] = bar.timestamp
        return Signal(symbol, action, float(quantity), float(price), ctx.now_ns, self.name,
                      float(confidence), metadata)
