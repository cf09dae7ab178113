"""ReplayProvider: plays stored bars "as if live", at wall-clock pace times a speed factor.

The replay drives a `ReplayClock` (market time = start + wall elapsed x speed) that the live
coordinator shares, so a 60x replay delivers one market minute per wall second. Each bar is
delivered when the clock passes its END (a 09:30 bar at 09:31), like a real feed. To exercise gap
filling and late data, a seeded fraction of bars can be dropped (never streamed; the history
request still returns them, as a real provider's REST history would) or delayed by
`delay_seconds` of market time. After the bars of a bar time the replay says the bar time is
complete (unless one of its bars is delayed), so the coordinator need not wait for symbols that
have no bar then (thin symbols). Between sessions the clock skips the overnight pause.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time

import numpy as np

from workstation.calendar import TimeManager
from workstation.errors import ProviderError
from workstation.live.provider import HistoryAnswer, MarketDataProvider, ProviderHealth
from workstation.model import Bar, ns_array, parse_interval

log = logging.getLogger(__name__)


class ReplayClock:
    """Market time advancing `speed` times faster than the wall; can skip idle time forward.

    `held`: the clock stays at its start until `rebase()` (a live run's replay clock, built before the
    monitor's Start: it shows the time the replay will start from, not one that runs on meanwhile).
    """

    def __init__(self, start_ns: int, speed: float, held: bool = False):
        if speed <= 0:
            raise ValueError(f"replay speed must be > 0, got {speed}")
        self.speed = float(speed)
        self.origin_ns = int(start_ns)  # the configured start: what the replay streams from
        self._start = int(start_ns)
        self._held = held
        self._wall0 = time.perf_counter_ns()
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        if self._held:
            return self._start
        return self._start + int((time.perf_counter_ns() - self._wall0) * self.speed)

    def rebase(self) -> None:
        """Restart the pace from the configured start (called when the run starts); a held clock runs."""
        with self._lock:
            self._wall0 = time.perf_counter_ns()
            self._held = False

    def skip_to(self, market_ns: int) -> None:
        """Jump forward (never backwards) to `market_ns`, e.g. over the overnight pause."""
        with self._lock:
            now = self.now_ns()
            if market_ns > now:
                self._start += market_ns - now

    def wall_seconds_until(self, market_ns: int) -> float:
        return max(0.0, (market_ns - self.now_ns()) / 1e9 / self.speed)


class ReplayProvider(MarketDataProvider):
    """Streams bars from a BarStore; `request_history` answers from the store too."""

    def __init__(self, store, time_manager: TimeManager, clock: ReplayClock, drop_fraction: float = 0.0,
                 delay_fraction: float = 0.0, delay_seconds: float = 5.0, seed: int = 7,
                 end_date=None, name: str = "replay", drop_runs=None):
        super().__init__(name, clock)
        if not 0 <= drop_fraction < 1 or not 0 <= delay_fraction < 1:
            raise ProviderError(f"drop_fraction and delay_fraction must be in [0, 1): got {drop_fraction}, "
                                f"{delay_fraction}")
        self.store = store
        self.tm = time_manager
        self.clock = clock
        self.drop_fraction = drop_fraction
        self.delay_fraction = delay_fraction
        self.delay_ns = int(delay_seconds * 1e9)
        self.end_date = end_date
        self.drop_runs = list(drop_runs or [])         # (symbol, start_ns, end_ns): bars dropped on purpose
        self._rng = np.random.default_rng(seed)
        self._symbols: list[str] = []
        self._interval = "1m"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped: list[tuple[str, int]] = []       # (symbol, bar start) never streamed
        self.delayed: list[tuple[str, int]] = []
        self.history_requests = 0
        self.fail_history = 0                          # tests: fail this many history requests

    # ------------------------------------------------------------------ interface
    def subscribe(self, symbols: list[str], intervals: list[str]) -> None:
        self._symbols = [s.upper() for s in symbols]
        if intervals:
            self._interval = parse_interval(intervals[0]).name

    def connect(self) -> None:
        self._set_health(ProviderHealth.CONNECTING, "opening the bar store")
        self._thread = threading.Thread(target=self._run_guarded, name=f"{self.name}-replay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        self._set_health(ProviderHealth.DISCONNECTED, "closed", asked=True)

    def request_history(self, symbol: str, interval: str, start_ns: int, end_ns: int,
                        timeout: float = 10.0) -> list[Bar]:
        return self.request_history_many([symbol], interval, start_ns, end_ns, timeout)[symbol]

    def request_history_many(self, symbols: list[str], interval: str, start_ns: int, end_ns: int,
                             timeout: float = 30.0) -> HistoryAnswer:
        """Stored bars of `symbols` in [start_ns, end_ns), one store read for all of them."""
        self.history_requests += 1
        if self.fail_history > 0:
            self.fail_history -= 1
            raise ProviderError(f"replay history request for {', '.join(symbols)} failed (simulated failure)")
        out = HistoryAnswer({s: [] for s in symbols})
        out.served_at_ns = self.clock.now_ns()
        df = self.store.read_bars(list(symbols), interval, start_ns, end_ns, rth_only=True)
        ts = ns_array(df["timestamp"]).tolist()
        cols = [df[c].to_numpy(float).tolist() for c in ("open", "high", "low", "close", "volume")]
        for sym, t, o, h, lo, c, v in zip(df["symbol"].tolist(), ts, *cols, strict=True):
            out[sym].append(Bar(sym, interval, int(t), o, h, lo, c, v))
        return out

    # ------------------------------------------------------------------ thread
    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - reported as health
            log.exception("replay provider failed")
            self._set_health(ProviderHealth.FAILED, f"replay failed: {type(exc).__name__}: {exc}")

    def _run(self) -> None:
        step = parse_interval(self._interval).ns
        day = self.tm.first_trading_date_on_or_after(_local_date(self.clock.now_ns(), self.tm.tz))
        self._set_health(ProviderHealth.STREAMING, "replaying stored bars")
        late: list[tuple[int, int, Bar]] = []
        seq = 0
        while not self._stop.is_set():
            if self.end_date is not None and day > self.end_date:
                break
            session = self.tm.session(day)
            assert session is not None, f"{day} comes from the calendar's trading dates"
            arrays = self.store.read_session_arrays(day, self._interval, self._symbols, rth_only=True)
            if session.open_ns > self.clock.now_ns():
                self.clock.skip_to(session.open_ns)
            ts_all = arrays.timestamp
            order = np.arange(len(ts_all))
            n = len(order)
            drop = self._rng.random(n) < self.drop_fraction
            for sym, a, b in self.drop_runs:
                if sym in self._symbols:
                    j = self._symbols.index(sym)
                    drop |= (arrays.symbol_index == j) & (ts_all >= a) & (ts_all <= b)
            delay = (self._rng.random(n) < self.delay_fraction) & ~drop
            k = 0
            while k < n and not self._stop.is_set():
                t = int(ts_all[k])
                due = t + step
                if due <= self.clock.origin_ns and not late:
                    # started in the middle of a session: bars that ended before the start are the
                    # live run's catch-up (from history); every later bar is streamed, even when this
                    # thread starts late (a busy machine at a high speed), so none falls between the two
                    k += 1
                    continue
                self._flush_late(late, self.clock.now_ns())
                wait = self.clock.wall_seconds_until(due)
                if wait > 0:
                    next_late = late[0][0] if late else None
                    if next_late is not None and next_late < due:
                        if self._stop.wait(self.clock.wall_seconds_until(next_late)):
                            return
                        continue
                    if self._stop.wait(wait):
                        return
                j = k
                while j < n and ts_all[j] == t:
                    j += 1
                for i in range(k, j):
                    sym = self._symbols[int(arrays.symbol_index[i])]
                    bar = Bar(sym, self._interval, t, float(arrays.open[i]), float(arrays.high[i]),
                              float(arrays.low[i]), float(arrays.close[i]), float(arrays.volume[i]))
                    if drop[i]:
                        self.dropped.append((sym, t))
                    elif delay[i]:
                        self.delayed.append((sym, t))
                        seq += 1
                        heapq.heappush(late, (due + self.delay_ns, seq, bar))
                    else:
                        self._record_message(self.clock.now_ns())
                        self._deliver_bar(bar, self.clock.now_ns())
                if not delay[k:j].any():
                    # nothing of this bar time is still to come (a dropped bar never comes): say so,
                    # so the bar time is processed at once instead of after the quiet window
                    self._deliver_bar_time_complete(self._interval, t, self.clock.now_ns())
                k = j
            while late and not self._stop.is_set():
                if self._stop.wait(self.clock.wall_seconds_until(late[0][0])):
                    return
                self._flush_late(late, self.clock.now_ns())
            day = self.tm.next_trading_date(day)
        self._set_health(ProviderHealth.QUIET, "replay reached the end of the stored data")

    def _flush_late(self, late: list, now: int) -> None:
        while late and late[0][0] <= now:
            _, _, bar = heapq.heappop(late)
            self._record_message(now)
            self._deliver_bar(bar, now)


def _local_date(ts_ns: int, tz: str):
    import pandas as pd

    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").tz_convert(tz).date()
