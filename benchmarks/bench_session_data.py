"""Benchmark SessionData's hot reads and writes against the targets of the design.

Run: PYTHONPATH=. python benchmarks/bench_session_data.py [--symbols 500] [--quick]

Every figure is a per-call time, the median over several repeats of a timeit-style loop. Two
clocks are shown: wall time (perf_counter) and the thread's CPU time (thread_time). On a shared
or loaded machine the wall time includes time the thread spent descheduled; the CPU time does
not, so the target verdict uses the CPU time and the wall time is shown next to it.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # run from anywhere without installing

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from workstation.session import SessionData

NS_PER_MINUTE = 60_000_000_000
OPEN_NS = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC (09:30 New York)


def per_call(fn: Callable[[], object], number: int, repeat: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) per call over `repeat` loops of `number` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(number):
            fn()
        walls.append((time.perf_counter() - w0) / number)
        cpus.append((time.thread_time() - c0) / number)
    return statistics.median(walls), statistics.median(cpus)


def loop_overhead(number: int, repeat: int) -> tuple[float, float]:
    """Per-call cost of the measuring loop with an empty function (subtracted from read figures)."""
    return per_call(lambda: None, number, repeat)


def bar_values(n: int, k: int) -> tuple[np.ndarray, ...]:
    """Deterministic OHLCV arrays for `n` symbols at bar number `k`."""
    base = 100.0 + np.arange(n) * 0.01 + k * 0.001
    return base, base + 0.5, base - 0.5, base + 0.1, np.full(n, 1000.0 + k)


def filled(symbols: list[str], bars: int, intervals=("1m", "5m")) -> SessionData:
    """A SessionData with `bars` 1m bar times appended for every symbol."""
    sd = SessionData(symbols, list(intervals))
    idx = np.arange(len(symbols), dtype=np.int64)
    for k in range(bars):
        sd.append_bars("1m", idx, OPEN_NS + k * NS_PER_MINUTE, *bar_values(len(symbols), k))
    return sd


def timed_writes(
    make: Callable[[], SessionData], write: Callable[[SessionData, int], None], calls: int, repeat: int
):
    """(median wall, median CPU) per write call; each repeat starts from a fresh SessionData."""
    walls, cpus = [], []
    for _ in range(repeat):
        sd = make()
        w0, c0 = time.perf_counter(), time.thread_time()
        for k in range(calls):
            write(sd, k)
        walls.append((time.perf_counter() - w0) / calls)
        cpus.append((time.thread_time() - c0) / calls)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    n_sym = args.symbols
    reps = 5 if args.quick else 9
    scale = 0.2 if args.quick else 1.0
    symbols = [f"S{i:04d}" for i in range(n_sym)]
    idx = np.arange(n_sym, dtype=np.int64)
    rows: list[tuple[str, tuple[float, float], str]] = []

    def add(name: str, figures: tuple[float, float], target: str = "") -> None:
        rows.append((name, figures, target))

    def read(name: str, fn: Callable[[], object], number: int, target: str = "") -> None:
        wall, cpu = per_call(fn, number, reps)
        ow, oc = overhead
        add(name, (max(wall - ow, 0.0), max(cpu - oc, 0.0)), target)

    sd = filled(symbols, 200)
    sym = symbols[n_sym // 2]
    since = OPEN_NS + 150 * NS_PER_MINUTE
    n = int(200_000 * scale)
    overhead = loop_overhead(n, reps)

    sd.latest_bar(sym, "1m")
    read("latest_bar, cached (same bar re-read)", lambda: sd.latest_bar(sym, "1m"), n, "0.5 us")
    # Uncached = the first read after a write. The benchmark drops the cache entry (a private
    # dict store) before each read; that store alone is measured and subtracted.
    st = sd._states["1m"]

    def latest_uncached():
        st.latest_cache[sym] = (None, None)
        return sd.latest_bar(sym, "1m")

    def drop_latest():
        st.latest_cache[sym] = (None, None)

    w, c = per_call(latest_uncached, n, reps)
    dw, dc = per_call(drop_latest, n, reps)
    add("latest_bar, uncached (first read after a write)", (w - dw, c - dc))

    sd.last_bars(sym, "1m", 20)
    read("last_bars(20), cached (same view re-read)", lambda: sd.last_bars(sym, "1m", 20), n, "3 us")

    def last20_uncached():
        st.view_cache[sym] = (None, -1, None)
        return sd.last_bars(sym, "1m", 20)

    def drop_view():
        st.view_cache[sym] = (None, -1, None)

    w, c = per_call(last20_uncached, n, reps)
    dw, dc = per_call(drop_view, n, reps)
    add("last_bars(20), uncached (first read after a write)", (w - dw, c - dc), "3 us")
    read("bar_count", lambda: sd.bar_count(sym, "1m"), n, "0.3 us")
    read("bars_since (last 50 of 200 bars)", lambda: sd.bars_since(sym, "1m", since), n)
    read("session_metrics", lambda: sd.session_metrics(sym), n)
    read("quality", lambda: sd.quality(sym, "1m"), n)
    n_small = int(5_000 * scale)
    read(f"latest_bars(None = all {n_sym} symbols)", lambda: sd.latest_bars(None, "1m"), n_small)
    read(f"latest_bars({n_sym} symbols by name)", lambda: sd.latest_bars(symbols, "1m"), n_small)

    # append_bars: one bar time (includes the vectorised session-metrics update of the 1m interval).
    values = bar_values(n_sym, 0)
    rng = np.random.default_rng(7)
    subset = np.sort(rng.choice(n_sym, size=int(n_sym * 0.9), replace=False)).astype(np.int64)
    sub_values = tuple(x[subset] for x in values)

    def fresh() -> SessionData:
        return SessionData(symbols, ["1m", "5m"])

    def write_all(which, vals, interval="1m", step=NS_PER_MINUTE):
        return lambda s, k: s.append_bars(interval, which, OPEN_NS + k * step, *vals)

    session = timed_writes(fresh, write_all(idx, values), 390, reps)
    add(f"append_bars, one bar time, {n_sym} symbols (sym_idx array)", session, "250 us")
    add(
        f"append_bars, one bar time, {n_sym} symbols (sym_idx=None)",
        timed_writes(fresh, write_all(None, values), 390, reps),
        "250 us",
    )
    add(
        f"append_bars, one bar time, 90% of {n_sym} symbols",
        timed_writes(fresh, write_all(subset, sub_values), 390, reps),
        "250 us",
    )
    add(f"  = full session, {n_sym} symbols x 390 bar times", (session[0] * 390, session[1] * 390))
    add(
        f"append_bars, derived 5m, {n_sym} symbols (no metrics)",
        timed_writes(fresh, write_all(idx, values, "5m", 5 * NS_PER_MINUTE), 78, reps),
    )
    add(
        "append_bar, one symbol (scalar)",
        timed_writes(
            fresh,
            lambda s, k: s.append_bar(sym, "1m", OPEN_NS + k * NS_PER_MINUTE, 1.0, 2.0, 0.5, 1.5, 100.0),
            390,
            reps,
        ),
    )

    # insert_bar: a late bar into a session holding n_sym x 200 bars (copy-on-write of the used storage).
    inserts_wall, inserts_cpu = [], []
    for _ in range(reps):
        late = filled(symbols, 200, intervals=("1m",))
        gap_ts = OPEN_NS + 1000 * NS_PER_MINUTE
        late.append_bar(sym, "1m", gap_ts + 2 * NS_PER_MINUTE, 1.0, 2.0, 0.5, 1.5, 100.0)
        w0, c0 = time.perf_counter(), time.thread_time()
        late.insert_bar(sym, "1m", gap_ts, 1.0, 2.0, 0.5, 1.5, 100.0)
        inserts_wall.append(time.perf_counter() - w0)
        inserts_cpu.append(time.thread_time() - c0)
    add(
        f"insert_bar, late bar ({n_sym} symbols x 200 bars held)",
        (statistics.median(inserts_wall), statistics.median(inserts_cpu)),
    )

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"SessionData benchmark: {n_sym} symbols, median of {reps} repeats")
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'wall':>11}  {'cpu':>11}  {'target':>7}  met")
    for name, (wall, cpu), target in rows:
        verdict = ""
        if target:
            verdict = "yes" if cpu <= float(target.split()[0]) * 1e-6 else "NO"
        print(f"{name:<{width}}  {format_time(wall):>11}  {format_time(cpu):>11}  {target:>7}  {verdict}")
    return 0


def format_time(seconds: float) -> str:
    """Seconds as us / ms / s text."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
