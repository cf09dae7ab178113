#!/usr/bin/env python3
"""Mutation score of one source file: how many small faults planted in it the tests catch.

    .venv/bin/python scripts/mutation_score.py workstation/pipeline/quality.py \\
        --tests tests/workstation/pipeline/test_quality.py tests/integration/test_thin_quality.py

Each mutant changes one thing (ast-based): a comparison (< <=, > >=, == !=, in / not in, is / is
not), an arithmetic or augmented-assignment operator (+ -, * /, // /), an integer constant (n -> n+1,
1 -> 0), True/False, and/or, a dropped `not`, or a dropped statement (a call, an assignment, an
augmented assignment; logging calls excepted). `--hand NAME` adds the named hand-made mutants
below (textual replacements; for quality.py: the ones issue 14 lists). Every mutant runs the given
tests (pytest -x) in a private copy of the repository (the working tree is never touched); a
mutant is killed when the tests fail or time out. Prints the score and every surviving mutant;
`--json` writes them. Not part of the test command: it runs the tests once per mutant (minutes).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY_DIRS = ("workstation", "tests", "ui", "scripts", "session_configs", "resources")
COPY_FILES = ("pyproject.toml", "README.md")

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
               ast.Mod: ast.FloorDiv}

# Hand-made mutants: (name, original text, replacement). The quality.py set follows issue 14's list.
HAND_MUTANTS = {
    "quality": [
        ("gap starts one bar early", "self._add_gap(int(idx[k]), int(starts[prev[k] + 1])",
         "self._add_gap(int(idx[k]), int(starts[max(prev[k], 0)])"),
        ("trailing gap starts one bar early", "first = int(self.last_slot[i]) + 1",
         "first = max(int(self.last_slot[i]), 0)"),
        ("missing_bars decremented", 't["missing_bars"] += gap.missing', 't["missing_bars"] += gap.missing - 1'),
        ("stopped run measured one bar short", "expected = self.expected_until(until)",
         "expected = self.expected_until(until) - 1"),
        ("trailing gaps added on stopped runs", "if self.enabled and not stopped:", "if self.enabled:"),
        ("derived trailing gaps on stopped runs", "trailing=self.enabled and not stopped)",
         "trailing=self.enabled)"),
        ("ceil -> floor for derived expected counts",
         'n_slots = int(np.searchsorted(starts, until_ns, side="left"))',
         'n_slots = int(np.searchsorted(session.slot_ends(parse_interval(iv).ns), until_ns, side="right"))'),
        ("derived gap count from the streamed interval", '"gaps": len(gaps_iv)', '"gaps": len(gaps)'),
        ("streamed gap count from a derived interval", '"gaps": len(gaps), "missing"',
         '"gaps": len(derived[self.derived[0]][i][2]) if self.derived else 0, "missing"'),
        ("derived present from SessionData (flushed bar missed)", "exp_iv, present_iv, gaps_iv = derived[iv][i]",
         "exp_iv, present_iv, gaps_iv = derived[iv][i]; present_iv = max(present_iv - 1, 0)"),
        ("expected counts bar starts instead of ends",
         'return int(np.searchsorted(self._slot_ends, clock_ns, side="right"))',
         'return int(np.searchsorted(self._slot_starts, clock_ns, side="right"))'),
        ("lunch break counted as missing", "keep = session.trading_mask(ts) & (ts < until_ns)",
         "keep = ts < until_ns"),
        ("derived gaps ignore leading run", "for a, b in slot_gaps(slots, n_slots, trailing)]",
         "for a, b in slot_gaps(slots, n_slots, trailing) if a > 0]"),
        ("gap row end is the last missing start", 'return {"session_date": session.date, "symbol": gap.symbol, '
         '"interval": gap.interval,\n                "start": gap.start_ns, "end": int(ends[last])',
         'return {"session_date": session.date, "symbol": gap.symbol, "interval": gap.interval,\n'
         '                "start": gap.start_ns, "end": int(starts[last])'),
        ("quality not published at the close", "            self._publish(session.close_ns)\n", "            pass\n"),
        ("derived gaps sent to the gap filler",
         "for a, b in slot_gaps(slots, n_slots, trailing)]\n",
         "for a, b in slot_gaps(slots, n_slots, trailing)]\n"
         "                    for g in gaps:\n"
         "                        self._add_gap(i, g.start_ns, g.end_ns, g.missing)\n"),
    ],
}


@dataclass
class Mutant:
    kind: str
    line: int
    description: str
    index: int = -1                # ast site index (-1: hand-made)
    original: str = ""
    replacement: str = ""
    outcome: str = ""              # killed | survived | timeout | error
    seconds: float = 0.0


def collect_sites(tree: ast.AST) -> list[tuple[int, str, str, int]]:
    """Mutation sites as (ast.walk position, kind, description, line), in ast.walk order."""
    out = []
    for pos, node in enumerate(ast.walk(tree)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    out.append((pos, "compare", f"{type(op).__name__} -> {COMPARE_SWAPS[type(op)].__name__}"
                                f" (operand {k})", line))
                    break
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            out.append((pos, "binop", f"{type(node.op).__name__} -> {BINOP_SWAPS[type(node.op)].__name__}", line))
        elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP_SWAPS:
            out.append((pos, "augassign", f"{type(node.op).__name__}= -> {BINOP_SWAPS[type(node.op)].__name__}=",
                        line))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            out.append((pos, "constant", f"{node.value} -> {not node.value}", line))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            out.append((pos, "constant", f"{node.value} -> {node.value + 1}", line))
            if node.value == 1:
                out.append((pos, "constant0", "1 -> 0", line))
        elif isinstance(node, ast.BoolOp):
            other = "Or" if isinstance(node.op, ast.And) else "And"
            out.append((pos, "boolop", f"{type(node.op).__name__} -> {other}", line))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            out.append((pos, "not", "drop not", line))
        if isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)) and _droppable(node):
            out.append((pos, "drop", "drop statement", line))
    return out


def _droppable(node: ast.AST) -> bool:
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
            isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "getLogger":
        return False                                  # the module logger: dropping it changes nothing tested
    if isinstance(node, ast.Expr):
        value = node.value
        if isinstance(value, ast.Constant):           # docstrings
            return False
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                isinstance(value.func.value, ast.Name) and value.func.value.id in ("log", "logging"):
            return False
        return isinstance(value, ast.Call)
    return True


def _in_body_list(tree: ast.AST, target: ast.AST) -> tuple[list, int] | None:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and target in body:
                return body, body.index(target)
    return None


def apply_site(source: str, pos: int, kind: str) -> str | None:
    """The source with mutation `kind` applied at ast.walk position `pos`; None if not applicable."""
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    node = nodes[pos]
    if kind == "compare":
        for k, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                node.ops[k] = COMPARE_SWAPS[type(op)]()
                break
    elif kind in ("binop", "augassign"):
        node.op = BINOP_SWAPS[type(node.op)]()
    elif kind == "constant":
        node.value = (not node.value) if type(node.value) is bool else node.value + 1
    elif kind == "constant0":
        node.value = 0
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "not":
        parent = next((p for p in nodes for f, v in ast.iter_fields(p)
                       if v is node or (isinstance(v, list) and node in v)), None)
        if parent is None:
            return None
        for field, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, field, node.operand)
            elif isinstance(value, list) and node in value:
                value[value.index(node)] = node.operand
    elif kind == "drop":
        found = _in_body_list(tree, node)
        if found is None:
            return None
        body, k = found
        body[k] = ast.Pass()
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def make_copy(dest: Path) -> None:
    for name in COPY_DIRS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in COPY_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dest / name)
    shared = ROOT.parent / "shared"
    if shared.is_dir() and not (dest.parent / "shared").exists():
        os.symlink(shared, dest.parent / "shared")


def run_tests(copy_root: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = str(copy_root)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=copy_root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0
    dt = time.perf_counter() - t0
    if proc.returncode == 0:
        return "survived", dt
    if proc.returncode == 1:
        return "killed", dt
    return "error", dt         # collection/usage errors: counted as killed (the mutant broke imports)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", help="source file, relative to the repository, e.g. workstation/pipeline/quality.py")
    ap.add_argument("--tests", nargs="+", required=True, help="pytest paths run against every mutant")
    ap.add_argument("--hand", choices=sorted(HAND_MUTANTS), help="add this set of hand-made mutants")
    ap.add_argument("--hand-only", action="store_true", help="run only the hand-made mutants")
    ap.add_argument("--limit", type=int, default=0, help="at most this many ast mutants (evenly spread)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant before it counts as killed")
    ap.add_argument("--json", type=Path, help="write every mutant and its outcome here")
    a = ap.parse_args()

    target = Path(a.target)
    source = (ROOT / target).read_text(encoding="utf-8")
    lines = source.splitlines()
    mutants: list[Mutant] = []
    if not a.hand_only:
        sites = collect_sites(ast.parse(source))
        if a.limit and len(sites) > a.limit:
            step = len(sites) / a.limit
            sites = [sites[int(k * step)] for k in range(a.limit)]
        mutants += [Mutant(kind, line, desc, pos) for pos, kind, desc, line in sites]
    for name, old, new in HAND_MUTANTS.get(a.hand, []) if a.hand else []:
        if source.count(old) != 1:
            print(f"hand-made mutant {name!r}: its text occurs {source.count(old)} times in {target}; skipped",
                  file=sys.stderr)
            continue
        line = source[:source.index(old)].count("\n") + 1
        mutants.append(Mutant("hand", line, name, -1, old, new))

    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copy_root = Path(tmp) / "repo"
        copy_root.mkdir()
        make_copy(copy_root)
        path = copy_root / target
        status, base_s = run_tests(copy_root, a.tests, a.timeout)
        if status != "survived":
            print(f"the tests do not pass on the unmutated code ({status}); nothing measured", file=sys.stderr)
            return 2
        print(f"{target}: {len(mutants)} mutants; the tests take {base_s:.1f} s on the original", flush=True)
        for k, m in enumerate(mutants, 1):
            mutated = source.replace(m.original, m.replacement) if m.kind == "hand" else apply_site(source, m.index, m.kind)
            if mutated is None:
                m.outcome = "error"
                continue
            try:
                compile(mutated, str(path), "exec")
            except SyntaxError:
                m.outcome = "error"
                continue
            path.write_text(mutated, encoding="utf-8")
            m.outcome, m.seconds = run_tests(copy_root, a.tests, a.timeout)
            path.write_text(source, encoding="utf-8")
            code = lines[m.line - 1].strip()[:60] if 0 < m.line <= len(lines) else ""
            print(f"[{k}/{len(mutants)}] line {m.line:>4} {m.kind:<9} {m.description:<40} {m.outcome:<8} {code}",
                  flush=True)

    measured = [m for m in mutants if m.outcome in ("killed", "survived", "timeout", "error")]
    killed = [m for m in measured if m.outcome != "survived"]
    survivors = [m for m in measured if m.outcome == "survived"]
    hand = [m for m in mutants if m.kind == "hand"]
    print(f"\nmutation score of {target}: {len(killed)}/{len(measured)} killed "
          f"({100 * len(killed) / max(len(measured), 1):.1f} %)")
    if hand:
        print(f"hand-made mutants: {sum(m.outcome != 'survived' for m in hand)}/{len(hand)} killed")
    for m in survivors:
        code = lines[m.line - 1].strip()[:70] if 0 < m.line <= len(lines) else ""
        print(f"  survived: line {m.line} {m.kind}: {m.description}: {code}")
    if a.json:
        a.json.write_text(json.dumps([asdict(m) for m in mutants], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
