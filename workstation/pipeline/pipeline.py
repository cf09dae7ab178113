"""Pipeline: the run's three stages (quality -> processor -> analysis) and every hand-off between them.

The coordinator (and the SystemManager) talk to the Pipeline only; the stages know neither each
other nor the coordinator: each is given typed events (workstation.pipeline.stage_events) and hands
its output to the `Output` the Pipeline connected to it. One interface, two executions, chosen by
`threaded` (config `backtest.stage_threads`), with identical results:

- threaded: each stage runs in its own thread (`start`). A bar time goes to the quality manager,
  which hands it on to the processor once the quality is published; the processor hands the
  analysis engine its ProcessedBars; whoever finishes the bar time acknowledges it (the
  acknowledgement travels with the event), and `bar_time` returns then. Control events (session
  start and end, warm-up, hand orders, live revisions) are sent to each stage in turn and waited for.
- single-thread: the same events, processed in the caller's thread in the same order (a hand-off is
  run after the handing stage returns; a hand-off waited for runs at once).

Pacing: `bar_time(event, timeout)` with `timeout` = seconds until the next bar time is due (None:
data-driven) counts an overrun (`overruns.quality|processor|analysis` in PerformanceMetrics) for the
stage still busy or with work queued when the bar time took longer (single-thread: the stage that
took longest), and still waits for it: nothing is skipped, the pace never changes results.

A stage that fails keeps its error; `bar_time` raises it (RuntimeError naming the stage, from the
error) so the run fails with it, and `raise_errors()` does at the end of a run. All methods are
called from one thread (the coordinator's), except `join` and `alive_threads` (any thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from workstation.pipeline.analysis import AnalysisEngine
from workstation.pipeline.processor import DataProcessor
from workstation.pipeline.quality import DataQualityManager, Gap
from workstation.pipeline.stage import Stage
from workstation.pipeline.stage_events import (
    BarTime,
    GapStatusChanged,
    ManualCommands,
    Recount,
    Revise,
    SessionEnd,
    SessionStart,
    StartStrategies,
    Stop,
    TrailingGaps,
    WarmUp,
    WarmupBars,
)
from workstation.pipeline.subscription import StreamSubscription

if TYPE_CHECKING:
    from workstation.calendar import TradingSession
    from workstation.config import SessionConfig
    from workstation.strategies.base import BaseStrategy


class SessionQuality(NamedTuple):
    """What the quality manager recorded for a session that ended: one summary row per (symbol,
    interval) (quality.parquet) and every gap (gaps.parquet)."""

    rows: list[dict]
    gap_rows: list[dict]


class ThreadedOutput:
    """A stage's output into the next stage's inbox (threaded runs)."""

    def __init__(self, receiver: Stage, name: str):
        self._receiver = receiver
        self._done = StreamSubscription(name)

    def pass_on(self, event: object, ack: StreamSubscription | None) -> None:
        self._receiver.inbox.put((event, ack))

    def call(self, event: object) -> None:
        done = self._done
        done.start_cycle()
        self._receiver.inbox.put((event, done))
        done.wait_until_ready(None)


class InlineOutput:
    """A stage's output run in the same thread (single-thread runs): a hand-off runs once the handing
    stage has returned (`Pipeline._run_inline`), a call runs at once."""

    def __init__(self, pipeline: Pipeline, receiver: Stage):
        self._pipeline = pipeline
        self._receiver = receiver

    def pass_on(self, event: object, ack: StreamSubscription | None) -> None:
        self._pipeline._handed = (self._receiver, event)

    def call(self, event: object) -> None:
        self._pipeline._run_inline(self._receiver, event)


def kept_stream_indicators(cfg: SessionConfig, strategies: Sequence[Any]) -> list[str]:
    """The `streams.indicators` a run keeps: all of them when it runs a strategy (its context reads
    them: `ctx.indicator`), none when it runs no strategy, since nothing else reads them (the window's
    chart computes the indicators it draws; a run folder holds none). At one symbol they were about half
    of a bar time's work: a replay of a year of one symbol with no strategy ran 2.2x faster without them."""
    return list(cfg.streams.indicators) if strategies else []


class Pipeline:
    """Owns the stages of one run and the hand-offs between them (see the module docstring)."""

    def __init__(self, quality: DataQualityManager, processor: DataProcessor, analysis: AnalysisEngine, metrics,
                 threaded: bool = True, warms_up: bool = True):
        self.quality = quality
        self.processor = processor
        self.analysis = analysis
        self.metrics = metrics
        self.threaded = bool(threaded)
        self.warms_up = warms_up    # False: a run of no strategy, whose warm-up nobody would read (kept_stream_indicators)
        self._stages: tuple[tuple[str, Stage], ...] = (("quality", quality), ("processor", processor),
                                                       ("analysis", analysis))
        self._started = False
        self._cycle = StreamSubscription("bar time")
        self._done = StreamSubscription("pipeline call")
        self._handed: tuple[Stage, object] | None = None   # single-thread: the next hand-off to run
        if self.threaded:
            quality.output = ThreadedOutput(processor, "quality->processor")
            processor.output = ThreadedOutput(analysis, "processor->analysis")
        else:
            quality.output = InlineOutput(self, processor)
            processor.output = InlineOutput(self, analysis)

    @classmethod
    def build(cls, cfg: SessionConfig, session_data, clock, strategies: Sequence[BaseStrategy], broker, metrics,
              events) -> Pipeline:
        """The stages of a run from its config: derived intervals and indicators (the config's and
        every strategy's required ones), quality, risk checks; threaded per `backtest.stage_threads`."""
        base = cfg.streams.interval
        processor = DataProcessor(session_data, base, cfg.streams.derived, kept_stream_indicators(cfg, strategies),
                                  metrics, events)
        for st in strategies:
            processor.require(st.interval, st.required_indicators())
        quality = DataQualityManager(session_data, base, cfg.streams.derived, metrics, events,
                                     enabled=cfg.gap_filler.enable_session_quality)
        analysis = AnalysisEngine(session_data, clock, list(strategies), broker, cfg.risk, metrics, events, base)
        return cls(quality, processor, analysis, metrics, threaded=cfg.backtest.stage_threads,
                   warms_up=bool(strategies))

    # ------------------------------------------------------------------ threads
    def start(self, thread_factory=None) -> None:
        """Start the stage threads (threaded runs; `thread_factory(target, name)`, default threading)."""
        if self.threaded and not self._started:
            self._started = True
            for _, stage in self._stages:
                stage.start(thread_factory)

    def stop(self) -> None:
        """The run ended: each stage thread returns once it has done the events queued before."""
        if self._started:
            for _, stage in self._stages:
                stage.submit(Stop())

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for _, stage in self._stages:
            stage.join(max(0.0, deadline - time.monotonic()))

    def alive_threads(self) -> list[str]:
        """Names of the stage threads still running."""
        return [stage.thread_name for _, stage in self._stages if stage.is_alive()]

    # ------------------------------------------------------------------ before the first session
    def warmup_needed(self) -> dict[str, int]:
        """Per interval, the inputs its slowest indicator needs before it is ready (0: none kept); no
        interval at all for a run of no strategy (no warm-up: its indicators and price grid are for the
        strategies)."""
        return self.processor.warmup_needed() if self.warms_up else {}

    def warm_up(self, blocks: Iterable[WarmupBars]) -> None:
        """Feed stored bars before the first session to the indicators (oldest first; see WarmUp)."""
        self._call(self.processor, WarmUp(tuple(blocks)))

    def start_strategies(self) -> None:
        """The strategies' on_start (after the warm-up, before the first session)."""
        self._call(self.analysis, StartStrategies())

    # ------------------------------------------------------------------ sessions and bar times
    def session_start(self, session: TradingSession) -> None:
        event = SessionStart(session)
        for _, stage in self._stages:
            self._call(stage, event)

    def bar_time(self, bars: BarTime, timeout: float | None = None) -> None:
        """Run the stages on one bar time (its bars already in SessionData) until it is done; see the
        module docstring for `timeout` and overruns. Raises when a stage failed."""
        if self.threaded:
            cycle = self._cycle
            cycle.start_cycle()
            self.quality.inbox.put((bars, cycle))
            if not cycle.wait_until_ready(timeout):
                for name, stage in self._stages:
                    if stage.busy or not stage.inbox.empty():
                        self.metrics.incr(f"overruns.{name}")
                cycle.wait_until_ready(None)
        elif timeout is None:                   # _run_inline, written out: this is the hot path
            self.quality.process(bars)
            handed = self._handed
            while handed is not None:
                self._handed = None
                handed[0].process(handed[1])
                handed = self._handed
        else:
            t0 = time.perf_counter()
            self._run_inline(self.quality, bars)
            if time.perf_counter() - t0 > timeout:
                name = max(self._stages, key=lambda named: named[1].last_duration_s)[0]
                self.metrics.incr(f"overruns.{name}")
        if self.quality.error is not None or self.processor.error is not None or self.analysis.error is not None:
            self.raise_errors()

    def session_end(self, session: TradingSession, stopped: bool = False) -> SessionQuality:
        """End the session in every stage (short derived bars flushed, trailing gaps unless `stopped`,
        the strategies' on_session_end, day orders expired); the session's quality records."""
        event = SessionEnd(session, stopped)
        for _, stage in self._stages:
            self._call(stage, event)
        return SessionQuality(self.quality.session_rows, self.quality.session_gap_rows)

    # ------------------------------------------------------------------ between bar times
    def apply_manual(self, commands: Iterable[tuple[int, Any]]) -> None:
        """Hand orders ((sequence, command) pairs) applied by the analysis engine, the broker's owner."""
        self._call(self.analysis, ManualCommands(tuple(commands)))

    def revise(self, symbol_indices: np.ndarray, clock_ns: int) -> None:
        """Live: streamed bars of these symbols were inserted into SessionData out of order (late bars,
        gap fills): the processor rebuilds their derived bars and indicators (the strategies get
        on_bars_revised), then the quality manager recounts as of `clock_ns`."""
        self._call(self.processor, Revise(np.asarray(symbol_indices, dtype=np.int64)))
        self._call(self.quality, Recount(clock_ns))

    def trailing_gaps(self, close_ns: int) -> None:
        """Live: find the gaps from each symbol's last bar up to the close now (before the session ends)."""
        self._call(self.quality, TrailingGaps(close_ns))

    def gap_status(self, change: GapStatusChanged) -> None:
        """Live: the gap filler (the owner of gap status) settled or retried a gap; the quality manager
        updates its record of it and its totals, in its own thread."""
        self._call(self.quality, change)

    def on_gap(self, callback: Callable[[Gap], None] | None) -> None:
        """Live: called with each streamed-interval gap as the quality manager finds it (in its thread)."""
        self.quality.on_gap = callback

    # ------------------------------------------------------------------ errors and state
    @property
    def error(self) -> BaseException | None:
        """The first stage failure (processor, analysis, quality), or None."""
        for stage in (self.processor, self.analysis, self.quality):
            if stage.error is not None:
                return stage.error
        return None

    def raise_errors(self) -> None:
        """Raise a stage's failure as the run's error (RuntimeError from it, naming the stage)."""
        for stage in (self.processor, self.analysis, self.quality):
            if stage.error is not None:
                raise RuntimeError(f"{type(stage).__name__} failed: {stage.error!r}") from stage.error

    def snapshot_roots(self) -> dict[str, object]:
        """The stages' state objects a snapshot captures (see workstation.pipeline.snapshots)."""
        return {"processor": self.processor, "indicators": self.processor.indicators, "quality": self.quality,
                "analysis": self.analysis}

    # ------------------------------------------------------------------ execution
    def _call(self, stage: Stage, event: object) -> None:
        """Give `stage` one event and wait until it (and any stage it handed it on to) is done."""
        if self.threaded:
            done = self._done
            done.start_cycle()
            stage.inbox.put((event, done))
            done.wait_until_ready(None)
        else:
            self._run_inline(stage, event)

    def _run_inline(self, stage: Stage, event: object) -> None:
        stage.process(event)
        handed = self._handed
        while handed is not None:
            self._handed = None
            receiver, passed = handed
            receiver.process(passed)
            handed = self._handed
