"""Headless live runs: `workstation run LIVE_CONFIG --duration 10m` (or until the session ends).

Writes the same run folder as a backtest plus `gap_fills.json` (every gap and every fill attempt)
and `live_status.json` (provider health history, per-symbol feed figures, latency).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from workstation.atomic_files import write_text_atomic
from workstation.run_writer import RunWriter, _json_default, prepare_run_folder


def run_live_headless(cfg, store_path: Path, args) -> int:
    from workstation.live.system import LiveSystemManager
    from workstation.run_commands import RUNS_DIR, Progress, StopOnSignals, drive_run, parse_duration

    duration = parse_duration(args.duration) if args.duration else None
    system = LiveSystemManager(cfg, store_path=store_path, duration_s=duration)
    out = prepare_run_folder(args.out, RUNS_DIR, f"{Path(args.config).stem}-live", overwrite=args.overwrite)
    writer = RunWriter(system, out, write_bars=not args.no_bars)

    def write_status(_kind: str, _payload: object) -> None:
        if not writer.failed:
            writer.write_file("live_status.json", lambda: write_live_files(system, out))

    system.events.subscribe("session_end", write_status)
    progress = Progress(system)
    print(f"live run ({cfg.live.provider}) of {len(cfg.symbols)} symbols"
          + (f" for {args.duration}" if duration else " until the last session ends") + " (Ctrl-C stops)",
          file=sys.stderr)
    destinations = key_destinations_text(cfg, system.provider)
    if destinations:
        print(destinations, file=sys.stderr)
    with StopOnSignals(system) as signals:   # SIGINT / SIGTERM stop between bar times, then flush
        progress.start()
        system.start()
        try:
            drive_run(system, writer)
        except KeyboardInterrupt:
            system.stop()
            system.wait(2.0)
    progress.close()
    if not writer.failed:
        writer.write_file("live_status.json", lambda: write_live_files(system, out))
    s = system.summary()
    if getattr(args, "json", False):
        from workstation.json_output import print_json
        from workstation.run_commands import run_document

        print_json({**run_document(out, system.error), "live": s})
    else:
        if (out / "report.txt").is_file():
            print((out / "report.txt").read_text(encoding="utf-8"))
        p99 = s["latency_ms_p99"]
        print(f"live: provider {s['provider']} ({s['health']}), gaps found {s['gaps_found']}, "
              f"filled {s['gaps_filled']}, no trades {s['gaps_no_trades']}, failed {s['gaps_failed']}, "
              f"late bars {s['late_bars']}, bars quarantined {s['bars_quarantined']}, latency p99 "
              + (f"{p99:.2f} ms" if p99 is not None else "n/a"))
        print(f"run folder: {out}")
    if writer.failed:
        print(f"error: the run was stopped because its run folder could not be written: {writer.write_error}",
              file=sys.stderr)
    if system.error is not None:
        print(f"error: the live run failed: {system.error}", file=sys.stderr)
    if system.error is not None or writer.failed:
        return 1
    return 128 + signals.received if signals.received else 0


def key_destinations_text(cfg, provider) -> str:
    """"API keys (from ENV, ENV) go to HOST (stream) and HOST (history)", or "" for a provider without keys."""
    where = provider.key_destinations()
    if not where:
        return ""
    a = cfg.live.alpaca
    places = " and ".join(f"{host} ({what})" for what, host in where.items())
    return f"API keys (from {a.key_env}, {a.secret_env}) go to {places}"


def write_live_files(system, out: Path) -> None:
    status = system.live_status()
    gaps = {"gaps": status.pop("gaps"), "attempts": status.pop("fill_log"),
            "fill_latency_ms": list(system.feed.fill_latencies_ms)}
    write_text_atomic(out / "gap_fills.json", json.dumps(gaps, indent=2, default=_json_default))
    status["written_at"] = time.time()
    write_text_atomic(out / "live_status.json", json.dumps(status, indent=2, default=_json_default))
