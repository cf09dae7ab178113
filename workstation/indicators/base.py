"""Base of the incremental indicators: one object updates many bar series ("lanes") at once.

A lane is one symbol of one interval. At each bar time the caller passes the indices of the lanes
that have a new bar and the matching input arrays; the update is a handful of numpy operations for
all of them, with no Python loop over lanes. A lane that gets no bar at a time is left untouched
(each lane is its own bar sequence). With ``lanes=1`` an indicator is an ordinary single-series
incremental indicator: ``ind.update(101.25)``; ``ind.value_of()``.

Inputs must be finite floats; lane indices passed to one call must be unique and in range.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from workstation.errors import WorkstationError, counted
from workstation.indicators.block import WarmupBlock

__all__ = [
    "Indicator",
    "IndicatorError",
    "SCALAR_LANES",
    "Smoothing",
    "check_period",
    "constant",
    "format_number",
    "gain_of",
    "smoothing_constants",
]

_INT64 = np.dtype(np.int64)
_PYTHON_SERIES_LANES = 24
"""`Smoothing.series` steps up to this many lanes one by one in Python floats (about 0.1 us a step),
more lanes all at once per input with numpy (about 4 us a step, whatever the lanes)."""
_FLOAT64 = np.dtype(np.float64)
SCALAR_LANES = 4
"""An update of at most this many lanes runs in Python floats, lane by lane, in the indicators that have
such a path (SMA, EMA, RSI, VWAP: the example configs' stream indicators): the same IEEE operations in
the same order as their numpy path, so the same values bit for bit, without numpy's fixed cost per call
(~1 us each, ~10 calls an update), which is most of a bar time's work when a config replays one or two
symbols. More lanes: numpy, whose cost hardly grows with them."""


class IndicatorError(WorkstationError, ValueError):
    """An indicator argument, spec or input is invalid; the message names it and its value."""


def check_period(argument: str, value: object, minimum: int = 1) -> int:
    """Return `value` as an int, or raise IndicatorError naming `argument` if it is not an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise IndicatorError(f"{argument} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def smoothing_constants(com: float) -> tuple[float, float, float]:
    """(alpha, 1 - alpha, denominator) of exponential smoothing with centre of mass `com`.

    The step ``new = ((1 - alpha) * prev + alpha * x) / ((1 - alpha) + alpha)`` (skipped when
    ``prev == x``) is the arithmetic of pandas' ``ewm(com=com, adjust=False).mean()`` kernel, so the
    vectorised batch path (`compute_series`) reproduces the incremental values bit for bit.
    EMA(period) uses ``com = (period - 1) / 2`` (alpha = 2 / (period + 1)); Wilder smoothing uses
    ``com = period - 1`` (alpha = 1 / period, i.e. ``(prev * (period - 1) + x) / period``).
    """
    alpha = 1.0 / (1.0 + com)
    one_minus = 1.0 - alpha
    return alpha, one_minus, one_minus + alpha


def gain_of(change: float) -> float:
    """``np.fmax(change, 0.0)`` of one float, signed zero included (fmax keeps -0.0; NaN gives 0.0)."""
    return change if change >= 0.0 else 0.0


def constant(value: float | int) -> np.ndarray:
    """0-d array constant: numpy combines it with small arrays faster than a Python scalar (never mutated)."""
    return np.array(value)


class Smoothing:
    """Exponential smoothing step with centre of mass `com`, vectorised (see `smoothing_constants`)."""

    def __init__(self, com: float):
        self.alpha, self.one_minus, self.denom = smoothing_constants(com)
        self._alpha = constant(self.alpha)
        self._one_minus = constant(self.one_minus)
        self._denom = constant(self.denom)

    def step(self, prev: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Smoothed values after one new input `x` per lane; NaN `prev` stays NaN."""
        mixed = self._one_minus * prev
        mixed += self._alpha * x
        if self.denom != 1.0:
            mixed /= self._denom
        return np.where(prev == x, prev, mixed)

    def step_scalar(self, prev: float, x: float) -> float:
        """`step` of one lane in Python floats: the same operations in the same order, the same value
        (`series` writes the same step out inline, for its loop over a warm-up's inputs)."""
        mixed = self.one_minus * prev
        mixed += self.alpha * x
        if self.denom != 1.0:
            mixed /= self.denom
        return prev if prev == x else mixed

    def series(self, first: np.ndarray, inputs: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """[m + 1, lanes]: row 0 `first` (each lane's value before its inputs), row k + 1 the value
        after `step` with input row k, for the first `counts[lane]` rows of `inputs` ([m, lanes],
        time-major); rows past a lane's count are not defined. The same floats as `step` one input
        at a time: with few lanes the step is written out in Python floats (IEEE doubles, the same
        operations in the same order: (one_minus * prev + alpha * x) / denom, kept where prev == x)."""
        m, lanes = inputs.shape
        out = np.full((m + 1, lanes), np.nan)
        out[0] = first
        if lanes <= _PYTHON_SERIES_LANES:
            one_minus, alpha, denom = self.one_minus, self.alpha, self.denom
            divide = denom != 1.0
            for lane in range(lanes):
                prev = float(first[lane])
                values = []
                for x in inputs[: counts[lane], lane].tolist():
                    if prev != x:
                        prev = one_minus * prev + alpha * x
                        if divide:
                            prev /= denom
                    values.append(prev)
                out[1 : len(values) + 1, lane] = values
        else:
            for k in range(m):
                out[k + 1] = self.step(out[k], inputs[k])
        return out


class Indicator(ABC):
    """Incremental indicator vectorised over lanes; subclasses define state, inputs and outputs.

    Subclasses set the class attributes, build their parameters, then call ``super().__init__``,
    and implement `_fresh_state` (the per-lane arrays of a brand-new lane, keyed by attribute name,
    first axis = lane) and `_update` (one step for the lanes in an int64 index array).
    ``_warming`` is True while some lane may still be in its warm-up (set on creation, reset and
    grow); `_update` may skip its warm-up branch when it is False and calls `_note_warmup` otherwise.
    """

    kind: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ("close",)
    output_attrs: ClassVar[dict[str, str]] = {"value": "_out_value"}
    # updates of at most this many lanes take the Python-float path where a subclass has one (SCALAR_LANES)
    scalar_lanes: ClassVar[int] = SCALAR_LANES
    # Per-lane state (first axis = lane), installed from `_fresh_state`; subclasses declare theirs.
    _count: np.ndarray

    def __init__(self, spec: str, warmup: int, lanes: int = 1, children: tuple[Indicator, ...] = ()):
        self._spec = spec
        self._warmup = warmup
        self._n_lanes = check_period("lanes", lanes, minimum=0)
        self._children = children
        self._all_lanes = np.arange(self._n_lanes, dtype=np.int64)
        self._primary_attr = next(iter(self.output_attrs.values()))
        self._warming = True
        self._install(self._fresh_state(self._n_lanes))

    # -- subclass hooks -------------------------------------------------------------------------
    @abstractmethod
    def _fresh_state(self, n: int) -> dict[str, np.ndarray]:
        """Per-lane state arrays of `n` new lanes (must include ``_count`` and every output attr)."""

    @abstractmethod
    def _update(self, idx: np.ndarray, *inputs: Any) -> None:
        """Advance the lanes `idx` (unique int64) by one input each; inputs are float64 aligned with idx.

        Subclasses name their inputs (one float64 array per entry of `fields`), hence ``Any`` here."""

    # -- public API -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Short key of this indicator, the canonical spec (e.g. ``sma(20)``)."""
        return self._spec

    @property
    def spec(self) -> str:
        """Canonical spec string; `make_indicator(spec)` rebuilds an indicator with the same parameters."""
        return self._spec

    @property
    def n_lanes(self) -> int:
        """Number of lanes (series) this object holds."""
        return self._n_lanes

    @property
    def warmup(self) -> int:
        """Number of inputs a lane needs before it is ready."""
        return self._warmup

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the outputs returned by `outputs`, primary (`value`) first."""
        return tuple(self.output_attrs)

    @property
    def count(self) -> np.ndarray:
        """Inputs received per lane since creation or the lane's last reset (copy)."""
        return self._count.copy()

    @property
    def value(self) -> np.ndarray:
        """Primary output per lane (float64 copy), NaN where the lane is not ready."""
        return getattr(self, self._primary_attr).copy()

    def values_at(self, lanes: np.ndarray) -> np.ndarray:
        """Primary output of the listed lanes (a new array), NaN where a lane is not ready; the same
        as `value[lanes]` without copying every lane first."""
        return getattr(self, self._primary_attr)[lanes]

    def ready_at(self, lanes: np.ndarray) -> np.ndarray:
        """`ready[lanes]`: whether each listed lane is past its warm-up."""
        if type(self).ready is not Indicator.ready:       # a subclass with its own readiness
            return self.ready[lanes]
        return self._count[lanes] >= self._warmup

    @property
    def ready(self) -> np.ndarray:
        """Per-lane bool: warm-up done, every output available."""
        return self._count >= self._warmup

    @property
    def all_ready(self) -> bool:
        """True when every lane is known to be past its warm-up (`ready_at` is then all True), so a
        caller can skip masking by readiness; False while some lane may still warm up."""
        return not self._warming and type(self).ready is Indicator.ready

    def outputs(self) -> dict[str, np.ndarray]:
        """All outputs by name (copies, shape (n_lanes,)), NaN where not ready."""
        return {name: getattr(self, attr).copy() for name, attr in self.output_attrs.items()}

    def value_of(self, lane: int = 0) -> float:
        """Primary output of one lane (NaN if not ready)."""
        return float(getattr(self, self._primary_attr)[lane])

    def ready_of(self, lane: int = 0) -> bool:
        """Whether one lane is ready."""
        return bool(self.ready[lane])

    def update(self, *inputs: float | np.ndarray, lanes: np.ndarray | None = None) -> None:
        """Feed one new bar to each lane in `lanes` (all lanes when None).

        `inputs` follow `fields` (e.g. close, or high, low, close[, volume]); each is an array aligned
        with `lanes` or a scalar applied to every listed lane. Lanes not listed are left untouched.
        """
        if lanes is None:
            idx = self._all_lanes
        elif type(lanes) is np.ndarray and lanes.dtype is _INT64 and lanes.ndim == 1:
            idx = lanes
        else:
            idx = self._lane_index(lanes)
        n = idx.shape[0]
        if len(inputs) != len(self.fields):
            raise IndicatorError(
                f"{self._spec} takes {counted(len(self.fields), 'input')} ({', '.join(self.fields)}), got {len(inputs)}"
            )
        if n == 0:
            return
        for value in inputs:
            if type(value) is not np.ndarray or value.dtype is not _FLOAT64 or value.shape != (n,):
                inputs = tuple(
                    self._input_array(field, x, n) for field, x in zip(self.fields, inputs, strict=True)
                )
                break
        self._update(idx, *inputs)

    def warm_up(self, block: WarmupBlock) -> None:
        """Feed every lane its inputs in `block` (many update calls at once, e.g. the bars before a
        run's first session): the same state and outputs as the block's calls one `update` after
        another, bit for bit. Each lane's whole sequence is fed in one go (`_feed_block`) when no lane
        has had an input since its creation or reset; else call after call."""
        if block.n_lanes != self._n_lanes:
            raise IndicatorError(f"{self._spec}: a warm-up block of {block.n_lanes} lanes, expected {self._n_lanes}")
        if not block.calls:
            return
        if self._count.any() or type(self)._feed_block is Indicator._feed_block:
            for j in range(block.calls):
                self.update(*(block.call_inputs(j, field) for field in self.fields), lanes=block.call_lanes(j))
            return
        fed = block.fed
        self._feed_block(block, fed, block.lengths[fed], *(block.series(field) for field in self.fields))

    def _feed_block(self, block: WarmupBlock | None, lanes: np.ndarray, counts: np.ndarray, *inputs: Any) -> Any:
        """Feed fresh lanes `lanes` (no input yet) their inputs in one go: per field a [rows, len(lanes)]
        time-major matrix, column c lane lanes[c]'s inputs, its first `counts[c]` (>= 1) rows valid.
        `block` (None when called by a parent indicator with inputs of its own): the update calls
        they came from. The state afterwards is what `_update` call after call leaves. Optional: an
        indicator without it is warmed up call after call."""
        raise NotImplementedError

    def _lane_index(self, lanes: object) -> np.ndarray:
        idx = np.asarray(lanes)
        if idx.dtype.kind not in "iu":
            raise IndicatorError(f"{self._spec}: lanes must be integer indices, got dtype {idx.dtype}")
        if idx.ndim != 1:
            raise IndicatorError(f"{self._spec}: lanes must be 1-D, got shape {idx.shape}")
        return idx.astype(np.int64, copy=False)

    def _input_array(self, field: str, value: object, n: int) -> np.ndarray:
        if n == 1 and isinstance(value, float | int):
            return np.array((value,), dtype=np.float64)
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape == (n,):
            return arr
        if arr.ndim != 0:
            raise IndicatorError(
                f"{self._spec}: input {field!r} has shape {arr.shape}, expected ({n},) to match the lanes"
            )
        return np.full(n, float(arr))

    def reset(self, lanes: np.ndarray | None = None) -> None:
        """Forget all history of every lane (None) or of the given lanes, e.g. at a session open."""
        if lanes is None:
            self._install(self._fresh_state(self._n_lanes))
        else:
            idx = np.asarray(lanes, dtype=np.int64).reshape(-1)
            for attr, fresh in self._fresh_state(idx.shape[0]).items():
                getattr(self, attr)[idx] = fresh
        self._warming = True
        for child in self._children:
            child.reset(lanes)

    def load_lane(self, lane: int, source: Indicator, source_lane: int = 0) -> None:
        """Give lane `lane` the state of `source`'s lane `source_lane` (an indicator of the same spec):
        every per-lane array, its children's too; the other lanes keep theirs. With `warm_up` of a
        fresh one-lane indicator this rebuilds one lane from its whole history in one go (the same
        state, bit for bit, as resetting the lane and feeding it update after update)."""
        if source.spec != self._spec or type(source) is not type(self):
            raise IndicatorError(f"{self._spec}: cannot load a lane of {source.spec}")
        for attr in self._fresh_state(0):
            getattr(self, attr)[lane] = getattr(source, attr)[source_lane]
        self._warming = True
        for child, other in zip(self._children, source._children, strict=True):
            child.load_lane(lane, other, source_lane)
        self._lanes_changed()

    def _lanes_changed(self) -> None:
        """Hook: after `load_lane`, recompute what the indicator keeps across its lanes (SMA's resum
        schedule); nothing by default."""
        return None

    def grow(self, n_lanes: int) -> None:
        """Resize to `n_lanes` lanes in total (>= current); existing lanes keep their state."""
        n_lanes = check_period("n_lanes", n_lanes, minimum=0)
        if n_lanes < self._n_lanes:
            raise IndicatorError(f"n_lanes must be >= the current {self._n_lanes} lanes, got {n_lanes}")
        extra = n_lanes - self._n_lanes
        if extra:
            for attr, fresh in self._fresh_state(extra).items():
                setattr(self, attr, np.concatenate([getattr(self, attr), fresh]))
            self._n_lanes = n_lanes
            self._all_lanes = np.arange(n_lanes, dtype=np.int64)
            self._warming = True
        for child in self._children:
            child.grow(n_lanes)

    def _install(self, state: dict[str, np.ndarray]) -> None:
        for attr, arr in state.items():
            setattr(self, attr, arr)
        self._warming = True

    def _note_warmup(self) -> None:
        """Clear `_warming` once every lane is past its warm-up, so updates can skip warm-up handling."""
        if self._count.min() >= self._warmup:
            self._warming = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._spec!r}, lanes={self._n_lanes})"


def format_number(value: float) -> str:
    """Shortest spec text of a float parameter: 2.0 -> '2', 2.5 -> '2.5'."""
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return repr(float(value))
