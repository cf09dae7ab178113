"""History: an append-only list of records that engine snapshots keep by reference.

A run's order, fill and trade records only grow: records are appended, never removed, replaced or
reordered, and a record never changes again once it is settled (`settled(record)` true: a final
order; fills and trades are settled when appended, `settled=None`). A snapshot
(workstation.pipeline.snapshots) therefore records a History's length and copies only the records
not settled yet; a restore gives back a new History of the same records up to that length, with the
copies in place of the unsettled ones. A snapshot's cost then does not grow with the run's history.

Records handed out of the engine (a strategy's fills, the broker's trades) are the engine's own:
treat them as read-only. Not thread safe: written by the thread that runs the broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

__all__ = ["History"]

R = TypeVar("R")


class History(list[R], Generic[R]):
    """A list whose records are only appended and never change once `settled` (see the module
    docstring). `settled_upto`: a bound such that every record before it is settled (a cache the
    snapshots advance; 0 is always right)."""

    __slots__ = ("settled", "settled_upto")

    def __init__(self, records: Iterable[R] = (), settled: Callable[[R], bool] | None = None):
        super().__init__(records)
        self.settled = settled
        self.settled_upto = 0

    def unsettled(self) -> tuple[int, list[int]]:
        """(`settled_upto` advanced over the settled records at its place, the indices after it of the
        records not settled yet). O(records after the first unsettled one)."""
        n = len(self)
        settled = self.settled
        if settled is None:
            self.settled_upto = n
            return n, []
        i = self.settled_upto
        while i < n and settled(self[i]):
            i += 1
        self.settled_upto = i
        return i, [j for j in range(i, n) if not settled(self[j])]

    def restored(self, length: int, settled_upto: int, replaced: Iterable[tuple[int, R]]) -> History[R]:
        """A new History: this one's first `length` records with `replaced` (index, record) in place of
        the ones at those indices. This list is left as it is (others may still hold it)."""
        out = History(self[:length], self.settled)
        for i, record in replaced:
            out[i] = record
        out.settled_upto = settled_upto
        return out
