#!/usr/bin/env bash
# The declared minimum versions of the live-mode dependencies, tested: a throw-away virtual
# environment gets exactly the lowest versions pyproject.toml allows for websockets and for the
# test extras alpaca-py and msgpack (everything else as usual), then runs the live tests.
# Usage: scripts/test_min_versions.sh   (a CI job of its own; a few minutes, needs the package index)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
for c in python3.11 python3.12 python3.13 python3; do
  if [ -z "$PY" ] && command -v "$c" >/dev/null 2>&1 && \
     "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then PY=$c; fi
done
venv=${MIN_VENV:-.venv-min}
constraints=$(mktemp --suffix=.txt)
trap 'rm -f "$constraints"' EXIT
# "name>=X" in pyproject.toml -> "name==X" for the packages under test
"$PY" - "$constraints" <<'PY'
import re, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
specs = project["dependencies"] + project["optional-dependencies"]["test"]
pins = []
for name in ("websockets", "alpaca-py", "msgpack"):
    spec = next(s for s in specs if re.match(rf"{re.escape(name)}\s*>=", s))
    pins.append(f"{name}=={spec.split('>=', 1)[1].split(',')[0].strip()}")
open(sys.argv[1], "w").write("\n".join(pins) + "\n")
print("minimum versions:", ", ".join(pins))
PY
rm -rf "$venv"
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[test]" -c "$constraints"
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE "^(websockets|alpaca-py|msgpack) "
QT_QPA_PLATFORM=offscreen "$venv/bin/python" -m pytest tests/workstation/live -q -p no:cacheprovider -p no:pytest-qt  # the engine installs without Qt
