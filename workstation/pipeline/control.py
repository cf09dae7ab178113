"""RunControl: pause, resume, single step, stop and speed, shared by the SystemManager (any thread)
and the coordinator (which applies them between two bar times).

A step is never paced: at any speed it delivers the next bar time at once and stays paused. Every
pause, resume, step and speed change bumps `pace_version`, so the coordinator's pacing restarts from
the moment the replay moves again (no burst of "owed" bar times after a pause).

`seek(time)` and `step_back(n)` ask the coordinator to go to another bar time (pipeline/snapshots.py):
`gate()` answers SEEK, also while paused, and the coordinator takes the request with `take_seek()`.

`wake()` asks the coordinator to do work between two bar times without delivering one (hand orders
waiting in the SystemManager's inbox): a `gate(service)` or `sleep(..., service)` in progress runs
`service()` in the coordinator's thread at once, also while paused or while pacing waits, then goes on
waiting as before.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

PAUSES_KEPT = 1024           # the newest pauses RunControl remembers (for live latencies)
PAUSE_JOIN_NS = 1_000_000    # a wait that starts within 1 ms of the last one's end continues that pause


class Gate(enum.Enum):
    """What the coordinator may do with the next bar time; false only for STOP."""

    STOP = 0
    RUN = 1  # deliver it at the replay's pace
    STEP = 2  # deliver it now (a single step): paused before and after
    SEEK = 3  # go to another bar time first (`RunControl.take_seek`)

    def __bool__(self) -> bool:
        return self is not Gate.STOP


class SeekRequest(NamedTuple):
    """Where to go: a bar time (`target_ns`, a bar start, int ns UTC) or `bars_back` bar times back."""

    target_ns: int | None = None
    bars_back: int = 0


class RunControl:
    """Thread-safe run state; the coordinator calls `gate()` before each bar time."""

    def __init__(self, speed_multiplier: float = 0.0):
        self._cond = threading.Condition()
        self.paused = False
        self.stopping = False
        self._steps = 0
        self.speed = float(speed_multiplier)
        self.pace_version = 0  # bumped on every speed change, pause, resume and step
        self._wake = False  # work waits for the coordinator between two bar times (see `wake`)
        self._seek: SeekRequest | None = None
        # seconds the coordinator stood paused (the user's pause, between single steps): a replay's
        # rate leaves them out (10,607 bars in 422 s of which 418 s paused is not 25 bars/s), and the
        # newest pauses themselves (perf_counter_ns from, to), for a live bar's latency (`paused_between`)
        self.paused_s = 0.0
        self._pauses: deque[tuple[int, int]] = deque(maxlen=PAUSES_KEPT)
        self._paused_from_ns: int | None = None

    def pause(self) -> None:
        with self._cond:
            self.paused = True
            self.pace_version += 1
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self.paused = False
            self._steps = 0
            self.pace_version += 1
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Let exactly `n` more bar times through, at once whatever the speed, then stay paused."""
        with self._cond:
            self.paused = True
            self._steps += n
            self.pace_version += 1
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopping = True
            self._cond.notify_all()

    def seek(self, target_ns: int) -> None:
        """Go to bar time `target_ns` (int ns UTC, a bar START: every bar time starting at or before it
        is delivered), back or forward, then stay paused. Replaces a seek not taken yet."""
        with self._cond:
            self._seek = SeekRequest(target_ns=int(target_ns))
            self.paused = True
            self._steps = 0
            self.pace_version += 1
            self._cond.notify_all()

    def step_back(self, n: int = 1) -> None:
        """Go back `n` bar times (added to a step back not taken yet), then stay paused."""
        if n < 1:
            raise ValueError(f"step back needs n >= 1, got {n}")
        with self._cond:
            pending = self._seek
            if pending is not None and pending.target_ns is None:
                self._seek = SeekRequest(bars_back=pending.bars_back + n)
            else:
                self._seek = SeekRequest(bars_back=n)
            self.paused = True
            self._steps = 0
            self.pace_version += 1
            self._cond.notify_all()

    @property
    def seek_pending(self) -> bool:
        return self._seek is not None

    def take_seek(self) -> SeekRequest | None:
        """The seek asked for (None when none); the coordinator's thread."""
        with self._cond:
            request, self._seek = self._seek, None
            return request

    def wake(self) -> None:
        """Work waits (hand orders): the coordinator runs its service function at once, between two bar
        times, whether it is paused, pacing or about to deliver the next bar time. Any thread."""
        with self._cond:
            self._wake = True
            self._cond.notify_all()

    @property
    def wake_pending(self) -> bool:
        return self._wake

    def _serve(self, service: Callable[[], None] | None) -> bool:
        """Run `service` (lock released) when a wake is pending; True when it ran. Caller holds the lock."""
        if not self._wake:
            return False
        self._wake = False
        if service is None:
            return False
        self._cond.release()
        try:
            service()
        finally:
            self._cond.acquire()
        return True

    def _wait_while_paused(self, service: Callable[[], None] | None) -> None:
        """Wait while paused with no step owed, no seek and no stop, serving each wake as it comes; then
        serve the wakes still pending unless the run stops (the inbox answers what is left when it
        closes). Caller holds the lock (`gate`, `hold`).

        The last part: when a command and a step (or a resume) arrive together, the loop ends on the step
        without serving, and the command would miss the bar time the step lets through."""
        while self.paused and self._steps == 0 and not self.stopping and self._seek is None:
            if not self._serve(service):
                t0 = self._paused_from_ns = time.perf_counter_ns()
                self._cond.wait()
                t1 = time.perf_counter_ns()
                self._paused_from_ns = None
                self.paused_s += (t1 - t0) / 1e9
                pauses = self._pauses
                if pauses and t0 - pauses[-1][1] < PAUSE_JOIN_NS:      # woken and waiting again: one pause
                    pauses[-1] = (pauses[-1][0], t1)
                else:
                    pauses.append((t0, t1))
        while not self.stopping and self._serve(service):
            pass

    def paused_between(self, start_ns: int, end_ns: int) -> int:
        """Nanoseconds of [start_ns, end_ns] (perf_counter_ns) the coordinator stood paused, the pause in
        progress included: a live bar received before or during a pause of the user's and handled after
        it did not wait for the engine that long. Coordinator thread (it records the pauses); counts the
        newest PAUSES_KEPT pauses."""
        total = 0
        for begin, end in reversed(self._pauses):
            if end <= start_ns:
                break
            total += max(0, min(end, end_ns) - max(begin, start_ns))
        ongoing = self._paused_from_ns
        if ongoing is not None and ongoing < end_ns:
            total += end_ns - max(ongoing, start_ns)
        return total

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        with self._cond:
            self.speed = float(speed)
            self.pace_version += 1
            self._cond.notify_all()

    @property
    def steps_owed(self) -> int:
        """Steps asked for and not delivered yet."""
        return self._steps

    def gate(self, service: Callable[[], None] | None = None) -> Gate:
        """Block while paused (unless a step is owed). STOP when the run must stop, STEP when a
        step lets the next bar time through, RUN otherwise. A `wake()` before or while it waits runs
        `service()` (in the calling thread) and goes on waiting."""
        if not self.paused and not self._wake and self._seek is None:
            return Gate.STOP if self.stopping else Gate.RUN
        with self._cond:
            self._wait_while_paused(service)
            if self.stopping:
                return Gate.STOP
            if self._seek is not None:
                return Gate.SEEK
            if self.paused and self._steps > 0:
                self._steps -= 1
                return Gate.STEP
            return Gate.RUN

    def hold(self, service: Callable[[], None] | None = None) -> bool:
        """Block while paused with no step owed, like `gate` but never using up a step (the coordinator
        calls it between two sessions, so a pause there stops before the next session is loaded and
        the clock moves to its open). False when the run must stop."""
        if not self.paused and not self._wake:
            return not self.stopping
        with self._cond:
            self._wait_while_paused(service)       # a seek goes on: the next session's gate takes it
            return not self.stopping

    def sleep(self, seconds: float, service: Callable[[], None] | None = None) -> bool:
        """Sleep up to `seconds`, waking early on stop/pause/resume/step/speed change and on `wake()`
        (which runs `service()` first). False when stopping."""
        if seconds <= 0:
            return not self.stopping
        with self._cond:
            version = self.pace_version
            self._cond.wait_for(lambda: self.stopping or self.pace_version != version or self._wake
                                or self._seek is not None, timeout=seconds)
            self._serve(service)
            return not self.stopping


class HostGate:
    """A host's request that the engine stand aside between two bar times while the host works.

    The window's UI thread closes it for a frame at MAX and opens it when the frame is drawn; the
    coordinator, after each bar time, waits while it is closed. Without it an engine thread that always
    wants the interpreter lock makes every lock hand-back of the UI thread (PySide gives the lock up
    around each Qt call) wait out the switch interval, and a frame of a few ms of work took 100 ms and
    more. A wait lasts at most `max_wait_s`, after which the gate opens itself (a host that never opens
    it costs the run one such wait, never the run itself). `closed` is read without a lock: a close
    that comes just after the check is seen at the next bar time.
    """

    def __init__(self, max_wait_s: float = 0.25):
        self.closed = False
        self.max_wait_s = max_wait_s
        self._opened = threading.Event()
        self._opened.set()
        self.waits = 0          # bar times the engine waited after
        self.waited_s = 0.0     # and how long in all

    def close(self) -> None:
        self._opened.clear()
        self.closed = True

    def open(self) -> None:
        self.closed = False
        self._opened.set()

    def wait(self) -> None:
        """The engine's side: wait until the host opens the gate (at most `max_wait_s`)."""
        t0 = time.perf_counter()
        if not self._opened.wait(self.max_wait_s):
            self.open()
        self.waits += 1
        self.waited_s += time.perf_counter() - t0
