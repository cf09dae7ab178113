"""Bar store speed: write 500 symbols x 2 sessions of 1m bars, then time the session fast path and read_bars.

Run: PYTHONPATH=. python benchmarks/bench_store.py [--symbols 500] [--runs 7] [--keep DIR]
Reports median and best of several runs and the machine's core count; also times importing the real
59k-row UPRO_Minute.csv.gz into a new store when the real data folder is there.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # run from anywhere without installing

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.store import BarStore, import_files
from workstation.store.demo import demo_symbols

DATES = (dt.date(2024, 11, 26), dt.date(2024, 11, 27))


def synthetic_session(
    store: BarStore, symbols: list[str], day: dt.date, rng: np.random.Generator
) -> pd.DataFrame:
    """A full regular session of 1m bars for every symbol (random walk on a $0.01 grid)."""
    session = store.time_manager.session(day)
    minutes = session.minutes
    ts = session.open_ns + np.arange(minutes, dtype=np.int64) * 60_000_000_000
    n = len(symbols)
    start = rng.uniform(10, 400, n)[:, None]
    close = np.round(start * np.exp(np.cumsum(rng.normal(0, 0.001, (n, minutes)), axis=1)), 2)
    open_ = np.concatenate([np.round(start, 2), close[:, :-1]], axis=1)
    high = np.maximum(open_, close) + np.round(rng.uniform(0, 0.05, (n, minutes)), 2)
    low = np.maximum(np.minimum(open_, close) - np.round(rng.uniform(0, 0.05, (n, minutes)), 2), 0.01)
    return pd.DataFrame(
        {
            "symbol": np.repeat(np.asarray(symbols, dtype=object), minutes),
            "timestamp": np.tile(ts, n),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": rng.integers(100, 50_000, n * minutes).astype(np.float64),
        }
    )


def timed(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", help="write the store here and keep it (default: a temporary folder)")
    parser.add_argument(
        "--real-data", default="/work/shared/data/real", help="folder of the real vendor files"
    )
    args = parser.parse_args(argv)
    symbols = demo_symbols(args.symbols)
    tmp = None
    root = Path(args.keep) if args.keep else Path(tmp := tempfile.mkdtemp(prefix="bench-store-")) / "store"
    store = BarStore(root, create=True)
    rng = np.random.default_rng(1)

    print(f"cores: {os.cpu_count()}   python {sys.version.split()[0]}   pandas {pd.__version__}")
    frames = [synthetic_session(store, symbols, day, rng) for day in DATES]
    t0 = time.perf_counter()
    for frame in frames:
        store.write_bars(frame, "1m")
    write_s = time.perf_counter() - t0
    rows = sum(len(f) for f in frames)
    print(
        f"write_bars: {rows:,} rows ({len(symbols)} symbols x {len(DATES)} sessions) in {write_s:.2f} s "
        f"({rows / write_s:,.0f} rows/s); store {store.size_bytes() / 1e6:.1f} MB"
    )

    med, best, arrays = timed(lambda: store.read_session_arrays(DATES[1], "1m", symbols), args.runs)
    print(
        f"read_session_arrays({DATES[1]}, {len(symbols)} symbols): {arrays.rows:,} rows  "
        f"median {med * 1000:.1f} ms  best {best * 1000:.1f} ms  ({args.runs} runs)"
    )
    some = symbols[: max(1, len(symbols) // 10)]
    med, best, arrays = timed(lambda: store.read_session_arrays(DATES[1], "1m", some), args.runs)
    print(
        f"read_session_arrays({DATES[1]}, {len(some)} symbols): {arrays.rows:,} rows  "
        f"median {med * 1000:.1f} ms  best {best * 1000:.1f} ms"
    )

    start = store.time_manager.session(DATES[0]).open_ns
    end = store.time_manager.session(DATES[1]).close_ns
    med, best, frame = timed(lambda: store.read_bars(None, "1m", start, end), max(3, args.runs // 2))
    print(
        f"read_bars(all symbols, 2 sessions): {len(frame):,} rows  median {med * 1000:.1f} ms  "
        f"best {best * 1000:.1f} ms"
    )
    med, best, frame = timed(lambda: store.read_bars(symbols[:5], "1m", start, end), args.runs)
    print(
        f"read_bars(5 symbols, 2 sessions): {len(frame):,} rows  median {med * 1000:.1f} ms  "
        f"best {best * 1000:.1f} ms"
    )
    upro = Path(args.real_data) / "lumibot" / "UPRO_Minute.csv.gz"
    if upro.is_file():
        import_root = root.parent / "import-bench"
        times = []
        for i in range(3):
            target = BarStore(import_root / f"run{i}", create=True, time_manager=store.time_manager)
            t0 = time.perf_counter()
            summary = import_files([upro], target)
            times.append(time.perf_counter() - t0)
        print(
            f"import_files({upro.name}): {summary.rows_read:,} rows -> {summary.rows_stored:,} stored in "
            f"{len(summary.files_written)} date files, {summary.rows_quarantined} quarantined  "
            f"median {statistics.median(times):.2f} s  best {min(times):.2f} s"
        )
    if tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
