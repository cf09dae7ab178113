"""Sweep on Ray: parallel speed-up, per-cell overhead, what is shipped, and the driver's capacity.

1. Speed-up: a 24-cell sweep of the example config (demo data) on a local Ray of 2 workers against
   the same 24 cells run one after another in one process (SystemManager on the Parquet BarStore,
   as `workstation run` does). Ray's start-up is reported apart (paid once per sweep, never on a
   running cluster).
2. Per-cell overhead at 100 symbols x 5 days (../shared/bench/make_bars.py, seed 42; SMA 5/20 on
   every symbol, 5m and 15m derived): on a warm cluster, the share of worker time not spent inside
   cells = (workers x sweep wall time - sum of the cells' run times) / sum of the cells' run times.
   That covers scheduling, shipping the bars and collecting results (the in-task MemoryBarStore build
   is inside the run time; it is shown apart too).
3. Shipping: bytes put in the object store once (per node of a cluster) against the bytes of one
   cell's task and of its result.
4. Driver capacity: 1,000 no-op tasks with a cell's argument shape (task, calendar, catalogue and
   8 block references) through the same submit/wait loop: cells per second the driver and the Ray
   scheduler handle, i.e. the ceiling a 1,000-cell sweep on a 10-node cluster would meet.

    .venv/bin/python benchmarks/bench_sweep.py [--cells 24] [--bench-cells 8] [--skip-sequential]
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

from scratch import scratch_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import ray  # noqa: E402

from workstation.calendar import TimeManager  # noqa: E402
from workstation.config import load_config, validate_config_dict  # noqa: E402
from workstation.store import BarStore, ensure_demo_data  # noqa: E402
from workstation.sweep.cell import run_cell  # noqa: E402
from workstation.sweep.ray_cluster import RayConnection  # noqa: E402
from workstation.sweep.results import SweepFolder  # noqa: E402
from workstation.sweep.runner import CellTask, SweepOptions, run_sweep  # noqa: E402
from workstation.sweep.spec import SweepSpec, build_plan  # noqa: E402


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def sweep(plan, store, tm, folder: Path):
    return run_sweep(plan, store, tm, SweepFolder(folder), SweepOptions(progress=io.StringIO()))


def timeline(outcome) -> dict:
    """From the workers' own clocks: the wait before the first cell starts (one-time: workers import
    the engine, the first bars are shipped), the gap between a cell's end and the next cell's start on
    the same worker (per cell: result out, scheduling, arguments in), and the steady span."""
    rows = sorted(outcome.rows, key=lambda r: r["started_at"])
    starts = [r["started_at"].timestamp() for r in rows]
    ends = [s + r["run_time_s"] for s, r in zip(starts, rows, strict=True)]
    gaps = []
    for worker in {r["worker"] for r in rows}:
        mine = [(s, e) for s, e, r in zip(starts, ends, rows, strict=True) if r["worker"] == worker]
        gaps += [b[0] - a[1] for a, b in zip(mine, mine[1:], strict=False)]
    return {"first_latency_s": starts[0] - outcome.started_at, "gap_s": statistics.median(gaps) if gaps else 0.0,
            "span_s": max(ends) - starts[0], "run_s": statistics.median(r["run_time_s"] for r in rows)}


def cpu_seconds(session: str) -> float:
    """CPU time used so far by this process and every process of this Ray session (GCS, raylet and its
    workers: the processes naming the session and their descendants)."""
    import psutil

    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.pid != os.getpid() and session in " ".join(proc.info["cmdline"] or []):
                found[proc.pid] = proc
                found.update({child.pid: child for child in proc.children(recursive=True)})
        except psutil.Error:
            continue
    total = sum(psutil.Process().cpu_times()[:2])
    for proc in found.values():
        try:
            total += sum(proc.cpu_times()[:2])
        except psutil.Error:
            continue
    return total


def speedup(tmp: Path, cells: int, skip_sequential: bool) -> dict:
    store_path = ROOT / "data" / "store"
    ensure_demo_data(store_path)
    cfg = load_config(ROOT / "session_configs" / "example_session.json")
    cfg.data_source.store_path = str(store_path)
    tm = TimeManager(cfg.exchange, cfg.timezone)
    fast = [3, 5, 8, 10][: max(1, cells // 6)]
    slow = [15, 20, 30, 40, 50, 60][: max(1, cells // len(fast))]
    plan = build_plan(SweepSpec(params={"strategies.sma_5_20.params.fast": fast,
                                        "strategies.sma_5_20.params.slow": slow}), cfg, tm, "example")
    store = BarStore(store_path)
    sequential = None
    session = ray.get_runtime_context().get_session_name()
    cpu_sequential = None
    if not skip_sequential:
        c0, t0 = sum(__import__("psutil").Process().cpu_times()[:2]), time.perf_counter()
        for cell in plan.cells:
            run_cell(cell.config, store)
        sequential = time.perf_counter() - t0
        cpu_sequential = sum(__import__("psutil").Process().cpu_times()[:2]) - c0
        print(f"  sequential, one process: {len(plan.cells)} cells in {sequential:.1f} s, CPU {cpu_sequential:.1f} s "
              f"(load {load()})")
    c0 = cpu_seconds(session)
    outcome = sweep(plan, store, tm, tmp / "example")
    cpu_ray = cpu_seconds(session) - c0
    print(f"  CPU of the Ray sweep (driver, workers, raylet, GCS): {cpu_ray:.1f} s"
          + (f" = {cpu_ray / cpu_sequential:.2f}x the sequential CPU" if cpu_sequential else ""))
    assert outcome.ok == len(plan.cells), outcome
    t = timeline(outcome)
    print(f"  Ray, 2 workers: {len(plan.cells)} cells in {outcome.elapsed_s:.1f} s (load {load()}); first cell "
          f"started after {t['first_latency_s']:.1f} s (workers import the engine), then {t['span_s']:.1f} s")
    return {"cells": len(plan.cells), "sequential_s": sequential, "ray_s": outcome.elapsed_s,
            "speedup": sequential / outcome.elapsed_s if sequential else None,
            "steady_speedup": sequential / t["span_s"] if sequential else None,
            "cpu_ratio": cpu_ray / cpu_sequential if cpu_sequential else None}


def overhead(tmp: Path, cells: int) -> dict:
    import make_bars

    df = make_bars.make_bars(100, 5, seed=42)
    store = BarStore(tmp / "bench_store", create=True)
    store.write_bars(df, "1m")
    symbols = sorted(df["symbol"].unique())
    days = sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
    cfg = validate_config_dict({
        "name": "bench: sweep cell",
        "symbols": symbols,
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": True},
        "backtest": {"start_date": str(days[0]), "end_date": str(days[-1]), "speed_multiplier": 0},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20,
                                                                               "quantity": 100}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "execution": {"starting_cash": 1e9},
        "data_source": {"store_path": str(tmp / "bench_store")},
    })
    tm = TimeManager(cfg.exchange, cfg.timezone)
    warm = build_plan(SweepSpec(params={"strategies.sma.params.fast": [4, 6]}), cfg, tm, "bench")
    sweep(warm, store, tm, tmp / "warm")  # the workers import the engine once
    fasts = list(range(3, 3 + cells))
    plan = build_plan(SweepSpec(params={"strategies.sma.params.fast": fasts}), cfg, tm, "bench")
    outcome = sweep(plan, store, tm, tmp / "bench")
    run_times = [r["run_time_s"] for r in outcome.rows]
    engine_times = [r["engine_s"] for r in outcome.rows]
    busy = sum(run_times)
    share = (outcome.workers * outcome.elapsed_s - busy) / busy
    t = timeline(outcome)
    t0 = time.perf_counter()
    plain = run_cell(plan.cells[0].config, store)  # the same cell on the Parquet store, in this process
    plain_s = time.perf_counter() - t0
    print(f"  {len(plan.cells)} cells of 100 symbols x 5 days ({outcome.rows[0]['bars_processed']:,} bars): "
          f"{outcome.elapsed_s:.1f} s on {outcome.workers} workers; cell run time median "
          f"{statistics.median(run_times):.2f} s (engine {statistics.median(engine_times):.2f} s); "
          f"worker time outside cells {share * 100:.1f} % of cell time (load {load()})")
    print(f"  per cell, worker clock: gap between one cell's end and the next one's start {t['gap_s'] * 1000:.0f} ms "
          f"= {t['gap_s'] / t['run_s'] * 100:.1f} % of a cell; in-task store build and engine set-up "
          f"{(statistics.median(run_times) - statistics.median(engine_times)) * 1000:.0f} ms")
    print(f"  the same cell in this process on the Parquet store: {plain_s:.2f} s (engine {plain.engine_s:.2f} s)")
    return {"plan": plan, "outcome": outcome, "store": store, "tm": tm, "share": share, "gap": t["gap_s"],
            "median_run_s": statistics.median(run_times), "plain_s": plain_s}


def shipping(info: dict) -> dict:
    plan, outcome = info["plan"], info["outcome"]
    cell = plan.cells[0]
    task_bytes = len(pickle.dumps(CellTask(cell.cell_id, cell.config, False, str(info["store"].root))))
    result_row = outcome.rows[0]
    from workstation.sweep.cell import CellOutcome

    result = CellOutcome({k: result_row.get(k) for k in result_row}, {}, None, 0.0, 0.0, "host:1")
    result_bytes = len(pickle.dumps(result))
    calendar_bytes = len(pickle.dumps(info["tm"]))
    print(f"  shipped once: {outcome.shipped_blocks} blocks, {outcome.shipped_bytes / 2**20:.1f} MiB of bars "
          f"(read from the store {outcome.store_reads} times) + calendar {calendar_bytes / 1024:.0f} KiB; "
          f"per cell: task {task_bytes / 1024:.1f} KiB + {outcome.shipped_blocks} references in, "
          f"result {result_bytes / 1024:.1f} KiB out")
    return {"blocks": outcome.shipped_blocks, "bytes": outcome.shipped_bytes, "task_bytes": task_bytes,
            "result_bytes": result_bytes, "calendar_bytes": calendar_bytes}


def _noop(task, calendar, catalog, *blocks):
    return {"cell_id": task.cell_id, "statistics": {f"s{i}": float(i) for i in range(30)}}


def driver_capacity(info: dict, tasks: int = 1000) -> float:
    plan = info["plan"]
    cell = plan.cells[0]
    task = CellTask(cell.cell_id, cell.config, False, "store")
    calendar = ray.put(info["tm"])
    catalog = ray.put({"1m": sorted(cell.config["symbols"])})
    blocks = [ray.put(b"x" * 1024) for _ in range(8)]
    remote = ray.remote(_noop).options(num_cpus=1, max_retries=2)
    window = 4 * int(ray.cluster_resources().get("CPU", 1))
    import psutil

    driver_cpu0 = sum(psutil.Process().cpu_times()[:2])
    t0 = time.perf_counter()
    in_flight, done = [], 0
    submitted = 0
    while done < tasks:
        while submitted < tasks and len(in_flight) < window:
            in_flight.append(remote.remote(task, calendar, catalog, *blocks))
            submitted += 1
        ready, in_flight = ray.wait(in_flight, num_returns=1, timeout=1.0)
        for ref in ready:
            ray.get(ref)
            done += 1
    rate = tasks / (time.perf_counter() - t0)
    driver_ms = (sum(psutil.Process().cpu_times()[:2]) - driver_cpu0) / tasks * 1000
    print(f"  driver + scheduler: {tasks} cell-shaped tasks at {rate:,.0f} cells/s through 2 local workers; "
          f"driver CPU {driver_ms:.1f} ms a cell (load {load()})")
    return rate, driver_ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=24)
    ap.add_argument("--bench-cells", type=int, default=12)
    ap.add_argument("--skip-sequential", action="store_true")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {load()}")
    tmp = scratch_dir("bench_sweep_")
    connection = RayConnection(workers=2).__enter__()  # the sweep's own local cluster, started once
    print(f"Ray start-up (local, 2 workers): {connection.startup_s:.1f} s")
    try:
        print("1. speed-up, example config:")
        speed = speedup(tmp, a.cells, a.skip_sequential)
        if speed["speedup"]:
            print(f"  => speed-up {speed['speedup']:.2f}x with 2 workers ({speed['steady_speedup']:.2f}x once the "
                  f"workers have started); the sweep costs {speed['cpu_ratio']:.2f}x the CPU of the sequential run, "
                  f"so on 2 free cores it would finish {2 / speed['cpu_ratio']:.2f}x faster (less the start-up)")
        print("2. per-cell overhead, 100 symbols x 5 days:")
        info = overhead(tmp, a.bench_cells)
        print(f"  => per-cell overhead {info['gap'] / info['median_run_s'] * 100:.1f} % of a cell's run time "
              f"(all worker time outside cells, one-time costs and the last round's idle worker included: "
              f"{info['share'] * 100:.1f} %)")
        print("3. shipping:")
        ship = shipping(info)
        print("4. driver capacity:")
        rate, driver_ms = driver_capacity(info)
        cells, nodes, cpus = 1000, 10, 8
        wall = cells * info["median_run_s"] / (nodes * cpus)
        finish_rate = nodes * cpus / info["median_run_s"]
        print(f"1,000 cells on {nodes} nodes x {cpus} CPUs at {info['median_run_s']:.2f} s a cell: about {wall:.0f} s; "
              f"the workers finish {finish_rate:.0f} cells/s, the driver needs {driver_ms:.1f} ms of CPU a cell "
              f"(= {finish_rate * driver_ms / 1000 * 100:.0f} % of one core at that rate); shipped once per node "
              f"{ship['bytes'] / 2**20:.1f} MiB of bars + {ship['calendar_bytes'] / 1024:.0f} KiB calendar, per cell "
              f"{(ship['task_bytes'] + ship['result_bytes']) / 1024:.1f} KiB")
    finally:
        connection.__exit__(None, None, None)


if __name__ == "__main__":
    main()
