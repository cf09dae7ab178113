"""How long ago this process started, for the "process start to first bar" figure of a run.

`process_age_s()` = wall seconds since the operating system created this process (not since Python
or `workstation` was imported, so interpreter start-up and every import count):

- Linux: field 22 of /proc/self/stat (the start time in clock ticks since boot, CLOCK_BOOTTIME
  based) against `clock_gettime(CLOCK_BOOTTIME)` now. The kernel truncates the start to a tick
  (10 ms at the usual USER_HZ = 100), so half a tick is added: the figure is right to +-5 ms.
- Elsewhere (or when /proc cannot be read): psutil's create_time against `time.time()`.
- None when neither answers.

`record_first_bar(metrics)` records `startup.first_bar_s` (that age) and `startup.first_bar_cpu_s`
(the process's CPU seconds so far, every thread: steadier than the wall figure on a busy machine)
into a run's PerformanceMetrics. `workstation run` hands it to the coordinator
(`SessionCoordinator.on_first_bar`), which calls it once, when the run's first bar time is about to
be delivered; runs inside a longer-lived process (the window, notebooks) do not record it, as the
process's age says nothing about their start-up there. Any thread may call these functions.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Protocol

from workstation.metrics import FIRST_BAR as FIRST_BAR_METRIC
from workstation.metrics import FIRST_BAR_CPU as FIRST_BAR_CPU_METRIC


class _Recorder(Protocol):
    def record(self, name: str, seconds: float) -> None: ...


def proc_stat_fields(stat_path: str) -> list[str] | None:
    """The fields of a /proc/<pid>/stat file after the process name: [0] is field 3 (the state, "Z" for
    a zombie), [19] field 22 (the start time); None when it cannot be read (no such process, not Linux)."""
    try:
        with open(stat_path, "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces or parentheses, so split at the last ')'
    return text[text.rfind(")") + 2:].split()


def _age_from_proc(stat_path: str = "/proc/self/stat") -> float | None:
    """Process age from the kernel's start time in clock ticks since boot (Linux)."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return None
    fields = proc_stat_fields(stat_path)
    if fields is None:
        return None
    try:
        ticks_per_s = os.sysconf("SC_CLK_TCK")
        now_s = time.clock_gettime(boottime)
    except (OSError, ValueError):
        return None
    try:
        start_ticks = int(fields[19])          # field 22 (starttime); fields[0] is field 3 (state)
    except (IndexError, ValueError):
        return None
    if ticks_per_s <= 0:
        return None
    age = now_s - (start_ticks + 0.5) / ticks_per_s
    return max(age, 0.0)


def _age_from_psutil() -> float | None:
    """Process age from psutil's create_time (other systems; coarser on some)."""
    try:
        import psutil

        return max(time.time() - psutil.Process().create_time(), 0.0)
    except Exception:  # noqa: BLE001 - no psutil, or it cannot read this process: no figure
        return None


def process_age_s() -> float | None:
    """Wall seconds since this process started (None when the system does not tell)."""
    age = _age_from_proc()
    return age if age is not None else _age_from_psutil()


def record_first_bar(metrics: _Recorder) -> None:
    """Record how long after process start the first bar time came (`startup.first_bar_s`) and
    the CPU seconds the process had used by then (`startup.first_bar_cpu_s`)."""
    age = process_age_s()
    if age is not None:
        metrics.record(FIRST_BAR_METRIC, age)
    metrics.record(FIRST_BAR_CPU_METRIC, time.process_time())


class StartupCollection:
    """Pause the cyclic garbage collector during a process's start-up (see the module doc); `resume`
    from any thread, as often as wanted: the collector is re-enabled once, if this paused it, with a
    first-generation threshold of at least RUN_GEN0_THRESHOLD for the run; `end` puts the threshold
    back (a caller's process that ran the command in-process goes on as before).

    The run allocates many short-lived tracked objects (events, records, small tuples), nearly all
    freed by reference counting: with Python's default threshold (700) a 10-symbol, 5-session
    `workstation run` made ~33 first-generation collections, ~5 ms of a 0.4 s process; at 20,000, ~10
    and ~1.5 ms. Garbage in reference cycles waits a little longer to be collected; nothing else
    changes."""

    RUN_GEN0_THRESHOLD = 20_000

    def __init__(self) -> None:
        self._paused = False
        self._threshold: tuple[int, ...] | None = None

    def pause(self) -> None:
        if gc.isenabled():
            gc.disable()
            self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._threshold = gc.get_threshold()
            gc.set_threshold(max(self._threshold[0], self.RUN_GEN0_THRESHOLD), *self._threshold[1:])
            gc.enable()

    def end(self) -> None:
        """The command is over: the collector enabled as before the pause, at its own threshold."""
        self.resume()
        if self._threshold is not None:
            gc.set_threshold(*self._threshold)
            self._threshold = None
