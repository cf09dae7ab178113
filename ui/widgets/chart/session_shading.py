"""Session shading: which of the chart's bars lie in the pre-market or the post-market, and which in the
closing window of the session-close rule (risk.flatten_before_close_minutes).

Given the regular open and close (int64 ns UTC, ascending, one pair per trading day) by the chart's
owner (from the engine's calendar, when the run replays extended hours), `bands` answers the runs of
visible bars that start outside the regular session, as chart x ranges with their kind ("pre": the
bar is nearer the next open than the last close; "post": otherwise). Bars are the chart's bar
STARTS; an intraday bar belongs to the session whose hours hold its start. No regular hours given,
or a daily chart: no bands. Closing windows (`set_closing_windows`: from each session's flatten time to
its regular close, where the rule is set) are kind 3 ("closing"): the bars from which the engine closes
every position and refuses the strategies' orders. UI thread only (no Qt here: the grid item paints the
bands).
"""

from __future__ import annotations

import numpy as np

from ui.widgets.chart.bar_store import ChartBars

NS_PER_DAY = 86_400_000_000_000


def _day_spans(starts_ns: np.ndarray | None, ends_ns: np.ndarray | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    """One [start, end) per day as int64 ns arrays (empty for None); ValueError naming `what` when they do
    not pair up or the starts do not ascend."""
    if starts_ns is None or ends_ns is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts, ends = np.asarray(starts_ns, dtype=np.int64), np.asarray(ends_ns, dtype=np.int64)
    if len(starts) != len(ends) or (len(starts) > 1 and np.any(np.diff(starts) <= 0)):
        raise ValueError(f"{what}: starts and ends must pair up, starts ascending")
    return starts, ends


class SessionShading:
    """The pre/post-market runs of a ChartBars' visible bars."""

    def __init__(self, bars: ChartBars):
        self._bars = bars
        self._opens = np.empty(0, dtype=np.int64)
        self._closes = np.empty(0, dtype=np.int64)
        self._window_starts = np.empty(0, dtype=np.int64)
        self._window_ends = np.empty(0, dtype=np.int64)

    @property
    def enabled(self) -> bool:
        return len(self._opens) > 0 or len(self._window_starts) > 0

    def set_closing_windows(self, starts_ns: np.ndarray | None, ends_ns: np.ndarray | None) -> None:
        """The session-close rule's window of every day the chart may show: [flatten time, regular close)
        (None: no rule, shade nothing)."""
        self._window_starts, self._window_ends = _day_spans(starts_ns, ends_ns, "closing windows")

    def set_regular_hours(self, opens_ns: np.ndarray | None, closes_ns: np.ndarray | None) -> None:
        """Regular open and close of every day the chart may show (None: shade nothing)."""
        self._opens, self._closes = _day_spans(opens_ns, closes_ns, "regular hours")

    def outside(self, ts: np.ndarray) -> np.ndarray:
        """Per bar start: 0 inside the regular session, 1 pre-market, 2 post-market, 3 in a closing
        window (see the module docstring)."""
        ts = np.asarray(ts, dtype=np.int64)
        out = np.zeros(len(ts), dtype=np.int8)
        if not len(ts):
            return out
        if len(self._opens):
            k = np.searchsorted(self._opens, ts, side="right") - 1          # the last open at or before ts
            kc = np.maximum(k, 0)
            inside = (k >= 0) & (ts < self._closes[kc])
            since_close = np.where(k >= 0, ts - self._closes[kc], np.iinfo(np.int64).max)
            nxt = np.minimum(k + 1, len(self._opens) - 1)
            to_open = np.where(k + 1 < len(self._opens), self._opens[nxt] - ts, np.iinfo(np.int64).max)
            out[~inside] = np.where(to_open[~inside] < since_close[~inside], 1, 2)
        if len(self._window_starts):
            k = np.searchsorted(self._window_starts, ts, side="right") - 1  # the last window start at or before ts
            out[(k >= 0) & (ts < self._window_ends[np.maximum(k, 0)])] = 3
        return out

    def bands(self, x0: float, x1: float) -> list[tuple[float, float, int]]:
        """Runs of visible bars (x in [x0, x1]) outside the regular session or in a closing window:
        (x_from, x_to, kind) with kind 1 = pre-market, 2 = post-market, 3 = closing; bar i spans x
        i - 0.5 .. i + 0.5."""
        bars = self._bars
        n = bars.n
        ts = bars.ts[:n]
        if bars.forming is not None:
            ts = np.append(ts, bars.forming.ts)
        if not self.enabled or len(ts) < 1 or bars.median_step_ns() >= NS_PER_DAY:
            return []
        i0 = max(0, int(np.floor(x0)))
        i1 = min(len(ts) - 1, int(np.ceil(x1)))
        if i1 < i0:
            return []
        kind = self.outside(ts[i0:i1 + 1])
        change = np.flatnonzero(np.diff(kind)) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [len(kind)]))
        return [(i0 + a - 0.5, i0 + b - 0.5, int(kind[a])) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
                if kind[a]]
