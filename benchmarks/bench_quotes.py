"""Quote fills against trade fills, A/B interleaved in one process: bench_backtest's pipeline and data
(100 symbols x 5 days, SMA 5/20 market orders, single thread) with execution.fill_prices "trades" and
"quotes", on a store holding a quote bar for every trade bar (spread 1-3 cents). Prints wall and CPU
throughput per run and the median ratios.

    .venv/bin/python benchmarks/bench_quotes.py [RUNS]
"""
import statistics
import sys
from pathlib import Path

from scratch import scratch_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str((ROOT / ".." / "shared" / "bench").resolve()))

import bench_backtest as bb  # noqa: E402
import make_bars  # noqa: E402
import pandas as pd  # noqa: E402

from workstation.store import BarStore  # noqa: E402
from workstation.store.quote_store import write_quotes  # noqa: E402

tmp = scratch_dir("bench_quotes_")
df = make_bars.make_bars(100, 5, seed=42)
store = BarStore(tmp / "store", create=True)
store.write_bars(df, "1m")
ts = df["timestamp"].dt.tz_convert("UTC").astype("int64").to_numpy()
half = 0.005 * (1 + (ts // 60_000_000_000) % 3)
q = pd.DataFrame({"symbol": df["symbol"].to_numpy(), "timestamp": ts, "rth": True})
for f in ("open", "high", "low", "close"):
    q[f"bid_{f}"] = df[f].to_numpy() - half
    q[f"ask_{f}"] = df[f].to_numpy() + half
q["bid_size"] = 100.0
q["ask_size"] = 100.0
write_quotes(store, q)
symbols = sorted(df["symbol"].unique())
days = sorted(df["timestamp"].dt.tz_convert("America/New_York").dt.date.unique())
res = {"trades": [], "quotes": []}
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    for mode in ("trades", "quotes"):
        cfg = bb.bench_config(symbols, str(days[0]), str(days[-1]), stage_threads=False)
        cfg["execution"] = {**cfg.get("execution", {}), "fill_prices": mode}
        r = bb.run_engine(store, cfg)
        res[mode].append(r)
        print(mode, f"{r['bars_per_s']:,.0f} bars/s wall, {r['bars_per_cpu_s']:,.0f} bars/CPU-s, fills {r['fills']}")
for key in ("bars_per_s", "bars_per_cpu_s"):
    t = statistics.median(r[key] for r in res["trades"])
    qv = statistics.median(r[key] for r in res["quotes"])
    print(f"median {key}: trades {t:,.0f}, quotes {qv:,.0f}, ratio quotes/trades {qv / t:.2f}")
