"""CLI commands that run the engine: `workstation run CONFIG` and the headless `workstation demo`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time
from pathlib import Path

from workstation.config import SessionConfig, load_config, validate_config_dict
from workstation.errors import ConfigError, WorkstationError

DEFAULT_STORE = "data/store"
EXAMPLE_CONFIG = "session_configs/example_session.json"


def apply_overrides(cfg: SessionConfig, start: str | None = None, end: str | None = None,
                    symbols: str | None = None, speed: float | None = None, source: str = "command line",
                    single_thread: bool = False) -> SessionConfig:
    """A copy of `cfg` with command-line overrides, validated again as a whole."""
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
    return validate_config_dict(data, source)


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


def _cmd_run(args: argparse.Namespace) -> int:
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager, resolve_store_path

    cfg = load_config(args.config)
    cfg = apply_overrides(cfg, args.start, args.end, args.symbols, args.speed, source=args.config,
                          single_thread=args.single_thread)
    store_path = resolve_store_path(cfg, args.store)
    from workstation.preflight import check_runnable  # like the run's other engine parts, imported when used

    check_runnable(cfg, store_path, source=args.config)  # every reason it would not run, before anything starts
    if cfg.mode == "live":
        from workstation.live.runner import run_live_headless

        return run_live_headless(cfg, store_path, args)
    system = SystemManager(cfg, store_path=store_path)
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    writer = RunWriter(system, out, write_bars=not args.no_bars)
    progress = Progress(system)
    progress.start()
    system.start()
    deadline = time.monotonic() + parse_duration(args.duration) if args.duration else None
    try:
        while not system.wait(0.2):
            if deadline is not None and time.monotonic() > deadline:
                system.stop()
                break
    except KeyboardInterrupt:
        system.stop()
        system.wait(2.0)
        progress.close()
        print(f"\nstopped; the run folder {out} keeps what was produced so far", file=sys.stderr)
        return 130
    _wait_writer(writer)
    progress.close()
    print((out / "report.txt").read_text(encoding="utf-8"))
    print(f"run folder: {out}")
    if system.error is not None:
        print(f"error: the run failed: {system.error}", file=sys.stderr)
        return 1
    return 0


def _wait_writer(writer, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not writer.closed and time.monotonic() < deadline:
        time.sleep(0.01)


def _cmd_demo(args: argparse.Namespace) -> int:
    """Headless demo: demo data if absent, validate the example config, run one session, print
    per-symbol bar counts and quality."""
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
    p.add_argument("--out", help="run folder (default runs/<config>-<time>)")
    p.add_argument("--speed", type=float, help="speed multiplier: 0 = as fast as possible")
    p.add_argument("--start", help="first session date YYYY-MM-DD (overrides the config)")
    p.add_argument("--end", help="last session date YYYY-MM-DD (overrides the config)")
    p.add_argument("--symbols", help="comma-separated symbols (overrides the config)")
    p.add_argument("--duration", help="stop after this long, e.g. 10m (live runs; also caps backtests)")
    p.add_argument("--no-bars", action="store_true", help="do not write bars.parquet (smaller run folders)")
    p.add_argument("--single-thread", action="store_true",
                   help="run every stage in the coordinator's thread (same results, faster batch runs)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("demo", help="headless demo on the built-in demo data (creates it when absent)")
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--config", default=EXAMPLE_CONFIG)
    p.set_defaults(func=_cmd_demo)
