#!/usr/bin/env bash
# The README's second command: set up .venv with the test extras, lint, type-check workstation/ (mypy,
# configured in pyproject.toml), run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/mypy
# the project's modules compiled first: Python 3.11 can fail one compile ("AST constructor recursion depth
# mismatch") when two threads compile at once, as an engine thread's import and pytest's rewriting of a test
# module did once (with PYTHONDONTWRITEBYTECODE set nothing is cached between imports)
.venv/bin/python -m compileall -q workstation ui
QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} .venv/bin/python -m pytest "$@"
