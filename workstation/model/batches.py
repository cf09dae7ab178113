"""Columnar signals and decisions: one record per strategy call or per decision round, not one object
per signal.

`SignalBatch` is what a vectorised strategy (the built-in SMA crossover) may return from `on_bars`
instead of a list of `Signal`s: one column per field, one row per signal, all made at one clock time
(int ns UTC) by one strategy. It is also a read-only sequence of `Signal`s (built on demand, equal to
the ones the strategy would have returned), so code that iterates a strategy's return value keeps
working.

`DecisionBatch` is the payload of the "decisions" event: the risk checks' verdicts on one batch of
signals (approved, reason per row), or a tuple of ready `Decision`s (orders, hand orders, signals a
strategy returned as objects). `rows()` gives the signal log's rows without a Decision per row;
`decisions()` the Decision objects of the "decision" event, equal to the ones published before
batches existed.

Both are built and read in the engine thread that runs the strategies; an observer may keep them
(nothing changes them after the event).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, overload

import numpy as np

from workstation.model.trading import Action, Decision, Signal

__all__ = ["Column", "DecisionBatch", "SignalBatch", "as_list"]

Column = list | np.ndarray


def as_list(column: Column) -> list:
    """A column's values as Python scalars."""
    return column.tolist() if isinstance(column, np.ndarray) else column


# the signal log's row: time, symbol, strategy, action text, quantity, price, confidence, approved, reason, kind
SignalLogRow = tuple[int, str, str, str, float, float, float, bool, str, str]


@dataclass(frozen=True, slots=True, eq=False)
class SignalBatch(Sequence[Signal]):
    """Signals of one strategy call as columns: row k asks `actions[k]` of `quantities[k]` shares of
    `symbols[symbol_indices[k]]` at reference price `prices[k]` with `confidences[k]`; `metadata` maps a
    name to a column (one value per row) of each signal's metadata. `time` (int ns UTC) and `strategy`
    are shared by every row. `symbols` is the run's symbol list (ctx.symbols) the indices point into.
    A column is a list (the cheapest for the few rows of one call) or a 1-D numpy array."""

    strategy: str
    time: int
    symbols: Sequence[str]
    symbol_indices: Column              # int
    actions: tuple[Action, ...]
    quantities: Column                  # float
    prices: Column                      # float
    confidences: Column                 # float
    metadata: Mapping[str, Column] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.actions)

    @overload
    def __getitem__(self, k: int) -> Signal: ...

    @overload
    def __getitem__(self, k: slice) -> list[Signal]: ...

    def __getitem__(self, k: int | slice) -> Signal | list[Signal]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        return self.signals()[k]

    def __iter__(self) -> Iterator[Signal]:
        return iter(self.signals())

    def signals(self) -> list[Signal]:
        """The rows as Signal objects (metadata values as Python scalars)."""
        columns = {name: as_list(col) for name, col in self.metadata.items()}
        symbols = self.symbols
        return [Signal(symbols[i], action, q, p, self.time, self.strategy, c,
                       {name: col[k] for name, col in columns.items()})
                for k, (i, action, q, p, c) in enumerate(zip(as_list(self.symbol_indices), self.actions,
                                                             as_list(self.quantities), as_list(self.prices),
                                                             as_list(self.confidences), strict=True))]


@dataclass(frozen=True, slots=True, eq=False)
class DecisionBatch:
    """Decisions of one round, in the order they were made: either a SignalBatch with its verdicts
    (`approved`, `reasons` per row; kind "signal"), or ready Decision objects (`objects`)."""

    signals: SignalBatch | None = None
    approved: tuple[bool, ...] = ()
    reasons: tuple[str, ...] = ()
    objects: tuple[Decision, ...] = ()

    @classmethod
    def of(cls, *decisions: Decision) -> DecisionBatch:
        return cls(objects=decisions)

    def __len__(self) -> int:
        return len(self.approved) if self.signals is not None else len(self.objects)

    def decisions(self) -> list[Decision]:
        """The Decision objects (built on demand for a signal batch)."""
        if self.signals is None:
            return list(self.objects)
        return [Decision(sig, ok, reason) for sig, ok, reason in
                zip(self.signals.signals(), self.approved, self.reasons, strict=True)]

    def rows(self) -> list[SignalLogRow]:
        """The signal log's rows (see SignalLogRow), as `Decision` objects give them."""
        batch = self.signals
        if batch is None:
            return [_row(d) for d in self.objects]
        symbols = batch.symbols
        n = len(batch)
        return list(zip(repeat(batch.time, n), [symbols[i] for i in as_list(batch.symbol_indices)],
                        repeat(batch.strategy, n), [a._value_ for a in batch.actions],
                        [float(q) for q in as_list(batch.quantities)], [float(p) for p in as_list(batch.prices)],
                        [float(c) for c in as_list(batch.confidences)], self.approved, self.reasons,
                        repeat("signal", n), strict=False))


def _row(d: Decision) -> SignalLogRow:
    s = d.signal
    kind = getattr(d, "kind", "signal")
    action: Any = s.action
    # a signal's action text is its Action's value (Decision.action_text, without the property per signal)
    text = action._value_ if kind == "signal" and type(action) is Action else d.action_text
    return (s.time, s.symbol, s.strategy, text, float(s.quantity), float(s.price), float(s.confidence),
            bool(d.approved), d.reason, kind)
