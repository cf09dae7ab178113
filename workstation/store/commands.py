"""CLI subcommands of the bar store: `import`, `demo-data`, `store info|check|import-actions|remove`
(registered by workstation.cli)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from workstation.errors import WorkstationError, counted, named
from workstation.json_output import add_json_flag, emit
from workstation.store.lock import DEFAULT_LOCK_TIMEOUT_S

DEFAULT_STORE = "data/store"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from exc
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more seconds")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from exc


def _print_wait(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the store subcommands to the `workstation` command's subparsers."""
    p = sub.add_parser(
        "import",
        help="import bar files (CSV, CSV.gz, Parquet) into the bar store; bad rows go to quarantine",
        description="Validate every row of the files and add the good bars to the store. Refused rows go to "
        "<store>/quarantine/ with the reason. Exit code 0 when the import ran (even with "
        "quarantined rows), 2 when a file cannot be used (nothing is imported then).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV, CSV.gz or Parquet files of bars")
    p.add_argument("--store", required=True, metavar="DIR", help="bar store folder (created when missing)")
    p.add_argument(
        "--exchange", metavar="CALENDAR",
        help="the exchange calendar of a new store (a pandas-market-calendars name such as XNYS, XLON, XETR, XTSE; "
        "default XNYS); an existing store keeps its own, and bars of another exchange go into a store of their own",
    )
    p.add_argument(
        "--symbol",
        help="symbol of every row (default: the file's symbol column, else the "
        "ticker at the start of the file name, e.g. AAPL_Minute.csv)",
    )
    p.add_argument(
        "--tz",
        metavar="ZONE",
        help="time zone of timestamps that carry no UTC offset, e.g. America/New_York or UTC, or a zone "
        "shifted by hours such as America/New_York+7 (MetaTrader server time); never overrides an explicit offset",
    )
    p.add_argument(
        "--interval", default="1m", help="bar interval of the files (default 1m; 1d for daily bars)"
    )
    p.add_argument(
        "--kind", choices=("bars", "quotes"), default="bars",
        help="what the files hold: trade bars (default) or quote bars (bid/ask open, high, low, close and "
        "sizes per bar; stored beside the trade bars in the store's quotes/ tree)",
    )
    p.add_argument(
        "--bar-time", choices=("start", "end"), default="start",     # importer.BAR_TIMES (not imported here: slow)
        help="what the files' times mark: each bar's start (default; Alpaca, Polygon, TradingView, MetaTrader) "
        "or its end (NinjaTrader, TradeStation): end times are moved back one interval, as the store keeps "
        "bar starts",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_LOCK_TIMEOUT_S,
        metavar="SECONDS",
        help="when another process is writing the store, wait this long for it to finish before giving "
        f"up (default {DEFAULT_LOCK_TIMEOUT_S:g}; 0 = fail at once)",
    )
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "demo-data",
        help="write deterministic synthetic bars of fictional symbols into a bar store",
        description="1m bars for the sessions ending 2024-12-06 (by default 2024-10-01 .. 2024-12-06, with a DST "
        "change and an early close) plus a year of daily bars before them. Bars already in the "
        "store are kept; use a new folder to regenerate with another seed.",
    )
    p.add_argument(
        "--store", default=DEFAULT_STORE, metavar="DIR", help=f"bar store folder (default {DEFAULT_STORE})"
    )
    p.add_argument(
        "--symbols", type=_positive_int, default=5, metavar="N", help="number of symbols (default 5)"
    )
    p.add_argument(
        "--days",
        type=_positive_int,
        default=None,
        metavar="D",
        help="number of 1m sessions ending 2024-12-06 (default: every session from 2024-10-01)",
    )
    p.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (default 7)")
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("store", help="inspect the bar store", description="Inspect the bar store.")
    actions = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    info = actions.add_parser(
        "info", help="symbols, coverage, date range, file count and size of a bar store"
    )
    info.add_argument(
        "--store", default=DEFAULT_STORE, metavar="DIR", help=f"bar store folder (default {DEFAULT_STORE})"
    )
    add_json_flag(info, "the description")
    info.set_defaults(func=_cmd_store_info)
    imp = actions.add_parser(
        "import-actions", help="record splits and cash dividends from a CSV (for `prices: adjusted` runs)",
        description="Check a corporate-actions CSV (columns symbol, effective_date, split_ratio, dividend; one "
        "split ratio such as 7, 7:1, 3-for-2, 1:10, or one cash dividend per row) against the store and record "
        "it in <store>/corporate_actions.json. Any bad row (unknown symbol, unparseable date, non-positive "
        "ratio, duplicate rows) refuses the whole file, naming each line; nothing is written then (exit 2). "
        "The bars stay raw; runs with `prices: adjusted` apply the actions when reading.")
    imp.add_argument("file", metavar="FILE", help="corporate-actions CSV")
    imp.add_argument("--store", required=True, metavar="DIR", help="bar store folder")
    imp.add_argument("--replace", action="store_true",
                     help="rows for a symbol, date and kind already recorded replace the recorded value "
                     "(without it such a row with another value refuses the file)")
    imp.add_argument("--wait", type=_seconds, default=DEFAULT_LOCK_TIMEOUT_S, metavar="SECONDS",
                     help=f"wait this long for another writer of the store (default {DEFAULT_LOCK_TIMEOUT_S:g})")
    add_json_flag(imp, "the summary")
    imp.set_defaults(func=_cmd_import_actions)
    check = actions.add_parser(
        "check", help="read every bar file whole and list the damaged ones",
        description="Read every page of every bar file (verifying page checksums) and name each file that "
        "is damaged or is not a bar file. Exit 0 when all read cleanly, 1 otherwise.")
    check.add_argument(
        "--store", default=DEFAULT_STORE, metavar="DIR", help=f"bar store folder (default {DEFAULT_STORE})"
    )
    check.set_defaults(func=_cmd_store_check)
    remove = actions.add_parser(
        "remove", help="remove a symbol's bars (e.g. after importing a file with the wrong --tz or symbol)",
        description="Remove the bars of the given symbols of one interval, on the exchange-local dates "
        "--start .. --end (both included; default: all). Without --yes nothing is changed: it says what would "
        "be removed. Each bar file is replaced atomically without those bars (or deleted when it holds nothing "
        "else), under the store's write lock.")
    remove.add_argument("--store", required=True, metavar="DIR", help="bar store folder")
    remove.add_argument("--symbol", required=True, action="append", metavar="SYMBOL",
                        help="symbol whose bars go (repeatable, or comma-separated)")
    remove.add_argument("--interval", default="1m", help="bar interval (default 1m; 1d for daily bars)")
    remove.add_argument("--kind", choices=("bars", "quotes"), default="bars",
                        help="trade bars (default) or quote bars (the store's quotes/ tree); the other stay")
    remove.add_argument("--start", type=_date, metavar="YYYY-MM-DD", help="first exchange-local date (default: the first)")
    remove.add_argument("--end", type=_date, metavar="YYYY-MM-DD", help="last exchange-local date (default: the last)")
    remove.add_argument("--yes", action="store_true", help="remove them (without it: only say what would go)")
    remove.add_argument("--wait", type=_seconds, default=DEFAULT_LOCK_TIMEOUT_S, metavar="SECONDS",
                        help=f"wait this long for another writer of the store (default {DEFAULT_LOCK_TIMEOUT_S:g})")
    add_json_flag(remove, "what was (or would be) removed")
    remove.set_defaults(func=_cmd_store_remove)


def _cmd_import(args: argparse.Namespace) -> int:
    from workstation.store.bar_store import BarStore
    from workstation.store.importer import import_files

    store = BarStore.for_import(args.store, args.exchange, lock_timeout=args.wait, on_lock_wait=_print_wait)
    summary = import_files(args.files, store, symbol=args.symbol, tz=args.tz, interval=args.interval,
                           kind=args.kind, bar_time=args.bar_time)
    print(json.dumps(summary.to_dict(), indent=2) if args.json else summary.render())
    return 0


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from workstation.store.demo import generate_demo

    summary = generate_demo(args.store, symbols=args.symbols, days=args.days, seed=args.seed)
    print(summary.render())
    return 0


def _cmd_store_info(args: argparse.Namespace) -> int:
    from workstation.store.bar_store import BarStore

    emit(args, BarStore(args.store).describe(), render_info)
    return 0


def _cmd_import_actions(args: argparse.Namespace) -> int:
    from workstation.store.bar_store import BarStore
    from workstation.store.corporate_actions import import_actions

    store = BarStore(args.store, lock_timeout=args.wait, on_lock_wait=_print_wait)
    summary = import_actions(args.file, store, replace=args.replace)
    for warning in summary.warnings:
        print(f"warning: {warning['message']}", file=sys.stderr)
    emit(args, summary.to_dict(), lambda _: summary.render())
    return 0


def _cmd_store_remove(args: argparse.Namespace) -> int:
    from workstation.store.bar_store import BarStore

    symbols = [part.strip().upper() for given in args.symbol for part in given.split(",") if part.strip()]
    if not symbols:
        raise WorkstationError("--symbol is empty: give the symbols whose bars go, e.g. --symbol AAPL")
    store = BarStore(args.store, lock_timeout=args.wait, on_lock_wait=_print_wait)
    result = store.remove_bars(symbols, args.interval, args.start, args.end, apply=args.yes, kind=args.kind)
    span = f"{args.start or 'first'} .. {args.end or 'last'}"
    missing = [s for s in symbols if s not in result.removed]
    what = "quote bar" if args.kind == "quotes" else "bar"
    document = {"ok": True, "store": str(store.root), "kind": args.kind, "interval": result.interval,
                "removed": result.removed,
                "rows": result.rows, "files_rewritten": result.files_rewritten,
                "files_deleted": result.files_deleted, "applied": result.applied, "not_found": missing}

    def text(_doc: dict) -> str:
        files = len(result.files_rewritten) + len(result.files_deleted)
        bars = ", ".join(f"{symbol} {count:,}" for symbol, count in result.removed.items())
        lines = []
        if not result.removed:
            lines.append(f"no {result.interval} {what}s of {', '.join(symbols)} on the dates {span} in {store.root}; "
                         "nothing to remove")
        elif result.applied:
            lines.append(f"removed {counted(result.rows, what)} ({bars}) of interval {result.interval}, dates {span}, "
                         f"from {counted(files, 'file')} of {store.root} ({len(result.files_rewritten)} rewritten, "
                         f"{len(result.files_deleted)} deleted)")
        else:
            lines.append(f"would remove {counted(result.rows, what)} ({bars}) of interval {result.interval}, dates "
                         f"{span}, from {counted(files, 'file')} of {store.root}; nothing was changed: run again with "
                         "--yes to remove them")
        if missing and result.removed:
            lines.append(f"no {what}s of {named('symbol', missing)} there")
        return "\n".join(lines)

    emit(args, document, text)
    return 0


def _cmd_store_check(args: argparse.Namespace) -> int:
    from workstation.store.bar_store import BarStore

    store = BarStore(args.store)
    files = store.files()
    problems = store.check()
    for line in problems:
        print(line)
    print(f"{len(files) - len(problems)} of {len(files)} bar files of {store.root} read cleanly"
          + (f"; {len(problems)} damaged (listed above)" if problems else ""))
    return 1 if problems else 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def render_info(info: dict) -> str:
    """The text form of BarStore.describe()."""
    symbols = info["symbols"]
    lines = [
        f"Bar store {info['root']} ({info['exchange']}, {info['tz']}, format {info['format_version']})",
        f"  {counted(info['file_count'], 'bar file')}, {_size(info['size_bytes'])}, "
        f"{counted(info['quarantine_files'], 'quarantine file')}, {counted(len(symbols), 'symbol')}"
        + (f": {', '.join(symbols[:12])}{' ...' if len(symbols) > 12 else ''}" if symbols else ""),
    ]
    if not info["intervals"]:
        lines.append("  no bars yet")
    for name, iv in info["intervals"].items():
        lines.append(
            f"  {name}: {counted(iv['dates'], 'date')} {iv['first_date']} .. {iv['last_date']}, "
            f"{counted(iv['bars'], 'bar')} ({iv['rth_bars']:,} regular-session), {counted(iv['files'], 'file')}"
        )
        lines.append(f"    {'symbol':<8}{'first':>12}{'last':>12}{'days':>6}{'bars':>10}{'rth bars':>10}")
        for row in iv["coverage"]:
            lines.append(
                f"    {row['symbol']:<8}{row['first_date']:>12}{row['last_date']:>12}{row['days']:>6}"
                f"{row['bars']:>10,}{row['rth_bars']:>10,}"
            )
    quotes = info.get("quotes") or {}
    for name, q in quotes.items():
        lines.append(f"  quotes {name}: {counted(q['dates'], 'date')} {q['first_date']} .. {q['last_date']}, "
                     f"{counted(q['files'], 'file')}")
    actions = info.get("corporate_actions") or []
    if actions:
        splits = sum(1 for a in actions if a["kind"] == "split")
        lines.append(f"  corporate actions: {counted(splits, 'split')}, {counted(len(actions) - splits, 'dividend')} "
                     "(applied by runs with prices: adjusted)")
        for a in actions[:20]:
            value = f"split ratio {a['ratio']:g}" if a["kind"] == "split" else f"dividend {a['dividend']:g}"
            lines.append(f"    {a['symbol']:<8}{a['effective_date']:>12}  {value}")
        if len(actions) > 20:
            lines.append(f"    ... and {len(actions) - 20} more")
    for warning in info.get("warnings") or []:
        lines.append(f"  warning: {warning['message']}")
    return "\n".join(lines)
