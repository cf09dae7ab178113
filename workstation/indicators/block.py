"""WarmupBlock: many update calls of an indicator given at once (a warm-up), so that it can feed each
lane its whole sequence of inputs in one go instead of one call after another.

Built from the calls in order: per call the lanes it feeds (unique int64 indices) and, per input
field, the values aligned with them. A lane's inputs are the values it got, call after call (lanes
are independent: a lane's state depends on its own inputs only). `series(field)` lays them out
time-major and left-aligned for the lanes that got any (`fed`): row k holds each lane's (k+1)-th
input, NaN past its last one. `counts_after_calls()` gives every lane's input count after each
call, for state that depends on the calls themselves (SMA's resum schedule). Used by
`Indicator.warm_up`; the indicators run in the caller's thread (the processor's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["WarmupBlock"]


class WarmupBlock:
    """The inputs of `calls` update calls of an indicator with `n_lanes` lanes (see the module doc)."""

    def __init__(self, n_lanes: int, lanes: np.ndarray, bounds: np.ndarray, columns: dict[str, np.ndarray]):
        """`lanes`: the lane of every input, call after call; call j's inputs are rows
        bounds[j]:bounds[j + 1] (`bounds` increasing from 0 to len(lanes); a call feeding no lane is
        left out: an update of no lane does nothing); `columns[field]`: the values aligned with `lanes`."""
        self.n_lanes = int(n_lanes)
        self.lanes = np.asarray(lanes, dtype=np.int64)
        bounds = np.asarray(bounds, dtype=np.int64)
        # an empty call repeats a bound (not np.unique: it imports numpy.ma, kept off a run's start)
        self.bounds = bounds[np.concatenate(([True], bounds[1:] != bounds[:-1]))] if bounds.shape[0] else bounds
        self.calls = max(len(self.bounds) - 1, 0)
        self._columns = columns
        self._flat: dict[str, np.ndarray] = {}
        self._series: dict[str, np.ndarray] = {}
        self.lengths = np.bincount(self.lanes, minlength=self.n_lanes).astype(np.int64)
        self.fed = np.flatnonzero(self.lengths)
        order = np.argsort(self.lanes, kind="stable")
        first = np.cumsum(self.lengths) - self.lengths          # each lane's first input in `order`
        self.position = np.empty(self.lanes.shape[0], dtype=np.int64)
        self.position[order] = np.arange(self.lanes.shape[0]) - first[self.lanes[order]]
        self._rank = np.full(self.n_lanes, -1, dtype=np.int64)  # lane -> its column in `series`
        self._rank[self.fed] = np.arange(self.fed.shape[0])

    @classmethod
    def from_calls(cls, n_lanes: int, lanes: Sequence[np.ndarray], columns: dict[str, Sequence[np.ndarray]]
                   ) -> WarmupBlock:
        """From the calls one by one: `lanes[j]` the lanes call j feeds, `columns[field][j]` its
        values of `field`, aligned with `lanes[j]`."""
        sizes = np.array([len(idx) for idx in lanes], dtype=np.int64)
        flat_lanes = (np.concatenate([np.asarray(idx, dtype=np.int64) for idx in lanes]) if len(lanes)
                      else np.empty(0, dtype=np.int64))
        flat = {field: (np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]) if len(parts)
                        else np.empty(0)) for field, parts in columns.items()}
        return cls(n_lanes, flat_lanes, np.concatenate(([0], np.cumsum(sizes))), flat)

    @property
    def depth(self) -> int:
        """Inputs of the lane that got the most (the rows of `series`)."""
        return int(self.lengths.max()) if self.n_lanes else 0

    def flat(self, field: str) -> np.ndarray:
        """Every value of `field`, call after call (aligned with `lanes`), as float64."""
        values = self._flat.get(field)
        if values is None:
            values = self._flat[field] = np.asarray(self._columns[field], dtype=np.float64)
        return values

    def call_inputs(self, j: int, field: str) -> np.ndarray:
        """Call j's values of `field` (aligned with `call_lanes(j)`)."""
        return self.flat(field)[self.bounds[j]:self.bounds[j + 1]]

    def call_lanes(self, j: int) -> np.ndarray:
        return self.lanes[self.bounds[j]:self.bounds[j + 1]]

    def series(self, field: str) -> np.ndarray:
        """[depth, len(fed)] float64: column c is lane fed[c]'s inputs in order, NaN past its last."""
        matrix = self._series.get(field)
        if matrix is None:
            matrix = np.full((self.depth, self.fed.shape[0]), np.nan)
            matrix[self.position, self._rank[self.lanes]] = self.flat(field)
            self._series[field] = matrix
        return matrix

    def counts_after_calls(self) -> np.ndarray:
        """[calls, n_lanes] int64: each lane's inputs after call j (from the block's start)."""
        got = np.zeros((self.calls, self.n_lanes), dtype=np.int64)
        call = np.repeat(np.arange(self.calls), np.diff(self.bounds))
        got[call, self.lanes] = 1
        return np.cumsum(got, axis=0)


def previous_closes(before: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Each input's previous close in a [rows, lanes] block: `before` (the lanes' last close before
    the block) for the first row, the row above for the others."""
    previous = np.empty_like(close)
    previous[0] = before
    previous[1:] = close[:-1]
    return previous


def seeded_wilder_block(prior_sums: np.ndarray, values: np.ndarray, counts: np.ndarray, seed_rows: int,
                        period: int, smoothing) -> tuple[np.ndarray, np.ndarray]:
    """Wilder averages seeded by a plain sum, over a [rows, lanes] block of one input series per lane
    (RSI's gains and losses, ATR's true ranges): the running sums of the first `seed_rows` inputs
    (from `prior_sums`), and each lane's average after its `counts` inputs: NaN until `seed_rows`,
    then the seed sum / `period` smoothed by `smoothing.series` over the later inputs.
    Returns (the lanes' sums, their averages)."""
    columns = np.arange(values.shape[1])
    seed_sums = np.cumsum(np.concatenate((prior_sums[None, :], values[:seed_rows])), axis=0)
    sums = seed_sums[np.minimum(counts, seed_rows), columns]
    average = np.full(values.shape[1], np.nan)
    if values.shape[0] >= seed_rows:
        seed = seed_sums[seed_rows] / period
        smoothed = smoothing.series(seed, values[seed_rows:], np.maximum(counts - seed_rows, 0))
        seeded = counts >= seed_rows
        average[seeded] = smoothed[(counts - seed_rows)[seeded], columns[seeded]]
    return sums, average
