#!/usr/bin/env bash
# The README's first command: set up .venv, create the demo data when absent and open the
# workstation window on the example config. Where no display exists, run the headless demo instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/workstation demo-data --store data/store >/dev/null 2>&1 || true
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = "Darwin" ]; then
  exec .venv/bin/workstation-gui session_configs/example_session.json "$@"
fi
echo "No display found: running the headless demo (the window opens where a display exists)."
.venv/bin/workstation demo
mkdir -p runs
QT_QPA_PLATFORM=offscreen .venv/bin/workstation-gui session_configs/example_session.json \
  --speed 0 --quit-when-done --size 1600x1000 --screenshot runs/demo_window.png \
  && echo "Saved a screenshot of the workstation window after the demo run: runs/demo_window.png"
