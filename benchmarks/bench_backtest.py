"""Backtest throughput against backtrader, orders against market orders, session transition time
and memory over sessions.

Full pipeline, data-driven (speed 0): 1m streamed, 5m and 15m derived, quality on, SMA 5/20
crossover on every symbol, simulated execution. Data: ../shared/bench/make_bars.py (100 symbols x
5 days, seed 42, = the peer benchmark's case c), written to a temporary bar store. backtrader runs
the peer script ../shared/bench/peer_backtrader.py on the same bars in the same benchmark run.
"bracket" runs the same pipeline with benchmarks/bench_strategies.py:SmaBracket (every entry a
market order with a stop loss and a take profit, exits only from the bracket), single-threaded and
with threads, in the same runs: the ratio to the market-order crossover of the same mode is the
cost of the order model.

    .venv/bin/python benchmarks/bench_backtest.py [--runs 3] [--skip-peer] [--memory-days 20] [--skip-bracket]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_bars  # noqa: E402
import psutil  # noqa: E402
from bench_common import iso, trades_digest  # noqa: E402
from scratch import scratch_dir  # noqa: E402

from workstation.config import validate_config_dict  # noqa: E402
from workstation.store import BarStore  # noqa: E402
from workstation.system import SystemManager  # noqa: E402

EXPECTED_DIGEST_C = "b71608429dd237e7"


EXAMPLE_HISTORICAL = {   # session_configs/example_session.json's history: 5 trailing days, 4 historical indicators
    "trailing_days": 5, "intervals": ["1m"], "symbols": "all", "enable_quality": True, "warmup_bars": 200,
    "indicators": [
        {"name": "avg_volume_10d", "kind": "avg_daily", "field": "volume", "period": "10d", "skip_early_close": True},
        {"name": "avg_volume_by_minute_10d", "kind": "avg_intraday", "field": "volume", "period": "10d"},
        {"name": "high_52w", "kind": "max", "field": "high", "period": "52w"},
        {"name": "low_52w", "kind": "min", "field": "low", "period": "52w"},
    ],
}


def bench_config(symbols: list[str], start: str, end: str, stage_threads: bool = True, bracket: bool = False,
                 example: bool = False) -> dict:
    """The benchmark's config; `example`: with the example config's history (EXAMPLE_HISTORICAL)."""
    strategy = ({"name": "sma_bracket", "class_path": "bench_strategies:SmaBracket",
                 "params": {"fast": 5, "slow": 20, "quantity": 100, "stop_pct": 0.3, "target_pct": 0.6}}
                if bracket else {"name": "sma_5_20", "class_path": "sma_crossover",
                                 "params": {"fast": 5, "slow": 20, "quantity": 100}})
    return {
        "name": "bench: full pipeline",
        "symbols": symbols,
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": []},
        "historical": (EXAMPLE_HISTORICAL if example else
                       {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": True}),
        "gap_filler": {"enable_session_quality": True},
        "backtest": {"start_date": start, "end_date": end, "speed_multiplier": 0, "prefetch_days": 2,
                     "stage_threads": stage_threads},
        "strategies": [strategy],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "execution": {"starting_cash": 1e9},
    }


@contextmanager
def thread_cpu_seconds():
    """CPU seconds (time.thread_time) of every thread started inside the block, by thread name: who
    holds the GIL for how long in a run (the coordinator, the RunWriter, the feed's loader). Wraps
    threading.Thread.run for the block's duration (benchmark only)."""
    seconds: dict[str, float] = {}
    lock = threading.Lock()
    original = threading.Thread.run

    def run(thread: threading.Thread) -> None:
        t0 = time.thread_time()
        try:
            original(thread)
        finally:
            with lock:
                seconds[thread.name] = seconds.get(thread.name, 0.0) + time.thread_time() - t0

    threading.Thread.run = run  # type: ignore[method-assign]
    try:
        yield seconds
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]


def run_engine(store: BarStore, cfg: dict, rss_per_session: list | None = None, run_dir: Path | None = None) -> dict:
    """One in-process run; `run_dir`: also write its run folder (RunWriter), timed until it is closed.
    `thread_cpu_s`: CPU seconds of the run's threads by name (the calling thread not included)."""
    with thread_cpu_seconds() as thread_cpu:     # from the build: the feed's loader starts reading there
        system = SystemManager(validate_config_dict(cfg), store=store)
        writer = None
        if run_dir is not None:
            from workstation.run_writer import RunWriter

            writer = RunWriter(system, run_dir)
        proc = psutil.Process()
        if rss_per_session is not None:
            system.events.subscribe("session_end",
                                    lambda _k, _p: rss_per_session.append(proc.memory_info().rss / 2**20))
        gc.collect()
        t0 = time.perf_counter()
        c0 = time.process_time()
        system.start()
        system.wait()
        if writer is not None:
            assert writer.wait_closed(60) and not writer.failed, writer.write_error
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        for thread in threading.enumerate():     # the loader's thread ends with the run: wait for its figure
            if thread.name.startswith("QueueLoader"):
                thread.join(5)
    assert system.error is None, system.error
    trades = [{"symbol": t.symbol, "entry_time": iso(t.entry_time), "entry_price": round(t.entry_price, 2),
               "exit_time": iso(t.exit_time), "exit_price": round(t.exit_price, 2)} for t in system.broker.trades]
    trades.sort(key=lambda t: (t["symbol"], t["entry_time"]))
    trans = system.metrics.stat("session.transition")
    return {"bars": system.bars_processed, "wall_s": wall, "bars_per_s": system.bars_processed / wall,
            "cpu_s": cpu, "bars_per_cpu_s": system.bars_processed / cpu,
            "trades": len(trades), "digest": trades_digest(trades), "orders": len(system.broker.orders()),
            "fills": len(system.broker.fills),
            "transition_mean_s": trans.mean if trans.count else float("nan"),
            "transition_max_s": trans.max if trans.count else float("nan"),
            "thread_cpu_s": dict(thread_cpu),
            "stages": {k: v for k, v in system.metrics.snapshot()["run"]["stats"].items() if v["count"]}}


def run_backtrader(parquet: Path) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, str(BENCH / "peer_backtrader.py"), str(parquet), "--no-trades"],
                         capture_output=True, text=True, cwd=BENCH, check=True)
    result = json.loads(out.stdout)
    result["process_s"] = time.perf_counter() - t0
    return result


def run_backtestingpy(python: str, parquet: Path) -> float:
    """Whole process of the backtesting.py peer (../shared/bench/peer_backtestingpy.py: one Backtest per
    symbol) run by `python` (an interpreter with backtesting.py installed), start to exit, in seconds."""
    t0 = time.perf_counter()
    subprocess.run([python, str(BENCH / "peer_backtestingpy.py"), str(parquet), "--no-trades"],
                   capture_output=True, text=True, cwd=BENCH, check=True)
    return time.perf_counter() - t0


def run_cli(cfg: dict, store: Path, out: Path) -> float:
    """Whole process: `workstation run` of `cfg` (run folder written), start to exit, in seconds."""
    cfg_path = out.with_suffix(".json")
    cfg_path.write_text(json.dumps(cfg))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "workstation.cli", "run", str(cfg_path), "--store", str(store), "--out",
                    str(out), "--overwrite"], capture_output=True, text=True, cwd=ROOT, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--memory-days", type=int, default=20, help="sessions of the memory run (0 = skip)")
    ap.add_argument("--skip-bracket", action="store_true", help="skip the bracket-order runs")
    ap.add_argument("--example", action="store_true",
                    help="also single-thread runs with the example config's 5-day history and historical "
                         "indicators writing a run folder, and whole-process `workstation run` against backtrader")
    ap.add_argument("--backtestingpy", metavar="PYTHON",
                    help="with --example: also time the backtesting.py peer's whole process, run by this "
                         "interpreter (one with backtesting.py installed, see ../shared/bench/README.md)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (data, store, run folders)")
    a = ap.parse_args()
    if a.example:
        # the whole-process runs use the package's compiled modules, as an installed program (and the
        # peers' libraries) do: under PYTHONDONTWRITEBYTECODE a checkout would compile ~80 modules
        # (~0.1 s) in every `workstation run`
        import compileall

        compileall.compile_dir(str(ROOT / "workstation"), quiet=1)

    tmp = scratch_dir("bench_backtest_", a.keep)
    df = make_bars.make_bars(a.symbols, a.days, seed=42)
    parquet = tmp / "bars.parquet"
    df.to_parquet(parquet, index=False)
    store = BarStore(tmp / "store", create=True)
    store.write_bars(df, "1m")
    symbols = sorted(df["symbol"].unique())
    days = sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
    print(f"machine: {os.cpu_count()} cores; data: {len(df):,} bars, {len(symbols)} symbols x {len(days)} days")
    modes = {"threads": True, "single": False}
    ours: dict[str, list[dict]] = {m: [] for m in modes}
    brackets: dict[str, list[dict]] = {m: [] for m in modes}
    peers = []
    examples: list[dict] = []
    examples_unwritten: list[dict] = []
    whole: list[float] = []
    btpy: list[float] = []
    if a.example:
        # not counted: fills the caches an installed program's second run finds (the calendar's years, the
        # config validated: workstation.config.validated), as the peers' runs find their compiled modules
        cold_s = run_cli(bench_config(symbols, str(days[0]), str(days[-1]), False, example=True), tmp / "store",
                         tmp / "cli-warm-up")
        print(f"whole process, one run not counted (fills the caches where they lack this config): {cold_s:.2f} s")
    for r in range(a.runs):
        if a.example:
            cfg = bench_config(symbols, str(days[0]), str(days[-1]), False, example=True)
            examples.append(run_engine(store, cfg, run_dir=tmp / f"example-run-{r}"))
            examples_unwritten.append(run_engine(store, cfg))
            whole.append(run_cli(cfg, tmp / "store", tmp / f"cli-run-{r}"))
            if a.backtestingpy:
                btpy.append(run_backtestingpy(a.backtestingpy, parquet))
        for mode, threads in modes.items():
            ours[mode].append(run_engine(store, bench_config(symbols, str(days[0]), str(days[-1]), threads)))
            if not a.skip_bracket:
                brackets[mode].append(run_engine(store, bench_config(symbols, str(days[0]), str(days[-1]), threads,
                                                                     bracket=True)))
        if not a.skip_peer:
            peers.append(run_backtrader(parquet))
        print(f"run {r + 1}: " + ", ".join(f"workstation ({m}) {ours[m][-1]['bars_per_s']:,.0f} bars/s" for m in modes)
              + "".join(f", bracket ({m}) {brackets[m][-1]['bars_per_s']:,.0f} bars/s"
                        for m in modes if brackets[m])
              + (f", backtrader {peers[-1]['bars_per_s']:,.0f} bars/s" if peers else ""))
    pmed = statistics.median(p["bars_per_s"] for p in peers) if peers else None
    if examples:
        med = statistics.median(o["bars_per_s"] for o in examples)
        print(f"\nworkstation, example settings (single thread, 5-day history, 4 historical indicators, run "
              f"folder written): median {med:,.0f} bars/s, digest {examples[0]['digest']}")
        print(f"  session transition: mean {examples[0]['transition_mean_s'] * 1e3:.1f} ms, "
              f"max {examples[0]['transition_max_s'] * 1e3:.1f} ms")
        cpu = {name: statistics.median(o["thread_cpu_s"].get(name, 0.0) for o in examples)
               for name in examples[0]["thread_cpu_s"]}
        print("  CPU seconds by thread (median): " + ", ".join(f"{name} {s:.3f}" for name, s in sorted(cpu.items()))
              + f"; wall {statistics.median(o['wall_s'] for o in examples):.3f} s")
        umed = statistics.median(o["bars_per_s"] for o in examples_unwritten)
        print(f"  the same without a run folder (no RunWriter thread): median {umed:,.0f} bars/s "
              f"-> the run folder costs {1 - med / umed:.0%} of the throughput; session transition max "
              f"{max(o['transition_max_s'] for o in examples_unwritten) * 1e3:.1f} ms")
        wmed = statistics.median(whole)
        line = f"  whole process (`workstation run`, start to exit, warm caches): median {wmed:.2f} s"
        if peers:
            bmed = statistics.median(p["process_s"] for p in peers)
            line += f"; backtrader whole process median {bmed:.2f} s -> ratio {bmed / wmed:.1f}x"
        if btpy:
            tmed = statistics.median(btpy)
            line += f"; backtesting.py whole process median {tmed:.2f} s -> ratio {tmed / wmed:.1f}x"
        print(line)
        if pmed:
            print(f"  in-process vs backtrader (same run): {med / pmed:.1f}x")
    for mode in modes:
        runs = ours[mode]
        med = statistics.median(o["bars_per_s"] for o in runs)
        best = max(o["bars_per_s"] for o in runs)
        label = "one thread per stage" if mode == "threads" else "single thread (stage_threads false)"
        print(f"\nworkstation, {label}: median {med:,.0f} bars/s, best {best:,.0f} bars/s "
              f"(wall {statistics.median(o['wall_s'] for o in runs):.3f} s; per CPU second "
              f"{statistics.median(o['bars_per_cpu_s'] for o in runs):,.0f} bars), trades {runs[0]['trades']}, "
              f"digest {runs[0]['digest']}"
              + (f" (= peer benchmark case c: {runs[0]['digest'] == EXPECTED_DIGEST_C})"
                 if (a.symbols, a.days) == (100, 5) else ""))
        if pmed:
            print(f"  vs backtrader (same data, same run): median {pmed:,.0f} bars/s -> ratio {med / pmed:.1f}x")
        print(f"  session transition: mean {runs[0]['transition_mean_s'] * 1e3:.1f} ms, "
              f"max {runs[0]['transition_max_s'] * 1e3:.1f} ms")
        if brackets[mode]:
            bruns = brackets[mode]
            bmed = statistics.median(o["bars_per_s"] for o in bruns)
            ratios = [b["bars_per_s"] / o["bars_per_s"] for b, o in zip(bruns, runs, strict=True)]
            cpu_ratio = (statistics.median(b["bars_per_cpu_s"] for b in bruns)
                         / statistics.median(o["bars_per_cpu_s"] for o in runs))
            print(f"  bracket on every entry: median {bmed:,.0f} bars/s, {bruns[0]['orders']:,} orders, "
                  f"{bruns[0]['fills']:,} fills, {bruns[0]['trades']:,} trades -> {bmed / med:.0%} of the market-order "
                  f"crossover (per-run ratios {', '.join(f'{x:.0%}' for x in ratios)}); per CPU second "
                  f"(steadier on a shared machine): {cpu_ratio:.0%}")
        print("  stage timings (first run, mean / max ms):")
        for name, st in sorted(runs[0]["stages"].items()):
            print(f"    {name:<24} n={st['count']:>6}  {st['mean'] * 1e3:8.3f} / {st['max'] * 1e3:8.3f}")

    if a.memory_days:
        dfm = make_bars.make_bars(a.symbols, a.memory_days, seed=43)
        store_m = BarStore(tmp / "store_mem", create=True)
        store_m.write_bars(dfm, "1m")
        days_m = sorted(dfm["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
        rss: list[float] = []
        res = run_engine(store_m, bench_config(symbols, str(days_m[0]), str(days_m[-1]), True), rss)
        print(f"\nmemory over {len(days_m)} sessions ({res['bars']:,} bars, {res['bars_per_s']:,.0f} bars/s): "
              f"RSS after session 2 {rss[1]:.0f} MB, after session {len(rss)} {rss[-1]:.0f} MB "
              f"(growth {rss[-1] - rss[1]:+.1f} MB over {len(rss) - 2} sessions)")
        print("  RSS per session end (MB): " + ", ".join(f"{x:.0f}" for x in rss))


if __name__ == "__main__":
    main()
