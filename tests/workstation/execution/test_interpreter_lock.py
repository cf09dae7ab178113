"""The broker's work at each bar time keeps the interpreter lock.

A call that releases the lock (np.dot hands its vectors to BLAS and releases it on every call, even for
ten numbers) lets another thread that waits for the lock take it: the run writer between its Parquet
calls, the feed's loader. The engine thread then waits to get it back: at 10 symbols with a run folder
that cost ~12 % of a run. The test runs the broker's bar-time work beside a thread that waits for the
lock, with forced switches off (a switch interval of 1,000 s): that thread gets the lock only if the
broker gives it away. The control, np.dot repeated until the waiter runs, shows that it would be seen. Nothing else runs in the
watched block: the prices are drawn before it (numpy's Generator gives the lock away: the waiter ran
once in CI when they were drawn inside), and the garbage collector is off (a collection would run
finalizers of earlier tests' objects, files and sockets, which may give the lock away). A run of the
waiter counts only while the broker's work is going on (a flag the work sets): on a loaded machine the
waiter also ran, now and then, right after a watch's last call, in plain bytecode of the test (seen with
two CPU-bound processes beside it: in 3-14 of 60 watches, never during the work)."""

from __future__ import annotations

import gc
import sys
import threading
import time

import numpy as np

from workstation.config.models import ExecutionConfig
from workstation.execution import SimulatedBroker


def _prices(n_symbols: int, bar_times: int) -> np.ndarray:
    return 20.0 + np.random.default_rng(7).random((bar_times, n_symbols))


def _broker_bar_times(broker: SimulatedBroker, closes: np.ndarray, working: list[int] | None = None) -> None:
    """The broker's calls at each bar time; `working[0]` is the bar time going on (counted from 1), 0 after."""
    bar_times, n_symbols = closes.shape
    idx = np.arange(n_symbols, dtype=np.int64)
    volume = np.full(n_symbols, 1e6)
    for t in range(bar_times):
        if working is not None:
            working[0] = t + 1
        prices = closes[t]
        broker.on_bar_time(t * 60_000_000_000, idx, prices, prices, prices + 0.1, prices - 0.1,
                           volume)
        i = t % n_symbols
        broker.submit(i, 10.0 if broker.position(broker.symbols[i]) == 0 else -10.0, t * 60_000_000_000, "s",
                      float(prices[i]))
        broker.account_check(i, 5.0, float(prices[i]))
        broker.equity()
        broker.buying_power()
        broker.gross_exposure()
        broker.unrealized_pnl()
    if working is not None:
        working[0] = 0


def _calls_until_seen(ran: list[int], call) -> int | None:
    """Calls `call` until the waiting thread has run once; how many calls that took (None: not within
    200,000). A call that gives the lock away for a microsecond lets the waiter in only now and then
    (~1 call in 50 for one np.dot on 2 cores): the control repeats it as the broker's work repeats its calls."""
    start = ran[0]
    for k in range(1, 200_001):
        call()
        if ran[0] != start:
            return k
    return None


def _new_broker(n: int) -> SimulatedBroker:
    broker = SimulatedBroker([f"S{k}" for k in range(n)], ExecutionConfig(starting_cash=1e9))
    _broker_bar_times(broker, _prices(n, 5))             # first calls (imports, caches) before the watch
    return broker


def _watch(n: int, watches_n: int = 5) -> tuple[list[int], int | None]:
    """The waiter's runs during each of `watches_n` watches (a new broker each), and the control's calls."""
    brokers = [_new_broker(n) for _ in range(watches_n)]
    closes = _prices(n, 2000)
    a, b = np.arange(10.0), np.arange(10.0)
    ran = [0]
    during = [0]              # the waiter's runs while the broker works (before its last bar time)
    working = [0]
    last = closes.shape[0]
    stop = threading.Event()

    def waiter() -> None:
        while not stop.is_set():
            ran[0] += 1
            if 0 < working[0] < last:
                during[0] += 1
            time.sleep(0)                                # hands the lock straight back

    interval = sys.getswitchinterval()
    collecting = gc.isenabled()
    gc.collect()
    gc.disable()
    sys.setswitchinterval(1000.0)
    thread = threading.Thread(target=waiter, daemon=True)
    try:
        thread.start()
        # the waiter runs, then waits for the lock; threads earlier tests left waiting with the old switch
        # interval (5 ms) time out and run now, not in a watch
        time.sleep(0.05)
        started = ran[0]
        watches = []
        for broker in brokers:
            before = during[0]
            _broker_bar_times(broker, closes, working)
            watches.append(during[0] - before)
        control = _calls_until_seen(ran, lambda: np.dot(a, b))   # the control: a call that gives the lock away
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        if collecting:
            gc.enable()
        thread.join(5)
    assert started > 0, "the waiting thread never ran"
    return watches, control


def test_the_brokers_bar_time_work_never_gives_the_interpreter_lock_away():
    """Watched 5 times, each with a new broker: the waiter never runs while the broker works. (It did run,
    now and then, once a watch's last bar time had begun, on a machine loaded by other processes: in CI
    twice in three watches twice in a row, and in 13 of 60 watches beside two CPU-bound processes; no more
    since those are not counted, in 60 watches so loaded.) A broker that gives the lock away at its bar
    times wakes it 20-462 times a watch (np.dot for its dot products); one np.dot in its cached account
    values 1-8 times in three watches unloaded, and loaded 0 in all three watches about one time in four."""
    watches, control = _watch(10)
    assert control is not None, "the waiting thread never ran during 200,000 np.dot calls: the watch sees nothing here"
    assert sum(watches) == 0, f"the waiting thread ran {watches} times during the broker's work (each watch)"
