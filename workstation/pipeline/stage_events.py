"""The events the pipeline's stages are given: one immutable typed record per kind, dispatched by type.

Who sends what (see workstation.pipeline.pipeline for the hand-offs and threads):
- the Pipeline (for the coordinator) to every stage: SessionStart, SessionEnd, Stop;
- the Pipeline to the quality manager, which hands it on to the processor: BarTime;
- the Pipeline to the processor: WarmUp, Revise; to the quality manager: Recount, TrailingGaps,
  GapStatusChanged (live: the gap filler, the owner of gap status, settled or retried a gap);
- the Pipeline to the analysis engine: StartStrategies, ManualCommands;
- the processor to the analysis engine: ProcessedBars, CompletedBars, Revised.

The events with fields are typed NamedTuples, read by field name only (never by position or by
unpacking): as immutable as frozen dataclasses, built ~3x faster (the two of every bar time, BarTime
and ProcessedBars: 0.3 vs 0.8 us, +3 us per bar time through the pipeline with dataclasses), and
their classes are made ~0.5 ms faster each at every start of the program (a frozen dataclass
compiles six generated methods). StartStrategies and Stop, without fields, stay frozen dataclasses
(an empty tuple is false). Dispatch is by type either way.

Times are int ns UTC; a bar's time is its START. Symbol indices are int64 arrays of SessionData's
symbol index, in increasing order; price and volume columns are float arrays aligned with them.
The arrays are shared, never copied: a stage must not write to an array it was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from workstation.calendar import TradingSession
    from workstation.pipeline.quality import GapStatus

# (interval, symbol indices): the derived bars of `interval` completed for these symbols
Completed = tuple[tuple[str, np.ndarray], ...]


class BarTime(NamedTuple):
    """The streamed bars of one bar time (every symbol with a bar starting at `start_ns`), already
    written to SessionData; the clock reads their end. `every_symbol`: `symbol_indices` is known to
    be every symbol of the run in order (checked by the feed), so a stage may treat them as a whole.
    `decimal_raises`: (symbol indices, decimals) of the closes that may add decimals to the price
    grid, worked out by the feed for its whole block (BarTimes.decimal_raises); None: not known, the
    price grid observes every close."""

    start_ns: int
    symbol_indices: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    every_symbol: bool = False
    decimal_raises: tuple[np.ndarray, np.ndarray] | None = None


class ProcessedBars(NamedTuple):
    """The processor's hand-off of a bar time to the analysis engine: the streamed bars (fills, then
    the streamed interval's strategies) and the derived bars completed with them (their strategies),
    with the indicators already holding every bar up to them."""

    bars: BarTime
    completed: Completed


class CompletedBars(NamedTuple):
    """Derived bars completed without new streamed bars to fill at: the newer step of a bar time that
    completed two bars of one interval, or the short bars flushed at a session's end (`time_ns`: the
    clock then)."""

    time_ns: int
    completed: Completed


class SessionStart(NamedTuple):
    session: TradingSession


class SessionEnd(NamedTuple):
    """The session ends: at its close, or where the run was stopped (`stopped`: no trailing gaps)."""

    session: TradingSession
    stopped: bool = False


class WarmupBars(NamedTuple):
    """Bars fed to the indicators of one interval before the run's first session, several bar times
    at once (e.g. one stored day's): rows sorted by (bar start, symbol index), bar time j (one
    indicator update) rows bounds[j]:bounds[j + 1], complete at done_ns[j] (int ns UTC)."""

    interval: str
    symbol_index: np.ndarray                        # int64, per row
    columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # open, high, low, close, volume
    bounds: np.ndarray                              # int64 row offsets of the bar times
    done_ns: np.ndarray                             # int64, per bar time


class WarmUp(NamedTuple):
    """Stored bars before the run's first session fed to the indicators, each interval's oldest first
    (the intervals in any order: their indicators are apart)."""

    blocks: tuple[WarmupBars, ...]


@dataclass(frozen=True, slots=True)
class StartStrategies:
    """Before the first session, after the warm-up: the strategies' on_start."""


class ManualCommands(NamedTuple):
    """Hand orders due between two bar times: (sequence, command) pairs, in order."""

    commands: tuple[tuple[int, object], ...]


class Revise(NamedTuple):
    """Live: streamed bars of these symbols were inserted out of order into SessionData (late bars,
    gap fills); their derived bars and indicator lanes are rebuilt."""

    symbol_indices: np.ndarray


class Revised(NamedTuple):
    """Live: the bars of these (interval, symbol indices) were revised (see Revise)."""

    revised: Completed


class Recount(NamedTuple):
    """Live: recount present bars from SessionData (bars were inserted), quality as of `clock_ns`."""

    clock_ns: int


class TrailingGaps(NamedTuple):
    """Live: gaps from each symbol's last bar up to the close (`close_ns`), before the session ends."""

    close_ns: int


class GapStatusChanged(NamedTuple):
    """The gap filler (the owner of live gap status) settled or retried a gap: the quality stage
    applies it to its own record of the gap and its totals, in its thread. The gap is named by its
    symbol, interval and first missing bar start."""

    symbol: str
    interval: str
    start_ns: int
    status: GapStatus
    filled: int                  # bars now present in the gap
    no_trades: int               # bar times history confirmed had no trade
    retries: int


@dataclass(frozen=True, slots=True)
class Stop:
    """The run ends: the stage's thread returns after the events before this one."""
