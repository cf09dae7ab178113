"""Benchmark of the candle chart: append + redraw in follow mode, and pan/zoom over 100,000 bars.

Run offscreen from the project root:

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/bench_chart.py [--bars 100000]
        [--appends 500] [--screenshots DIR]

Each append is timed from `append_bar` until the frame is painted: first with the event loop
doing the paint it schedules (`processEvents`, as in the running application), then with a forced
full render on top (`grab()`). Pan and zoom frames show all bars (decimated drawing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6 import QtCore, QtWidgets  # noqa: E402

from ui.app import install_none_refcount_guard  # noqa: E402
from ui.widgets.chart import (
    CandleChart,  # noqa: E402
    ChartPanel,  # noqa: E402
)

_NS_MIN = 60_000_000_000


def random_walk_bars(n: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    """n one-minute bars of a random walk in cents, 390 per session from 14:30 UTC on weekdays."""
    rng = np.random.default_rng(seed)
    first_day = np.datetime64("2024-01-02")
    days = np.busday_offset(first_day, np.arange(n // 390 + 1), roll="forward")
    day_ns = days.astype("datetime64[ns]").astype(np.int64)
    ts = (day_ns[np.arange(n) // 390] + (14 * 60 + 30) * _NS_MIN + (np.arange(n) % 390) * _NS_MIN).astype(
        np.int64
    )
    close = np.round(100 + np.cumsum(rng.normal(0, 0.06, n)), 2)
    open_ = np.round(np.concatenate([[100.0], close[:-1]]) + rng.normal(0, 0.015, n), 2)
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0, 0.04, n)), 2)
    low = np.round(np.minimum(open_, close) - np.abs(rng.normal(0, 0.04, n)), 2)
    volume = np.round(rng.lognormal(8, 0.6, n))
    return ts, open_, high, low, close, volume


class _PaintCounter(QtCore.QObject):
    """Counts paint events of a widget."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.Paint:
            self.count += 1
        return False


def _stats(samples: tuple[list[float], list[float]]) -> tuple[float, float, float, float]:
    """(wall p50, wall p99, cpu p50, cpu p99) in ms."""
    wall, cpu = (np.asarray(x) * 1e3 for x in samples)
    return (
        float(np.percentile(wall, 50)),
        float(np.percentile(wall, 99)),
        float(np.percentile(cpu, 50)),
        float(np.percentile(cpu, 99)),
    )


def _time(frames: int, step: Callable[[int], None]) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU seconds of each call (CPU time is less disturbed by other load)."""
    wall, cpu = [], []
    for i in range(frames):
        t0, c0 = time.perf_counter(), time.process_time()
        step(i)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return wall, cpu


def bench_appends(app: QtWidgets.QApplication, bars: int, appends: int, overlays: list[str]) -> list[tuple]:
    ts, o, h, low, c, v = random_walk_bars(bars + 3 * appends + 100)
    chart = CandleChart()
    chart.resize(1200, 700)
    chart.set_title("BENCH", "1m")
    chart.set_bars(ts[:bars], o[:bars], h[:bars], low[:bars], c[:bars], v[:bars])
    chart.set_overlays(overlays)
    chart.show()
    counter = _PaintCounter()
    chart.graphics_view.viewport().installEventFilter(counter)
    for _ in range(3):
        app.processEvents()
    k = bars
    label = "+".join(overlays) if overlays else "candles+volume"

    def append(_i: int) -> None:
        nonlocal k
        chart.append_bar(int(ts[k]), o[k], h[k], low[k], c[k], v[k])
        k += 1

    def natural(i: int) -> None:
        append(i)
        app.processEvents()

    def forced(i: int) -> None:
        append(i)
        app.processEvents()
        chart.grab()

    def batch(i: int) -> None:
        for _ in range(20):
            append(i)
        app.processEvents()

    _time(30, natural)
    builds0 = chart.candles.chunk_builds
    paints0 = counter.count
    nat = _time(appends, natural)
    paints = (counter.count - paints0) / appends
    builds = chart.candles.chunk_builds - builds0
    frc = _time(appends, forced)
    bat = _time(max(10, appends // 40), batch)
    assert chart.following and chart.bar_count == k
    rows = [
        (
            f"append+processEvents [{label}]",
            *_stats(nat),
            f"{paints:.2f} paints, {builds / appends:.2f} chunk builds / append",
        ),
        (f"append+processEvents+grab() [{label}]", *_stats(frc), "forced full render"),
        (f"20 appends+processEvents [{label}]", *_stats(bat), "one coalesced refresh per frame"),
    ]
    chart.close()
    chart.deleteLater()
    app.processEvents()
    return rows


def bench_pan_zoom(app: QtWidgets.QApplication, bars: int, frames: int) -> list[tuple]:
    ts, o, h, low, c, v = random_walk_bars(bars)
    chart = CandleChart()
    chart.resize(1200, 700)
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_overlays(["sma(20)"])
    chart.show()
    app.processEvents()
    chart.set_visible_range(-10, bars + 10)
    app.processEvents()
    width = bars + 20

    def pan(i: int) -> None:
        shift = (i % 40 - 20) * width * 0.01
        chart.set_visible_range(-10 + shift, bars + 10 + shift)
        app.processEvents()
        chart.grab()

    def zoom(i: int) -> None:
        f = 0.6 + 0.4 * abs((i % 40) - 20) / 20
        chart.set_visible_range(bars - width * f, bars + 10)
        app.processEvents()
        chart.grab()

    def hover(i: int) -> None:
        chart.set_crosshair(bars * (0.1 + 0.8 * (i % 50) / 50), float(c[(i * 997) % bars]))
        app.processEvents()
        chart.grab()

    pan_t = _time(frames, pan)
    zoom_t = _time(frames, zoom)
    hover_t = _time(frames, hover)
    assert chart.candles.decimated_paints > 0
    rows = [
        (f"pan frame, all {bars} bars visible", *_stats(pan_t), "decimated"),
        (f"zoom frame, {int(0.6 * bars)}-{bars} bars visible", *_stats(zoom_t), "decimated"),
        (f"crosshair move frame, {bars} visible", *_stats(hover_t), ""),
    ]
    chart.close()
    chart.deleteLater()
    app.processEvents()
    return rows


def screenshots(app: QtWidgets.QApplication, out_dir: Path) -> list[Path]:
    """ChartPanel shots: 600 bars with overlays/markers/forming bar, and 100,000 bars zoomed out."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    ts, o, h, low, c, v = random_walk_bars(100_000, seed=11)
    for name, n, overlays in (
        ("chart_shot.png", 600, ["sma(20)", "bb(20,2)", "rsi(14)"]),
        ("chart_shot_100k.png", 100_000, ["sma(50)", "macd(12,26,9)"]),
    ):
        panel = ChartPanel()
        panel.resize(1200, 700)
        panel.set_symbols(["DEMO", "ACME", "GLOBX"])
        panel.set_intervals(["1m", "5m", "15m"])
        panel.set_checked_overlays(overlays)
        chart = panel.chart
        chart.set_bars(ts[: n - 1], o[: n - 1], h[: n - 1], low[: n - 1], c[: n - 1], v[: n - 1])
        chart.set_forming(int(ts[n - 1]), o[n - 1], h[n - 1], low[n - 1], c[n - 1], v[n - 1] * 0.4)
        for j, i in enumerate(range(n - 115, n - 8, 19)):
            side = "buy" if j % 2 == 0 else "sell"
            chart.add_marker(int(ts[i]) + 20 * 10**9, float(low[i] if side == "buy" else h[i]), side)
        panel.show()
        app.processEvents()
        if n > 1000:
            chart.set_visible_range(-10, n + 10)
        else:
            chart.set_crosshair(n - 45, float(c[n - 45]))
        app.processEvents()
        path = out_dir / name
        panel.grab().save(str(path))
        paths.append(path)
        panel.close()
        panel.deleteLater()
        app.processEvents()
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument(
        "--screenshots", type=Path, default=None, help="also save screenshots into this folder"
    )
    parser.add_argument("--no-timing", action="store_true", help="only take the screenshots")
    args = parser.parse_args(argv)
    install_none_refcount_guard()  # PySide6 6.12 on Python 3.11 drains None's refcount (see ui.app)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    if args.screenshots is not None:
        try:
            from ui.theme import apply_theme  # the application's style sheet, when present
        except ImportError:
            apply_theme = None
        if apply_theme is not None:
            apply_theme(app)
    rows = []
    if not args.no_timing:
        rows += bench_appends(app, args.bars, args.appends, [])
        rows += bench_appends(app, args.bars, args.appends, ["sma(20)", "bb(20,2)", "rsi(14)"])
        rows += bench_pan_zoom(app, args.bars, args.frames)
    print(f"{'case':58s} {'wall p50':>9s} {'wall p99':>9s} {'cpu p50':>8s} {'cpu p99':>8s}  note (ms)")
    for name, w50, w99, c50, c99, note in rows:
        print(f"{name:58s} {w50:9.2f} {w99:9.2f} {c50:8.2f} {c99:8.2f}  {note}")
    if args.screenshots is not None:
        for path in screenshots(app, args.screenshots):
            print(f"screenshot: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
