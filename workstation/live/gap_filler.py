"""GapFiller: fills live gaps from the provider's history, in batches, never blocking the pipeline.

The quality manager reports each gap (a run of missing bar times of one symbol). The filler waits
`first_delay_s` (a merely late bar gets the chance to arrive) and until the gap's last bar time has
settled (`KnownEmptyMinutes.settle_ns` of live clock after its end), then takes every gap due at
that moment and asks the history only for the bar times still unknown: not present in SessionData
and not known to have had no trade. Contiguous unknown bar times form ranges; gaps of different
symbols with the same range share one multi-symbol request (`request_history_many`), so a drop of
100 symbols' minutes is one request, not 100, and a minute known empty is never asked for again.

Outcome per gap (status, counts on the Gap):
    filled     every missing bar time now has a bar or is known empty, at least one bar came
    no_trades  every missing bar time is known empty (the symbol did not trade)
    pending    waiting for the first attempt or a retry
    failed     history requests failed `max_retries` times after the first one (kept listed)
A request error is retried every `retry_interval_seconds` (wall time); so are bar times the answer
left unresolved (not yet settled). Every attempt is logged (the run folder's gap-fill log).

Owner of the gap status: a gap handed to the filler (`submit`) is the filler's; only the filler's
thread writes its status and counts (PENDING when taken in, FILLED / NO_TRADES / FAILED when
settled), and every change is reported as a GapStatusChanged message (`on_status`) for the quality
stage, which applies it to its own record in its own thread. Fetched bars are not the filler's to
insert: `deliver(gap, bars)` hands them to the live feed, which has the coordinator insert them;
the feed then calls `fill_applied(gap)` and the filler settles the gap from what is present.

Threads: one background thread; `submit(gap)` and `fill_applied(gap)` from any thread (they only
queue); `deliver` and `on_status` are called from the filler thread and must only queue.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from workstation.errors import ProviderError
from workstation.live.known_empty import KnownEmptyMinutes
from workstation.pipeline.feed import GapStatusChanged
from workstation.pipeline.quality import Gap, GapStatus

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0


def unknown_runs(starts: list[int], step_ns: int) -> list[tuple[int, int]]:
    """Sorted bar starts -> contiguous runs as [first, last + step) ranges."""
    runs: list[tuple[int, int]] = []
    for ts in starts:
        if runs and ts == runs[-1][1]:
            runs[-1] = (runs[-1][0], ts + step_ns)
        else:
            runs.append((ts, ts + step_ns))
    return runs


class GapFiller:
    """One background thread; `submit(gap)` from any thread."""

    def __init__(self, provider, deliver: Callable[[Gap, list], None], interval: str, step_ns: int,
                 max_retries: int, retry_interval_s: float, events=None, first_delay_s: float = 0.0,
                 present_starts: Callable[[Gap], Iterable[int]] | None = None,
                 known_empty: KnownEmptyMinutes | None = None, clock=None,
                 on_status: Callable[[GapStatusChanged], None] | None = None):
        self.provider = provider
        self.deliver = deliver
        self.interval = interval
        self.step_ns = step_ns
        self.max_retries = max_retries
        self.retry_interval_s = retry_interval_s
        self.events = events
        self.first_delay_s = first_delay_s      # give a merely late bar time to arrive before asking
        self.present_starts = present_starts    # bar starts of the gap already in SessionData
        self.on_status = on_status              # every status change (filler thread)
        self.known_empty = known_empty if known_empty is not None else KnownEmptyMinutes(step_ns, 0)
        self.clock = clock
        self.log: list[dict] = []
        self.gaps: list[Gap] = []
        self.requests: list[dict[str, Any]] = []   # every history request: symbols, range, outcome
        self._heap: list[tuple[float, int, Gap]] = []
        self._incoming: list[tuple[float, Gap]] = []    # submitted, not taken in by the thread yet
        self._awaiting: dict[int, tuple[Gap, str | None]] = {}  # bars delivered, not inserted yet
        self._applied: list[Gap] = []                   # bars inserted, gap to settle
        self._seq = 0
        self._cond = threading.Condition()
        self._stop = False
        self._busy = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="GapFiller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, gap: Gap) -> None:
        self.submit_many([gap])

    def submit_many(self, gaps: list[Gap]) -> None:
        """Hand gaps over for filling (one wake-up of the filler's thread for all of them); from now on
        they are the filler's: the caller keeps its own record and learns of changes from `on_status`."""
        if not gaps:
            return
        now = time.monotonic()
        due = [now + max(self.first_delay_s, self._settle_wait_s(gap)) for gap in gaps]
        with self._cond:
            self._incoming.extend(zip(due, gaps, strict=True))
            self._cond.notify_all()

    def fill_applied(self, gap: Gap) -> None:
        """The bars delivered for `gap` were inserted (or refused): settle it (any thread; queues)."""
        with self._cond:
            self._applied.append(gap)
            self._cond.notify_all()

    def _settle_wait_s(self, gap: Gap) -> float:
        """Wall seconds until the gap's last bar time has settled on the live clock."""
        clock = self.clock
        if clock is None:
            return 0.0
        settled_at = gap.end_ns + self.step_ns + self.known_empty.settle_ns
        speed = float(getattr(clock, "speed", 1.0) or 1.0)
        return max(0.0, (settled_at - clock.now_ns()) / 1e9 / speed)

    def _push(self, due: float, gap: Gap) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, gap))
        self._cond.notify_all()

    def _outstanding(self) -> int:
        return len(self._heap) + self._busy + len(self._incoming) + len(self._awaiting) + len(self._applied)

    def pending(self) -> int:
        """Gaps waiting for a first attempt or a retry, being requested, or whose bars are being inserted."""
        with self._cond:
            return self._outstanding()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no gap is pending or being retried (bounded); True if idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._outstanding() and not self._stop:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    # ------------------------------------------------------------------------------ thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._incoming and not self._applied and (
                        not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stop:
                    return
                incoming, self._incoming = self._incoming, []
                applied, self._applied = self._applied, []
                settle = [self._awaiting.pop(id(gap)) for gap in applied if id(gap) in self._awaiting]
                for when, gap in incoming:           # taken in: the filler's from now on
                    self.gaps.append(gap)
                    self._push(when, gap)
                now = time.monotonic()
                batch = []
                while self._heap and self._heap[0][0] <= now:
                    batch.append(heapq.heappop(self._heap)[2])
                self._busy += len(batch) + len(settle)
            try:
                for _when, gap in incoming:
                    gap.status = GapStatus.PENDING
                    self._report(gap)
                for gap, retry_detail in settle:
                    self._settle_after_fill(gap, retry_detail)
                self._attempt(batch)
            except Exception:  # noqa: BLE001 - a bug here must not kill the filler thread
                log.exception("gap filler failed on %d gap(s)", len(batch))
            finally:
                with self._cond:
                    self._busy -= len(batch) + len(settle)
                    self._cond.notify_all()

    def _now_ns(self) -> int:
        return self.clock.now_ns() if self.clock is not None else time.time_ns()

    def _entry(self, gap: Gap, **fields: Any) -> dict:
        entry = {"wall_time": time.time(), "symbol": gap.symbol, "interval": gap.interval,
                 "start_ns": gap.start_ns, "end_ns": gap.end_ns, "missing": gap.missing,
                 "attempt": gap.retries + 1, **fields}
        gap.history.append(entry)
        self.log.append(entry)
        return entry

    def _unknown(self, gap: Gap) -> list[int]:
        """Bar starts of the gap neither present in SessionData nor known empty."""
        present = set(self.present_starts(gap)) if self.present_starts is not None else set()
        starts = (t for t in range(gap.start_ns, gap.end_ns + self.step_ns, self.step_ns) if t not in present)
        return self.known_empty.unknown(gap.symbol, starts)

    def _attempt(self, batch: list[Gap]) -> None:
        """One round: resolve what needs no request, then one request per distinct range."""
        by_range: dict[tuple[int, int], list[Gap]] = {}
        wanted: dict[int, list[tuple[int, int]]] = {}
        for gap in batch:
            unknown = self._unknown(gap)
            if not unknown:
                self._resolve_without_request(gap)
                continue
            runs = unknown_runs(unknown, self.step_ns)
            wanted[id(gap)] = runs
            for run in runs:
                by_range.setdefault(run, []).append(gap)
        answers: dict[int, dict[str, Any]] = {}      # id(gap) -> {"bars": [...], "unresolved": n}
        failures: dict[int, str] = {}
        for (lo, hi), gaps in sorted(by_range.items()):
            symbols = sorted({g.symbol for g in gaps})
            asked_at = self._now_ns()
            t0 = time.perf_counter()
            record = {"wall_time": time.time(), "symbols": symbols, "start_ns": lo, "end_ns": hi,
                      "asked_at_ns": asked_at}
            try:
                result = self.provider.request_history_many(symbols, self.interval, lo, hi, REQUEST_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - any provider failure is a failed attempt, retried
                detail = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
                record.update(outcome="error", detail=detail, request_ms=(time.perf_counter() - t0) * 1e3)
                self.requests.append(record)
                for gap in gaps:
                    failures[id(gap)] = detail
                continue
            request_ms = (time.perf_counter() - t0) * 1e3
            asked_at = getattr(result, "served_at_ns", None) or asked_at   # after any rate-limit wait
            record.update(outcome="ok", request_ms=request_ms,
                          bars=sum(len(result.get(s) or []) for s in symbols))
            self.requests.append(record)
            for gap in gaps:
                bars = [b for b in (result.get(gap.symbol) or []) if lo <= b.timestamp < hi]
                unresolved = self.known_empty.record_answer(gap.symbol, lo, hi, (b.timestamp for b in bars),
                                                            asked_at)
                slot = answers.setdefault(id(gap), {"bars": [], "unresolved": 0, "request_ms": 0.0})
                slot["bars"].extend(bars)
                slot["unresolved"] += len(unresolved)
                slot["request_ms"] += request_ms
        for gap in batch:
            key = id(gap)
            if key not in wanted:
                continue
            if key in failures:
                self._failed_attempt(gap, failures[key])
                continue
            slot = answers[key]
            bars = sorted(slot["bars"], key=lambda b: b.timestamp)
            entry = self._entry(gap, request_ms=slot["request_ms"], bars=len(bars))
            retry_detail = None
            if slot["unresolved"]:
                retry_detail = (f"{slot['unresolved']} bar time(s) too recent for the history to be final; "
                                "asking again")
                entry.update(outcome="retry", detail=retry_detail)
            elif bars:
                entry["outcome"] = "filled"
            else:
                entry["outcome"] = "no trades"
            if bars:
                with self._cond:
                    self._awaiting[id(gap)] = (gap, retry_detail)
                t1 = time.perf_counter()
                self.deliver(gap, bars)   # the feed has them inserted, then calls fill_applied(gap)
                entry["deliver_ms"] = (time.perf_counter() - t1) * 1e3
            elif retry_detail is not None:
                self._retry_or_fail(gap, retry_detail)
            else:
                self._resolve_without_request(gap, logged=True)

    def _count(self, gap: Gap) -> None:
        """Bars present in the gap and bar times known to have had no trade, now."""
        present = set(self.present_starts(gap)) if self.present_starts is not None else set()
        gap.filled = sum(1 for t in present if gap.start_ns <= t <= gap.end_ns)
        gap.no_trades = self.known_empty.count_between(gap.symbol, gap.start_ns, gap.end_ns)

    def _settle_after_fill(self, gap: Gap, retry_detail: str | None) -> None:
        """The delivered bars were inserted: count what is present; settle the gap when nothing is left
        unknown, ask again when the answer was not final (or its bars were refused as bad)."""
        self._count(gap)
        if retry_detail is not None:
            self._retry_or_fail(gap, retry_detail)
        elif gap.filled + gap.no_trades >= gap.missing:
            gap.status = GapStatus.FILLED if gap.filled else GapStatus.NO_TRADES
            self._report(gap)
            self._emit(gap)
        else:
            self._retry_or_fail(gap, "bars of the history answer were refused as bad; asking again")

    def _resolve_without_request(self, gap: Gap, logged: bool = False) -> None:
        """Every missing bar time is present or known empty: settle the gap's status here."""
        self._count(gap)
        gap.status = GapStatus.FILLED if gap.filled else GapStatus.NO_TRADES
        if not logged:
            outcome = "arrived late (no request needed)" if gap.filled and not gap.no_trades else (
                "no trades (known from history, no request needed)")
            self._entry(gap, outcome=outcome, attempt=gap.retries)
        self._report(gap)
        self._emit(gap)

    def _failed_attempt(self, gap: Gap, detail: str) -> None:
        self._entry(gap, outcome="error", detail=detail)
        self._retry_or_fail(gap, detail)

    def _retry_or_fail(self, gap: Gap, detail: str) -> None:
        if gap.retries >= self.max_retries:
            gap.status = GapStatus.FAILED
            log.warning("gap %s %s..%s failed after %d attempts: %s", gap.symbol, gap.start_ns, gap.end_ns,
                        gap.retries + 1, detail)
            self._report(gap)
            self._emit(gap)
            return
        gap.retries += 1
        gap.status = GapStatus.PENDING
        with self._cond:
            self._push(time.monotonic() + self.retry_interval_s, gap)
        self._report(gap)
        self._emit(gap)

    def _report(self, gap: Gap) -> None:
        """Tell the gap's other record keeper (the quality stage, through the feed) of its status now."""
        if self.on_status is not None:
            self.on_status(GapStatusChanged(gap.symbol, gap.interval, gap.start_ns, gap.status, gap.filled,
                                            gap.no_trades, gap.retries))

    def _emit(self, gap: Gap) -> None:
        if self.events is not None and self.events.wants("gap"):
            self.events.emit("gap", gap)
