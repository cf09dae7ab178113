"""Stage: what the processor, quality manager and analysis engine share as pipeline threads.

Each stage owns an inbox (events in order), runs in its own thread, times every event
(`<stat_name>` in PerformanceMetrics, run and session), isolates its own failures (kept in `error`
for the coordinator, never a dead thread), and tells the producer it is done through `ready`
(a StreamSubscription). Bar-time events of the hot path are submitted with `submit_bars` and are
acknowledged on the coordinator's `cycle` by the last stage instead.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod

from workstation.pipeline.subscription import StreamSubscription, default_thread

log = logging.getLogger(__name__)


class Stage(ABC):
    """Base of the pipeline stages; subclasses implement `handle(kind, event)`."""

    thread_name = "Stage"
    stat_name = "stage.event"

    def __init__(self, metrics, ready_name: str):
        self.metrics = metrics
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.ready = StreamSubscription(ready_name)
        self.cycle: StreamSubscription | None = None     # bar-time completion, set by the coordinator
        self.error: BaseException | None = None
        self.busy = False
        self.inline = False            # single-threaded run: the coordinator calls process() itself
        self.last_duration_s = 0.0
        self._stat = metrics.stat(self.stat_name)
        self._session_stat = metrics.session_stat(self.stat_name)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ thread
    def start(self, thread_factory=None) -> None:
        """Run the stage in its own thread (`thread_factory(target, name)`, default threading)."""
        self._thread = (thread_factory or default_thread)(self.run, self.thread_name)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, event: tuple) -> None:
        """An event the caller then waits for with `ready`."""
        self.ready.start_cycle()
        self.inbox.put(event)

    def submit_bars(self, event: tuple) -> None:
        """A bar time's event, acknowledged on `cycle` (not `ready`)."""
        self.inbox.put(event)

    def run(self) -> None:
        inbox = self.inbox
        while True:
            event = inbox.get()
            kind = event[0]
            if kind == "stop":
                self.on_stop()
                self.ready.signal_ready()
                return
            self.done(kind, self.process(event))

    def process(self, event: tuple) -> bool:
        """Handle one event, timed and with failures kept in `error`; True if it failed. Runs in the
        stage's thread, or in the coordinator's when the run is single-threaded (`inline`)."""
        kind = event[0]
        t0 = time.perf_counter_ns()
        self.busy = True
        failed = False
        try:
            self.handle(kind, event)
        except BaseException as exc:  # noqa: BLE001 - kept for the coordinator, the thread lives on
            log.exception("%s failed on %s event", self.thread_name, kind)
            self.error = exc
            failed = True
        self.busy = False
        dt_s = (time.perf_counter_ns() - t0) / 1e9
        self.last_duration_s = dt_s
        self._stat.add(dt_s)
        self._session_stat.add(dt_s)
        return failed

    def call(self, event: tuple) -> None:
        """Run an event to completion: hand it to the stage's thread and wait, or process it here
        when the run is single-threaded."""
        if self.inline:
            self.process(event)
        else:
            self.submit(event)
            self.ready.wait_until_ready(None)

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def handle(self, kind: str, event: tuple) -> None:
        """Process one event (runs in the stage's thread)."""

    def done(self, kind: str, failed: bool) -> None:
        """Acknowledge an event (default: every event on `ready`)."""
        self.ready.signal_ready()

    def on_stop(self) -> None:  # noqa: B027 - optional hook, empty by default
        """The run ends (before `ready` is signalled)."""
