"""Live mode latency: bar receive -> SessionData -> strategy decision, and gap-fill time.

100 symbols at one bar per symbol per second: the replay provider plays stored 1m bars at 60x
(one market minute per wall second) from the session open, with the full pipeline (5m/15m derived,
quality, SMA crossover, paper execution). Latency is measured per bar from the moment the live
coordinator receives it (wall clock) until the strategies have run on its bar time. A 5-minute gap
is made on purpose in one symbol; its fill time is measured from the history answer to the bars
being inserted with derived bars, indicators and quality recomputed.

    .venv/bin/python benchmarks/bench_live.py [--symbols 100] [--minutes 60] [--speed 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = (ROOT / ".." / "shared" / "bench").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import make_bars  # noqa: E402
import pandas as pd  # noqa: E402

from workstation.calendar import TimeManager  # noqa: E402
from workstation.config import validate_config_dict  # noqa: E402
from workstation.live.replay import ReplayClock, ReplayProvider  # noqa: E402
from workstation.live.system import LiveSystemManager  # noqa: E402
from workstation.store import BarStore  # noqa: E402


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1)))] if v else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--minutes", type=int, default=60, help="market minutes replayed (wall seconds at 60x)")
    ap.add_argument("--speed", type=float, default=60.0)
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_live_"))
    df = make_bars.make_bars(a.symbols, 1, seed=42, start="2024-01-03")
    store = BarStore(tmp / "store", create=True)
    store.write_bars(df, "1m")
    symbols = store.symbols("1m")
    day = "2024-01-03"
    open_et = pd.Timestamp(f"{day} 09:30", tz="America/New_York")
    cfg = validate_config_dict({
        "name": "bench live", "mode": "live", "symbols": symbols,
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 1.0},
        "backtest": {"start_date": day, "end_date": day},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "live": {"provider": "replay", "replay": {"speed": a.speed}},
    })
    gap_start = (open_et + pd.Timedelta(minutes=20)).tz_convert("UTC").value
    gap_end = (open_et + pd.Timedelta(minutes=24)).tz_convert("UTC").value
    print(f"machine: {os.cpu_count()} cores; {a.symbols} symbols at {a.speed:g}x "
          f"({a.symbols * a.speed / 60:.0f} bars/s), {a.minutes} market minutes per run")
    for label, drop_runs in (("no gaps", []), ("one 5-minute gap", [(symbols[0], gap_start, gap_end)])):
        tm = TimeManager()
        clock = ReplayClock(open_et.tz_convert("UTC").value, a.speed)
        provider = ReplayProvider(store, tm, clock, drop_runs=drop_runs)
        system = LiveSystemManager(cfg, store=store, time_manager=tm, duration_s=a.minutes * 60 / a.speed,
                                   provider=provider, clock=clock)
        system.start()
        system.wait()
        report(label, system, a, symbols)


def report(label, system, a, symbols) -> None:
    c = system.coordinator
    lat = c.latencies_ms
    print(f"\n[{label}] {len(lat):,} bars measured; error: {system.error}")
    print(f"  bar receive -> strategies done: p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, "
          f"max {max(lat):.2f} ms (mean {statistics.fmean(lat):.2f} ms)")
    per_bar_time = [max(lat[k:k + a.symbols]) for k in range(0, len(lat), a.symbols)]
    worst = sorted(range(len(per_bar_time)), key=per_bar_time.__getitem__)[-3:]
    print("  worst bar times (minute after the open: max ms): "
          + ", ".join(f"{k}: {per_bar_time[k]:.1f}" for k in worst))
    gaps = system.gap_filler.gaps
    if gaps:
        five = [g for g in gaps if g.symbol == symbols[0] and g.missing == 5]
        print(f"  gaps found {len(gaps)}, filled {sum(g.status == 'filled' for g in gaps)}; "
              f"5-minute gap: {'filled' if five and five[0].status == 'filled' else 'NOT filled'}")
        for e in system.gap_filler.log:
            print(f"  fill attempt {e['symbol']} {e['missing']} bars: history request {e['request_ms']:.1f} ms, "
                  f"outcome {e['outcome']}")
        if c.fill_latencies_ms:
            print(f"  history answer -> bars inserted, derived bars/indicators/quality recomputed: "
                  f"{', '.join(f'{x:.1f}' for x in c.fill_latencies_ms)} ms")


if __name__ == "__main__":
    main()
