"""CLI: `workstation sweep CONFIG --out SWEEP_DIR ...` and `workstation sweep-schema`.

Exit codes: 0 finished (failed cells are results too, listed in results.parquet), 1 when every
cell failed, 2 bad input (nothing started), 130 interrupted (finished cells kept; run the same
command again to resume).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from workstation.errors import ConfigError


def _spec_from_args(args: argparse.Namespace):
    from workstation.sweep.spec import SweepSpec, WalkForwardSpec, load_sweep_file, parse_param_option
    from workstation.sweep.walk_forward import parse_walk_forward

    spec = load_sweep_file(args.sweep_file) if args.sweep_file else SweepSpec()
    data = spec.model_dump(exclude_none=False)
    data["params"] = dict(spec.params)
    for option in args.param or ():
        path, values = parse_param_option(option)
        data["params"][path] = values
    data["constraints"] = [*spec.constraints, *(args.constraint or ())]
    for name in ("objective", "direction", "method", "samples", "seed"):
        if getattr(args, name) is not None:
            data[name] = getattr(args, name)
    if args.walk_forward:
        data["walk_forward"] = WalkForwardSpec(**parse_walk_forward(args.walk_forward)).model_dump()
    if args.keep_runs:
        data["keep_runs"] = True
    if args.keep_top is not None:
        data["keep_top"] = args.keep_top
    try:
        return SweepSpec.model_validate(data)
    except Exception as exc:  # noqa: BLE001 - pydantic ValidationError
        from pydantic import ValidationError

        from workstation.config import problems_of

        if isinstance(exc, ValidationError):
            raise ConfigError("(sweep)", problems_of(exc)) from None
        raise


def _config_path(args: argparse.Namespace, spec) -> Path:
    if args.config:
        return Path(args.config)
    if spec.config:
        p = Path(spec.config)
        return p if p.is_absolute() or not args.sweep_file else Path(args.sweep_file).parent / p
    raise ConfigError("(sweep)", [("CONFIG", "give the session config to sweep (or 'config' in the "
                                             "sweep file)")])


def prepare(args: argparse.Namespace):
    """(plan, store, time manager) from the command line; every check that needs no Ray."""
    from workstation.calendar import TimeManager
    from workstation.config import load_config
    from workstation.run_commands import apply_overrides
    from workstation.store import BarStore
    from workstation.sweep.spec import build_plan
    from workstation.system import resolve_store_path

    spec = _spec_from_args(args)
    config_path = _config_path(args, spec)
    cfg = apply_overrides(load_config(config_path), args.start, args.end, args.symbols, source=str(config_path))
    store_path = resolve_store_path(cfg, args.store).resolve()
    store = BarStore(store_path)
    cfg.data_source.store_path = str(store_path)  # kept runs and replays find the store from anywhere
    time_manager = TimeManager(cfg.exchange, cfg.timezone)
    return build_plan(spec, cfg, time_manager, source=str(config_path)), store, time_manager


def _cmd_sweep(args: argparse.Namespace) -> int:
    from workstation.run_writer import dated_folder
    from workstation.sweep.ray_cluster import RayUnavailable
    from workstation.sweep.results import SweepFolder
    from workstation.sweep.runner import SweepOptions, run_sweep

    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", [("--workers", f"must be at least 1, got {args.workers}")])
    runtime_env = None
    if args.runtime_env:
        try:
            runtime_env = json.loads(args.runtime_env)
        except json.JSONDecodeError as exc:
            raise ConfigError("--runtime-env", [("--runtime-env", f"not JSON: {exc.msg}")]) from None
    plan, store, time_manager = prepare(args)
    if args.dry_run:
        _print_plan(plan)
        return 0
    options = SweepOptions(workers=args.workers, address=args.address, keep_runs=plan.spec.keep_runs,
                           keep_top=plan.spec.keep_top, retry_failed=args.retry_failed, verbose=args.verbose,
                           runtime_env=runtime_env, connect_timeout_s=args.connect_timeout,
                           command=sys.argv[1:] if sys.argv else None)
    out = Path(args.out) if args.out else dated_folder("sweeps", Path(plan.source).stem)
    if not args.out:
        print(f"sweep folder: {out} (give --out {out} to resume it)", file=sys.stderr, flush=True)
    try:
        outcome = run_sweep(plan, store, time_manager, SweepFolder(out), options)
    except RayUnavailable as exc:
        if not exc.stuck:
            raise
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(2)  # Ray's connection attempt is still hanging in a thread; nothing was written
    _print_outcome(plan, outcome)
    if outcome.state == "interrupted":
        again = "the same command again" if args.out else f"the same command again with --out {out}"
        print(f"stopped; {outcome.ok + outcome.failed} finished cells are kept in {outcome.folder}. Run {again} to "
              "compute the rest.", file=sys.stderr)
        return 130
    return 1 if outcome.ok == 0 and outcome.failed else 0


def _print_plan(plan) -> None:
    print(f"{plan.total_cells} cells ({len(plan.combos)} parameter sets"
          f"{f' x {len(plan.windows)} walk-forward windows + {len(plan.windows)} test cells' if plan.windows else ''})")
    for axis in plan.axes:
        values = (", ".join(map(str, axis.values)) if axis.values is not None
                  else f"{axis.low} .. {axis.high} (continuous)")
        print(f"  {axis.alias:<20} {axis.path:<45} {values}")
    for w in plan.windows:
        print(f"  window {w.index}: train {w.train_start} .. {w.train_end} ({len(w.train)} days), "
              f"test {w.test_start} .. {w.test_end} ({len(w.test)} days)")
    for cell in plan.cells[:20]:
        print(f"  cell {cell.index:>4} {cell.cell_id}  {cell.phase:<5} {cell.label(plan.aliases)}")
    if len(plan.cells) > 20:
        print(f"  ... {len(plan.cells) - 20} more")


def _print_outcome(plan, outcome) -> None:
    from workstation.sweep.results import best_row, params_label

    print(f"sweep {outcome.state}: {outcome.ok + outcome.failed} of {outcome.total} cells "
          f"({outcome.ok} ok, {outcome.failed} failed; {outcome.computed} computed now, {outcome.skipped} from "
          f"before) in {outcome.elapsed_s:.1f} s on {outcome.cluster} with {outcome.workers} workers")
    rows = [r for r in outcome.rows if r.get("phase") != "test"]
    failed = [r for r in rows if r.get("status") != "ok"]
    for r in failed[:5]:
        label = params_label(plan.aliases, {p: r.get(p) for p in plan.aliases})
        print(f"  failed: {label}: {r.get('error')}")
    ranked, left = [], list(rows)
    for _ in range(0 if plan.windows else 5):
        best = best_row(left, plan.objective, plan.direction)
        if best is None:
            break
        ranked.append(best)
        left = [r for r in left if r is not best]
    if ranked:
        print(f"best by {plan.objective} ({plan.direction}):")
        for r in ranked:
            label = params_label(plan.aliases, {p: r.get(p) for p in plan.aliases})
            window = f"window {r.get('window')} " if r.get("window") is not None else ""
            print(f"  {window}{label}: {plan.objective} {r.get(plan.objective):,.4f}, total return "
                  f"{r.get('total_return_pct') or 0.0:,.2f} %, {r.get('trades')} trades")
    if outcome.report:
        print()
        print(outcome.report, end="")
    print(f"results: {outcome.folder / 'results.parquet'}")


def _cmd_sweep_schema(args: argparse.Namespace) -> int:
    from workstation.sweep.spec import sweep_json_schema

    text = json.dumps(sweep_json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote the sweep file JSON Schema to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def register(sub) -> None:
    p = sub.add_parser("sweep", help="parameter sweep or walk-forward of a config on Ray; results cell by cell",
                       description="Run a parameter sweep (grid or random) or a walk-forward analysis of a session "
                                   "config on Ray: a local cluster, or an existing one with --address. Results go "
                                   "to SWEEP_DIR/results.parquet as cells finish; the same command resumes.")
    p.add_argument("config", nargs="?", help="session config JSON (or 'config' in the sweep file)")
    p.add_argument("--out", help="sweep folder (default: a new sweeps/<config>-<time>; an existing folder of the "
                                 "same sweep resumes)")
    p.add_argument("--sweep-file", help="sweep definition JSON (see `workstation sweep-schema`); options below "
                                        "override it")
    p.add_argument("--param", action="append", metavar="PATH=VALUES",
                   help="swept parameter: a=3,5,8 (list), a=15:40:5 (range, ends included), a=0.1:0.9 "
                        "(continuous, random only), a='[[\"X\"],[\"Y\"]]' (JSON list); repeatable")
    p.add_argument("--constraint", action="append", metavar="EXPR", help="condition on the parameters, e.g. "
                                                                         "'fast < slow'; repeatable")
    p.add_argument("--objective", help="statistic to optimise: sharpe (default), total_return, profit_factor, "
                                       "max_drawdown, win_rate, net_pnl, ... or any numeric results column")
    p.add_argument("--direction", choices=("max", "min"), help="maximise (default) or minimise the objective")
    p.add_argument("--method", choices=("grid", "random"), help="every combination (default) or a random sample")
    p.add_argument("--samples", type=int, help="cells drawn by --method random")
    p.add_argument("--seed", type=int, help="seed of random sampling (default 0)")
    p.add_argument("--walk-forward", metavar="train=N,test=M[,step=S]",
                   help="walk-forward windows in trading days (step defaults to test)")
    p.add_argument("--workers", type=int, help="parallel cells (default: every CPU of the cluster)")
    p.add_argument("--address", help="an existing Ray cluster HOST:PORT (default: start a local one)")
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--keep-runs", action="store_true", help="keep every cell's run folder in SWEEP_DIR/runs")
    keep.add_argument("--keep-top", type=int, metavar="K", help="keep the run folders of the best K cells")
    p.add_argument("--retry-failed", action="store_true", help="when resuming, compute failed cells again")
    p.add_argument("--store", help="bar store folder (overrides data_source.store_path)")
    p.add_argument("--start", help="first session date YYYY-MM-DD (overrides the config)")
    p.add_argument("--end", help="last session date YYYY-MM-DD (overrides the config)")
    p.add_argument("--symbols", help="comma-separated symbols (overrides the config)")
    p.add_argument("--connect-timeout", type=float, default=20.0, metavar="SECONDS",
                   help="give up connecting to --address after this long (default 20)")
    p.add_argument("--runtime-env", metavar="JSON", help="Ray runtime environment for the workers, e.g. "
                                                          "'{\"py_modules\": [\"my_strategies\"]}'")
    p.add_argument("--dry-run", action="store_true", help="check the sweep and list its cells; run nothing")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("sweep-schema", help="print (or write) the JSON Schema of sweep files")
    p.add_argument("--out", help="write to this file instead of stdout")
    p.set_defaults(func=_cmd_sweep_schema)
