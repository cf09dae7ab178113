"""Bars per second as the window shows them (status bar, metrics panel), from samples of the run's bar
count taken every ~250 ms.

At a paced speed bars come a bar time at a time (60×: every symbol's bar once a second), so the
bars between two samples are 0 or a whole bar time's; a rate per sample, smoothed, swings between
0 and several times the real rate (60× on 5 symbols: shown 1, peak 11, against 5). The meter
measures between the samples at which bars arrived, over a window of a few bar times: the bars that
arrived after the window's first arrival, over the time to the last one.
"""

from __future__ import annotations

from collections import deque

__all__ = ["ThroughputMeter"]


class ThroughputMeter:
    """Throughput over the last `window_s(...)` seconds of a run's bar counts (see the module)."""

    MIN_WINDOW_S = 2.0
    """The shortest window (as fast as possible, or fast paced speeds)."""
    BAR_TIMES = 4
    """At a paced speed the window spans at least this many bar times."""
    MAX_WINDOW_S = 300.0

    def __init__(self) -> None:
        self._arrivals: deque[tuple[float, int]] = deque()   # (monotonic s, bars) when the count grew
        self._rate = 0.0

    def reset(self) -> None:
        """Forget the samples (a new run, a pause, a seek)."""
        self._arrivals.clear()
        self._rate = 0.0

    def window_s(self, bar_wall_s: float | None) -> float:
        """The window at a paced speed with one bar time every `bar_wall_s` seconds (None: unpaced)."""
        if not bar_wall_s or bar_wall_s <= 0:
            return self.MIN_WINDOW_S
        return min(max(self.MIN_WINDOW_S, self.BAR_TIMES * bar_wall_s), self.MAX_WINDOW_S)

    def sample(self, now: float, bars: int, bar_wall_s: float | None = None) -> float:
        """Take the bar count at `now` (monotonic seconds); the rate to show, in bars per second."""
        arrivals = self._arrivals
        if arrivals and bars < arrivals[-1][1]:      # counted again from fewer (a new run, a seek back)
            self.reset()
        window = self.window_s(bar_wall_s)
        if not arrivals or bars != arrivals[-1][1]:
            arrivals.append((now, bars))
        while len(arrivals) > 2 and now - arrivals[1][0] >= window:
            arrivals.popleft()
        if now - arrivals[-1][0] >= window:        # nothing arrived for a whole window: stalled
            self._rate = 0.0
        elif len(arrivals) >= 2 and arrivals[-1][0] - arrivals[0][0] >= 0.2:
            (t0, b0), (t1, b1) = arrivals[0], arrivals[-1]
            self._rate = (b1 - b0) / (t1 - t0)
        return self._rate
