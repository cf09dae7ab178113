"""CLI commands that run the engine: `workstation run CONFIG`, `workstation report RUN_DIR` and the
headless `workstation demo`.

Exit codes of `run`: 0 finished (or stopped by --duration), 1 the run failed or its run folder could
not be written (disk full: the run stops at once), 2 bad input, 130 stopped by SIGINT (Ctrl-C), 143
stopped by SIGTERM. SIGINT and SIGTERM stop the run between two bar times; the session in progress
is written and the run folder is marked complete with state "stopped". A second signal quits without
waiting (the folder is then marked incomplete).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from workstation.errors import ConfigError, WorkstationError
from workstation.json_output import add_json_flag, print_json

if TYPE_CHECKING:
    from workstation.config import SessionConfig

DEFAULT_STORE = "data/store"
RUNS_DIR = Path("runs")
EXAMPLE_CONFIG = "session_configs/example_session.json"


def apply_overrides(cfg: SessionConfig, start: str | None = None, end: str | None = None,
                    symbols: str | None = None, speed: float | None = None, source: str = "command line",
                    single_thread: bool = False, validate: Callable[[Any, str], SessionConfig] | None = None
                    ) -> SessionConfig:
    """A copy of `cfg` with command-line overrides, validated again as a whole (by `validate`,
    default workstation.config.validate_config_dict)."""
    if validate is None:
        from workstation.config import validate_config_dict

        validate = validate_config_dict
    data = cfg.model_dump(mode="json")
    if start:
        data["backtest"]["start_date"] = start
    if end:
        data["backtest"]["end_date"] = end
    if symbols:
        syms = [s.strip().upper() for s in symbols.split(",") if s.strip()]
        data["symbols"] = syms
        for st in data["strategies"]:
            if st["symbols"] != "all":
                st["symbols"] = [s for s in st["symbols"] if s in syms] or "all"
        if data["historical"]["symbols"] != "all":
            data["historical"]["symbols"] = [s for s in data["historical"]["symbols"] if s in syms] or "all"
    if speed is not None:
        data["backtest"]["speed_multiplier"] = speed
    if single_thread:
        data["backtest"]["stage_threads"] = False
    return validate(data, source)


def parse_duration(text: str) -> float:
    """'90s', '10m', '2h' -> seconds."""
    t = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    if len(t) >= 2 and t[-1] in units and t[:-1].replace(".", "", 1).isdigit():
        return float(t[:-1]) * units[t[-1]]
    raise ConfigError("--duration", [("--duration", f"{text!r} is not a duration like '90s', '10m' or '2h'")])


class Progress:
    """A one-line progress display (sessions done, bars, bars/s) on stderr."""

    def __init__(self, system, stream=None):
        self.system = system
        self.stream = stream = stream if stream is not None else sys.stderr
        self.tty = stream.isatty()
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        system.events.subscribe("session_end", self._on_session)
        self._thread = threading.Thread(target=self._tick, name="Progress", daemon=True) if self.tty else None

    def start(self) -> None:
        self._t0 = time.perf_counter()
        if self._thread:
            self._thread.start()

    def _line(self) -> str:
        s = self.system
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        done, total = s.coordinator.sessions_done, len(s.sessions)
        width = 24
        fill = int(width * done / total) if total else width
        return (f"[{'#' * fill}{'.' * (width - fill)}] sessions {done}/{total}  "
                f"bars {s.bars_processed:,}  {s.bars_processed / elapsed:,.0f} bars/s")

    def _on_session(self, _kind, payload) -> None:
        if not self.tty:
            print(f"session {payload['date']} done: {self._line()}", file=self.stream, flush=True)

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            print("\r" + self._line(), end="", file=self.stream, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread and self._thread.is_alive():
            self._thread.join(1.0)
            print("\r" + self._line(), file=self.stream, flush=True)


EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 128 + signal.SIGINT      # 130
EXIT_TERMINATED = 128 + signal.SIGTERM      # 143


class StopOnSignals:
    """While entered, SIGINT and SIGTERM ask `system` to stop between two bar times instead of ending
    the process; `received` is the first signal's number. A second signal raises KeyboardInterrupt
    (quit without waiting). Signal handlers exist only in the main thread; elsewhere this does nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, system):
        self.system = system
        self.received: int | None = None
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, _frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum
        self.system.request_stop()


def drive_run(system, writer, deadline: float | None = None) -> None:
    """Wait for the run to end. A passed `deadline` (time.monotonic) or a failed run-folder write
    stops it between two bar times; the run's last files are written before this returns."""
    while not system.wait(0.1):
        if deadline is not None and time.monotonic() > deadline:
            system.request_stop()
        if writer.failed:
            system.request_stop()
    writer.wait_closed(10.0)   # the writer finishes in the end event, before wait() returns: a guard only


def _written_text(summary: dict[str, int]) -> str:
    """'bars.parquet (4 parts), trades.parquet, ...' from RunWriter.written_summary()."""
    part_folders = ("bars.parquet", "quality.parquet", "signals.parquet", "orders.parquet", "fills.parquet")
    shown = [f"{name} ({n} part{'s' if n != 1 else ''})" if name in part_folders else name
             for name, n in summary.items()]
    return ", ".join(shown) or "nothing"


def finish_run(system, writer, out: Path, received: int | None, progress: Progress | None = None,
               as_json: bool = False) -> int:
    """Print the report (or, `as_json`, the run document) and how the run ended; return the exit code
    (see the module docstring)."""
    from workstation.run_writer import run_folder_status

    if progress is not None:
        progress.close()
    if as_json:
        print_json(run_document(out, system.error))
    else:
        report = out / "report.txt"
        try:
            print(report.read_text(encoding="utf-8"))
        except OSError:
            pass
        print(f"run folder: {out}")
    status = run_folder_status(out)
    if writer.failed:
        print(f"error: the run was stopped because its run folder could not be written: {writer.write_error}.\n"
              f"Written before that: {_written_text(writer.written_summary())}. The run folder is marked incomplete.",
              file=sys.stderr)
        return EXIT_RUN_FAILED
    if not status.complete:
        print(f"warning: {status.message}", file=sys.stderr)
    if received is not None:
        name = signal.Signals(received).name
        print(f"stopped by {name} after {system.coordinator.sessions_done} of {len(system.sessions)} sessions; "
              f"the run folder keeps everything up to the stop", file=sys.stderr)
        return EXIT_TERMINATED if received == signal.SIGTERM else EXIT_INTERRUPTED
    if system.error is not None:
        print(f"error: the run failed: {system.error}", file=sys.stderr)
        return EXIT_RUN_FAILED
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from workstation.process_start import StartupCollection

    collection = StartupCollection()
    collection.pause()             # until the first bar: the start-up's objects all live on
    try:
        return _run(args, collection)
    finally:
        collection.end()


def runs_in_one_thread(cfg: SessionConfig) -> bool:
    """Whether a run of `cfg` puts its stages in the coordinator's thread by default: a backtest whose
    config leaves backtest.stage_threads unset, as `workstation run`, `workstation.run()` and the window
    run it (one thread measured faster on 2 cores at 1, 10 and 100 symbols, bench_backtest.py; in the
    window too, with its host gate: ui.bridge.GATE_HOLD_MS)."""
    return cfg.mode == "backtest" and "stage_threads" not in cfg.backtest.model_fields_set


def run_config(path: str, start: str | None = None, end: str | None = None, symbols: str | None = None,
               speed: float | None = None, single_thread: bool = False) -> SessionConfig:
    """The config `workstation run PATH` runs: read, validated, with the command line's overrides.

    A config validated before by this code is read back without pydantic (workstation.config.validated).
    Backtests run the stages in the coordinator's thread unless the config sets backtest.stage_threads
    (`runs_in_one_thread`)."""
    from workstation.config.validated import config_cache, load_run_config, validated_config

    configs = config_cache()
    cfg = load_run_config(path, configs)
    return apply_overrides(cfg, start, end, symbols, speed, source=path,
                           single_thread=single_thread or runs_in_one_thread(cfg),
                           validate=lambda data, source: validated_config(data, source, configs))


def _run(args: argparse.Namespace, collection) -> int:
    from workstation.run_writer import RunWriter, prepare_run_folder
    from workstation.system import SystemManager, resolve_store_path

    cfg = run_config(args.config, args.start, args.end, args.symbols, args.speed, args.single_thread)
    store_path = resolve_store_path(cfg, args.store)
    from workstation.preflight import PreflightCache, check_runnable  # like the run's engine parts, when used

    checked = PreflightCache()        # the calendar and the store the checks opened, reused by the run
    check_runnable(cfg, store_path, source=args.config, cache=checked)  # every reason it would not run
    if cfg.mode == "live":
        from workstation.live.runner import run_live_headless

        collection.resume()          # a live run records no start-up figure and lives for hours
        return run_live_headless(cfg, store_path, args)
    duration = parse_duration(args.duration) if args.duration else None
    hand_orders = None
    if args.manual_orders:
        from workstation.execution.manual import load_manual_orders

        hand_orders = load_manual_orders(args.manual_orders)   # a bad file stops here, nothing written
    system = SystemManager(cfg, store=checked.store(store_path),
                           time_manager=checked.calendar(cfg.exchange, cfg.timezone))
    from workstation.process_start import record_first_bar

    def first_bar(metrics) -> None:   # this process exists for this run: its start-up counts
        record_first_bar(metrics)
        collection.resume()

    system.coordinator.on_first_bar = first_bar
    if hand_orders:
        system.manual_orders.schedule(hand_orders)
    out = prepare_run_folder(args.out, RUNS_DIR, Path(args.config).stem, overwrite=args.overwrite)
    with StopOnSignals(system) as signals:
        try:
            writer = RunWriter(system, out, write_bars=not args.no_bars)
            progress = Progress(system)
            progress.start()
            system.start()
            drive_run(system, writer, time.monotonic() + duration if duration else None)
        except KeyboardInterrupt:
            system.request_stop()
            print(f"\nquit without waiting for the run to stop; the run folder {out} may be incomplete "
                  "(`workstation report` tells)", file=sys.stderr)
            return EXIT_INTERRUPTED
    return finish_run(system, writer, out, signals.received, progress, as_json=args.json)


def run_document(run_dir: Path, error: BaseException | None = None) -> dict:
    """What `run --json` prints: the run folder, its summary and statistics (read back from the folder,
    as `workstation.runs.load_run` reads them). The folder a run has just written is read without
    pandas or pyarrow.parquet (`_folder_document`); any other (an older layout, a damaged part) through
    load_run."""
    document = _folder_document(Path(run_dir))
    if document is None:
        from workstation.runs import load_run

        results = load_run(run_dir)
        document = {"name": results.name, "summary": results.summary, "statistics": results.stats,
                    "startup": startup_figures(results.metrics)}
    return {"ok": error is None, "error": None if error is None else str(error), "run_dir": str(run_dir),
            **document}


def _folder_document(run_dir: Path) -> dict | None:
    """`run_document`'s name, summary, statistics and start-up figures of a run folder of parts, read
    with pyarrow alone: the trades sorted by (entry time, symbol) and the equity by time, stably, as
    load_run sorts them, and the statistics `compute_stats` gives those frames. None when the folder
    is not one this reader takes (load_run then reads it and says what is wrong)."""
    import json

    import numpy as np
    import pyarrow as pa

    from workstation.execution.stats import statistics
    from workstation.store.bar_store import column_numpy, read_local_parquet

    def read(name: str, columns: list[str], strings: tuple[str, ...] = ()) -> dict | None:
        folder = run_dir / f"{name}.parquet"
        if not folder.is_dir():
            return None
        parts = sorted(p for p in folder.glob("*.parquet") if p.is_file() and not p.name.startswith((".", "_")))
        tables = [read_local_parquet(p, columns) for p in parts]
        if not tables or any(t.column(c).null_count for t in tables for c in columns):
            return None
        return {c: [v for t in tables for v in t.column(c).to_pylist()] if c in strings else
                np.concatenate([column_numpy(t.column(c), np.int64 if "time" in c else np.float64)
                                for t in tables]) for c in columns}

    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        metrics_path = run_dir / "metrics.json"
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else None
        trades = read("trades", ["symbol", "entry_time", "quantity", "pnl", "commission"], strings=("symbol",))
        equity = read("equity", ["time", "equity", "gross_exposure"])
        if not isinstance(config, dict) or (metrics is not None and not isinstance(metrics, dict)) or \
                trades is None or equity is None:
            return None
        execution = config.get("execution") or {}
        cash = float(execution.get("starting_cash", 100_000.0)) if isinstance(execution, dict) else float("nan")
        if not cash > 0:
            return None
        symbols = np.array(trades["symbol"], dtype=str)
        by_entry = np.lexsort((symbols, trades["entry_time"])) if len(symbols) else np.zeros(0, dtype=np.int64)
        by_time = np.argsort(equity["time"], kind="stable")
        stats = statistics(equity["time"][by_time], equity["equity"][by_time], equity["gross_exposure"][by_time],
                           trades["pnl"][by_entry], trades["quantity"][by_entry], trades["commission"][by_entry],
                           [str(s) for s in symbols[by_entry]], cash, str(config.get("timezone") or "America/New_York"))
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    summary = (metrics or {}).get("summary")
    return {"name": str(config.get("name") or run_dir.name), "summary": summary if isinstance(summary, dict) else {},
            "statistics": stats, "startup": startup_figures(metrics)}


def startup_figures(metrics_document: dict | None) -> dict[str, float | None]:
    """{'first_bar_s', 'first_bar_cpu_s'} of a run folder's metrics.json (workstation.process_start):
    seconds from the process start to the first bar time, and the CPU seconds used by then; None
    where the run did not record them."""
    from workstation.metrics import FIRST_BAR, FIRST_BAR_CPU

    stats = ((metrics_document or {}).get("metrics") or {}).get("stats") or {}
    return {"first_bar_s": (stats.get(FIRST_BAR) or {}).get("last"),
            "first_bar_cpu_s": (stats.get(FIRST_BAR_CPU) or {}).get("last")}


def _wait_writer(writer, timeout: float = 10.0) -> None:
    writer.wait_closed(timeout)


def _cmd_demo(args: argparse.Namespace) -> int:
    """Headless demo: demo data if absent, validate the example config, run one session, print
    per-symbol bar counts and quality."""
    from workstation.config import load_config
    from workstation.store.demo import ensure_demo_data
    from workstation.system import SystemManager

    store = Path(args.store)
    if ensure_demo_data(store):
        print(f"created demo data in {store}")
    cfg = load_config(args.config)
    print(f"config {args.config}: OK ({cfg.name})")
    first = cfg.backtest.start_date.isoformat()
    cfg = apply_overrides(cfg, start=first, end=first, speed=0, source=args.config)
    system = SystemManager(cfg, store_path=store)
    rows: list[dict] = []
    system.events.subscribe("session_end", lambda _k, p: rows.extend(p["quality_rows"]))
    system.start()
    system.wait()
    if system.error is not None:
        raise WorkstationError(f"the demo session failed: {system.error}")
    s = system.summary()
    print(f"session {first}: {s['bars_processed']:,} bars in {s['elapsed_s']:.2f} s, {s['signals']} signals "
          f"({s['rejected']} rejected), {s['fills']} fills")
    print(f"{'symbol':<8}{'interval':>9}{'bars':>7}{'expected':>10}{'quality %':>11}{'gaps':>6}")
    for r in rows:
        print(f"{r['symbol']:<8}{r['interval']:>9}{r['present']:>7}{r['expected']:>10}{r['quality_pct']:>11.1f}"
              f"{r['gaps']:>6}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("run", help="run a session config headless and write a run folder")
    p.add_argument("config")
    p.add_argument("--store", help="bar store folder (overrides data_source.store_path)")
    p.add_argument("--out", help="run folder (default: a new runs/<config>-<time>); must be empty or new")
    p.add_argument("--overwrite", action="store_true",
                   help="clear the --out run folder first when it holds an earlier run")
    p.add_argument("--speed", type=float, help="speed multiplier: 0 = as fast as possible")
    p.add_argument("--start", help="first session date YYYY-MM-DD (overrides the config)")
    p.add_argument("--end", help="last session date YYYY-MM-DD (overrides the config)")
    p.add_argument("--symbols", help="comma-separated symbols (overrides the config)")
    p.add_argument("--duration", help="stop after this long, e.g. 10m (live runs; also caps backtests)")
    p.add_argument("--no-bars", action="store_true", help="do not write bars.parquet (smaller run folders)")
    p.add_argument("--manual-orders", metavar="FILE",
                   help="apply these hand orders at their times (a run folder's manual_orders.json)")
    p.add_argument("--single-thread", action="store_true",
                   help="run every stage in the coordinator's thread (same results, faster batch runs; "
                        "the default for backtests whose config does not set backtest.stage_threads)")
    add_json_flag(p, "the run folder, summary and statistics")
    p.set_defaults(func=_cmd_run, quick_exit=True)   # see cli.exit_without_teardown

    p = sub.add_parser("demo", help="headless demo on the built-in demo data (creates it when absent)")
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--config", default=EXAMPLE_CONFIG)
    p.set_defaults(func=_cmd_demo)
