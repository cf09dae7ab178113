"""CLI subcommands `report` and `compare` (registered by workstation.cli).

    workstation report RUN_DIR [--html] [--out FILE] [--json]
    workstation compare RUN_A RUN_B ... [--html] [--out FILE] [--json]

Without --html they print to the terminal (the run's statistics; the side-by-side table). With
--html they write one self-contained HTML file: by default RUN_DIR/report.html for a report and
./compare.html for a comparison, and print its path.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workstation.errors import WorkstationError
from workstation.json_output import add_json_flag, emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="a run folder's statistics on the terminal, or (--html) a self-contained HTML report",
        description="Read a run folder and print its statistics, or write the HTML report: headline statistics, "
        "equity and drawdown, daily and monthly returns, trade distribution, per-symbol and per-strategy tables, "
        "the data coverage of the run (quality per symbol and session, gaps) and the config. The file works "
        "offline: nothing in it is loaded from elsewhere.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `workstation run` or the window")
    p.add_argument("--html", action="store_true", help="write the HTML report (default RUN_DIR/report.html)")
    p.add_argument("--out", metavar="FILE", help="where to write the HTML report (implies --html)")
    add_json_flag(p, "the statistics and summary (with --html: also the report's path)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "compare", help="statistics of several runs side by side; --html adds their equity curves on one chart",
        description="Read two or more run folders and print their statistics side by side (the best value of "
        "each row marked) and the config fields in which they differ; --html writes a self-contained file with "
        "the same table and every run's return and drawdown on one chart.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (two or more)")
    p.add_argument("--html", action="store_true", help="write the HTML comparison (default ./compare.html)")
    p.add_argument("--out", metavar="FILE", help="where to write the HTML comparison (implies --html)")
    add_json_flag(p, "every run's statistics")
    p.set_defaults(func=_cmd_compare)


def render_stats_text(results) -> str:
    """A run's statistics for the terminal (the compare table of one run, without the marks)."""
    from workstation.report.compare import STATISTICS
    from workstation.report.formatting import fmt_money, fmt_pct

    lines = [f"{results.name}  ({results.run_dir})", "-" * 60]
    for s in STATISTICS:
        lines.append(f"{s.label:<22}{s.text(results.stats.get(s.key)):>22}")
    per = results.stats.get("per_symbol") or {}
    if per:
        lines += ["", f"{'symbol':<10}{'trades':>8}{'net P&L':>16}{'win rate':>10}"]
        for sym, row in per.items():
            lines.append(f"{sym:<10}{row.get('trades', 0):>8}{fmt_money(row.get('pnl')):>16}"
                         f"{fmt_pct(row.get('win_rate_pct'), signed=False, decimals=1):>10}")
    return "\n".join(lines)


def _cmd_report(args: argparse.Namespace) -> int:
    """A run's statistics (or its HTML report), headed by whether the folder is complete; exit 1 when
    it is not (killed, failed write, still running, unknown)."""
    from workstation.errors import DataError
    from workstation.run_writer import run_folder_status
    from workstation.runs import load_run
    from workstation.runs.folder import REQUIRED_FILES

    folder = Path(args.run_dir)
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist or is not a folder; give a run folder (runs/<config>-<time>)")
    status = run_folder_status(folder)
    if not status.is_run_folder:
        raise DataError(status.message)
    if not status.complete and not all((folder / name).exists() for name in REQUIRED_FILES):
        raise DataError(f"run folder {folder}: {status.message}; " + (
            "nothing to report before its first session is written: try again when it has one"
            if status.state == "running" else "no session of it was written, so there is nothing to report"))
    results = load_run(folder)
    document = {"ok": True, "run_dir": str(results.run_dir), "name": results.name,
                "complete": status.complete, "state": status.state, "message": status.message,
                "sessions_done": status.sessions_done, "sessions_total": status.sessions_total,
                "summary": results.summary, "statistics": results.stats}
    heading = f"run folder {folder}: {status.message}"
    if args.html or args.out:
        out = Path(args.out) if args.out else results.run_dir / "report.html"
        results.report_html(out)
        document["report"] = str(out)
        emit(args, document, lambda _d: f"{heading}\nwrote the HTML report of {results.name} to {out}")
    else:
        emit(args, document, lambda _d: f"{heading}\n\n{render_stats_text(results)}")
    return 0 if status.complete else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from workstation.report.compare import compare_json, render_compare_html, render_compare_text
    from workstation.report.writing import write_html
    from workstation.runs import load_run

    if len(args.run_dirs) < 2:
        raise WorkstationError("compare needs at least two run folders, e.g. "
                               "`workstation compare runs/a runs/b`")
    runs = [load_run(d) for d in args.run_dirs]
    document: dict = {"ok": True, "runs": compare_json(runs)}
    if args.html or args.out:
        out = Path(args.out) if args.out else Path("compare.html")
        write_html(render_compare_html(runs), out)
        document["report"] = str(out)
        emit(args, document, lambda _d: render_compare_text(runs) + f"\n\nwrote the HTML comparison to {out}")
    else:
        emit(args, document, lambda _d: render_compare_text(runs))
    return 0
