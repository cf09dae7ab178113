"""Grouping bars into bar times: the one function every path that streams or replays stored bars
uses (the session coordinator, the indicator warm-up, the window's pre-run bars).

Input: bar starts (int64 ns UTC) sorted by time, several symbols per time. A bar time is the run
of rows sharing one bar start.
"""

from __future__ import annotations

import numpy as np


def bar_time_slices(ts: np.ndarray) -> tuple[list[int], list[int]]:
    """Start and end row of each bar time in arrays sorted by time (one slice per bar time):
    rows starts[k]:ends[k] hold bar time k."""
    if not len(ts):
        return [], []
    bounds = np.flatnonzero(np.diff(ts)) + 1
    return np.concatenate(([0], bounds)).tolist(), np.concatenate((bounds, [len(ts)])).tolist()
