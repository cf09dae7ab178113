"""Headless live runs: `workstation run LIVE_CONFIG --duration 10m` (or until the session ends).

Writes the same run folder as a backtest plus `gap_fills.json` (every gap and every fill attempt)
and `live_status.json` (provider health history, per-symbol feed figures, latency).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from workstation.run_writer import RunWriter, _json_default


def run_live_headless(cfg, store_path: Path, args) -> int:
    import datetime as dt

    from workstation.live.system import LiveSystemManager
    from workstation.run_commands import Progress, _wait_writer, parse_duration

    duration = parse_duration(args.duration) if args.duration else None
    system = LiveSystemManager(cfg, store_path=store_path, duration_s=duration)
    out = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-live-{dt.datetime.now():%Y%m%d-%H%M%S}"
    writer = RunWriter(system, out, write_bars=not args.no_bars)
    system.events.subscribe("session_end", lambda _k, _p: write_live_files(system, out))
    progress = Progress(system)
    print(f"live run ({cfg.live.provider}) of {len(cfg.symbols)} symbols"
          + (f" for {args.duration}" if duration else " until the last session ends") + " (Ctrl-C stops)",
          file=sys.stderr)
    destinations = key_destinations_text(cfg, system.provider)
    if destinations:
        print(destinations, file=sys.stderr)
    progress.start()
    system.start()
    try:
        while not system.wait(0.2):
            pass
    except KeyboardInterrupt:
        system.stop()
        system.wait(2.0)
    _wait_writer(writer)
    progress.close()
    write_live_files(system, out)
    print((out / "report.txt").read_text(encoding="utf-8"))
    s = system.summary()
    p99 = s["latency_ms_p99"]
    print(f"live: provider {s['provider']} ({s['health']}), gaps found {s['gaps_found']}, filled {s['gaps_filled']}, "
          f"no trades {s['gaps_no_trades']}, failed {s['gaps_failed']}, late bars {s['late_bars']}, "
          f"bars quarantined {s['bars_quarantined']}, latency p99 "
          + (f"{p99:.2f} ms" if p99 is not None else "n/a"))
    print(f"run folder: {out}")
    if system.error is not None:
        print(f"error: the live run failed: {system.error}", file=sys.stderr)
        return 1
    return 0


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
            "fill_latency_ms": list(system.coordinator.fill_latencies_ms)}
    tmp = out / ".gap_fills.json.tmp"
    tmp.write_text(json.dumps(gaps, indent=2, default=_json_default), encoding="utf-8")
    tmp.replace(out / "gap_fills.json")
    status["written_at"] = time.time()
    tmp = out / ".live_status.json.tmp"
    tmp.write_text(json.dumps(status, indent=2, default=_json_default), encoding="utf-8")
    tmp.replace(out / "live_status.json")
