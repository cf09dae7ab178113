"""Plain value types of the trading domain: bars, intervals, signals, decisions (also as columnar
batches), fills, trades."""

from workstation.model.bar import Bar, ns_array, ns_to_ts, ts_to_ns
from workstation.model.batches import DecisionBatch, SignalBatch
from workstation.model.interval import Interval, parse_interval
from workstation.model.symbol import SYMBOL_RULE, is_valid_symbol, shown_symbol, symbol_problem
from workstation.model.trading import Action, Decision, Fill, Signal, Trade

__all__ = [
    "Action",
    "Bar",
    "Decision",
    "DecisionBatch",
    "Fill",
    "Interval",
    "SYMBOL_RULE",
    "Signal",
    "SignalBatch",
    "Trade",
    "is_valid_symbol",
    "ns_array",
    "ns_to_ts",
    "parse_interval",
    "shown_symbol",
    "symbol_problem",
    "ts_to_ns",
]
