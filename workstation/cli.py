"""The `workstation` command line: validate, schema, import, demo-data, store, run, demo.

Errors the engine raises (WorkstationError) become one-paragraph messages and exit code 2;
a bare traceback is a bug.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from workstation.errors import ConfigError, WorkstationError

log = logging.getLogger(__name__)


def _cmd_validate(args: argparse.Namespace) -> int:
    from workstation.config import load_config

    cfg = load_config(args.config)
    print(f"OK: {args.config} is a valid {cfg.mode} config '{cfg.name}' "
          f"({len(cfg.symbols)} symbols, {cfg.backtest.start_date} to {cfg.backtest.end_date}, "
          f"{len(cfg.strategies)} strategies)")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from workstation.config import config_json_schema

    text = json.dumps(config_json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote the session config JSON Schema to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="Backtest Workstation: replay, backtest and monitor intraday 1-minute bar sessions.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a session config; list every problem with its field path")
    p.add_argument("config")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("schema", help="print (or write) the JSON Schema of session configs")
    p.add_argument("--out", help="write to this file instead of stdout")
    p.set_defaults(func=_cmd_schema)

    from workstation.store import commands as store_commands

    store_commands.register(sub)

    from workstation import run_commands

    run_commands.register(sub)

    from workstation.sweep import commands as sweep_commands

    sweep_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        print("Nothing was started. Fix the fields above (see the config reference in README.md).",
              file=sys.stderr)
        return 2
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was written so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
