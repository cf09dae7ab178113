"""EventBus: engine events out to observers (UI bridge, run-folder writer, tests).

Observers are called synchronously in the emitting engine thread, so they must be quick (queue the
payload and return). `wants(kind)` lets the hot path skip building payloads nobody reads.
Event kinds: bars, derived, quality, gap, signal, decision, decisions, fill, fills, order, orders, account, round,
manual (the answer to a hand order), error, session_start, session_end, metrics, state, backtest_end, seek.
"order" carries one OrderEvent per order change; "orders" the same changes as one list of light
`OrderChange` records per delivery (after the fills of a bar time, after each strategy call): the
cheap form for observers that see every order (the UI bridge). Likewise "fill" carries one Fill of a
bar time's fills, "fills" the list of them (one event per bar time with fills); receivers must not
change the lists. "decision" carries one Decision per signal or order decided, "decisions" the same
decisions as one `DecisionBatch` per round (a strategy call's SignalBatch with its verdicts, without a
Decision object per row; the run folder's signal log reads it).
"round" carries one `TradingRound` per round of the analysis stage (a bar time, the hand commands between
two bar times, a session end that expired orders): its fills, its order changes (`OrderChange` records, in
engine order) and the account at its end, in one event: the cheapest form for an observer that takes all
three (the UI bridge); with only "round" observed, the engine takes the order changes once per round.
"bars" (the streamed bars of one bar time, after the stages are done with it) and "derived" (derived
bars completed) carry a `Bars`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

log = logging.getLogger(__name__)

Observer = Callable[[str, Any], None]


class Bars(NamedTuple):
    """Payload of "bars" and "derived": bars of `interval` starting at `start_ns` (int ns UTC) were
    written to SessionData for these symbol indices (int64, shared: read only)."""

    start_ns: int
    interval: str
    symbol_indices: np.ndarray


class EventBus:
    """Subscribe with a kind (or "*" for all); callbacks get (kind, payload)."""

    def __init__(self):
        self._subs: dict[str, tuple[Observer, ...]] = {}
        self._lock = threading.Lock()
        self.observer_errors = 0

    def subscribe(self, kind: str, callback: Observer) -> None:
        with self._lock:
            self._subs[kind] = (*self._subs.get(kind, ()), callback)

    def unsubscribe(self, kind: str, callback: Observer) -> None:
        with self._lock:
            rest = tuple(cb for cb in self._subs.get(kind, ()) if cb is not callback)
            if rest:
                self._subs[kind] = rest
            else:
                self._subs.pop(kind, None)

    def wants(self, kind: str) -> bool:
        subs = self._subs
        return kind in subs or "*" in subs

    def emit(self, kind: str, payload: Any = None) -> None:
        subs = self._subs
        for cb in subs.get(kind, ()) + subs.get("*", ()):
            try:
                cb(kind, payload)
            except Exception:  # noqa: BLE001 - an observer never breaks the engine
                self.observer_errors += 1
                log.exception("observer %r failed on %s event", cb, kind)
