"""RunControl: pause, resume, single step, stop and speed, shared by the SystemManager (any thread)
and the coordinator (which applies them between two bar times).

A step is never paced: at any speed it delivers the next bar time at once and stays paused. Every
pause, resume, step and speed change bumps `pace_version`, so the coordinator's pacing restarts from
the moment the replay moves again (no burst of "owed" bar times after a pause).
"""

from __future__ import annotations

import enum
import threading


class Gate(enum.Enum):
    """What the coordinator may do with the next bar time; false only for STOP."""

    STOP = 0
    RUN = 1  # deliver it at the replay's pace
    STEP = 2  # deliver it now (a single step): paused before and after

    def __bool__(self) -> bool:
        return self is not Gate.STOP


class RunControl:
    """Thread-safe run state; the coordinator calls `gate()` before each bar time."""

    def __init__(self, speed_multiplier: float = 0.0):
        self._cond = threading.Condition()
        self.paused = False
        self.stopping = False
        self._steps = 0
        self.speed = float(speed_multiplier)
        self.pace_version = 0  # bumped on every speed change, pause, resume and step

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

    def gate(self) -> Gate:
        """Block while paused (unless a step is owed). STOP when the run must stop, STEP when a
        step lets the next bar time through, RUN otherwise."""
        if not self.paused:
            return Gate.STOP if self.stopping else Gate.RUN
        with self._cond:
            while self.paused and self._steps == 0 and not self.stopping:
                self._cond.wait()
            if self.stopping:
                return Gate.STOP
            if self.paused and self._steps > 0:
                self._steps -= 1
                return Gate.STEP
            return Gate.RUN

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on stop/pause/resume/step/speed change. False when stopping."""
        if seconds <= 0:
            return not self.stopping
        with self._cond:
            version = self.pace_version
            self._cond.wait_for(lambda: self.stopping or self.pace_version != version, timeout=seconds)
            return not self.stopping
