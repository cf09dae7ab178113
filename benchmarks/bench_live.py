"""Live mode latency: bar receive -> SessionData -> strategy decision, gap fills, and thin symbols.

100 symbols at one bar per symbol per second: the replay provider plays stored 1m bars at 60x
(one market minute per wall second) from the session open, with the full pipeline (5m/15m derived,
quality, SMA crossover, paper execution). Latency is measured per bar from the moment the live
live feed receives it (wall clock) until the strategies have run on its bar time.

Runs, one after the other on the same data:
  all liquid         every symbol has a bar every minute
  20 % thin          `--thin-fraction` of the symbols trade in only `--thin-trade-probability` of the
                     minutes (no trade, no bar, as IEX streams them): each missing minute is a gap
                     the gap filler checks against history once; minutes without a bar there are
                     known empty ("no trades") and must never be asked for again
  thin + 5-min gap   as above, plus 5 minutes of one liquid symbol dropped (filled from history)

For each run: latency p50/p99/max, gaps by status, history requests, and the check "no request for a
minute already known empty" (replayed from the request log against the data: once an answer
showed no bar for a settled minute, no later request may cover that minute of that symbol).

    .venv/bin/python benchmarks/bench_live.py [--symbols 100] [--minutes 60] [--speed 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from scratch import scratch_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import make_bars  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from workstation.calendar import TimeManager  # noqa: E402
from workstation.config import validate_config_dict  # noqa: E402
from workstation.live.known_empty import HISTORY_SETTLE_NS  # noqa: E402
from workstation.live.replay import ReplayClock, ReplayProvider  # noqa: E402
from workstation.live.system import LiveSystemManager  # noqa: E402
from workstation.store import BarStore  # noqa: E402

MINUTE = 60_000_000_000


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1)))] if v else float("nan")


class RecordingReplay(ReplayProvider):
    """The replay provider, logging every history request (symbols, [start, end), clock time)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.history_log: list[tuple[list[str], int, int, int]] = []
        self._log_lock = threading.Lock()

    def request_history_many(self, symbols, interval, start_ns, end_ns, timeout=30.0):
        answer = super().request_history_many(symbols, interval, start_ns, end_ns, timeout)
        with self._log_lock:
            self.history_log.append((list(symbols), start_ns, end_ns, answer.served_at_ns))
        return answer


def asked_for_known_empty(log, traded: set[tuple[str, int]]) -> tuple[int, int]:
    """(requests for an already known-empty minute, known-empty minutes seen) from the request log."""
    known: set[tuple[str, int]] = set()
    again = 0
    for symbols, start, end, at in sorted(log, key=lambda r: r[3]):
        minutes = range(start + (-start) % MINUTE, end, MINUTE)
        again += sum(1 for s in symbols for m in minutes if (s, m) in known)
        known.update((s, m) for s in symbols for m in minutes
                     if (s, m) not in traded and m + MINUTE + HISTORY_SETTLE_NS <= at)
    return again, len(known)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--minutes", type=int, default=60, help="market minutes replayed (wall seconds at 60x)")
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--thin-fraction", type=float, default=0.2)
    ap.add_argument("--thin-trade-probability", type=float, default=0.3)
    ap.add_argument("--runs", default="liquid,thin,thin+gap", help="comma list of: liquid, thin, thin+gap")
    a = ap.parse_args()

    tmp = scratch_dir("bench_live_")
    day = "2024-01-03"
    full = make_bars.make_bars(a.symbols, 1, seed=42, start=day)
    names = sorted(full["symbol"].unique())
    rng = np.random.default_rng(7)
    thin = names[-int(round(a.thin_fraction * len(names))):] if a.thin_fraction > 0 else []
    keep = ~full["symbol"].isin(thin) | (rng.random(len(full)) < a.thin_trade_probability)
    stores = {}
    for label, frame in (("liquid", full), ("thin", full[keep])):
        store = BarStore(tmp / label, create=True)
        store.write_bars(frame.reset_index(drop=True), "1m")
        stores[label] = (store, frame)
    open_et = pd.Timestamp(f"{day} 09:30", tz="America/New_York")
    cfg = validate_config_dict({
        "name": "bench live", "mode": "live", "symbols": names,
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 1.0},
        "backtest": {"start_date": day, "end_date": day},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "live": {"provider": "replay", "replay": {"speed": a.speed}},
    })
    gap_start = (open_et + pd.Timedelta(minutes=20)).tz_convert("UTC").value
    gap_end = (open_et + pd.Timedelta(minutes=24)).tz_convert("UTC").value
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{a.symbols} symbols at {a.speed:g}x ({a.symbols * a.speed / 60:.0f} bars/s), {a.minutes} market "
          f"minutes per run; thin: {len(thin)} symbols trading in {a.thin_trade_probability:.0%} of the minutes")
    runs = {"liquid": ("liquid", []), "thin": ("thin", []), "thin+gap": ("thin", [(names[0], gap_start, gap_end)])}
    for label in a.runs.split(","):
        data, drop_runs = runs[label]
        store, frame = stores[data]
        tm = TimeManager()
        clock = ReplayClock(open_et.tz_convert("UTC").value, a.speed)
        provider = RecordingReplay(store, tm, clock, drop_runs=drop_runs)
        system = LiveSystemManager(cfg, store=store, time_manager=tm, duration_s=a.minutes * 60 / a.speed,
                                   provider=provider, clock=clock)
        system.bar_time_costs = watch_bar_times(system)
        system.start()
        system.wait()
        traded = set(zip(frame["symbol"], frame["timestamp"].astype("int64"), strict=True))
        report(label, system, a, names, provider, traded)


def watch_bar_times(system) -> list[tuple[float, float, float]]:
    """Per live bar time: (worst bar's latency, processing wall ms, processing CPU ms of the
    coordinator's thread): a wall time far above the CPU time means the thread was not running
    (another process or thread had the core), not that the pipeline was slow."""
    costs: list[tuple[float, float, float]] = []
    coordinator, feed = system.coordinator, system.feed
    run_bar_time = coordinator._run_bar_time
    started: list[tuple[int, int, int]] = []

    def timed(*args):
        started.append((time.perf_counter_ns(), time.thread_time_ns(), len(feed.latencies_ms)))
        run_bar_time(*args)

    coordinator._run_bar_time = timed
    original_due = feed._due

    def due(now):
        block = original_due(now)
        if block is None or block.on_done is None:
            return block
        on_done = block.on_done

        def done(k):
            on_done(k)
            wall0, cpu0, n0 = started[-1]
            if len(feed.latencies_ms) > n0:
                costs.append((max(feed.latencies_ms[n0:]), (time.perf_counter_ns() - wall0) / 1e6,
                              (time.thread_time_ns() - cpu0) / 1e6))
        return dataclasses.replace(block, on_done=done)

    feed._due = due
    return costs


def report(label, system, a, names, provider, traded) -> None:
    c = system.feed
    lat = c.latencies_ms
    print(f"\n[{label}] {len(lat):,} bars measured; error: {system.error}")
    print(f"  bar receive -> strategies done: p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, "
          f"max {max(lat):.2f} ms (mean {statistics.fmean(lat):.2f} ms)")
    costs = sorted(system.bar_time_costs, reverse=True)
    cpu = [c[2] for c in costs]
    print(f"  processing CPU per bar time (coordinator thread): p50 {pct(cpu, 0.5):.2f} ms, max {max(cpu):.2f} ms; "
          "worst bar times (latency / processing wall / CPU ms): "
          + ", ".join(f"{t:.1f} / {w:.1f} / {c:.1f}" for t, w, c in costs[:3]))
    gaps = system.gap_filler.gaps
    by_status: dict[str, int] = {}
    for g in gaps:
        by_status[g.status] = by_status.get(g.status, 0) + 1
    requests = provider.history_log
    again, known = asked_for_known_empty(requests, traded)
    print(f"  gaps {len(gaps)}: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
          + f"; history requests {len(requests)} (symbol-ranges {sum(len(r[0]) for r in requests)}); "
          f"known-empty minutes {sum(system.known_empty.counts().values())}")
    print(f"  requests for a minute already known empty: {again} (of {known} known-empty minutes seen)")
    five = [g for g in gaps if g.symbol == names[0] and g.missing == 5]
    if five:
        print(f"  5-minute gap: {five[0].status}")
    if c.fill_latencies_ms:
        fills = c.fill_latencies_ms
        print(f"  history answer -> bars inserted and recomputed: p50 {pct(fills, 0.5):.1f} ms, "
              f"max {max(fills):.1f} ms over {len(fills)} fills")


if __name__ == "__main__":
    main()
