"""Showing a big run in the results view: how long the UI thread is blocked (issue 10, responsiveness).

Builds a run folder once (100 symbols x 10 days of ../shared/bench/make_bars.py bars, seed 42, the
example config's settings: 5-day history, SMA 5/20 crossover on every symbol; about 12,000 trades),
then, in fresh processes, times on a ResultsView shown offscreen at 1600x1000 as the main window's
Results dock shows it:

- show: `load_run_folder` + the repaint that puts it on screen (what `MainWindow._show_results`
  blocks the UI thread for), and of it `load_run` alone,
- sort: clicking each trade-table column, both directions (sort + repaint), median and max,
- filter: the first keystroke of the trade filter ("A") and the next ones ("AB", "ABC"...), and
  clearing it, each with the repaint,
- read: on a new view, the two longest UI-thread stalls (a 2 ms probe timer's gaps) from the end of
  `read_run_folder_in_background`'s read until the view is built, drawn and 300 ms more (the
  window's path for a big run at the end of a replay).

`--before ROOT` (an export of the code before, e.g. `git archive HEAD~3 | tar -x -C /tmp/old`) runs
the same measurements on that tree too, ALTERNATING with this tree process by process, so both
see the same machine load; medians and ranges of the pairs are printed with the load average.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_results_view.py [--pairs 5]
        [--symbols 100] [--days 10] [--before /tmp/old-results] [--run-dir /tmp/bench_results_run]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scratch import scratch_dir  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()


def build_run_folder(run_dir: Path, symbols: int, days: int) -> int:
    """A real backtest's run folder (example settings on make_bars data); returns its trade count."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import make_bars
    from bench_backtest import bench_config

    from workstation.config import validate_config_dict
    from workstation.run_writer import RunWriter
    from workstation.store import BarStore
    from workstation.system import SystemManager

    df = make_bars.make_bars(symbols, days, seed=42)
    store = BarStore(run_dir.parent / f"{run_dir.name}-store", create=True)
    store.write_bars(df, "1m")
    names = sorted(df["symbol"].unique())
    dates = sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
    cfg = bench_config(names, str(dates[0]), str(dates[-1]), stage_threads=False, example=True)
    system = SystemManager(validate_config_dict(cfg), store=store)
    writer = RunWriter(system, run_dir)
    system.start()
    system.wait()
    assert writer.wait_closed(120) and not writer.failed, writer.write_error
    assert system.error is None, system.error
    return len(system.broker.trades)


def child(root: Path, run_dir: Path, size: str) -> dict:
    """One process's measurements of the results view of the tree at `root`."""
    sys.path.insert(0, str(root))
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme
    from ui.windows.results_view import ResultsView
    from workstation.runs import load_run

    app = QApplication.instance() or QApplication(["bench_results_view"])
    apply_theme(app)
    view = ResultsView()
    w, h = (int(x) for x in size.split("x"))
    view.resize(w, h)
    view.show()
    app.processEvents()
    load_run(run_dir)  # warm: imports, parquet reader, the file cache (both trees alike)

    t0 = time.perf_counter()
    load_run(run_dir)
    load_ms = (time.perf_counter() - t0) * 1e3

    t0 = time.perf_counter()
    view.load_run_folder(run_dir)
    loaded = time.perf_counter()
    view.repaint()
    app.processEvents()
    show_ms = (time.perf_counter() - t0) * 1e3
    paint_ms = (time.perf_counter() - loaded) * 1e3
    trades = view.trade_model.rowCount()

    table = view.trade_table
    sorts = []
    for column in range(view.trade_model.columnCount()):
        for order in (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder):
            t0 = time.perf_counter()
            table.sortByColumn(column, order)
            table.viewport().repaint()
            sorts.append((time.perf_counter() - t0) * 1e3)
    table.sortByColumn(3, Qt.SortOrder.AscendingOrder)

    keystrokes = []
    for text in ("A", "AB", "ABC"):
        t0 = time.perf_counter()
        view.trade_filter.setText(text)
        view.repaint()
        keystrokes.append((time.perf_counter() - t0) * 1e3)
    t0 = time.perf_counter()
    view.trade_filter.setText("")
    view.repaint()
    clear_ms = (time.perf_counter() - t0) * 1e3
    read_ms = staged_stalls(app, ResultsView, run_dir, w, h)
    return {
        "trades": trades,
        "load_run_ms": load_ms,
        "show_ms": show_ms,
        "paint_ms": paint_ms,
        "sort_median_ms": statistics.median(sorts),
        "sort_max_ms": max(sorts),
        "filter_first_ms": keystrokes[0],
        "filter_next_ms": max(keystrokes[1:]),
        "filter_clear_ms": clear_ms,
        "read_longest_stall_ms": read_ms[0],
        "read_second_stall_ms": read_ms[1],
    }


def staged_stalls(app, view_class, run_dir: Path, w: int, h: int) -> tuple[float, float]:
    """On a new view: the two longest UI-thread stalls (gaps of a 2 ms probe timer) from the end of
    `read_run_folder_in_background`'s read until the view is built and drawn and 300 ms more: what
    the window's run end does for a big run (the code before builds it at once, this tree in steps)."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    view = view_class()
    view.resize(w, h)
    view.show()
    app.processEvents()
    clock = QElapsedTimer()
    clock.start()
    gaps: list[float] = []
    last: list[float] = []

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if last:
            gaps.append(now - last[0])
        last[:] = [now]

    probe = QTimer()
    probe.setInterval(2)
    probe.timeout.connect(tick)
    real_on_read_done = view._on_read_done
    view._read_done.disconnect(real_on_read_done)

    def on_read_done(*args: object) -> None:
        gaps.clear()  # the read itself ran in a worker thread
        real_on_read_done(*args)

    view._read_done.connect(on_read_done)
    done: list[str] = []
    view.run_folder_read.connect(lambda _path, message: done.append(message))
    probe.start()
    view.read_run_folder_in_background(run_dir)
    while not done:
        app.processEvents()
        time.sleep(0.0005)
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end or getattr(view, "building", False):
        app.processEvents()
        time.sleep(0.0005)
    probe.stop()
    gaps.sort(reverse=True)
    return gaps[0], gaps[1]


def run_child(root: Path, run_dir: Path, size: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root), "--run-dir", str(run_dir), "--size", size],
        capture_output=True, text=True, cwd=root,
        env={**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")},
    )
    if out.returncode:
        raise SystemExit(f"child for {root} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=5, help="processes per tree (alternating with --before)")
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--before", type=Path, default=None, help="root of the code before (an export)")
    ap.add_argument("--run-dir", type=Path, default=None, help="run folder to use (built there if missing)")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child is not None:
        print(json.dumps(child(a.child, a.run_dir, a.size)))
        return

    run_dir = a.run_dir or scratch_dir("bench_results_") / "run"
    if not (run_dir / "trades.parquet").exists():
        t0 = time.perf_counter()
        n = build_run_folder(run_dir, a.symbols, a.days)
        print(f"run folder {run_dir}: {n:,} trades (built in {time.perf_counter() - t0:.1f} s)")
    trees = {"after": ROOT} if a.before is None else {"before": a.before.resolve(), "after": ROOT}
    results: dict[str, list[dict]] = {name: [] for name in trees}
    loads = [os.getloadavg()[0]]
    for i in range(a.pairs):
        names = list(trees) if i % 2 == 0 else list(reversed(trees))
        for name in names:
            results[name].append(run_child(trees[name], run_dir, a.size))
            loads.append(os.getloadavg()[0])
        print(f"pair {i + 1}: " + "; ".join(
            f"{name} show {results[name][-1]['show_ms']:.0f} ms" for name in trees), flush=True)

    print(f"\n{results['after'][0]['trades']:,} trades, Qt {os.environ['QT_QPA_PLATFORM']}, {a.pairs} processes "
          f"per tree, {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f}")
    keys = [k for k in results["after"][0] if k != "trades"]
    print(f"{'ms (median, range)':<22}" + "".join(f"{name:>26}" for name in trees))
    for key in keys:
        cells = []
        for name in trees:
            values = [r[key] for r in results[name]]
            cells.append(f"{statistics.median(values):8.1f} ({min(values):.1f}-{max(values):.1f})")
        print(f"{key:<22}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    main()
