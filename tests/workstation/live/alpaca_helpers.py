"""Shared pieces of the Alpaca provider tests: constants, a thread-safe sink, a stepping clock."""

from __future__ import annotations

import threading
import time

from workstation.live import AlpacaProvider, MarketDataProvider, ProviderHealth
from workstation.model import Bar

MINUTE = 60_000_000_000
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC (09:30 New York)
KEY, SECRET = "PKT7Q2W9XZ4LM3N8VB6C", "h7Gk2Lq9Zx4Vb8Nm3Pw6Rt1Ys5Ud0Fa2Jc7Ke9Qs"  # shaped like Alpaca keys
WAIT = 5.0  # upper bound for every wait; tests finish far sooner when the code works


class Collector:
    """Thread-safe sink that records (item, receive_ns) and lets the test wait for a count."""

    def __init__(self, delay_s: float = 0.0):
        self.items: list[tuple[object, int]] = []
        self.threads: set[str] = set()
        self._delay_s = delay_s
        self._cond = threading.Condition()

    def __call__(self, item: object, receive_ns: int) -> None:
        if self._delay_s:
            time.sleep(self._delay_s)
        with self._cond:
            self.items.append((item, receive_ns))
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.items) >= count, timeout)

    @property
    def bars(self) -> list[Bar]:
        with self._cond:
            return [item for item, _ in self.items]


class StepClock:
    """Test clock: each now_ns() returns the next microsecond after `start_ns`."""

    def __init__(self, start_ns: int):
        self._next = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            self._next += 1_000
            return self._next


def provider_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("alpaca-", "test-alpaca-"))]


def start(provider: AlpacaProvider, standin, symbols: list[str], subscribes: int = 1) -> Collector:
    """Set a bar sink, subscribe 1m bars, connect, and wait until the server saw the subscribe."""
    sink = Collector()
    provider.set_bar_sink(sink)
    provider.subscribe(symbols, ["1m"])
    provider.connect()
    assert provider.wait_for_health({ProviderHealth.STREAMING}, WAIT) is ProviderHealth.STREAMING
    assert standin.wait_until(lambda: len(standin.subscribe_messages) >= subscribes)
    return sink


def states(provider: MarketDataProvider) -> list[ProviderHealth]:
    return [event.state for event in provider.health_history()]
