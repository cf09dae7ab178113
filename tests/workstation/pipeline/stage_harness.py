"""Drive one pipeline stage on its own, single-threaded, through its public inputs (the events it is
given and SessionData) and read its outputs (SessionData, emitted engine events, what it hands the
next stage). The few lines that know the current event shapes live here, so the stage tests keep
testing behaviour when the pipeline's events change shape."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager, TradingSession
from workstation.events import EventBus
from workstation.metrics import PerformanceMetrics
from workstation.pipeline.stage_events import BarTime, CompletedBars, ProcessedBars, SessionEnd, SessionStart
from workstation.session import SessionData

MINUTE = 60_000_000_000


def session(day: str, exchange: str = "XNYS") -> TradingSession:
    return TimeManager(exchange).session(day)


def local_ns(day: str, hhmm: str, tz: str = "America/New_York") -> int:
    return int(pd.Timestamp(f"{day} {hhmm}", tz=tz).value)


def minutes(sess: TradingSession, skip: Iterable[tuple[str, str]] = (), tz: str | None = None,
            until: str | None = None) -> list[int]:
    """Every regular-session minute bar start of `sess`, less the [from, to) local ranges in `skip`
    and those at or after `until` (local HH:MM)."""
    tz = tz or sess.tz
    day = sess.date.isoformat()
    out = []
    for start, end in sess.segments:
        out += list(range(start, end, MINUTE))
    drop = np.zeros(len(out), dtype=bool)
    arr = np.array(out, dtype=np.int64)
    for a, b in skip:
        drop |= (arr >= local_ns(day, a, tz)) & (arr < local_ns(day, b, tz))
    if until is not None:
        drop |= arr >= local_ns(day, until, tz)
    return arr[~drop].tolist()


class Recorder:
    """EventBus observer keeping every (kind, payload)."""

    def __init__(self, bus: EventBus, kinds: Iterable[str]):
        self.events: list[tuple[str, object]] = []
        for kind in kinds:
            bus.subscribe(kind, lambda k, p: self.events.append((k, p)))

    def of(self, kind: str) -> list:
        return [p for k, p in self.events if k == kind]


def new_session_data(symbols: list[str], intervals: list[str], tz: str = "America/New_York") -> SessionData:
    return SessionData(symbols, intervals, tz=tz)


def quality_run(manager, sd: SessionData, sess: TradingSession, bars: dict[str, list[int]],
                stop_after: int | None = None) -> list[dict]:
    """Stream the bar starts of each symbol through the quality manager (bars written to
    SessionData first, as the coordinator does), then end the session (stopped after bar time
    `stop_after` when given). Returns the session's summary rows."""
    manager.process(SessionStart(sess))
    times = sorted({t for ts in bars.values() for t in ts})
    stopped = False
    for t in times:
        if stop_after is not None and t > stop_after:
            stopped = True
            break
        idx = np.array([i for i, s in enumerate(sd.symbols) if t in set(bars.get(s, ()))], dtype=np.int64)
        ones = np.ones(len(idx))
        sd.append_bars("1m", idx, t, ones, ones, ones, ones, ones)
        manager.process(bar_time(t, idx))
    manager.process(SessionEnd(sess, stopped))
    return manager.session_rows


def metrics() -> PerformanceMetrics:
    return PerformanceMetrics()


def bar_time(ts: int, idx: np.ndarray, o=None, h=None, lo=None, c=None, v=None) -> BarTime:
    """The coordinator's event for one bar time (prices default to 1.0, volume to 1)."""
    idx = np.asarray(idx, dtype=np.int64)
    ones = np.ones(len(idx))
    cols = [ones if x is None else np.asarray(x, dtype=float) for x in (o, h, lo, c, v)]
    return BarTime(int(ts), idx, *cols)


def completions(event: object) -> list[tuple[str, np.ndarray]]:
    """The derived bars (interval, symbol indices) an event of the processor hands the analysis
    stage as completed (empty for events that carry none)."""
    if isinstance(event, ProcessedBars | CompletedBars):
        return list(event.completed)
    return []


def streamed(event: object) -> tuple[int, np.ndarray] | None:
    """(bar time, symbol indices) of the streamed bars an event hands on, or None."""
    if isinstance(event, ProcessedBars):
        return int(event.bars.start_ns), event.bars.symbol_indices
    return None


class AnalysisRecorder:
    """Stands in for the analysis stage behind a processor (connect it as the processor's `output`):
    records each hand-over together with what a strategy would read at that moment (newest derived
    bar and indicator values). Kinds: "bars" (ProcessedBars handed on), "bars_step" (ProcessedBars
    waited for: the first step of a bar time completing two bars of one interval), "completed"
    (CompletedBars), "revised"."""

    def __init__(self, sd: SessionData, watch: list[tuple[str, str]]):
        self.sd = sd
        self.watch = watch
        self.seen: list[dict] = []

    def _record(self, event: object, waited: bool) -> None:
        done = completions(event)
        snap = {}
        for interval, spec in self.watch:
            snap[(interval, spec)] = self.sd.indicators.get(interval, spec).value
        latest = {(iv, s): self.sd.latest_bar(s, iv) for iv, idx in done for s in (self.sd.symbols[i] for i in idx)}
        if isinstance(event, ProcessedBars):
            kind = "bars_step" if waited else "bars"
        else:
            kind = "completed" if isinstance(event, CompletedBars) else type(event).__name__.lower()
        self.seen.append({"kind": kind, "completed": [(iv, idx.copy()) for iv, idx in done],
                          "streamed": streamed(event), "indicators": snap, "latest": latest})

    def pass_on(self, event: object, ack) -> None:
        self._record(event, waited=False)

    def call(self, event: object) -> None:
        self._record(event, waited=True)


def bar_time_event(ts: int, idx: np.ndarray, opens: np.ndarray, closes: np.ndarray,
                   completed: Iterable[tuple[str, np.ndarray]] = ()) -> ProcessedBars:
    """What the processor hands the analysis stage for one bar time: the streamed bars (start
    `ts`) of symbols `idx` with their opens and closes (highs and lows spanning them, no volume),
    and the derived bars completed with it."""
    opens, closes = np.asarray(opens, dtype=float), np.asarray(closes, dtype=float)
    bars = BarTime(int(ts), np.asarray(idx, dtype=np.int64), opens, np.maximum(opens, closes),
                   np.minimum(opens, closes), closes, np.zeros(len(closes)))
    return ProcessedBars(bars, tuple(completed))
