"""The sweep window's results table with many cells: how long the UI thread is blocked.

A sweep of thousands of cells (random search on a Ray cluster) fills the window's results table; it
is rebuilt each time the results file changes (cells finishing) and sorted when a title is clicked.
In fresh processes, offscreen, on a synthetic results frame (3 parameters, the table's statistics with
missing and non-finite values, ~5 % failed cells, seed 1), this times:

- show: the first `_show_results` (columns built, sorted by the objective, widths fitted) + repaint,
- refresh: the same again (what each change of the results file costs while a sweep runs),
- sort: clicking the objective, a parameter and the status title, both directions (sort + repaint).

`--before ROOT` (an export of the code before, e.g. `git archive HEAD~1 | tar -x -C /tmp/old`) times
that tree too, ALTERNATING with this one process by process so both see the same machine load.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_sweep_window.py [--cells 1000,5000,20000]
        [--pairs 3] [--before /tmp/old]
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

ROOT = Path(__file__).resolve().parents[1]


def synthetic_results(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)

    def stat(scale: float, missing: float = 0.03):
        values = rng.normal(size=n) * scale
        values[rng.random(n) < missing] = np.nan
        values[rng.random(n) < missing / 3] = np.inf
        return values

    failed = rng.random(n) < 0.05
    return pd.DataFrame({
        "cell": np.arange(n), "cell_id": [f"c{i:06d}" for i in range(n)], "window": None, "phase": "sweep",
        "status": np.where(failed, "failed", "ok"),
        "p.fast": rng.integers(2, 30, n), "p.slow": rng.integers(10, 200, n), "p.conf": rng.random(n).round(3),
        "total_return_pct": stat(5), "sharpe": stat(2), "max_drawdown_pct": -np.abs(stat(3)),
        "profit_factor": np.abs(stat(1)), "win_rate_pct": rng.random(n) * 100, "trades": rng.integers(0, 900, n),
        "coverage_pct": 100 - rng.random(n), "run_time_s": rng.random(n) * 3,
        "error": np.where(failed, "ValueError: bad parameter", None),
    })


def child(n: int) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme
    from ui.windows.sweep_window import SweepWindow

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    window = SweepWindow()
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    window.definition = {"params": [{"path": "p.fast", "alias": "fast"}, {"path": "p.slow", "alias": "slow"},
                                    {"path": "p.conf", "alias": "conf"}],
                         "objective": "sharpe", "direction": "max"}
    window.results = synthetic_results(n)
    out: dict = {}
    for name in ("show", "refresh"):
        t0 = time.perf_counter()
        window._show_results()
        app.processEvents()
        out[name] = time.perf_counter() - t0
    titles = [window.model.headerData(c, Qt.Orientation.Horizontal) for c in range(window.model.columnCount())]
    sorts = []
    for title in ("Sharpe ★", "slow", "Status"):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            t0 = time.perf_counter()
            window.table.sortByColumn(titles.index(title), order)
            window.table.viewport().repaint()
            app.processEvents()
            sorts.append(time.perf_counter() - t0)
    out["sort_median"], out["sort_max"] = statistics.median(sorts), max(sorts)
    window.close()
    return out


def run_child(tree: Path, n: int) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(n)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", default="1000,5000,20000")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--before", type=Path, help="a tree of the code before, timed alternately")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child)))
        return
    trees = [("this", ROOT)] + ([("before", a.before.resolve())] if a.before else [])
    print(f"nproc {os.cpu_count()}  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for n in (int(x) for x in a.cells.split(",")):
        got: dict[str, list[dict]] = {name: [] for name, _ in trees}
        for _ in range(a.pairs):
            for name, tree in trees:
                got[name].append(run_child(tree, n))
        for name, _ in trees:
            runs = got[name]
            fig = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{n:>6,} cells  {name:<6}  show {fig['show']:.3f} s  refresh {fig['refresh']:.3f} s  "
                  f"sort median {fig['sort_median']:.3f} s, max {fig['sort_max']:.3f} s  ({len(runs)} runs)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
