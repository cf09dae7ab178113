"""The hand-trading inbox: commands a trader places (any thread) waiting for the engine, which takes
the due ones between two bar times (see workstation.execution.manual for the commands and how they are
applied). Kept apart from the commands so that a run without hand orders does not import them."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workstation.execution.manual import ManualCommand

_NEVER = 2**63 - 1


class ManualOrderInbox:
    """Commands waiting for the engine (any thread puts, the coordinator takes). See the module docstring."""

    def __init__(self, wake: Callable[[], None] | None = None):
        self._wake = wake
        self._lock = threading.Lock()
        self._pending: list[tuple[int, int, ManualCommand]] = []    # heap of (at_ns, sequence, command)
        self._sequence = 0
        self._closed = False
        self.next_at_ns = _NEVER      # the earliest at_ns waiting (read without the lock by the coordinator)

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, command: ManualCommand, at_ns: int = 0) -> int:
        """Queue a command, applied between two bar times once the clock has reached `at_ns` (0: at
        the next opportunity, also while paused). Returns its sequence number."""
        from workstation.execution.manual import ManualOrderError, describe, is_command

        if not is_command(command):
            raise ManualOrderError(f"not a hand-trading command: {type(command).__name__} {command!r}")
        with self._lock:
            if self._closed:
                raise ManualOrderError(f"the run has ended: {describe(command)} was not sent. Press Play for a new run")
            self._sequence += 1
            sequence = self._sequence
            heapq.heappush(self._pending, (int(at_ns), sequence, command))
            self.next_at_ns = self._pending[0][0]
        if self._wake is not None and at_ns == 0:
            self._wake()
        return sequence

    def submit(self, symbol: str, quantity: float, order_type: str = "market", limit_price: float | None = None,
               stop_price: float | None = None, trail_amount: float | None = None,
               trail_percent: float | None = None, tif: str = "day", stop_loss: float | None = None,
               take_profit: float | None = None, tag: str | None = None) -> int:
        """Queue an order (the arguments of `ctx.submit_order`); its sequence number."""
        from workstation.execution.manual import SubmitOrder

        return self.put(SubmitOrder(symbol, quantity, order_type, limit_price, stop_price, trail_amount, trail_percent,
                                    tif, stop_loss, take_profit, tag))

    def cancel(self, order_id: int) -> int:
        from workstation.execution.manual import CancelOrder

        return self.put(CancelOrder(order_id))

    def modify(self, order_id: int, quantity: float | None = None, limit_price: float | None = None,
               stop_price: float | None = None, trail_amount: float | None = None,
               trail_percent: float | None = None) -> int:
        from workstation.execution.manual import ModifyOrder

        return self.put(ModifyOrder(order_id, quantity, limit_price, stop_price, trail_amount, trail_percent))

    def flatten(self, symbol: str) -> int:
        from workstation.execution.manual import FlattenPosition

        return self.put(FlattenPosition(symbol))

    def schedule(self, entries: Iterable[tuple[int, ManualCommand]]) -> int:
        """Queue recorded commands at their times (`load_manual_orders`), in the given order; the count."""
        n = 0
        for at_ns, command in entries:
            self.put(command, max(1, int(at_ns)))
            n += 1
        return n

    def take_due(self, now_ns: int) -> list[tuple[int, ManualCommand]]:
        """(sequence, command) of every command due at clock `now_ns`, in (at_ns, sequence) order."""
        return [(sequence, command) for _at, sequence, command in self.take_due_timed(now_ns)]

    def take_due_timed(self, now_ns: int, scheduled_only: bool = False) -> list[tuple[int, int, ManualCommand]]:
        """(at_ns, sequence, command) of every command due at clock `now_ns`, in that order;
        `scheduled_only`: of the commands queued for a time (`schedule`), the others (at_ns 0, a trader's
        next opportunity) left waiting."""
        due: list[tuple[int, int, ManualCommand]] = []
        waiting: list[tuple[int, int, ManualCommand]] = []
        with self._lock:
            pending = self._pending
            while pending and pending[0][0] <= now_ns:
                entry = heapq.heappop(pending)
                (waiting if scheduled_only and entry[0] == 0 else due).append(entry)
            for entry in waiting:
                heapq.heappush(pending, entry)
            self.next_at_ns = pending[0][0] if pending else _NEVER
        return due

    def requeue(self, entries: Iterable[tuple[int, int, ManualCommand]]) -> None:
        """Put taken (at_ns, sequence, command) back, keeping their sequence numbers (a step back to
        before the time of a scheduled command: it is applied again when the clock gets there)."""
        with self._lock:
            if self._closed:
                return
            for entry in entries:
                heapq.heappush(self._pending, entry)
            self.next_at_ns = self._pending[0][0] if self._pending else _NEVER

    def close(self) -> list[tuple[int, ManualCommand]]:
        """The run ended: no more commands; the ones never applied (sequence, command)."""
        with self._lock:
            self._closed = True
            left = [(sequence, command) for _at, sequence, command in sorted(self._pending)]
            self._pending = []
            self.next_at_ns = _NEVER
        return left
