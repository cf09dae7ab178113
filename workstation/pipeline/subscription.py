"""StreamSubscription: the one-shot, reusable "ready" handshake between a producer and a consumer.

The consumer calls `signal_ready()` when it has finished the last piece of work; the producer calls
`wait_until_ready(timeout)` before handing over the next. Data-driven runs wait without limit
(nothing is skipped); clock-driven and live runs wait at most until the next data is due and then
count an OVERRUN and go on (the next piece is queued, never lost). Implemented with a bare lock
used as a binary semaphore: a handoff costs a few microseconds.
"""

from __future__ import annotations

import threading
import time


class StreamSubscription:
    """Ready handshake with overrun accounting. Thread safe; one producer, one consumer."""

    def __init__(self, name: str):
        self.name = name
        self._ready = threading.Lock()
        self._ready.acquire()          # not ready until the consumer says so
        self._pending = False          # the producer handed over work not yet acknowledged
        self.overruns = 0
        self.waits = 0
        self.wait_ns_total = 0
        self.wait_ns_max = 0

    def start_cycle(self) -> None:
        """Producer: mark that work was handed over and a ready signal is now owed."""
        self._pending = True

    def signal_ready(self) -> None:
        """Consumer: the work handed over is done; the producer may go on."""
        try:
            self._ready.release()
        except RuntimeError:       # already ready (signalled twice); harmless
            pass

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Producer: wait for the consumer. Returns False and counts an overrun on timeout."""
        if not self._pending:
            return True
        t0 = time.perf_counter_ns()
        ok = self._ready.acquire() if timeout is None else self._ready.acquire(timeout=max(0.0, timeout))
        dt = time.perf_counter_ns() - t0
        self.waits += 1
        self.wait_ns_total += dt
        if dt > self.wait_ns_max:
            self.wait_ns_max = dt
        if ok:
            self._pending = False
            return True
        self.overruns += 1
        return False

    def is_ready(self) -> bool:
        """Non-blocking check that consumes the ready signal if present."""
        return self.wait_until_ready(0.0)

    def reset(self) -> None:
        """Forget any owed or pending signal (between runs)."""
        self._pending = False
        self._ready.acquire(blocking=False)

    def stats(self) -> dict:
        return {
            "overruns": self.overruns,
            "waits": self.waits,
            "wait_ms_mean": (self.wait_ns_total / self.waits / 1e6) if self.waits else 0.0,
            "wait_ms_max": self.wait_ns_max / 1e6,
        }


def default_thread(target, name: str) -> threading.Thread:
    """A daemon thread running `target`; the GUI passes a QThread-based factory instead."""
    return threading.Thread(target=target, name=name, daemon=True)
