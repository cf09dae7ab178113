"""The `workstation` command line: validate, schema, import, demo-data, store, fetch, run, demo, report, compare.

Errors the engine raises (WorkstationError) become one-paragraph messages and exit code 2;
a bare traceback is a bug. Commands run with --json also print the error as JSON on stdout.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import json
import logging
import os
import sys
import threading
from pathlib import Path

from workstation import __version__
from workstation.errors import ConfigError, WorkstationError, counted
from workstation.json_output import add_json_flag, emit, error_document, print_json

log = logging.getLogger(__name__)

PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"
LOGGING_EXIT_HANDLERS = 1   # logging.shutdown, registered when logging is imported (above)


def _cmd_validate(args: argparse.Namespace) -> int:
    from workstation.config import load_config

    cfg = load_config(args.config)
    if not args.schema_only:
        from workstation.preflight import check_runnable  # the store, calendar and strategies: only here

        check_runnable(cfg, args.store, source=args.config)
    what = "valid" if args.schema_only else "valid and runnable"
    result = {"ok": True, "config": args.config, "name": cfg.name, "mode": cfg.mode, "runnable_checked":
              not args.schema_only, "symbols": cfg.symbols, "start_date": cfg.backtest.start_date,
              "end_date": cfg.backtest.end_date, "strategies": [st.name for st in cfg.strategies]}
    emit(args, result, lambda r: f"OK: {args.config} is a {what} {cfg.mode} config '{cfg.name}' "
         f"({counted(len(cfg.symbols), 'symbol')}, {cfg.backtest.start_date} to {cfg.backtest.end_date}, "
         f"{counted(len(cfg.strategies), 'strateg', 'y', 'ies')})")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from workstation.config import config_json_schema

    text = json.dumps(config_json_schema(), indent=2) + "\n"
    if args.out:
        from workstation.atomic_files import os_error_text, write_text_atomic

        try:
            write_text_atomic(Path(args.out), text)
        except OSError as exc:
            raise WorkstationError(f"cannot write {args.out}: {os_error_text(exc)}") from None
        print(f"wrote the session config JSON Schema to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


COMMAND_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("workstation.store.commands", ("import", "demo-data", "store")),
    ("workstation.fetch.commands", ("fetch",)),
    ("workstation.run_commands", ("run", "demo")),
    ("workstation.report.commands", ("report", "compare")),
    ("workstation.sweep.commands", ("sweep", "sweep-schema")),
)
"""The modules that register subcommands (their `register(sub)`), with the commands each adds."""
_OWN_COMMANDS = ("validate", "schema")


def command_of(argv: list[str]) -> str | None:
    """The subcommand `argv` asks for (the first word not starting with "-": the program's own
    options take no value), or None when it names no known command or asks for the program's help
    first (which lists every command)."""
    known = {*_OWN_COMMANDS, *(name for _module, names in COMMAND_MODULES for name in names)}
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word if word in known else None
    return None


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose commands report the arguments they do not take with their own usage.
    argparse leaves those to the program's parser, whose error showed `usage: workstation [-h] [-v]
    [--version] COMMAND ...`, naming no option of the command that was mistyped. Subcommand parsers
    are made of the parent parser's class, so every command (and `store info`) reports its own."""

    is_command = True       # the program's parser sets False: its own unknown words it reports as argparse does

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.is_command:
            hint = (" (-v/--verbose is the program's option: put it before the command, `workstation -v "
                    f"{self.prog.removeprefix('workstation ')} …`)" if {"-v", "--verbose"} & set(extras) else "")
            self.error("unrecognized arguments: " + " ".join(extras) + hint)
        return parsed, extras

    def error(self, message: str):
        """argparse's error, with a hint when a required option is missing and a word was given bare
        (`store remove SRNE` for `store remove --symbol SRNE`)."""
        missing = message.removeprefix("the following arguments are required: ")
        if missing != message and self.is_command and not self._positionals._group_actions:
            words = self._bare_words()
            options = [m.strip() for m in missing.split(",") if m.strip().startswith("--")]
            if len(words) == 1 and len(options) == 1:
                message += f" (give {words[0]!r} as `{options[0]} {words[0]}`)"
        super().error(message)

    def _bare_words(self) -> list[str]:
        """The words given that are neither an option nor an option's value."""
        words, value_next = [], False
        for token in getattr(self, "_given", []):
            if value_next:
                value_next = False
            elif token.startswith("-"):
                action = self._option_string_actions.get(token.split("=", 1)[0])
                value_next = action is not None and action.nargs != 0 and "=" not in token
            else:
                words.append(token)
        return words


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `workstation` parser with every subcommand, or (`command`) with that one only: a command
    parses and reports usage errors the same either way, and `workstation run` then does not build
    (and import) the other commands' parsers, ~10 ms of its start-up."""
    parser = CommandParser(
        prog="workstation",
        description="Backtest Workstation: replay, backtest and monitor intraday 1-minute bar sessions.",
    )
    parser.is_command = False
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    parser.add_argument("--version", action="version", version=f"workstation {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    if command in (None, "validate"):
        p = sub.add_parser("validate", help="check a session config and that it would run (bar store, calendar, "
                                            "strategies); list every problem with its field path")
        p.add_argument("config")
        add_json_flag(p, "the verdict (and, on failure, every problem with its field path)")
        p.add_argument("--store", help="bar store folder (overrides data_source.store_path)")
        p.add_argument("--schema-only", action="store_true",
                       help="check the file alone (types, ranges, cross-field rules), not the store or strategies")
        p.set_defaults(func=_cmd_validate)

    if command in (None, "schema"):
        p = sub.add_parser("schema", help="print (or write) the JSON Schema of session configs")
        p.add_argument("--out", help="write to this file instead of stdout")
        p.set_defaults(func=_cmd_schema)

    for module, names in COMMAND_MODULES:
        if command is None or command in names:
            importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `workstation` program (argv None: sys.argv, the process exits after it) or one command
    in this process (argv given: the caller's process goes on)."""
    if argv is None:
        single_threaded_blas(os.environ, sys.modules)
        no_pydantic_plugins(os.environ)
    outcome: dict = {}
    try:
        code = _main(argv, outcome)
    finally:
        if argv is None:
            _skip_exit_collections()
    if argv is None and outcome.get("quick_exit"):
        exit_without_teardown(code)
    return code


def single_threaded_blas(environ, modules) -> bool:
    """The program's own process: OpenBLAS (numpy's linear algebra) runs one thread unless the user
    set OPENBLAS_NUM_THREADS. The engine does no large matrix work, and starting a thread per core
    when numpy loads costs ~0.05 s of CPU per process (~8 % of a 10-symbol `workstation run`), more
    on a busy machine; a sweep's worker processes inherit the setting. Only before numpy is loaded
    (OpenBLAS reads it then); True when it was set here."""
    if "OPENBLAS_NUM_THREADS" in environ or "numpy" in modules:
        return False
    environ["OPENBLAS_NUM_THREADS"] = "1"
    return True


def no_pydantic_plugins(environ) -> bool:
    """The program's own process: pydantic does not look for plugins (observability hooks that other
    packages register as entry points, which only watch validations); looking reads the metadata of
    every installed package when the first config model is built, ~3 ms of each `workstation run`.
    A PYDANTIC_DISABLE_PLUGINS the user set is kept (set it empty to load every plugin); a sweep's
    worker processes inherit the setting. True when it was set here."""
    if PYDANTIC_PLUGINS_ENV in environ:
        return False
    environ[PYDANTIC_PLUGINS_ENV] = "__all__"
    return True


def _skip_exit_collections() -> None:
    """The program is about to exit: move every object to the permanent generation and stop the
    collector, so the interpreter's shutdown does not scan the whole heap again (its collections took
    ~0.1 s of a 1 s `workstation run` at 10 symbols). Finalizers, atexit handlers and file closes
    still run; only the cycle scans of objects the exit frees anyway are skipped."""
    gc.disable()
    gc.freeze()


def exit_without_teardown(code: int) -> None:
    """The program's own process, its command done (`workstation run`: the run folder written and
    closed): flush the output and the log, then end the process at once, without the interpreter's
    teardown (freeing every module and object one by one; from main's return to the exit 15-19 ms
    before, 7-10 ms now, at 10 and 100 symbols). Only when nothing could miss the teardown: no other thread still
    running, and no exit handler but logging's (which runs here): a strategy's atexit hook or a
    weakref finalizer keeps the normal exit. Returns (the normal exit follows) also when the output
    cannot be flushed, so the interpreter reports that as usual."""
    if _exit_handler_count() != LOGGING_EXIT_HANDLERS:
        return
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    logging.shutdown()
    os._exit(code)


def _exit_handler_count() -> int:
    """atexit's handler count (-1 where this Python does not tell it)."""
    count = getattr(atexit, "_ncallbacks", None)
    return count() if callable(count) else -1


def _main(argv: list[str] | None, outcome: dict | None = None) -> int:
    args = build_parser(command_of(sys.argv[1:] if argv is None else argv)).parse_args(argv)
    if outcome is not None:
        outcome["quick_exit"] = getattr(args, "quick_exit", False)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        _json_error(args, exc)
        print(str(exc), file=sys.stderr)
        print("Nothing was started. Fix the fields above (see the config reference in README.md).",
              file=sys.stderr)
        return 2
    except WorkstationError as exc:
        _json_error(args, exc)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        _json_error(args, exc)
        print("interrupted; what was written so far is kept", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine, not the program: disk full, read-only, permission
        from workstation.atomic_files import os_error_text

        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{os_error_text(exc)}", file=sys.stderr)
        return 1


def _json_error(args: argparse.Namespace, exc: BaseException) -> None:
    if getattr(args, "json", False):
        print_json(error_document(exc))


if __name__ == "__main__":
    sys.exit(main())
