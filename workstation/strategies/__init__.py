"""Strategies: the BaseStrategy API, the context they read through, built-ins and the loader."""

from workstation.strategies.base import BaseStrategy, StrategyContext
from workstation.strategies.loader import load_strategy

__all__ = ["BaseStrategy", "StrategyContext", "load_strategy"]
