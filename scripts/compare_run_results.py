"""Run the example configs headless and compare the results of two code versions bit for bit.

Used to check that an engine change leaves every result unchanged: trades, equity, orders, fills,
signals, quality, gaps and bars of the run folders must be identical (exact float equality, same
rows in the same canonical order). Timings, file layout (one file or a folder of parts) and the
text reports are not compared; nor, for live runs, the columns stamped with the live (wall) clock
(signal times, order submission and status times), which differ between any two live runs.

    # run the examples with this checkout into OUT (one run folder per example)
    .venv/bin/python scripts/compare_run_results.py run OUT [--store data/store] [--live]
    # compare two such folders (exit 1 and a description of every difference when they differ)
    .venv/bin/python scripts/compare_run_results.py compare BEFORE AFTER

To get the "before" folders, run the same command from an export of the older commit (e.g.
`git archive OLD | tar -x -C /tmp/old`, then `PYTHONPATH=/tmp/old python
/tmp/old/scripts/compare_run_results.py run ...` with this script copied there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "example_session": "session_configs/example_session.json",
    "example_orb": "session_configs/example_orb.json",
}
LIVE_EXAMPLE = ("example_live_replay", "session_configs/example_live_replay.json")
TABLES = ("trades", "equity", "orders", "fills", "signals", "quality", "gaps", "bars")
# canonical row order per table (ties kept in file order, which is the engine's order)
SORT_KEYS = {
    "trades": ["entry_time", "symbol", "exit_time"],
    "equity": ["time"],
    "orders": ["id"],
    "fills": ["time", "order_id"],
    "signals": ["time", "symbol", "strategy", "kind"],
    "quality": ["session_date", "symbol", "interval"],
    "gaps": ["session_date", "symbol", "interval", "start"],
    "bars": ["interval", "symbol", "timestamp"],
}
# a live run stamps decisions and orders with the live clock (wall time): those columns differ
# from run to run by nature and are left out for live folders
LIVE_CLOCK_COLUMNS = {"signals": ["time"], "orders": ["submitted_at", "status_time"]}


def run_examples(out: Path, store: str, live: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    examples = dict(EXAMPLES)
    if live:
        examples[LIVE_EXAMPLE[0]] = LIVE_EXAMPLE[1]
    for name, config in examples.items():
        target = out / name
        cmd = [sys.executable, "-m", "workstation.cli", "run", str(ROOT / config), "--store", store,
               "--out", str(target), "--overwrite"]
        print("+", " ".join(cmd), flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            raise SystemExit(f"{name}: exit {done.returncode}")


def _is_live(folder: Path) -> bool:
    import json

    return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("mode") == "live"


def _table(folder: Path, name: str):
    import pandas as pd

    from workstation.runs import RunFolder

    frame = RunFolder(folder).table(name)
    if frame is None:
        return None
    if _is_live(folder):
        frame = frame.drop(columns=[c for c in LIVE_CLOCK_COLUMNS.get(name, []) if c in frame.columns])
    keys = [k for k in SORT_KEYS[name] if k in frame.columns]
    if keys:
        frame = frame.sort_values(keys, kind="mergesort")
    frame = frame.reset_index(drop=True)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(str)
    return frame


def compare_folders(before: Path, after: Path) -> list[str]:
    """Differences between two run folders' tables (empty when identical)."""
    import pandas as pd

    problems = []
    for name in TABLES:
        a, b = _table(before, name), _table(after, name)
        if a is None and b is None:
            continue
        if a is None or b is None:
            problems.append(f"{name}: present in only one folder ({'after' if a is None else 'before'})")
            continue
        if list(a.columns) != list(b.columns):
            problems.append(f"{name}: columns differ: {list(a.columns)} vs {list(b.columns)}")
            continue
        if len(a) != len(b):
            problems.append(f"{name}: {len(a)} rows before, {len(b)} after")
            continue
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=False)
        except AssertionError as exc:
            problems.append(f"{name}: {str(exc).strip()[:1500]}")
    return problems


def compare(before: Path, after: Path) -> int:
    names = sorted(p.name for p in before.iterdir() if p.is_dir())
    failed = False
    for name in names:
        other = after / name
        if not other.is_dir():
            print(f"{name}: missing in {after}")
            failed = True
            continue
        problems = compare_folders(before / name, other)
        if problems:
            failed = True
            print(f"{name}: DIFFERENT")
            for p in problems:
                print("   ", p)
        else:
            print(f"{name}: identical ({', '.join(t for t in TABLES if _table(before / name, t) is not None)})")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the example configs into OUT/<example>/")
    r.add_argument("out", type=Path)
    r.add_argument("--store", default=str(ROOT / "data" / "store"))
    r.add_argument("--live", action="store_true", help="also the live replay example (about a minute)")
    c = sub.add_parser("compare", help="compare two folders made by `run`")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    a = ap.parse_args()
    if a.cmd == "run":
        run_examples(a.out, a.store, a.live)
        return 0
    return compare(a.before, a.after)


if __name__ == "__main__":
    raise SystemExit(main())
