"""The GUI thread's garbage collector: Python's cyclic collector run only in the GUI thread, on a timer,
and held back while a window's engine replays at MAX.

Automatic collection can start in any thread; when it runs in an engine thread and frees Qt wrappers
that belong to the GUI thread, Qt crashes (a segfault seen while a live run caught up). So automatic
collection is off and a QTimer of the GUI thread collects (the approach of pyqtgraph's GarbageCollector),
generation by generation as CPython's automatic collection does (`gui_thread_gc_step`): a full collection
of the application's heap takes ~100 ms and holds the interpreter lock, and running one every tick froze
the window twice a second at MAX speed.

At MAX a young collection scans what the engine made since the last one (its order records, fills,
trades, the rounds the views read: 25,000-46,000 objects a tick at 100 symbols, 9-33 ms each, holding the
interpreter lock, so the engine waits too: ~6 % of a 100 x 5 replay). Hardly any of it is garbage, and the
scan costs the same whenever it runs, so while a watched window says its engine replays at MAX the
collector waits until the replay ends or pauses, unless the young generation reaches BUSY_YOUNG_LIMIT
(then it collects as usual: memory and the length of one collection stay bounded).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

# young objects (gc.get_count()[0]) a replay at MAX may leave uncollected: a collection of this many
# takes ~50 ms
BUSY_YOUNG_LIMIT = 100_000


class Watched(Protocol):
    def engine_at_max(self) -> bool: ...


class GuiThreadCollector(QObject):
    """The collector's timer (`timer`, object name "gui_thread_gc") and the windows it watches."""

    def __init__(self, app: QApplication, interval_ms: int = 500):
        import gc

        super().__init__(app)
        self.setObjectName("gui_thread_collector")
        self.thresholds = gc.get_threshold()
        gc.disable()
        self._watched: list[weakref.ref[Watched]] = []
        self.timer = QTimer(self)
        self.timer.setObjectName("gui_thread_gc")
        self.timer.timeout.connect(self.step)
        self.timer.start(interval_ms)

    def watch(self, window: Watched) -> None:
        """Hold young collections back while `window.engine_at_max()` (weakly referenced)."""
        self._watched.append(weakref.ref(window))

    def busy(self) -> bool:
        """A watched window's engine replays at MAX (windows gone are forgotten)."""
        busy = False
        for ref in list(self._watched):
            window = ref()
            if window is None:
                self._watched.remove(ref)
            elif not busy and window.engine_at_max():
                busy = True
        return busy

    def step(self) -> int | None:
        return gui_thread_gc_step(self.thresholds, hold=self.busy())


def install_gui_thread_gc(app: QApplication, interval_ms: int = 500) -> QTimer:
    """The application's GuiThreadCollector (made once); returns its timer."""
    existing = app.findChild(GuiThreadCollector)
    if existing is not None:
        return existing.timer
    return GuiThreadCollector(app, interval_ms).timer


def gui_thread_gc_step(thresholds: tuple[int, int, int], collect: Callable[[int], object] | None = None,
                       get_count: Callable[[], tuple[int, int, int]] | None = None, hold: bool = False) -> int | None:
    """One tick of the GUI thread's collector: the oldest generation whose count is over its threshold
    (gc.get_count(): objects allocated since gen 0 was collected, gen-0 collections since gen 1,
    gen-1 collections since gen 2), as CPython's automatic collection picks it; with `hold` (an engine
    replays at MAX) none until the young generation reaches BUSY_YOUNG_LIMIT. Returns the generation
    collected, None when none was due. `collect` and `get_count` default to the gc module's."""
    import gc

    counts = (get_count or gc.get_count)()
    if hold and counts[0] < BUSY_YOUNG_LIMIT:
        return None
    collect = collect or gc.collect
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            collect(generation)
            return generation
    return None
