"""GapFiller: fills live gaps from the provider's history, with retries, never blocking the pipeline.

The quality manager reports each gap (a run of missing bar times of one symbol). The filler asks
the provider's history for that range in its own thread; the bars it gets are handed to the live
coordinator, which inserts them in time order and has derived bars, indicators and quality
recomputed. A failed request is retried every `retry_interval_seconds` (wall time) up to
`max_retries` times after the first attempt; then the gap is marked failed and stays listed.
Every attempt is logged (the run folder's gap-fill log).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from workstation.errors import ProviderError
from workstation.pipeline.quality import Gap

log = logging.getLogger(__name__)


class GapFiller:
    """One background thread; `submit(gap)` from any thread."""

    def __init__(self, provider, deliver: Callable[[Gap, list], None], interval: str, step_ns: int,
                 max_retries: int, retry_interval_s: float, events=None, first_delay_s: float = 0.0,
                 present: Callable[[Gap], int] | None = None, on_failed: Callable[[Gap], None] | None = None):
        self.provider = provider
        self.deliver = deliver
        self.interval = interval
        self.step_ns = step_ns
        self.max_retries = max_retries
        self.retry_interval_s = retry_interval_s
        self.events = events
        self.first_delay_s = first_delay_s      # give a merely late bar time to arrive before asking
        self.present = present                  # bars of the gap already present (late arrivals)
        self.on_failed = on_failed
        self.log: list[dict] = []
        self.gaps: list[Gap] = []
        self._heap: list[tuple[float, int, Gap]] = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stop = False
        self._busy = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="GapFiller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, gap: Gap) -> None:
        gap.status = "pending"
        with self._cond:
            self.gaps.append(gap)
            self._push(time.monotonic() + self.first_delay_s, gap)

    def _push(self, due: float, gap: Gap) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, gap))
        self._cond.notify_all()

    def pending(self) -> int:
        """Gaps waiting for a first attempt or a retry, plus the one being requested."""
        with self._cond:
            return len(self._heap) + self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no gap is pending or being retried (bounded); True if idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._heap or self._busy) and not self._stop:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stop:
                    return
                _, _, gap = heapq.heappop(self._heap)
                self._busy += 1
            try:
                self._attempt(gap)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _attempt(self, gap: Gap) -> None:
        if self.present is not None and self.present(gap) >= gap.missing:
            gap.status = "filled"
            gap.filled = gap.missing
            entry = {"wall_time": time.time(), "symbol": gap.symbol, "interval": gap.interval,
                     "start_ns": gap.start_ns, "end_ns": gap.end_ns, "missing": gap.missing,
                     "attempt": gap.retries, "outcome": "arrived late (no request needed)"}
            gap.history.append(entry)
            self.log.append(entry)
            self._emit(gap)
            return
        attempt = gap.retries + 1
        t0 = time.perf_counter()
        entry = {"wall_time": time.time(), "symbol": gap.symbol, "interval": gap.interval,
                 "start_ns": gap.start_ns, "end_ns": gap.end_ns, "missing": gap.missing, "attempt": attempt}
        try:
            bars = self.provider.request_history(gap.symbol, self.interval, gap.start_ns, gap.end_ns + self.step_ns)
        except (ProviderError, OSError, ValueError) as exc:
            entry.update(outcome="error", detail=str(exc), request_ms=(time.perf_counter() - t0) * 1e3)
            gap.history.append(entry)
            self.log.append(entry)
            if gap.retries >= self.max_retries:
                gap.status = "failed"
                log.warning("gap %s %s..%s failed after %d attempts: %s", gap.symbol, gap.start_ns, gap.end_ns,
                            attempt, exc)
                if self.on_failed is not None:
                    self.on_failed(gap)
                self._emit(gap)
                return
            gap.retries += 1
            gap.status = "pending"
            with self._cond:
                self._push(time.monotonic() + self.retry_interval_s, gap)
            self._emit(gap)
            return
        t1 = time.perf_counter()
        entry.update(request_ms=(t1 - t0) * 1e3, bars=len(bars))
        if bars:
            entry.update(outcome="filled", deliver_ms=(time.perf_counter() - t1) * 1e3)
            gap.history.append(entry)
            self.log.append(entry)
            self.deliver(gap, bars)   # the coordinator inserts them, sets the status and emits the event
            return
        gap.status = "unavailable"
        entry.update(outcome="no data at the source")
        gap.history.append(entry)
        self.log.append(entry)
        self._emit(gap)

    def _emit(self, gap: Gap) -> None:
        if self.events is not None and self.events.wants("gap"):
            self.events.emit("gap", gap)
