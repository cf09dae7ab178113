"""GUI responsiveness and replay throughput at maximum speed (offscreen Qt).

Replays 100 symbols x 5 days (../shared/bench/make_bars.py, seed 42, written to a temporary bar
store; 1m streamed, 5m/15m derived, SMA 5/20 crossover) in the main window with the chart, the
quality gauges and the signal log visible, and reports:

- UI event-loop latency: lateness of a 10 ms QTimer during the replay (p50 / p99 / max),
- replay throughput in the GUI vs the same config headless (with the same run-folder writer), ratio,
- frames: coalesced batches per second,
- appending one bar to a 100,000-bar chart (append + refresh), p50 / p99,
- memory (RSS) at each session end of a 20-session GUI run (flat once the history cap is reached?).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py [--symbols 100] [--days 5]
        [--memory-days 20] [--runs 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import make_bars  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ui.app import configure_gil_switching, install_none_refcount_guard  # noqa: E402
from workstation.config import validate_config_dict  # noqa: E402
from workstation.run_writer import RunWriter  # noqa: E402
from workstation.store import BarStore  # noqa: E402
from workstation.system import SystemManager  # noqa: E402


def bench_config(symbols: list[str], start: str, end: str, store: Path) -> dict:
    return {
        "name": "bench: gui full pipeline",
        "symbols": symbols,
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": True},
        "gap_filler": {"enable_session_quality": True},
        "backtest": {"start_date": start, "end_date": end, "speed_multiplier": 0, "prefetch_days": 2,
                     "stage_threads": os.environ.get("BENCH_STAGE_THREADS", "1") == "1"},
        "strategies": [
            {
                "name": "sma_5_20",
                "class_path": "sma_crossover",
                "params": {"fast": 5, "slow": 20, "quantity": 100},
            }
        ],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "execution": {"starting_cash": 1e9},
        "data_source": {"store_path": str(store)},
    }


def make_store(root: Path, symbols: int, days: int, seed: int) -> tuple[Path, list[str], list]:
    df = make_bars.make_bars(symbols, days, seed=seed)
    store = BarStore(root, create=True)
    store.write_bars(df, "1m")
    names = sorted(df["symbol"].unique())
    dates = sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
    return root, names, dates


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def headless(cfg_path: Path, runs: Path, writer: bool, bars: bool = True) -> dict:
    from workstation.config import load_config

    system = SystemManager(load_config(cfg_path))
    w = RunWriter(system, runs / f"headless-{time.monotonic_ns()}", write_bars=bars) if writer else None
    gc.collect()
    t0 = time.perf_counter()
    system.start()
    system.wait()
    wall = time.perf_counter() - t0
    deadline = time.monotonic() + 10
    while w is not None and not w.closed and time.monotonic() < deadline:
        time.sleep(0.005)
    assert system.error is None, system.error
    return {"bars": system.bars_processed, "wall_s": wall, "bars_per_s": system.summary()["bars_per_s"]}


class LatencyProbe:
    """A 10 ms QTimer; records how late each tick is (ms)."""

    def __init__(self, interval_ms: int = 10):
        self.interval = interval_ms
        self.late: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(QTimer().timerType().PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._last = 0.0

    def start(self) -> None:
        self.late.clear()
        self.clock.start()
        self._last = 0.0
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        late = max(0.0, now - self._last - self.interval)
        self.late.append(late)
        if late > 50 and os.environ.get("BENCH_GUI_STALLS"):
            print(f"  stall {late:.0f} ms at t={now / 1000:.2f} s")
        self._last = now

    def stop(self) -> None:
        self.timer.stop()


def gui_run(window, cfg_path: Path, probe: LatencyProbe | None, rss: list | None = None) -> dict:
    app = QApplication.instance()
    if not window.load_config(cfg_path):
        raise SystemExit(f"cannot load {cfg_path}: {window.error_messages}")
    window.speed_control.set_speed(0)
    window.set_speed(0)
    bridge = window.bridge
    loop = QEventLoop()
    result: dict = {}
    proc = psutil.Process()

    def on_batch(batch) -> None:
        if rss is not None:
            for _ in batch.session_ends:
                rss.append(proc.memory_info().rss / 2**20)

    def on_finished(summary: dict) -> None:
        result["summary"] = summary
        result["wall_s"] = time.perf_counter() - t0
        loop.quit()

    bridge.batch_ready.connect(on_batch)
    bridge.finished.connect(on_finished)
    b0 = bridge.batches_emitted
    gc.collect()
    app.processEvents()
    if probe:
        probe.start()
    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    window.play()
    loop.exec()
    result["ui_cpu_s"] = time.thread_time() - cpu0
    if probe:
        probe.stop()
    bridge.batch_ready.disconnect(on_batch)
    bridge.finished.disconnect(on_finished)
    s = result["summary"]
    assert s["state"] == "finished", s
    result["bars"] = s["bars_processed"]
    result["bars_per_s"] = s["bars_per_s"]  # engine start -> last bar, like headless
    result["batches"] = bridge.batches_emitted - b0
    result["signals"] = window.signal_log.model.row_count()
    return result


def chart_append_bench(n_bars: int = 100_000, appends: int = 2000) -> dict:
    from ui.widgets.chart import CandleChart

    chart = CandleChart()
    chart.resize(1200, 700)
    chart.show()
    rng = np.random.default_rng(1)
    ts = (1_700_000_000 + np.arange(n_bars + appends, dtype=np.int64) * 60) * 10**9
    close = 100 + np.cumsum(rng.normal(0, 0.05, n_bars + appends))
    op = np.r_[close[0], close[:-1]]
    hi = np.maximum(op, close) + 0.02
    lo = np.minimum(op, close) - 0.02
    vol = rng.integers(100, 10_000, n_bars + appends).astype(float)
    chart.set_bars(ts[:n_bars], op[:n_bars], hi[:n_bars], lo[:n_bars], close[:n_bars], vol[:n_bars])
    chart.set_overlays(["sma(20)", "vwap"])
    app = QApplication.instance()
    app.processEvents()
    times = []
    for k in range(n_bars, n_bars + appends):
        t0 = time.perf_counter()
        chart.append_bar(ts[k], op[k], hi[k], lo[k], close[k], vol[k])
        chart.refresh()
        times.append((time.perf_counter() - t0) * 1000)
    paint = []
    for _ in range(50):
        t0 = time.perf_counter()
        chart.graphics_view.viewport().repaint()
        paint.append((time.perf_counter() - t0) * 1000)
    chart.close()
    return {
        "append_p50": pct(times, 50),
        "append_p99": pct(times, 99),
        "paint_p50": pct(paint, 50),
        "paint_p99": pct(paint, 99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--memory-days", type=int, default=20, help="sessions of the memory run (0 = skip)")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--no-bars", action="store_true", help="GUI run folders without bars.parquet")
    ap.add_argument(
        "--frame-ms", type=int, default=None, help="bridge frame interval (default: the bridge's)"
    )
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval in ms (default: what workstation-gui sets)",
    )
    a = ap.parse_args()

    install_none_refcount_guard()
    if a.switch_interval is not None:
        sys.setswitchinterval(a.switch_interval / 1000)
    else:
        configure_gil_switching()
    app = QApplication.instance() or QApplication(["bench_gui"])
    from ui.main_window import MainWindow
    from ui.theme import apply_theme

    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="bench_gui_"))
    store, symbols, dates = make_store(tmp / "store", a.symbols, a.days, 42)
    cfg_path = tmp / "bench.json"
    cfg_path.write_text(json.dumps(bench_config(symbols, str(dates[0]), str(dates[-1]), store)))
    validate_config_dict(json.loads(cfg_path.read_text()))
    print(
        f"machine: {os.cpu_count()} cores; data: {a.symbols} symbols x {len(dates)} sessions, Qt offscreen, "
        f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms"
    )

    heads, heads_nw, heads_nb, guis = [], [], [], []
    w, h = (int(x) for x in a.size.split("x"))
    window = MainWindow(
        settings=QSettings(str(tmp / "gui.ini"), QSettings.Format.IniFormat),
        persist=False,
        runs_dir=tmp / "runs",
        modal_errors=False,
    )
    if a.frame_ms:
        window.bridge._timer.setInterval(a.frame_ms)
    window.bridge.write_bars = not a.no_bars
    window.resize(w, h)
    window.show()
    app.processEvents()
    probe = LatencyProbe(10)
    for r in range(a.runs):
        heads.append(headless(cfg_path, tmp / "runs", writer=True))
        heads_nw.append(headless(cfg_path, tmp / "runs", writer=False))
        heads_nb.append(headless(cfg_path, tmp / "runs", writer=True, bars=False))
        guis.append(gui_run(window, cfg_path, probe))
        g = guis[-1]
        g["late"] = list(probe.late)
        print(
            f"run {r + 1}: headless {heads[-1]['bars_per_s']:,.0f} bars/s (no bars {heads_nb[-1]['bars_per_s']:,.0f},"
            f" engine only {heads_nw[-1]['bars_per_s']:,.0f}),"
            f" GUI {g['bars_per_s']:,.0f} bars/s, {g['batches']} batches in {g['wall_s']:.2f} s,"
            f" UI thread CPU {g['ui_cpu_s']:.2f} s"
        )
    head = statistics.median(x["bars_per_s"] for x in heads)
    head_nw = statistics.median(x["bars_per_s"] for x in heads_nw)
    head_nb = statistics.median(x["bars_per_s"] for x in heads_nb)
    gui = statistics.median(x["bars_per_s"] for x in guis)
    late = [x for g in guis for x in g["late"]]
    fps = statistics.median(g["batches"] / g["wall_s"] for g in guis)
    chart = chart_append_bench()

    rss: list[float] = []
    mem_line = "skipped"
    if a.memory_days:
        store_m, symbols_m, dates_m = make_store(tmp / "store_mem", a.symbols, a.memory_days, 43)
        cfg_m = tmp / "bench_mem.json"
        cfg_m.write_text(json.dumps(bench_config(symbols_m, str(dates_m[0]), str(dates_m[-1]), store_m)))
        res = gui_run(window, cfg_m, None, rss)
        history_mb = window.bridge.history_nbytes() / 2**20
        mem_line = (
            f"{len(rss)} sessions, {res['bars']:,} bars at {res['bars_per_s']:,.0f} bars/s: RSS after "
            f"session 2 {rss[1]:.0f} MB, after session {len(rss)} {rss[-1]:.0f} MB "
            f"({rss[-1] - rss[1]:+.0f} MB; the chart history, capped at {window.bridge.history_sessions} "
            f"sessions, holds {history_mb:.0f} MB)"
        )
    window.close()

    rows = [
        ("cores", f"{os.cpu_count()}", ""),
        ("headless, `workstation run` (RunWriter with bars)", f"{head:,.0f} bars/s", ""),
        ("headless, RunWriter without bars", f"{head_nb:,.0f} bars/s", ""),
        ("headless, engine only (no run folder)", f"{head_nw:,.0f} bars/s", ""),
        (
            "GUI throughput, MAX speed (run folder with bars)",
            f"{gui:,.0f} bars/s",
            f"ratio {gui / head:.2f} vs `workstation run`, {gui / head_nb:.2f} vs no bars, "
            f"{gui / head_nw:.2f} vs engine only (target >= 0.7)",
        ),
        (
            "UI loop latency (10 ms timer lateness)",
            f"p50 {pct(late, 50):.1f} ms / p99 {pct(late, 99):.1f} ms",
            f"max {max(late) if late else float('nan'):.1f} ms over {len(late)} ticks",
        ),
        ("frames (coalesced batches)", f"{fps:.0f} / s", "at most ~60 / s by design"),
        (
            "append 1 bar to a 100,000-bar chart",
            f"p50 {chart['append_p50']:.2f} ms / p99 {chart['append_p99']:.2f} ms",
            "target p99 <= 2 ms (append + refresh)",
        ),
        (
            "repaint the 100,000-bar chart",
            f"p50 {chart['paint_p50']:.1f} ms / p99 {chart['paint_p99']:.1f} ms",
            "",
        ),
        ("memory over a long run", mem_line, ""),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<40} {note}")
    if rss:
        print("RSS per session end (MB): " + ", ".join(f"{x:.0f}" for x in rss))


if __name__ == "__main__":
    main()
