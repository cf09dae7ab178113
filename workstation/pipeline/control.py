"""RunControl: pause, resume, single step, stop and speed, shared by the SystemManager (any thread)
and the coordinator (which applies them between two bar times)."""

from __future__ import annotations

import threading


class RunControl:
    """Thread-safe run state; the coordinator calls `gate()` before each bar time."""

    def __init__(self, speed_multiplier: float = 0.0):
        self._cond = threading.Condition()
        self.paused = False
        self.stopping = False
        self._steps = 0
        self.speed = float(speed_multiplier)
        self.speed_version = 0      # bumped on every speed change: the coordinator re-anchors pacing

    def pause(self) -> None:
        with self._cond:
            self.paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self.paused = False
            self._steps = 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Let exactly `n` more bar times through, then stay paused."""
        with self._cond:
            self.paused = True
            self._steps += n
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
            self.speed_version += 1
            self._cond.notify_all()

    def gate(self) -> bool:
        """Block while paused (unless a step is owed). Returns False when the run must stop."""
        if not self.paused:
            return not self.stopping
        with self._cond:
            while self.paused and self._steps == 0 and not self.stopping:
                self._cond.wait()
            if self.stopping:
                return False
            if self.paused and self._steps > 0:
                self._steps -= 1
            return True

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on stop/pause/speed change. False when stopping."""
        if seconds <= 0:
            return not self.stopping
        with self._cond:
            version = self.speed_version
            paused = self.paused
            self._cond.wait_for(
                lambda: self.stopping or self.speed_version != version or self.paused != paused,
                timeout=seconds,
            )
            return not self.stopping
