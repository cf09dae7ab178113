"""Probe strategies (loaded by import path) that record every delivery the engine makes to them."""

from __future__ import annotations

import threading

import numpy as np

from workstation.strategies import BaseStrategy

DELIVERIES: dict[str, list[tuple]] = {}
_LOCK = threading.Lock()


class OnBarProbe(BaseStrategy):
    """Records every on_bar call: (symbol, bar start, bar close, clock, SMA(3) of the interval)."""

    def __init__(self, name, symbols, interval, key: str = "on_bar"):
        super().__init__(name, symbols, interval)
        self.key = key
        with _LOCK:
            DELIVERIES[key] = []

    def required_indicators(self):
        return ("sma(3)",)

    def on_bar(self, ctx, symbol, bar):
        DELIVERIES[self.key].append((symbol, bar.timestamp, bar.close, ctx.now_ns,
                                     ctx.indicator(symbol, self.interval, "sma(3)")))
        return None


class OnBarsProbe(BaseStrategy):
    """Records every on_bars call, one row per symbol: (symbol, newest bar start, its close, clock,
    SMA(3)), read from the vectorised context."""

    def __init__(self, name, symbols, interval, key: str = "on_bars"):
        super().__init__(name, symbols, interval)
        self.key = key
        with _LOCK:
            DELIVERIES[key] = []

    def required_indicators(self):
        return ("sma(3)",)

    def on_bars(self, ctx, sym_idx: np.ndarray):
        sma = ctx.indicator_bank(self.interval, "sma(3)").value
        starts, closes = ctx.bar_starts(self.interval), ctx.closes(self.interval)
        for i in sym_idx.tolist():
            DELIVERIES[self.key].append((ctx.symbols[i], int(starts[i]), float(closes[i]), ctx.now_ns,
                                         float(sma[i])))
        return None


class WarmupProbe(BaseStrategy):
    """Records, at on_start (after the warm-up), every listed indicator of every listed interval:
    `probes` = {"60m": ["rsi(14)"], ...}; requires them on its own interval only, so the others
    come from the config's streams.indicators."""

    def __init__(self, name, symbols, interval, key: str = "warmup", probes: dict | None = None):
        super().__init__(name, symbols, interval)
        self.key = key
        self.probes = dict(probes or {})
        with _LOCK:
            DELIVERIES[key] = []

    def required_indicators(self):
        return tuple(self.probes.get(self.interval, ()))

    def on_start(self, ctx):
        for interval, specs in self.probes.items():
            for spec in specs:
                values = ctx.indicator_bank(interval, spec).value
                DELIVERIES[self.key].append((interval, spec, values.copy()))
