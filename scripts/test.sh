#!/usr/bin/env bash
# The README's second command: set up .venv with the test extras, lint, type-check workstation/ (mypy,
# configured in pyproject.toml), run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/mypy
QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} .venv/bin/python -m pytest "$@"
