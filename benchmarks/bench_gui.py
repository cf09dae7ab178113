"""GUI responsiveness and replay throughput at maximum speed (issue 10 item 6).

Replays 100 symbols x 5 days (../shared/bench/make_bars.py, seed 42, written to a temporary bar
store; 1m streamed, 5m/15m derived, SMA 5/20 crossover) in the main window with the chart, the
quality gauges and the signal log visible, and reports against the targets:

- UI event stalls at MAX: the gap between two ticks of a 5 ms QTimer minus 5 ms (p50 / p99 / max,
  stalls over 100 ms per second; target p99 <= 50 ms, max <= 150 ms), and for each stall over 50 ms
  how much of it the UI thread spent computing (the rest it waited for the CPU or the GIL),
- pause and step latency at MAX: from the simulated click (a QTimer's due time: a click waits for
  the event loop like the timer does) to the engine clock's last move (pause) or first move (step),
  read by a watcher thread every 1 ms; and for step, to the frame that shows the new clock
  (target <= 100 ms),
- config load: the longest UI stall while a 100-symbol config (with 2 days of chart history before
  its start) loads in the background as the window does it (target <= 200 ms), beside the blocking
  load of older versions, and the load's duration,
- replay throughput in the GUI vs the same config headless (with the same run-folder writer), ratio
  measured run by run, alternately (target >= 0.8), in GUI runs without the stall probe (its 5 ms
  timer wakes the UI thread 200 times a second, which takes the interpreter lock from the engine as
  no real session does; the stalls are measured in a second GUI run of each round, whose throughput
  is shown too). The headless reference runs in a process of its
  own, as `workstation run` does: Python's default GIL switch interval (5 ms; the GUI sets 1 ms),
  automatic garbage collection with the startup heap frozen, no Qt imported. The same config run
  inside the GUI process (1 ms switch interval, collection in the GUI thread only, so none while the
  UI thread waits for it) is shown beside it, with its variants: without bars, engine only and
  single-thread. The config sets backtest.stage_threads true (BENCH_STAGE_THREADS=0 false, =unset
  leaves it out), which the GUI and the headless runs follow; the single-thread run shows what
  `workstation run` does for a config without the setting, like the example configs (the window runs
  such a config in one thread too: BENCH_STAGE_THREADS=unset or 0 measures that). Each side is measured
  twice: engine start -> last bar (the run's own bars/s), and engine start -> run folder written (the run
  writer's last file, and in the GUI the bars' parts too). The second is the like-for-like one: the two
  sides write the same folder, but `workstation run`'s writer gathers a fast run's sessions into one part
  written after the last bar (~25 % of a 100 x 5 run's work), where the window's rewindable run writes a
  part per session while it plays; to the last bar, the headless side leaves that work out,
- frames: coalesced batches per second,
- appending one bar to a 100,000-bar chart (append + refresh), p50 / p99,
- memory (RSS) at each session end of a 20-session GUI run (flat once the history cap is reached?),
- the run's end: the longest UI stall from the engine's finish until the Results dock shows the run
  (and 300 ms more for its first paint), in the probed runs; left out of the replay's stall figures.

Offscreen (default) and in a real X server (xcb):

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py [--symbols 100] [--days 5]
        [--memory-days 20] [--runs 2]
    xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/bench_gui.py

`--throughput-rounds N` measures only the throughput ratio, over N alternated rounds (a tighter median
than the few rounds of the full benchmark, whose other runs sit between the ratio's runs).

The machine's core count and load average are printed with the figures (a shared machine is noisy:
compare the ratios of one run).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from scratch import scratch_dir  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import make_bars  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ui.app import (  # noqa: E402
    configure_gil_switching,
    freeze_startup_heap,
    install_none_refcount_guard,
)
from ui.collector import install_gui_thread_gc  # noqa: E402
from workstation.config import validate_config_dict  # noqa: E402
from workstation.run_writer import RunWriter  # noqa: E402
from workstation.store import BarStore  # noqa: E402
from workstation.system import PAUSED, RUNNING, SystemManager  # noqa: E402


def bench_config(symbols: list[str], start: str, end: str, store: Path) -> dict:
    return {
        "name": "bench: gui full pipeline",
        "symbols": symbols,
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": True},
        "gap_filler": {"enable_session_quality": True},
        "backtest": {"start_date": start, "end_date": end, "speed_multiplier": 0, "prefetch_days": 2,
                     **stage_threads_setting()},
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


def stage_threads_setting() -> dict:
    """backtest.stage_threads of the bench config: BENCH_STAGE_THREADS=1 (the default) sets true, 0 false,
    "unset" leaves it out as the example configs do (then `workstation run` and the window both use one
    thread, the window holding it for each frame at MAX: ui.bridge.GATE_HOLD_MS)."""
    value = os.environ.get("BENCH_STAGE_THREADS", "1")
    return {} if value == "unset" else {"stage_threads": value == "1"}


def make_store(root: Path, symbols: int, days: int, seed: int) -> tuple[Path, list[str], list]:
    df = make_bars.make_bars(symbols, days, seed=seed)
    store = BarStore(root, create=True)
    store.write_bars(df, "1m")
    names = sorted(df["symbol"].unique())
    dates = sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
    return root, names, dates


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def headless(cfg_path: Path, runs: Path, writer: bool, bars: bool = True, single_thread: bool = False) -> dict:
    """A headless run of the config as `workstation run` does it (`single_thread`: its stages in the
    coordinator's thread, the `workstation run` default for a config that does not set
    backtest.stage_threads)."""
    from workstation.run_commands import run_config

    cfg = run_config(str(cfg_path))      # as `workstation run` reads it (one thread when stage_threads is unset)
    if single_thread:
        cfg.backtest.stage_threads = False
    system = SystemManager(cfg)
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
    return {"bars": system.bars_processed, "wall_s": wall, "bars_per_s": system.summary()["bars_per_s"],
            "folder_bars_per_s": folder_rate(system, w.closed_at if w is not None else None)}


def folder_rate(system, written_at: float | None) -> float:
    """Bars a second from the engine's start to the run folder written (NaN when it was not)."""
    if written_at is None or system.started_at is None:
        return float("nan")
    return system.bars_processed / (written_at - system.started_at)


_HEADLESS_PROCESS = r"""
import json, sys, time
from pathlib import Path
from workstation.run_commands import run_config
from workstation.run_writer import RunWriter
from workstation.system import SystemManager

cfg_path, runs = Path(sys.argv[1]), Path(sys.argv[2])
out = {}
for name in ("first", "again"):
    system = SystemManager(run_config(str(cfg_path)))
    writer = RunWriter(system, runs / f"headless-process-{time.monotonic_ns()}", write_bars=True)
    system.start()
    system.wait()
    deadline = time.monotonic() + 10
    while not writer.closed and time.monotonic() < deadline:
        time.sleep(0.005)
    assert system.error is None, system.error
    out[name] = system.summary()["bars_per_s"]
folder = system.bars_processed / (writer.closed_at - system.started_at)
print(json.dumps({"bars": system.bars_processed, "first_bars_per_s": out["first"], "bars_per_s": out["again"],
                  "folder_bars_per_s": folder}))
"""


def headless_process(cfg_path: Path, runs: Path) -> dict:
    """The config run by `workstation run`'s engine in a fresh Python process (see the module docstring),
    twice: "first_bars_per_s" as `workstation run` does it (cold: modules the run imports lazily, caches),
    "bars_per_s" again in the same process (warm, like every GUI run after the window's start-up: the
    reference). Both engine start -> last bar, as in the GUI; "folder_bars_per_s": the warm run's engine start ->
    run folder written."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _HEADLESS_PROCESS, str(cfg_path), str(runs)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"headless process failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class LatencyProbe:
    """A QTimer ticking every `interval_ms` in the UI thread; records each stall: the gap between two
    ticks minus the interval (ms), and for stalls over 50 ms the UI thread's CPU time in the gap
    (work done in the UI thread; the rest of the gap it waited for a core or the GIL)."""

    def __init__(self, interval_ms: int = 5):
        self.interval = interval_ms
        self.late: list[float] = []
        self.long: list[tuple[float, float, float]] = []  # (at s, stall ms, UI-thread CPU ms in the gap)
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(QTimer().timerType().PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self._last = 0.0
        self._cpu = 0.0
        self.duration_s = 0.0

    def start(self) -> None:
        self.late.clear()
        self.long.clear()
        self.clock.start()
        self._last = 0.0
        self._cpu = time.thread_time()
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        cpu = time.thread_time()
        late = max(0.0, now - self._last - self.interval)
        self.late.append(late)
        if late > 50:
            self.long.append((now / 1000, late, (cpu - self._cpu) * 1000))
            if os.environ.get("BENCH_GUI_STALLS"):
                print(f"  stall {late:.0f} ms at t={now / 1000:.2f} s (UI thread CPU {(cpu - self._cpu) * 1000:.0f} ms)")
        self._last = now
        self._cpu = cpu

    def stop(self) -> None:
        self.timer.stop()
        self.duration_s = self.clock.nsecsElapsed() / 1e9

    def summary(self) -> dict:
        late = self.late
        return {
            "p50": pct(late, 50),
            "p99": pct(late, 99),
            "max": max(late) if late else float("nan"),
            "over_100_per_s": sum(x > 100 for x in late) / max(self.duration_s, 1e-9),
            "ticks": len(late),
            "long": list(self.long),
        }


_REFERENCE_PROBE = r"""
import json, select, sys, time
gaps, last = [], time.perf_counter()
while not select.select([sys.stdin], [], [], 0.005)[0]:
    now = time.perf_counter()
    gaps.append(max(0.0, (now - last) * 1000 - 5))
    last = now
gaps.sort()
n = len(gaps)
print(json.dumps({"p99": gaps[min(n - 1, int(n * 0.99))] if n else 0, "max": gaps[-1] if n else 0,
                  "over_100": sum(g > 100 for g in gaps), "ticks": n}))
"""


class ReferenceProbe:
    """The same 5 ms stall probe in a separate, idle Python process, run beside a GUI replay: the stalls
    the shared machine's scheduler alone causes (a process that does nothing else still waits for a
    core), to read the GUI's stalls against."""

    def __init__(self) -> None:
        import subprocess

        self._proc = subprocess.Popen(
            [sys.executable, "-c", _REFERENCE_PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def stop(self) -> dict:
        out, _ = self._proc.communicate("", timeout=10)
        return json.loads(out)


class ClockWatcher:
    """A thread sampling the engine clock every `period_s`: when it last moved, when it first moved after
    a given moment (pause and step latency as the engine delivers bar times)."""

    def __init__(self, period_s: float = 0.001):
        self.period = period_s
        self.system = None
        self.samples: list[tuple[float, int]] = []  # (perf_counter, clock ns) at each change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ClockWatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)

    def _run(self) -> None:
        last = None
        while not self._stop.is_set():
            system = self.system
            if system is not None:
                now_ns = system.clock.now_ns()
                if now_ns != last:
                    self.samples.append((time.perf_counter(), now_ns))
                    last = now_ns
            time.sleep(self.period)

    def last_move_after(self, t0: float) -> float | None:
        moves = [t for t, _ in self.samples if t >= t0]
        return moves[-1] if moves else None

    def first_move_after(self, t0: float) -> float | None:
        return next((t for t, _ in self.samples if t >= t0), None)


def load_at_max(window, cfg_path: Path) -> None:
    """Load `cfg_path` in the window (blocking, as scripts do) and set the speed to MAX."""
    if not window.load_config(cfg_path):
        raise SystemExit(f"cannot load {cfg_path}: {window.error_messages}")
    window.speed_control.set_speed(0)
    window.set_speed(0)


def gui_run(window, cfg_path: Path, probe: LatencyProbe | None, rss: list | None = None) -> dict:
    app = QApplication.instance()
    load_at_max(window, cfg_path)
    bridge = window.bridge
    loop = QEventLoop()
    result: dict = {}
    proc = psutil.Process()

    def on_batch(batch) -> None:
        if batch.session_ends and probe is not None and os.environ.get("BENCH_GUI_STALLS"):
            print(f"  session end drawn at t={probe.clock.nsecsElapsed() / 1e9:.2f} s")
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
    reference = ReferenceProbe() if probe else None
    if probe:
        probe.start()
    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    window.play()
    loop.exec()
    result["ui_cpu_s"] = time.thread_time() - cpu0
    if probe:
        result["end"] = results_shown_stalls(window, probe)
        probe.stop()
        probe.duration_s -= result["end"]["tail_s"]
        result["reference"] = reference.stop()
    # the run folder written (after the results shown in a probed run: that wait must see their signal)
    deadline = time.monotonic() + 30
    while bridge.folder_written_at() is None and time.monotonic() < deadline:
        wait_ms(2)
    result["folder_bars_per_s"] = folder_rate(bridge.system, bridge.folder_written_at())
    bridge.batch_ready.disconnect(on_batch)
    bridge.finished.disconnect(on_finished)
    s = result["summary"]
    assert s["state"] == "finished", s
    result["bars"] = s["bars_processed"]
    result["bars_per_s"] = s["bars_per_s"]  # engine start -> last bar, like headless
    result["batches"] = bridge.batches_emitted - b0
    result["signals"] = window.signal_log.model.row_count()
    return result


def throughput_rounds(window, cfg_path: Path, runs: Path, rounds: int, platform: str) -> list[dict]:
    """The throughput ratio alone: `rounds` rounds of a headless process (its warm run), a GUI run and
    the same config headless in the GUI process, one after the other so that they share the machine's
    noise; prints each round and the ratios' median, quartiles and range. Returns the rounds."""
    gui_run(window, cfg_path, None)                 # warm-up: the first GUI run imports and caches
    load_before = os.getloadavg()[0]
    out = []
    for r in range(rounds):
        proc = headless_process(cfg_path, runs)
        gui = gui_run(window, cfg_path, None)
        inproc = headless(cfg_path, runs, writer=True)
        out.append({"gui": gui["bars_per_s"], "process": proc["bars_per_s"], "in_process": inproc["bars_per_s"],
                    "gui_folder": gui["folder_bars_per_s"], "process_folder": proc["folder_bars_per_s"],
                    "in_process_folder": inproc["folder_bars_per_s"]})
        x = out[-1]
        print(f"round {r + 1}: to the last bar GUI {x['gui']:,.0f} bars/s, headless process {x['process']:,.0f}, "
              f"in the GUI process {x['in_process']:,.0f}: ratios {x['gui'] / x['process']:.2f}, "
              f"{x['gui'] / x['in_process']:.2f}; to the run folder written {x['gui_folder']:,.0f}, "
              f"{x['process_folder']:,.0f}, {x['in_process_folder']:,.0f}: ratios "
              f"{x['gui_folder'] / x['process_folder']:.2f}, {x['gui_folder'] / x['in_process_folder']:.2f}",
              flush=True)
    print(f"\nGUI throughput at MAX, {rounds} rounds, Qt {platform}, {os.cpu_count()} cores, load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (target >= 0.8)")
    for end, suffix in (("engine start -> last bar", ""), ("engine start -> run folder written", "_folder")):
        for name, key in (("vs the `workstation run` process", "process"),
                          ("vs headless in the GUI process", "in_process")):
            ratios = [x["gui" + suffix] / x[key + suffix] for x in out]
            quart = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
            print(f"  {end}, {name}: median {statistics.median(ratios):.2f}, "
                  f"quartiles {quart[0]:.2f}-{quart[2]:.2f}, range {min(ratios):.2f}-{max(ratios):.2f}")
    return out


def results_shown_stalls(window, probe: LatencyProbe) -> dict:
    """The run's end: from the engine's finish until the Results dock shows the run and 300 ms more
    (its first paint), the longest UI stall and the time to the results; these ticks are then left out
    of the probe's figures (which stay those of the replay)."""
    mark, t0 = len(probe.late), time.perf_counter()
    shown: list[float] = []
    loop = QEventLoop()

    def on_loaded(path: str) -> None:
        if path:
            shown.append(time.perf_counter() - t0)
            QTimer.singleShot(300, loop.quit)

    window.results_loaded.connect(on_loaded)
    QTimer.singleShot(20_000, loop.quit)
    loop.exec()
    window.results_loaded.disconnect(on_loaded)
    end = probe.late[mark:]
    del probe.late[mark:]
    finished_s = probe.clock.nsecsElapsed() / 1e9 - (time.perf_counter() - t0)
    end_long = [x for x in probe.long if x[0] > finished_s]
    probe.long[:] = [x for x in probe.long if x[0] <= finished_s]
    longest = max(end_long, key=lambda x: x[1], default=(0.0, float("nan"), float("nan")))
    return {"max": max(end, default=float("nan")), "shown_s": shown[0] if shown else float("nan"),
            "cpu_ms": longest[2], "tail_s": time.perf_counter() - t0}


def wait_ms(ms: int) -> None:
    """Run the UI event loop for `ms` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def click_after(ms: int, action) -> dict:
    """Trigger `action` from the event loop in `ms` ms (a click waits for the loop as this timer does);
    returns {"due": when it was due, "fired": when the loop ran it} (perf_counter seconds; "fired" set
    once it ran)."""
    timer = QTimer(action)
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setSingleShot(True)
    click = {"due": time.perf_counter() + ms / 1000, "fired": None}
    timer.timeout.connect(lambda: click.update(fired=time.perf_counter()))
    timer.timeout.connect(action.trigger)
    timer.timeout.connect(timer.deleteLater)
    timer.start(ms)
    return click


def pause_step_bench(window, cfg_path: Path, cycles: int = 5, run_ms: int = 250) -> dict:
    """At MAX: play `run_ms`, click Pause, wait, click Step, wait, click Play, `cycles` times. Pause latency:
    due click -> the engine clock's last move; step: due click -> its first move, and -> the first frame
    showing a new clock."""
    load_at_max(window, cfg_path)
    bridge = window.bridge
    watcher = ClockWatcher()
    watcher.start()
    shown: dict = {"from": None, "t": None}

    def on_batch(batch) -> None:
        if shown["from"] is not None and shown["t"] is None and batch.clock_ns != shown["from"]:
            shown["t"] = time.perf_counter()

    bridge.batch_ready.connect(on_batch)
    pauses, steps, steps_shown = [], [], []
    window.play()
    watcher.system = bridge.system
    for _ in range(cycles):
        wait_ms(run_ms)
        if bridge.state != RUNNING:
            break
        click = click_after(10, window.pause_action)
        sessions = bridge.sessions_done
        wait_ms(400)
        if bridge.state != PAUSED:
            break
        due = click["due"]
        last = watcher.last_move_after(due)
        pauses.append(max(0.0, (last - due) * 1000) if last is not None else 0.0)
        if os.environ.get("BENCH_GUI_STALLS"):
            print(f"  pause {pauses[-1]:.0f} ms: click ran {(click['fired'] - due) * 1000:.0f} ms late,"
                  f" sessions done {sessions} -> {bridge.sessions_done}")
        shown["from"], shown["t"] = bridge.system.clock.now_ns(), None
        click = click_after(10, window.step_action)
        wait_ms(300)
        due = click["due"]
        first = watcher.first_move_after(due)
        if first is not None:
            steps.append((first - due) * 1000)
        if shown["t"] is not None:
            steps_shown.append((shown["t"] - due) * 1000)
        shown["from"] = None
        window.play_action.trigger()
    watcher.stop()
    bridge.batch_ready.disconnect(on_batch)
    window.stop()
    deadline = time.monotonic() + 10
    while bridge.state in (RUNNING, PAUSED) and time.monotonic() < deadline:
        wait_ms(20)
    return {"pause": pauses, "step": steps, "step_shown": steps_shown}


def load_bench(window, cfg_path: Path, background: bool) -> dict:
    """Longest UI stall while `cfg_path` loads (background: as the window's pickers do; else the
    blocking MainWindow.load_config), and how long the load took until the run was installed."""
    probe = LatencyProbe(5)
    loop = QEventLoop()
    result: dict = {}

    def done(_path: str, ok: bool) -> None:
        result["ok"], result["t"] = ok, time.perf_counter()
        loop.quit()

    def blocking() -> None:
        result["ok"] = window.load_config(cfg_path)
        result["t"] = time.perf_counter()
        QTimer.singleShot(50, loop.quit)

    window.config_loaded.connect(done)
    probe.start()
    wait_ms(30)
    t0 = time.perf_counter()
    if background:
        window.open_config(cfg_path)
    else:
        QTimer.singleShot(0, blocking)
    loop.exec()
    wait_ms(50)  # what the install queued (chart reloads, first paint)
    probe.stop()
    window.config_loaded.disconnect(done)
    if not result.get("ok"):
        raise SystemExit(f"cannot load {cfg_path}: {window.error_messages}")
    summary = probe.summary()
    return {"block_ms": summary["max"], "duration_s": result["t"] - t0, "long": summary["long"]}


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
    ap.add_argument("--cycles", type=int, default=5, help="pause/step cycles at MAX (0 = skip)")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--no-bars", action="store_true", help="GUI run folders without bars.parquet")
    ap.add_argument("--no-chart", action="store_true", help="skip the 100,000-bar chart append figures")
    ap.add_argument("--automatic-gc", action="store_true",
                    help="Python's automatic collection in any thread instead of the GUI-thread collector")
    ap.add_argument(
        "--frame-ms", type=int, default=None, help="bridge frame interval (default: the bridge's)"
    )
    ap.add_argument(
        "--throughput-rounds", type=int, default=0, metavar="N",
        help="only the throughput ratio: N rounds of (headless process, GUI run, headless in the GUI "
             "process), alternated, then the ratios' median, quartiles and range (no stalls, loads, chart)",
    )
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval in ms (default: what workstation-gui sets)",
    )
    ap.add_argument(
        "--config", type=Path, metavar="PATH",
        help="with --throughput-rounds: this session config instead of the generated one (its relative store "
             "path read from the working directory, as workstation-gui does; e.g. a year of one symbol)",
    )
    a = ap.parse_args()
    if a.config is not None and not a.throughput_rounds:
        ap.error("--config goes with --throughput-rounds")

    install_none_refcount_guard()
    if a.switch_interval is not None:
        sys.setswitchinterval(a.switch_interval / 1000)
    else:
        configure_gil_switching()
    app = QApplication.instance() or QApplication(["bench_gui"])
    if not a.automatic_gc:
        install_gui_thread_gc(app)  # as workstation-gui does
    from ui.main_window import MainWindow
    from ui.theme import apply_theme

    apply_theme(app)
    load_before = os.getloadavg()
    tmp = scratch_dir("bench_gui_")
    store, symbols, dates = make_store(tmp / "store", a.symbols, a.days, 42)
    cfg_path = tmp / "bench.json"
    cfg_path.write_text(json.dumps(bench_config(symbols, str(dates[0]), str(dates[-1]), store)))
    validate_config_dict(json.loads(cfg_path.read_text()))
    # the load figures: the same symbols starting on the 3rd session, so the chart history before the
    # start (2 trading days of 100 symbols, 1m read and 5m/15m derived) is read as a trader's config does
    load_path = tmp / "bench_load.json"
    load_start = dates[min(2, len(dates) - 1)]
    load_path.write_text(json.dumps(bench_config(symbols, str(load_start), str(dates[-1]), store)))
    print(
        f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}; data: {a.symbols} symbols x {len(dates)} sessions, Qt {app.platformName()}, "
        f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms"
    )

    procs, heads, heads_nw, heads_nb, heads_1, guis, probed = [], [], [], [], [], [], []
    w, h = (int(x) for x in a.size.split("x"))
    window = MainWindow(
        settings=QSettings(str(tmp / "gui.ini"), QSettings.Format.IniFormat),
        persist=False,
        runs_dir=tmp / "runs",
        modal_errors=False,
    )
    if a.frame_ms:
        window.bridge.frame_ms = a.frame_ms
        window.bridge._timer.setInterval(a.frame_ms)
    window.bridge.write_bars = not a.no_bars
    window.resize(w, h)
    window.show()
    if not a.automatic_gc:
        freeze_startup_heap()  # as workstation-gui does
    wait_ms(200)
    if a.throughput_rounds:
        if a.config is not None:        # the user's config, its store path made absolute (the runs start elsewhere)
            raw = json.loads(a.config.read_text())
            source = raw.setdefault("data_source", {})
            source["store_path"] = str(Path(source.get("store_path", "data/store")).resolve())
            cfg_path = tmp / a.config.name
            cfg_path.write_text(json.dumps(raw))
            validate_config_dict(raw)
            print(f"config: {a.config} (store {source['store_path']})")
        throughput_rounds(window, cfg_path, tmp / "runs", a.throughput_rounds, app.platformName())
        return

    # config load: first (cold: calendar and store read the first time), then warm, background vs blocking
    loads = {
        "background, first load": load_bench(window, load_path, background=True),
        "blocking (MainWindow.load_config)": load_bench(window, load_path, background=False),
        "background, again": load_bench(window, load_path, background=True),
    }
    for name, res in loads.items():
        print(f"load {name}: longest UI stall {res['block_ms']:.0f} ms, loaded in {res['duration_s']:.2f} s")

    probe = LatencyProbe(5)
    for r in range(a.runs):
        procs.append(headless_process(cfg_path, tmp / "runs"))
        guis.append(gui_run(window, cfg_path, None))        # throughput: nothing else in the UI thread
        heads.append(headless(cfg_path, tmp / "runs", writer=True))
        heads_nw.append(headless(cfg_path, tmp / "runs", writer=False))
        heads_nb.append(headless(cfg_path, tmp / "runs", writer=True, bars=False))
        heads_1.append(headless(cfg_path, tmp / "runs", writer=True, single_thread=True))
        probed.append(gui_run(window, cfg_path, probe))    # stalls: the probe wakes the UI thread 200 times a s
        g = probed[-1]
        g["late"] = list(probe.late)
        g["stalls"] = probe.summary()
        free = guis[-1]
        print(
            f"run {r + 1}: headless process {procs[-1]['bars_per_s']:,.0f} bars/s (first run"
            f" {procs[-1]['first_bars_per_s']:,.0f}), in the GUI process"
            f" {heads[-1]['bars_per_s']:,.0f} (no bars {heads_nb[-1]['bars_per_s']:,.0f},"
            f" engine only {heads_nw[-1]['bars_per_s']:,.0f}, single-thread {heads_1[-1]['bars_per_s']:,.0f}),"
            f" GUI {free['bars_per_s']:,.0f} bars/s (ratio {free['bars_per_s'] / procs[-1]['bars_per_s']:.2f},"
            f" {free['bars_per_s'] / heads[-1]['bars_per_s']:.2f} vs in-process),"
            f" {free['batches']} batches in {free['wall_s']:.2f} s, UI thread CPU {free['ui_cpu_s']:.2f} s;"
            f" with the stall probe {g['bars_per_s']:,.0f} bars/s,"
            f" stalls p99 {g['stalls']['p99']:.0f} ms, max {g['stalls']['max']:.0f} ms"
            f" (an idle process meanwhile: p99 {g['reference']['p99']:.0f} ms, max {g['reference']['max']:.0f} ms);"
            f" run end: results shown {g['end']['shown_s'] * 1000:.0f} ms after the finish, longest UI stall"
            f" {g['end']['max']:.0f} ms (UI thread CPU in it {g['end']['cpu_ms']:.0f} ms)"
        )
    proc = statistics.median(x["bars_per_s"] for x in procs)
    proc_first = statistics.median(x["first_bars_per_s"] for x in procs)
    head = statistics.median(x["bars_per_s"] for x in heads)
    head_nw = statistics.median(x["bars_per_s"] for x in heads_nw)
    head_nb = statistics.median(x["bars_per_s"] for x in heads_nb)
    head_1 = statistics.median(x["bars_per_s"] for x in heads_1)
    threads = json.loads(cfg_path.read_text())["backtest"].get("stage_threads")
    gui = statistics.median(x["bars_per_s"] for x in guis)
    ratios = [g["bars_per_s"] / hd["bars_per_s"] for g, hd in zip(guis, procs, strict=True)]
    ratios_in = [g["bars_per_s"] / hd["bars_per_s"] for g, hd in zip(guis, heads, strict=True)]
    ratios_folder = [g["folder_bars_per_s"] / hd["folder_bars_per_s"] for g, hd in zip(guis, procs, strict=True)]
    gui_probed = statistics.median(x["bars_per_s"] for x in probed)
    late = [x for g in probed for x in g["late"]]
    gui_seconds = sum(g["stalls"]["ticks"] and g["wall_s"] for g in probed)
    over_100 = sum(x > 100 for x in late) / max(gui_seconds, 1e-9)
    long_stalls = [x for g in probed for x in g["stalls"]["long"]]
    fps = statistics.median(g["batches"] / g["wall_s"] for g in guis)

    ps = pause_step_bench(window, cfg_path, cycles=a.cycles) if a.cycles else {"pause": [], "step": [],
                                                                                   "step_shown": []}
    chart = chart_append_bench() if not a.no_chart else None

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
    window.bridge.wait_writers(10)
    load_after = os.getloadavg()

    def ms_list(values: list[float]) -> str:
        return ", ".join(f"{v:.0f}" for v in values) + " ms" if values else "none measured"

    ui_share = (
        sum(c for _, _, c in long_stalls) / sum(st for _, st, _ in long_stalls) if long_stalls else float("nan")
    )
    rows = [
        ("platform", f"Qt {app.platformName()}, {os.cpu_count()} cores",
         f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)"),
        ("headless, `workstation run` process (RunWriter with bars)", f"{proc:,.0f} bars/s",
         "the same config as the GUI run: backtest.stage_threads "
         + ("unset (stages in one thread)" if threads is None else str(threads).lower())
         + "; a process of its own (5 ms GIL switch interval, automatic collection), its second run"),
        ("  its first run (cold, as `workstation run`)", f"{proc_first:,.0f} bars/s", ""),
        ("  the same in the GUI process", f"{head:,.0f} bars/s", "1 ms switch interval, no collection meanwhile"),
        ("  single-thread stages (GUI process)", f"{head_1:,.0f} bars/s",
         "`workstation run`'s default when a config leaves stage_threads unset"),
        ("  RunWriter without bars (GUI process)", f"{head_nb:,.0f} bars/s", ""),
        ("  engine only, no run folder (GUI process)", f"{head_nw:,.0f} bars/s", ""),
        (
            "GUI throughput, MAX speed (run folder with bars)",
            f"{gui:,.0f} bars/s",
            f"ratio {statistics.median(ratios):.2f} vs the `workstation run` process (median of the runs:"
            f" {', '.join(f'{x:.2f}' for x in ratios)}; target >= 0.8); in the GUI process"
            f" {statistics.median(ratios_in):.2f} ({', '.join(f'{x:.2f}' for x in ratios_in)}),"
            f" {gui / head_nb:.2f} vs no bars, {gui / head_nw:.2f} vs engine only, {gui / head_1:.2f} vs single-thread",
        ),
        ("  to the run folder written, both sides", f"{statistics.median(g['folder_bars_per_s'] for g in guis):,.0f} bars/s",
         f"ratio {statistics.median(ratios_folder):.2f} vs the `workstation run` process"
         f" ({', '.join(f'{x:.2f}' for x in ratios_folder)}): engine start -> the folder's last file, the same"
         " work on both sides (the headless writer leaves most of it until after the last bar)"),
        ("  with the stall probe running", f"{gui_probed:,.0f} bars/s",
         f"ratio {gui_probed / proc:.2f}: the runs the stalls below are measured in (a 5 ms timer in the UI thread)"),
        (
            "UI event stall at MAX (5 ms timer)",
            f"p50 {pct(late, 50):.1f} ms / p99 {pct(late, 99):.1f} ms / max {max(late) if late else float('nan'):.0f} ms",
            f"{over_100:.2f} stalls > 100 ms per s over {len(late)} ticks (target p99 <= 50, max <= 150)",
        ),
        (
            "  run end: finish -> results shown (+300 ms)",
            "longest UI stall " + ", ".join(f"{g['end']['max']:.0f}" for g in probed) + " ms",
            "results shown " + ", ".join(f"{g['end']['shown_s'] * 1000:.0f}" for g in probed) + " ms after the finish"
            " (target stall <= 150 ms)",
        ),
        (
            "  an idle process beside it (same probe)",
            f"p99 {statistics.median(g['reference']['p99'] for g in probed):.1f} ms / max "
            f"{max(g['reference']['max'] for g in probed):.0f} ms",
            "the machine's own scheduling stalls (median p99 of the runs, largest max)",
        ),
        (
            "  stalls > 50 ms",
            f"{len(long_stalls)}",
            f"UI-thread CPU in them {ui_share * 100:.0f} % (the rest: waiting for a core or the GIL)",
        ),
        ("pause at MAX: click -> clock stops", ms_list(ps["pause"]), "target <= 100 ms"),
        ("step: click -> clock moves", ms_list(ps["step"]), "target <= 100 ms"),
        ("step: click -> frame shows it", ms_list(ps["step_shown"]), ""),
        *(
            (f"config load, {name}", f"longest UI stall {res['block_ms']:.0f} ms",
             f"loaded in {res['duration_s']:.2f} s (target stall <= 200 ms)")
            for name, res in loads.items()
        ),
        ("frames (coalesced batches)", f"{fps:.0f} / s", "at most ~60 / s by design"),
        *(
            ()
            if chart is None
            else (
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
            )
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
