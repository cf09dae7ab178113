"""Benchmark of the strategy signal log: batched appends, filtering and sorting with 100,000 rows.

Run offscreen from the project root:

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/bench_signal_log.py [--rows 100000]
        [--batch 200] [--stream-seconds 5] [--compare-qsfpm]

The log is measured as the main window uses it: SignalLogView (model, numpy proxy, QTableView)
shown offscreen at 1000x300. Each append is timed from `append_rows` + `flush` until it returns, then
the event loop painting the result (`processEvents`). A live stream (200 rows at 60 Hz) measures
the UI-thread CPU with and without the view's 100 ms refresh coalescing. `--compare-qsfpm` times a plain
QSortFilterProxyModel sorting the same model through a sort role (slow: tens of seconds).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSortFilterProxyModel, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ui.app import install_none_refcount_guard  # noqa: E402
from ui.theme import apply_theme  # noqa: E402
from ui.widgets.signal_log import COL_PRICE, COL_REASON, COL_SYMBOL, COL_TIME, SORT_ROLE, SignalLogView  # noqa: E402

SYMBOLS = [f"S{i:03d}" for i in range(100)]
STRATEGIES = ["ma_cross", "rsi_reversion", "breakout_orb", "vwap_revert"]
REASONS = ["max position exceeded", "daily loss limit reached", "insufficient cash", "symbol halted"]
T0 = 1_710_509_460_000_000_000  # 2024-03-15 09:31 America/New_York
MINUTE = 60_000_000_000


def make_rows(count: int, seed: int = 42) -> list[dict]:
    """Signals like a 100-symbol replay: ~15 % rejected, ~1 % strategy errors."""
    rnd = random.Random(seed)
    rows = []
    for i in range(count):
        time_ns = T0 + (i // 20) * MINUTE
        if rnd.random() < 0.01:
            rows.append(
                {
                    "time_ns": time_ns,
                    "symbol": rnd.choice(SYMBOLS),
                    "strategy": rnd.choice(STRATEGIES),
                    "reason": f"ZeroDivisionError in on_bar #{i}",
                    "kind": "error",
                }
            )
            continue
        approved = rnd.random() > 0.15
        rows.append(
            {
                "time_ns": time_ns,
                "symbol": rnd.choice(SYMBOLS),
                "strategy": rnd.choice(STRATEGIES),
                "action": rnd.choice(("BUY", "SELL", "CLOSE")),
                "quantity": rnd.choice((10, 50, 100, 500)),
                "price": round(rnd.uniform(5, 900), 2),
                "confidence": round(rnd.random(), 2),
                "approved": approved,
                "reason": "" if approved else rnd.choice(REASONS),
                "kind": "signal",
            }
        )
    return rows


def timed(action) -> float:
    """Seconds taken by `action()`."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def describe(label: str, seconds: list[float]) -> None:
    micros = [s * 1e6 for s in seconds]
    print(
        f"  {label:<44} median {statistics.median(micros):8.0f} µs   p95 {percentile(micros, 95):8.0f} µs"
        f"   max {max(micros):8.0f} µs   ({len(micros)} batches)"
    )


def stream(
    app: QApplication, rows: list[dict], batch: int, seconds: float, refresh_ms: int
) -> tuple[float, int]:
    """Feed a fresh view `batch` rows every 1/60 s; returns (CPU seconds per second, refreshes)."""
    view = SignalLogView(refresh_ms=refresh_ms)
    view.resize(1000, 300)
    view.show()
    app.processEvents()
    refreshes = [0]
    view.proxy.rowsInserted.connect(lambda *_: refreshes.__setitem__(0, refreshes[0] + 1))
    ticks = int(seconds * 60)
    position = [0]
    loop = QEventLoop()

    def tick() -> None:
        start = position[0] % (len(rows) - batch)
        view.append_rows(rows[start : start + batch])
        position[0] += batch
        if position[0] >= ticks * batch:
            loop.quit()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    timer.start(16)
    loop.exec()
    timer.stop()
    view.flush()
    app.processEvents()
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    view.close()
    view.deleteLater()
    return cpu / wall, refreshes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--stream-seconds", type=float, default=5.0)
    parser.add_argument("--compare-qsfpm", action="store_true")
    args = parser.parse_args()

    patched = install_none_refcount_guard()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    rows = make_rows(args.rows)
    extra = make_rows(20 * args.batch, seed=7)
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
    print(f"Signal log benchmark: {len(rows):,} rows in batches of {args.batch} (Qt {app.platformName()})")
    if patched:
        print("  (PySide6 None/True/False refcount guard applied, see ui.app)")

    view = SignalLogView()
    view.resize(1000, 300)
    view.show()
    app.processEvents()

    append_only, append_paint = [], []
    for batch in batches:
        append_only.append(timed(lambda b=batch: (view.append_rows(b), view.flush())))
        append_paint.append(timed(app.processEvents))
    print("Appends, one table refresh per batch (follow on, arrival order):")
    describe("append_rows + flush per batch (model + proxy)", append_only)
    describe("event loop after the batch (scroll + paint)", append_paint)
    total = sum(append_only) + sum(append_paint)
    print(f"  {len(rows):,} rows in {total:.2f} s = {len(rows) / total:,.0f} rows/s")

    print(f"Live stream: {args.batch} rows at 60 Hz for {args.stream_seconds:g} s, UI-thread CPU:")
    for refresh_ms in (0, 100):
        cpu, refreshes = stream(app, rows, args.batch, args.stream_seconds, refresh_ms)
        print(f"  refresh_ms={refresh_ms:<4} {cpu * 100:5.1f} % of one core   ({refreshes} table refreshes)")

    print(f"Filtering {view.model.rowCount():,} rows (view refreshed):")
    for label, action in (
        ("symbol = S042", lambda: view.set_symbol_filter("S042")),
        ("symbol = all", lambda: view.set_symbol_filter(None)),
        ("strategy = breakout_orb", lambda: view.set_strategy_filter("breakout_orb")),
        ("strategy = all", lambda: view.set_strategy_filter(None)),
        ("decision = rejected", lambda: view.set_decision_filter("rejected")),
        ("decision = errors", lambda: view.set_decision_filter("errors")),
        ("decision = all", lambda: view.set_decision_filter("all")),
        ("text = 'loss'", lambda: view.set_text_filter("loss")),
        ("text = 'zerodivision' (unique reasons)", lambda: view.set_text_filter("zerodivision")),
        ("text cleared", lambda: view.set_text_filter("")),
    ):
        seconds = timed(lambda a=action: (a(), app.processEvents()))
        print(f"  {label:<44} {seconds * 1e3:8.1f} ms   -> {view.proxy.rowCount():,} rows")

    print(f"Sorting {view.model.rowCount():,} rows (header click, view refreshed):")
    for label, column, order in (
        ("price ascending", COL_PRICE, Qt.SortOrder.AscendingOrder),
        ("price descending", COL_PRICE, Qt.SortOrder.DescendingOrder),
        ("symbol ascending", COL_SYMBOL, Qt.SortOrder.AscendingOrder),
        ("reason ascending", COL_REASON, Qt.SortOrder.AscendingOrder),
        ("time descending", COL_TIME, Qt.SortOrder.DescendingOrder),
        ("arrival order", -1, Qt.SortOrder.AscendingOrder),
    ):
        seconds = timed(lambda c=column, o=order: (view.table.sortByColumn(c, o), app.processEvents()))
        print(f"  {label:<44} {seconds * 1e3:8.1f} ms")

    view.table.sortByColumn(COL_PRICE, Qt.SortOrder.AscendingOrder)
    app.processEvents()
    sorted_appends = []
    for start in range(0, len(extra), args.batch):
        batch = extra[start : start + args.batch]
        sorted_appends.append(timed(lambda b=batch: (view.append_rows(b), view.flush(), app.processEvents())))
    print("Appends while sorted by price (rows land mid-table):")
    describe("append + paint per batch", sorted_appends)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "signals.csv"
        seconds = timed(lambda: view.export_csv(path))
        print(
            f"export_csv of {view.proxy.rowCount():,} rows: {seconds * 1e3:.0f} ms ({path.stat().st_size / 1e6:.1f} MB)"
        )

    if args.compare_qsfpm:
        qsfpm = QSortFilterProxyModel()
        qsfpm.setSourceModel(view.model)
        qsfpm.setSortRole(SORT_ROLE)
        seconds = timed(lambda: qsfpm.sort(COL_PRICE, Qt.SortOrder.AscendingOrder))
        print(f"QSortFilterProxyModel sort by price (sort role, for comparison): {seconds:.1f} s")


if __name__ == "__main__":
    main()
