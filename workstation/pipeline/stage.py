"""Stage: what the processor, quality manager and analysis engine share as pipeline stages.

A stage is given typed events (workstation.pipeline.stage_events) and dispatches them by type to
its handlers (`handlers()`); it reads SessionData and the events it is given and knows no other
stage. Where its output goes is the Pipeline's business: the Pipeline connects an `Output` to it,
and the stage hands events on with `pass_on` (the receiver finishes the work: the bar time's or
the call's acknowledgement travels with the event) or `pass_and_wait` (the receiver's work must be
done before this stage goes on, e.g. the indicators move on after it).

Threads: in a threaded run each stage has its own thread (`start`), reading `(event, ack)` pairs
from its inbox in order; `ack` (a StreamSubscription or None) is signalled once the event is done,
by this stage or, when it handed the event on, by the stage that finished it. In a single-thread
run the Pipeline calls `process` itself in its caller's thread. Either way every event is timed
(`<stat_name>` in PerformanceMetrics, run and session) and a failure is kept in `error` (read by
the Pipeline, which fails the run) instead of ending the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from workstation.pipeline.stage_events import Stop
from workstation.pipeline.subscription import StreamSubscription, default_thread

log = logging.getLogger(__name__)

Handler = Callable[[Any], object]


class Output(Protocol):
    """Where a stage hands its events on (made by the Pipeline: the next stage, in its thread or
    called in this one)."""

    def pass_on(self, event: object, ack: StreamSubscription | None) -> None:
        """Hand over `event`; the receiver signals `ack` (if any) once it is done."""

    def call(self, event: object) -> None:
        """Hand over `event` and return once the receiver is done with it."""


class Stage(ABC):
    """Base of the pipeline stages; subclasses map event types to handlers in `handlers()`."""

    thread_name = "Stage"
    stat_name = "stage.event"

    def __init__(self, metrics):
        self.metrics = metrics
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()   # (event, ack) pairs, threaded runs
        self.error: BaseException | None = None
        self.busy = False
        self.last_duration_s = 0.0
        self.output: Output | None = None    # set by the Pipeline; None: events end here
        self._ack: StreamSubscription | None = None   # what the event in hand owes (its thread only)
        self._handlers: dict[type, Handler] = self.handlers()
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

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, event: object, ack: StreamSubscription | None = None) -> None:
        """Queue an event for the stage's thread; `ack` is signalled when it is done."""
        self.inbox.put((event, ack))

    def run(self) -> None:
        """The stage's thread: events in order until Stop."""
        inbox = self.inbox
        while True:
            event, ack = inbox.get()
            if type(event) is Stop:
                self.on_stop()
                if ack is not None:
                    ack.signal_ready()
                return
            self._ack = ack
            self.process(event)
            ack = self._ack
            if ack is not None:             # not handed on (or failed before): done here
                self._ack = None
                ack.signal_ready()

    def process(self, event: object) -> bool:
        """Handle one event, timed and with a failure kept in `error`; True if it failed. Runs in the
        stage's thread, or in the caller's when the run is single-threaded."""
        t0 = time.perf_counter_ns()
        self.busy = True
        failed = False
        try:
            handler = self._handlers.get(type(event))
            if handler is None:
                raise TypeError(f"{self.thread_name} does not handle {type(event).__name__} events")
            handler(event)
        except BaseException as exc:  # noqa: BLE001 - kept for the pipeline, the thread lives on
            log.exception("%s failed on %s event", self.thread_name, type(event).__name__)
            self.error = exc
            failed = True
        self.busy = False
        dt_s = (time.perf_counter_ns() - t0) / 1e9
        self.last_duration_s = dt_s
        self._stat.add(dt_s)
        self._session_stat.add(dt_s)
        return failed

    # ------------------------------------------------------------------ output
    def pass_on(self, event: object) -> None:
        """Hand `event` to the next stage as the last step of the event in hand: the next stage
        finishes it (and acknowledges it). Nothing connected: the event ends here."""
        output = self.output
        if output is not None:
            ack, self._ack = self._ack, None
            output.pass_on(event, ack)

    def pass_and_wait(self, event: object) -> None:
        """Hand `event` to the next stage and wait until it is done (this stage goes on after)."""
        output = self.output
        if output is not None:
            output.call(event)

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def handlers(self) -> dict[type, Handler]:
        """Event type -> handler (runs in the stage's thread)."""

    def on_stop(self) -> None:  # noqa: B027 - optional hook, empty by default
        """The run ends (before the Stop event is acknowledged)."""
