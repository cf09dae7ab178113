"""The live market-data provider interface and its shared bookkeeping (health, dedup, stats).

A provider streams bars from a live source (a market-data websocket, or a replay of stored bars
acting as one) into a sink the live coordinator sets, and answers history requests used to fill
gaps. Everything a concrete provider needs besides its transport lives here, so the Alpaca
provider and the replay provider report health, suppress duplicates and count the same way.

Threads: a provider runs its own background thread(s) from `connect()`; sinks and health
listeners are called from those threads, never while a provider lock is held. Receive times are
read from the provider's clock (`now_ns()`, wall time in live), never from `time` directly.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, TypeGuard

from workstation.errors import ProviderError
from workstation.model import Bar

logger = logging.getLogger(__name__)

HEALTH_HISTORY_LIMIT = 1000
DEDUP_WINDOW_NS = 2 * 86_400 * 1_000_000_000     # delivered bars remembered for duplicate checks
DEDUP_PRUNE_EVERY = 50_000                         # deliveries between two prunings


class ProviderHealth(StrEnum):
    """Connection state of a provider as the live monitor shows it."""

    CONNECTING = "CONNECTING"
    STREAMING = "STREAMING"
    QUIET = "QUIET"  # connected, but no message for longer than expected
    DISCONNECTED = "DISCONNECTED"
    RECONNECTING = "RECONNECTING"
    FAILED = "FAILED"  # gave up (e.g. the API key was rejected); needs a user action


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """One health change: provider clock time (int ns UTC), the new state and why."""

    time_ns: int
    state: ProviderHealth
    detail: str


class Quote(NamedTuple):
    """Top of book for one symbol; `time_ns` is the exchange quote time (int ns UTC)."""

    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    time_ns: int


class NsClock(Protocol):
    """Anything that tells the time in int ns UTC (the live clock, a test clock)."""

    def now_ns(self) -> int: ...


class WallClock:
    """Default provider clock: wall time from `time.time_ns()`."""

    def now_ns(self) -> int:
        return time.time_ns()


class HistoryAnswer(dict):
    """{symbol: [Bar, ...]} from a history request, plus `served_at_ns`: the provider-clock time at
    which the (first) answer was requested successfully, so the caller knows how recent a bar time
    the answer can vouch for (see workstation.live.known_empty). None when unknown."""

    served_at_ns: int | None = None


BarSink = Callable[[Bar, int], None]
BarTimeSink = Callable[[str, int, int], None]    # (interval, bar start ns, receive ns)
QuoteSink = Callable[[Quote, int], None]
HealthListener = Callable[[HealthEvent], None]


class MarketDataProvider(ABC):
    """A live bar source: streams new bars to a sink and serves history for gap filling.

    Subclasses implement `connect`, `subscribe`, `request_history` and `close`, and feed what they
    receive through the protected helpers `_record_message`, `_record_malformed`,
    `_record_reconnect`, `_set_health`, `_deliver_bar`, `_deliver_bar_update` and `_deliver_quote`.

    Duplicate suppression: a bar whose (symbol, interval, timestamp) was already delivered is not
    delivered again (e.g. a server replaying an overlap after a reconnect). An identical repeat is
    dropped and counted; a repeat with different values is a correction and goes to the update sink
    (as does an explicit updated bar), never to the bar sink and never counted as a new bar.
    The index of delivered bars holds one entry per bar for the provider's lifetime (a day of 1m
    bars for 100 symbols is about 39,000 entries).
    """

    def __init__(self, name: str, clock: NsClock | None = None):
        if not name or not isinstance(name, str):
            raise ValueError(f"provider name must be a non-empty string, got {name!r}")
        self.name = name
        # subclasses holding secrets replace it with a RedactingLogger (workstation.live.redaction)
        self._log: logging.Logger | logging.LoggerAdapter = logger
        self._clock: NsClock = clock if clock is not None else WallClock()
        if not callable(getattr(self._clock, "now_ns", None)):
            raise TypeError(f"provider clock {clock!r} has no now_ns() method")
        self._lock = threading.Lock()
        self._health_changed = threading.Condition(self._lock)
        self._health = ProviderHealth.DISCONNECTED
        self._health_history: deque[HealthEvent] = deque(maxlen=HEALTH_HISTORY_LIMIT)
        self._health_listeners: list[HealthListener] = []
        self._bar_sink: BarSink | None = None
        self._bar_update_sink: BarSink | None = None
        self._bar_time_sink: BarTimeSink | None = None
        self._quote_sink: QuoteSink | None = None
        self._delivered: dict[tuple[str, str, int], Bar] = {}
        self._newest_delivered_ns = 0
        self._since_prune = 0
        self._last_activity_ns: int | None = None
        self._warned_no_sink = False
        self._counts: dict[str, Any] = {
            "messages_received": 0,
            "bars_delivered": 0,
            "duplicates_dropped": 0,
            "bar_updates": 0,
            "quotes_delivered": 0,
            "malformed_messages": 0,
            "reconnects": 0,
            "sink_errors": 0,
            "bars_without_sink": 0,
            "last_message_ns": None,
        }

    # ----------------------------------------------------------------- interface for subclasses

    @abstractmethod
    def connect(self) -> None:
        """Start streaming in background thread(s) and return at once; progress shows in `health`."""

    @abstractmethod
    def subscribe(self, symbols: list[str], intervals: list[str]) -> None:
        """Add symbols x intervals to the stream (before or after `connect`)."""

    @abstractmethod
    def request_history(
        self, symbol: str, interval: str, start_ns: int, end_ns: int, timeout: float = 10.0
    ) -> list[Bar]:
        """Blocking: bars of `symbol`/`interval` whose START is in [start_ns, end_ns), oldest first.

        Raises ProviderError with a clear message on any failure (network, HTTP status, timeout).
        """

    def request_history_many(
        self, symbols: list[str], interval: str, start_ns: int, end_ns: int, timeout: float = 30.0
    ) -> HistoryAnswer:
        """Blocking: {symbol: bars whose START is in [start_ns, end_ns), oldest first} for many symbols.

        Providers whose history API takes a symbol list override this to make few requests; this
        default asks one symbol at a time within the shared `timeout`. Symbols without bars map to [].
        """
        deadline = time.monotonic() + timeout
        out = HistoryAnswer()
        out.served_at_ns = self._clock.now_ns()
        for symbol in symbols:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(f"{self.name} history of {len(symbols)} symbols timed out after {timeout:g} s")
            out[symbol] = self.request_history(symbol, interval, start_ns, end_ns, remaining)
        return out

    def key_destinations(self) -> dict[str, str]:
        """Hosts the provider sends API keys to ({"stream": host, ...}); none for a local source."""
        return {}

    @abstractmethod
    def close(self) -> None:
        """Stop streaming and join the provider's threads within 1 s; safe to call twice."""

    # --------------------------------------------------------------------------------- sinks

    def set_bar_sink(self, sink: BarSink | None) -> None:
        """Receive each NEW bar as sink(bar, receive_ns), called from the provider's thread."""
        with self._lock:
            self._bar_sink = sink

    def set_bar_update_sink(self, sink: BarSink | None) -> None:
        """Receive corrections of already delivered bars as sink(bar, receive_ns)."""
        with self._lock:
            self._bar_update_sink = sink

    def set_bar_time_sink(self, sink: BarTimeSink | None) -> None:
        """Be told sink(interval, bar start, receive_ns) once every bar of a bar time that this
        provider will ever stream has been delivered (only providers that can know it call it, e.g.
        a replay; a live service's bars of a minute come spread out, with no end marker)."""
        with self._lock:
            self._bar_time_sink = sink

    def set_quote_sink(self, sink: QuoteSink | None) -> None:
        """Receive quotes as sink(quote, receive_ns), if the provider streams quotes."""
        with self._lock:
            self._quote_sink = sink

    # -------------------------------------------------------------------------------- health

    @property
    def health(self) -> ProviderHealth:
        with self._lock:
            return self._health

    def health_history(self) -> list[HealthEvent]:
        """Health changes, oldest first (the last HEALTH_HISTORY_LIMIT of them)."""
        with self._lock:
            return list(self._health_history)

    def add_health_listener(self, listener: HealthListener) -> None:
        """Call listener(event) on each health change, from the thread that made the change."""
        with self._lock:
            self._health_listeners.append(listener)

    def wait_for_health(self, states: set[ProviderHealth], timeout: float) -> ProviderHealth | None:
        """Block until health is one of `states`; return it, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._health_changed:
            while self._health not in states:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._health_changed.wait(remaining)
            return self._health

    def check_quiet(self, now_ns: int, expected_gap_s: float) -> bool:
        """Turn STREAMING into QUIET when nothing arrived for `expected_gap_s`; True if QUIET."""
        with self._lock:
            state, last = self._health, self._last_activity_ns
        if state is ProviderHealth.STREAMING and last is not None:
            silent_s = (now_ns - last) / 1e9
            if silent_s > expected_gap_s:
                self._set_health(
                    ProviderHealth.QUIET,
                    f"no data for {silent_s:.1f} s (expected within {expected_gap_s:g} s)",
                )
                return True
        return state is ProviderHealth.QUIET

    def stats(self) -> dict[str, Any]:
        """Counters: messages_received, bars_delivered, duplicates_dropped, bar_updates,
        quotes_delivered, malformed_messages, reconnects, sink_errors, last_message_ns (clock ns)."""
        with self._lock:
            return dict(self._counts)

    # ----------------------------------------------------------------- helpers for subclasses

    def _now_ns(self) -> int:
        return self._clock.now_ns()

    def _set_health(self, state: ProviderHealth, detail: str, asked: bool = False) -> bool:
        """Record a state change (same state again is ignored) and notify listeners; True if changed.
        A failure or a lost connection is logged as a warning, except a disconnection the run `asked`
        for (close() at the end of the run: not a fault)."""
        now = self._clock.now_ns()
        with self._health_changed:
            if state is self._health:
                return False
            self._health = state
            if state is ProviderHealth.STREAMING:
                self._last_activity_ns = now
            event = HealthEvent(now, state, detail)
            self._health_history.append(event)
            listeners = list(self._health_listeners)
            self._health_changed.notify_all()
        fault = state is ProviderHealth.FAILED or (state is ProviderHealth.DISCONNECTED and not asked)
        log = self._log.warning if fault else self._log.info
        log("%s health %s: %s", self.name, state.value, detail)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                self._log.exception("%s health listener %r failed", self.name, listener)
        return True

    def _record_message(self, receive_ns: int, count: int = 1) -> None:
        """Count received messages; data after a QUIET spell turns health back to STREAMING."""
        with self._lock:
            self._counts["messages_received"] += count
            self._counts["last_message_ns"] = receive_ns
            self._last_activity_ns = receive_ns
            was_quiet = self._health is ProviderHealth.QUIET
        if was_quiet:
            self._set_health(ProviderHealth.STREAMING, "data resumed")

    def _record_malformed(self, detail: str) -> None:
        """Count a message that could not be used; log the first ones, then every 1000th."""
        with self._lock:
            self._counts["malformed_messages"] += 1
            n = self._counts["malformed_messages"]
        if n <= 10 or n % 1000 == 0:
            self._log.warning("%s malformed message #%d ignored: %s", self.name, n, detail)

    def _record_reconnect(self) -> None:
        with self._lock:
            self._counts["reconnects"] += 1

    def _bump(self, counter: str, amount: float = 1) -> None:
        """Add to a subclass-specific counter shown by `stats()`."""
        with self._lock:
            self._counts[counter] = self._counts.get(counter, 0) + amount

    def _remember(self, ts_ns: int) -> None:
        """Keep the duplicate check's memory bounded: every DEDUP_PRUNE_EVERY new bars, forget bars
        older than DEDUP_WINDOW_NS before the newest (a repeat that old is not a reconnect overlap).
        Caller holds the lock."""
        if self._newest_delivered_ns < ts_ns <= self._clock.now_ns() + DEDUP_WINDOW_NS:
            self._newest_delivered_ns = ts_ns       # (an absurd future stamp must not age out the rest)
        self._since_prune += 1
        if self._since_prune >= DEDUP_PRUNE_EVERY:
            self._since_prune = 0
            horizon = self._newest_delivered_ns - DEDUP_WINDOW_NS
            self._delivered = {k: b for k, b in self._delivered.items() if k[2] >= horizon}

    def _deliver_bar(self, bar: Bar, receive_ns: int) -> bool:
        """Pass a streamed bar to the bar sink unless already delivered; True if it was new.

        A repeat with identical values is dropped; a repeat with other values is a correction and
        goes to the update sink.
        """
        key = (bar.symbol, bar.interval, bar.timestamp)
        with self._lock:
            previous = self._delivered.get(key)
            if previous is None:
                self._delivered[key] = bar
                self._remember(bar.timestamp)
                sink = self._bar_sink
                if sink is None:
                    self._counts["bars_without_sink"] += 1
                    warn, self._warned_no_sink = not self._warned_no_sink, True
                else:
                    self._counts["bars_delivered"] += 1
                    warn = False
            elif previous == bar:
                self._counts["duplicates_dropped"] += 1
                return False
            else:
                sink = None
        if previous is not None:
            self._deliver_bar_update(bar, receive_ns)
            return False
        if sink is None:
            if warn:
                self._log.warning(
                    "%s received bars before a bar sink was set; they are not delivered", self.name
                )
            return True
        self._call_sink(sink, bar, receive_ns)
        return True

    def _deliver_bar_update(self, bar: Bar, receive_ns: int) -> bool:
        """Pass a correction of a delivered bar to the update sink; True if it was passed on.

        An update of a minute never delivered is delivered as a NEW bar instead (the bar sink then
        sees every minute once); an update equal to what was delivered is a duplicate.
        """
        key = (bar.symbol, bar.interval, bar.timestamp)
        with self._lock:
            previous = self._delivered.get(key)
            if previous == bar:
                self._counts["duplicates_dropped"] += 1
                return False
            if previous is not None:
                self._delivered[key] = bar
                self._counts["bar_updates"] += 1
                sink = self._bar_update_sink
        if previous is None:
            return self._deliver_bar(bar, receive_ns)
        if sink is not None:
            self._call_sink(sink, bar, receive_ns)
        return True

    def _deliver_bar_time_complete(self, interval: str, start_ns: int, receive_ns: int) -> None:
        """Say that every bar of `start_ns` that will ever come has been delivered (after the bars)."""
        with self._lock:
            sink = self._bar_time_sink
        if sink is not None:
            try:
                sink(interval, start_ns, receive_ns)
            except Exception:
                self._bump("sink_errors")
                self._log.exception("%s bar-time sink %r failed", self.name, sink)

    def _deliver_quote(self, quote: Quote, receive_ns: int) -> None:
        with self._lock:
            sink = self._quote_sink
            if sink is not None:
                self._counts["quotes_delivered"] += 1
        if sink is not None:
            self._call_sink(sink, quote, receive_ns)

    def _call_sink(self, sink: Callable[[Any, int], None], item: Any, receive_ns: int) -> None:
        try:
            sink(item, receive_ns)
        except Exception:
            self._bump("sink_errors")
            self._log.exception("%s sink %r failed on %r", self.name, sink, item)


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """True for an int/float (not bool) that is finite; used to validate message fields."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
