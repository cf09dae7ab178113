"""Engine snapshots for step back and seeking: the whole trading state every K bar times, restored
in place, then replayed forward deterministically.

What a snapshot holds (captured by value, between two bar times, in the coordinator's thread while
every stage is idle): the attributes of the run's state objects (`roots`: SessionData, the
processor with its derived-bar builders, the indicator set, the quality manager, the analysis
engine with its order desk and strategy context, the simulated broker and account, every
strategy, the historical service and the clock), the coordinator's counters, and the state of the
participants that observe the run (`add_participant`: the RunWriter). It never holds threads,
queues, locks, stage subscriptions, the event bus, the metrics, the bar store, the config or
functions: those are kept by reference (pickle `reducer_override`), so a restore gives the same live
objects back. Roots are restored in place (their `__dict__` replaced), so every reference to them
(the UI's, the SystemManager's, a strategy's context) stays valid. The run's histories (the
broker's orders, fills and trades: `History`, append-only) are kept by reference with their length,
and only their records not settled yet (open orders) are copied: a restore gives a new History of
the same records up to that length. A snapshot's cost therefore does not grow with the history
(copied, the ~12,000 orders, 12,000 fills and 6,000 trades of 100 symbols over 5 days made the
last snapshots cost ~13 times the first: 260 against 20 ms).

A snapshot is a pickle (protocol 5) of all roots at once, LZ4-compressed (pyarrow): objects shared
between roots (the processor's last closes, which the strategy context also reads) stay shared after
a restore, and so do numpy views of one array (SessionData's columns and rows). Its size is exact
(the compressed bytes); the keeper drops snapshots (never the first) to stay within
`memory_budget_bytes`, removing each time the one whose loss widens the spacing least, so older
parts of a long run end up sparser rather than gone.

Spacing: at each session's first bar time and every `every` bar times, unless taking snapshots would
cost more than `max_overhead` of the wall time (a data-driven replay of many symbols at MAX), both
since the last snapshot and since the first (whose cost counts too): then the next one waits until
it would not, so the spacing grows (a seek replays more bar times) instead
of the replay slowing down. The next snapshot's cost is predicted from the state's size
(`state_items`: the elements of the roots' containers that a snapshot copies): a linear fit of
cost on size through the last two snapshots, or, with one snapshot, its cost scaled by the size
ratio, never below the costlier of them. A fixed estimate (the last cost) let a 100-symbol replay spend
~13 % of its time in snapshots at a 5 % limit, each one costing more than the one before. Paced and stepped replays always get every one, and a run paused more than `every` bar times past
the newest snapshot takes one where it waits (free: nothing runs then). A seek's replay always takes
the last one due before the bar time it stops at (one a seek): the steps back that usually follow a
seek then replay at most `every` bar times each, not all the way from an early snapshot.

Positions: `position` = bar times delivered in the run so far. A snapshot at position p is taken
before bar time p+1 is delivered and before hand orders queued at that point are applied; those
are journaled with position p (`HandJournal`) and re-applied on the replay. Times are int ns UTC;
`last_bar_ns` is the START of the last delivered bar time (-1 before the first).
"""

from __future__ import annotations

import collections
import dataclasses
import io
import logging
import pickle
import queue
import threading
import types
import typing
from bisect import bisect_right
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from workstation.model.history import History

log = logging.getLogger(__name__)

DEFAULT_SNAPSHOT_EVERY = 60          # bar times between two snapshots (an hour of 1m bars)
DEFAULT_MEMORY_BUDGET_MB = 256
# share of the wall time snapshots may take (None: no limit); at 0.2 a 100-symbol GUI replay at MAX ran
# at 0.47-0.63x the headless speed, at 0.05 0.54-0.76x (benchmarks/bench_gui.py, 2 cores shared)
DEFAULT_MAX_OVERHEAD = 0.05
# arrays this large are pickled without their all-zero end (see `_trimmed`)
TRIM_MIN_BYTES = 64 * 1024

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_REF_TYPES: tuple[type, ...] = (
    *_LOCK_TYPES, threading.Condition, threading.Event, threading.Thread, queue.SimpleQueue, queue.Queue,
    ThreadPoolExecutor, Future, logging.Logger, types.FunctionType, types.BuiltinFunctionType,
    types.ModuleType, type,
)


class SnapshotParticipant(Protocol):
    """An observer whose state follows the engine's on a rewind (e.g. the RunWriter)."""

    def snapshot_state(self) -> Any:
        """Plain data (pickled by value) describing the participant's state now."""

    def restore_state(self, state: Any) -> None:
        """Go back to a state returned by `snapshot_state` (discard what came after)."""


@dataclass(frozen=True, slots=True)
class SnapshotPoint:
    """Where a snapshot was taken: before bar time `position + 1` of the run."""

    position: int             # bar times delivered before it
    session_index: int        # index of the session in the run's session list
    bar_index: int            # index of the next bar time within that session's bar times
    last_bar_ns: int          # start of the last delivered bar time (-1: none yet)
    clock_ns: int             # the simulated clock then
    nbytes: int


@dataclass(frozen=True, slots=True)
class SeekDone:
    """Event "seek": a step back or a seek ended; the run is paused at `last_bar_ns`."""

    target_ns: int            # asked-for time: every bar time starting at or before it is delivered
    position: int             # bar times delivered now
    last_bar_ns: int          # start of the last delivered bar time (-1: none)
    clock_ns: int
    session_index: int
    session_date: Any         # datetime.date of the current session (None before the first)
    restored_position: int    # position of the snapshot restored (-1: went forward, nothing restored)
    replayed: int             # bar times replayed headless
    seconds: float            # wall time the seek took


@dataclass
class HandJournal:
    """Hand commands applied so far, by position (see the module docstring): replayed after a restore;
    the ones after the point gone back to are discarded (the trader's new orders replace them)."""

    entries: dict[int, list[list]] = field(default_factory=dict)   # position -> [[(at_ns, sequence, command)]]

    def record(self, position: int, due: list) -> None:
        self.entries.setdefault(position, []).append(list(due))

    def at(self, position: int) -> list[list]:
        return self.entries.get(position, [])

    def discard_after(self, position: int) -> list:
        """Forget commands applied after `position`; the (at_ns, sequence, command) forgotten."""
        dropped = []
        for p in sorted(p for p in self.entries if p > position):
            for batch in self.entries.pop(p):
                dropped.extend(batch)
        return dropped


class _Pickler(pickle.Pickler):
    """Pickles a snapshot's state; live objects (locks, threads, the run's services, functions) and
    immutable records (see `_immutable_type`) are kept by reference in `table`.

    The references go through `reducer_override`, not `persistent_id`: pickle calls `persistent_id`
    for every object (each int, float and None of a run's order history: ~200,000 Python calls for
    12,000 orders), `reducer_override` only for instances of other classes."""

    def __init__(self, file, refs: dict[int, int], table: list, is_ref: Callable[[object], bool]):
        super().__init__(file, protocol=5)
        self._refs = refs
        self._table = table
        self._is_ref = is_ref

    def reducer_override(self, obj):
        """A reference (see the class docstring); a numpy view of another array is pickled as a view of
        that (shared) array, so arrays that shared memory before a snapshot share it after a restore
        (SessionData's columns and rows); anything else: pickled by value."""
        key = self._refs.get(id(obj))
        if key is not None:
            return _table_ref, (key,)
        if obj is _table_ref or obj is _view_of or obj is _untrimmed or obj is _history_at:  # the reducers: by name
            return NotImplemented
        if type(obj) is History:
            # by reference, with its length; copied: the records not settled yet (a second reference to
            # it in this snapshot is pickle's memo of what this gives back)
            key = len(self._table)
            self._table.append(obj)
            upto, open_indices = obj.unsettled()
            return _history_at, (key, len(obj), upto, tuple(open_indices), tuple(obj[i] for i in open_indices))
        if self._is_ref(obj):
            key = len(self._table)
            self._table.append(obj)
            self._refs[id(obj)] = key
            return _table_ref, (key,)
        if type(obj) is np.ndarray and isinstance(obj.base, np.ndarray):
            base = obj.base
            while isinstance(base.base, np.ndarray):
                base = base.base
            if base.flags.c_contiguous:
                offset = obj.__array_interface__["data"][0] - base.__array_interface__["data"][0]
                return _view_of, (base, offset, obj.shape, obj.strides, obj.dtype, obj.flags.writeable)
        if type(obj) is np.ndarray and obj.base is None and obj.nbytes >= TRIM_MIN_BYTES:
            part = _trimmed(obj)
            if part is not None:
                return _untrimmed, (obj.shape, obj.dtype, obj.flags.writeable, part)
        return NotImplemented


def _trimmed(array: np.ndarray) -> np.ndarray | None:
    """The part of a 1-D or 2-D array of 8-byte items that is not all-zero bits at its end (rows after the
    last row with a non-zero item, and columns after the last such column), when that saves at least a
    quarter of it; None otherwise. Pre-allocated storage (SessionData's blocks: ~7 MB for 100 symbols,
    mostly room for bars to come) then costs the snapshot what it holds. Zero is tested on the bits,
    so -0.0 is kept: `_untrimmed` gives back the same bytes."""
    if array.ndim not in (1, 2) or array.dtype.itemsize != 8 or not array.flags.c_contiguous:
        return None
    bits = array.view(np.int64)
    end: tuple[int, ...]
    if array.ndim == 1:
        nonzero = np.flatnonzero(bits)
        end = (int(nonzero[-1]) + 1 if nonzero.size else 0,)
    else:
        rows, cols = np.flatnonzero(bits.any(axis=1)), np.flatnonzero(bits.any(axis=0))
        end = (int(rows[-1]) + 1 if rows.size else 0, int(cols[-1]) + 1 if cols.size else 0)
    if int(np.prod(end)) * 4 > array.size * 3:
        return None
    return array[tuple(slice(0, n) for n in end)].copy()


def _untrimmed(shape: tuple, dtype, writeable: bool, part: np.ndarray) -> np.ndarray:
    """The array `_trimmed` cut `part` from: zeros, with `part` at its start."""
    array = np.zeros(shape, dtype=dtype)
    array[tuple(slice(0, n) for n in part.shape)] = part
    array.flags.writeable = writeable
    return array


def _table_ref(key: int) -> object:
    """Stands for a snapshot's reference `key` in the pickle; `_Unpickler.find_class` swaps in its table."""
    raise RuntimeError("a snapshot reference is resolved by the snapshot's unpickler only")


def _history_at(key: int, length: int, settled_upto: int, indices: tuple, records: tuple) -> object:
    """Stands for a History (reference `key`) in the pickle; `_Unpickler.find_class` swaps in
    `History.restored` of the referenced list."""
    raise RuntimeError("a snapshot's history is resolved by the snapshot's unpickler only")


def _view_of(base: np.ndarray, offset: int, shape: tuple, strides: tuple, dtype, writeable: bool) -> np.ndarray:
    view = np.ndarray(shape, dtype=dtype, buffer=base, offset=offset, strides=strides)
    view.flags.writeable = writeable and base.flags.writeable
    return view


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, table: list):
        super().__init__(file)
        self._table = table

    def find_class(self, module: str, name: str):
        if module == __name__ and name == "_table_ref":
            return self._table.__getitem__
        if module == __name__ and name == "_history_at":
            return self._history_at
        return super().find_class(module, name)

    def _history_at(self, key: int, length: int, settled_upto: int, indices: tuple, records: tuple) -> History:
        return self._table[key].restored(length, settled_upto, zip(indices, records, strict=True))


class Snapshot:
    """One captured state: the pickled payload and the live objects it refers to."""

    __slots__ = ("point", "payload", "table")

    def __init__(self, point: SnapshotPoint, payload: tuple[int, bytes], table: list):
        self.point = point
        self.payload = payload
        self.table = table


class SnapshotKeeper:
    """Takes and restores snapshots of one run (coordinator thread only; `stats()` from any thread)."""

    def __init__(self, roots: dict[str, object], refs: Iterable[object] = (), every: int = DEFAULT_SNAPSHOT_EVERY,
                 memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_MB * 2**20,
                 max_overhead: float | None = DEFAULT_MAX_OVERHEAD):
        if every < 1:
            raise ValueError(f"snapshot every must be >= 1 bar time, got {every}")
        self.roots = dict(roots)
        self._fixed_refs = [*self.roots.values(), *refs]
        self.participants: dict[str, SnapshotParticipant] = {}
        self.every = int(every)
        self.memory_budget_bytes = int(memory_budget_bytes)
        self.journal = HandJournal()
        self._snapshots: list[Snapshot] = []
        self._positions: list[int] = []
        self._ref_type_cache: dict[type, bool] = {}
        self.max_overhead = max_overhead     # None: a snapshot at every due position, whatever it costs
        self.disabled: str | None = None     # why snapshots stopped (state that cannot be copied), if they did
        self._last_cost = 0.0
        self._cost_points: list[tuple[int, float]] = []   # (state_items, seconds) of the last captures
        self._last_end = 0.0
        self._first_capture = 0.0            # perf_counter at the start of the first snapshot
        self.skipped = 0
        self.raw_bytes = 0
        self.taken = 0
        self.dropped = 0
        self.restored = 0
        self.capture_seconds = 0.0

    # ------------------------------------------------------------------ wiring
    def add_participant(self, name: str, participant: SnapshotParticipant) -> None:
        self.participants[name] = participant

    def _is_ref(self, obj: object) -> bool:
        t = type(obj)
        hit = self._ref_type_cache.get(t)
        if hit is None:
            hit = issubclass(t, _REF_TYPES) or any(
                (c.__module__ or "").startswith(("PySide6", "shiboken", "pydantic")) or c.__name__ in _REF_NAMES
                for c in t.__mro__) or _immutable_type(t)
            self._ref_type_cache[t] = hit
        return hit

    # ------------------------------------------------------------------ capture / restore
    def due(self, position: int, bar_index: int, near_target: bool = False) -> bool:
        """A snapshot is taken at each session's first bar time and every `every` bar times (see the
        module docstring for when one waits because of its cost); `near_target`: a seek's replay is
        less than `every` bar times from where it stops, so this is the last one before it, taken
        whatever it costs."""
        if not (bar_index == 0 or position % self.every == 0):
            return False
        if self.max_overhead is None or not self._snapshots or near_target:
            return True
        import time

        now = time.perf_counter()
        idle = now - self._last_end
        cost = self.predicted_cost(self.state_items())
        # since the last snapshot, and over the whole run (so the first one, taken whatever it costs,
        # counts too): the snapshots taken plus this one (its cost predicted from the state's size) stay
        # within `max_overhead` of the wall time
        if (idle * self.max_overhead >= cost * (1.0 - self.max_overhead)
                and self.capture_seconds + cost <= self.max_overhead * (now - self._first_capture)):
            return True
        self.skipped += 1
        return False

    def capture(self, position: int, session_index: int, bar_index: int, last_bar_ns: int, clock_ns: int,
                extra: dict | None = None) -> SnapshotPoint:
        """Snapshot the state now (between two bar times; every stage idle)."""
        import time

        t0 = time.perf_counter()
        if not self.taken:
            self._first_capture = t0
        state = {
            "roots": {name: _object_state(obj) for name, obj in self.roots.items()},
            "participants": {name: p.snapshot_state() for name, p in self.participants.items()},
            "extra": extra or {},
        }
        buf = io.BytesIO()
        table: list = list(self._fixed_refs)
        refs = {id(obj): k for k, obj in enumerate(table)}
        _Pickler(buf, refs, table, self._is_ref).dump(state)
        raw = buf.getbuffer()
        payload = (len(raw), pa.compress(raw, codec="lz4", asbytes=True))
        point = SnapshotPoint(position, session_index, bar_index, last_bar_ns, clock_ns, len(payload[1]))
        k = bisect_right(self._positions, position)
        if k and self._positions[k - 1] == position:       # same position again: the newer state wins
            self._snapshots[k - 1] = Snapshot(point, payload, table)
        else:
            self._snapshots.insert(k, Snapshot(point, payload, table))
            self._positions.insert(k, position)
        self.taken += 1
        self.raw_bytes += len(raw)
        raw.release()
        self._enforce_budget()
        self._last_end = time.perf_counter()
        self._last_cost = self._last_end - t0
        self.capture_seconds += self._last_cost
        if self.max_overhead is not None:
            self._cost_points = [*self._cost_points[-1:], (self.state_items(), self._last_cost)]
        return point

    def state_items(self) -> int:
        """The state's size as the snapshot's cost grows with it: elements of the containers (lists, dicts,
        tuples, sets, deques) the roots hold directly, of a History only its unsettled records (the
        others are not copied; scanned from its settled ones on). 0.1-0.4 ms for a 100-symbol run
        (fixed-size numpy state is not counted)."""
        items = 0
        for obj in self.roots.values():
            for value in _object_state(obj).values():
                if type(value) is History:          # copied: its unsettled records
                    items += len(value.unsettled()[1])
                elif isinstance(value, _SIZED_TYPES):
                    items += len(value)
        return items

    def predicted_cost(self, items: int) -> float:
        """Seconds the next snapshot should take with `items` (state_items) in the state (see
        `predict_snapshot_cost`; the last cost before any size was recorded)."""
        if not self._cost_points:
            return self._last_cost
        return predict_snapshot_cost(self._cost_points, items)

    def behind(self, position: int) -> int:
        """Bar times from the newest snapshot at or before `position` to it (`position + 1`: none)."""
        k = bisect_right(self._positions, position)
        return position - self._positions[k - 1] if k else position + 1

    def has(self, position: int) -> bool:
        k = bisect_right(self._positions, position)
        return bool(k) and self._positions[k - 1] == position

    def nearest(self, target_ns: int) -> SnapshotPoint | None:
        """The latest snapshot whose last delivered bar time starts at or before `target_ns`."""
        best = None
        for snap in self._snapshots:
            if snap.point.last_bar_ns <= target_ns:
                best = snap.point
            else:
                break
        return best

    def restore(self, point: SnapshotPoint) -> dict:
        """Put every root and participant back to the snapshot at `point`; forget the snapshots after
        it and the hand commands after it. Returns the snapshot's `extra` (coordinator counters)."""
        k = self._positions.index(point.position)
        snap = self._snapshots[k]
        size, packed = snap.payload
        data = pa.decompress(packed, decompressed_size=size, codec="lz4", asbytes=True)
        state = _Unpickler(io.BytesIO(data), snap.table).load()
        for name, obj in self.roots.items():
            _restore_object(obj, state["roots"][name])
        for name, participant in self.participants.items():
            if name in state["participants"]:
                participant.restore_state(state["participants"][name])
        del self._snapshots[k + 1:]
        del self._positions[k + 1:]
        self.restored += 1
        return state["extra"]

    # ------------------------------------------------------------------ memory
    def _enforce_budget(self) -> None:
        while len(self._snapshots) > 2 and self.nbytes > self.memory_budget_bytes:
            pos = self._positions
            # drop the inner snapshot whose removal leaves the smallest gap (never the first or the newest)
            k = min(range(1, len(pos) - 1), key=lambda i: (pos[i + 1] - pos[i - 1], i))
            del self._snapshots[k]
            del self._positions[k]
            self.dropped += 1

    @property
    def nbytes(self) -> int:
        return sum(s.point.nbytes for s in self._snapshots)

    def points(self) -> list[SnapshotPoint]:
        return [s.point for s in self._snapshots]

    def stats(self) -> dict:
        """Count, bytes held, budget, spacing, and how many were taken, dropped and restored."""
        snaps = list(self._snapshots)
        return {"count": len(snaps), "bytes": sum(s.point.nbytes for s in snaps), "disabled": self.disabled,
                "budget_bytes": self.memory_budget_bytes, "every": self.every, "taken": self.taken,
                "skipped_for_speed": self.skipped, "uncompressed_bytes_taken": self.raw_bytes,
                "dropped": self.dropped, "restored": self.restored,
                "capture_seconds": round(self.capture_seconds, 4)}


def predict_snapshot_cost(points: list[tuple[int, float]], items: int) -> float:
    """A snapshot's cost (seconds) at state size `items`, from the (size, cost) of the last one or two
    snapshots: a line through the two when their sizes differ and the cost grew with the size, else
    the last cost scaled up by the size ratio (all the cost assumed to grow with the size: an
    overestimate while fixed-size state dominates, so a fast replay rather waits longer); never below
    the costlier of the two (a smaller state, e.g. fewer open orders, need not be cheaper: most of a
    snapshot is the session's bars, which grow through the session)."""
    last_items, last_cost = points[-1]
    floor = max(cost for _, cost in points[-2:])
    if len(points) >= 2:
        first_items, first_cost = points[-2]
        if last_items > first_items and last_cost >= first_cost:
            slope = (last_cost - first_cost) / (last_items - first_items)
            return max(floor, last_cost + slope * (items - last_items))
    return max(floor, last_cost * max(1.0, items / max(1, last_items)))


_REF_NAMES = frozenset({"StreamSubscription", "PerformanceMetrics", "RunningStat", "EventBus", "BarStore",
                        "TimeManager", "RunControl", "ManualOrderInbox", "SystemManager", "SessionCoordinator",
                        "EngineBridge", "Pipeline", "ThreadedOutput", "InlineOutput"})


_IMMUTABLE_SCALARS = (str, int, float, bool, bytes, type(None), Enum)
_SIZED_TYPES = (list, dict, tuple, set, frozenset, collections.deque)


def _immutable_type(t: type, _seen: frozenset = frozenset()) -> bool:
    """True for a frozen dataclass whose fields are all declared immutable (str, numbers, bool, bytes,
    None, enums, such dataclasses, and unions of them; e.g. the broker's Order): its instances never
    change, so a snapshot keeps them by reference instead of copying them (a run's order history)."""
    params = getattr(t, "__dataclass_params__", None)
    if params is None or not params.frozen or t in _seen:
        return False
    try:
        hints = typing.get_type_hints(t)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: not provably immutable
        return False
    seen = _seen | {t}

    def ok(hint) -> bool:
        if isinstance(hint, type):
            return issubclass(hint, _IMMUTABLE_SCALARS) or _immutable_type(hint, seen)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            return all(ok(arg) for arg in typing.get_args(hint))
        return False

    return all(ok(hints.get(f.name)) for f in dataclasses.fields(t))


def _object_state(obj: object) -> dict:
    """Every attribute of `obj` (its `__dict__` and `__slots__`), to be pickled."""
    state = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                state[name] = getattr(obj, name)
    return state


def _restore_object(obj: object, state: dict) -> None:
    d = getattr(obj, "__dict__", None)
    if d is not None:
        d.clear()
    for name, value in state.items():
        if d is not None and name in state and not _is_slot(type(obj), name):
            d[name] = value
        else:
            object.__setattr__(obj, name, value)


def _is_slot(cls: type, name: str) -> bool:
    return any(name in getattr(c, "__slots__", ()) for c in cls.__mro__)
