"""ConfigLoader: loads a session config off the UI thread and hands the built run back to it.

Loading a config reads the JSON, opens the bar store, builds the calendar's sessions, checks every
symbol is in the store, imports the strategies and reads the chart history before the first session:
about a second for 100 symbols on a busy machine, which froze the window when done in the UI thread.
`load(path)` runs `prepare(path, progress)` (EngineBridge.prepare_run: no Qt call, no change to the
bridge) in a Python worker thread and returns at once; the worker's `progress(step)` texts and its
result arrive as Qt signals, which Qt delivers in the UI thread (queued: the loader lives there).

The worker runs at a lower CPU priority than the UI thread (like the engine threads), so on a busy
machine the window gets a core first. Only the newest load counts: a second `load` while one runs makes the first one's result be dropped
when it arrives (its worker cannot be interrupted, it just finishes). Threads: the worker only calls
`prepare` and emits signals; everything else is UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ui.bridge import DEFAULT_ENGINE_NICE, lower_thread_priority
from workstation.errors import WorkstationError

log = logging.getLogger(__name__)

DEFAULT_LOADER_NICE = DEFAULT_ENGINE_NICE


class ConfigLoader(QObject):
    """Runs config loads in worker threads; see the module docstring."""

    started = Signal(int, str)  # load id, config path
    progress = Signal(int, str)  # load id, the step being done (a sentence for the status bar)
    loaded = Signal(int, object)  # load id, what `prepare` returned (the newest load only)
    failed = Signal(int, str)  # load id, a message a trader understands (the newest load only)
    _done = Signal(int, object, str)  # worker -> UI thread: load id, result or None, error message

    def __init__(
        self,
        prepare: Callable[[Path, Callable[[str], None]], Any],
        nice: int = DEFAULT_LOADER_NICE,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._prepare = prepare
        self.nice = nice  # the worker runs this much "nicer" than the UI thread (Linux: per thread)
        self._next_id = 0
        self._current: int | None = None
        self._threads: dict[int, threading.Thread] = {}
        self._done.connect(self._on_done)

    @property
    def busy(self) -> bool:
        """True while the newest load has not delivered its result."""
        return self._current is not None

    @property
    def current_id(self) -> int | None:
        return self._current

    def load(self, path: str | Path) -> int:
        """Start loading `path` in a worker thread; returns the load's id (UI thread, returns at once)."""
        self._next_id += 1
        load_id = self._next_id
        self._current = load_id
        path = Path(path)
        thread = threading.Thread(
            target=self._work, args=(load_id, path), name=f"ConfigLoad-{load_id}", daemon=True
        )
        self._threads[load_id] = thread
        self.started.emit(load_id, str(path))
        thread.start()
        return load_id

    def cancel(self) -> None:
        """Forget the running load: its result is dropped when it arrives."""
        self._current = None

    def wait(self, timeout: float) -> bool:
        """Join the worker threads (window close, tests); True when none is left running."""
        for thread in list(self._threads.values()):
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads.values())

    def _work(self, load_id: int, path: Path) -> None:
        """Worker thread: run `prepare` and post its outcome to the UI thread."""

        if self.nice > 0:
            lower_thread_priority(self.nice)  # on a busy machine the UI thread gets the core first

        def progress(step: str) -> None:
            if load_id == self._current:
                self.progress.emit(load_id, step)

        try:
            result = self._prepare(path, progress)
        except WorkstationError as exc:
            self._done.emit(load_id, None, str(exc))
        except OSError as exc:
            self._done.emit(load_id, None, f"{path}: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the window waiting forever
            log.exception("loading %s failed", path)
            self._done.emit(load_id, None, f"{path}: unexpected error {type(exc).__name__}: {exc}")
        else:
            self._done.emit(load_id, result, "")

    def _on_done(self, load_id: int, result: Any, error: str) -> None:
        self._threads.pop(load_id, None)
        if load_id != self._current:
            return  # a newer load (or a cancel) superseded this one
        self._current = None
        if result is None:
            self.failed.emit(load_id, error)
        else:
            self.loaded.emit(load_id, result)
