"""Per-bar-time cost of the lane-vectorised indicators, and of `compute_series` over 100k bars.

Run: PYTHONPATH=. python benchmarks/bench_indicators.py [--calls 2000] [--repeat 5]
Prints microseconds per `update` call (best of --repeat runs) for every indicator with 1, 100 and
500 lanes, updating all lanes or a random 95 % subset (a different subset every call). Times are
this process's CPU time (`time.process_time`), so other load on the machine inflates them less.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # run from anywhere without installing

import argparse
import time

import numpy as np

from workstation.indicators import compute_series, make_indicator

SPECS = ("sma(20)", "ema(20)", "rsi(14)", "macd(12,26,9)", "bb(20,2)", "atr(14)", "vwap")
LANE_COUNTS = (1, 100, 500)


def bar_arrays(rng: np.random.Generator, rows: int, n_lanes: int) -> dict[str, np.ndarray]:
    """Random-walk cent-grid bars, shape (rows, n_lanes)."""
    close = np.round(100 + np.cumsum(rng.normal(0, 0.2, (rows, n_lanes)), axis=0), 2)
    return {
        "open": close,
        "high": close + 0.05,
        "low": close - 0.05,
        "close": close,
        "volume": rng.integers(1, 10_000, (rows, n_lanes)).astype(float),
    }


def time_updates(spec: str, n_lanes: int, calls: int, repeat: int, subset: bool) -> float:
    """Best-of-`repeat` microseconds per update call, after a warm-up past every lane's warm-up."""
    rng = np.random.default_rng(1)
    ind = make_indicator(spec, lanes=n_lanes)
    bars = bar_arrays(rng, calls, n_lanes)
    columns = [bars[f] for f in ind.fields]
    for row in range(100):
        ind.update(*(c[row % calls] for c in columns))
    if subset:
        keep = max(1, round(n_lanes * 0.95))
        lane_sets = [np.sort(rng.choice(n_lanes, keep, replace=False)).astype(np.int64) for _ in range(calls)]
        inputs = [[np.ascontiguousarray(c[row, lane_sets[row]]) for c in columns] for row in range(calls)]
    else:
        lane_sets = [None] * calls
        inputs = [[np.ascontiguousarray(c[row]) for c in columns] for row in range(calls)]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for row in range(calls):
            ind.update(*inputs[row], lanes=lane_sets[row])
        best = min(best, time.process_time() - start)
    return best / calls * 1e6


def time_compute_series(spec: str, n_bars: int) -> float:
    """Milliseconds of one `compute_series` call over `n_bars` bars (best of 3)."""
    bars = {k: v[:, 0].copy() for k, v in bar_arrays(np.random.default_rng(2), n_bars, 1).items()}
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        compute_series(spec, bars["open"], bars["high"], bars["low"], bars["close"], bars["volume"])
        best = min(best, time.process_time() - start)
    return best * 1e3


def main() -> None:
    """Print the timing tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="update calls per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best one is reported")
    args = parser.parse_args()

    header = f"{'indicator':<15}" + "".join(f"{f'{n} all':>11}{f'{n} 95%':>11}" for n in LANE_COUNTS)
    print("microseconds per update call (one bar time)")
    print(header)
    for spec in SPECS:
        cells = []
        for n_lanes in LANE_COUNTS:
            for subset in (False, True):
                cells.append(f"{time_updates(spec, n_lanes, args.calls, args.repeat, subset):>11.1f}")
        print(f"{spec:<15}" + "".join(cells))
    print()
    print("compute_series over 100,000 bars (ms)")
    for spec in SPECS:
        print(f"{spec:<15}{time_compute_series(spec, 100_000):>11.1f}")


if __name__ == "__main__":
    main()
