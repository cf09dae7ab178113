"""Start-up: time from process start to the first bar of `workstation run` on the example config.

Whole process, several runs: each run is a new `workstation run CONFIG --json --no-bars` process
(the console script's code: `workstation.cli.main`). From each one it takes, in one table:

- first bar s:   `startup.first_bar_s` of the run (process start as the OS records it -> the first
                 bar time delivered; workstation.process_start), from its --json output;
- CPU s:         `startup.first_bar_cpu_s`, the process's CPU seconds by then (steadier than wall
                 time on a shared machine);
- process s:     the whole process, wall, measured here from spawn to exit (CPU from its rusage).

Cache modes, interleaved round by round so they share the machine's noise:
  warm   the cache already holds the calendar's years (workstation.calendar_cache) and the config
         validated (workstation.config.validated: the run imports no pydantic);
  off    `WORKSTATION_CACHE_DIR=""`: pandas-market-calendars computes the years and pydantic validates
         the config in every process (as before the caches); the first "cold" run of the warm mode
         also writes them.

Phases: a second child replays `workstation run`'s steps with a stamp (seconds since its process
started) after each: interpreter start, imports (CLI and the run's engine modules), config,
calendar (the run's sessions), store open and pre-flight checks, system built, first bar. Its first
bar figure should match the real runs'.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--config session_configs/example_session.json]
                                                 [--store data/store] [--source DIR] [--json]
                                                 [--no-bytecode]

Python's compiled modules: by default the children may write and read __pycache__ (as an installed
program does; the first, "cold", run writes them), even where PYTHONDONTWRITEBYTECODE is set;
`--no-bytecode` runs a copy of the `workstation` package without compiled modules and writes none, so
every run compiles it (as in a checkout where PYTHONDONTWRITEBYTECODE is set; the libraries keep
theirs).

`--source DIR` runs another checkout's `workstation` package (e.g. an older commit, to compare
before/after in one run; its first-bar figure needs workstation.process_start there). The demo
store is created (workstation demo-data) when the store folder is absent. Report `nproc` and the
load average with the figures: they move 20-40 % with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = "import sys\nfrom workstation.cli import main\nsys.exit(main())\n"

PHASES = r'''
import os, sys, time, json
from workstation.process_start import process_age_s
try:
    from workstation.process_start import StartupCollection
    collection = StartupCollection()
    collection.pause()              # as `workstation run` does, until the first bar
except ImportError:                 # an older checkout (--source): it did not pause the collector
    collection = None
stamps = [("interpreter start", process_age_s(), time.process_time())]
def stamp(name):
    stamps.append((name, process_age_s(), time.process_time()))
import workstation.cli
# the process settings `workstation run`'s main() makes before numpy and pydantic load (OpenBLAS on one
# thread, no pydantic plugin search); an older checkout (--source) may lack them
if hasattr(workstation.cli, "single_threaded_blas"):
    workstation.cli.single_threaded_blas(os.environ, sys.modules)
if hasattr(workstation.cli, "no_pydantic_plugins"):
    workstation.cli.no_pydantic_plugins(os.environ)
from workstation.config import load_config
from workstation.preflight import PreflightCache, check_runnable
from workstation.run_commands import apply_overrides
from workstation.run_writer import RunWriter, prepare_run_folder
from workstation.system import SystemManager
stamp("imports")
from pathlib import Path
config, store, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
try:                                # as `workstation run` reads its config
    from workstation.run_commands import run_config
    cfg = run_config(config)
except ImportError:                 # an older checkout (--source)
    cfg = apply_overrides(load_config(config), source=config)
stamp("config")
checked = PreflightCache()
tm = checked.calendar(cfg.exchange, cfg.timezone)
tm.sessions(cfg.backtest.start_date, cfg.backtest.end_date)
stamp("calendar")
check_runnable(cfg, store, source=config, cache=checked)
stamp("store open + pre-flight")
system = SystemManager(cfg, store=checked.store(store), time_manager=tm)
from workstation.process_start import record_first_bar
def first_bar(metrics):
    record_first_bar(metrics)
    if collection is not None:
        collection.resume()
system.coordinator.on_first_bar = first_bar
folder = prepare_run_folder(out, "runs", "bench", overwrite=True)
writer = RunWriter(system, folder, write_bars=False)
stamp("system built")
system.start()
system.wait()
first = system.metrics.stat("startup.first_bar_s")
first_cpu = system.metrics.stat("startup.first_bar_cpu_s")
stamps.append(("first bar", first.last if first.count else None, first_cpu.last if first_cpu.count else None))
print(json.dumps({"stamps": stamps, "calendar": tm.stats.as_dict()}))
'''


def child_env(source: Path, cache: str | None, bytecode: bool = True) -> dict[str, str]:
    """`bytecode`: Python's compiled modules are written by the first run and read by the next ones (as
    an installed program runs); else none is written (PYTHONDONTWRITEBYTECODE)."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(source) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if cache is not None:
        env["WORKSTATION_CACHE_DIR"] = cache
    return env


def timed_child(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """(wall s, stdout) of one child process, spawn to exit."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"a child failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, out.decode()


def run_once(python: str, source: Path, config: Path, store: Path, out: Path, cache: str | None,
             bytecode: bool = True) -> dict:
    before = os.times()         # the child's CPU: the rusage of waited-for children, before and after
    wall, stdout = timed_child([python, "-c", RUN, "run", str(config), "--store", str(store), "--out",
                                   str(out), "--overwrite", "--no-bars", "--json"], child_env(source, cache, bytecode),
                               source)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    doc = json.loads(stdout)
    # the figures as metrics.json holds them (also what `run --json` prints as "startup"), so an older
    # checkout given with --source that records them but does not print them is measured too
    stats = json.loads((out / "metrics.json").read_text())["metrics"]["stats"]
    return {"first_bar_s": (stats.get("startup.first_bar_s") or {}).get("last"),
            "first_bar_cpu_s": (stats.get("startup.first_bar_cpu_s") or {}).get("last"),
            "process_s": wall, "process_cpu_s": cpu, "ok": doc.get("ok")}


def phases_once(python: str, source: Path, config: Path, store: Path, out: Path, cache: str | None,
                bytecode: bool = True) -> dict:
    _, stdout = timed_child([python, "-c", PHASES, str(config), str(store), str(out)],
                               child_env(source, cache, bytecode), source)
    return json.loads(stdout.strip().splitlines()[-1])


def ensure_store(store: Path, python: str, source: Path) -> None:
    if (store / "store.json").is_file():
        return
    print(f"creating the demo store in {store} ...", file=sys.stderr)
    subprocess.run([python, "-c", RUN, "demo-data", "--store", str(store)], env=child_env(source, None),
                   cwd=source, check=True, capture_output=True)


def _median(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.median(real) if real else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", default=str(ROOT / "session_configs" / "example_session.json"))
    parser.add_argument("--store", default=str(ROOT / "data" / "store"))
    parser.add_argument("--source", default=str(ROOT), help="checkout whose `workstation` package runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile every module in every run (PYTHONDONTWRITEBYTECODE=1), as in a read-only "
                             "checkout; by default the runs use Python's compiled modules, as an installed program")
    args = parser.parse_args(argv)
    python = sys.executable
    source = Path(args.source).resolve()
    config, store = Path(args.config).resolve(), Path(args.store).resolve()
    ensure_store(store, python, source)
    load = os.getloadavg()
    print(f"nproc {os.cpu_count()}  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  "
          f"source {source}  config {config.name}  store {store}  "
          f"{'every module compiled in every run' if args.no_bytecode else 'compiled modules cached'}")

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        tmp_path = Path(tmp)
        cache = str(tmp_path / "cache")
        bytecode = not args.no_bytecode
        if args.no_bytecode:            # a copy of the package without compiled modules, none written
            shutil.copytree(source / "workstation", tmp_path / "source" / "workstation",
                            ignore=shutil.ignore_patterns("__pycache__"))
            source = tmp_path / "source"
        cold = run_once(python, source, config, store, tmp_path / "run-cold", cache, bytecode)
        rows: dict[str, list[dict]] = {"warm": [], "off": []}
        for i in range(args.runs):
            rows["warm"].append(run_once(python, source, config, store, tmp_path / f"run-w{i}", cache, bytecode))
            rows["off"].append(run_once(python, source, config, store, tmp_path / f"run-o{i}", "", bytecode))
        phases = phases_once(python, source, config, store, tmp_path / "run-phases", cache, bytecode)
    load_after = os.getloadavg()

    print(f"\n{'cache':<16}{'runs':>5}{'first bar s':>13}{'min':>8}{'CPU s':>8}{'process s':>11}"
          f"{'CPU s':>8}")
    summary: dict[str, dict] = {}
    for mode, label in (("cold", "cold (fills it)"), ("warm", "warm"), ("off", "off")):
        runs = [cold] if mode == "cold" else rows[mode]
        firsts = [r["first_bar_s"] for r in runs]
        figures = {"runs": len(runs), "first_bar_s": _median(firsts),
                   "first_bar_min_s": min((f for f in firsts if f is not None), default=None),
                   "first_bar_cpu_s": _median([r["first_bar_cpu_s"] for r in runs]),
                   "process_s": _median([r["process_s"] for r in runs]),
                   "process_cpu_s": _median([r["process_cpu_s"] for r in runs])}
        summary[mode] = figures
        print(f"{label:<16}{figures['runs']:>5}{_fmt(figures['first_bar_s']):>13}"
              f"{_fmt(figures['first_bar_min_s']):>8}{_fmt(figures['first_bar_cpu_s']):>8}"
              f"{_fmt(figures['process_s']):>11}{_fmt(figures['process_cpu_s']):>8}")
    warm, off = summary["warm"], summary["off"]
    if warm["first_bar_s"] and off["first_bar_s"]:
        print(f"first bar, cache off / warm: {off['first_bar_s'] / warm['first_bar_s']:.2f}x wall, "
              f"{off['first_bar_cpu_s'] / warm['first_bar_cpu_s']:.2f}x CPU (medians, same rounds)")

    print("\nphases of one run (seconds since the process started, wall and CPU; warm cache)")
    print(f"  {'phase':<26}{'wall s':>8}{'(+step)':>10}{'CPU s':>8}{'(+step)':>10}")
    previous, previous_cpu = 0.0, 0.0
    for name, age, cpu in phases["stamps"]:
        if age is None or cpu is None:
            print(f"  {name:<26}{'-':>8}")
            continue
        print(f"  {name:<26}{age:>8.3f}{f'(+{age - previous:.3f})':>10}{cpu:>8.3f}{f'(+{cpu - previous_cpu:.3f})':>10}")
        previous, previous_cpu = age, cpu
    print(f"  calendar: {phases['calendar']}")
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        print(json.dumps({"summary": summary, "phases": phases, "load": [load, load_after]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
